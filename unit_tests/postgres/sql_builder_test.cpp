// SQL text built for DDL, COPY and catalog queries.
#include <catch2/catch.hpp>

#include "pgdest/postgres/sql_builder.hpp"

using namespace pgdest::postgres;
using pgdest::schema::Column;
using pgdest::schema::ColumnType;

TEST_CASE("identifiers are double-quoted with embedded quotes doubled", "[sql]") {
  CHECK(Identifier("users").quoted() == "\"users\"");
  CHECK(Identifier("a\"b").quoted() == "\"a\"\"b\"");
  CHECK(Identifier("x\"; DROP TABLE y; --").quoted() == "\"x\"\"; DROP TABLE y; --\"");
  CHECK((TableRef{Identifier("s"), Identifier("t")}).quoted() == "\"s\".\"t\"");
}

TEST_CASE("create_table puts the four _airbyte columns first", "[sql]") {
  TableRef table{Identifier("public"), Identifier("users")};
  std::vector<Column> columns = {{"id", "id", ColumnType::bigint}, {"Name", "Name", ColumnType::varchar},
                                 {"at", "at", ColumnType::timestamptz}, {"doc", "doc", ColumnType::jsonb}};
  CHECK(sql::create_table(table, columns) ==
        "CREATE TABLE \"public\".\"users\" (\"_airbyte_raw_id\" character varying NOT NULL, "
        "\"_airbyte_extracted_at\" timestamp with time zone NOT NULL, \"_airbyte_meta\" jsonb NOT NULL, "
        "\"_airbyte_generation_id\" bigint NOT NULL, \"id\" bigint, \"Name\" character varying, "
        "\"at\" timestamp with time zone, \"doc\" jsonb)");
}

TEST_CASE("schema, index, column and COPY statements", "[sql]") {
  TableRef table{Identifier("s"), Identifier("t")};
  CHECK(sql::create_schema(Identifier("s")) == "CREATE SCHEMA IF NOT EXISTS \"s\"");
  CHECK(sql::create_index(Identifier("t_idx"), table, {"_airbyte_extracted_at"}) ==
        "CREATE INDEX IF NOT EXISTS \"t_idx\" ON \"s\".\"t\" (\"_airbyte_extracted_at\")");
  CHECK(sql::add_column(table, {"n", "n", ColumnType::numeric}) ==
        "ALTER TABLE \"s\".\"t\" ADD COLUMN IF NOT EXISTS \"n\" numeric");
  CHECK(sql::copy_binary_from_stdin(table, {"a", "b\"c"}) ==
        "COPY \"s\".\"t\" (\"a\", \"b\"\"c\") FROM STDIN WITH (FORMAT binary)");
}

TEST_CASE("catalog queries take names as parameters, never as text", "[sql]") {
  CHECK(sql::select_columns().find("$1") != std::string::npos);
  CHECK(sql::select_columns().find("$2") != std::string::npos);
  CHECK(sql::select_indexes_on_column().find("$3") != std::string::npos);
}
