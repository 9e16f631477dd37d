// The refresh loader: the mode's rows into staging, then staging takes the final table's place.
#include "pgdest/load/refresh_loader.hpp"

#include <fmt/format.h>

#include "pgdest/error.hpp"
#include "pgdest/postgres/sql_builder.hpp"
#include "pgdest/postgres/table_swap.hpp"

namespace pgdest::load {
namespace {

bool table_exists(postgres::Connection& connection, const postgres::TableRef& table) {
  const auto rows = connection.query("SELECT 1 WHERE pg_catalog.to_regclass($1) IS NULL",
                                     {table.quoted()}, "looking for " + table.quoted());
  return rows.empty();
}

// With the staging table gone, the replacement can only have been done already: by an earlier
// try whose COMMIT landed unseen. The final table then holds this generation's rows.
std::string settle_gone_staging(postgres::Connection& connection,
                                const postgres::TableRef& final_table,
                                const postgres::TableRef& staging, std::int64_t generation) {
  const auto rows = connection.query(postgres::sql::select_any_generation(final_table), {},
                                     "reading the generation of " + final_table.quoted());
  const std::string held = rows.empty() || rows[0].empty() ? "" : rows[0][0].value_or("");
  if (held != std::to_string(generation))
    throw SystemError(fmt::format(
        "The staging table {} is gone before its rows replaced those of {}, which holds {}, not "
        "generation {}: another process dropped it. Refresh the stream to load it again whole.",
        staging.quoted(), final_table.quoted(),
        held.empty() ? std::string("no rows") : "generation " + held, generation));
  return fmt::format("nothing left to do: {} is gone and {} already holds the rows of generation "
                     "{} (an earlier try's replacement committed)",
                     staging.quoted(), final_table.quoted(), generation);
}

} // namespace

RefreshLoader::RefreshLoader(std::unique_ptr<StreamLoader> rows) : rows_(std::move(rows)) {}

std::optional<Completion> RefreshLoader::completion() const {
  // One transaction: readers see the old rows until it commits, then the new ones. The staging
  // table takes the final table's place with everything users hang on it, or, when that cannot
  // be done safely or without waiting for a reader, its rows are copied into the final table.
  // History mode: the history starts anew with the new rows, the same way and in the same
  // transaction, so that the final table and its history never disagree.
  const auto final_table = tables().final_table;
  const auto staging = *tables().staging;
  const auto history = tables().history;
  const auto staging_history = tables().staging_history;
  const auto generation = plan().generation_id;
  auto columns = rows_->encoder().copy_columns();
  std::string description =
      "replacing the rows of " + final_table.quoted() + " with those of " + staging.quoted();
  if (history)
    description += ", and its history with that of " + staging_history->quoted();
  return Completion{
      description, [final_table, staging, history, staging_history, generation, columns](
                       postgres::Connection& connection, const std::vector<std::string>& also) {
        // `also` went with the earlier try's commit.
        if (!table_exists(connection, staging))
          return settle_gone_staging(connection, final_table, staging, generation);
        auto summary =
            postgres::replace_table_rows(connection, final_table, staging, columns).summary;
        if (history) {
          auto history_columns = columns;
          for (const auto& name : postgres::sql::history_column_names())
            history_columns.push_back(name);
          summary +=
              "; its history: " +
              postgres::replace_table_rows(connection, *history, *staging_history, history_columns)
                  .summary;
        }
        for (const auto& statement : also)
          connection.execute(statement, "finishing the refresh of " + final_table.quoted());
        return summary;
      }};
}

} // namespace pgdest::load
