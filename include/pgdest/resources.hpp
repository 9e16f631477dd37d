#pragma once
// Files embedded in the binary at build time (see cmake/embed_resource.cmake).
#include <string_view>

namespace pgdest::resources {

// resources/spec.json: the ConnectorSpecification printed by `spec`.
std::string_view spec_json();

} // namespace pgdest::resources
