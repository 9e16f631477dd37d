// The sync log: its table made ready, its rows for each commit and each stream's end, and the
// totals the closing LOG message prints.
#include "pgdest/load/sync_log.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pgdest/encode/uuid_generator.hpp"
#include "pgdest/error.hpp"

namespace pgdest::load {
namespace {

std::uint64_t number(const std::optional<std::string>& text) {
  return text ? std::stoull(*text) : 0;
}

bool same_table(const postgres::TableRef& a, const postgres::TableRef& b) {
  return a.schema.name() == b.schema.name() && a.table.name() == b.table.name();
}

bool sync_log_exists(postgres::Connection& connection, const postgres::TableRef& log) {
  auto rows = connection.query(postgres::sql::select_table_exists(), {log.quoted()},
                               "looking for the sync log " + log.quoted());
  return !rows.empty() && !rows[0].empty() && rows[0][0] == "t";
}

std::string new_run_id() {
  encode::UuidGenerator generator;
  std::string id(encode::UuidGenerator::kTextSize, '\0');
  generator.write_v7(id.data());
  return id;
}

} // namespace

void CommitLedger::add(std::uint64_t records, const std::vector<CommitPart>& parts) {
  for (const auto& part : parts)
    pending_.push_back({records, part});
}

void CommitLedger::settle(const std::function<std::uint64_t(std::size_t lane)>& committed_records) {
  auto landed = [&](const Pending& pending) {
    return committed_records(pending.part.lane) >= pending.records;
  };
  for (const auto& pending : pending_) {
    if (!landed(pending))
      continue;
    StreamTotals& totals = totals_[pending.part.stream];
    totals.records += pending.part.records;
    totals.rows_inserted += pending.part.rows;
    totals.bytes += pending.part.bytes;
    totals.states += pending.part.states;
  }
  pending_.erase(std::remove_if(pending_.begin(), pending_.end(), landed), pending_.end());
}

std::unique_ptr<SyncLog> SyncLog::open(postgres::Connection& connection,
                                       const postgres::Identifier& schema,
                                       std::vector<postgres::sql::SyncLogStream> streams,
                                       const std::vector<postgres::TableRef>& stream_tables) {
  namespace sql = postgres::sql;
  postgres::sql::SyncLogRun run{
      {schema, postgres::Identifier(sql::kSyncLogTable)}, new_run_id(), {}};
  const std::string where = run.log.quoted();
  for (const auto& table : stream_tables)
    if (same_table(table, run.log)) {
      spdlog::warn("A stream's table is named like the sync log, {}: this sync keeps no log.",
                   where);
      return nullptr;
    }
  try {
    // Made only when missing: CREATE INDEX would lock the table even when the index exists,
    // waiting for the open commits of other syncs. Of two syncs creating it at once, the
    // second's CREATE fails, and it then finds the table made.
    for (int attempt = 1; !sync_log_exists(connection, run.log); ++attempt) {
      try {
        connection.execute("BEGIN; " + sql::create_sync_log(run.log) + "; " +
                               sql::create_sync_log_index(run.log) + "; COMMIT",
                           "creating the sync log " + where);
      } catch (const Error&) {
        if (connection.healthy())
          connection.execute("ROLLBACK", "creating the sync log " + where);
        if (attempt == 2 || !connection.healthy())
          throw;
      }
    }
    auto rows = connection.query(sql::select_epoch_now(), {}, "reading the server's clock");
    if (rows.empty() || rows[0].empty() || !rows[0][0])
      throw SystemError("The server did not tell the time.");
    run.started_epoch = *rows[0][0];
    // A row written and rolled back: privileges, row security, triggers, a table of another
    // shape all show now rather than at the first commit, where they would fail the sync.
    sql::SyncLogStream probe_stream{std::nullopt, "probe", 0, 0, run.log};
    sql::SyncLogCommitRow probe;
    probe.stream = &probe_stream;
    connection.execute("BEGIN", "writing a test row to the sync log " + where);
    try {
      connection.execute(sql::insert_sync_log_commits(run, {probe}),
                         "writing a test row to the sync log " + where);
    } catch (const Error&) {
      if (connection.healthy())
        connection.execute("ROLLBACK", "rolling back the sync log's test row");
      throw;
    }
    connection.execute("ROLLBACK", "rolling back the sync log's test row");
  } catch (const Error& error) {
    spdlog::warn("The sync log {} cannot be written, so this sync keeps no log; the rows load as "
                 "usual. {}",
                 where, error.what());
    return nullptr;
  }
  spdlog::info("This sync's commits are logged in {} with run_id '{}'.", where, run.run_id);
  return std::unique_ptr<SyncLog>(new SyncLog(std::move(run), std::move(streams)));
}

std::string SyncLog::insert(std::uint64_t commit_number, std::uint64_t commit_rows,
                            const std::vector<CommitPart>& parts,
                            std::string_view rows_deleted) const {
  std::vector<postgres::sql::SyncLogCommitRow> rows;
  for (const auto& part : parts) {
    postgres::sql::SyncLogCommitRow row;
    row.stream = &streams_[part.stream];
    row.commit_number = commit_number;
    row.lane = part.lane;
    row.commit_rows = commit_rows;
    row.records = part.records;
    row.rows_inserted = part.rows;
    row.bytes = part.bytes;
    row.states_released = part.states;
    row.rows_deleted = std::string(rows_deleted);
    rows.push_back(std::move(row));
  }
  return postgres::sql::insert_sync_log_commits(run_, rows);
}

std::string SyncLog::close(std::size_t stream, const postgres::TableRef& table,
                           std::string_view status, std::string_view note) const {
  return postgres::sql::insert_sync_log_end(run_, streams_[stream], table, status, note);
}

std::vector<std::optional<StreamClosing>>
SyncLog::read_closings(postgres::Connection& connection) const {
  std::vector<std::optional<StreamClosing>> closings(streams_.size());
  auto rows = connection.query(postgres::sql::select_sync_log_ends(run_.log), {run_.run_id},
                               "reading the sync log's closing rows");
  for (const auto& row : rows) {
    if (row.size() != 11)
      throw SystemError("Reading the sync log's closing rows returned an unexpected result.");
    const std::string stream_namespace = row[0].value_or("");
    const std::string name = row[1].value_or("");
    for (std::size_t i = 0; i < streams_.size(); ++i) {
      if (streams_[i].stream_namespace.value_or("") != stream_namespace ||
          streams_[i].stream_name != name)
        continue;
      StreamClosing closing{
          row[2].value_or(""),
          row[10].value_or(""),
          {postgres::Identifier(row[8].value_or("")), postgres::Identifier(row[9].value_or(""))},
          {}};
      closing.totals.records = number(row[3]);
      closing.totals.rows_inserted = number(row[4]);
      closing.totals.rows_deleted = number(row[5]);
      closing.totals.bytes = number(row[6]);
      closing.totals.states = number(row[7]);
      closings[i] = std::move(closing);
    }
  }
  return closings;
}

std::string describe_closings(const std::vector<std::string>& names,
                              const std::vector<std::optional<StreamClosing>>& closings,
                              const std::string& where) {
  std::string text = "Sync totals (" + where + "):";
  for (std::size_t i = 0; i < closings.size() && i < names.size(); ++i) {
    if (!closings[i])
      continue;
    const StreamClosing& closing = *closings[i];
    const StreamTotals& totals = closing.totals;
    text += fmt::format("\n{}: {}; {} records, {} rows inserted, {}, {:.1f} MiB, {} states; {}{}{}",
                        names[i], closing.status, totals.records, totals.rows_inserted,
                        totals.rows_deleted ? std::to_string(*totals.rows_deleted) + " rows deleted"
                                            : "rows deleted not counted",
                        static_cast<double>(totals.bytes) / (1024.0 * 1024.0), totals.states,
                        closing.table.quoted(), closing.note.empty() ? "" : "; ", closing.note);
  }
  return text;
}

} // namespace pgdest::load
