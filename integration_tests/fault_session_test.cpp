// What other sessions and the server's settings can do to a sync: a lock held on the table, idle
// timeouts shorter than the input's pauses, a read-only role, no free connection slots.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "support/fault_input.hpp"
#include "support/harness.hpp"
#include "support/sync.hpp"

using namespace pgdest::testing;
using Rows = std::vector<std::vector<std::string>>;

namespace {

// A sync of no records, so that the stream's table exists and can be locked.
void create_table(const std::vector<std::string>& args, const nlohmann::ordered_json& catalog) {
  auto setup = run_connector(args, complete_statuses(catalog));
  INFO(setup.stderr_text);
  REQUIRE(setup.exit_code == 0);
}

// Holds an ACCESS EXCLUSIVE lock on `table` (no reading, no writing) until release().
struct TableLock {
  explicit TableLock(const std::string& table) {
    lock.exec0("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
  }
  void release() { lock.commit(); }

  pqxx::connection connection = test_connection();
  pqxx::work lock{connection};
};

// The one TRACE error of a failed run, after checking that nothing was acknowledged.
nlohmann::ordered_json failed_run_error(const RunResult& result) {
  INFO(result.stderr_text);
  CHECK_FALSE(result.timed_out);
  CHECK(result.exit_code == 1);
  CHECK(states(result).empty());
  CHECK(protocol_violations(result.stdout_lines).empty());
  auto errors = result.trace_errors();
  REQUIRE(errors.size() == 1);
  return errors[0];
}

// A sync of ten records into `users` of `schema` as `config`'s user, which must fail: its error.
nlohmann::ordered_json failed_write_error(const std::string& schema,
                                          const nlohmann::ordered_json& config) {
  auto catalog = users_catalog("append");
  return failed_run_error(run_connector(write_args(schema, config, catalog),
                                        user_batches(1, 10, 10) + complete_statuses(catalog)));
}

} // namespace

TEST_CASE("a table locked by another session: the sync waits for the lock, then succeeds",
          "[write][fault][lock]") {
  auto schema = fresh_schema("it_lock_wait");
  auto catalog = users_catalog("append");
  auto args = write_args(schema, own_role_config(schema, "it_lock_wait_user"), catalog);
  create_table(args, catalog);
  TableLock lock("it_lock_wait.users");

  ConnectorProcess connector(args);
  connector.write_stdin(user_batches(1, 1000, 500) + complete_statuses(catalog));
  connector.close_stdin();
  auto watcher = test_connection();
  REQUIRE(wait_for_lock_wait(watcher, "it_lock_wait_user", 30.0));
  // Still waiting a while later: no error, nothing acknowledged.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  CHECK(wait_for_lock_wait(watcher, "it_lock_wait_user", 0.0));
  CHECK(states(connector.lines()).empty());
  lock.release();
  auto result = connector.wait(60);
  INFO(result.stderr_text);
  CHECK(result.exit_code == 0);
  check_states_committed(states(result), 1, 500, "it_lock_wait.users");
  CHECK(states(result).size() == 2);
  CHECK(query_rows("SELECT count(*), count(DISTINCT seq) FROM it_lock_wait.users") ==
        Rows{{"1000", "1000"}});
  drop_role("it_lock_wait_user");
}

TEST_CASE("idle timeouts shorter than the input's pauses: no record lost, no early STATE",
          "[write][fault][idle]") {
  // The server ends sessions idle for 1 s, in a transaction or not; the input pauses longer
  // after each batch. Both modes load over several connections: all are ended.
  for (const std::string mode : {"append", "append_dedup"}) {
    INFO(mode);
    auto schema = fresh_schema("it_idle");
    auto config = own_role_config(schema, "it_idle_user");
    exec("ALTER ROLE it_idle_user SET idle_in_transaction_session_timeout = '1s'");
    exec("ALTER ROLE it_idle_user SET idle_session_timeout = '1s'");
    auto catalog = users_catalog(mode);
    ConnectorProcess connector(write_args(schema, config, catalog));
    auto watcher = test_connection();
    constexpr long kBatch = 50, kBatches = 3;
    for (long end = kBatch; end <= kBatches * kBatch; end += kBatch) {
      INFO("batch ending at " << end);
      connector.write_stdin(user_batches(end - kBatch + 1, end, kBatch));
      // Committed after a second of quiet input; then the sessions idle past the timeout.
      CHECK(connector.wait_for_line("\"cursor\":" + std::to_string(end) + "}", 30.0));
      check_states_committed(states(connector.lines()), 1, kBatch, "it_idle.users");
      std::this_thread::sleep_for(std::chrono::milliseconds(1300));
      pqxx::nontransaction work(watcher);
      CHECK(work.exec1("SELECT count(*) FROM pg_stat_activity WHERE usename = 'it_idle_user'")[0]
                .as<int>() == 0);
    }
    connector.write_stdin(complete_statuses(catalog));
    auto result = connector.wait(60);
    INFO(result.stderr_text);
    CHECK(result.exit_code == 0);
    CHECK(result.trace_errors().empty());
    CHECK(states(result).size() == kBatches);
    CHECK(query_rows("SELECT count(*), count(DISTINCT seq) FROM it_idle.users") ==
          Rows{{std::to_string(kBatches * kBatch), std::to_string(kBatches * kBatch)}});
    drop_role("it_idle_user");
  }
}

TEST_CASE("a read-only role is a config_error that says what to do", "[write][fault][readonly]") {
  auto schema = fresh_schema("it_read_only");
  auto config = own_role_config(schema, "it_read_only_user");
  exec("ALTER ROLE it_read_only_user SET default_transaction_read_only = on");
  auto error = failed_write_error(schema, config);
  CHECK(error["failure_type"] == "config_error");
  CHECK(error["message"] ==
        "PostgreSQL failed while creating schema \"it_read_only\": cannot execute CREATE SCHEMA "
        "in a read-only transaction. Connect to the primary server, not a read-only standby.");
  CHECK(query_rows("SELECT count(*) FROM pg_namespace WHERE nspname = 'it_read_only'") ==
        Rows{{"0"}});
  drop_role("it_read_only_user");
}

TEST_CASE("a role that may not insert into the table is a config_error",
          "[write][fault][readonly]") {
  auto schema = fresh_schema("it_no_insert");
  auto catalog = users_catalog("append");
  create_table(write_args(schema, test_config(schema), catalog), catalog);
  drop_role("it_no_insert_user");
  exec("CREATE ROLE it_no_insert_user LOGIN PASSWORD 'pw'; "
       "GRANT USAGE, CREATE ON SCHEMA it_no_insert TO it_no_insert_user; "
       "GRANT SELECT ON it_no_insert.users TO it_no_insert_user");
  auto config = test_config(schema);
  config["username"] = "it_no_insert_user";
  config["password"] = "pw";
  auto error = failed_write_error(schema, config);
  CHECK(error["failure_type"] == "config_error");
  CHECK(error["message"] ==
        "PostgreSQL failed while loading rows into \"it_no_insert\".\"users\": permission "
        "denied for table users. Grant the missing privilege to user \"it_no_insert_user\".");
  CHECK(query_rows("SELECT count(*) FROM it_no_insert.users") == Rows{{"0"}});
  drop_role("it_no_insert_user");
}

// Another session's lock is a passing condition (transient, like a deadlock), and the message says
// what to do. Without a lock_timeout the sync waits, as PostgreSQL does (test above).
TEST_CASE("a lock held past the user's lock_timeout fails the sync as transient, saying what to do",
          "[write][fault][lock]") {
  auto schema = fresh_schema("it_lock_timeout");
  auto catalog = users_catalog("append");
  auto config = own_role_config(schema, "it_lock_timeout_user");
  exec("ALTER ROLE it_lock_timeout_user SET lock_timeout = '1s'");
  auto args = write_args(schema, config, catalog);
  create_table(args, catalog);
  TableLock lock("it_lock_timeout.users");
  auto result = run_connector(args, user_batches(1, 10, 10) + complete_statuses(catalog));
  auto error = failed_run_error(result);
  CHECK(error["failure_type"] == "transient_error");
  std::string message = error["message"];
  INFO(message);
  // The server's words, then advice.
  CHECK(message.find("canceling statement due to lock timeout. ") != std::string::npos);
  lock.release();
  CHECK(query_rows("SELECT count(*) FROM it_lock_timeout.users") == Rows{{"0"}});
  drop_role("it_lock_timeout_user");
}

TEST_CASE("no free connection slots: a transient_error after the retries, or the sync once one "
          "frees up",
          "[write][fault][slots]") {
  PrivateServer server("slots", {"max_connections = 4", "superuser_reserved_connections = 0"});
  const std::string schema = "it_slots";
  auto catalog = users_catalog("append");
  auto config = server.config(schema);
  auto args = write_args(schema, config, catalog);
  auto input = user_batches(1, 100, 100) + complete_statuses(catalog);
  std::vector<std::unique_ptr<pqxx::connection>> held;
  auto fill_slots = [&] {
    for (int i = 0; i < 10; ++i) {
      try {
        held.push_back(std::make_unique<pqxx::connection>(server.conninfo()));
      } catch (const pqxx::broken_connection&) {
        return;
      }
    }
    FAIL("max_connections did not stop new connections");
  };
  // One server for both cases: starting one takes a while.
  {
    INFO("the slots stay taken");
    fill_slots();
    auto result = run_connector(args, input);
    auto error = failed_run_error(result);
    CHECK(error["failure_type"] == "transient_error");
    // What happened and what to do; then how long the retries took, which varies.
    std::string expected = "The server at 127.0.0.1:" + std::to_string(config["port"].get<int>()) +
                           " has no free connection slots (too many clients). Try again later, or "
                           "raise max_connections on the server. Gave up after ";
    std::string message = error["message"];
    CHECK(message.substr(0, expected.size()) == expected);
    held.clear();
  }
  {
    INFO("a slot frees up within the retries");
    fill_slots();
    std::thread release([&] {
      std::this_thread::sleep_for(std::chrono::seconds(3));
      held.clear();
    });
    auto result = run_connector(args, input);
    release.join();
    INFO(result.stderr_text);
    CHECK(result.exit_code == 0);
    CHECK(states(result).size() == 1);
    auto check = server.connect();
    pqxx::nontransaction work(check);
    CHECK(work.exec1("SELECT count(*) FROM it_slots.users")[0].as<long>() == 100);
  }
}

// A role at its CONNECTION LIMIT ("too many connections for role", text only on the client): like
// a full server (test above) it is transient, and the message says what to do.
TEST_CASE("a role at its connection limit: a transient_error that says what to do",
          "[write][fault][slots]") {
  auto schema = fresh_schema("it_role_limit");
  // Not a superuser: the limit does not bind superusers.
  drop_role("it_role_limit_user");
  exec("CREATE ROLE it_role_limit_user LOGIN PASSWORD 'pw' CONNECTION LIMIT 0");
  auto config = test_config(schema);
  config["username"] = "it_role_limit_user";
  config["password"] = "pw";
  auto error = failed_write_error(schema, config);
  CHECK(error["failure_type"] == "transient_error");
  std::string message = error["message"];
  INFO(message);
  CHECK(message.find("too many connections for role \"it_role_limit_user\". ") !=
        std::string::npos);
  drop_role("it_role_limit_user");
}

// "role ... is not permitted to log in" (text only on the client): nothing but a change of role
// helps, so a config_error that says so.
TEST_CASE("a role that may not log in is a config_error that says what to do",
          "[write][fault][login]") {
  auto schema = fresh_schema("it_no_login");
  auto config = own_role_config(schema, "it_no_login_user");
  exec("ALTER ROLE it_no_login_user NOLOGIN");
  auto error = failed_write_error(schema, config);
  CHECK(error["failure_type"] == "config_error");
  std::string message = error["message"];
  INFO(message);
  CHECK(message.find("is not permitted to log in. ") != std::string::npos);
  drop_role("it_no_login_user");
}
