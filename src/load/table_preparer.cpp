// Creates or adapts a stream's tables: CREATE SCHEMA/TABLE, the meta columns an older connector
// did not make, ADD COLUMN, type changes (under the views that read the column), indexes, and the
// staging table of a refresh (resumed when it holds rows of the same generation).
#include "pgdest/load/table_preparer.hpp"

#include <map>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pgdest/error.hpp"
#include "pgdest/postgres/dependent_views.hpp"
#include "pgdest/postgres/session.hpp"
#include "pgdest/postgres/sql_builder.hpp"
#include "pgdest/schema/table_namer.hpp"
#include "pgdest/schema/type_evolution.hpp"

namespace pgdest::load {
namespace {

using postgres::Identifier;
using postgres::TableRef;

std::map<std::string, std::string> existing_columns(postgres::Connection& connection,
                                                    const TableRef& table) {
  std::map<std::string, std::string> columns;
  for (const auto& row :
       connection.query(postgres::sql::select_columns(), {table.schema.name(), table.table.name()},
                        "reading the columns of " + table.quoted()))
    columns[row[0].value_or("")] = row[1].value_or("");
  return columns;
}

// Changes a column's type in one transaction, with the views that depend on it dropped before and
// created again after. Returns the failure, rolled back, when the change could not be made (a view
// that no longer fits the new type, a rule or policy on the column, ...); a lost connection or a
// deadlock is not a verdict on the column and is thrown, so that the sync fails as transient and
// the next attempt tries again.
std::optional<Error> convert_column(postgres::Connection& connection, const TableRef& table,
                                    const std::string& column, const schema::TypeDecision& change) {
  const std::string context = "changing the type of column \"" + column + "\" of " + table.quoted();
  // Converting dates and timestamps to timestamptz, text or JSON depends on the time zone, and so
  // do the constants in a saved view's definition.
  connection.execute(postgres::begin_transaction(), context);
  postgres::DependentViews views;
  try {
    views = postgres::DependentViews::save(connection, table, column);
    views.drop(connection);
    connection.execute(
        postgres::sql::alter_column_type(table, column, change.type, change.using_expression),
        context);
    views.recreate(connection);
  } catch (const Error& error) {
    connection.execute("ROLLBACK", context);
    if (error.failure_type() == FailureType::transient_error)
      throw;
    return error;
  }
  connection.execute("COMMIT", context);
  if (!views.empty())
    spdlog::info("Views that depend on column \"{}\" of {} were dropped for the change and "
                 "created again as they were: {}.",
                 column, table.quoted(), views.names());
  return std::nullopt;
}

// Brings an existing column to the wanted type if that loses nothing; returns the type it has
// after.
schema::ColumnType evolve_column(postgres::Connection& connection, const TableRef& table,
                                 const schema::Column& column, const std::string& existing_type) {
  auto decision =
      schema::decide_type_change(existing_type, column.type, Identifier(column.name).quoted());
  using Action = schema::TypeDecision::Action;
  if (decision.action == Action::convert) {
    auto failure = convert_column(connection, table, column.name, decision);
    if (!failure) {
      spdlog::info("Column \"{}\" of {} changed from {} to {}.", column.name, table.quoted(),
                   existing_type, schema::sql_type(decision.type));
      return decision.type;
    }
    // Keep the column as it is rather than fail, if rows can be written to it as it is.
    auto kept = schema::column_type_from_sql(existing_type);
    if (!kept)
      throw ConfigError(
          fmt::format("Column \"{}\" of table {} has type {}, which this destination cannot write, "
                      "and changing it to {} failed: {}",
                      column.name, table.quoted(), existing_type, schema::sql_type(decision.type),
                      failure->what()));
    spdlog::warn("Column \"{}\" of {} keeps its type {} ({}); new values are stored as that type.",
                 column.name, table.quoted(), existing_type, failure->what());
    return *kept;
  }
  if (decision.type != column.type)
    spdlog::info("Column \"{}\" of {} keeps its wider type {}; values are stored as that type.",
                 column.name, table.quoted(), existing_type);
  return decision.type;
}

// A table made before this sync as it is now: the plan's columns with the types rows must be
// encoded as, and whether meta columns had to be added (an older connector made it).
struct EnsuredTable {
  std::vector<schema::Column> columns;
  bool meta_columns_added = false;
};

// Adds the meta columns that Airbyte's 2.x connector did not make; refuses a table that has not
// even the columns every Airbyte table has. Returns whether it added any.
bool add_missing_meta_columns(postgres::Connection& connection, const TableRef& table,
                              schema::TableLayout layout,
                              const std::map<std::string, std::string>& existing) {
  std::string not_airbyte;
  std::vector<const postgres::sql::MetaColumn*> missing;
  for (const auto& meta : postgres::sql::layout_columns(layout)) {
    if (existing.count(meta.name) != 0)
      continue;
    if (meta.default_for_older_rows == nullptr)
      not_airbyte += (not_airbyte.empty() ? "" : ", ") + std::string(meta.name);
    else
      missing.push_back(&meta);
  }
  if (!not_airbyte.empty())
    throw ConfigError(fmt::format(
        "Table {} exists but was not made by this destination or Airbyte's (it has no {}). "
        "Rename or drop it, or sync this stream into another schema.",
        table.quoted(), not_airbyte));
  for (const auto* meta : missing) {
    connection.execute(postgres::sql::add_meta_column(table, *meta),
                       "adding column \"" + std::string(meta->name) + "\" to " + table.quoted());
    spdlog::info("Table {} was made by an older connector: added column \"{}\" ({}); the rows "
                 "already there read {}.",
                 table.quoted(), meta->name, meta->type, meta->default_for_older_rows);
  }
  return !missing.empty();
}

// Creates the table, or adds missing columns and adapts types.
EnsuredTable ensure_table(postgres::Connection& connection, const TableRef& table,
                          schema::TableLayout layout, std::vector<schema::Column> columns) {
  auto existing = existing_columns(connection, table);
  if (existing.empty()) {
    postgres::ensure_schema(connection, table.schema);
    connection.execute(postgres::sql::create_table(table, layout, columns),
                       "creating table " + table.quoted());
    spdlog::info("Created table {}.", table.quoted());
    return {std::move(columns), false};
  }
  const bool meta_columns_added = add_missing_meta_columns(connection, table, layout, existing);
  for (auto& column : columns) {
    auto found = existing.find(column.name);
    if (found == existing.end()) {
      connection.execute(postgres::sql::add_column(table, column),
                         "adding column \"" + column.name + "\" to " + table.quoted());
      spdlog::info("Added column \"{}\" ({}) to {}.", column.name, schema::sql_type(column.type),
                   table.quoted());
    } else {
      column.type = evolve_column(connection, table, column, found->second);
    }
  }
  return {std::move(columns), meta_columns_added};
}

void ensure_extracted_at_index(postgres::Connection& connection, const TableRef& table) {
  // Any index led by _airbyte_extracted_at will do (an earlier connector may have named it
  // differently).
  auto indexes =
      connection.query(postgres::sql::select_indexes_on_column(),
                       {table.schema.name(), table.table.name(), "_airbyte_extracted_at"},
                       "reading the indexes of " + table.quoted());
  if (!indexes.empty())
    return;
  Identifier index(
      schema::derived_name(table.table.name(), postgres::sql::kExtractedAtIndexSuffix));
  connection.execute(postgres::sql::create_index(index, table, {"_airbyte_extracted_at"}),
                     "creating an index on " + table.quoted());
}

// The dedup key index; rebuilt when the primary key changed.
void ensure_key_index(postgres::Connection& connection, const TableRef& table,
                      const std::vector<std::string>& key) {
  Identifier index(schema::derived_name(table.table.name(), postgres::sql::kKeyIndexSuffix));
  std::vector<std::string> indexed;
  for (const auto& row :
       connection.query(postgres::sql::select_index_columns(), {table.schema.name(), index.name()},
                        "reading the indexes of " + table.quoted()))
    indexed.push_back(row[0].value_or(""));
  if (indexed == key)
    return;
  if (!indexed.empty()) {
    connection.execute(postgres::sql::drop_index(table.schema, index),
                       "dropping the old key index of " + table.quoted());
    spdlog::info("The primary key of {} changed: rebuilding its key index.", table.quoted());
  }
  connection.execute(postgres::sql::create_index(index, table, key),
                     "creating the key index of " + table.quoted());
}

std::vector<std::string> column_names(const std::vector<std::string>& source_names,
                                      const std::vector<schema::Column>& columns) {
  std::vector<std::string> names;
  for (const auto& source : source_names)
    if (auto column = schema::find_column(columns, source))
      names.push_back(columns[*column].name);
  return names;
}

// The plan's column whose source name is `source`, with its type in `columns`.
std::optional<schema::Column> planned_column(const std::vector<schema::Column>& columns,
                                             const std::string& source) {
  if (auto column = schema::find_column(columns, source))
    return columns[*column];
  return std::nullopt;
}

bool has_rows(postgres::Connection& connection, const TableRef& table) {
  return !connection
              .query(postgres::sql::select_any_generation(table), {}, "reading " + table.quoted())
              .empty();
}

// Makes the history table of `target` ready: created or evolved with the target's columns, its
// key index, and, when it is empty while the target has rows (history mode turned on for a table
// that has rows, or a sync stopped between making the table and filling it), started from the
// target's rows: each is the current version of its key from then on.
void ensure_history(postgres::Connection& connection, const catalog::StreamPlan& plan,
                    const TableRef& target, const TableRef& history,
                    const std::vector<schema::Column>& columns,
                    const std::vector<std::string>& key) {
  auto cursor = plan.cursor.empty() ? std::nullopt : planned_column(columns, plan.cursor.front());
  auto history_columns = columns;
  for (auto& column :
       postgres::sql::history_columns(cursor ? cursor->type : schema::ColumnType::timestamptz))
    history_columns.push_back(std::move(column));
  ensure_table(connection, history, schema::TableLayout::typed, history_columns);
  ensure_key_index(connection, history, key);
  if (has_rows(connection, history) || !has_rows(connection, target))
    return;
  // No row counts as a deletion here: those the table keeps are its current rows.
  postgres::sql::HistorySpec spec{
      {target, Identifier(""), key, cursor ? cursor->name : "", ""}, history, {}};
  for (const auto& meta : postgres::sql::meta_columns())
    spec.columns.push_back(meta.name);
  for (const auto& column : columns)
    spec.columns.push_back(column.name);
  connection.execute(postgres::sql::start_history(spec),
                     "starting the history of " + target.quoted() + " in " + history.quoted());
  spdlog::info("History table {} starts from the rows {} holds now.", history.quoted(),
               target.quoted());
}

// History mode: the history of the final table, and for a refresh that of the staging table.
void prepare_history(postgres::Connection& connection, const catalog::StreamPlan& plan,
                     StreamTables& tables, const std::vector<std::string>& key) {
  tables.history = TableRef{Identifier(plan.table_schema), Identifier(plan.history_table)};
  ensure_history(connection, plan, tables.final_table, *tables.history, tables.columns, key);
  if (!tables.staging)
    return;
  // A refresh starts the history anew: the staging rows' history replaces the final one with
  // them. It is emptied with the staging table, and kept when the staging rows are resumed.
  tables.staging_history =
      TableRef{Identifier(plan.table_schema),
               Identifier(schema::derived_name(plan.history_table, "_airbyte_tmp"))};
  ensure_history(connection, plan, *tables.staging, *tables.staging_history, tables.columns, key);
  if (!tables.load_target_had_rows && has_rows(connection, *tables.staging_history))
    connection.execute(postgres::sql::truncate_table(*tables.staging_history),
                       "emptying the staging history table " + tables.staging_history->quoted());
}

} // namespace

TableRef staging_table_for(const catalog::StreamPlan& plan) {
  return {Identifier(plan.table_schema),
          Identifier(schema::derived_name(plan.table_name, "_airbyte_tmp"))};
}

StreamTables prepare_stream_tables(postgres::Connection& connection,
                                   const catalog::StreamPlan& plan) {
  StreamTables tables{{Identifier(plan.table_schema), Identifier(plan.table_name)},
                      std::nullopt,
                      {},
                      true,
                      std::nullopt,
                      std::nullopt};
  tables.columns = ensure_table(connection, tables.final_table, plan.layout, plan.columns).columns;
  ensure_extracted_at_index(connection, tables.final_table);

  if (plan.replaces_rows()) {
    auto staging = staging_table_for(plan);
    auto ensured = ensure_table(connection, staging, plan.layout, tables.columns);
    tables.columns = std::move(ensured.columns);
    auto generation = connection.query(postgres::sql::select_any_generation(staging), {},
                                       "reading the staging table " + staging.quoted());
    if (!generation.empty() &&
        (ensured.meta_columns_added ||
         generation[0][0].value_or("") != std::to_string(plan.generation_id))) {
      // Rows of an earlier refresh that never finished, or left by an older connector (Airbyte
      // 2.x named its staging tables the same way, and started them over at each sync): this
      // generation starts over.
      connection.execute(postgres::sql::truncate_table(staging),
                         "emptying the staging table " + staging.quoted());
      spdlog::info("Staging table {} held rows of {}; emptied for generation {}.", staging.quoted(),
                   ensured.meta_columns_added ? std::string("an older connector")
                                              : "generation " + generation[0][0].value_or(""),
                   plan.generation_id);
    } else if (!generation.empty()) {
      spdlog::info("Resuming the refresh of generation {} into staging table {}.",
                   plan.generation_id, staging.quoted());
    }
    tables.staging = staging;
  }

  if (plan.mode == catalog::DestinationSyncMode::append_dedup) {
    auto key = column_names(plan.primary_key, tables.columns);
    if (key.size() != plan.primary_key.size())
      throw ConfigError(
          fmt::format("The primary key of stream \"{}\" names a field that is not in its schema.",
                      plan.descriptor.display()));
    ensure_key_index(connection, tables.load_target(), key);
    tables.load_target_had_rows = has_rows(connection, tables.load_target());
    if (!plan.history_table.empty())
      prepare_history(connection, plan, tables, key);
  }
  return tables;
}

} // namespace pgdest::load
