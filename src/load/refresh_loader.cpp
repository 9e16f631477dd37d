// The refresh loader: the mode's rows into staging, then the swap into the final table.
#include "pgdest/load/refresh_loader.hpp"

#include "pgdest/postgres/sql_builder.hpp"

namespace pgdest::load {

RefreshLoader::RefreshLoader(std::unique_ptr<StreamLoader> rows) : rows_(std::move(rows)) {}

std::optional<Completion> RefreshLoader::completion() const {
  // One transaction: readers see the old rows until it commits, then the new ones. The final
  // table itself stays, and with it its views, grants, comments and owner. DELETE rather than
  // TRUNCATE: readers never wait for the swap, and a snapshot from before it (a long report,
  // pg_dump) keeps seeing the old rows instead of an empty table.
  const auto& final_table = tables().final_table;
  const auto& staging = *tables().staging;
  auto& encoder = rows_->encoder();
  return Completion{"replacing the rows of " + final_table.quoted() + " with those of " +
                        staging.quoted(),
                    {postgres::sql::delete_all_rows(final_table),
                     postgres::sql::insert_select(final_table, staging, encoder.copy_columns()),
                     postgres::sql::drop_table(staging)}};
}

} // namespace pgdest::load
