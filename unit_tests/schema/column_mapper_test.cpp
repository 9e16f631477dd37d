// A stream's JSON schema → its user columns, with Airbyte's collision rule.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pgdest/error.hpp"
#include "pgdest/schema/column_mapper.hpp"

using pgdest::ConfigError;
using pgdest::schema::Column;
using pgdest::schema::ColumnType;
using pgdest::schema::map_columns;
using Json = nlohmann::ordered_json;

namespace {

// A schema whose properties are `names`, each a string.
Json schema_with(const std::vector<std::string>& names) {
  Json properties = Json::object();
  for (const auto& name : names)
    properties[name] = Json{{"type", "string"}};
  return Json{{"type", "object"}, {"properties", properties}};
}

std::vector<std::string> names_of(const std::vector<Column>& columns) {
  std::vector<std::string> names;
  for (const auto& column : columns)
    names.push_back(column.name);
  return names;
}

} // namespace

TEST_CASE("one column per property, in declared order, with its type and source name") {
  const auto columns = map_columns(Json::parse(R"({
    "type": "object",
    "properties": {
      "zeta": {"type": "integer"},
      "Alpha Beta": {"type": ["null", "string"], "format": "date-time"},
      "m": {"type": "object"}
    }})"));
  REQUIRE(columns.size() == 3);
  CHECK(columns[0].source_name == "zeta");
  CHECK(columns[0].name == "zeta");
  CHECK(columns[0].type == ColumnType::bigint);
  CHECK(columns[1].source_name == "Alpha Beta");
  CHECK(columns[1].name == "Alpha_Beta");
  CHECK(columns[1].type == ColumnType::timestamptz);
  CHECK(columns[2].source_name == "m");
  CHECK(columns[2].name == "m");
  CHECK(columns[2].type == ColumnType::jsonb);
}

TEST_CASE("no properties, no columns") {
  CHECK(map_columns(Json::parse(R"({"type": "object"})")).empty());
  CHECK(map_columns(Json::parse(R"({"type": "object", "properties": {}})")).empty());
  CHECK(map_columns(Json::parse(R"({"properties": []})")).empty());
  CHECK(map_columns(Json::object()).empty());
  CHECK(map_columns(Json::parse("null")).empty());
}

TEST_CASE("field names of Airbyte's edge_case_catalog.json") {
  CHECK(names_of(map_columns(
            schema_with({"fieldWithCamelCase", "field_with_underscore", "FIELD_WITH_ALL_CAPS"}))) ==
        std::vector<std::string>{"fieldWithCamelCase", "field_with_underscore",
                                 "FIELD_WITH_ALL_CAPS"});
  CHECK(names_of(map_columns(schema_with({"field_with_sp\xC3\xA9"
                                          "cial_character"}))) ==
        std::vector<std::string>{"field_with_special_character"});
  CHECK(names_of(map_columns(schema_with({"order", "authorization", "ProperCase"}))) ==
        std::vector<std::string>{"order", "authorization", "ProperCase"});
}

TEST_CASE("names that collide case-insensitively get _1, _2, ...") {
  CHECK(names_of(map_columns(schema_with({"id", "ID", "Id"}))) ==
        std::vector<std::string>{"id", "ID_1", "Id_2"});
  CHECK(names_of(map_columns(schema_with({"a-b", "a b", "a_b"}))) ==
        std::vector<std::string>{"a_b", "a_b_1", "a_b_2"});
  CHECK(names_of(map_columns(schema_with({"caf\xC3\xA9", "CAFE"}))) ==
        std::vector<std::string>{"cafe", "CAFE_1"});
}

TEST_CASE("a suffixed name that collides again takes the next number") {
  CHECK(names_of(map_columns(schema_with({"a", "A", "a_1"}))) ==
        std::vector<std::string>{"a", "A_1", "a_1_1"});
  CHECK(names_of(map_columns(schema_with({"a_1", "a", "A"}))) ==
        std::vector<std::string>{"a_1", "a", "A_2"});
}

TEST_CASE("the suffix goes on before truncation, so a long name gets a fresh hash") {
  // hashCode("x" × 70) → "34701312"; hashCode("X" × 70 + "_1") → "71206478".
  CHECK(names_of(map_columns(schema_with({std::string(70, 'x'), std::string(70, 'X')}))) ==
        std::vector<std::string>{std::string(54, 'x') + "_34701312",
                                 std::string(54, 'X') + "_71206478"});
}

TEST_CASE("when truncation eats the suffix, prefix + length + suffix of the name is used") {
  // hashCode(s) = -1009940345 and hashCode(s + "_1") = 109940345 share the last 8 characters,
  // so s_1 normalises to what s does and Airbyte's superResolveColumnCollisions takes over:
  // the first and last (63 - 5) / 2 = 29 characters around the length of the rest, 71 - 58.
  const std::string s = "super_resolve_" + std::string(50, 'q') + "idncvia";
  const std::string capitalised = "S" + s.substr(1);
  CHECK(names_of(map_columns(schema_with({capitalised, s}))) ==
        std::vector<std::string>{"Super_resolve_" + std::string(40, 'q') + "_82768231",
                                 "super_resolve_" + std::string(15, 'q') + "13" +
                                     std::string(22, 'q') + "idncvia"});
}

TEST_CASE("an unresolvable collision is a config error naming the column") {
  const std::string s = "super_resolve_" + std::string(50, 'q') + "idncvia";
  const std::string shortened =
      "super_resolve_" + std::string(15, 'q') + "13" + std::string(22, 'q') + "idncvia";
  CHECK_THROWS_AS(map_columns(schema_with({shortened, "S" + s.substr(1), s})), ConfigError);
  CHECK_THROWS_WITH(map_columns(schema_with({shortened, "S" + s.substr(1), s})),
                    "Cannot solve column name collision: " + s +
                        ". We recommend removing this column to continue syncing.");
}

TEST_CASE("properties named like the _airbyte_* columns are renamed") {
  CHECK(names_of(map_columns(schema_with({"_airbyte_raw_id", "_airbyte_extracted_at",
                                          "_airbyte_meta", "_airbyte_generation_id"}))) ==
        std::vector<std::string>{"_airbyte_raw_id_1", "_airbyte_extracted_at_1", "_airbyte_meta_1",
                                 "_airbyte_generation_id_1"});
  CHECK(names_of(map_columns(schema_with({"_AIRBYTE_META", "_airbyte meta"}))) ==
        std::vector<std::string>{"_AIRBYTE_META_1", "_airbyte_meta_2"});
  CHECK(names_of(map_columns(schema_with({"_airbyte_meta_1", "_airbyte_meta"}))) ==
        std::vector<std::string>{"_airbyte_meta_1", "_airbyte_meta_2"});
  CHECK(names_of(map_columns(schema_with({"_airbyte_data", "_airbyte_loaded_at"}))) ==
        std::vector<std::string>{"_airbyte_data", "_airbyte_loaded_at"});
}

TEST_CASE("SQL injection attempts become plain column names") {
  const auto columns = map_columns(schema_with({"x\"; DROP TABLE y; --", "a'b"}));
  REQUIRE(columns.size() == 2);
  CHECK(columns[0].name == "x___DROP_TABLE_y____");
  CHECK(columns[0].source_name == "x\"; DROP TABLE y; --");
  CHECK(columns[1].name == "a_b");
}

TEST_CASE("an empty property name gets a stable name") {
  CHECK(names_of(map_columns(schema_with({""}))) == std::vector<std::string>{"default_name_0"});
}
