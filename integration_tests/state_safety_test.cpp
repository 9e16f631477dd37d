// STATE messages leave only after their records are committed, whatever happens to the connection.
#include <catch2/catch.hpp>

#include "support/harness.hpp"
#include "support/sync.hpp"

using namespace pgdest::testing;
using Rows = std::vector<std::vector<std::string>>;

namespace {

nlohmann::ordered_json users_catalog() {
  return configure_catalog(
      {{"streams",
        {{{"name", "users"},
          {"json_schema",
           {{"type", "object"}, {"properties", {{"id", {{"type", "integer"}}}}}}}}}}},
      "append");
}

std::string records_and_state(int count) {
  std::string text;
  for (int id = 1; id <= count; ++id)
    text +=
        R"({"type":"RECORD","record":{"stream":"users","emitted_at":1700000000000,"data":{"id":)" +
        std::to_string(id) + "}}}\n";
  text +=
      R"({"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},)"
      R"("stream_state":{"cursor":)" +
      std::to_string(count) + "}}}}\n";
  return text;
}

// A sync of no records, so that the stream's table exists and can be locked.
void create_table(const std::string& schema, const nlohmann::ordered_json& config,
                  const nlohmann::ordered_json& catalog) {
  auto setup = run_connector(write_args(schema, config, catalog), complete_statuses(catalog));
  REQUIRE(setup.exit_code == 0);
}

} // namespace

TEST_CASE("no STATE is emitted when the connection dies before the commit", "[write][state]") {
  auto schema = fresh_schema("it_state_lost");
  auto config = own_role_config(schema, "it_state_lost_user");
  auto catalog = users_catalog();
  create_table(schema, config, catalog);
  WriteBlocker lock("it_state_lost.users");

  ConnectorProcess connector(write_args(schema, config, catalog));
  connector.write_stdin(records_and_state(100));
  // The rows are read and sent, but cannot be committed while the table is locked.
  auto watcher = test_connection();
  REQUIRE(wait_for_statement(watcher, "it_state_lost_user", "COPY ", 30.0));
  CHECK(states(connector.lines()).empty());
  exec("ALTER ROLE it_state_lost_user NOLOGIN");
  terminate_sessions_of("it_state_lost_user");
  lock.commit();
  connector.write_stdin(complete_statuses(catalog));
  auto result = connector.wait();
  INFO(result.stderr_text);
  CHECK(result.exit_code == 1);
  CHECK(result.messages("STATE").empty());
  REQUIRE(result.trace_errors().size() == 1);
  // The replay's new connection is refused. (Its failure_type is checked in
  // fault_session_test.cpp: a role that may not log in.)
  CHECK(result.trace_errors()[0]["message"] ==
        "Could not connect to 127.0.0.1:" + std::to_string(config["port"].get<int>()) +
            ": role \"it_state_lost_user\" is not permitted to log in. Let the role log in (ALTER "
            "ROLE \"it_state_lost_user\" LOGIN;), or use another user.");
  CHECK(protocol_violations(result.stdout_lines).empty());
  for (const auto& line : result.stdout_lines)
    CHECK(line.find("secret-it_state_lost_user") == std::string::npos);
  CHECK(query_rows("SELECT count(*) FROM it_state_lost.users") == Rows{{"0"}});
  drop_role("it_state_lost_user");
}

TEST_CASE("a connection dropped mid-batch is retried on a new one: rows once, state once",
          "[write][state]") {
  // Both modes load over several connections: all are cut off, all retry.
  for (const std::string mode : {"append", "append_dedup"}) {
    INFO(mode);
    auto schema = fresh_schema("it_state_retry");
    auto config = own_role_config(schema, "it_state_retry_user");
    auto catalog = users_catalog();
    if (mode == "append_dedup") {
      catalog["streams"][0]["destination_sync_mode"] = mode;
      catalog["streams"][0]["primary_key"] = {{"id"}};
    }
    create_table(schema, config, catalog);
    WriteBlocker lock("it_state_retry.users");

    ConnectorProcess connector(write_args(schema, config, catalog));
    connector.write_stdin(records_and_state(1000));
    // Cut off only once a COPY is in flight (it waits for the lock), so that there is an open
    // transaction to replay.
    cut_off_while_running("it_state_retry_user", "COPY ");
    CHECK(states(connector.lines()).empty()); // the lock still holds the commit back
    lock.commit();
    CHECK(connector.wait_for_line("\"type\":\"STATE\"", 30.0));
    connector.write_stdin(complete_statuses(catalog));
    auto result = connector.wait();
    INFO(result.stderr_text);
    CHECK(result.exit_code == 0);
    CHECK(result.trace_errors().empty());
    auto emitted = states(result);
    REQUIRE(emitted.size() == 1);
    CHECK(emitted[0]["destinationStats"]["recordCount"] == 1000.0);
    CHECK(query_rows("SELECT count(*), count(DISTINCT id) FROM it_state_retry.users") ==
          Rows{{"1000", "1000"}});
    drop_role("it_state_retry_user");
  }
}

TEST_CASE("with two connections, no STATE leaves while either has not committed its rows",
          "[write][state]") {
  // An append_dedup stream loads over two connections (max_connections), split by key. A trigger
  // fails the COPY of one record, after a pause long enough for the other connection to commit its
  // rows first (once one connection fails, a COMMIT still queued on the other no longer runs). Run
  // twice, the second time failing a record of the connection that committed the first time, so
  // that each connection is once the one that fails.
  auto catalog = users_catalog();
  catalog["streams"][0]["destination_sync_mode"] = "append_dedup";
  catalog["streams"][0]["primary_key"] = {{"id"}};
  std::string failing_id = "50";
  for (int run = 0; run < 2; ++run) {
    INFO("failing id " << failing_id);
    auto schema = fresh_schema("it_state_lanes");
    auto config = test_config(schema);
    config["max_connections"] = 2;
    create_table(schema, config, catalog);
    exec("CREATE FUNCTION it_state_lanes.refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ "
         "BEGIN IF NEW.id = " +
         failing_id +
         " THEN PERFORM pg_sleep(2); RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$; "
         "CREATE TRIGGER refuse_one BEFORE INSERT ON it_state_lanes.users FOR EACH ROW EXECUTE "
         "FUNCTION it_state_lanes.refuse_one()");
    auto result = run_connector(write_args(schema, config, catalog),
                                records_and_state(100) + complete_statuses(catalog));
    CHECK(result.exit_code == 1);
    CHECK(result.messages("STATE").empty());
    CHECK(result.trace_errors().size() == 1);
    CHECK(protocol_violations(result.stdout_lines).empty());
    // The other connection's rows were committed: about half, never the refused one.
    auto committed = query_rows("SELECT id FROM it_state_lanes.users ORDER BY id");
    CHECK(committed.size() > 10);
    CHECK(committed.size() < 90);
    for (const auto& row : committed)
      REQUIRE(row[0] != failing_id);
    REQUIRE_FALSE(committed.empty());
    failing_id = committed.front()[0];
  }
}
