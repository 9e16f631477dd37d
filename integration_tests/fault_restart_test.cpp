// The server restarted (pg_ctl restart -m fast) while a COPY is in flight: the connector
// reconnects, replays the open transaction and finishes, every record loaded once. Runs on a
// server of its own, so that tests running beside it keep theirs.
#include <catch2/catch.hpp>

#include <thread>

#include "support/fault_input.hpp"
#include "support/harness.hpp"
#include "support/sync.hpp"

using namespace pgdest::testing;
using Rows = std::vector<std::vector<std::string>>;

TEST_CASE("a server restarted while a COPY is in flight: the sync recovers, rows once",
          "[write][fault][restart]") {
  constexpr long kRecords = 30000, kBatch = 3000;
  PrivateServer server("restart");
  // Both modes load over several connections: all are cut off, all recover.
  for (const std::string mode : {"append", "append_dedup"}) {
    INFO(mode);
    const std::string schema = "it_restart";
    server.exec("DROP SCHEMA IF EXISTS it_restart CASCADE");
    auto catalog = users_catalog(mode);
    ConnectorProcess connector(write_args(schema, server.config(schema), catalog));
    // Fed without pauses, so that the input keeps flowing and the transaction stays open.
    std::thread feeder([&] {
      try {
        connector.write_stdin(user_batches(1, kRecords, kBatch, 0, 1000) +
                              complete_statuses(catalog));
      } catch (const std::runtime_error&) { // the connector gave up: its result tells why
      }
      connector.close_stdin();
    });
    auto watcher = server.connect();
    bool copying = wait_for_statement(watcher, "pgdest", "COPY ", 30.0);
    CHECK(copying);
    if (copying)
      server.restart();
    CHECK(connector.wait_for_exit(120));
    feeder.join();
    auto result = connector.wait();
    INFO(result.stderr_text);
    REQUIRE(copying);
    CHECK(result.exit_code == 0);
    CHECK(result.trace_errors().empty());
    CHECK(protocol_violations(result.stdout_lines).empty());
    auto emitted = states(result);
    CHECK(emitted.size() == static_cast<std::size_t>(kRecords / kBatch));
    auto check = server.connect();
    pqxx::nontransaction work(check);
    auto row = work.exec1("SELECT count(*), count(DISTINCT seq) FROM it_restart.users");
    CHECK(row[0].as<long>() == kRecords);
    CHECK(row[1].as<long>() == kRecords);
  }
}
