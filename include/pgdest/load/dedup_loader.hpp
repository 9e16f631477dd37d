#pragma once
// append_dedup: rows go straight into the load target, spread over the lanes by key; the keys
// that may now have more than one row are copied to a temporary table of the transaction, and
// before each commit one DELETE keeps only the newest row per key (CDC deletions go too). In
// history mode, every version first goes to the history table, in the same transaction.
#include <optional>

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

  const catalog::StreamPlan* plan_;
  StreamTables tables_;
  encode::RecordEncoder encoder_;
  postgres::sql::DedupSpec spec_;
  std::vector<schema::Column> key_columns_; // with the types the keys are encoded as
  std::string delete_sql_;                  // without a sync log row
  std::string history_sql_;                 // history mode only
  std::optional<DedupKeys> keys_;
  bool looks_up_repeats_only_ = false;
  std::vector<encode::CopyBuffer> rows_; // per lane
  std::vector<bool> keys_queued_;        // per lane: keys queued since its last commit
  std::optional<RejectedRows> rejected_;
  std::uint64_t records_ = 0;
};

} // namespace pgdest::load
