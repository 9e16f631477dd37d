#pragma once
// One stream's side of the load: its encoder, the rows encoded but not yet handed to the
// pipeline, and the pipeline target they go to.
#include <cstdint>
#include <string>

#include "pgdest/catalog/stream_plan.hpp"
#include "pgdest/encode/copy_buffer.hpp"
#include "pgdest/encode/record_encoder.hpp"

namespace pgdest::load {

struct StreamLoader {
  StreamLoader(const catalog::StreamPlan& stream_plan, std::vector<schema::Column> columns, std::size_t copy_target)
      : plan(&stream_plan), encoder(std::move(columns), stream_plan.generation_id, stream_plan.sync_id),
        target(copy_target) {}

  const catalog::StreamPlan* plan;
  encode::RecordEncoder encoder;
  encode::CopyBuffer rows;
  std::size_t target;
  std::uint64_t records = 0;
  bool complete = false;
};

} // namespace pgdest::load
