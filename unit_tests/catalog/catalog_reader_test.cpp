// Configured catalog → stream plans, and the config errors an inconsistent catalog gets.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>

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
    read_catalog(catalog, {"public"});
  } catch (const pgdest::ConfigError& error) {
    return error.what();
  }
  return "no error";
}

} // namespace

TEST_CASE("a configured stream becomes a plan", "[catalog]") {
  auto plans = read_catalog({{"streams", {stream("append_dedup", 3, 0)}}}, {"public"});
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
  CHECK_FALSE(read_catalog({{"streams", {stream("append", 5, 0)}}}, {"public"})[0].replaces_rows());
  CHECK(read_catalog({{"streams", {stream("append", 5, 5)}}}, {"public"})[0].replaces_rows());
  CHECK(read_catalog({{"streams", {stream("overwrite", 5, 5)}}}, {"public"})[0].replaces_rows());
  CHECK(error_of({{"streams", {stream("append", 5, 3)}}}) ==
        "Stream \"Sales Team.Users\" has minimum_generation_id 3 and generation_id 5: the minimum "
        "must be 0 (keep "
        "old rows) or equal to generation_id (replace them).");
}

TEST_CASE("a catalog from an older platform, without generations or sync id, reads them as 0",
          "[catalog]") {
  for (const char* mode : {"append", "overwrite", "append_dedup"}) {
    auto configured = stream(mode);
    configured.erase("generation_id");
    configured.erase("minimum_generation_id");
    configured.erase("sync_id");
    auto plans = read_catalog({{"streams", {configured}}}, {"public"});
    REQUIRE(plans.size() == 1);
    INFO(mode);
    CHECK(plans[0].generation_id == 0);
    CHECK(plans[0].minimum_generation_id == 0);
    CHECK(plans[0].sync_id == 0);
    CHECK(plans[0].replaces_rows() == (std::string(mode) == "overwrite"));
  }
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

namespace {

std::string load_error(const std::string& text) {
  const std::string path = "/tmp/pgdest-catalog-test-" + std::to_string(::getpid()) + ".json";
  {
    std::ofstream out(path);
    out << text;
  }
  std::string message = "no error";
  try {
    load_catalog_file(path, {"public"});
  } catch (const pgdest::ConfigError& error) {
    message = error.what();
  }
  std::remove(path.c_str());
  return message;
}

// A configured stream named `name` with `count` string properties.
Json wide_stream(const std::string& name, std::size_t count) {
  Json properties = Json::object();
  for (std::size_t i = 0; i < count; ++i)
    properties["p" + std::to_string(i)] = {{"type", "string"}};
  return {{"stream", {{"name", name}, {"json_schema", {{"properties", properties}}}}},
          {"destination_sync_mode", "append"}};
}

} // namespace

TEST_CASE("a catalog whose json_schema nests 50,000 levels is a config error, not a SIGSEGV",
          "[catalog]") {
  std::string deep;
  for (int i = 0; i < 50000; ++i)
    deep += R"({"anyOf":[)";
  deep += R"({"type":"string"})";
  for (int i = 0; i < 50000; ++i)
    deep += "]}";
  const std::string catalog =
      R"({"streams":[{"stream":{"name":"s","json_schema":{"properties":{"a":)" + deep +
      R"(}}},"destination_sync_mode":"append"}]})";
  CHECK_THAT(load_error(catalog),
             Catch::Matchers::EndsWith(
                 " nests arrays and objects more than 1000 levels deep, which this destination "
                 "does not read. Simplify the streams' json_schema."));
  // Brackets inside strings do not count.
  CHECK(load_error(R"({"streams":[{"stream":{"name":")" + std::string(5000, '[') +
                   R"(","json_schema":{}}}]})") == "no error");
}

TEST_CASE("more properties than PostgreSQL's 1,600 columns is a config error when the catalog is "
          "read (it failed with system_error after the schema was created)",
          "[catalog]") {
  CHECK(error_of({{"streams", {wide_stream("wide", 1597)}}}) ==
        "Stream \"wide\" has 1597 properties; with the 4 _airbyte_* columns its table would have "
        "1601 columns, more than PostgreSQL's limit of 1600. Deselect fields of the stream so that "
        "it has at most 1596 properties.");
  CHECK(read_catalog({{"streams", {wide_stream("fits", 1596)}}}, {"public"})[0].columns.size() ==
        1596);
}

TEST_CASE("a destination_sync_mode of the wrong JSON type is a config error naming the stream "
          "(it failed unexpectedly)",
          "[catalog]") {
  auto numbered = stream("append");
  numbered["destination_sync_mode"] = 1;
  CHECK(error_of({{"streams", {numbered}}}) ==
        "Stream \"Sales Team.Users\" has a \"destination_sync_mode\" that is not a string; use "
        "\"append\", \"overwrite\" or \"append_dedup\".");
  auto null_mode = stream("append");
  null_mode["destination_sync_mode"] = nullptr;
  CHECK(read_catalog({{"streams", {null_mode}}}, {"public"})[0].mode ==
        DestinationSyncMode::append);
}

TEST_CASE("a primary key field that is not in the schema is named when the catalog is read",
          "[catalog]") {
  auto missing = stream("append_dedup");
  missing["primary_key"] = Json::parse(R"([["id"],["tenant"]])");
  CHECK(error_of({{"streams", {missing}}}) ==
        "The primary key of stream \"Sales Team.Users\" names the field \"tenant\", which is not "
        "a property of the stream's json_schema. Add the property to the schema or choose another "
        "primary key.");
  // Other modes do not use the key.
  auto append = stream("append");
  append["primary_key"] = Json::parse(R"([["tenant"]])");
  CHECK(error_of({{"streams", {append}}}) == "no error");
}

TEST_CASE("a catalog of 1,000 streams loads quickly", "[catalog]") {
  Json streams = Json::array();
  for (int i = 0; i < 1000; ++i)
    streams.push_back(wide_stream("stream " + std::to_string(i), 20));
  const auto started = std::chrono::steady_clock::now();
  const auto plans = read_catalog({{"streams", streams}}, {"public"});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  REQUIRE(plans.size() == 1000);
  CHECK(plans[999].table_name == "stream_999");
  CHECK(seconds < 2.0);
}

TEST_CASE("streams whose names collide after normalisation get distinct, stable tables",
          "[catalog]") {
  const Json catalog = {
      {"streams", {wide_stream("a-b", 1), wide_stream("a b", 1), wide_stream("A_B", 1)}}};
  const auto first = read_catalog(catalog, {"public"});
  const auto again = read_catalog(catalog, {"public"});
  REQUIRE(first.size() == 3);
  CHECK(first[0].table_name != first[1].table_name);
  CHECK(first[1].table_name != first[2].table_name);
  CHECK(first[0].table_name != first[2].table_name);
  for (std::size_t i = 0; i < first.size(); ++i)
    CHECK(first[i].table_name == again[i].table_name);
}

TEST_CASE("in raw tables mode a stream has the raw layout, its raw table and no columns",
          "[catalog][raw]") {
  const pgdest::schema::TableNaming raw{"public", std::string("airbyte_internal")};
  auto plans = read_catalog({{"streams", {stream("append", 3, 0)}}}, raw);
  REQUIRE(plans.size() == 1);
  CHECK(plans[0].layout == pgdest::schema::TableLayout::raw);
  CHECK(plans[0].table_schema == "airbyte_internal");
  CHECK(plans[0].table_name == "sales_team_raw__stream_users");
  CHECK(plans[0].columns.empty());
  CHECK(plans[0].generation_id == 3);
  CHECK(plans[0].sync_id == 7);
  CHECK(read_catalog({{"streams", {stream("append")}}}, {"public"})[0].layout ==
        pgdest::schema::TableLayout::typed);
}

TEST_CASE("in raw tables mode append_dedup is loaded as append, and refreshes stay refreshes",
          "[catalog][raw]") {
  const pgdest::schema::TableNaming raw{"public", std::string("airbyte_internal")};
  const auto dedup = read_catalog({{"streams", {stream("append_dedup")}}}, raw)[0];
  CHECK(dedup.mode == DestinationSyncMode::append);
  CHECK(dedup.requested_mode == DestinationSyncMode::append_dedup);
  const auto dedup_refresh = read_catalog({{"streams", {stream("append_dedup", 4, 4)}}}, raw)[0];
  CHECK(dedup_refresh.mode == DestinationSyncMode::append);
  CHECK(dedup_refresh.replaces_rows());
  const auto overwrite = read_catalog({{"streams", {stream("overwrite", 4, 4)}}}, raw)[0];
  CHECK(overwrite.mode == DestinationSyncMode::overwrite);
  CHECK(overwrite.requested_mode == DestinationSyncMode::overwrite);
  CHECK(overwrite.replaces_rows());
}

TEST_CASE("in raw tables mode the schema's columns and keys are not held against the stream",
          "[catalog][raw]") {
  const pgdest::schema::TableNaming raw{"public", std::string("airbyte_internal")};
  // Typed, each is a config error; a raw table has no columns to make of them.
  auto nested_key = stream("append_dedup");
  nested_key["primary_key"] = Json::parse(R"([["address","city"]])");
  auto missing_key = stream("append_dedup");
  missing_key["primary_key"] = Json::parse(R"([["tenant"]])");
  CHECK(error_of({{"streams", {wide_stream("wide", 1597)}}}) != "no error");
  CHECK(read_catalog({{"streams", {wide_stream("wide", 1597), nested_key}}}, raw).size() == 2);
  CHECK(read_catalog({{"streams", {missing_key}}}, raw)[0].mode == DestinationSyncMode::append);
  // What the catalog itself gets wrong still is an error.
  auto bad_generation = stream("append", 5, 3);
  CHECK_THROWS_AS(read_catalog({{"streams", {bad_generation}}}, raw), pgdest::ConfigError);
  CHECK_THROWS_AS(read_catalog({{"streams", {stream("update")}}}, raw), pgdest::ConfigError);
}

TEST_CASE("history mode gives typed append_dedup streams a history table, and no other",
          "[catalog][history]") {
  const pgdest::schema::TableNaming history{"public", std::nullopt, true};
  auto other = stream("append");
  other["stream"]["name"] = "Users_scd";
  auto plans = read_catalog({{"streams", {stream("append_dedup"), other}}}, history);
  REQUIRE(plans.size() == 2);
  // The stream "Users_scd" has that table: the history table takes a hashed name instead.
  CHECK(plans[0].history_table.rfind("Users_", 0) == 0);
  CHECK(plans[0].history_table.size() == std::string("Users_123_scd").size());
  CHECK(plans[1].table_name == "Users_scd");
  CHECK(plans[1].history_table.empty());
  CHECK(read_catalog({{"streams", {stream("append_dedup")}}}, history)[0].history_table ==
        "Users_scd");
  // Off by default, and nothing in raw tables mode (append_dedup is appended there).
  CHECK(read_catalog({{"streams", {stream("append_dedup")}}}, {"public"})[0].history_table.empty());
  const pgdest::schema::TableNaming raw_history{"public", std::string("airbyte_internal"), true};
  CHECK(
      read_catalog({{"streams", {stream("append_dedup")}}}, raw_history)[0].history_table.empty());
}
