// SQL text built for DDL, COPY and catalog queries.
#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "pgdest/postgres/sql_builder.hpp"

using namespace pgdest::postgres;
using pgdest::schema::Column;
using pgdest::schema::ColumnType;
using pgdest::schema::TableLayout;

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
  CHECK(sql::create_table(table, TableLayout::typed, columns) ==
        "CREATE TABLE \"public\".\"users\" (\"_airbyte_raw_id\" character varying NOT NULL, "
        "\"_airbyte_extracted_at\" timestamp with time zone NOT NULL, \"_airbyte_meta\" jsonb NOT "
        "NULL, "
        "\"_airbyte_generation_id\" bigint NOT NULL, \"id\" bigint, \"Name\" character varying, "
        "\"at\" timestamp with time zone, \"doc\" jsonb)");
}

TEST_CASE("a raw table has Airbyte 3.x's raw columns and no user columns", "[sql][raw]") {
  TableRef table{Identifier("airbyte_internal"), Identifier("public_raw__stream_users")};
  CHECK(sql::create_table(table, TableLayout::raw, {}) ==
        "CREATE TABLE \"airbyte_internal\".\"public_raw__stream_users\" (\"_airbyte_raw_id\" "
        "character varying NOT NULL, \"_airbyte_extracted_at\" timestamp with time zone NOT NULL, "
        "\"_airbyte_meta\" jsonb NOT NULL, \"_airbyte_generation_id\" bigint NOT NULL, "
        "\"_airbyte_loaded_at\" timestamp with time zone, \"_airbyte_data\" jsonb NOT NULL)");
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

TEST_CASE("string constants read the same whatever standard_conforming_strings is", "[sql]") {
  CHECK(sql::literal("plain") == "'plain'");
  CHECK(sql::literal("") == "''");
  CHECK(sql::literal("it's") == "'it''s'");
  // With a backslash, an escape string: its backslashes doubled, its quotes too.
  CHECK(sql::literal(R"(a\b's)") == R"(E'a\\b''s')");
  CHECK(sql::literal("'; DROP TABLE t; --") == "'''; DROP TABLE t; --'");
}

TEST_CASE("a lock keeps every other session out of the table", "[sql]") {
  CHECK(sql::lock_table({Identifier("s"), Identifier("t")}) ==
        R"(LOCK TABLE "s"."t" IN ACCESS EXCLUSIVE MODE)");
}

TEST_CASE("meta columns missing from an older table are added with what old rows read", "[sql]") {
  TableRef table{Identifier("s"), Identifier("t")};
  const auto& meta = sql::meta_columns();
  REQUIRE(meta.size() == 4);
  // A table without the first two was never made by an Airbyte destination.
  CHECK(meta[0].default_for_older_rows == nullptr);
  CHECK(meta[1].default_for_older_rows == nullptr);
  CHECK(
      sql::add_meta_column(table, meta[2]) ==
      R"(ALTER TABLE "s"."t" ADD COLUMN IF NOT EXISTS "_airbyte_meta" jsonb DEFAULT '{"changes": []}')");
  CHECK(
      sql::add_meta_column(table, meta[3]) ==
      R"(ALTER TABLE "s"."t" ADD COLUMN IF NOT EXISTS "_airbyte_generation_id" bigint DEFAULT 0)");
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
  CHECK(sql::delete_all_rows(final_table) == "DELETE FROM \"s\".\"t\"");
  CHECK(sql::alter_column_type(final_table, "c", ColumnType::jsonb, "to_jsonb(\"c\")") ==
        "ALTER TABLE \"s\".\"t\" ALTER COLUMN \"c\" TYPE jsonb USING to_jsonb(\"c\")");
}

TEST_CASE("a dedup keys table holds the key columns, is private, new in each transaction and "
          "dropped at its end",
          "[sql]") {
  CHECK(sql::create_keys_table(Identifier("_airbyte_keys_0"),
                               {{"id", "id", pgdest::schema::ColumnType::bigint},
                                {"Part", "part", pgdest::schema::ColumnType::varchar}}) ==
        "DROP TABLE IF EXISTS pg_temp.\"_airbyte_keys_0\"; CREATE TEMP TABLE \"_airbyte_keys_0\" "
        "(\"id\" bigint, \"part\" character varying) ON COMMIT DROP");
}

TEST_CASE("dedup delete: newest row per key by cursor (NULL lowest), extraction time, arrival",
          "[sql]") {
  sql::DedupSpec dedup{
      {Identifier("s"), Identifier("t")}, Identifier("k"), {"id"}, "c", "_ab_cdc_deleted_at"};
  auto delete_for = [](const std::string& which, const std::string& match) {
    return "DELETE FROM \"s\".\"t\" t USING (SELECT row_id FROM (SELECT r.ctid AS row_id, "
           "r.\"_ab_cdc_deleted_at\" IS NOT NULL AS deleted, row_number() OVER (PARTITION BY "
           "r.\"id\" ORDER BY r.\"c\" DESC NULLS LAST, r.\"_airbyte_extracted_at\" DESC, "
           "r.\"_airbyte_raw_id\" COLLATE \"C\" DESC) AS position FROM (SELECT DISTINCT \"id\" "
           "FROM pg_temp.\"k\" WHERE " +
           which + ") k JOIN \"s\".\"t\" r ON " + match +
           ") ranked WHERE position > 1 OR deleted) doomed WHERE t.ctid = doomed.row_id;";
  };
  CHECK(sql::delete_superseded(dedup) ==
        "DO $dedup$ BEGIN IF pg_relation_size('\"s\".\"t\"') > 4 * "
        "pg_relation_size('pg_temp.\"k\"') THEN SET LOCAL enable_hashjoin = off; SET LOCAL "
        "enable_mergejoin = off; SET LOCAL enable_bitmapscan = off; END IF; SET LOCAL "
        "enable_hashagg = off; " +
            delete_for("\"id\" IS NOT NULL", "r.\"id\" = k.\"id\"") +
            " IF EXISTS (SELECT 1 FROM pg_temp.\"k\" WHERE \"id\" IS NULL) THEN IF EXISTS "
            "(SELECT 1 FROM pg_temp.\"k\" WHERE \"id\" IS NULL) THEN " +
            delete_for("\"id\" IS NULL", "r.\"id\" IS NULL") +
            " END IF; END IF; SET LOCAL enable_hashjoin TO DEFAULT; SET LOCAL enable_mergejoin TO "
            "DEFAULT; SET LOCAL enable_bitmapscan TO DEFAULT; SET LOCAL enable_hashagg TO DEFAULT; "
            "END $dedup$");
}

TEST_CASE("dedup delete without a cursor or CDC deletions, one lookup per pattern of NULL parts",
          "[sql]") {
  sql::DedupSpec dedup{{Identifier("s"), Identifier("t")}, Identifier("k"), {"k1", "k2"}, "", ""};
  auto statement = sql::delete_superseded(dedup);
  CHECK(statement.find("SELECT r.ctid AS row_id, false AS deleted, row_number() OVER (PARTITION "
                       "BY r.\"k1\", r.\"k2\" ORDER BY r.\"_airbyte_extracted_at\" DESC, "
                       "r.\"_airbyte_raw_id\" COLLATE \"C\" DESC)") != std::string::npos);
  // Every pattern matches through the index: = for a part with a value, IS NULL for a NULL one.
  for (const auto& [which, match] : std::vector<std::pair<std::string, std::string>>{
           {"\"k1\" IS NOT NULL AND \"k2\" IS NOT NULL",
            "r.\"k1\" = k.\"k1\" AND r.\"k2\" = k.\"k2\""},
           {"\"k1\" IS NULL AND \"k2\" IS NOT NULL", "r.\"k1\" IS NULL AND r.\"k2\" = k.\"k2\""},
           {"\"k1\" IS NOT NULL AND \"k2\" IS NULL", "r.\"k1\" = k.\"k1\" AND r.\"k2\" IS NULL"},
           {"\"k1\" IS NULL AND \"k2\" IS NULL", "r.\"k1\" IS NULL AND r.\"k2\" IS NULL"}}) {
    INFO(which);
    CHECK(statement.find("(SELECT DISTINCT \"k1\", \"k2\" FROM pg_temp.\"k\" WHERE " + which +
                         ") k JOIN \"s\".\"t\" r ON " + match + ")") != std::string::npos);
  }
  CHECK(statement.find("IS NOT DISTINCT FROM") == std::string::npos);
  CHECK(statement.find("IF EXISTS (SELECT 1 FROM pg_temp.\"k\" WHERE \"k1\" IS NULL OR \"k2\" IS "
                       "NULL) THEN IF EXISTS") != std::string::npos);
}

TEST_CASE("dedup delete: keys of many parts match NULL parts without the index", "[sql]") {
  sql::DedupSpec dedup{
      {Identifier("s"), Identifier("t")}, Identifier("k"), {"a", "b", "c", "d", "e"}, "", ""};
  auto statement = sql::delete_superseded(dedup);
  CHECK(statement.find("WHERE \"a\" IS NULL OR \"b\" IS NULL OR \"c\" IS NULL OR \"d\" IS NULL OR "
                       "\"e\" IS NULL) k JOIN \"s\".\"t\" r ON r.\"a\" IS NOT DISTINCT FROM "
                       "k.\"a\" AND") != std::string::npos);
  CHECK(statement.find("r.\"a\" = k.\"a\" AND r.\"b\" = k.\"b\"") != std::string::npos);
}

TEST_CASE("a history table's own columns are named after Airbyte's normalization SCD tables",
          "[sql][history]") {
  CHECK(sql::history_column_names() ==
        std::vector<std::string>{"_airbyte_unique_key", "_airbyte_start_at", "_airbyte_end_at",
                                 "_airbyte_active_row"});
  auto columns = sql::history_columns(ColumnType::bigint);
  REQUIRE(columns.size() == 4);
  CHECK(columns[0].type == ColumnType::varchar);
  CHECK(columns[1].type == ColumnType::bigint); // the cursor's type
  CHECK(columns[2].type == ColumnType::bigint);
  CHECK(columns[3].type == ColumnType::boolean);
}

namespace {

sql::HistorySpec history_spec(std::vector<std::string> key, std::string cursor,
                              std::string deleted_at) {
  return {{{Identifier("s"), Identifier("t")},
           Identifier("k"),
           std::move(key),
           std::move(cursor),
           std::move(deleted_at)},
          {Identifier("s"), Identifier("t_scd")},
          {"_airbyte_raw_id", "id", "c"}};
}

} // namespace

TEST_CASE("history: the transaction's rows by key and xmin, placed by cursor, extraction, arrival",
          "[sql][history]") {
  auto statement = sql::record_history(history_spec({"id"}, "c", "_ab_cdc_deleted_at"));
  CHECK(statement.rfind("DO $history$ DECLARE _airbyte_xid xid := (txid_current() % "
                        "4294967296)::text::xid; BEGIN IF pg_relation_size('\"s\".\"t_scd\"') > "
                        "4 * pg_relation_size('pg_temp.\"k\"') THEN SET LOCAL enable_hashjoin = "
                        "off;",
                        0) == 0);
  // The new rows, this transaction's, found through the target's key index, go straight into the
  // history, placed among themselves in the order the dedup DELETE keeps the newest by; a deletion
  // is never current.
  CHECK(statement.find(
            "SET LOCAL enable_seqscan = off; INSERT INTO \"s\".\"t_scd\" (\"_airbyte_raw_id\", "
            "\"id\", \"c\", \"_airbyte_unique_key\", \"_airbyte_start_at\", \"_airbyte_end_at\", "
            "\"_airbyte_active_row\") SELECT r.\"_airbyte_raw_id\", r.\"id\", r.\"c\", "
            "md5(coalesce(r.\"id\"::text, '')), r.\"c\", lead(r.\"c\") OVER w, lead(true) OVER w "
            "IS NULL AND NOT (r.\"_ab_cdc_deleted_at\" IS NOT NULL) FROM (SELECT DISTINCT \"id\" "
            "FROM pg_temp.\"k\" WHERE \"id\" IS NOT NULL) k JOIN \"s\".\"t\" r ON r.\"id\" = "
            "k.\"id\" WHERE r.xmin = _airbyte_xid WINDOW w AS (PARTITION BY r.\"id\" ORDER BY "
            "r.\"c\" NULLS FIRST, r.\"_airbyte_extracted_at\", r.\"_airbyte_raw_id\" COLLATE "
            "\"C\");") != std::string::npos);
  // Keys with a NULL part, through the index too.
  CHECK(statement.find("JOIN \"s\".\"t\" r ON r.\"id\" IS NULL WHERE r.xmin = _airbyte_xid") !=
        std::string::npos);
  // Then every version of those keys is placed again from the history's narrow columns, and only
  // those whose end or active flag changed are updated.
  CHECK(statement.find(
            "UPDATE \"s\".\"t_scd\" h SET \"_airbyte_end_at\" = p.end_at, \"_airbyte_active_row\" "
            "= p.active_row FROM (SELECT r.ctid AS row_id, r.\"_airbyte_end_at\" AS was_end_at, "
            "r.\"_airbyte_active_row\" AS was_active_row, lead(r.\"_airbyte_start_at\") OVER w AS "
            "end_at, lead(true) OVER w IS NULL AND NOT (r.\"_ab_cdc_deleted_at\" IS NOT NULL) AS "
            "active_row FROM (SELECT DISTINCT \"id\" FROM pg_temp.\"k\" WHERE \"id\" IS NOT NULL) "
            "k JOIN \"s\".\"t_scd\" r ON r.\"id\" = k.\"id\" WINDOW w AS (PARTITION BY r.\"id\" "
            "ORDER BY r.\"c\" NULLS FIRST, r.\"_airbyte_extracted_at\", r.\"_airbyte_raw_id\" "
            "COLLATE \"C\")) p WHERE h.ctid = p.row_id AND (p.was_end_at IS DISTINCT FROM "
            "p.end_at OR p.was_active_row IS DISTINCT FROM p.active_row);") != std::string::npos);
  CHECK(statement.find("JOIN \"s\".\"t_scd\" r ON r.\"id\" IS NULL WINDOW") != std::string::npos);
  // New versions first, then the places; a scan of a whole table is the last resort throughout.
  CHECK(statement.find("INSERT INTO \"s\".\"t_scd\"") < statement.find("UPDATE \"s\".\"t_scd\""));
  CHECK(statement.rfind("INSERT INTO \"s\".\"t_scd\"") < statement.find("UPDATE \"s\".\"t_scd\""));
  CHECK(statement.find("END IF; END IF; SET LOCAL enable_seqscan TO DEFAULT; SET LOCAL "
                       "enable_hashjoin TO DEFAULT;") != std::string::npos);
  CHECK(statement.find("enable_seqscan TO DEFAULT") > statement.rfind("UPDATE \"s\".\"t_scd\""));
  // Nothing wide is kept aside: no scratch table.
  CHECK(statement.find("TEMP TABLE") == std::string::npos);
  CHECK(statement.find("END $history$") == statement.size() - std::string("END $history$").size());
}

TEST_CASE("history without a cursor starts versions at their extraction, with keys of two parts",
          "[sql][history]") {
  auto statement = sql::record_history(history_spec({"a", "b"}, "", ""));
  CHECK(statement.find("md5(coalesce(r.\"a\"::text, '') || '-' || coalesce(r.\"b\"::text, '')), "
                       "r.\"_airbyte_extracted_at\", lead(r.\"_airbyte_extracted_at\") OVER w, "
                       "lead(true) OVER w IS NULL AND NOT (false)") != std::string::npos);
  CHECK(statement.find("PARTITION BY r.\"a\", r.\"b\" ORDER BY r.\"_airbyte_extracted_at\", "
                       "r.\"_airbyte_raw_id\" COLLATE \"C\")") != std::string::npos);
  CHECK(statement.find("r.\"a\" IS NULL AND r.\"b\" = k.\"b\"") != std::string::npos);
  CHECK(statement.find("UPDATE \"s\".\"t_scd\" h SET") != std::string::npos);
}

TEST_CASE("a history started from a table's rows places them as record_history does",
          "[sql][history]") {
  CHECK(sql::start_history(history_spec({"id"}, "c", "")) ==
        "INSERT INTO \"s\".\"t_scd\" (\"_airbyte_raw_id\", \"id\", \"c\", \"_airbyte_unique_key\", "
        "\"_airbyte_start_at\", \"_airbyte_end_at\", \"_airbyte_active_row\") SELECT "
        "r.\"_airbyte_raw_id\", r.\"id\", r.\"c\", md5(coalesce(r.\"id\"::text, '')), r.\"c\", "
        "lead(r.\"c\") OVER w, lead(true) OVER w IS NULL AND NOT (false) FROM \"s\".\"t\" r "
        "WINDOW w AS (PARTITION BY r.\"id\" ORDER BY r.\"c\" NULLS FIRST, "
        "r.\"_airbyte_extracted_at\", r.\"_airbyte_raw_id\" COLLATE \"C\")");
}
