// Creates or adapts a stream's table: CREATE SCHEMA/TABLE, ADD COLUMN, the extracted_at index.
#include "pgdest/load/table_preparer.hpp"

#include <map>
#include <optional>

#include <fmt/format.h>

#include "pgdest/postgres/sql_builder.hpp"
#include "pgdest/schema/table_namer.hpp"

namespace pgdest::load {
namespace {

using schema::ColumnType;

// format_type() spellings of the types rows can be encoded as.
std::optional<ColumnType> column_type_from_sql(const std::string& sql_type) {
  auto starts = [&](const char* prefix) { return sql_type.rfind(prefix, 0) == 0; };
  if (sql_type == "text" || starts("character varying")) return ColumnType::varchar;
  if (sql_type == "date") return ColumnType::date;
  if (starts("timestamp") && sql_type.find("with time zone") != std::string::npos &&
      sql_type.find("without") == std::string::npos)
    return ColumnType::timestamptz;
  if (starts("timestamp")) return ColumnType::timestamp;
  if (starts("time") && sql_type.find("without") == std::string::npos) return ColumnType::timetz;
  if (starts("time")) return ColumnType::time;
  if (sql_type == "bigint") return ColumnType::bigint;
  if (sql_type == "numeric") return ColumnType::numeric;
  if (sql_type == "boolean") return ColumnType::boolean;
  if (sql_type == "jsonb") return ColumnType::jsonb;
  return std::nullopt;
}

} // namespace

PreparedTable prepare_table(postgres::PgConnection& connection, const catalog::StreamPlan& plan) {
  postgres::TableRef table{postgres::Identifier(plan.table_schema), postgres::Identifier(plan.table_name)};
  const std::string context = "preparing table " + table.quoted();
  PreparedTable prepared;
  prepared.columns = plan.columns;

  auto existing_rows = connection.query(postgres::sql::select_columns(), {plan.table_schema, plan.table_name}, context);
  if (existing_rows.empty()) {
    connection.execute(postgres::sql::create_schema(table.schema), "creating schema " + table.schema.quoted());
    connection.execute(postgres::sql::create_table(table, plan.columns), "creating table " + table.quoted());
    prepared.created = true;
  } else {
    std::map<std::string, std::string> existing;
    for (const auto& row : existing_rows) existing[row[0].value_or("")] = row[1].value_or("");
    std::string missing;
    for (const auto& meta : postgres::sql::meta_columns())
      if (existing.count(meta.name) == 0) missing += (missing.empty() ? "" : ", ") + std::string(meta.name);
    if (!missing.empty())
      throw ConfigError(fmt::format("Table {} exists but was not made by this destination (it has no {}). Rename or "
                                    "drop it, or sync this stream into another schema.",
                                    table.quoted(), missing));
    for (auto& column : prepared.columns) {
      auto found = existing.find(column.name);
      if (found == existing.end()) {
        connection.execute(postgres::sql::add_column(table, column), context);
        continue;
      }
      auto type = column_type_from_sql(found->second);
      if (!type)
        throw ConfigError(fmt::format("Column \"{}\" of table {} has type {}, which this destination cannot write. "
                                      "Change it to {} or drop it.",
                                      column.name, table.quoted(), found->second, schema::sql_type(column.type)));
      column.type = *type;
    }
  }

  // Any index led by _airbyte_extracted_at will do (an earlier connector may have named it differently).
  auto indexes = connection.query(postgres::sql::select_indexes_on_column(),
                                  {plan.table_schema, plan.table_name, "_airbyte_extracted_at"}, context);
  if (indexes.empty()) {
    postgres::Identifier index(schema::derived_name(plan.table_name, "_extracted_at_idx"));
    connection.execute(postgres::sql::create_index(index, table, {"_airbyte_extracted_at"}), context);
  }
  return prepared;
}

} // namespace pgdest::load
