// The append loader: rows straight into the load target, chunk by chunk over the connections.
#include "pgdest/load/append_loader.hpp"

#include "pgdest/postgres/sql_builder.hpp"

namespace pgdest::load {

CopyTarget rows_target(const StreamTables& tables, const encode::RowEncoder& encoder) {
  const auto& target = tables.load_target();
  return {postgres::sql::copy_binary_from_stdin(target, encoder.copy_columns()), target.quoted(),
          /*prepare_sql=*/{}};
}

AppendLoader::AppendLoader(const catalog::StreamPlan& plan, StreamTables tables,
                           const std::optional<postgres::TableRef>& rejected_values)
    : plan_(&plan), tables_(std::move(tables)), encoder_(make_row_encoder(plan, tables_.columns)) {
  if (rejected_values)
    rejected_.emplace(*rejected_values, plan, tables_, lane_count());
}

std::vector<CopyTarget> AppendLoader::copy_targets() const {
  std::vector<CopyTarget> targets{rows_target(tables_, *encoder_)};
  if (rejected_)
    targets.push_back(rejected_->target());
  return targets;
}

AddedRecord AppendLoader::add_record(const encode::RecordEnvelope& envelope) {
  const std::size_t before = rows_.size();
  encoder_->finish(envelope, rows_);
  ++records_;
  AddedRecord added{0, rows_.size() - before, 1u << kRowsTarget};
  if (encoder_->has_rejected() && rejected_) {
    added.bytes += rejected_->add(*encoder_, added.lane);
    added.grown_targets |= 1u << kRejectedTarget;
  }
  return added;
}

} // namespace pgdest::load
