// The refresh loader: the mode's rows into staging, then staging takes the final table's place.
#include "pgdest/load/refresh_loader.hpp"

#include "pgdest/postgres/table_swap.hpp"

namespace pgdest::load {

RefreshLoader::RefreshLoader(std::unique_ptr<StreamLoader> rows) : rows_(std::move(rows)) {}

std::optional<Completion> RefreshLoader::completion() const {
  // One transaction: readers see the old rows until it commits, then the new ones. The staging
  // table takes the final table's place with everything users hang on it, or, when that cannot
  // be done safely or without waiting for a reader, its rows are copied into the final table.
  const auto final_table = tables().final_table;
  const auto staging = *tables().staging;
  auto columns = rows_->encoder().copy_columns();
  return Completion{
      "replacing the rows of " + final_table.quoted() + " with those of " + staging.quoted(),
      [final_table, staging, columns](postgres::Connection& connection,
                                      const std::vector<std::string>& also) {
        return postgres::replace_table_rows(connection, final_table, staging, columns, also)
            .summary;
      }};
}

} // namespace pgdest::load
