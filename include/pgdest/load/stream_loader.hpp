#pragma once
// One stream's side of the load: its encoder, the rows encoded but not yet handed to the
// pipeline, and the pipeline target they go to.
#include <cstdint>
#include <optional>
#include <string>

#include "pgdest/catalog/stream_plan.hpp"
#include "pgdest/encode/copy_buffer.hpp"
#include "pgdest/encode/record_encoder.hpp"
#include "pgdest/load/dedup_keys.hpp"
#include "pgdest/load/table_preparer.hpp"

namespace pgdest::load {

struct StreamLoader {
  StreamLoader(const catalog::StreamPlan& stream_plan, StreamTables stream_tables)
      : plan(&stream_plan), tables(std::move(stream_tables)),
        encoder(tables.columns, stream_plan.generation_id, stream_plan.sync_id) {}

  const catalog::StreamPlan* plan;
  StreamTables tables;
  encode::RecordEncoder encoder;
  encode::CopyBuffer rows; // encoded, not yet handed to the pipeline
  std::size_t target = 0;  // the pipeline's COPY target
  // append_dedup: the keys the commit's DELETE looks at, their COPY target, and that DELETE.
  std::optional<DedupKeys> dedup_keys;
  std::size_t keys_target = 0;
  std::string dedup_sql;
  bool keys_in_transaction = false; // keys went to the pipeline since the last commit
  std::uint64_t records = 0;
  bool complete = false;
};

} // namespace pgdest::load
