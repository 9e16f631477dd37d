// DDL spelling of column types, and finding a property's column.
#include "pgdest/schema/column.hpp"

namespace pgdest::schema {

std::string_view sql_type(ColumnType type) {
  switch (type) {
  case ColumnType::varchar:
    return "character varying";
  case ColumnType::date:
    return "date";
  case ColumnType::timestamptz:
    return "timestamp with time zone";
  case ColumnType::timestamp:
    return "timestamp without time zone";
  case ColumnType::timetz:
    return "time with time zone";
  case ColumnType::time:
    return "time without time zone";
  case ColumnType::bigint:
    return "bigint";
  case ColumnType::numeric:
    return "numeric";
  case ColumnType::boolean:
    return "boolean";
  case ColumnType::jsonb:
    return "jsonb";
  }
  return "jsonb";
}

std::optional<std::size_t> find_column(const std::vector<Column>& columns,
                                       std::string_view source_name) {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i].source_name == source_name)
      return i;
  return std::nullopt;
}

} // namespace pgdest::schema
