// Type changes of existing columns: lossless conversions in place, otherwise keep the wider type.
#include "pgdest/schema/type_evolution.hpp"

namespace pgdest::schema {
namespace {

// "numeric(38,9)" → "numeric", "timestamp(3) with time zone" → "timestamp with time zone".
std::string without_modifier(std::string_view sql_type, bool& had_modifier) {
  auto open = sql_type.find('(');
  had_modifier = open != std::string_view::npos;
  if (!had_modifier)
    return std::string(sql_type);
  auto close = sql_type.find(')', open);
  std::string base(sql_type.substr(0, open));
  if (close != std::string_view::npos)
    base += sql_type.substr(close + 1);
  return base;
}

// Whether every value of `wanted` can be stored in a column of type `existing` as it is.
bool holds(ColumnType existing, ColumnType wanted) {
  if (existing == wanted)
    return true;
  switch (existing) {
  case ColumnType::varchar:
  case ColumnType::jsonb:
    return true;
  case ColumnType::numeric:
    return wanted == ColumnType::bigint;
  case ColumnType::timestamptz:
    return wanted == ColumnType::date || wanted == ColumnType::timestamp;
  case ColumnType::timestamp:
    return wanted == ColumnType::date;
  case ColumnType::timetz:
    return wanted == ColumnType::time;
  default:
    return false;
  }
}

} // namespace

std::optional<ColumnType> column_type_from_sql(std::string_view sql_type) {
  if (sql_type == "text" || sql_type == "character varying")
    return ColumnType::varchar;
  if (sql_type == "date")
    return ColumnType::date;
  if (sql_type == "timestamp with time zone")
    return ColumnType::timestamptz;
  if (sql_type == "timestamp without time zone")
    return ColumnType::timestamp;
  if (sql_type == "time with time zone")
    return ColumnType::timetz;
  if (sql_type == "time without time zone")
    return ColumnType::time;
  if (sql_type == "bigint")
    return ColumnType::bigint;
  if (sql_type == "numeric")
    return ColumnType::numeric;
  if (sql_type == "boolean")
    return ColumnType::boolean;
  if (sql_type == "jsonb")
    return ColumnType::jsonb;
  return std::nullopt;
}

TypeDecision decide_type_change(std::string_view existing_sql_type, ColumnType wanted,
                                const std::string& quoted_column) {
  using Action = TypeDecision::Action;
  auto existing = column_type_from_sql(existing_sql_type);
  if (existing && *existing == wanted)
    return {Action::keep, wanted, {}};
  // Every value has a text form and a JSON form: these conversions lose nothing.
  if (wanted == ColumnType::varchar)
    return {Action::convert, wanted, quoted_column + "::text"};
  if (wanted == ColumnType::jsonb)
    return {Action::convert, wanted, "to_jsonb(" + quoted_column + ")"};
  bool integer = existing_sql_type == "bigint" || existing_sql_type == "integer" ||
                 existing_sql_type == "smallint";
  if (integer && (wanted == ColumnType::numeric || wanted == ColumnType::bigint))
    return {Action::convert, wanted, {}};
  if (existing_sql_type == "date" &&
      (wanted == ColumnType::timestamp || wanted == ColumnType::timestamptz))
    return {Action::convert, wanted, {}};
  // A wider existing column stays; a length, precision or scale limit on it is lifted, since a
  // value beyond it would fail the whole load.
  bool had_modifier = false;
  auto base = column_type_from_sql(without_modifier(existing_sql_type, had_modifier));
  if (base && holds(*base, wanted)) {
    if (had_modifier)
      return {Action::convert, *base, {}};
    return {Action::keep, *base, {}};
  }
  // Neither type holds the other's values: jsonb holds both.
  return {Action::convert, ColumnType::jsonb, "to_jsonb(" + quoted_column + ")"};
}

} // namespace pgdest::schema
