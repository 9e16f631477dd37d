#pragma once
// A refresh (overwrite, or a truncate refresh of any mode): the mode's own loader writes into
// the staging table; once the stream is complete, the staging rows replace the final table's.
#include <memory>

#include "pgdest/load/stream_loader.hpp"

namespace pgdest::load {

class RefreshLoader final : public StreamLoader {
public:
  // `rows` is the mode's loader, writing into the staging table of its tables.
  explicit RefreshLoader(std::unique_ptr<StreamLoader> rows);

  const catalog::StreamPlan& plan() const override { return rows_->plan(); }
  const StreamTables& tables() const override { return rows_->tables(); }
  encode::RowEncoder& encoder() override { return rows_->encoder(); }
  bool rows_follow_keys() const override { return rows_->rows_follow_keys(); }
  std::size_t lane_count() const override { return rows_->lane_count(); }
  std::vector<CopyTarget> copy_targets() const override { return rows_->copy_targets(); }
  AddedRecord add_record(const encode::RecordEnvelope& envelope) override {
    return rows_->add_record(envelope);
  }
  encode::CopyBuffer& buffer(std::size_t lane, std::size_t target) override {
    return rows_->buffer(lane, target);
  }
  CommitStatements commit_statements(std::size_t lane, const LogInsert& log) override {
    return rows_->commit_statements(lane, log);
  }
  std::optional<Completion> completion() const override;
  std::optional<std::string> statistics_statement() const override {
    return rows_->statistics_statement();
  }
  std::uint64_t records() const override { return rows_->records(); }

private:
  std::unique_ptr<StreamLoader> rows_;
};

} // namespace pgdest::load
