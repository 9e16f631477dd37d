// DDL spelling of column types.
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

} // namespace pgdest::schema
