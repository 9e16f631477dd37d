// Hostile input against the real binary: each case ends in stored rows with recorded changes or in
// one clear TRACE error, never a crash, a hang, a lost record or an invalid stdout line.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "support/harness.hpp"
#include "support/sync.hpp"

using namespace pgdest::testing;
using Json = nlohmann::ordered_json;
using Rows = std::vector<std::vector<std::string>>;

namespace {

Json catalog_of(const Json& properties, const std::string& mode = "append",
                const std::string& name = "items") {
  return configure_catalog(
      {{"streams",
        {{{"name", name}, {"json_schema", {{"type", "object"}, {"properties", properties}}}}}}},
      mode);
}

Json items_catalog() {
  return catalog_of({{"id", {{"type", "integer"}}},
                     {"name", {{"type", "string"}}},
                     {"doc", {{"type", "object"}}}});
}

std::string record(const std::string& data, const std::string& stream = "items") {
  return R"({"type":"RECORD","record":{"stream":")" + stream +
         R"(","emitted_at":1700000000000,"data":)" + data + "}}\n";
}

const std::string kState =
    R"({"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"items"},"stream_state":{"c":1}}}})"
    "\n";

std::string complete(const std::string& stream = "items") {
  return R"({"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":")" +
         stream +
         R"("},"status":"COMPLETE"}}})"
         "\n";
}

// The run failed with exactly one TRACE error of `failure_type` and `message`, printed no STATE
// for what was not committed, and every stdout line is a valid AirbyteMessage.
void check_refused(const RunResult& result, const std::string& failure_type,
                   const std::string& message) {
  INFO(result.stderr_text);
  CHECK(protocol_violations(result.stdout_lines) == "");
  CHECK(result.exit_code == 1);
  REQUIRE(result.trace_errors().size() == 1);
  CHECK(result.trace_errors()[0]["failure_type"] == failure_type);
  CHECK(result.trace_errors()[0]["message"] == message);
}

std::string line_error(int line, const std::string& problem) {
  return "Input line " + std::to_string(line) + " is not a valid Airbyte message: " + problem;
}

Rows schema_count(const std::string& schema) {
  return query_rows("SELECT count(*) FROM pg_namespace WHERE nspname = '" + schema + "'");
}

} // namespace

TEST_CASE("hostile input: lone surrogate escapes become NULLed values with changes, the sync "
          "goes on",
          "[hostile]") {
  auto schema = fresh_schema("it_hostile_surrogate");
  auto result = run_write(
      schema, items_catalog(),
      record(R"({"id":1,"name":"x\ud800y","doc":{"k":"ok"}})") +
          record(R"({"id":2,"name":"fine","doc":{"k":["\udc00"]}})") +
          record(R"({"id":3,"name":"keys","doc":{"\ud800":1}})") +
          record(R"({"id":4,"name":"undeclared","extra":"\ud800","\udfff":{"x":"\ud800"}})") +
          record(R"({"id":5,"name":"pair \ud83d\ude00","doc":{"e":"\ud83d\ude00"}})") + kState +
          complete());
  INFO(result.stderr_text);
  REQUIRE(result.exit_code == 0);
  CHECK(protocol_violations(result.stdout_lines) == "");
  CHECK(states(result).size() == 1);
  const std::string nulled = R"({"field": ")";
  const std::string reason =
      R"(", "change": "NULLED", "reason": "DESTINATION_SERIALIZATION_ERROR"})";
  CHECK(query_rows("SELECT id, name, doc::text, _airbyte_meta->>'changes' FROM " + schema +
                   ".items ORDER BY id") ==
        Rows{{"1", "NULL", R"({"k": "ok"})", "[" + nulled + "name" + reason + "]"},
             {"2", "fine", "NULL", "[" + nulled + "doc" + reason + "]"},
             {"3", "keys", "NULL", "[" + nulled + "doc" + reason + "]"},
             {"4", "undeclared", "NULL", "[]"},
             {"5", "pair \xF0\x9F\x98\x80", "{\"e\": \"\xF0\x9F\x98\x80\"}", "[]"}});
}

TEST_CASE("hostile input: malformed JSON in a part the reader skips stops the sync naming the "
          "line",
          "[hostile]") {
  auto schema = fresh_schema("it_hostile_skipped");
  auto state = run_write(
      schema, items_catalog(),
      record(R"({"id":1})") +
          R"({"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"items"},"stream_state":{"c":[1,2,]}}}})"
          "\n" +
          complete());
  check_refused(state, "system_error",
                line_error(2, "state.stream is not valid JSON: The JSON document has an improper "
                              "structure: missing or superfluous commas, braces, missing keys, "
                              "etc."));
  CHECK(state.messages("STATE").empty());

  auto skipped = run_write(
      schema, items_catalog(),
      R"({"type":"RECORD","record":{"stream":"items","emitted_at":1,"data":{"id":1},"file_reference":{"a":tru}}})"
      "\n" +
          complete());
  check_refused(skipped, "system_error",
                line_error(1, "record.file_reference is not valid JSON: Problem while parsing an "
                              "atom starting with the letter 't'"));

  auto trace = run_write(
      schema, items_catalog(),
      R"({"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"items"},"status":"COMPLETE","reasons":[,]}}})"
      "\n");
  check_refused(trace, "system_error",
                line_error(1, "trace.stream_status.reasons is not valid JSON: The JSON document "
                              "has an improper structure: missing or superfluous commas, braces, "
                              "missing keys, etc."));
}

TEST_CASE("hostile input: a lower-case or unknown message type stops the sync instead of losing "
          "the record",
          "[hostile]") {
  auto schema = fresh_schema("it_hostile_type");
  auto result = run_write(
      schema, items_catalog(),
      record(R"({"id":1})") +
          R"({"type":"record","record":{"stream":"items","emitted_at":1,"data":{"id":2}}})"
          "\n" +
          complete());
  check_refused(result, "system_error",
                line_error(2, "\"type\" is \"record\", which is not an Airbyte message type "
                              "(RECORD, STATE, TRACE, LOG, SPEC, CONNECTION_STATUS, CATALOG, "
                              "CONTROL or DESTINATION_CATALOG, in upper case)"));
}

TEST_CASE("hostile input: a key given twice is refused naming the line and key, in record data "
          "the last wins",
          "[hostile]") {
  auto schema = fresh_schema("it_hostile_duplicates");
  auto twice = run_write(
      schema, items_catalog(),
      R"({"type":"RECORD","record":{"stream":"items","emitted_at":1,"data":{"id":1}},"record":{"stream":"items","emitted_at":1,"data":{"id":2}}})"
      "\n" +
          complete());
  check_refused(twice, "system_error",
                line_error(1, "the message has the key \"record\" twice; give each key once"));

  auto data = run_write(schema, items_catalog(),
                        record(R"({"id":1,"id":2,"doc":{"a":1,"a":2}})") + complete());
  INFO(data.stderr_text);
  REQUIRE(data.exit_code == 0);
  CHECK(protocol_violations(data.stdout_lines) == "");
  CHECK(query_rows("SELECT id, doc::text FROM " + schema + ".items") == Rows{{"2", R"({"a": 2})"}});
}

TEST_CASE("hostile input: STATEs the protocol does not allow are refused or made valid, never "
          "echoed as they came",
          "[hostile]") {
  auto schema = fresh_schema("it_hostile_states");
  auto null_namespace = run_write(
      schema, items_catalog(),
      R"({"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"items","namespace":null},"stream_state":{}}}})"
      "\n" +
          complete());
  check_refused(null_namespace, "system_error",
                line_error(1, "state.stream.stream_descriptor.namespace is null, which the "
                              "Airbyte protocol does not allow in a STATE; leave the field out "
                              "for a stream without a namespace"));

  auto not_object = run_write(
      schema, items_catalog(),
      R"({"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"items"},"stream_state":"c"}}})"
      "\n" +
          complete());
  check_refused(not_object, "system_error",
                line_error(1, "state.stream.stream_state must be an object"));

  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto too_deep = run_write(
      schema, items_catalog(),
      R"({"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"items"},"stream_state":{"d":)" +
          deep + "}}}}\n" + complete());
  check_refused(too_deep, "system_error",
                line_error(1, "state.stream nests arrays and objects more than 1024 levels deep"));

  auto null_type =
      run_write(schema, items_catalog(),
                R"({"type":"STATE","state":{"type":null,"data":{"cursor":"\ud800 \u0000"}}})"
                "\n" +
                    complete());
  INFO(null_type.stderr_text);
  REQUIRE(null_type.exit_code == 0);
  CHECK(protocol_violations(null_type.stdout_lines) == "");
  // Compared as text: nlohmann, the harness's parser, refuses lone surrogates.
  std::vector<std::string> state_lines;
  for (const auto& line : null_type.stdout_lines)
    if (line.find(R"("type":"STATE")") != std::string::npos)
      state_lines.push_back(line);
  REQUIRE(state_lines.size() == 1);
  CHECK(state_lines[0].find(R"({"data":{"cursor":"\ud800 \u0000"},"destinationStats")") !=
        std::string::npos);
}

TEST_CASE("hostile input: deeply nested values, huge lines and invalid UTF-8", "[hostile]") {
  auto schema = fresh_schema("it_hostile_values");
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto nested =
      run_write(schema, items_catalog(), record(R"({"id":1,"doc":)" + deep + "}") + complete());
  check_refused(nested, "system_error",
                line_error(1, "record data nests arrays and objects more than 1024 levels deep, "
                              "which this destination does not read"));

  const std::string big(50u << 20, 'x');
  auto huge = run_write(schema, items_catalog(),
                        record(R"({"id":1,"name":")" + big + R"("})") + kState + complete());
  INFO(huge.stderr_text);
  REQUIRE(huge.exit_code == 0);
  CHECK(protocol_violations(huge.stdout_lines) == "");
  CHECK(states(huge).size() == 1);
  CHECK(query_rows("SELECT id, length(name) FROM " + schema + ".items") ==
        Rows{{"1", std::to_string(big.size())}});

  for (const std::string& data :
       {std::string("{\"id\":1,\"name\":\"\xC3\x28\"}"), std::string("{\"id\":1,\"\xFF\":1}")}) {
    auto invalid = run_write(schema, items_catalog(), record(R"({"id":0})") + record(data));
    check_refused(invalid, "system_error", line_error(2, "not JSON: The input is not valid UTF-8"));
  }
}

TEST_CASE("hostile input: fields of the wrong JSON type are clear errors", "[hostile]") {
  auto schema = fresh_schema("it_hostile_types");
  struct Case {
    std::string line;
    std::string problem;
  };
  const std::string no_type = ": The JSON element does not have the requested type.";
  for (
      const auto& c : std::vector<Case>{
          {R"({"type":"RECORD","record":{"stream":["items"],"emitted_at":1,"data":{}}})",
           "record.stream must be a string" + no_type},
          {R"({"type":"RECORD","record":{"stream":"items","namespace":1,"emitted_at":1,"data":{}}})",
           "record.namespace must be a string" + no_type},
          {R"({"type":"RECORD","record":{"stream":"items","emitted_at":1,"data":"x"}})",
           "record.data must be an object" + no_type},
          {R"({"type":"RECORD","record":{"stream":"items","emitted_at":{},"data":{}}})",
           "record.emitted_at must be a number" + no_type},
          {R"({"type":"RECORD","record":{"stream":"items","emitted_at":1,"data":{},"meta":[]}})",
           "record.meta must be an object" + no_type},
          {R"({"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"items"},"stream_state":{}},"sourceStats":[]}})",
           "state.sourceStats must be an object" + no_type},
          {R"({"type":"TRACE","trace":{"type":["STREAM_STATUS"],"emitted_at":1}})",
           "trace.type must be a string" + no_type},
          {R"({"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"items"},"status":0}}})",
           "trace.stream_status.status must be STARTED, RUNNING, COMPLETE or INCOMPLETE" +
               no_type}}) {
    auto result = run_write(schema, items_catalog(), c.line + "\n");
    check_refused(result, "system_error", line_error(1, c.problem));
  }
}

TEST_CASE("hostile input: catalog problems are config errors before anything is created",
          "[hostile]") {
  auto schema = fresh_schema("it_hostile_catalog");

  Json wide = Json::object();
  for (int i = 0; i < 1600; ++i)
    wide["p" + std::to_string(i)] = {{"type", "string"}};
  check_refused(run_write(schema, catalog_of(wide), record(R"({"p0":"x"})")), "config_error",
                "Stream \"items\" has 1600 properties; with the 4 _airbyte_* columns its table "
                "would have 1604 columns, more than PostgreSQL's limit of 1600. Deselect fields "
                "of the stream so that it has at most 1596 properties.");

  auto mode = items_catalog();
  mode["streams"][0]["destination_sync_mode"] = Json::array({"append"});
  check_refused(run_write(schema, mode, record(R"({"id":1})")), "config_error",
                "Stream \"items\" has a \"destination_sync_mode\" that is not a string; use "
                "\"append\", \"overwrite\" or \"append_dedup\".");

  auto key = catalog_of({{"id", {{"type", "integer"}}}}, "append_dedup");
  key["streams"][0]["primary_key"] = Json::parse(R"([["id"],["tenant_id"]])");
  check_refused(run_write(schema, key, record(R"({"id":1})")), "config_error",
                "The primary key of stream \"items\" names the field \"tenant_id\", which is not "
                "a property of the stream's json_schema. Add the property to the schema or "
                "choose another primary key.");
  CHECK(schema_count(schema) == Rows{{"0"}});

  std::string nested;
  for (int i = 0; i < 50000; ++i)
    nested += R"({"anyOf":[)";
  nested += R"({"type":"string"})";
  for (int i = 0; i < 50000; ++i)
    nested += "]}";
  auto config_path = write_temp_file(schema + "-config.json", test_config(schema).dump());
  auto catalog_path =
      write_temp_file(schema + "-deep-catalog.json",
                      R"({"streams":[{"stream":{"name":"items","json_schema":{"properties":{"a":)" +
                          nested + R"(}}},"destination_sync_mode":"append"}]})");
  auto deep = run_connector({"write", "--config", config_path, "--catalog", catalog_path},
                            record(R"({"a":"x"})"));
  check_refused(deep, "config_error",
                "The catalog file " + catalog_path +
                    " nests arrays and objects more than 1000 levels deep, which this destination "
                    "does not read. Simplify the streams' json_schema.");
  CHECK(schema_count(schema) == Rows{{"0"}});
}

TEST_CASE("hostile input: names that collide after normalisation get distinct tables and "
          "suffixed columns",
          "[hostile]") {
  auto schema = fresh_schema("it_hostile_names");
  Json properties = {{"Name", {{"type", "string"}}},
                     {"name", {{"type", "string"}}},
                     {"na-me", {{"type", "string"}}}};
  Json streams = Json::array();
  for (const char* name : {"a-b", "a b"})
    streams.push_back(
        {{"name", name}, {"json_schema", {{"type", "object"}, {"properties", properties}}}});
  auto catalog = configure_catalog({{"streams", streams}}, "append");
  const std::string messages = record(R"({"Name":"1","name":"2","na-me":"3"})", "a-b") +
                               record(R"({"Name":"4","name":"5","na-me":"6"})", "a b") +
                               complete("a-b") + complete("a b");
  for (int run = 0; run < 2; ++run) {
    auto result = run_write(schema, catalog, messages);
    INFO(result.stderr_text);
    REQUIRE(result.exit_code == 0);
    CHECK(protocol_violations(result.stdout_lines) == "");
  }
  auto tables = query_rows("SELECT table_name FROM information_schema.tables WHERE "
                           "table_schema = '" +
                           schema + "' ORDER BY table_name");
  REQUIRE(tables.size() == 2);
  CHECK(tables[0][0] != tables[1][0]);
  for (const auto& table : tables) {
    INFO(table[0]);
    CHECK(column_types(schema, table[0]) ==
          std::vector<std::string>{
              "_airbyte_raw_id:character varying", "_airbyte_extracted_at:timestamp with time zone",
              "_airbyte_meta:jsonb", "_airbyte_generation_id:bigint", "Name:character varying",
              "name_1:character varying", "na_me:character varying"});
    CHECK(query_rows("SELECT count(*) FROM \"" + schema + "\".\"" + table[0] + "\"") ==
          Rows{{"2"}});
  }
}

TEST_CASE("hostile input: a catalog of 1,000 streams loads in reasonable time", "[hostile]") {
  auto schema = fresh_schema("it_hostile_many");
  Json streams = Json::array();
  for (int i = 0; i < 1000; ++i)
    streams.push_back(
        {{"name", "s" + std::to_string(i)},
         {"json_schema", {{"type", "object"}, {"properties", {{"id", {{"type", "integer"}}}}}}}});
  auto catalog = configure_catalog({{"streams", streams}}, "append");
  const auto started = std::chrono::steady_clock::now();
  auto result =
      run_write(schema, catalog, record(R"({"id":7})", "s999") + complete_statuses(catalog));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  INFO(result.stderr_text);
  REQUIRE(result.exit_code == 0);
  CHECK(protocol_violations(result.stdout_lines) == "");
  CHECK(query_rows("SELECT id FROM " + schema + ".s999") == Rows{{"7"}});
  CHECK(query_rows("SELECT count(*) FROM information_schema.tables WHERE table_schema = '" +
                   schema + "'") == Rows{{"1000"}});
  CHECK(seconds < 120);
}

TEST_CASE("hostile input: encode --parse-only takes lone surrogates as the encoder does and "
          "refuses nesting deeper than the encoder reads",
          "[hostile]") {
  auto catalog = write_temp_file("hostile-parse-only-catalog.json", items_catalog().dump());
  auto surrogates = run_connector({"encode", "--parse-only", "--catalog", catalog},
                                  record(R"({"id":1,"name":"x\ud800","\udc00":["\ud800"]})"));
  INFO(surrogates.stderr_text);
  CHECK(surrogates.exit_code == 0);
  CHECK(protocol_violations(surrogates.stdout_lines) == "");

  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto nested = run_connector({"encode", "--parse-only", "--catalog", catalog},
                              record(R"({"id":1,"doc":)" + deep + "}"));
  check_refused(nested, "system_error",
                "Record data is not valid JSON: The JSON document was too deep (too many nested "
                "objects and arrays)");
}
