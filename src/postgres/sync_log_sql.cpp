// SQL text of the sync log.
#include "pgdest/postgres/sync_log_sql.hpp"

#include <fmt/format.h>

#include "pgdest/postgres/sql_builder.hpp"

namespace pgdest::postgres::sql {
namespace {

// The columns an INSERT names, in the order of its values.
constexpr const char* kInsertColumns =
    "run_id, sync_id, generation_id, kind, status, stream_namespace, stream_name, table_schema, "
    "table_name, commit_number, lane, commit_rows, records, rows_inserted, rows_deleted, bytes, "
    "states_released, committed_at, duration, note";

// A text constant, or NULL. A name from the catalog may hold a NUL, which text cannot: it reads
// as U+FFFD, as in the tables' values.
std::string text_or_null(const std::optional<std::string>& text) {
  if (!text || text->empty())
    return "NULL";
  std::string clean;
  for (char c : *text) {
    if (c == '\0')
      clean += "\xEF\xBF\xBD";
    else
      clean += c;
  }
  return literal(clean);
}

std::string text(const std::string& value) {
  return value.empty() ? "''" : text_or_null(value);
}

std::string uuid(const SyncLogRun& run) {
  return literal(run.run_id) + "::uuid";
}

// The namespace (NULL when none) and name of `stream`, as the WHERE clause of its rows in a run.
std::string rows_of(const SyncLogRun& run, const SyncLogStream& stream, std::string_view kind) {
  return fmt::format("run_id = {} AND kind = '{}' AND stream_namespace IS NOT DISTINCT FROM {} "
                     "AND stream_name = {}",
                     uuid(run), kind, text_or_null(stream.stream_namespace),
                     text(stream.stream_name));
}

} // namespace

std::string create_sync_log(const TableRef& log) {
  return fmt::format(
      "CREATE TABLE IF NOT EXISTS {} (run_id uuid NOT NULL, sync_id bigint NOT NULL, "
      "generation_id bigint NOT NULL, kind text NOT NULL, status text, stream_namespace text, "
      "stream_name text NOT NULL, table_schema text NOT NULL, table_name text NOT NULL, "
      "commit_number bigint, lane integer, commit_rows integer, records bigint NOT NULL, "
      "rows_inserted bigint NOT NULL, rows_deleted bigint NOT NULL, bytes bigint NOT NULL, "
      "states_released bigint NOT NULL, committed_at timestamp with time zone NOT NULL, "
      "duration interval NOT NULL, note text)",
      log.quoted());
}

std::string create_sync_log_index(const TableRef& log) {
  return fmt::format("CREATE INDEX IF NOT EXISTS {} ON {} (run_id)",
                     Identifier(log.table.name() + "_run_id").quoted(), log.quoted());
}

std::string insert_sync_log_commits(const SyncLogRun& run,
                                    const std::vector<SyncLogCommitRow>& rows) {
  std::string values;
  for (const auto& row : rows) {
    const SyncLogStream& stream = *row.stream;
    values += fmt::format(
        "{}({}, {}, {}, 'commit', NULL, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, "
        "clock_timestamp(), clock_timestamp() - now(), NULL)",
        values.empty() ? "" : ", ", uuid(run), stream.sync_id, stream.generation_id,
        text_or_null(stream.stream_namespace), text(stream.stream_name),
        text(stream.table.schema.name()), text(stream.table.table.name()), row.commit_number,
        row.lane, row.commit_rows, row.records, row.rows_inserted, row.rows_deleted, row.bytes,
        row.states_released);
  }
  return fmt::format("INSERT INTO {} ({}) VALUES {}", run.log.quoted(), kInsertColumns, values);
}

std::string insert_sync_log_end(const SyncLogRun& run, const SyncLogStream& stream,
                                const TableRef& table, std::string_view status,
                                std::string_view note) {
  // An aggregate without GROUP BY gives its one row also when the stream committed nothing;
  // HAVING drops it when the stream is already closed.
  return fmt::format(
      "INSERT INTO {0} ({1}) SELECT {2}, {3}, {4}, 'end', {5}, {6}, {7}, {8}, {9}, NULL, NULL, "
      "NULL, coalesce(sum(records), 0), coalesce(sum(rows_inserted), 0), "
      "coalesce(sum(rows_deleted), 0), coalesce(sum(bytes), 0), coalesce(sum(states_released), "
      "0), clock_timestamp(), clock_timestamp() - to_timestamp({10}::double precision), {11} "
      "FROM {0} WHERE {12} "
      "HAVING NOT EXISTS (SELECT 1 FROM {0} WHERE {13})",
      run.log.quoted(), kInsertColumns, uuid(run), stream.sync_id, stream.generation_id,
      literal(status), text_or_null(stream.stream_namespace), text(stream.stream_name),
      text(table.schema.name()), text(table.table.name()), literal(run.started_epoch),
      text_or_null(std::string(note)), rows_of(run, stream, "commit"), rows_of(run, stream, "end"));
}

std::string select_sync_log_ends(const TableRef& log) {
  return fmt::format("SELECT stream_namespace, stream_name, status, records::text, "
                     "rows_inserted::text, rows_deleted::text, bytes::text, "
                     "states_released::text, table_schema, table_name, note FROM {} WHERE "
                     "run_id = $1::uuid AND kind = 'end'",
                     log.quoted());
}

std::string select_table_exists() {
  return "SELECT to_regclass($1) IS NOT NULL";
}

std::string select_epoch_now() {
  return "SELECT extract(epoch FROM now())::text";
}

} // namespace pgdest::postgres::sql
