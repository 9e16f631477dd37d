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
  std::vector<Column> columns = {{"id", "id", ColumnType::bigint},
                                 {"Name", "Name", ColumnType::varchar},
                                 {"at", "at", ColumnType::timestamptz},
                                 {"doc", "doc", ColumnType::jsonb}};
  CHECK(sql::create_table(table, columns) ==
        "CREATE TABLE \"public\".\"users\" (\"_airbyte_raw_id\" character varying NOT NULL, "
        "\"_airbyte_extracted_at\" timestamp with time zone NOT NULL, \"_airbyte_meta\" jsonb NOT "
        "NULL, "
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

TEST_CASE("refresh statements: truncate, copy the staging rows, drop the staging table", "[sql]") {
  TableRef final_table{Identifier("s"), Identifier("t")};
  TableRef staging{Identifier("s"), Identifier("t_airbyte_tmp")};
  CHECK(sql::truncate_table(final_table) == "TRUNCATE TABLE \"s\".\"t\"");
  CHECK(sql::insert_select(final_table, staging, {"a", "b"}) ==
        "INSERT INTO \"s\".\"t\" (\"a\", \"b\") SELECT \"a\", \"b\" FROM \"s\".\"t_airbyte_tmp\"");
  CHECK(sql::analyze(final_table, {"k1", "k2"}) == "ANALYZE \"s\".\"t\" (\"k1\", \"k2\")");
  CHECK(sql::drop_table(staging) == "DROP TABLE IF EXISTS \"s\".\"t_airbyte_tmp\"");
  CHECK(sql::alter_column_type(final_table, "c", ColumnType::jsonb, "to_jsonb(\"c\")") ==
        "ALTER TABLE \"s\".\"t\" ALTER COLUMN \"c\" TYPE jsonb USING to_jsonb(\"c\")");
}

TEST_CASE("a dedup batch table is private to the session and emptied at commit", "[sql]") {
  CHECK(
      sql::create_batch_table(Identifier("_airbyte_batch_0"), {Identifier("s"), Identifier("t")}) ==
      "CREATE TEMP TABLE IF NOT EXISTS \"_airbyte_batch_0\" (\"_airbyte_batch_seq\" bigserial, "
      "LIKE "
      "\"s\".\"t\") ON COMMIT DELETE ROWS");
}

TEST_CASE("merge: newest row per key by cursor (NULL lowest), extraction time, arrival", "[sql]") {
  sql::MergeSpec merge{{Identifier("s"), Identifier("t")}, Identifier("b"),     {"id"}, "c",
                       {"_airbyte_raw_id", "id", "c"},     "_ab_cdc_deleted_at"};
  auto statements = sql::merge_batch(merge);
  REQUIRE(statements.size() == 3);
  CHECK(statements[0] == "DELETE FROM pg_temp.\"b\" WHERE \"_airbyte_batch_seq\" IN (SELECT "
                         "\"_airbyte_batch_seq\" FROM "
                         "(SELECT \"_airbyte_batch_seq\", row_number() OVER (PARTITION BY \"id\" "
                         "ORDER BY \"c\" DESC NULLS "
                         "LAST, \"_airbyte_extracted_at\" DESC, \"_airbyte_batch_seq\" DESC) AS "
                         "position FROM pg_temp.\"b\") "
                         "ranked WHERE position > 1)");
  CHECK(statements[1] == "ANALYZE pg_temp.\"b\" (\"id\")");
  const std::string newer = "(CASE WHEN t.\"c\" IS NULL AND w.\"c\" IS NULL THEN "
                            "t.\"_airbyte_extracted_at\" > w.\"_airbyte_extracted_at\" "
                            "WHEN t.\"c\" IS NULL THEN false WHEN w.\"c\" IS NULL THEN true WHEN "
                            "t.\"c\" <> w.\"c\" THEN t.\"c\" > w.\"c\" "
                            "ELSE t.\"_airbyte_extracted_at\" > w.\"_airbyte_extracted_at\" END)";
  auto merge_sql = [&](const std::string& match) {
    return "DELETE FROM \"s\".\"t\" t USING pg_temp.\"b\" w WHERE " + match + " AND NOT " + newer +
           "; INSERT INTO \"s\".\"t\" (\"_airbyte_raw_id\", \"id\", \"c\") SELECT "
           "w.\"_airbyte_raw_id\", w.\"id\", w.\"c\" "
           "FROM pg_temp.\"b\" w WHERE NOT EXISTS (SELECT 1 FROM \"s\".\"t\" t WHERE " +
           match + ") AND w.\"_ab_cdc_deleted_at\" IS NULL;";
  };
  CHECK(
      statements[2] ==
      "DO $merge$ BEGIN IF pg_relation_size('\"s\".\"t\"') > 4 * pg_relation_size('pg_temp.\"b\"') "
      "THEN SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; END IF; IF EXISTS "
      "(SELECT 1 FROM pg_temp.\"b\" WHERE \"id\" IS NULL) THEN " +
          merge_sql("t.\"id\" IS NOT DISTINCT FROM w.\"id\"") + " ELSE " +
          merge_sql("t.\"id\" = w.\"id\"") +
          " END IF; RESET enable_hashjoin; RESET enable_mergejoin; END $merge$");
}

TEST_CASE("merge without a cursor orders by extraction time and arrival only", "[sql]") {
  sql::MergeSpec merge{
      {Identifier("s"), Identifier("t")}, Identifier("b"), {"k1", "k2"}, "", {"k1"}, ""};
  auto statements = sql::merge_batch(merge);
  CHECK(statements[0].find("PARTITION BY \"k1\", \"k2\" ORDER BY \"_airbyte_extracted_at\" DESC") !=
        std::string::npos);
  CHECK(statements[2].find(
            "t.\"k1\" = w.\"k1\" AND t.\"k2\" = w.\"k2\" AND NOT t.\"_airbyte_extracted_at\" > "
            "w.\"_airbyte_extracted_at\"") != std::string::npos);
  CHECK(statements[2].find("IS NULL;") == std::string::npos);
}
