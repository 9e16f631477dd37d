#pragma once
// One stream's side of the load, one kind per mode (append, dedup, refresh staging), chosen once
// from the stream's plan by make_stream_loader. The load session drives every kind the same way:
// it never asks which mode a stream is in.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgdest/catalog/stream_plan.hpp"
#include "pgdest/config/destination_config.hpp"
#include "pgdest/encode/copy_buffer.hpp"
#include "pgdest/encode/row_encoder.hpp"
#include "pgdest/load/dedup_keys.hpp"
#include "pgdest/load/table_preparer.hpp"
#include "pgdest/postgres/connection.hpp"

namespace pgdest::load {

// What finishes a complete stream: what it is (for the log), and the work, which runs inside a
// transaction of its own that the caller begins and commits, and returns what it did (for the
// log). After a lost connection it may run again from the start, so it does all in that
// transaction.
struct Completion {
  std::string description;
  // Runs `also` (e.g. the sync log's closing row) in the same transaction, unless an earlier
  // try had committed it already; says what it did.
  std::function<std::string(postgres::Connection&, const std::vector<std::string>& also)> run;
};

// What one of a stream's buffers is copied into (the same on every lane).
struct CopyTarget {
  std::string copy_sql;
  std::string description;
  // Run before the first COPY into the target in each transaction, when not empty: creates a
  // helper table that the transaction drops when it ends.
  std::string prepare_sql;
};

// The sync log's INSERT of a stream's part of a commit, given an SQL expression for the rows the
// part's statements deleted.
using LogInsert = std::function<std::string(std::string_view rows_deleted)>;

// What a stream's part of a commit runs before COMMIT.
struct CommitStatements {
  std::vector<std::string> statements;
  // The statements write the part's sync log row themselves, with the rows they deleted; when
  // false, the caller writes it (nothing deleted).
  bool logged = false;
};

// Where add_record() put a record: the lane of its buffers, the bytes it added to them, and
// which of them grew (bit i: buffer(lane, i)). A record may also supersede the row before it in
// the lane's buffer, which then leaves the buffer unsent: its bytes are `withdrawn_bytes` (0: no
// row was withdrawn).
struct AddedRecord {
  std::size_t lane = 0;
  std::size_t bytes = 0;
  unsigned grown_targets = 0;
  std::size_t withdrawn_bytes = 0;
};

class StreamLoader {
public:
  virtual ~StreamLoader() = default;

  virtual const catalog::StreamPlan& plan() const = 0;
  virtual const StreamTables& tables() const = 0;
  // Reads a record's data (fill()); add_record() then turns it into rows.
  virtual encode::RowEncoder& encoder() = 0;

  // How the stream's rows are spread over the connections (lanes). When its rows follow their
  // keys, the stream keeps buffers for each of lane_count() lanes, and a lane's buffers go to that
  // lane only; otherwise it keeps the buffers of one lane (lane_count() is 1), and each full chunk
  // goes to whichever lane has the least to do. Then its COPY targets, in the order of
  // buffer()'s `target`.
  virtual bool rows_follow_keys() const = 0;
  virtual std::size_t lane_count() const = 0;
  virtual std::vector<CopyTarget> copy_targets() const = 0;

  // After encoder().fill(): appends the record's rows to its lane's buffers.
  virtual AddedRecord add_record(const encode::RecordEnvelope& envelope) = 0;
  // Rows of one target on one lane not yet handed to that lane's connection.
  virtual encode::CopyBuffer& buffer(std::size_t lane, std::size_t target) = 0;
  // Statements that must run in the lane's transaction before it commits. `log` is set when the
  // sync log wants a row for the stream's part on this lane.
  virtual CommitStatements commit_statements(std::size_t lane, const LogInsert& log) = 0;
  // What finishes the stream once it is complete and all its rows are committed, if anything.
  virtual std::optional<Completion> completion() const = 0;
  // A statement refreshing the planner's statistics after the load, if worth it.
  virtual std::optional<std::string> statistics_statement() const = 0;

  virtual std::uint64_t records() const = 0;
};

// Shared by the dedup streams of one sync.
struct DedupContext {
  config::CdcDeletionMode cdc_deletion_mode = config::CdcDeletionMode::hard_delete;
  std::size_t lanes = 1;
  SeenKeys* seen_keys = nullptr; // keys seen in this sync, of all streams; null: none kept
};

// The encoder of `plan`'s table layout; `columns` are the plan's with the types of its table.
std::unique_ptr<encode::RowEncoder> make_row_encoder(const catalog::StreamPlan& plan,
                                                     std::vector<schema::Column> columns);

// The loader for `plan`'s mode, writing into `tables` (prepared by prepare_stream_tables).
// `stream` is the plan's index in the catalog (it names helper tables). With `rejected_values`
// (prepare_rejected_values_table), the values its encoder NULLs or truncates are copied there.
std::unique_ptr<StreamLoader>
make_stream_loader(const catalog::StreamPlan& plan, StreamTables tables, std::size_t stream,
                   const DedupContext& dedup,
                   const std::optional<postgres::TableRef>& rejected_values);

} // namespace pgdest::load
