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
  // The mode the rows are loaded in.
  DestinationSyncMode mode = DestinationSyncMode::append;
  // The mode the catalog asked for; differs from `mode` when the layout cannot give it (a raw
  // table has no key columns: append_dedup is loaded as append, as Airbyte does).
  DestinationSyncMode requested_mode = DestinationSyncMode::append;
  schema::TableLayout layout = schema::TableLayout::typed;
  std::vector<std::string> primary_key; // top-level property names
  std::vector<std::string> cursor;      // top-level property name, or empty
  std::int64_t generation_id = 0;
  std::int64_t minimum_generation_id = 0;
  std::int64_t sync_id = 0;
  std::vector<schema::Column> columns; // user columns in declared order; none in a raw table
  std::string table_schema;            // normalised
  std::string table_name;              // normalised
  // History mode: the table of every version of every key (same schema); empty: none.
  std::string history_table;

  // Old rows are replaced when the stream completes (overwrite, or a truncate refresh).
  bool replaces_rows() const {
    return mode == DestinationSyncMode::overwrite ||
           (minimum_generation_id != 0 && minimum_generation_id == generation_id);
  }
};

} // namespace pgdest::catalog
