#pragma once
// SQL text of the sync log, `_airbyte_sync_log` in the internal schema: one row per stream per
// lane per commit, written in that commit's transaction, and one closing row per stream at the
// end of a run. Pure, like sql_builder: values are spelled as constants (the rows go out with the
// commit's other statements, which take no parameters), stream names through literal().
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgdest/postgres/identifier.hpp"

namespace pgdest::postgres::sql {

inline constexpr const char* kSyncLogTable = "_airbyte_sync_log";

// What every row of a stream says about it.
struct SyncLogStream {
  std::optional<std::string> stream_namespace; // none or empty: NULL
  std::string stream_name;
  std::int64_t sync_id = 0;
  std::int64_t generation_id = 0;
  TableRef table; // the table its rows were copied into (a refresh: the staging table)
};

// One run of the connector (its rows share run_id) and when it began, by the server's clock.
struct SyncLogRun {
  TableRef log;
  std::string run_id;        // a UUID
  std::string started_epoch; // seconds since 1970 as the server gave them, e.g. "1733200000.5"
};

// A stream's part of a commit on one lane.
struct SyncLogCommitRow {
  const SyncLogStream* stream = nullptr;
  std::uint64_t commit_number = 0;
  std::uint64_t lane = 0;
  std::uint64_t commit_rows = 0; // rows the whole commit writes in the log, all lanes and streams
  std::uint64_t records = 0;
  std::uint64_t rows_inserted = 0;
  std::uint64_t bytes = 0;
  std::uint64_t states_released = 0;
  // An SQL expression for the rows the part deleted: "0", or the variable of the statement that
  // deleted them (kRowsDeletedVariable).
  std::string rows_deleted = "0";
};

std::string create_sync_log(const TableRef& log);
// Finds a run's rows without reading the whole log (the closing rows sum a run's commits).
std::string create_sync_log_index(const TableRef& log);

// One INSERT of `rows` (at least one), with the time of the commit and how long its transaction
// has been open: clock_timestamp() and now() (the transaction's start).
std::string insert_sync_log_commits(const SyncLogRun& run,
                                    const std::vector<SyncLogCommitRow>& rows);

// The closing row of `stream` for this run: its status (complete, incomplete, failed), the sums
// of the run's commit rows of the stream, and a note; `table` is the table the stream ended in
// (after a refresh swap, the final table). Writes nothing when the stream already has its
// closing row in this run, so a sync failing after it closed a stream cannot close it twice.
std::string insert_sync_log_end(const SyncLogRun& run, const SyncLogStream& stream,
                                const TableRef& table, std::string_view status,
                                std::string_view note);

// Parameters: $1 run id. Rows, one per closing row of the run: stream namespace (NULL when
// none), stream name, status, records, rows inserted, rows deleted, bytes, states released,
// table schema, table name, note.
std::string select_sync_log_ends(const TableRef& log);

// Parameters: $1 a quoted table name. One row: whether the table exists ("t"/"f").
std::string select_table_exists();

// One row: the server's now() in seconds since 1970, as text.
std::string select_epoch_now();

} // namespace pgdest::postgres::sql
