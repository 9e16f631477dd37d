// The append loader: rows straight into the load target, chunk by chunk over the connections.
#include "pgdest/load/append_loader.hpp"

#include "pgdest/postgres/sql_builder.hpp"

namespace pgdest::load {

CopyTarget rows_target(const StreamTables& tables, const encode::RowEncoder& encoder) {
  const auto& target = tables.load_target();
  return {postgres::sql::copy_binary_from_stdin(target, encoder.copy_columns()), target.quoted(),
          /*prepare_sql=*/{}};
}

AppendLoader::AppendLoader(const catalog::StreamPlan& plan, StreamTables tables)
    : plan_(&plan), tables_(std::move(tables)), encoder_(make_row_encoder(plan, tables_.columns)) {}

std::vector<CopyTarget> AppendLoader::copy_targets() const {
  return {rows_target(tables_, *encoder_)};
}

AddedRecord AppendLoader::add_record(const encode::RecordEnvelope& envelope) {
  const std::size_t before = rows_.size();
  encoder_->finish(envelope, rows_);
  ++records_;
  return {0, rows_.size() - before};
}

} // namespace pgdest::load
