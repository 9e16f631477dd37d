// The catalog the encoding fuzz targets use: one column of every type, in three streams.
#include "every_type_catalog.hpp"

#include <utility>

namespace pgdest::fuzz {

std::vector<schema::Column> every_type_columns() {
  using schema::ColumnType;
  static const std::pair<ColumnType, const char*> kTypes[] = {
      {ColumnType::varchar, "varchar"},         {ColumnType::date, "date"},
      {ColumnType::timestamptz, "timestamptz"}, {ColumnType::timestamp, "timestamp"},
      {ColumnType::timetz, "timetz"},           {ColumnType::time, "time"},
      {ColumnType::bigint, "bigint"},           {ColumnType::numeric, "numeric"},
      {ColumnType::boolean, "boolean"},         {ColumnType::jsonb, "jsonb"}};
  std::vector<schema::Column> columns;
  for (const auto& [type, name] : kTypes)
    columns.push_back({name, name, type});
  return columns;
}

std::vector<catalog::StreamPlan> every_type_plans() {
  static const std::pair<const char*, const char*> kStreams[] = {
      {nullptr, "s"}, {"n", "s"}, {"n", "other"}};
  std::vector<catalog::StreamPlan> plans;
  for (const auto& [stream_namespace, name] : kStreams) {
    catalog::StreamPlan plan;
    if (stream_namespace != nullptr)
      plan.descriptor.stream_namespace = stream_namespace;
    plan.descriptor.name = name;
    plan.generation_id = 3;
    plan.sync_id = 7;
    plan.columns = every_type_columns();
    plans.push_back(std::move(plan));
  }
  return plans;
}

} // namespace pgdest::fuzz
