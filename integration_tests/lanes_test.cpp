// Loading over several connections (lanes) at once: one append stream really uses several server
// backends; a lane killed while it commits loses nothing; a server that grants fewer connections
// than max_connections still gets the sync done.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "support/fault_input.hpp"
#include "support/harness.hpp"
#include "support/sync.hpp"

using namespace pgdest::testing;
using Rows = std::vector<std::vector<std::string>>;

namespace {

// About 5 KB a record: a batch of 3000 records makes about four 4 MiB chunks, so that every
// lane has rows of it.
constexpr std::size_t kPad = 5000;

bool logged(const RunResult& result, const std::string& text) {
  for (const auto& log : result.messages("LOG"))
    if (log["log"]["message"].get<std::string>().find(text) != std::string::npos)
      return true;
  return false;
}

// A sync of no records, so that the stream's table exists.
void create_table(const std::string& schema, const nlohmann::ordered_json& config,
                  const nlohmann::ordered_json& catalog) {
  auto setup = run_connector(write_args(schema, config, catalog), complete_statuses(catalog));
  REQUIRE(setup.exit_code == 0);
}

// Polls `sql` (one number) on the test server until it is at least `wanted`; returns the last
// value seen.
long wait_for_count(const std::string& sql, long wanted, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  long seen = 0;
  do {
    seen = std::stol(query_rows(sql)[0][0]);
    if (seen >= wanted)
      return seen;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  return seen;
}

// Makes the COMMIT of the one transaction that holds the row of `seq` take 3 seconds, the first
// time only: a deferred constraint trigger runs at COMMIT, and the sequence is not rolled back
// with the transaction.
void slow_commit_of(const std::string& table, long seq) {
  exec("CREATE SEQUENCE " + table + "_slow_commits; CREATE FUNCTION " + table +
       "_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.seq = " +
       std::to_string(seq) + " AND nextval('" + table +
       "_slow_commits') = 1 THEN PERFORM pg_sleep(3); END IF; RETURN NULL; END $$; "
       "CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON " +
       table + " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION " + table +
       "_slow_commit()");
}

// The server process of `role` that is committing (in the trigger's sleep), once there is one.
std::string committing_backend(const std::string& role) {
  const std::string sql = "SELECT count(*) FROM pg_stat_activity WHERE usename = '" + role +
                          "' AND query = 'COMMIT' AND wait_event = 'PgSleep'";
  REQUIRE(wait_for_count(sql, 1, 60.0) == 1);
  return query_rows("SELECT pid FROM pg_stat_activity WHERE usename = '" + role +
                    "' AND query = 'COMMIT' AND wait_event = 'PgSleep'")[0][0];
}

// Fails the test with what the connector printed and what the role's server processes do: a
// sync that stops moving shows where it waits.
[[noreturn]] void fail_with_activity(ConnectorProcess& connector, const std::string& role,
                                     const std::string& what) {
  std::ostringstream out;
  for (const auto& row :
       query_rows("SELECT pid, state, wait_event_type, wait_event, left(query, 150) FROM "
                  "pg_stat_activity WHERE usename = '" + role + "'")) {
    for (const auto& column : row)
      out << column << " | ";
    out << "\n";
  }
  const auto lines = connector.lines();
  auto result = connector.wait(5);
  std::string printed;
  for (const auto& line : lines)
    printed += line.substr(0, 300) + "\n";
  FAIL(what << "\nserver processes of " << role << ":\n"
            << out.str() << "stdout:\n"
            << printed << "stderr:\n"
            << result.stderr_text);
  std::abort();
}

// The record whose lane's COMMIT is slowed down in the kill tests.
constexpr long kSlowRecord = 4321;

struct SlowCommitSync {
  nlohmann::ordered_json catalog;
  std::vector<std::string> args;
};

// A sync of the `users` stream in `mode` into the fresh schema `schema`, by `role`, over three
// lanes; the table is made, and the COMMIT of the transaction holding kSlowRecord slowed down.
SlowCommitSync slow_commit_sync(const std::string& schema, const std::string& role,
                                const std::string& mode) {
  fresh_schema(schema);
  auto config = own_role_config(schema, role);
  config["max_connections"] = 3;
  SlowCommitSync sync{users_catalog(mode), {}};
  create_table(schema, config, sync.catalog);
  slow_commit_of(schema + ".users", kSlowRecord);
  sync.args = write_args(schema, config, sync.catalog);
  return sync;
}

} // namespace

TEST_CASE("one append stream with max_connections 3 loads through three server backends at "
          "once, each record once",
          "[write][lanes]") {
  const std::string role = "it_lanes_user";
  auto schema = fresh_schema("it_lanes");
  auto config = own_role_config(schema, role);
  config["max_connections"] = 3;
  auto catalog = users_catalog("append");
  create_table(schema, config, catalog);

  // Writes wait for this lock; the connector's reads of the table in its set-up do not.
  auto locker = test_connection();
  pqxx::work lock(locker);
  lock.exec0("LOCK TABLE it_lanes.users IN EXCLUSIVE MODE");

  constexpr long kRecords = 30000; // about 20 MB of rows: more than three 4 MiB chunks
  ConnectorProcess connector(write_args(schema, config, catalog));
  connector.write_stdin(user_batches(1, kRecords, 10000, 0, 600));
  // Each chunk goes to the lane with the least to do; the one before is stuck in its COPY, so
  // three lanes each start a COPY of their own and wait for the lock: three server processes,
  // each in a COPY into the same table at the same time.
  const std::string waiting_copies =
      "SELECT count(DISTINCT pid) FROM pg_stat_activity WHERE usename = '" + role +
      "' AND starts_with(query, 'COPY ') AND wait_event_type = 'Lock'";
  CHECK(wait_for_count(waiting_copies, 3, 60.0) == 3);
  CHECK(states(connector.lines()).empty());
  lock.commit();
  connector.write_stdin(complete_statuses(catalog));
  auto result = connector.wait();
  INFO(result.stderr_text);
  REQUIRE(result.exit_code == 0);
  CHECK(logged(result, "Loading through 3 connections at once"));
  check_states_committed(states(result), 1, 10000, "it_lanes.users");
  CHECK(states(result).size() == 3);
  CHECK(
      query_rows("SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM it_lanes.users") ==
      Rows{{"30000", "30000", "1", "30000"}});
  // The rows were written by three transactions (one per lane) at least.
  CHECK(std::stol(query_rows("SELECT count(DISTINCT xmin::text) FROM it_lanes.users")[0][0]) >= 3);
  drop_role(role);
}

TEST_CASE("a lane killed while it commits: the sync replays it and ends with every record once",
          "[write][lanes][fault]") {
  for (const std::string mode : {"append", "append_dedup"}) {
    INFO(mode);
    const std::string role = "it_lanes_kill_user";
    const auto sync = slow_commit_sync("it_lanes_kill", role, mode);
    const long keys = mode == "append_dedup" ? 3000 : 0;
    ConnectorProcess connector(sync.args);
    connector.write_stdin(user_batches(1, 6000, 1000, keys, kPad));
    // The lane that holds the slow record sleeps in its COMMIT; the others commit and wait.
    const std::string pid = committing_backend(role);
    exec("SELECT pg_terminate_backend(" + pid + ")");
    if (!connector.wait_for_line(R"("cursor":6000)", 60.0))
      fail_with_activity(connector, role, "the last STATE did not come within 60 s");
    connector.write_stdin(complete_statuses(sync.catalog));
    auto result = connector.wait();
    INFO(result.stderr_text);
    REQUIRE(result.exit_code == 0);
    CHECK(result.trace_errors().empty());
    check_states_committed(states(result), 1, 1000, "it_lanes_kill.users", keys);
    CHECK(states(result).size() == 6);
    // The killed COMMIT had not landed (txid_status said so) and was replayed once: append has
    // each record once, dedup the newest version of each key.
    if (keys == 0)
      CHECK(query_rows("SELECT count(*), count(DISTINCT seq) FROM it_lanes_kill.users") ==
            Rows{{"6000", "6000"}});
    else
      CHECK(query_rows("SELECT count(*), count(DISTINCT id), min(seq), max(seq) FROM "
                       "it_lanes_kill.users") == Rows{{"3000", "3000", "3001", "6000"}});
    drop_role(role);
  }
}

TEST_CASE("a lane that cannot come back after another committed: no STATE for its records, and "
          "the rerun is at-least-once for append and exactly-once for dedup",
          "[write][lanes][fault]") {
  for (const std::string mode : {"append", "append_dedup"}) {
    INFO(mode);
    const std::string role = "it_lanes_lost_user";
    const auto sync = slow_commit_sync("it_lanes_lost", role, mode);
    const long keys = mode == "append_dedup" ? 1500 : 0;
    // Records 1..3000 commit; then the lane with the slow record dies in its COMMIT of
    // 3001..6000 and may not log in again, while the other lanes' COMMITs of that batch landed.
    ConnectorProcess connector(sync.args);
    connector.write_stdin(user_batches(1, 3000, 1000, keys, kPad));
    REQUIRE(connector.wait_for_line(R"("cursor":3000)", 60.0));
    connector.write_stdin(user_batches(3001, 6000, 1000, keys, kPad));
    const std::string pid = committing_backend(role);
    exec("ALTER ROLE " + role + " NOLOGIN");
    exec("SELECT pg_terminate_backend(" + pid + ")");
    auto failed = connector.wait();
    INFO(failed.stderr_text);
    CHECK(failed.exit_code == 1);
    REQUIRE(failed.trace_errors().size() == 1);
    const long emitted =
        check_states_committed(states(failed), 1, 1000, "it_lanes_lost.users", keys);
    CHECK(emitted == 3000);
    // The window: rows of records after the last STATE are in the table (the lanes that
    // committed), though no STATE covers them.
    CHECK(std::stol(query_rows("SELECT count(*) FROM it_lanes_lost.users WHERE seq > 3000")[0][0]) >
          0);

    // The platform reruns from the last STATE.
    exec("ALTER ROLE " + role + " LOGIN");
    auto rerun = run_connector(sync.args, user_batches(3001, 6000, 1000, keys, kPad) +
                                              complete_statuses(sync.catalog));
    INFO(rerun.stderr_text);
    REQUIRE(rerun.exit_code == 0);
    check_states_committed(states(rerun), 3001, 1000, "it_lanes_lost.users", keys);
    if (keys == 0) {
      // Every record, the ones after the last STATE at most twice: at-least-once.
      CHECK(query_rows("SELECT count(DISTINCT seq), max(copies) FROM (SELECT seq, count(*) AS "
                       "copies FROM it_lanes_lost.users GROUP BY seq) c") == Rows{{"6000", "2"}});
      CHECK(query_rows("SELECT count(*) FROM (SELECT seq FROM it_lanes_lost.users WHERE seq <= "
                       "3000 GROUP BY seq HAVING count(*) > 1) twice") == Rows{{"0"}});
    } else {
      // Replaying records is idempotent by key: one row per key, its newest version.
      CHECK(query_rows("SELECT count(*), count(DISTINCT id), min(seq), max(seq) FROM "
                       "it_lanes_lost.users") == Rows{{"1500", "1500", "4501", "6000"}});
    }
    drop_role(role);
  }
}

TEST_CASE("a role with CONNECTION LIMIT 1 still completes the sync, through one connection",
          "[write][lanes][slots]") {
  for (const std::string mode : {"append", "append_dedup"}) {
    INFO(mode);
    const std::string role = "it_lanes_limit_user";
    auto schema = fresh_schema("it_lanes_limit");
    drop_role(role);
    // Not a superuser: the limit does not bind superusers. This test's own sessions are of
    // another role.
    exec("CREATE ROLE " + role + " LOGIN PASSWORD 'pw' CONNECTION LIMIT 1");
    exec("CREATE SCHEMA it_lanes_limit AUTHORIZATION " + role);
    auto config = test_config(schema);
    config["username"] = role;
    config["password"] = "pw";
    auto catalog = users_catalog(mode);
    const long keys = mode == "append_dedup" ? 500 : 0;
    auto result = run_connector(write_args(schema, config, catalog),
                                user_batches(1, 2000, 500, keys) + complete_statuses(catalog));
    INFO(result.stderr_text);
    REQUIRE(result.exit_code == 0);
    CHECK(result.trace_errors().empty());
    CHECK(logged(result, "The server refused connection 2 of "));
    CHECK(logged(result, "so this sync loads through 1: "));
    CHECK(logged(result, "too many connections for role \"it_lanes_limit_user\""));
    CHECK(logged(result, "Loading through 1 connection at once"));
    check_states_committed(states(result), 1, 500, "it_lanes_limit.users", keys);
    CHECK(states(result).size() == 4);
    CHECK(query_rows("SELECT count(*), count(DISTINCT id) FROM it_lanes_limit.users") ==
          Rows{{keys == 0 ? "2000" : "500", keys == 0 ? "2000" : "500"}});
    exec("DROP SCHEMA it_lanes_limit CASCADE");
    drop_role(role);
  }
}
