// The table of rejected values: made ready once per sync, then one COPY target per lane.
#include "pgdest/load/rejected_values.hpp"

#include <set>
#include <string>

#include <spdlog/spdlog.h>

#include "pgdest/error.hpp"
#include "pgdest/postgres/sql_builder.hpp"

namespace pgdest::load {
namespace {

using postgres::Identifier;
using postgres::TableRef;

std::set<std::string> existing_columns(postgres::Connection& connection, const TableRef& table) {
  std::set<std::string> columns;
  for (const auto& row :
       connection.query(postgres::sql::select_columns(), {table.schema.name(), table.table.name()},
                        "reading the columns of " + table.quoted()))
    columns.insert(row[0].value_or(""));
  return columns;
}

// Why rows cannot be copied into the table as it is, or nothing when they can.
std::optional<std::string> unusable(postgres::Connection& connection, const TableRef& table,
                                    const std::set<std::string>& columns) {
  std::string missing;
  for (const auto& column : postgres::sql::rejected_values_columns())
    if (columns.count(column.name) == 0)
      missing += (missing.empty() ? "" : ", ") + std::string(column.name);
  if (!missing.empty())
    return table.quoted() +
           " exists but is not this connector's table of rejected values (it has "
           "no " +
           missing + "). Rename or drop it to keep them";
  const auto may_insert = connection.query(postgres::sql::select_insert_privilege(),
                                           {table.schema.name(), table.table.name()},
                                           "reading the privileges on " + table.quoted());
  if (may_insert.empty() || may_insert[0].empty() || may_insert[0][0] != "t")
    return "the user may not insert into " + table.quoted() + ". GRANT INSERT ON " +
           table.quoted() + " TO the connector's user to keep them";
  return std::nullopt;
}

// The table's columns, once it exists.
std::set<std::string> ensure_table(postgres::Connection& connection, const TableRef& table) {
  auto columns = existing_columns(connection, table);
  if (!columns.empty())
    return columns;
  const Identifier index(std::string(kRejectedValuesTable) + "_raw_id_idx");
  try {
    connection.execute(postgres::sql::create_rejected_values_table(table, index),
                       "creating table " + table.quoted());
    spdlog::info("Created table {}.", table.quoted());
  } catch (const Error&) {
    // Another sync may have made it at the same moment; if not, the error stands.
    if (existing_columns(connection, table).empty())
      throw;
  }
  return existing_columns(connection, table);
}

} // namespace

std::optional<TableRef> prepare_rejected_values_table(postgres::Connection& connection,
                                                      const Identifier& schema) {
  const TableRef table{schema, Identifier(kRejectedValuesTable)};
  try {
    if (auto reason = unusable(connection, table, ensure_table(connection, table))) {
      spdlog::warn("Values the connector NULLs or truncates are not kept this sync: {}. They are "
                   "still listed in each row's _airbyte_meta.",
                   *reason);
      return std::nullopt;
    }
  } catch (const Error& error) {
    spdlog::warn("Values the connector NULLs or truncates are not kept this sync ({}). They are "
                 "still listed in each row's _airbyte_meta.",
                 error.what());
    return std::nullopt;
  }
  spdlog::info("Values the connector NULLs or truncates are kept, with their original text, in {}.",
               table.quoted());
  return table;
}

RejectedRows::RejectedRows(const TableRef& table, const catalog::StreamPlan& plan,
                           const StreamTables& tables, std::size_t lanes)
    : table_(table),
      encoder_({plan.descriptor.stream_namespace, plan.descriptor.name,
                tables.final_table.schema.name(), tables.final_table.table.name(), plan.sync_id}),
      buffers_(lanes) {}

CopyTarget RejectedRows::target() const {
  return {
      postgres::sql::copy_binary_from_stdin(table_, encode::RejectedValueEncoder::copy_columns()),
      table_.quoted(), /*prepare_sql=*/{}};
}

std::size_t RejectedRows::add(const encode::RowEncoder& encoder, std::size_t lane) {
  auto& rows = buffers_[lane];
  const std::size_t before = rows.size();
  encoder_.encode(encoder, rows);
  return rows.size() - before;
}

} // namespace pgdest::load
