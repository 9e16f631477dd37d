#pragma once
// Values the connector NULLs or truncates, kept with their original text in one table of the
// internal schema, `_airbyte_rejected_values`. A record's rejected values are copied on the lane
// of its row, so the transaction that commits the row commits them (and a replayed transaction
// sends both again).
#include <cstddef>
#include <optional>
#include <vector>

#include "pgdest/catalog/stream_plan.hpp"
#include "pgdest/encode/copy_buffer.hpp"
#include "pgdest/encode/rejected_value_encoder.hpp"
#include "pgdest/encode/row_encoder.hpp"
#include "pgdest/load/stream_loader.hpp"
#include "pgdest/load/table_preparer.hpp"
#include "pgdest/postgres/connection.hpp"
#include "pgdest/postgres/identifier.hpp"

namespace pgdest::load {

inline constexpr const char* kRejectedValuesTable = "_airbyte_rejected_values";

// Makes the table ready in `schema`: creates it with its index unless it exists, and makes sure
// that rows can be copied into it. None when they cannot, with a WARN that says why and what
// would allow it: keeping rejected values never makes a sync fail.
std::optional<postgres::TableRef> prepare_rejected_values_table(postgres::Connection& connection,
                                                                const postgres::Identifier& schema);

// One stream's rows of the table, in a buffer per lane.
class RejectedRows {
public:
  RejectedRows(const postgres::TableRef& table, const catalog::StreamPlan& plan,
               const StreamTables& tables, std::size_t lanes);

  CopyTarget target() const;
  // After `encoder` finished a record that has_rejected(), whose row went to `lane`: the rows of
  // its rejected values on that lane. Returns the bytes added.
  std::size_t add(const encode::RowEncoder& encoder, std::size_t lane);
  encode::CopyBuffer& buffer(std::size_t lane) { return buffers_[lane]; }

private:
  postgres::TableRef table_;
  encode::RejectedValueEncoder encoder_;
  std::vector<encode::CopyBuffer> buffers_;
};

} // namespace pgdest::load
