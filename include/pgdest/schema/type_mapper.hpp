#pragma once
// JSON schema of one stream property → the PostgreSQL column type (SPEC §4).
#include <nlohmann/json.hpp>

#include "pgdest/schema/column.hpp"

namespace pgdest::schema {

// The column type Airbyte destination-postgres 3.x gives a property with this JSON schema;
// jsonb for anything it cannot type more precisely. Never throws.
ColumnType map_property_type(const nlohmann::ordered_json& property_schema);

} // namespace pgdest::schema
