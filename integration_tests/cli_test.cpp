// The command line itself: spec, usage errors, and config/catalog files that cannot be used.
#include <catch2/catch.hpp>

#include <regex>

#include "support/harness.hpp"
#include "support/sync.hpp"

using namespace pgdest::testing;

TEST_CASE("spec prints one valid SPEC message", "[cli]") {
  auto result = run_connector({"spec"});
  CHECK(result.exit_code == 0);
  REQUIRE(result.stdout_lines.size() == 1);
  CHECK(protocol_violations(result.stdout_lines) == "");
  auto spec = nlohmann::ordered_json::parse(result.stdout_lines[0])["spec"];
  CHECK(spec["supportsIncremental"] == true);
  CHECK(spec["supported_destination_sync_modes"] ==
        nlohmann::ordered_json::parse(R"(["overwrite","append","append_dedup"])"));
  CHECK(spec["connectionSpecification"]["properties"]["password"]["airbyte_secret"] == true);
}

TEST_CASE("bad arguments print usage on stderr and exit 2, --help and --version work", "[cli]") {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {}, {"frobnicate"}, {"write", "--config", "x"}, {"check"}}) {
    auto result = run_connector(args);
    CHECK(result.exit_code == 2);
    CHECK(result.stdout_lines.empty());
    CHECK_FALSE(result.stderr_text.empty());
  }
  auto help = run_connector({"--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.stdout_lines.empty());
  CHECK(help.stderr_text.find("write") != std::string::npos);
  auto version = run_connector({"--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.stderr_text.find("0.1.0") != std::string::npos);
}

TEST_CASE("an unreadable or invalid config or catalog is a config_error TRACE and exit 1",
          "[cli]") {
  auto good_config = write_temp_file("cli-config.json", test_config("it_cli").dump());
  auto good_catalog = write_temp_file("cli-catalog.json", R"({"streams":[]})");
  struct Case {
    std::string config, catalog, message;
  };
  std::vector<Case> cases = {
      {"/nonexistent/config.json", good_catalog, ""},
      {write_temp_file("cli-bad-config.json", "{not json"), good_catalog, ""},
      {write_temp_file("cli-no-host.json", R"({"database":"d","username":"u"})"), good_catalog, ""},
      {good_config, "/nonexistent/catalog.json",
       "Cannot read the catalog file /nonexistent/catalog.json."},
      {good_config, write_temp_file("cli-bad-catalog.json", "[]"),
       "The catalog must be a JSON object with a \"streams\" array."},
  };
  for (const auto& c : cases) {
    auto result = run_connector({"write", "--config", c.config, "--catalog", c.catalog});
    INFO(c.config << " " << c.catalog);
    CHECK(result.exit_code == 1);
    CHECK(protocol_violations(result.stdout_lines) == "");
    REQUIRE(result.trace_errors().size() == 1);
    CHECK(result.trace_errors()[0]["failure_type"] == "config_error");
    if (!c.message.empty())
      CHECK(result.trace_errors()[0]["message"] == c.message);
  }
}

TEST_CASE("the password never appears in any output, even when the server rejects it",
          "[cli][secrets]") {
  auto config = test_config("it_cli_secret");
  config["password"] = "hunter2-do-not-print";
  auto config_path = write_temp_file("cli-secret.json", config.dump());
  auto catalog_path = write_temp_file("cli-secret-catalog.json", R"({"streams":[]})");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"check", "--config", config_path},
           {"write", "--config", config_path, "--catalog", catalog_path}}) {
    auto result = run_connector(args);
    for (const auto& line : result.stdout_lines)
      CHECK(line.find("hunter2") == std::string::npos);
    CHECK(result.stderr_text.find("hunter2") == std::string::npos);
    CHECK_FALSE(result.stdout_lines.empty());
  }
}

TEST_CASE("encode parses and encodes without a database, --parse-only only parses", "[cli]") {
  auto catalog = write_temp_file(
      "cli-encode-catalog.json",
      R"({"streams":[{"stream":{"name":"s","json_schema":{"type":"object","properties":{
      "id":{"type":"integer"},"n":{"type":"object"}}}},"destination_sync_mode":"append",
      "generation_id":1,"minimum_generation_id":0,"sync_id":1}]})");
  const std::string input =
      R"({"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{"id":1,"n":{"a":[1,"x\u00e9",null,true]}}}})"
      "\n"
      R"({"type":"STATE","state":{"type":"LEGACY","data":{}}})"
      "\n"
      R"({"type":"RECORD","record":{"stream":"s","emitted_at":2,"data":{"id":2}}})"
      "\n";
  // The counts the run reports (its words may change; the numbers may not).
  auto counted = [](const RunResult& result) {
    auto logs = result.messages("LOG");
    std::string text =
        logs.empty() ? std::string() : logs.back()["log"]["message"].get<std::string>();
    std::vector<std::string> numbers;
    const std::regex number("[0-9]+");
    for (std::sregex_iterator it(text.begin(), text.end(), number), end; it != end; ++it)
      numbers.push_back(it->str());
    numbers.resize(2);
    return numbers;
  };
  auto encoded = run_connector({"encode", "--catalog", catalog}, input);
  CHECK(encoded.exit_code == 0);
  CHECK(protocol_violations(encoded.stdout_lines) == "");
  CHECK(counted(encoded) == std::vector<std::string>{"2", "1"});
  auto parsed = run_connector({"encode", "--parse-only", "--catalog", catalog}, input);
  CHECK(parsed.exit_code == 0);
  CHECK(counted(parsed) == std::vector<std::string>{"2", "1"});
  // Parsing reaches inside nested values: a bad escape deep in `n` fails the run.
  auto broken = run_connector(
      {"encode", "--parse-only", "--catalog", catalog},
      R"({"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{"id":1,"n":{"a":["\q"]}}}})"
      "\n");
  CHECK(broken.exit_code == 1);
  CHECK(protocol_violations(broken.stdout_lines) == "");
  CHECK(broken.trace_errors().size() == 1);
}
