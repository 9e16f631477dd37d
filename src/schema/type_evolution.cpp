// Type changes of existing columns: lossless conversions in place, otherwise keep the wider type.
#include "pgdest/schema/type_evolution.hpp"

namespace pgdest::schema {

std::optional<ColumnType> column_type_from_sql(std::string_view sql_type) {
  auto starts = [&](std::string_view prefix) { return sql_type.substr(0, prefix.size()) == prefix; };
  if (sql_type == "text" || starts("character varying")) return ColumnType::varchar;
  if (sql_type == "date") return ColumnType::date;
  if (starts("timestamp") && sql_type.find("without time zone") == std::string_view::npos) return ColumnType::timestamptz;
  if (starts("timestamp")) return ColumnType::timestamp;
  if (starts("time") && sql_type.find("without time zone") == std::string_view::npos) return ColumnType::timetz;
  if (starts("time")) return ColumnType::time;
  if (sql_type == "bigint") return ColumnType::bigint;
  if (starts("numeric")) return ColumnType::numeric;
  if (sql_type == "boolean") return ColumnType::boolean;
  if (sql_type == "jsonb") return ColumnType::jsonb;
  return std::nullopt;
}

TypeDecision decide_type_change(std::string_view existing_sql_type, ColumnType wanted, const std::string& quoted_column) {
  auto existing = column_type_from_sql(existing_sql_type);
  if (existing && *existing == wanted) return {TypeDecision::Action::keep, wanted, {}};
  // Every value has a text form and a JSON form: these conversions lose nothing.
  if (wanted == ColumnType::varchar) return {TypeDecision::Action::convert, wanted, quoted_column + "::text"};
  if (wanted == ColumnType::jsonb) return {TypeDecision::Action::convert, wanted, "to_jsonb(" + quoted_column + ")"};
  bool integer = existing_sql_type == "bigint" || existing_sql_type == "integer" || existing_sql_type == "smallint";
  if (integer && (wanted == ColumnType::numeric || wanted == ColumnType::bigint))
    return {TypeDecision::Action::convert, wanted, {}};
  if (existing_sql_type == "date" && (wanted == ColumnType::timestamp || wanted == ColumnType::timestamptz))
    return {TypeDecision::Action::convert, wanted, {}};
  // Anything else could lose values: the existing column stays and new values are stored in it.
  if (existing) return {TypeDecision::Action::keep, *existing, {}};
  return {TypeDecision::Action::unsupported, wanted, {}};
}

} // namespace pgdest::schema
