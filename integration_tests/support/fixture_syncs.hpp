#pragma once
// Syncs of one or more streams in any mode, with Airbyte's two-sync fixtures (sync1, sync2) and
// the rows they leave: what the sync-mode tests share, directly or through a pooler.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace pgdest::testing {

using Rows = std::vector<std::vector<std::string>>;

struct StreamSpec {
  std::string name = "users";
  std::string mode = "append_dedup";
  nlohmann::ordered_json schema = fixture_json("schema.json");
  nlohmann::ordered_json primary_key = nlohmann::ordered_json::parse(R"([["id1"],["id2"]])");
  nlohmann::ordered_json cursor = nlohmann::ordered_json::parse(R"(["updated_at"])");
  long generation = 1;
  long minimum_generation = 0;
};

// A truncate refresh of generation `generation`, in overwrite mode.
StreamSpec overwrite_spec(long generation);

nlohmann::ordered_json catalog_of(const std::vector<StreamSpec>& specs);
nlohmann::ordered_json catalog_of(const StreamSpec& spec);

// A fixture of records without a stream field, addressed to `stream`.
std::string records_for(const std::string& fixture, const std::string& stream);
std::string record(const std::string& stream, const std::string& data, long emitted_at = 1000);
// A LEGACY state {"n": n}.
std::string state_line(int n);

// `write` of `body`, one state and (when `complete`) every stream's COMPLETE status; `config`
// overrides fields of the test config. Checks the output against the protocol.
RunResult sync(const std::string& schema, const nlohmann::ordered_json& catalog,
               const std::string& body, bool complete = true,
               const nlohmann::ordered_json& config = nlohmann::ordered_json::object());

// Requires exit code 0, showing stderr and the TRACE errors otherwise.
void require_ok(const RunResult& result);

// The user columns of the fixture's table, ordered, as text.
Rows users(const std::string& schema, const std::string& table = "users");
Rows tables_in(const std::string& schema);

// users() after sync1 into an empty dedup table (generation 1), and after sync2 (generation 2)
// on top of it with CDC hard deletes.
extern const Rows kSync1Deduped;
extern const Rows kSync2Deduped;

} // namespace pgdest::testing
