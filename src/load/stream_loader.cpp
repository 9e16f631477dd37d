// Chooses a stream's loader from its plan, once.
#include "pgdest/load/stream_loader.hpp"

#include "pgdest/load/append_loader.hpp"
#include "pgdest/load/dedup_loader.hpp"
#include "pgdest/load/refresh_loader.hpp"

namespace pgdest::load {

std::unique_ptr<StreamLoader> make_stream_loader(const catalog::StreamPlan& plan,
                                                 StreamTables tables, std::size_t stream,
                                                 const DedupContext& dedup) {
  const bool refresh = tables.staging.has_value();
  std::unique_ptr<StreamLoader> rows;
  if (plan.mode == catalog::DestinationSyncMode::append_dedup)
    rows = std::make_unique<DedupLoader>(plan, std::move(tables), stream, dedup);
  else
    rows = std::make_unique<AppendLoader>(plan, std::move(tables));
  if (refresh)
    return std::make_unique<RefreshLoader>(std::move(rows));
  return rows;
}

} // namespace pgdest::load
