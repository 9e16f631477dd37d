#pragma once
// What a sync wrote, counted as it commits: the sync log table (`_airbyte_sync_log` in the
// internal schema, one row per stream per lane per commit in that commit's own transaction, and a
// closing row per stream), and the same totals kept in memory for the closing LOG message, also
// when there is no log table.
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgdest/postgres/connection.hpp"
#include "pgdest/postgres/sync_log_sql.hpp"

namespace pgdest::load {

// A stream's part of one commit on one lane.
struct CommitPart {
  std::size_t stream = 0;
  std::size_t lane = 0;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;  // of binary COPY data: the rows, and a dedup stream's keys
  std::uint64_t states = 0; // STATE messages covering the stream that the commit lets out
  std::uint64_t rows = 0;   // rows copied: a row per record, less those withdrawn unsent
};

// A stream's sums over the commits of a run that landed.
struct StreamTotals {
  std::uint64_t records = 0;
  std::uint64_t rows_inserted = 0;
  std::optional<std::uint64_t> rows_deleted; // counted by the server: known from the log only
  std::uint64_t bytes = 0;
  std::uint64_t states = 0;
};

// How a stream ended, with its totals.
struct StreamClosing {
  std::string status; // complete, incomplete, failed
  std::string note;
  postgres::TableRef table; // where its rows are (after a refresh swap, the final table)
  StreamTotals totals;
};

// The commits a run asked for, and the totals of those that landed. A lane commits in order, so a
// part has landed once its lane has committed up to the last record of the part's commit.
class CommitLedger {
public:
  explicit CommitLedger(std::size_t streams) : totals_(streams) {}

  // The parts of the commit that covers the first `records` records.
  void add(std::uint64_t records, const std::vector<CommitPart>& parts);
  // Adds the parts that have landed to the totals, given each lane's committed records.
  void settle(const std::function<std::uint64_t(std::size_t lane)>& committed_records);
  const std::vector<StreamTotals>& totals() const { return totals_; }

private:
  struct Pending {
    std::uint64_t records;
    CommitPart part;
  };
  std::deque<Pending> pending_;
  std::vector<StreamTotals> totals_;
};

class SyncLog {
public:
  // Makes the log table ready in `schema` and checks that this user can write a row to it (in a
  // transaction rolled back); without a usable table, logs one WARN and returns null: the log must
  // never make a sync fail that would run without it. `streams` describe the catalog's streams,
  // in order; `stream_tables` are every table the sync writes (a name clash leaves no log).
  static std::unique_ptr<SyncLog> open(postgres::Connection& connection,
                                       const postgres::Identifier& schema,
                                       std::vector<postgres::sql::SyncLogStream> streams,
                                       const std::vector<postgres::TableRef>& stream_tables);

  const postgres::TableRef& table() const { return run_.log; }
  const std::string& run_id() const { return run_.run_id; }

  // The INSERT of `parts` of commit `commit_number`, which writes `commit_rows` rows in all;
  // `rows_deleted` is the SQL expression of the rows they deleted.
  std::string insert(std::uint64_t commit_number, std::uint64_t commit_rows,
                     const std::vector<CommitPart>& parts,
                     std::string_view rows_deleted = "0") const;
  // The closing row of a stream (nothing if it has one already).
  std::string close(std::size_t stream, const postgres::TableRef& table, std::string_view status,
                    std::string_view note) const;
  // The closing rows of this run, per stream (none where a stream has none).
  std::vector<std::optional<StreamClosing>> read_closings(postgres::Connection& connection) const;

private:
  SyncLog(postgres::sql::SyncLogRun run, std::vector<postgres::sql::SyncLogStream> streams)
      : run_(std::move(run)), streams_(std::move(streams)) {}

  postgres::sql::SyncLogRun run_;
  std::vector<postgres::sql::SyncLogStream> streams_;
};

// The closing LOG message: one line per stream with its status and totals. `names` are the
// streams' display names; a stream without a closing is left out.
std::string describe_closings(const std::vector<std::string>& names,
                              const std::vector<std::optional<StreamClosing>>& closings,
                              const std::string& where);

} // namespace pgdest::load
