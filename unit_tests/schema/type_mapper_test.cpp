// JSON schema → column type, row by row of SPEC §4 and Airbyte's JsonSchemaToAirbyteType.
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "pgdest/schema/type_mapper.hpp"

using pgdest::schema::ColumnType;
using pgdest::schema::map_property_type;

namespace {

ColumnType type_of(const char* schema) {
  return map_property_type(nlohmann::ordered_json::parse(schema));
}

} // namespace

TEST_CASE("SPEC §4 type table") {
  CHECK(type_of(R"({"type": "string"})") == ColumnType::varchar);
  CHECK(type_of(R"({"type": "string", "format": "date"})") == ColumnType::date);
  CHECK(type_of(R"({"type": "string", "format": "date-time"})") == ColumnType::timestamptz);
  CHECK(type_of(R"({"type": "string", "format": "date-time",
                    "airbyte_type": "timestamp_with_timezone"})") == ColumnType::timestamptz);
  CHECK(type_of(R"({"type": "string", "format": "date-time",
                    "airbyte_type": "timestamp_without_timezone"})") == ColumnType::timestamp);
  CHECK(type_of(R"({"type": "string", "format": "time"})") == ColumnType::timetz);
  CHECK(type_of(R"({"type": "string", "format": "time",
                    "airbyte_type": "time_with_timezone"})") == ColumnType::timetz);
  CHECK(type_of(R"({"type": "string", "format": "time",
                    "airbyte_type": "time_without_timezone"})") == ColumnType::time);
  CHECK(type_of(R"({"type": "integer"})") == ColumnType::bigint);
  CHECK(type_of(R"({"type": "number", "airbyte_type": "integer"})") == ColumnType::bigint);
  CHECK(type_of(R"({"type": "number"})") == ColumnType::numeric);
  CHECK(type_of(R"({"type": "boolean"})") == ColumnType::boolean);
  CHECK(type_of(R"({"type": "object", "properties": {"a": {"type": "string"}}})") ==
        ColumnType::jsonb);
  CHECK(type_of(R"({"type": "object"})") == ColumnType::jsonb);
  CHECK(type_of(R"({"type": "array", "items": {"type": "integer"}})") == ColumnType::jsonb);
  CHECK(type_of(R"({"type": "array"})") == ColumnType::jsonb);
  CHECK(type_of(R"({})") == ColumnType::jsonb);
  CHECK(type_of(R"({"description": "no type"})") == ColumnType::jsonb);
  CHECK(type_of(R"({"type": "geography"})") == ColumnType::jsonb);
}

TEST_CASE("string details that do not change the type") {
  CHECK(type_of(R"({"type": "string", "format": "email"})") == ColumnType::varchar);
  CHECK(type_of(R"({"type": "string", "contentEncoding": "base64"})") == ColumnType::varchar);
  CHECK(type_of(R"({"type": "string", "airbyte_type": "timestamp_without_timezone"})") ==
        ColumnType::varchar);
  CHECK(type_of(R"({"type": "string", "format": 5})") == ColumnType::varchar);
  CHECK(type_of(R"({"type": "integer", "airbyte_type": "big_integer"})") == ColumnType::bigint);
  CHECK(type_of(R"({"type": "number", "airbyte_type": "big_number"})") == ColumnType::numeric);
  CHECK(type_of(R"({"type": "int"})") == ColumnType::bigint);
}

TEST_CASE("nullable types: [\"null\", T] is T") {
  CHECK(type_of(R"({"type": ["null", "string"]})") == ColumnType::varchar);
  CHECK(type_of(R"({"type": ["string", "null"]})") == ColumnType::varchar);
  CHECK(type_of(R"({"type": ["null", "integer"]})") == ColumnType::bigint);
  CHECK(type_of(R"({"type": ["null", "number"], "airbyte_type": "integer"})") ==
        ColumnType::bigint);
  CHECK(type_of(R"({"type": ["null", "string"], "format": "date"})") == ColumnType::date);
  CHECK(type_of(R"({"type": ["null", "string"], "format": "date-time",
                    "airbyte_type": "timestamp_without_timezone"})") == ColumnType::timestamp);
  CHECK(type_of(R"({"type": ["null", "boolean"]})") == ColumnType::boolean);
  CHECK(type_of(R"({"type": ["null", "object"]})") == ColumnType::jsonb);
  CHECK(type_of(R"({"type": "null"})") == ColumnType::jsonb);
  CHECK(type_of(R"({"type": ["null"]})") == ColumnType::jsonb);
  CHECK(type_of(R"({"type": []})") == ColumnType::jsonb);
}

TEST_CASE("unions of several non-null types are jsonb") {
  CHECK(type_of(R"({"type": ["string", "integer"]})") == ColumnType::jsonb);
  CHECK(type_of(R"({"type": ["null", "integer", "number"]})") == ColumnType::jsonb);
  CHECK(type_of(R"({"type": ["string", "object"]})") == ColumnType::jsonb);
  CHECK(type_of(R"({"type": ["string", "string"]})") == ColumnType::varchar); // a set of one
  CHECK(type_of(R"({"oneOf": [{"type": "string"}, {"type": "integer"}]})") == ColumnType::jsonb);
  CHECK(type_of(R"({"anyOf": [{"type": "boolean"}, {"type": "number"}]})") == ColumnType::jsonb);
  CHECK(type_of(R"({"allOf": [{"type": "string"}, {"type": "integer"}]})") == ColumnType::jsonb);
  CHECK(type_of(R"({"oneOf": []})") == ColumnType::jsonb);
  CHECK(type_of(R"({"oneOf": null})") == ColumnType::jsonb);
}

TEST_CASE("oneOf/anyOf with a single non-null option collapse to it, as in Airbyte") {
  CHECK(type_of(R"({"oneOf": [{"type": "null"}, {"type": "string"}]})") == ColumnType::varchar);
  CHECK(type_of(R"({"anyOf": [{"type": "integer"}]})") == ColumnType::bigint);
  CHECK(type_of(R"({"anyOf": [{"type": "null"}, {"type": "string", "format": "date"}]})") ==
        ColumnType::date);
  CHECK(type_of(R"({"oneOf": {"type": "boolean"}})") == ColumnType::boolean);
  CHECK(type_of(R"({"oneOf": ["null", "number"]})") == ColumnType::numeric);
  CHECK(type_of(R"({"type": ["null", {"type": "integer"}]})") == ColumnType::bigint);
  CHECK(type_of(R"({"oneOf": [{"type": "null"}]})") == ColumnType::jsonb);
}

TEST_CASE("$ref to a well-known type maps like the plain type") {
  const auto ref = [](const std::string& target) {
    return map_property_type(nlohmann::ordered_json{{"$ref", target}});
  };
  CHECK(ref("WellKnownTypes.json#/definitions/String") == ColumnType::varchar);
  CHECK(ref("WellKnownTypes.json#/definitions/BinaryData") == ColumnType::varchar);
  CHECK(ref("WellKnownTypes.json#/definitions/Boolean") == ColumnType::boolean);
  CHECK(ref("WellKnownTypes.json#/definitions/Date") == ColumnType::date);
  CHECK(ref("WellKnownTypes.json#/definitions/TimestampWithTimezone") == ColumnType::timestamptz);
  CHECK(ref("WellKnownTypes.json#/definitions/TimestampWithoutTimezone") == ColumnType::timestamp);
  CHECK(ref("WellKnownTypes.json#/definitions/TimeWithTimezone") == ColumnType::timetz);
  CHECK(ref("WellKnownTypes.json#/definitions/TimeWithoutTimezone") == ColumnType::time);
  CHECK(ref("WellKnownTypes.json#/definitions/Number") == ColumnType::numeric);
  CHECK(ref("WellKnownTypes.json#/definitions/Integer") == ColumnType::bigint);
  CHECK(ref("WellKnownTypes.json#definitions/Integer") == ColumnType::bigint);
  CHECK(ref("WellKnownTypes.json#definitions/TimeWithoutTimezone") == ColumnType::time);
  CHECK(ref("WellKnownTypes.json#/definitions/Unknown") == ColumnType::jsonb);
  CHECK(ref("Other.json#/definitions/Integer") == ColumnType::jsonb);
  CHECK(ref("wellknowntypes.json#/definitions/Integer") == ColumnType::jsonb);
  CHECK(type_of(R"({"$ref": 5})") == ColumnType::jsonb);
}

TEST_CASE("precedence: type over $ref over oneOf") {
  CHECK(type_of(R"({"type": "string", "$ref": "WellKnownTypes.json#/definitions/Integer"})") ==
        ColumnType::varchar);
  CHECK(type_of(R"({"$ref": "WellKnownTypes.json#/definitions/Integer",
                    "oneOf": [{"type": "string"}]})") == ColumnType::bigint);
  CHECK(type_of(R"({"oneOf": [{"type": "string"}], "anyOf": [{"type": "integer"}]})") ==
        ColumnType::varchar);
  CHECK(type_of(R"({"type": ["null", {"$ref": "WellKnownTypes.json#/definitions/Date"}]})") ==
        ColumnType::date);
}

TEST_CASE("a property schema that is not a JSON object is jsonb") {
  CHECK(type_of(R"("string")") == ColumnType::jsonb);
  CHECK(type_of("true") == ColumnType::jsonb);
  CHECK(type_of("null") == ColumnType::jsonb);
  CHECK(type_of("[]") == ColumnType::jsonb);
  CHECK(type_of(R"({"type": 7})") == ColumnType::jsonb);
}
