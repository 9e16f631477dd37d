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

// `write` arguments with the config and catalog written to files named after `schema`.
std::vector<std::string> write_args(const std::string& schema, const nlohmann::ordered_json& config,
                                    const nlohmann::ordered_json& catalog);

// A superuser role of the test's own, so that its sessions can be found, cut off or configured
// (ALTER ROLE ... SET) without touching other tests; returns the test config that logs in as it.
nlohmann::ordered_json own_role_config(const std::string& schema, const std::string& role);
// Drops the role and everything it owns, if it exists, except the connector's shared tables
// (sync log, rejected values) and their schema, which other tests use at the same time.
void drop_role(const std::string& role);

// A STREAM_STATUS COMPLETE line for each stream of the configured catalog.
std::string complete_statuses(const nlohmann::ordered_json& configured_catalog);

// The STATE messages a run printed (the `state` objects).
std::vector<nlohmann::ordered_json> states(const RunResult& result);
// The same of stdout lines, e.g. those of a connector still running.
std::vector<nlohmann::ordered_json> states(const std::vector<std::string>& lines);

// The run id a sync logged (its sync log rows carry it), from its LOG message; fails the test
// when there is none.
std::string run_id_of(const std::vector<std::string>& lines);
std::string run_id_of(const RunResult& result);

// "column:type" for each column of a table, in table order.
std::vector<std::string> column_types(const std::string& schema, const std::string& table);

} // namespace pgdest::testing
