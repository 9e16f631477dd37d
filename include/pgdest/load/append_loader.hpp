#pragma once
// append (and the rows of a refresh, into its staging table): every record becomes a row of the
// load target; its chunks go to any connection, and each commit stands on its own.
#include <memory>
#include <optional>

#include "pgdest/load/rejected_values.hpp"
#include "pgdest/load/stream_loader.hpp"

namespace pgdest::load {

class AppendLoader final : public StreamLoader {
public:
  AppendLoader(const catalog::StreamPlan& plan, StreamTables tables,
               const std::optional<postgres::TableRef>& rejected_values);

  const catalog::StreamPlan& plan() const override { return *plan_; }
  const StreamTables& tables() const override { return tables_; }
  encode::RowEncoder& encoder() override { return *encoder_; }
  bool rows_follow_keys() const override { return false; }
  std::size_t lane_count() const override { return 1; }
  std::vector<CopyTarget> copy_targets() const override;
  AddedRecord add_record(const encode::RecordEnvelope& envelope) override;
  encode::CopyBuffer& buffer(std::size_t lane, std::size_t target) override {
    return target == kRejectedTarget ? rejected_->buffer(lane) : rows_;
  }
  CommitStatements commit_statements(std::size_t, const LogInsert&) override { return {}; }
  std::optional<Completion> completion() const override { return std::nullopt; }
  std::optional<std::string> statistics_statement() const override { return std::nullopt; }
  std::uint64_t records() const override { return records_; }

private:
  static constexpr std::size_t kRowsTarget = 0;
  static constexpr std::size_t kRejectedTarget = 1;

  const catalog::StreamPlan* plan_;
  StreamTables tables_;
  std::unique_ptr<encode::RowEncoder> encoder_; // of the plan's layout
  encode::CopyBuffer rows_;
  std::optional<RejectedRows> rejected_;
  std::uint64_t records_ = 0;
};

// The COPY target of a stream's rows in its load target.
CopyTarget rows_target(const StreamTables& tables, const encode::RowEncoder& encoder);

} // namespace pgdest::load
