// Configured catalog → stream plans, and the config errors an inconsistent catalog gets.
#include <catch2/catch.hpp>

#include "pgdest/catalog/catalog_reader.hpp"
#include "pgdest/error.hpp"

using namespace pgdest::catalog;
using Json = nlohmann::ordered_json;

namespace {

Json stream(const std::string& mode, long generation = 1, long minimum = 0) {
  auto configured = Json::parse(
      R"({"stream":{"name":"Users","namespace":"Sales Team","json_schema":{"type":"object",
     "properties":{"id":{"type":"integer"},"updated_at":{"type":"string","format":"date-time"}}}},
     "sync_mode":"incremental","primary_key":[["id"]],"cursor_field":["updated_at"],"sync_id":7})");
  configured["destination_sync_mode"] = mode;
  configured["generation_id"] = generation;
  configured["minimum_generation_id"] = minimum;
  return configured;
}

std::string error_of(const Json& catalog) {
  try {
    read_catalog(catalog, "public");
  } catch (const pgdest::ConfigError& error) {
    return error.what();
  }
  return "no error";
}

} // namespace

TEST_CASE("a configured stream becomes a plan", "[catalog]") {
  auto plans = read_catalog({{"streams", {stream("append_dedup", 3, 0)}}}, "public");
  REQUIRE(plans.size() == 1);
  const auto& plan = plans[0];
  CHECK(plan.descriptor.display() == "Sales Team.Users");
  CHECK(plan.mode == DestinationSyncMode::append_dedup);
  CHECK(plan.primary_key == std::vector<std::string>{"id"});
  CHECK(plan.cursor == std::vector<std::string>{"updated_at"});
  CHECK(plan.generation_id == 3);
  CHECK(plan.sync_id == 7);
  CHECK(plan.table_schema == "Sales_Team");
  CHECK(plan.table_name == "Users");
  REQUIRE(plan.columns.size() == 2);
  CHECK(plan.columns[0].name == "id");
  CHECK(plan.columns[1].type == pgdest::schema::ColumnType::timestamptz);
  CHECK_FALSE(plan.replaces_rows());
}

TEST_CASE("generation ids decide whether old rows stay", "[catalog]") {
  CHECK_FALSE(read_catalog({{"streams", {stream("append", 5, 0)}}}, "public")[0].replaces_rows());
  CHECK(read_catalog({{"streams", {stream("append", 5, 5)}}}, "public")[0].replaces_rows());
  CHECK(read_catalog({{"streams", {stream("overwrite", 5, 5)}}}, "public")[0].replaces_rows());
  CHECK(error_of({{"streams", {stream("append", 5, 3)}}}) ==
        "Stream \"Sales Team.Users\" has minimum_generation_id 3 and generation_id 5: the minimum "
        "must be 0 (keep "
        "old rows) or equal to generation_id (replace them).");
}

TEST_CASE("unsupported modes and broken catalogs are config errors", "[catalog]") {
  CHECK(error_of({{"streams", {stream("update")}}}) ==
        "Stream \"Sales Team.Users\" asks for destination sync mode \"update\", which this "
        "destination does not "
        "support. Choose append, overwrite or append_dedup.");
  CHECK(error_of({{"streams", {stream("soft_delete")}}}).find("\"soft_delete\"") !=
        std::string::npos);
  CHECK(error_of({{"streams", {stream("append"), stream("append")}}}) ==
        "The catalog lists stream \"Sales Team.Users\" twice.");
  CHECK(error_of(Json::object()) == "The catalog must be a JSON object with a \"streams\" array.");
  auto nested = stream("append_dedup");
  nested["primary_key"] = Json::parse(R"([["a","b"]])");
  CHECK(error_of({{"streams", {nested}}}) ==
        "The primary key of stream \"Sales Team.Users\" must name top-level fields; nested paths "
        "are not supported.");
  auto keyless = stream("append_dedup");
  keyless["primary_key"] = Json::array();
  CHECK(error_of({{"streams", {keyless}}}) ==
        "Stream \"Sales Team.Users\" uses append_dedup but has no primary key.");
}
