// Chooses a stream's loader and encoder from its plan, once.
#include "pgdest/load/stream_loader.hpp"

#include "pgdest/encode/raw_record_encoder.hpp"
#include "pgdest/encode/record_encoder.hpp"
#include "pgdest/load/append_loader.hpp"
#include "pgdest/load/dedup_loader.hpp"
#include "pgdest/load/refresh_loader.hpp"

namespace pgdest::load {

std::unique_ptr<encode::RowEncoder> make_row_encoder(const catalog::StreamPlan& plan,
                                                     std::vector<schema::Column> columns) {
  if (plan.layout == schema::TableLayout::raw)
    return std::make_unique<encode::RawRecordEncoder>(plan.generation_id, plan.sync_id);
  return std::make_unique<encode::RecordEncoder>(std::move(columns), plan.generation_id,
                                                 plan.sync_id);
}

std::unique_ptr<StreamLoader>
make_stream_loader(const catalog::StreamPlan& plan, StreamTables tables, std::size_t stream,
                   const DedupContext& dedup,
                   const std::optional<postgres::TableRef>& rejected_values) {
  const bool refresh = tables.staging.has_value();
  std::unique_ptr<StreamLoader> rows;
  if (plan.mode == catalog::DestinationSyncMode::append_dedup)
    rows = std::make_unique<DedupLoader>(plan, std::move(tables), stream, dedup, rejected_values);
  else
    rows = std::make_unique<AppendLoader>(plan, std::move(tables), rejected_values);
  if (refresh)
    return std::make_unique<RefreshLoader>(std::move(rows));
  return rows;
}

} // namespace pgdest::load
