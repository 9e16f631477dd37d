// History mode: every version of every key of an append_dedup stream in <table>_scd, with
// Airbyte's two-sync fixtures.
#include <catch2/catch.hpp>

#include "support/fixture_syncs.hpp"
#include "support/harness.hpp"
#include "support/sync.hpp"

using namespace pgdest::testing;
using Json = nlohmann::ordered_json;

namespace {

const Json kHistoryOn = {{"history_mode", true}};

// The history of the fixture's stream, per key in version order: the key, name, city, cursor,
// interval, active flag, whether a CDC deletion.
Rows history(const std::string& schema) {
  return query_rows("SELECT id1, id2, name, address->>'city', updated_at AT TIME ZONE 'UTC', "
                    "_airbyte_start_at AT "
                    "TIME ZONE 'UTC', _airbyte_end_at AT TIME ZONE 'UTC', _airbyte_active_row, "
                    "_ab_cdc_deleted_at IS NOT NULL FROM \"" +
                    schema +
                    "\".users_scd ORDER BY id1, id2, _airbyte_start_at, _airbyte_extracted_at, "
                    "_airbyte_raw_id");
}

// What must hold of any history: each version once; per key, each version ends where the next
// begins (so intervals never overlap) and never before it starts; the active versions are exactly
// the rows of the deduplicated table, so one per live key and none for a deleted key.
void check_history_consistent(const std::string& schema) {
  const std::string table = "\"" + schema + "\".users";
  const std::string scd = "\"" + schema + "\".users_scd";
  CHECK(query_rows("SELECT count(*) - count(DISTINCT _airbyte_raw_id) FROM " + scd) == Rows{{"0"}});
  CHECK(query_rows("SELECT count(*) FROM (SELECT _airbyte_start_at, _airbyte_end_at, "
                   "lead(_airbyte_start_at) OVER w AS next_start FROM " +
                   scd +
                   " WINDOW w AS (PARTITION BY id1, id2 ORDER BY _airbyte_start_at, "
                   "_airbyte_extracted_at, _airbyte_raw_id)) v WHERE _airbyte_end_at IS DISTINCT "
                   "FROM next_start OR _airbyte_end_at < _airbyte_start_at") == Rows{{"0"}});
  CHECK(query_rows("SELECT count(*) FROM " + table + " t FULL JOIN (SELECT * FROM " + scd +
                   " WHERE _airbyte_active_row) h ON t._airbyte_raw_id = h._airbyte_raw_id WHERE "
                   "t._airbyte_raw_id IS NULL OR h._airbyte_raw_id IS NULL") == Rows{{"0"}});
  CHECK(query_rows("SELECT count(*) FROM " + scd +
                   " WHERE _airbyte_unique_key <> md5(id1::text || '-' || id2::text)") ==
        Rows{{"0"}});
}

const char* const kSpecial = "a\bb\fc\nd\re\tf`~!@#$%^&*()_+-=[]\\{}|'\",./<>?";

// The history after sync1: (1,200) twice in the one sync, in cursor order.
const Rows kSync1History = {
    {"1", "200", "Alice", "San Francisco", "2000-01-01 00:00:00", "2000-01-01 00:00:00",
     "2000-01-01 00:01:00", "f", "f"},
    {"1", "200", "Alice", "Los Angeles", "2000-01-01 00:01:00", "2000-01-01 00:01:00", "NULL", "t",
     "f"},
    {"1", "201", "Bob", "Boston", "2000-01-01 00:02:00", "2000-01-01 00:02:00", "NULL", "t", "f"},
    {"2", "200", "Charlie", "NULL", "2000-01-01 00:03:00", "2000-01-01 00:03:00", "NULL", "t", "f"},
    {"3", "200", kSpecial, "NULL", "2000-01-01 00:04:00", "2000-01-01 00:04:00", "NULL", "t", "f"}};

// sync2's versions of (1,200) and (1,201), the last a CDC deletion that closes Bob's history.
const Rows kSync2Versions = {
    {"1", "200", "Alice", "Seattle", "2000-01-02 00:00:00", "2000-01-02 00:00:00", "NULL", "t",
     "f"},
    {"1", "201", "Bob", "New York", "2000-01-02 00:00:00", "2000-01-02 00:00:00",
     "2000-01-02 00:01:00", "f", "f"},
    {"1", "201", "NULL", "NULL", "2000-01-02 00:01:00", "2000-01-02 00:01:00", "NULL", "f", "t"}};

// The history after sync1 then sync2.
Rows sync2_history() {
  auto closed = [](std::vector<std::string> row, const std::string& end) {
    row[6] = end;
    row[7] = "f";
    return row;
  };
  return {kSync1History[0],  closed(kSync1History[1], "2000-01-02 00:00:00"),
          kSync2Versions[0], closed(kSync1History[2], "2000-01-02 00:00:00"),
          kSync2Versions[1], kSync2Versions[2],
          kSync1History[3],  kSync1History[4]};
}

StreamSpec generation(long id) {
  StreamSpec spec;
  spec.generation = id;
  return spec;
}

// A fresh schema `name` after sync1 in history mode.
std::string after_sync1_with_history(const std::string& name) {
  auto schema = fresh_schema(name);
  require_ok(sync(schema, catalog_of(generation(1)), records_for("sync1_messages.jsonl", "users"),
                  true, kHistoryOn));
  return schema;
}

std::string warnings(const RunResult& result) {
  std::string out;
  for (const auto& log : result.messages("LOG"))
    if (log["log"]["level"] == "WARN")
      out += log["log"]["message"].get<std::string>() + "\n";
  return out;
}

} // namespace

TEST_CASE("history: sync1 then sync2 keep every version per key in cursor order, a CDC deletion "
          "closing its key's history, and the dedup table as without history",
          "[modes][dedup][history]") {
  auto schema = after_sync1_with_history("it_history");
  CHECK(users(schema) == kSync1Deduped);
  CHECK(history(schema) == kSync1History);
  check_history_consistent(schema);
  require_ok(sync(schema, catalog_of(generation(2)), records_for("sync2_messages.jsonl", "users"),
                  true, kHistoryOn));
  CHECK(users(schema) == kSync2Deduped);
  CHECK(history(schema) == sync2_history());
  check_history_consistent(schema);
  CHECK(tables_in(schema) == Rows{{"users"}, {"users_scd"}});
}

TEST_CASE("history with soft CDC deletes: sync1 then sync2, the deletion an ordinary version that "
          "is current",
          "[modes][dedup][history]") {
  // Without deletions to keep, the dedup DELETE places the earlier versions again, for the keys
  // the table held: the other path to the same history.
  auto schema = fresh_schema("it_history_soft");
  Json config = kHistoryOn;
  config["cdc_deletion_mode"] = "Soft delete";
  require_ok(sync(schema, catalog_of(generation(1)), records_for("sync1_messages.jsonl", "users"),
                  true, config));
  CHECK(history(schema) == kSync1History);
  require_ok(sync(schema, catalog_of(generation(2)), records_for("sync2_messages.jsonl", "users"),
                  true, config));
  auto expected = sync2_history();
  expected[5][7] = "t"; // Bob's deletion: his current version
  CHECK(history(schema) == expected);
  check_history_consistent(schema);
}

TEST_CASE("history: versions of one key over many commits of one sync, and a late older version "
          "placed between the ones it came after",
          "[modes][dedup][history]") {
  const std::string deletions = GENERATE("Hard delete", "Soft delete");
  INFO(deletions);
  auto schema = fresh_schema("it_history_commits");
  StreamSpec spec;
  auto version = [](int minute) {
    return record("users", R"({"id1":1,"id2":1,"updated_at":"2000-01-01T00:)" +
                               std::string(minute < 10 ? "0" : "") + std::to_string(minute) +
                               R"(:00Z","name":"v)" + std::to_string(minute) + "\"}");
  };
  // Each record its own commit: the connector commits after a second without input.
  auto catalog = catalog_of(spec);
  auto config = test_config(schema);
  config.update(kHistoryOn);
  config["cdc_deletion_mode"] = deletions;
  ConnectorProcess connector(write_args(schema, config, catalog));
  int state = 0;
  for (int minute : {10, 30, 20}) {
    connector.write_stdin(version(minute) + state_line(++state));
    REQUIRE(connector.wait_for_line("{\"n\":" + std::to_string(state) + "}", 30.0));
  }
  connector.write_stdin(complete_statuses(catalog));
  require_ok(connector.wait());
  CHECK(query_rows("SELECT name, _airbyte_start_at AT TIME ZONE 'UTC', _airbyte_end_at AT TIME "
                   "ZONE 'UTC', _airbyte_active_row FROM it_history_commits.users_scd ORDER BY "
                   "_airbyte_start_at") ==
        Rows{{"v10", "2000-01-01 00:10:00", "2000-01-01 00:20:00", "f"},
             {"v20", "2000-01-01 00:20:00", "2000-01-01 00:30:00", "f"},
             {"v30", "2000-01-01 00:30:00", "NULL", "t"}});
  check_history_consistent(schema);
  CHECK(query_rows("SELECT name FROM it_history_commits.users") == Rows{{"v30"}});
}

TEST_CASE("history: a connection killed during the history's commit is replayed without "
          "duplicating a version",
          "[modes][dedup][history][fault]") {
  auto schema = fresh_schema("it_history_kill");
  auto config = own_role_config(schema, "it_history_kill_user");
  config["history_mode"] = true;
  auto catalog1 = catalog_of(generation(1));
  require_ok(sync(schema, catalog1, records_for("sync1_messages.jsonl", "users"), true, config));

  auto catalog2 = catalog_of(generation(2));
  // Reads pass; the history statement waits.
  WriteBlocker lock("it_history_kill.users_scd");
  ConnectorProcess connector(write_args(schema, config, catalog2));
  connector.write_stdin(records_for("sync2_messages.jsonl", "users") + state_line(1));
  cut_off_while_running("it_history_kill_user", "DO $history$");
  lock.commit();
  CHECK(connector.wait_for_line("\"type\":\"STATE\"", 30.0));
  connector.write_stdin(complete_statuses(catalog2));
  auto result = connector.wait();
  INFO(result.stderr_text);
  CHECK(result.exit_code == 0);
  CHECK(result.trace_errors().empty());
  CHECK(users(schema) == kSync2Deduped);
  CHECK(history(schema) == sync2_history());
  check_history_consistent(schema);
  drop_role("it_history_kill_user");
}

TEST_CASE("history: turned off, the history table is left as it was, and turned on for a table "
          "with rows, it starts from them",
          "[modes][dedup][history]") {
  auto schema = after_sync1_with_history("it_history_switch");
  require_ok(sync(schema, catalog_of(generation(2)), records_for("sync2_messages.jsonl", "users")));
  CHECK(users(schema) == kSync2Deduped);
  CHECK(history(schema) == kSync1History);

  auto later = fresh_schema("it_history_later");
  require_ok(sync(later, catalog_of(generation(1)), records_for("sync1_messages.jsonl", "users")));
  require_ok(sync(later, catalog_of(generation(2)), records_for("sync2_messages.jsonl", "users"),
                  true, kHistoryOn));
  CHECK(users(later) == kSync2Deduped);
  // sync1's rows as the table held them (only the newest of (1,200)), then sync2's versions.
  auto expected = sync2_history();
  expected.erase(expected.begin());
  CHECK(history(later) == expected);
  check_history_consistent(later);
}

TEST_CASE("history: a truncate refresh starts the history anew with the refreshed rows",
          "[modes][dedup][history][refresh]") {
  auto schema = after_sync1_with_history("it_history_refresh");
  StreamSpec refresh = generation(2);
  refresh.minimum_generation = 2;
  // An unfinished refresh leaves the final table and its history as they were.
  CHECK(sync(schema, catalog_of(refresh), records_for("sync2_messages.jsonl", "users"), false,
             kHistoryOn)
            .exit_code == 1);
  CHECK(users(schema) == kSync1Deduped);
  CHECK(history(schema) == kSync1History);
  CHECK(query_rows("SELECT count(*) FROM it_history_refresh.users_scd_airbyte_tmp") == Rows{{"3"}});
  // Resumed and completed: only the new generation's versions.
  require_ok(sync(schema, catalog_of(refresh), "", true, kHistoryOn));
  CHECK(history(schema) == kSync2Versions);
  // A new generation that does not finish starts its staging history over too.
  refresh.generation = refresh.minimum_generation = 3;
  sync(schema, catalog_of(refresh), record("users", R"({"id1":5,"id2":5})"), false, kHistoryOn);
  refresh.generation = refresh.minimum_generation = 4;
  require_ok(
      sync(schema, catalog_of(refresh), record("users", R"({"id1":6,"id2":6})"), true, kHistoryOn));
  CHECK(query_rows("SELECT id1, _airbyte_active_row FROM it_history_refresh.users_scd") ==
        Rows{{"6", "t"}});
  check_history_consistent(schema);
  CHECK(tables_in(schema) == Rows{{"users"}, {"users_scd"}});
}

TEST_CASE("history_mode says in one warning which streams it does nothing for",
          "[modes][history]") {
  auto schema = fresh_schema("it_history_warn");
  StreamSpec append;
  append.name = "events";
  append.mode = "append";
  auto result = sync(schema, catalog_of(std::vector<StreamSpec>{StreamSpec{}, append}),
                     records_for("sync1_messages.jsonl", "users"), true, kHistoryOn);
  require_ok(result);
  CHECK(warnings(result) ==
        "history_mode keeps the history of append_dedup streams only; it does nothing for events "
        "(append).\n");
  CHECK(tables_in(schema) == Rows{{"events"}, {"users"}, {"users_scd"}});

  auto raw = sync(fresh_schema("it_history_warn_raw"), catalog_of(StreamSpec{}),
                  records_for("sync1_messages.jsonl", "users"), true,
                  {{"history_mode", true},
                   {"disable_type_dedupe", true},
                   {"raw_data_schema", "it_history_warn_raw"}});
  require_ok(raw);
  CHECK(warnings(raw).find("history_mode does nothing in raw tables mode") != std::string::npos);
  // The raw table and the connector's own tables, no history table.
  CHECK(tables_in("it_history_warn_raw") == Rows{{"_airbyte_rejected_values"},
                                                 {"_airbyte_sync_log"},
                                                 {"it_history_warn_raw_raw__stream_users"}});
}
