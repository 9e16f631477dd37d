// Syncs with Airbyte's two-sync fixtures, shared by the sync-mode tests.
#include "fixture_syncs.hpp"

#include <catch2/catch.hpp>

#include <sstream>

#include "sync.hpp"

namespace pgdest::testing {

using Json = nlohmann::ordered_json;

StreamSpec overwrite_spec(long generation) {
  StreamSpec spec;
  spec.mode = "overwrite";
  spec.generation = spec.minimum_generation = generation;
  return spec;
}

Json catalog_of(const std::vector<StreamSpec>& specs) {
  Json catalog = {{"streams", Json::array()}};
  for (const auto& spec : specs) {
    catalog["streams"].push_back(
        {{"stream", {{"name", spec.name}, {"json_schema", spec.schema}}},
         {"sync_mode", spec.mode == "overwrite" ? "full_refresh" : "incremental"},
         {"destination_sync_mode", spec.mode},
         {"primary_key", spec.primary_key},
         {"cursor_field", spec.cursor},
         {"generation_id", spec.generation},
         {"minimum_generation_id", spec.minimum_generation},
         {"sync_id", 100 + spec.generation}});
  }
  return catalog;
}

Json catalog_of(const StreamSpec& spec) {
  return catalog_of(std::vector<StreamSpec>{spec});
}

std::string records_for(const std::string& fixture, const std::string& stream) {
  std::string out;
  std::istringstream lines(fixture_text(fixture));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty())
      continue;
    auto message = Json::parse(line);
    message["record"]["stream"] = stream;
    out += message.dump() + "\n";
  }
  return out;
}

std::string record(const std::string& stream, const std::string& data, long emitted_at) {
  return R"({"type":"RECORD","record":{"stream":")" + stream + R"(","emitted_at":)" +
         std::to_string(emitted_at) + R"(,"data":)" + data + "}}\n";
}

std::string state_line(int n) {
  return R"({"type":"STATE","state":{"type":"LEGACY","data":{"n":)" + std::to_string(n) + "}}}\n";
}

RunResult sync(const std::string& schema, const Json& catalog, const std::string& body,
               bool complete, const Json& config) {
  auto result = run_write(
      schema, catalog, body + state_line(1) + (complete ? complete_statuses(catalog) : ""), config);
  CHECK(protocol_violations(result.stdout_lines) == "");
  return result;
}

void require_ok(const RunResult& result) {
  std::string errors;
  for (const auto& error : result.trace_errors())
    errors += error.dump() + "\n";
  INFO(result.stderr_text);
  INFO(errors);
  REQUIRE(result.exit_code == 0);
}

Rows users(const std::string& schema, const std::string& table) {
  return query_rows("SELECT id1, id2, updated_at AT TIME ZONE 'UTC', name, address->>'city', "
                    "_ab_cdc_deleted_at IS NOT NULL, _airbyte_generation_id FROM \"" +
                    schema + "\".\"" + table + "\" ORDER BY id1, id2, updated_at");
}

Rows tables_in(const std::string& schema) {
  return query_rows("SELECT table_name FROM information_schema.tables WHERE table_schema = '" +
                    schema + "' ORDER BY table_name");
}

const Rows kSync1Deduped = {{"1", "200", "2000-01-01 00:01:00", "Alice", "Los Angeles", "f", "1"},
                            {"1", "201", "2000-01-01 00:02:00", "Bob", "Boston", "f", "1"},
                            {"2", "200", "2000-01-01 00:03:00", "Charlie", "NULL", "f", "1"},
                            {"3", "200", "2000-01-01 00:04:00",
                             "a\bb\fc\nd\re\tf`~!@#$%^&*()_+-=[]\\{}|'\",./<>?", "NULL", "f", "1"}};

const Rows kSync2Deduped = {{"1", "200", "2000-01-02 00:00:00", "Alice", "Seattle", "f", "2"},
                            kSync1Deduped[2],
                            kSync1Deduped[3]};

} // namespace pgdest::testing
