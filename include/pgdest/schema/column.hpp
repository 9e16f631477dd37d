#pragma once
// A destination column: its PostgreSQL type and the names on both sides.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgdest::schema {

// The column types a JSON schema property can map to (SPEC §4).
enum class ColumnType {
  varchar,
  date,
  timestamptz,
  timestamp,
  timetz,
  time,
  bigint,
  numeric,
  boolean,
  jsonb
};

// How a stream's records are laid out in its table.
enum class TableLayout {
  typed, // one column per top-level property of the stream's schema (SPEC §4)
  raw,   // Airbyte's legacy raw table: the record's whole `data` in `_airbyte_data` (SPEC §3)
};

// The type as written in DDL, e.g. "timestamp with time zone".
std::string_view sql_type(ColumnType type);

// One user column of a stream: `source_name` is the property name in the record's `data`,
// `name` the normalised, collision-free column name (unquoted).
struct Column {
  std::string source_name;
  std::string name;
  ColumnType type;
};

// The position of the column that holds `source_name`'s values, if any.
std::optional<std::size_t> find_column(const std::vector<Column>& columns,
                                       std::string_view source_name);

} // namespace pgdest::schema
