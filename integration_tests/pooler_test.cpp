// The main scenarios through a transaction pooler: PgBouncer with pool_mode = transaction and two
// server connections (scripts/pgbouncer-sandbox), where any transaction of the connector may run
// on another server connection than the one before; and the transaction-scoped settings that
// make that work, which must be as right on a direct connection.
#include <catch2/catch.hpp>

#include "support/fixture_syncs.hpp"
#include "support/harness.hpp"
#include "support/pooler.hpp"
#include "support/sync.hpp"

using namespace pgdest::testing;
using Json = nlohmann::ordered_json;

namespace {

// Enough distinct keys that both connections of a dedup sync get rows and hold a transaction at
// once, so that each server connection of a pool of two serves the connector.
std::string numbered_records(const std::string& stream, int count, const std::string& tag,
                             std::size_t padding = 0) {
  const std::string pad(padding, 'p');
  std::string body;
  for (int id = 1; id <= count; ++id)
    body += record(stream, R"({"id":)" + std::to_string(id) + R"(,"name":")" + tag +
                               std::to_string(id % 7) + pad + R"("})");
  return body;
}

StreamSpec keyed_by_id() {
  StreamSpec spec;
  spec.schema = Json::parse(
      R"({"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"}}})");
  spec.primary_key = Json::parse(R"([["id"]])");
  spec.cursor = Json::array();
  return spec;
}

bool logged(const std::vector<std::string>& lines, const std::string& text) {
  for (const auto& line : lines)
    if (line.find(R"("type":"LOG")") != std::string::npos && line.find(text) != std::string::npos)
      return true;
  return false;
}

// What each server connection of a pool of two carries from earlier clients: the settings made for
// the session (but those the pooler itself sets for each client) and how many temporary tables it
// holds. Both are asked at once, each in an open transaction, so that two different server
// connections answer.
Rows pool_leftovers(const Json& pooler) {
  auto first = connect_through(pooler);
  auto second = connect_through(pooler);
  pqxx::work first_work(first);
  pqxx::work second_work(second);
  const std::string query =
      "SELECT coalesce(string_agg(name, ', ' ORDER BY name) FILTER (WHERE source = 'session' AND "
      "name NOT IN ('application_name', 'client_encoding', 'DateStyle', 'TimeZone', "
      "'standard_conforming_strings')), ''), (SELECT count(*) FROM pg_class WHERE relnamespace = "
      "pg_my_temp_schema()) FROM pg_settings";
  Rows found;
  for (auto* work : {&first_work, &second_work}) {
    auto row = work->exec1(query);
    found.push_back({row[0].c_str(), row[1].c_str()});
  }
  return found;
}

} // namespace

TEST_CASE("a sync through a transaction pooler leaves no settings or tables on its server "
          "connections",
          "[pooler]") {
  auto pooler = shared_pooler();
  if (!pooler)
    return;
  auto schema = fresh_schema("it_pooler_leftovers");
  require_ok(
      sync(schema, catalog_of(keyed_by_id()), numbered_records("users", 40, "n"), true, *pooler));
  CHECK(pool_leftovers(*pooler) == Rows{{"", "0"}, {"", "0"}});
}

TEST_CASE("through a transaction pooler, a dedup stream's key may change between syncs",
          "[pooler][dedup]") {
  auto pooler = shared_pooler();
  if (!pooler)
    return;
  auto schema = fresh_schema("it_pooler_key_change");
  auto spec = keyed_by_id();
  require_ok(sync(schema, catalog_of(spec), numbered_records("users", 40, "n"), true, *pooler));
  CHECK(query_rows("SELECT count(*) FROM it_pooler_key_change.users") == Rows{{"40"}});
  // The same server connections now serve a sync whose keys are names (another column, another
  // type): nothing of the first sync's keys may be left on them.
  spec.primary_key = Json::parse(R"([["name"]])");
  require_ok(sync(schema, catalog_of(spec), numbered_records("users", 40, "m"), true, *pooler));
  CHECK(query_rows("SELECT name, count(*) FROM it_pooler_key_change.users WHERE name LIKE 'm%' "
                   "GROUP BY name ORDER BY name") == Rows{{"m0", "1"},
                                                          {"m1", "1"},
                                                          {"m2", "1"},
                                                          {"m3", "1"},
                                                          {"m4", "1"},
                                                          {"m5", "1"},
                                                          {"m6", "1"}});
}

TEST_CASE("every COPY and DELETE of a load runs with the connector's settings, directly and "
          "through a transaction pooler",
          "[pooler][settings]") {
  auto pooler = shared_pooler();
  if (!pooler)
    return;
  for (const Json& route : {Json::object(), *pooler}) {
    INFO("through " << (route.empty() ? "a direct connection" : "the pooler"));
    auto schema = fresh_schema("it_pooler_settings");
    StreamSpec spec;
    require_ok(
        sync(schema, catalog_of(spec), records_for("sync1_messages.jsonl", "users"), true, route));
    // Each COPY and each DELETE of the next sync records the settings it ran with.
    exec("CREATE TABLE it_pooler_settings.seen (statement text, time_zone text, work_mem text, "
         "jit text);"
         "CREATE FUNCTION it_pooler_settings.note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
         "INSERT INTO it_pooler_settings.seen VALUES (TG_OP, current_setting('TimeZone'), "
         "current_setting('work_mem'), current_setting('jit')); RETURN NULL; END $$;"
         "CREATE TRIGGER note AFTER INSERT OR DELETE ON it_pooler_settings.users "
         "FOR EACH STATEMENT EXECUTE FUNCTION it_pooler_settings.note()");
    spec.generation = 2;
    require_ok(
        sync(schema, catalog_of(spec), records_for("sync2_messages.jsonl", "users"), true, route));
    CHECK(users(schema) == kSync2Deduped);
    CHECK(query_rows("SELECT DISTINCT time_zone, work_mem, jit FROM it_pooler_settings.seen") ==
          Rows{{"UTC", "128MB", "off"}});
    CHECK(query_rows("SELECT DISTINCT statement FROM it_pooler_settings.seen ORDER BY 1") ==
          Rows{{"DELETE"}, {"INSERT"}});
  }
}

TEST_CASE("a type change converts dates and timestamps in UTC for a role in another time zone",
          "[pooler][settings][evolution]") {
  auto schema = fresh_schema("it_tz_conversion");
  auto config = own_role_config(schema, "it_tokyo_user");
  exec("ALTER ROLE it_tokyo_user SET timezone = 'Asia/Tokyo'");
  StreamSpec spec;
  spec.mode = "append";
  spec.schema = Json::parse(R"({"type":"object","properties":{"id":{"type":"integer"},
      "day":{"type":"string","format":"date"},"at":{"type":"string","format":"date-time"}}})");
  require_ok(sync(schema, catalog_of(spec),
                  record("users", R"({"id":1,"day":"2000-01-01","at":"2000-01-01T00:00:00Z"})"),
                  true, config));
  // date → timestamptz reads a date as its midnight in the session's time zone, and timestamptz
  // → varchar writes the session's offset: both must be UTC's, whatever the role's.
  spec.schema["properties"]["day"] = {{"type", "string"}, {"format", "date-time"}};
  spec.schema["properties"]["at"] = {{"type", "string"}};
  require_ok(sync(schema, catalog_of(spec), "", true, config));
  CHECK(column_types(schema, "users").back() == "at:character varying");
  CHECK(query_rows("SELECT day AT TIME ZONE 'UTC', at FROM it_tz_conversion.users") ==
        Rows{{"2000-01-01 00:00:00", "2000-01-01 00:00:00+00"}});
  drop_role("it_tokyo_user");
}

TEST_CASE("check through a transaction pooler", "[pooler]") {
  auto pooler = shared_pooler();
  if (!pooler)
    return;
  auto config = test_config("it_pooler_check");
  config.update(*pooler);
  auto run = run_connector(
      {"check", "--config", write_temp_file("pooler-check-config.json", config.dump())});
  CHECK(run.exit_code == 0);
  CHECK(protocol_violations(run.stdout_lines).empty());
  auto statuses = run.messages("CONNECTION_STATUS");
  REQUIRE(statuses.size() == 1);
  CHECK(statuses[0]["connectionStatus"]["status"] == "SUCCEEDED");
}

TEST_CASE("session settings in jdbc_url_params through a pooler that refuses them say what to do",
          "[pooler]") {
  auto pooler = shared_pooler();
  if (!pooler)
    return;
  auto config = test_config("it_pooler_options");
  config.update(*pooler);
  config["jdbc_url_params"] = "currentSchema=secret_schema_name";
  auto check = run_connector(
      {"check", "--config", write_temp_file("pooler-options-config.json", config.dump())});
  auto statuses = check.messages("CONNECTION_STATUS");
  REQUIRE(statuses.size() == 1);
  const std::string message = statuses[0]["connectionStatus"]["message"];
  CHECK(statuses[0]["connectionStatus"]["status"] == "FAILED");
  CHECK(message.find("unsupported startup parameter: options") != std::string::npos);
  CHECK(message.find("remove options and currentSchema from jdbc_url_params") != std::string::npos);
  CHECK(message.find("secret_schema_name") == std::string::npos);

  auto write = run_write("it_pooler_options", catalog_of(keyed_by_id()),
                         record("users", R"({"id":1})"), config);
  REQUIRE(write.trace_errors().size() == 1);
  CHECK(write.trace_errors()[0]["failure_type"] == "config_error");
}

TEST_CASE("append and dedup with CDC deletions over two syncs through a transaction pooler",
          "[pooler][append][dedup]") {
  auto pooler = shared_pooler();
  if (!pooler)
    return;
  auto schema = fresh_schema("it_pooler_modes");
  StreamSpec dedup;
  StreamSpec append;
  append.name = "appended";
  append.mode = "append";
  auto both = [&] {
    return records_for("sync1_messages.jsonl", "users") +
           records_for("sync1_messages.jsonl", "appended");
  };
  require_ok(sync(schema, catalog_of({dedup, append}), both(), true, *pooler));
  CHECK(users(schema) == kSync1Deduped);
  dedup.generation = 2;
  require_ok(sync(schema, catalog_of({dedup, append}),
                  records_for("sync2_messages.jsonl", "users") +
                      records_for("sync2_messages.jsonl", "appended"),
                  true, *pooler));
  CHECK(users(schema) == kSync2Deduped);
  CHECK(query_rows(
            "SELECT count(*), count(DISTINCT _airbyte_raw_id) FROM it_pooler_modes.appended") ==
        Rows{{"8", "8"}});
}

TEST_CASE("an overwrite keeps the views on its table through a transaction pooler",
          "[pooler][refresh]") {
  auto pooler = shared_pooler();
  if (!pooler)
    return;
  auto schema = fresh_schema("it_pooler_views");
  auto spec = overwrite_spec(1);
  require_ok(
      sync(schema, catalog_of(spec), records_for("sync1_messages.jsonl", "users"), true, *pooler));
  exec("CREATE VIEW it_pooler_views.alices AS SELECT id1, name FROM it_pooler_views.users "
       "WHERE name = 'Alice'");
  spec.generation = spec.minimum_generation = 2;
  require_ok(
      sync(schema, catalog_of(spec), records_for("sync2_messages.jsonl", "users"), true, *pooler));
  CHECK(query_rows("SELECT count(*) FROM it_pooler_views.alices") == Rows{{"1"}});
  CHECK(query_rows("SELECT id1, id2, _airbyte_generation_id FROM it_pooler_views.users ORDER BY "
                   "id1, id2, updated_at") ==
        Rows{{"1", "200", "2"}, {"1", "201", "2"}, {"1", "201", "2"}});
  CHECK(tables_in(schema) == Rows{{"alices"}, {"users"}});
}

TEST_CASE("schema evolution through a transaction pooler: a new column and a type change",
          "[pooler][evolution]") {
  auto pooler = shared_pooler();
  if (!pooler)
    return;
  for (const std::string mode : {"append", "append_dedup"}) {
    INFO(mode);
    auto schema = fresh_schema("it_pooler_evolution");
    auto spec = keyed_by_id();
    spec.mode = mode;
    require_ok(
        sync(schema, catalog_of(spec), record("users", R"({"id":1,"name":"a"})"), true, *pooler));
    spec.schema["properties"]["name"] = {{"type", "object"}};
    spec.schema["properties"]["added"] = {{"type", "boolean"}};
    require_ok(sync(schema, catalog_of(spec),
                    record("users", R"({"id":2,"name":{"b":1},"added":true})", 2000), true,
                    *pooler));
    CHECK(column_types(schema, "users") ==
          std::vector<std::string>{"_airbyte_raw_id:character varying",
                                   "_airbyte_extracted_at:timestamp with time zone",
                                   "_airbyte_meta:jsonb", "_airbyte_generation_id:bigint",
                                   "id:bigint", "name:jsonb", "added:boolean"});
    CHECK(query_rows("SELECT id, name::text, added FROM it_pooler_evolution.users ORDER BY id") ==
          Rows{{"1", R"("a")", "NULL"}, {"2", R"({"b": 1})", "t"}});
  }
}

TEST_CASE("behind a pool of one server connection a dedup sync loads through one connection "
          "instead of waiting for itself",
          "[pooler][dedup]") {
  if (!shared_pooler())
    return;
  // PgBouncer would end the wait with an error after query_wait_timeout.
  PrivatePooler pooler("pool-of-one", {"default_pool_size = 1", "query_wait_timeout = 90"});
  auto schema = fresh_schema("it_pooler_pool_of_one");
  // More rows than the lanes queue (32 MiB): with two lanes, the second would wait for a server
  // connection that the first holds until a commit the reader, blocked on the second, never asks.
  auto result = sync(schema, catalog_of(keyed_by_id()), numbered_records("users", 100000, "n", 450),
                     true, pooler.fields());
  require_ok(result);
  CHECK(logged(result.stdout_lines, "Only 1 of 2 connections could each hold a transaction"));
  CHECK(query_rows("SELECT count(*) FROM it_pooler_pool_of_one.users") == Rows{{"100000"}});
}

TEST_CASE("a change of server process between two transactions is logged as a sign of a "
          "pooler",
          "[pooler]") {
  if (!shared_pooler())
    return;
  PrivatePooler pooler("process-change");
  auto schema = fresh_schema("it_pooler_process_change");
  auto spec = keyed_by_id();
  spec.mode = "append";
  auto config = test_config(schema);
  config.update(pooler.fields());
  // One lane, so that both transactions are of one connection.
  config["max_connections"] = 1;
  ConnectorProcess connector(write_args(schema, config, catalog_of(spec)));
  connector.write_stdin(numbered_records("users", 10, "a") + state_line(1));
  REQUIRE(connector.wait_for_line(R"("n":1)", 30.0));
  // The pooler hands out the server connection used last first: holding it now sends the
  // connector's next transaction to the other one.
  auto holder = connect_through(pooler.fields());
  pqxx::work held(holder);
  held.exec("SELECT 1");
  connector.write_stdin(numbered_records("users", 10, "b") + state_line(2));
  REQUIRE(connector.wait_for_line(R"("n":2)", 30.0));
  held.commit();
  connector.write_stdin(complete_statuses(catalog_of(spec)));
  auto result = connector.wait();
  CHECK(result.exit_code == 0);
  CHECK(logged(result.stdout_lines, "Two transactions of one connection ran in different server "
                                    "processes"));
  CHECK(query_rows("SELECT count(*) FROM it_pooler_process_change.users") == Rows{{"20"}});
}
