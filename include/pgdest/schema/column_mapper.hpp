#pragma once
// A stream's JSON schema → its user columns: normalised, collision-free names and types.
#include <array>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pgdest/schema/column.hpp"

namespace pgdest::schema {

// The four columns every table starts with (SPEC §4); user columns never take these names.
inline constexpr std::array<std::string_view, 4> airbyte_column_names = {
    "_airbyte_raw_id", "_airbyte_extracted_at", "_airbyte_meta", "_airbyte_generation_id"};

// One Column per top-level property of `properties`, in declared order; empty without
// `properties`. Throws ConfigError for a name collision that cannot be resolved.
std::vector<Column> map_columns(const nlohmann::ordered_json& stream_json_schema);

} // namespace pgdest::schema
