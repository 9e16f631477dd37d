#pragma once
// append_dedup: rows go straight into the load target, spread over the lanes by key; the keys
// that may now have more than one row are copied to a temporary table of the transaction, and
// before each commit one DELETE keeps only the newest row per key (CDC deletions go too). In
// history mode, every version first goes to the history table, in the same transaction.
// A row that the next row of its lane supersedes (the same key again, as sources that repeat a
// record write it) is taken out of the buffer before it is sent: the DELETE would only drop it.
#include <optional>
#include <string>

#include "pgdest/encode/record_encoder.hpp"
#include "pgdest/load/rejected_values.hpp"
#include "pgdest/load/stream_loader.hpp"
#include "pgdest/postgres/sql_builder.hpp"

namespace pgdest::load {

class DedupLoader final : public StreamLoader {
public:
  DedupLoader(const catalog::StreamPlan& plan, StreamTables tables, std::size_t stream,
              const DedupContext& context,
              const std::optional<postgres::TableRef>& rejected_values);

  const catalog::StreamPlan& plan() const override { return *plan_; }
  const StreamTables& tables() const override { return tables_; }
  encode::RowEncoder& encoder() override { return encoder_; }
  bool rows_follow_keys() const override { return true; }
  std::size_t lane_count() const override { return rows_.size(); }
  std::vector<CopyTarget> copy_targets() const override;
  AddedRecord add_record(const encode::RecordEnvelope& envelope) override;
  encode::CopyBuffer& buffer(std::size_t lane, std::size_t target) override;
  CommitStatements commit_statements(std::size_t lane, const LogInsert& log) override;
  std::optional<Completion> completion() const override { return std::nullopt; }
  std::optional<std::string> statistics_statement() const override;
  std::uint64_t records() const override { return records_; }

  // Whether keys are looked up only when they repeat within the sync (the table was empty).
  bool looks_up_repeats_only() const { return looks_up_repeats_only_; }

private:
  static constexpr std::size_t kRowsTarget = 0;
  static constexpr std::size_t kKeysTarget = 1;
  static constexpr std::size_t kRejectedTarget = 2;

  // A lane's last row, while it is still the end of the lane's rows buffer (not yet sent).
  struct LastRow {
    std::size_t begin = 0;
    std::size_t end = 0; // the buffer's size right after the row; 0: no row
    std::string key;     // its key's binary COPY fields
    std::string cursor;  // its cursor's binary COPY field
    std::int64_t emitted_at_ms = 0;
    bool key_queued = false;
  };

  // With the record just written at `row_begin` of `lane`'s rows: takes the row before it out of
  // the buffer if this one supersedes it, and remembers this row as the lane's last. Returns
  // whether the record's key stays queued for the DELETE.
  bool withdraw_superseded(std::size_t lane, std::size_t row_begin, std::int64_t emitted_at_ms,
                           bool key_queued, AddedRecord& added);

  const catalog::StreamPlan* plan_;
  StreamTables tables_;
  encode::RecordEncoder encoder_;
  postgres::sql::DedupSpec spec_;
  std::vector<schema::Column> key_columns_; // with the types the keys are encoded as
  std::string delete_sql_;                  // without a sync log row
  std::string history_sql_;                 // history mode only
  std::optional<DedupKeys> keys_;
  bool looks_up_repeats_only_ = false;
  std::vector<encode::CopyBuffer> rows_;    // per lane
  std::vector<bool> keys_queued_;           // per lane: keys queued since its last commit
  std::optional<std::size_t> cursor_field_; // the encoder's column
  std::optional<schema::ColumnType> cursor_type_;
  std::vector<LastRow> last_rows_; // per lane
  std::string key_;                // the current record's key (scratch)
  std::optional<RejectedRows> rejected_;
  std::uint64_t records_ = 0;
};

} // namespace pgdest::load
