// SQL text of the sync log, and the dedup DELETE that writes the log row with the rows it deleted.
#include <catch2/catch.hpp>

#include <string>

#include "pgdest/postgres/sql_builder.hpp"
#include "pgdest/postgres/sync_log_sql.hpp"

using namespace pgdest::postgres;

namespace {

const sql::SyncLogRun kRun{{Identifier("airbyte_internal"), Identifier("_airbyte_sync_log")},
                           "018f3c1e-7b2a-7c4d-9e8f-0123456789ab",
                           "1733200000.25"};

sql::SyncLogStream stream(std::optional<std::string> stream_namespace, std::string name) {
  return {std::move(stream_namespace), std::move(name), 42, 3,
          TableRef{Identifier("s"), Identifier("users")}};
}

std::size_t occurrences(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
    ++count;
  return count;
}

} // namespace

TEST_CASE("the sync log table: one row per part of a commit or per stream's end, by run",
          "[sql][synclog]") {
  CHECK(sql::create_sync_log(kRun.log) ==
        "CREATE TABLE IF NOT EXISTS \"airbyte_internal\".\"_airbyte_sync_log\" (run_id uuid NOT "
        "NULL, sync_id bigint NOT NULL, generation_id bigint NOT NULL, kind text NOT NULL, "
        "status text, stream_namespace text, stream_name text NOT NULL, table_schema text NOT "
        "NULL, table_name text NOT NULL, commit_number bigint, lane integer, commit_rows "
        "integer, records bigint NOT NULL, rows_inserted bigint NOT NULL, rows_deleted bigint "
        "NOT NULL, bytes bigint NOT NULL, states_released bigint NOT NULL, committed_at "
        "timestamp with time zone NOT NULL, duration interval NOT NULL, note text)");
  CHECK(sql::create_sync_log_index(kRun.log) ==
        "CREATE INDEX IF NOT EXISTS \"_airbyte_sync_log_run_id\" ON "
        "\"airbyte_internal\".\"_airbyte_sync_log\" (run_id)");
}

TEST_CASE("commit rows: one INSERT for several parts, the commit's time and how long it took",
          "[sql][synclog]") {
  const auto users = stream(std::nullopt, "users");
  const auto orders = stream(std::string("shop"), "it's");
  sql::SyncLogCommitRow first{&users, 7, 0, 3, 100, 100, 4096, 2, "0"};
  sql::SyncLogCommitRow second{&orders, 7, 1, 3, 5, 5, 80, 0, "0"};
  CHECK(sql::insert_sync_log_commits(kRun, {first, second}) ==
        "INSERT INTO \"airbyte_internal\".\"_airbyte_sync_log\" (run_id, sync_id, generation_id, "
        "kind, status, stream_namespace, stream_name, table_schema, table_name, commit_number, "
        "lane, commit_rows, records, rows_inserted, rows_deleted, bytes, states_released, "
        "committed_at, duration, note) VALUES "
        "('018f3c1e-7b2a-7c4d-9e8f-0123456789ab'::uuid, 42, 3, 'commit', NULL, NULL, 'users', "
        "'s', 'users', 7, 0, 3, 100, 100, 0, 4096, 2, clock_timestamp(), clock_timestamp() - "
        "now(), NULL), "
        "('018f3c1e-7b2a-7c4d-9e8f-0123456789ab'::uuid, 42, 3, 'commit', NULL, 'shop', 'it''s', "
        "'s', 'users', 7, 1, 3, 5, 5, 0, 80, 0, clock_timestamp(), clock_timestamp() - now(), "
        "NULL)");
  // The count of a DELETE in the same statement stands where the number would.
  first.rows_deleted = sql::kRowsDeletedVariable;
  CHECK(sql::insert_sync_log_commits(kRun, {first})
            .find(", 100, 100, _airbyte_rows_deleted, 4096, 2, ") != std::string::npos);
}

TEST_CASE("names that SQL text must not take as they are", "[sql][synclog]") {
  // An empty namespace is no namespace; a NUL, which text cannot hold, reads as U+FFFD; a
  // backslash makes an escape string.
  const auto odd = stream(std::string(""), std::string("a\0b\\c", 5));
  sql::SyncLogCommitRow row{&odd, 1, 0, 1, 1, 1, 1, 0, "0"};
  CHECK(sql::insert_sync_log_commits(kRun, {row})
            .find("'commit', NULL, NULL, E'a\xEF\xBF\xBD"
                  "b\\\\c', ") != std::string::npos);
}

TEST_CASE("a closing row sums the stream's commit rows of the run, once", "[sql][synclog]") {
  const auto users = stream(std::string("shop"), "users");
  const TableRef final_table{Identifier("s"), Identifier("users")};
  const std::string statement =
      sql::insert_sync_log_end(kRun, users, final_table, "complete", "swapped");
  CHECK(statement ==
        "INSERT INTO \"airbyte_internal\".\"_airbyte_sync_log\" (run_id, sync_id, generation_id, "
        "kind, status, stream_namespace, stream_name, table_schema, table_name, commit_number, "
        "lane, commit_rows, records, rows_inserted, rows_deleted, bytes, states_released, "
        "committed_at, duration, note) SELECT '018f3c1e-7b2a-7c4d-9e8f-0123456789ab'::uuid, 42, "
        "3, 'end', 'complete', 'shop', 'users', 's', 'users', NULL, NULL, NULL, "
        "coalesce(sum(records), 0), coalesce(sum(rows_inserted), 0), coalesce(sum(rows_deleted), "
        "0), coalesce(sum(bytes), 0), coalesce(sum(states_released), 0), clock_timestamp(), "
        "clock_timestamp() - to_timestamp('1733200000.25'::double precision), 'swapped' FROM "
        "\"airbyte_internal\".\"_airbyte_sync_log\" WHERE run_id = "
        "'018f3c1e-7b2a-7c4d-9e8f-0123456789ab'::uuid AND kind = 'commit' AND stream_namespace "
        "IS NOT DISTINCT FROM 'shop' AND stream_name = 'users' HAVING NOT EXISTS (SELECT 1 FROM "
        "\"airbyte_internal\".\"_airbyte_sync_log\" WHERE run_id = "
        "'018f3c1e-7b2a-7c4d-9e8f-0123456789ab'::uuid AND kind = 'end' AND stream_namespace IS "
        "NOT DISTINCT FROM 'shop' AND stream_name = 'users')");
  // No namespace matches NULL, and no note is NULL.
  CHECK(sql::insert_sync_log_end(kRun, stream(std::nullopt, "users"), final_table, "failed", "")
            .find("'end', 'failed', NULL, 'users'") != std::string::npos);
  CHECK(occurrences(sql::insert_sync_log_end(kRun, stream(std::nullopt, "users"), final_table,
                                             "failed", ""),
                    "stream_namespace IS NOT DISTINCT FROM NULL") == 2);
}

TEST_CASE("the dedup DELETE counts what it deletes and writes the log row in the same statement",
          "[sql][synclog][dedup]") {
  sql::DedupSpec dedup{
      {Identifier("s"), Identifier("t")}, Identifier("k"), {"a", "b"}, "c", "_ab_cdc_deleted_at"};
  const std::string plain = sql::delete_superseded(dedup);
  const std::string logged = sql::delete_superseded(dedup, "INSERT INTO log VALUES (1)");
  CHECK(plain.find("_airbyte_rows") == std::string::npos);
  // Declared, with column names winning over the block's own variables; one count per DELETE
  // (the key has two parts: four patterns of NULL parts), the log row last.
  CHECK(logged.rfind("DO $dedup$ #variable_conflict use_column DECLARE _airbyte_rows_deleted "
                     "bigint := 0; _airbyte_rows bigint; BEGIN ",
                     0) == 0);
  CHECK(occurrences(logged, "DELETE FROM") == 4);
  CHECK(occurrences(logged, " GET DIAGNOSTICS _airbyte_rows = ROW_COUNT; _airbyte_rows_deleted "
                            ":= _airbyte_rows_deleted + _airbyte_rows;") == 4);
  const std::string end = "enable_hashagg TO DEFAULT; INSERT INTO log VALUES (1); END $dedup$";
  CHECK(logged.substr(logged.size() - end.size()) == end);
}

TEST_CASE("the dedup DELETE's quotes never occur inside it", "[sql][dedup]") {
  sql::DedupSpec dedup{{Identifier("s"), Identifier("t$dedup$")}, Identifier("k"), {"id"}, "", ""};
  const std::string statement = sql::delete_superseded(dedup, "SELECT '$dedup1$'");
  CHECK(statement.rfind("DO $dedup2$ ", 0) == 0);
  CHECK(statement.substr(statement.size() - 8) == "$dedup2$");
}
