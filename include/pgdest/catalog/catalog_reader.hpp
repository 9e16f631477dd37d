#pragma once
// Configured catalog JSON → one StreamPlan per stream, with every inconsistency a config error.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pgdest/catalog/stream_plan.hpp"
#include "pgdest/schema/table_namer.hpp"

namespace pgdest::catalog {

// `naming` carries the config's schema for streams without a namespace and, in raw tables mode,
// the schema of the raw tables (then every plan has the raw layout).
std::vector<StreamPlan> read_catalog(const nlohmann::ordered_json& catalog,
                                     const schema::TableNaming& naming);

std::vector<StreamPlan> load_catalog_file(const std::string& path,
                                          const schema::TableNaming& naming);

} // namespace pgdest::catalog
