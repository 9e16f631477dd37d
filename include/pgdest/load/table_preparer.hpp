#pragma once
// Makes a stream's table ready before rows arrive: schema, table, missing columns, index; and
// tells which column types the rows must be encoded as.
#include <vector>

#include "pgdest/catalog/stream_plan.hpp"
#include "pgdest/postgres/pg_connection.hpp"
#include "pgdest/schema/column.hpp"

namespace pgdest::load {

struct PreparedTable {
  // The plan's columns with the types the table really has (an existing column keeps its type).
  std::vector<schema::Column> columns;
  bool created = false;
};

PreparedTable prepare_table(postgres::PgConnection& connection, const catalog::StreamPlan& plan);

} // namespace pgdest::load
