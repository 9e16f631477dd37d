// JSON schema → column type, following the bulk CDK's JsonSchemaToAirbyteType and the type switch
// of destination-postgres (PostgresTableSchemaMapper.toColumnType).
//
// Matched (airbytehq/airbyte, cdk/load/data/json/JsonSchemaToAirbyteType.kt):
// - "type" wins over "$ref", which wins over oneOf/anyOf/allOf; an object with none of them is an
//   untyped object (jsonb).
// - "type": "int" is accepted like "integer"; "null" alone is no type at all (jsonb).
// - A "type" array applies each named type to the enclosing schema (so ["null", "string"] plus
//   "format": "date" is a date), drops "null", and is a union unless every remaining option is the
//   same type (UnionType.of over a set). oneOf/anyOf/allOf do the same with their sub-schemas, so
//   {"oneOf": [{"type": "null"}, {"type": "string"}]} is varchar, not jsonb.
// - Every union, object, array and unknown type is jsonb.
// - A property whose schema is not a JSON object (e.g. `"x": "string"`) is jsonb.
// Beyond Airbyte: "$ref" also accepts "WellKnownTypes.json#definitions/X" (no slash), which the
// bulk CDK would leave as jsonb.
#include "pgdest/schema/type_mapper.hpp"

#include <optional>
#include <string_view>
#include <vector>

namespace pgdest::schema {

namespace {

using Json = nlohmann::ordered_json;

// The value under `key` when it is a string, else "".
std::string_view text_of(const Json& schema, const char* key) {
  const auto it = schema.find(key);
  if (it == schema.end() || !it->is_string())
    return {};
  return it->get_ref<const std::string&>();
}

ColumnType from_string(const Json& schema) {
  const std::string_view format = text_of(schema, "format");
  const std::string_view airbyte_type = text_of(schema, "airbyte_type");
  if (format == "date")
    return ColumnType::date;
  if (format == "date-time")
    return airbyte_type == "timestamp_without_timezone" ? ColumnType::timestamp
                                                        : ColumnType::timestamptz;
  if (format == "time")
    return airbyte_type == "time_without_timezone" ? ColumnType::time : ColumnType::timetz;
  return ColumnType::varchar;
}

// The type named `type` with the rest of `schema` (format, airbyte_type) applied; nullopt for
// "null", which unions drop.
std::optional<ColumnType> from_type_name(std::string_view type, const Json& schema) {
  if (type == "string")
    return from_string(schema);
  if (type == "boolean")
    return ColumnType::boolean;
  if (type == "int" || type == "integer")
    return ColumnType::bigint;
  if (type == "number")
    return text_of(schema, "airbyte_type") == "integer" ? ColumnType::bigint : ColumnType::numeric;
  if (type == "null")
    return std::nullopt;
  return ColumnType::jsonb; // array, object, or a type name nobody knows
}

std::optional<ColumnType> from_well_known_type(std::string_view ref) {
  constexpr std::string_view with_slash = "WellKnownTypes.json#/definitions/";
  constexpr std::string_view without_slash = "WellKnownTypes.json#definitions/";
  std::string_view name;
  if (ref.substr(0, with_slash.size()) == with_slash)
    name = ref.substr(with_slash.size());
  else if (ref.substr(0, without_slash.size()) == without_slash)
    name = ref.substr(without_slash.size());
  else
    return std::nullopt;
  if (name == "String" || name == "BinaryData")
    return ColumnType::varchar;
  if (name == "Boolean")
    return ColumnType::boolean;
  if (name == "Date")
    return ColumnType::date;
  if (name == "TimestampWithTimezone")
    return ColumnType::timestamptz;
  if (name == "TimestampWithoutTimezone")
    return ColumnType::timestamp;
  if (name == "TimeWithTimezone")
    return ColumnType::timetz;
  if (name == "TimeWithoutTimezone")
    return ColumnType::time;
  if (name == "Number")
    return ColumnType::numeric;
  if (name == "Integer")
    return ColumnType::bigint;
  return std::nullopt;
}

// UnionType.of: one distinct option is that option, anything else is a union (jsonb). Options
// that map to the same column type are the same Airbyte type, except for jsonb ones, which stay
// jsonb either way.
ColumnType union_of(const std::vector<ColumnType>& options) {
  if (options.empty())
    return ColumnType::jsonb;
  for (const ColumnType option : options)
    if (option != options.front())
      return ColumnType::jsonb;
  return options.front();
}

std::optional<ColumnType> convert(const Json& schema);

ColumnType from_options(const Json& options) {
  std::vector<ColumnType> types;
  for (const Json& option : options)
    if (const auto type = convert(option))
      types.push_back(*type);
  return union_of(types);
}

// JsonSchemaToAirbyteType.convertInner; nullopt stands for the "null" type.
std::optional<ColumnType> convert(const Json& schema) {
  if (schema.is_string())
    return from_type_name(schema.get_ref<const std::string&>(), Json::object());
  if (!schema.is_object())
    return ColumnType::jsonb;

  if (const auto type = schema.find("type"); type != schema.end()) {
    if (type->is_string())
      return from_type_name(type->get_ref<const std::string&>(), schema);
    if (!type->is_array())
      return ColumnType::jsonb;
    std::vector<ColumnType> types;
    for (const Json& option : *type) {
      const auto option_type = option.is_string()
                                   ? from_type_name(option.get_ref<const std::string&>(), schema)
                                   : convert(option);
      if (option_type)
        types.push_back(*option_type);
    }
    return union_of(types);
  }

  if (const auto ref = schema.find("$ref"); ref != schema.end()) {
    if (!ref->is_string())
      return ColumnType::jsonb;
    return from_well_known_type(ref->get_ref<const std::string&>()).value_or(ColumnType::jsonb);
  }

  for (const char* combinator : {"oneOf", "anyOf", "allOf"}) {
    if (const auto options = schema.find(combinator); options != schema.end())
      return options->is_array() ? from_options(*options) : convert(*options);
  }
  return ColumnType::jsonb; // an object without a type
}

} // namespace

ColumnType map_property_type(const nlohmann::ordered_json& property_schema) {
  if (!property_schema.is_object())
    return ColumnType::jsonb;
  return convert(property_schema).value_or(ColumnType::jsonb);
}

} // namespace pgdest::schema
