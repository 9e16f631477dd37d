#pragma once
// One stream's side of the load: its encoder, and per connection it uses (lane) the rows encoded
// but not yet handed to that connection's pipeline and the COPY targets they go to.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pgdest/catalog/stream_plan.hpp"
#include "pgdest/encode/copy_buffer.hpp"
#include "pgdest/encode/record_encoder.hpp"
#include "pgdest/load/dedup_keys.hpp"
#include "pgdest/load/table_preparer.hpp"
#include "pgdest/postgres/sql_builder.hpp"

namespace pgdest::load {

// A stream's share of one connection: the rows encoded for it and not yet handed to its pipeline.
struct StreamLane {
  encode::CopyBuffer rows;
  std::size_t target = 0;           // the pipeline's COPY target for the rows
  std::size_t keys_target = 0;      // append_dedup: the COPY target for the keys
  bool keys_in_transaction = false; // append_dedup: keys went to the pipeline since the commit
};

struct StreamLoader {
  StreamLoader(const catalog::StreamPlan& stream_plan, StreamTables stream_tables)
      : plan(&stream_plan), tables(std::move(stream_tables)),
        encoder(tables.columns, stream_plan.generation_id, stream_plan.sync_id), lanes(1) {}

  const catalog::StreamPlan* plan;
  StreamTables tables;
  encode::RecordEncoder encoder;
  // One per connection the stream's rows go through: append_dedup streams spread theirs over all
  // connections by key (DedupKeys picks the lane), others use the first.
  std::vector<StreamLane> lanes;
  // append_dedup: what the commit's DELETE works on, the keys it looks at, and its text.
  std::optional<postgres::sql::DedupSpec> dedup;
  std::optional<DedupKeys> dedup_keys;
  std::string dedup_sql;
  std::uint64_t records = 0;
  bool complete = false;
};

} // namespace pgdest::load
