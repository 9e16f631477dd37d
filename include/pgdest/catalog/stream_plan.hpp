#pragma once
// What the write does for one configured stream: where its rows go and how.
#include <cstdint>
#include <string>
#include <vector>

#include "pgdest/protocol/stream_descriptor.hpp"
#include "pgdest/schema/column.hpp"

namespace pgdest::catalog {

enum class DestinationSyncMode { append, overwrite, append_dedup };

const char* to_wire(DestinationSyncMode mode);

struct StreamPlan {
  protocol::StreamDescriptor descriptor;
  DestinationSyncMode mode = DestinationSyncMode::append;
  std::vector<std::string> primary_key; // top-level property names
  std::vector<std::string> cursor;      // top-level property name, or empty
  std::int64_t generation_id = 0;
  std::int64_t minimum_generation_id = 0;
  std::int64_t sync_id = 0;
  std::vector<schema::Column> columns; // user columns in declared order
  std::string table_schema;            // normalised
  std::string table_name;              // normalised

  // Old rows are replaced when the stream completes (overwrite, or a truncate refresh).
  bool replaces_rows() const {
    return mode == DestinationSyncMode::overwrite ||
           (minimum_generation_id != 0 && minimum_generation_id == generation_id);
  }
};

} // namespace pgdest::catalog
