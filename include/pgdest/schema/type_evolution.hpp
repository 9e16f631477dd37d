#pragma once
// What to do when a column exists with another type than the catalog now asks for (SPEC §6):
// convert in place when no value can be lost, else keep the existing, wider column; when neither
// type holds the other's values, the column becomes jsonb (which holds both).
#include <optional>
#include <string>
#include <string_view>

#include "pgdest/schema/column.hpp"

namespace pgdest::schema {

// A column type as PostgreSQL's format_type() spells it, if rows can be encoded as it (types
// with a length, precision or scale limit are not: a value beyond it would fail the load).
std::optional<ColumnType> column_type_from_sql(std::string_view sql_type);

struct TypeDecision {
  enum class Action { keep, convert } action = Action::keep;
  ColumnType type = ColumnType::jsonb; // the type rows are encoded as afterwards
  std::string using_expression;        // for convert: how the old value becomes the new one
};

// `existing_sql_type` is what the table has, `wanted` what the catalog maps to; `column` is the
// quoted column name, for the USING expression.
TypeDecision decide_type_change(std::string_view existing_sql_type, ColumnType wanted,
                                const std::string& quoted_column);

} // namespace pgdest::schema
