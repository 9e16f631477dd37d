// Reads the configured catalog into stream plans: modes, keys, generations, columns, table names.
#include "pgdest/catalog/catalog_reader.hpp"

#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "pgdest/config/json_nesting.hpp"
#include "pgdest/error.hpp"
#include "pgdest/schema/column_mapper.hpp"
#include "pgdest/schema/table_namer.hpp"

namespace pgdest::catalog {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::size_t kMaxTableColumns = 1600; // PostgreSQL's MaxHeapAttributeNumber

std::int64_t integer_field(const Json& stream, const char* key, const std::string& who) {
  if (!stream.contains(key) || stream[key].is_null())
    return 0;
  if (!stream[key].is_number_integer())
    throw ConfigError(fmt::format("The catalog's stream {} has a non-integer \"{}\".", who, key));
  return stream[key].get<std::int64_t>();
}

// A primary key is a list of paths (["a"], ["b"]); only top-level fields can be keys here.
// Returns nullopt when a path is nested.
std::optional<std::vector<std::string>> key_columns(const Json& key) {
  std::vector<std::string> names;
  if (!key.is_array())
    return names;
  for (const auto& path : key) {
    if (!path.is_array() || path.size() != 1 || !path[0].is_string())
      return std::nullopt;
    names.push_back(path[0].get<std::string>());
  }
  return names;
}

// A cursor is one path (["updated_at"]); nullopt when it is nested.
std::optional<std::vector<std::string>> cursor_column(const Json& cursor) {
  if (!cursor.is_array() || cursor.empty())
    return std::vector<std::string>{};
  if (cursor.size() != 1 || !cursor[0].is_string())
    return std::nullopt;
  return std::vector<std::string>{cursor[0].get<std::string>()};
}

DestinationSyncMode sync_mode(const Json& stream, const std::string& who) {
  const auto found = stream.find("destination_sync_mode");
  if (found != stream.end() && !found->is_string() && !found->is_null())
    throw ConfigError(fmt::format("Stream {} has a \"destination_sync_mode\" that is not a string; "
                                  "use \"append\", \"overwrite\" or \"append_dedup\".",
                                  who));
  std::string mode =
      found == stream.end() || found->is_null() ? "append" : found->get<std::string>();
  if (mode == "append")
    return DestinationSyncMode::append;
  if (mode == "overwrite")
    return DestinationSyncMode::overwrite;
  if (mode == "append_dedup")
    return DestinationSyncMode::append_dedup;
  if (mode == "update" || mode == "soft_delete")
    throw ConfigError(fmt::format(
        "Stream {} asks for destination sync mode \"{}\", which this destination does not "
        "support. Choose append, overwrite or append_dedup.",
        who, mode));
  throw ConfigError(
      fmt::format("Stream {} has an unknown destination sync mode \"{}\".", who, mode));
}

StreamPlan read_stream(const Json& configured, schema::TableLayout layout) {
  if (!configured.is_object() || !configured.contains("stream") ||
      !configured["stream"].is_object())
    throw ConfigError("Every entry of the catalog's \"streams\" needs a \"stream\" object.");
  const Json& stream = configured["stream"];
  if (!stream.contains("name") || !stream["name"].is_string())
    throw ConfigError("A stream in the catalog has no \"name\".");
  StreamPlan plan;
  plan.descriptor.name = stream["name"].get<std::string>();
  if (stream.contains("namespace") && stream["namespace"].is_string())
    plan.descriptor.stream_namespace = stream["namespace"].get<std::string>();
  const std::string who = "\"" + plan.descriptor.display() + "\"";
  plan.requested_mode = plan.mode = sync_mode(configured, who);
  plan.layout = layout;
  plan.generation_id = integer_field(configured, "generation_id", who);
  plan.minimum_generation_id = integer_field(configured, "minimum_generation_id", who);
  plan.sync_id = integer_field(configured, "sync_id", who);
  if (plan.minimum_generation_id != 0 && plan.minimum_generation_id != plan.generation_id)
    throw ConfigError(fmt::format(
        "Stream {} has minimum_generation_id {} and generation_id {}: the minimum must be 0 "
        "(keep old rows) or equal to generation_id (replace them).",
        who, plan.minimum_generation_id, plan.generation_id));
  // A raw table holds each record whole, in _airbyte_data: no columns to type, nothing to key.
  if (layout == schema::TableLayout::raw) {
    if (plan.mode == DestinationSyncMode::append_dedup)
      plan.mode = DestinationSyncMode::append;
    return plan;
  }
  // Keys and cursors matter only for dedup; other modes ignore what they cannot use.
  auto key = key_columns(configured.value("primary_key", Json::array()));
  auto cursor = cursor_column(configured.value("cursor_field", Json::array()));
  if (plan.mode == DestinationSyncMode::append_dedup) {
    if (!key)
      throw ConfigError(fmt::format(
          "The primary key of stream {} must name top-level fields; nested paths are not "
          "supported.",
          who));
    if (!cursor)
      throw ConfigError(
          fmt::format("The cursor of stream {} must be a top-level field; nested paths are not "
                      "supported.",
                      who));
    if (key->empty())
      throw ConfigError(fmt::format("Stream {} uses append_dedup but has no primary key.", who));
  }
  if (key)
    plan.primary_key = *key;
  if (cursor)
    plan.cursor = *cursor;
  const Json empty_schema = Json::object();
  plan.columns =
      schema::map_columns(stream.contains("json_schema") ? stream["json_schema"] : empty_schema);
  // Checked here, before anything is created: PostgreSQL would refuse the table half-way.
  const std::size_t table_columns = plan.columns.size() + schema::airbyte_column_names.size();
  if (table_columns > kMaxTableColumns)
    throw ConfigError(fmt::format(
        "Stream {} has {} properties; with the {} _airbyte_* columns its table would have {} "
        "columns, more than PostgreSQL's limit of {}. Deselect fields of the stream so that it "
        "has at most {} properties.",
        who, plan.columns.size(), schema::airbyte_column_names.size(), table_columns,
        kMaxTableColumns, kMaxTableColumns - schema::airbyte_column_names.size()));
  if (plan.mode == DestinationSyncMode::append_dedup)
    for (const auto& part : plan.primary_key)
      if (!schema::find_column(plan.columns, part))
        throw ConfigError(fmt::format(
            "The primary key of stream {} names the field \"{}\", which is not a property of "
            "the stream's json_schema. Add the property to the schema or choose another "
            "primary key.",
            who, part));
  return plan;
}

} // namespace

const char* to_wire(DestinationSyncMode mode) {
  switch (mode) {
  case DestinationSyncMode::append:
    return "append";
  case DestinationSyncMode::overwrite:
    return "overwrite";
  case DestinationSyncMode::append_dedup:
    return "append_dedup";
  }
  return "append";
}

std::vector<StreamPlan> read_catalog(const Json& catalog, const schema::TableNaming& naming) {
  if (!catalog.is_object() || !catalog.contains("streams") || !catalog["streams"].is_array())
    throw ConfigError("The catalog must be a JSON object with a \"streams\" array.");
  const auto layout = naming.raw_schema ? schema::TableLayout::raw : schema::TableLayout::typed;
  std::vector<StreamPlan> plans;
  for (const auto& configured : catalog["streams"]) {
    auto plan = read_stream(configured, layout);
    for (const auto& other : plans)
      if (other.descriptor == plan.descriptor)
        throw ConfigError(
            fmt::format("The catalog lists stream \"{}\" twice.", plan.descriptor.display()));
    plans.push_back(std::move(plan));
  }
  std::vector<schema::StreamName> names;
  for (const auto& plan : plans)
    names.push_back({plan.descriptor.stream_namespace, plan.descriptor.name});
  auto tables = schema::resolve_table_names(names, naming);
  std::vector<bool> keeps_history;
  for (const auto& plan : plans)
    keeps_history.push_back(naming.history && plan.layout == schema::TableLayout::typed &&
                            plan.mode == DestinationSyncMode::append_dedup);
  auto history_tables = schema::resolve_history_names(tables, keeps_history);
  for (std::size_t i = 0; i < plans.size(); ++i) {
    plans[i].table_schema = tables[i].schema;
    plans[i].table_name = tables[i].table;
    plans[i].history_table = std::move(history_tables[i]);
  }
  return plans;
}

std::vector<StreamPlan> load_catalog_file(const std::string& path,
                                          const schema::TableNaming& naming) {
  std::ifstream in(path);
  if (!in)
    throw ConfigError(fmt::format("Cannot read the catalog file {}.", path));
  std::stringstream text;
  text << in.rdbuf();
  if (config::nests_deeper_than(text.str(), config::kMaxFileNesting))
    throw ConfigError(fmt::format(
        "The catalog file {} nests arrays and objects more than {} levels deep, which this "
        "destination does not read. Simplify the streams' json_schema.",
        path, config::kMaxFileNesting));
  Json catalog = Json::parse(text.str(), nullptr, false);
  if (catalog.is_discarded())
    throw ConfigError(fmt::format("The catalog file {} is not valid JSON.", path));
  return read_catalog(catalog, naming);
}

} // namespace pgdest::catalog
