#pragma once
// Running a `write` the way the platform does: config and catalog files, messages on stdin.
#include <string>

#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace pgdest::testing {

// Runs `write` with the test server's config for `schema` and the given configured catalog.
RunResult
run_write(const std::string& schema, const nlohmann::ordered_json& catalog,
          const std::string& messages,
          const nlohmann::ordered_json& config_overrides = nlohmann::ordered_json::object());

// A STREAM_STATUS COMPLETE line for each stream of the configured catalog.
std::string complete_statuses(const nlohmann::ordered_json& configured_catalog);

// The STATE messages a run printed.
std::vector<nlohmann::ordered_json> states(const RunResult& result);

// "column:type" for each column of a table, in table order.
std::vector<std::string> column_types(const std::string& schema, const std::string& table);

} // namespace pgdest::testing
