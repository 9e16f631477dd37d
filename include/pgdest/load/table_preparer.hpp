#pragma once
// Makes a stream's tables ready before rows arrive: schema, final table, staging table for a
// refresh, new columns, type changes, indexes; and tells which types rows are encoded as.
#include <optional>
#include <vector>

#include "pgdest/catalog/stream_plan.hpp"
#include "pgdest/postgres/connection.hpp"
#include "pgdest/postgres/identifier.hpp"
#include "pgdest/schema/column.hpp"

namespace pgdest::load {

struct StreamTables {
  postgres::TableRef final_table;
  // For a refresh: where rows go until they replace the final table's rows.
  std::optional<postgres::TableRef> staging;
  // The plan's columns with the types rows must be encoded as (those of the table they go to).
  std::vector<schema::Column> columns;
  // Whether the load target held rows before this sync wrote any (known for append_dedup only).
  bool load_target_had_rows = true;
  // History mode: every version of every key of the final table, and for a refresh that of the
  // staging table, which replaces it with the staging rows.
  std::optional<postgres::TableRef> history;
  std::optional<postgres::TableRef> staging_history;

  // The table rows are copied into.
  const postgres::TableRef& load_target() const { return staging ? *staging : final_table; }
  // The history of the load target.
  const std::optional<postgres::TableRef>& history_target() const {
    return staging ? staging_history : history;
  }
};

StreamTables prepare_stream_tables(postgres::Connection& connection,
                                   const catalog::StreamPlan& plan);

// The name of a stream's staging table (same schema as the final table).
postgres::TableRef staging_table_for(const catalog::StreamPlan& plan);

} // namespace pgdest::load
