// The sync log (`_airbyte_sync_log`): what it says each commit wrote always matches the tables,
// in every mode, when a sync fails, when a connection is lost and its transaction replayed or its
// COMMIT's answer lost, and for a user who may only write to a schema of their own.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "support/fault_input.hpp"
#include "support/fixture_syncs.hpp"
#include "support/harness.hpp"
#include "support/sync.hpp"

using namespace pgdest::testing;
using Json = nlohmann::ordered_json;

namespace {

const std::string kLog = "airbyte_internal._airbyte_sync_log";

// The closing LOG message.
std::string totals_message(const RunResult& result) {
  for (const auto& log : result.messages("LOG")) {
    const std::string message = log["log"]["message"];
    if (message.rfind("Sync totals", 0) == 0)
      return message;
  }
  return {};
}

// Sums of a run's commit rows: records, rows inserted, rows deleted, states released, commits.
Rows commit_sums(const std::string& log, const std::string& run) {
  return query_rows("SELECT sum(records), sum(rows_inserted), sum(rows_deleted), "
                    "sum(states_released), count(DISTINCT commit_number) FROM " +
                    log + " WHERE run_id = '" + run + "' AND kind = 'commit'");
}

// The closing rows of a run: status, table, records, rows inserted, rows deleted, states.
Rows end_rows(const std::string& log, const std::string& run) {
  return query_rows("SELECT stream_name, status, table_name, records, rows_inserted, rows_deleted, "
                    "states_released FROM " +
                    log + " WHERE run_id = '" + run + "' AND kind = 'end' ORDER BY stream_name");
}

// Every commit of the run wrote as many rows as it said it would (no lane missing).
void check_commits_whole(const std::string& log, const std::string& run) {
  CHECK(query_rows("SELECT count(*) FROM (SELECT commit_number FROM " + log + " WHERE run_id = '" +
                   run +
                   "' AND kind = 'commit' GROUP BY commit_number HAVING count(*) <> "
                   "max(commit_rows)) broken") == Rows{{"0"}});
}

// Feeds `batches` batches of `batch` users records, each committed (the input pauses) and its
// STATE out before the next; then the streams' COMPLETE status.
RunResult sync_in_commits(const std::vector<std::string>& args, const Json& catalog, long batches,
                          long batch, long keys = 0) {
  ConnectorProcess connector(args);
  for (long end = batch; end <= batches * batch; end += batch) {
    connector.write_stdin(user_batches(end - batch + 1, end, batch, keys));
    REQUIRE(connector.wait_for_line("\"cursor\":" + std::to_string(end) + "}", 30.0));
  }
  connector.write_stdin(complete_statuses(catalog));
  return connector.wait(60);
}

} // namespace

TEST_CASE("sync log: an append sync in three commits logs each, and the table holds their sum",
          "[synclog][append]") {
  auto schema = fresh_schema("it_synclog_append");
  auto catalog = users_catalog("append");
  auto result = sync_in_commits(write_args(schema, test_config(schema), catalog), catalog, 3, 50);
  require_ok(result);
  const std::string run = run_id_of(result);
  // Each commit's one chunk went to whichever lane had the least to do.
  CHECK(query_rows("SELECT commit_number, commit_rows, records, rows_inserted, rows_deleted, "
                   "states_released, table_schema, table_name, stream_namespace IS NULL, "
                   "duration >= interval '0' AND committed_at <= now() FROM " +
                   kLog + " WHERE run_id = '" + run +
                   "' AND kind = 'commit' ORDER BY commit_number") ==
        Rows{{"1", "1", "50", "50", "0", "1", schema, "users", "t", "t"},
             {"2", "1", "50", "50", "0", "1", schema, "users", "t", "t"},
             {"3", "1", "50", "50", "0", "1", schema, "users", "t", "t"}});
  CHECK(query_rows("SELECT count(*) FROM " + schema + ".users") == Rows{{"150"}});
  CHECK(end_rows(kLog, run) == Rows{{"users", "complete", "users", "150", "150", "0", "3"}});
  CHECK(totals_message(result).find("\nusers: complete; 150 records, 150 rows inserted, 0 rows "
                                    "deleted, ") != std::string::npos);
}

TEST_CASE("sync log: dedup over two syncs with CDC deletes, inserted minus deleted is the table",
          "[synclog][dedup]") {
  auto schema = fresh_schema("it_synclog_dedup");
  StreamSpec spec;
  auto first = sync(schema, catalog_of(spec), records_for("sync1_messages.jsonl", "users"));
  require_ok(first);
  spec.generation = 2;
  auto second = sync(schema, catalog_of(spec), records_for("sync2_messages.jsonl", "users"));
  require_ok(second);
  REQUIRE(users(schema) == kSync2Deduped);

  const std::string run1 = run_id_of(first);
  const std::string run2 = run_id_of(second);
  for (const auto& run : {run1, run2})
    check_commits_whole(kLog, run);
  // Each run: what was inserted less what was deleted is what the table gained. A record that
  // the next one of its key supersedes is never sent. sync1: five records, Alice's first
  // superseded by the one after it: four rows. sync2: three records over the four rows left —
  // the newer Alice supersedes hers; Bob's update is superseded at once by his CDC deletion, which
  // takes his old row and itself.
  CHECK(commit_sums(kLog, run1) == Rows{{"5", "4", "0", "1", "1"}});
  CHECK(commit_sums(kLog, run2) == Rows{{"3", "2", "3", "1", "1"}});
  CHECK(query_rows("SELECT sum(rows_inserted) - sum(rows_deleted) FROM " + kLog +
                   " WHERE kind = 'commit' AND run_id IN ('" + run1 + "', '" + run2 + "')") ==
        query_rows("SELECT count(*)::numeric FROM " + schema + ".users"));
  for (const auto& [run, result] : {std::make_pair(run1, &first), std::make_pair(run2, &second)}) {
    auto end = end_rows(kLog, run);
    REQUIRE(end.size() == 1);
    auto sums = commit_sums(kLog, run);
    CHECK(end[0][1] == "complete");
    CHECK(end[0][3] == sums[0][0]);
    CHECK(end[0][5] == sums[0][2]);
    CHECK(totals_message(*result).find("\nusers: complete; " + sums[0][0] + " records, " +
                                       sums[0][1] + " rows inserted, " + sums[0][2] +
                                       " rows deleted") != std::string::npos);
  }
}

TEST_CASE("sync log: an overwrite logs its staging table, and the closing row the swap",
          "[synclog][refresh]") {
  auto schema = fresh_schema("it_synclog_overwrite");
  StreamSpec spec;
  spec.mode = "append";
  require_ok(sync(schema, catalog_of(spec), records_for("sync1_messages.jsonl", "users")));
  auto refresh =
      sync(schema, catalog_of(overwrite_spec(2)), records_for("sync2_messages.jsonl", "users"));
  require_ok(refresh);
  const std::string run = run_id_of(refresh);
  CHECK(query_rows("SELECT DISTINCT table_name, generation_id FROM " + kLog + " WHERE run_id = '" +
                   run + "' AND kind = 'commit'") == Rows{{"users_airbyte_tmp", "2"}});
  CHECK(end_rows(kLog, run) == Rows{{"users", "complete", "users", "3", "3", "0", "1"}});
  CHECK(query_rows("SELECT count(*) FROM " + schema + ".users") == Rows{{"3"}});
  CHECK(query_rows("SELECT note LIKE 'replacing the rows of %users_airbyte_tmp%' FROM " + kLog +
                   " WHERE run_id = '" + run + "' AND kind = 'end'") == Rows{{"t"}});
}

TEST_CASE("sync log: a sync failing mid-way logs its committed commits and closes as failed",
          "[synclog][fault]") {
  auto schema = fresh_schema("it_synclog_fail");
  auto catalog = users_catalog("append");
  auto args = write_args(schema, test_config(schema), catalog);
  ConnectorProcess connector(args);
  connector.write_stdin(user_batches(1, 50, 50));
  REQUIRE(connector.wait_for_line("\"cursor\":50}", 30.0));
  // The next batch cannot be stored: a trigger refuses one of its rows.
  exec("CREATE FUNCTION " + schema +
       ".refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.seq = 70 THEN RAISE "
       "EXCEPTION 'refused'; END IF; RETURN NEW; END $$; CREATE TRIGGER refuse BEFORE INSERT ON " +
       schema + ".users FOR EACH ROW EXECUTE FUNCTION " + schema + ".refuse()");
  connector.write_stdin(user_batches(51, 100, 50) + complete_statuses(catalog));
  auto result = connector.wait(60);
  CHECK(result.exit_code == 1);
  REQUIRE(result.trace_errors().size() == 1);
  const std::string run = run_id_of(result);
  CHECK(commit_sums(kLog, run) == Rows{{"50", "50", "0", "1", "1"}});
  CHECK(query_rows("SELECT count(*) FROM " + schema + ".users") == Rows{{"50"}});
  CHECK(end_rows(kLog, run) == Rows{{"users", "failed", "users", "50", "50", "0", "1"}});
  CHECK(query_rows("SELECT note LIKE 'the sync failed: %a function or trigger raised%' FROM " +
                   kLog + " WHERE run_id = '" + run + "' AND kind = 'end'") == Rows{{"t"}});
  CHECK(totals_message(result).find("\nusers: failed; 50 records, 50 rows inserted") !=
        std::string::npos);
}

TEST_CASE("sync log: a connection lost mid-batch replays its transaction, logged once",
          "[synclog][fault]") {
  for (const std::string mode : {"append", "append_dedup"}) {
    INFO(mode);
    auto schema = fresh_schema("it_synclog_replay");
    auto config = own_role_config(schema, "it_synclog_replay_user");
    auto catalog = users_catalog(mode);
    auto args = write_args(schema, config, catalog);
    require_ok(run_connector(args, complete_statuses(catalog))); // the table, to lock
    WriteBlocker lock(schema + ".users");

    ConnectorProcess connector(args);
    connector.write_stdin(user_batches(1, 1000, 1000));
    cut_off_while_running("it_synclog_replay_user", "COPY ");
    lock.commit();
    REQUIRE(connector.wait_for_line("\"type\":\"STATE\"", 30.0));
    connector.write_stdin(complete_statuses(catalog));
    auto result = connector.wait(60);
    require_ok(result);
    const std::string run = run_id_of(result);
    check_commits_whole(kLog, run);
    CHECK(commit_sums(kLog, run) == Rows{{"1000", "1000", "0", "1", "1"}});
    // One chunk of append rows goes to one lane; a dedup stream's rows spread by key over four
    // lanes (max_connections' default): a part each, in their own transactions.
    const std::string lanes = mode == "append" ? "1" : "4";
    CHECK(query_rows("SELECT count(*), max(commit_rows) FROM " + kLog + " WHERE run_id = '" + run +
                     "' AND kind = 'commit'") == Rows{{lanes, lanes}});
    CHECK(query_rows("SELECT count(*) FROM " + schema + ".users") == Rows{{"1000"}});
    drop_role("it_synclog_replay_user");
  }
}

TEST_CASE("sync log: a COMMIT that landed but whose answer was lost is logged once",
          "[synclog][fault]") {
  // A COMMIT waiting for a synchronous standby that never answers has committed locally; the
  // session ended then never gets its answer. The connector asks txid_status on a new connection
  // and must not replay the transaction — with its log row — a second time.
  PrivateServer server("synclog_commit_lost",
                       {"synchronous_standby_names = 'nobody'", "synchronous_commit = local"});
  server.exec("CREATE ROLE it_lost_commit LOGIN SUPERUSER PASSWORD 'it_lost_commit'");
  const std::string schema = "it_synclog_lost";
  auto config = server.config(schema);
  config["username"] = "it_lost_commit";
  config["password"] = "it_lost_commit";
  auto catalog = users_catalog("append");
  auto args = write_args(schema, config, catalog);
  require_ok(run_connector(args, complete_statuses(catalog)));

  server.exec("ALTER ROLE it_lost_commit SET synchronous_commit = on");
  ConnectorProcess connector(args);
  connector.write_stdin(user_batches(1, 100, 100));
  auto watcher = server.connect();
  bool waiting = false;
  for (int i = 0; i < 300 && !waiting; ++i) {
    pqxx::nontransaction work(watcher);
    waiting = work.exec1("SELECT count(*) FROM pg_stat_activity WHERE usename = 'it_lost_commit' "
                         "AND wait_event = 'SyncRep'")[0]
                  .as<int>() > 0;
    if (!waiting)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(waiting);
  server.exec("ALTER ROLE it_lost_commit SET synchronous_commit = local");
  server.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = "
              "'it_lost_commit'");
  REQUIRE(connector.wait_for_line("\"type\":\"STATE\"", 60.0));
  connector.write_stdin(complete_statuses(catalog));
  auto result = connector.wait(60);
  require_ok(result);
  const std::string run = run_id_of(result);
  pqxx::nontransaction check(watcher);
  auto sums = check.exec1("SELECT count(*), sum(records) FROM " + kLog + " WHERE run_id = '" + run +
                          "' AND kind = 'commit'");
  CHECK(sums[0].as<std::string>() == "1");
  CHECK(sums[1].as<std::string>() == "100");
  CHECK(check.exec1("SELECT count(*) FROM " + schema + ".users")[0].as<std::string>() == "100");
}

TEST_CASE("sync log: a user who may only write to a schema of their own gets the log there, and "
          "check says so",
          "[synclog][privileges]") {
  auto schema = fresh_schema("it_synclog_own");
  drop_role("it_synclog_own_user");
  exec("CREATE SCHEMA " + schema +
       "; CREATE ROLE it_synclog_own_user LOGIN PASSWORD 'pw'; GRANT USAGE, CREATE ON SCHEMA " +
       schema + " TO it_synclog_own_user");
  Json config = test_config(schema);
  config["username"] = "it_synclog_own_user";
  config["password"] = "pw";

  auto check =
      run_connector({"check", "--config", write_temp_file("own-config.json", config.dump())});
  REQUIRE(check.messages("CONNECTION_STATUS").size() == 1);
  CHECK(check.messages("CONNECTION_STATUS")[0]["connectionStatus"]["status"] == "SUCCEEDED");
  std::string said;
  for (const auto& log : check.messages("LOG"))
    if (log["log"]["message"].get<std::string>().find("own tables") != std::string::npos)
      said = log["log"]["message"];
  CHECK(said.find("go to schema \"" + schema + "\", not \"airbyte_internal\"") !=
        std::string::npos);

  StreamSpec spec;
  auto first =
      sync(schema, catalog_of(spec), records_for("sync1_messages.jsonl", "users"), true, config);
  require_ok(first);
  auto second = sync(schema, catalog_of(overwrite_spec(2)),
                     records_for("sync2_messages.jsonl", "users"), true, config);
  require_ok(second);
  const std::string log = schema + "._airbyte_sync_log";
  CHECK(commit_sums(log, run_id_of(first)) == Rows{{"5", "4", "0", "1", "1"}});
  CHECK(end_rows(log, run_id_of(second)) ==
        Rows{{"users", "complete", "users", "3", "3", "0", "1"}});
  CHECK(query_rows("SELECT count(*) FROM " + schema + ".users") == Rows{{"3"}});
  CHECK(query_rows("SELECT count(*) FROM " + kLog + " WHERE run_id IN ('" + run_id_of(first) +
                   "', '" + run_id_of(second) + "')") == Rows{{"0"}});
  exec("DROP SCHEMA " + schema + " CASCADE");
  drop_role("it_synclog_own_user");
}
