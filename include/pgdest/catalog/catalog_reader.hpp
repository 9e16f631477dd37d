#pragma once
// Configured catalog JSON → one StreamPlan per stream, with every inconsistency a config error.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pgdest/catalog/stream_plan.hpp"

namespace pgdest::catalog {

// `default_schema` is the config's `schema`, used for streams without a namespace.
std::vector<StreamPlan> read_catalog(const nlohmann::ordered_json& catalog,
                                     const std::string& default_schema);

std::vector<StreamPlan> load_catalog_file(const std::string& path,
                                          const std::string& default_schema);

} // namespace pgdest::catalog
