// End-to-end `write` in append mode against a real server, with Airbyte's own fixtures.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "support/harness.hpp"
#include "support/sync.hpp"

using namespace pgdest::testing;
using Rows = std::vector<std::vector<std::string>>;

namespace {

void require_protocol_lines(const RunResult& result) {
  CHECK(protocol_violations(result.stdout_lines) == "");
}

std::string fixture_messages(const std::string& name, const nlohmann::ordered_json& catalog) {
  return fixture_text(name) + complete_statuses(catalog);
}

std::string record(const std::string& stream, const std::string& data,
                   long emitted_at = 1700000000000) {
  return R"({"type":"RECORD","record":{"stream":")" + stream + R"(","emitted_at":)" +
         std::to_string(emitted_at) + R"(,"data":)" + data + "}}\n";
}

std::string stream_state(const std::string& stream, int cursor) {
  return R"({"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":")" +
         stream + R"("},"stream_state":{"cursor":)" + std::to_string(cursor) + "}}}}\n";
}

nlohmann::ordered_json users_catalog() {
  return configure_catalog(
      {{"streams",
        {{{"name", "users"},
          {"json_schema",
           {{"type", "object"},
            {"properties", {{"id", {{"type", "integer"}}}, {"name", {{"type", "string"}}}}}}}}}}},
      "append");
}

} // namespace

TEST_CASE("exchange_rate fixture: typed columns, exact rows, every state once with its count",
          "[write]") {
  auto schema = fresh_schema("it_exchange_rate");
  auto catalog = configure_catalog(fixture_json("exchange_rate_catalog.json"), "append");
  auto result = run_write(schema, catalog, fixture_messages("exchange_rate_messages.txt", catalog));
  INFO(result.stderr_text);
  REQUIRE(result.exit_code == 0);
  require_protocol_lines(result);

  CHECK(column_types(schema, "exchange_rate") ==
        std::vector<std::string>{"_airbyte_raw_id:character varying",
                                 "_airbyte_extracted_at:timestamp with time zone",
                                 "_airbyte_meta:jsonb", "_airbyte_generation_id:bigint",
                                 "id:bigint", "currency:character varying", "date:date",
                                 "HKD:numeric", "NZD:numeric", "USD:numeric"});
  CHECK(
      query_rows("SELECT id, currency, date, \"HKD\", \"NZD\", \"USD\", _airbyte_extracted_at, "
                 "_airbyte_generation_id, _airbyte_meta::text FROM it_exchange_rate.exchange_rate "
                 "ORDER BY _airbyte_extracted_at") ==
      Rows{{"1", "USD", "2020-08-29", "2.13", "0.12", "NULL", "2020-10-14 01:06:29+00", "0",
            R"({"changes": [], "sync_id": 42})"},
           {"1", "USD", "2020-08-30", "7.15", "1.14", "NULL", "2020-10-14 01:08:09.1+00", "0",
            R"({"changes": [], "sync_id": 42})"},
           {"2", "EUR", "2020-08-31", "7.15", "1.14", "10.16", "2020-10-14 01:09:49.2+00", "0",
            R"({"changes": [], "sync_id": 42})"},
           {"2", "EUR", "2020-08-31", "7.99", "1.14", "10.99", "2020-10-14 01:11:29.3+00", "0",
            R"({"changes": [], "sync_id": 42})"},
           {"2", "EUR", "2020-09-01", "7.15", "1.14", "10.16", "2020-10-14 01:13:09.4+00", "0",
            R"({"changes": [], "sync_id": 42})"}});
  auto raw_ids =
      query_rows("SELECT count(DISTINCT _airbyte_raw_id), min(length(_airbyte_raw_id)) FROM "
                 "it_exchange_rate.exchange_rate");
  CHECK(raw_ids == Rows{{"5", "36"}});

  auto emitted = states(result);
  REQUIRE(emitted.size() == 3);
  CHECK(emitted[0]["global"]["shared_state"]["start_date"] == "2020-08-31");
  CHECK(emitted[0]["destinationStats"]["recordCount"] == 1.0);
  CHECK(emitted[1]["destinationStats"]["recordCount"] == 1.0);
  CHECK(emitted[2]["global"]["shared_state"]["start_date"] == "2020-09-02");
  CHECK(emitted[2]["destinationStats"]["recordCount"] == 3.0);
  CHECK(result.stdout_lines.size() > 3);
}

TEST_CASE("every_time_type fixture: dates, timestamps and times with and without zones",
          "[write]") {
  auto schema = fresh_schema("it_every_time_type");
  auto catalog = fixture_json("every_time_type_configured_catalog.json");
  for (auto& stream : catalog["streams"]) {
    stream["destination_sync_mode"] = "append";
    stream["minimum_generation_id"] = 0;
  }
  auto result =
      run_write(schema, catalog, fixture_messages("every_time_type_messages.txt", catalog));
  INFO(result.stderr_text);
  REQUIRE(result.exit_code == 0);
  require_protocol_lines(result);
  CHECK(column_types(schema, "every_time_type_test_1") ==
        std::vector<std::string>{
            "_airbyte_raw_id:character varying", "_airbyte_extracted_at:timestamp with time zone",
            "_airbyte_meta:jsonb", "_airbyte_generation_id:bigint", "date:date",
            "datetime_unspecified:timestamp with time zone",
            "datetime_with_timezone:timestamp with time zone",
            "datetime_without_timezone:timestamp without time zone",
            "time_unspecified:time with time zone", "time_with_timezone:time with time zone",
            "time_without_timezone:time without time zone"});
  CHECK(
      query_rows(
          "SET TIME ZONE 'UTC'; SELECT date, datetime_unspecified, datetime_with_timezone, "
          "datetime_without_timezone, time_unspecified, time_with_timezone, time_without_timezone, "
          "_airbyte_generation_id FROM it_every_time_type.every_time_type_test_1 ORDER BY date") ==
      Rows{{"2024-07-25", "2024-07-25 10:30:00+00", "2024-07-25 08:30:00+00", "2024-07-25 10:30:00",
            "10:30:00+00", "10:30:00+02", "10:30:00", "10"},
           {"2024-07-26", "2024-07-26 15:45:30+00", "2024-07-26 20:45:30+00", "2024-07-26 15:45:30",
            "15:45:30+00", "15:45:30-05", "15:45:30", "10"},
           {"2024-07-27", "2024-07-27 20:00:00+00", "2024-07-27 20:00:00+00", "2024-07-27 20:00:00",
            "20:00:00+00", "20:00:00+00", "20:00:00", "10"}});
  auto emitted = states(result);
  REQUIRE(emitted.size() == 1);
  CHECK(emitted[0]["data"]["start_date"] == "2024-07-25");
  CHECK(emitted[0]["destinationStats"]["recordCount"] == 3.0);
}

TEST_CASE("number fixture: integers as bigint, numbers keep their exact decimal text", "[write]") {
  auto schema = fresh_schema("it_numbers");
  auto catalog = configure_catalog(fixture_json("number_data_type_test_catalog.json"), "append");
  auto result =
      run_write(schema, catalog, fixture_messages("number_data_type_test_messages.txt", catalog));
  INFO(result.stderr_text);
  REQUIRE(result.exit_code == 0);
  require_protocol_lines(result);
  CHECK(column_types(schema, "int_test").back() == "data:bigint");
  CHECK(column_types(schema, "float_test").back() == "data:numeric");
  CHECK(query_rows("SELECT data FROM it_numbers.int_test ORDER BY _airbyte_extracted_at") ==
        Rows{{"42"}, {"0"}, {"-12345"}});
  CHECK(query_rows("SELECT data FROM it_numbers.float_test ORDER BY _airbyte_extracted_at") ==
        Rows{{"56.78"}, {"0"}, {"-12345.678"}});
  CHECK(query_rows(
            "SELECT data FROM it_numbers.default_number_test ORDER BY _airbyte_extracted_at") ==
        Rows{{"10000000000000000000000.1234"}, {"0"}, {"-12345.678"}});
  auto emitted = states(result);
  REQUIRE(emitted.size() == 1);
  CHECK(emitted[0]["destinationStats"]["recordCount"] == 9.0);
}

TEST_CASE("edge_case fixture: names with case, accents, punctuation and reserved words",
          "[write]") {
  auto schema = fresh_schema("it_edge_case");
  auto catalog = configure_catalog(fixture_json("edge_case_catalog.json"), "append");
  auto result = run_write(schema, catalog, fixture_messages("edge_case_messages.txt", catalog));
  INFO(result.stderr_text);
  REQUIRE(result.exit_code == 0);
  require_protocol_lines(result);
  CHECK(query_rows(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'it_edge_case' "
            "ORDER BY table_name COLLATE \"C\"") == Rows{{"CapitalCase"},
                                                         {"ProperCase"},
                                                         {"STREAM_WITH_ALL_CAPS"},
                                                         {"groups"},
                                                         {"reserved_keywords"},
                                                         {"streamWithCamelCase"},
                                                         {"stream_name"},
                                                         {"stream_name_next"},
                                                         {"stream_with_binary_data"},
                                                         {"stream_with_dates"},
                                                         {"stream_with_edge_case_field_names"},
                                                         {"stream_with_special_character_names"},
                                                         {"stream_with_underscores"}});
  CHECK(query_rows("SELECT field_with_special_character FROM "
                   "it_edge_case.stream_with_special_character_names") == Rows{{"one"}});
  CHECK(query_rows("SELECT \"order\" FROM it_edge_case.reserved_keywords") == Rows{{"ascending"}});
  CHECK(query_rows("SELECT \"authorization\" FROM it_edge_case.groups") == Rows{{"into"}});
  CHECK(query_rows(
            "SELECT \"fieldWithCamelCase\", field_with_underscore, \"FIELD_WITH_ALL_CAPS\" FROM "
            "it_edge_case.stream_with_edge_case_field_names ORDER BY _airbyte_extracted_at") ==
        Rows{{"one", "NULL", "NULL"}, {"NULL", "one", "NULL"}});
  CHECK(query_rows("SELECT some_id, some_field, some_next_field FROM it_edge_case.stream_name "
                   "ORDER BY some_id") == Rows{{"101", "some_field_1", "some_next_field_1"},
                                               {"102", "some_field_2", "NULL"},
                                               {"103", "NULL", "some_next_field_3"},
                                               {"104", "NULL", "NULL"}});
  CHECK(query_rows("SELECT count(*) FROM it_edge_case.stream_with_dates") == Rows{{"0"}});
}

TEST_CASE("an append stream with no status at all ends normally and keeps its rows", "[write]") {
  auto schema = fresh_schema("it_no_status");
  auto catalog = configure_catalog(fixture_json("exchange_rate_catalog.json"), "append");
  auto result = run_write(schema, catalog,
                          record("exchange_rate", R"({"id":1})") +
                              R"({"type":"STATE","state":{"data":{"n":1}}})"
                              "\n");
  INFO(result.stderr_text);
  CHECK(result.exit_code == 0);
  require_protocol_lines(result);
  CHECK(result.trace_errors().empty());
  CHECK(states(result).size() == 1);
  CHECK(query_rows("SELECT id FROM it_no_status.exchange_rate") == Rows{{"1"}});
}

TEST_CASE("a stream the source reports INCOMPLETE fails the sync as transient but keeps what was "
          "committed",
          "[write]") {
  auto schema = fresh_schema("it_incomplete");
  auto catalog = configure_catalog(fixture_json("exchange_rate_catalog.json"), "append");
  auto result = run_write(
      schema, catalog,
      record("exchange_rate", R"({"id":1})") +
          R"({"type":"STATE","state":{"data":{"n":1}}})"
          "\n"
          R"({"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"exchange_rate"},"status":"INCOMPLETE"}}})"
          "\n");
  INFO(result.stderr_text);
  CHECK(result.exit_code == 1);
  require_protocol_lines(result);
  REQUIRE(result.trace_errors().size() == 1);
  CHECK(result.trace_errors()[0]["failure_type"] == "transient_error");
  CHECK(result.trace_errors()[0]["message"] ==
        "The source reported \"exchange_rate\" as INCOMPLETE. The rows committed for them are "
        "kept (a refresh keeps the table's old rows), and the next sync carries on from the last "
        "state.");
  CHECK(states(result).size() == 1);
  CHECK(query_rows("SELECT id FROM it_incomplete.exchange_rate") == Rows{{"1"}});
}

TEST_CASE("an overwrite stream without COMPLETE keeps the old rows and says which line to add",
          "[write]") {
  auto schema = fresh_schema("it_no_complete");
  auto catalog = configure_catalog(fixture_json("exchange_rate_catalog.json"), "overwrite", 1, 1);
  auto first = run_write(schema, catalog,
                         record("exchange_rate", R"({"id":1})") + complete_statuses(catalog));
  REQUIRE(first.exit_code == 0);
  auto result = run_write(schema, catalog,
                          record("exchange_rate", R"({"id":2})") +
                              R"({"type":"STATE","state":{"data":{"n":2}}})"
                              "\n");
  INFO(result.stderr_text);
  CHECK(result.exit_code == 1);
  require_protocol_lines(result);
  REQUIRE(result.trace_errors().size() == 1);
  CHECK(result.trace_errors()[0]["failure_type"] == "transient_error");
  CHECK(
      result.trace_errors()[0]["message"] ==
      "The input ended without a COMPLETE status for \"exchange_rate\", which replace their "
      "tables' rows, so the old rows were kept and nothing was replaced. If the source did read "
      "those streams in full, add these lines at the end of the input:\n"
      R"({"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":0,"stream_status":{"stream_descriptor":{"name":"exchange_rate"},"status":"COMPLETE"}}})"
      "\nA rerun of the same input resumes into the staging tables and replaces the rows once "
      "each stream is complete.");
  CHECK(states(result).size() == 1);
  CHECK(query_rows("SELECT id FROM it_no_complete.exchange_rate") == Rows{{"1"}});
  // A rerun from the last state, ending as the message says, completes the refresh.
  auto rerun = run_write(schema, catalog, complete_statuses(catalog));
  CHECK(rerun.exit_code == 0);
  CHECK(query_rows("SELECT id FROM it_no_complete.exchange_rate") == Rows{{"2"}});
}

TEST_CASE("a record for a stream not in the catalog stops the sync, naming the line", "[write]") {
  auto schema = fresh_schema("it_unknown_stream");
  auto catalog = users_catalog();
  std::string messages = record("users", R"({"id":1})") + stream_state("users", 1) +
                         record("nope", R"({"id":2})") + record("users", R"({"id":3})") +
                         stream_state("users", 3) + complete_statuses(catalog);
  auto result = run_write(schema, catalog, messages);
  CHECK(result.exit_code == 1);
  require_protocol_lines(result);
  REQUIRE(result.trace_errors().size() == 1);
  CHECK(result.trace_errors()[0]["message"] ==
        "Input line 3 has a record for stream \"nope\", which is not in the catalog.");
  CHECK(result.trace_errors()[0]["failure_type"] == "system_error");
  for (const auto& state : states(result))
    CHECK(state["stream"]["stream_state"]["cursor"] != 3);
  CHECK(query_rows("SELECT count(*) FROM it_unknown_stream.users WHERE id = 3") == Rows{{"0"}});
}

TEST_CASE("a malformed line stops the sync, naming the line, no later state", "[write]") {
  auto schema = fresh_schema("it_malformed");
  auto catalog = users_catalog();
  for (const std::string& bad :
       {std::string(R"({"type":"RECORD","record":{"stream":"users","emitted_at":1,"data":{"id":)"),
        std::string("not json at all"),
        std::string(R"({"type":"RECORD","record":{"stream":"users","data":{"id":2}}})")}) {
    std::string messages = record("users", R"({"id":1})") + stream_state("users", 1) + bad + "\n" +
                           record("users", R"({"id":3})") + stream_state("users", 3) +
                           complete_statuses(catalog);
    auto result = run_write(schema, catalog, messages);
    INFO(bad);
    CHECK(result.exit_code == 1);
    require_protocol_lines(result);
    REQUIRE(result.trace_errors().size() == 1);
    std::string message = result.trace_errors()[0]["message"];
    CHECK(message.rfind("Input line 3 is not a valid Airbyte message: ", 0) == 0);
    for (const auto& state : states(result))
      CHECK(state["stream"]["stream_state"]["cursor"] != 3);
  }
  CHECK(query_rows("SELECT count(*) FROM it_malformed.users WHERE id = 3") == Rows{{"0"}});
}

TEST_CASE("names that try SQL injection are just names", "[write]") {
  auto schema = fresh_schema("it_injection");
  {
    auto connection = test_connection();
    pqxx::work work(connection);
    work.exec0("CREATE SCHEMA it_injection; CREATE TABLE it_injection.victims (id int); "
               "INSERT INTO it_injection.victims VALUES (1)");
    work.commit();
  }
  std::string stream = "x\\\"; DROP TABLE it_injection.victims; --";
  nlohmann::ordered_json catalog = configure_catalog(
      {{"streams",
        {{{"name", "x\"; DROP TABLE it_injection.victims; --"},
          {"json_schema",
           {{"type", "object"},
            {"properties",
             {{"a\"); DROP TABLE it_injection.victims; --", {{"type", "string"}}}}}}}}}}},
      "append");
  std::string messages =
      record(stream, R"({"a\"); DROP TABLE it_injection.victims; --":"v'); --"})") +
      complete_statuses(catalog);
  auto result = run_write(schema, catalog, messages);
  INFO(result.stderr_text);
  REQUIRE(result.exit_code == 0);
  require_protocol_lines(result);
  CHECK(query_rows("SELECT count(*) FROM it_injection.victims") == Rows{{"1"}});
  CHECK(query_rows(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'it_injection' "
            "ORDER BY table_name") ==
        Rows{{"victims"}, {"x___DROP_TABLE_it_injection_victims____"}});
  CHECK(query_rows("SELECT \"a____DROP_TABLE_it_injection_victims____\" FROM "
                   "it_injection.\"x___DROP_TABLE_it_injection_victims____\"") ==
        Rows{{"v'); --"}});
}

TEST_CASE("200,000 generated records load in bounded memory with 20 states back",
          "[write][volume]") {
  auto schema = fresh_schema("it_volume");
  auto messages_path = write_temp_file("volume.jsonl", "");
  auto catalog_path = write_temp_file("volume-catalog.json", "");
  std::string command = "python3 " + std::string(PGDEST_SOURCE_DIR) +
                        "/bench/gen_messages.py --records 200000 --namespace it_volume --out " +
                        messages_path + " --catalog " + catalog_path;
  REQUIRE(std::system(command.c_str()) == 0);
  auto catalog = nlohmann::ordered_json::parse(read_text_file(catalog_path));
  auto messages = read_text_file(messages_path) + complete_statuses(catalog);
  auto result = run_write(schema, catalog, messages);
  INFO(result.stderr_text);
  REQUIRE(result.exit_code == 0);
  auto emitted = states(result);
  REQUIRE(emitted.size() == 20);
  for (const auto& state : emitted)
    CHECK(state["destinationStats"]["recordCount"] == 10000.0);
  CHECK(emitted.back()["stream"]["stream_state"]["cursor"] == 200000);
  CHECK(query_rows("SELECT count(*), count(DISTINCT id) FROM it_volume.users") ==
        Rows{{"200000", "200000"}});
#ifndef PGDEST_SANITIZED // sanitizers multiply memory use
  CHECK(result.max_rss_kib < 256 * 1024);
#endif
}

TEST_CASE("regression: the first commit waits for a trigger instead of firing after 16 records",
          "[write]") {
  auto schema = fresh_schema("it_first_commit");
  auto catalog = users_catalog();
  std::string messages;
  for (int id = 0; id < 1000; ++id)
    messages += record("users", "{\"id\":" + std::to_string(id) + "}");
  auto result = run_write(schema, catalog,
                          messages + stream_state("users", 1000) + complete_statuses(catalog));
  REQUIRE(result.exit_code == 0);
  // One transaction wrote them all: the rows share one inserting transaction id.
  CHECK(query_rows("SELECT count(DISTINCT xmin::text) FROM it_first_commit.users") == Rows{{"1"}});
}
