// The COPY pipeline's failure branches, driven through a fake connection.
#include "pgdest/load/copy_pipeline.hpp"

#include <algorithm>
#include <future>
#include <numeric>
#include <sstream>
#include <utility>

#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "fake_connection.hpp"
#include "pgdest/load/lane_set.hpp"
#include "pgdest/postgres/session.hpp"
#include "pgdest/state/state_tracker.hpp"

using pgdest::Error;
using pgdest::FailureType;
using pgdest::load::CopyPipeline;
using pgdest::load::LaneSet;
using pgdest::load::PipelineOptions;
using pgdest::testing::FakeServer;
using pgdest::testing::Fault;
using pgdest::testing::Step;

namespace {

// Options whose retries never sleep; the waits asked for are kept.
PipelineOptions no_sleep_options(std::vector<std::chrono::milliseconds>& waits) {
  PipelineOptions options;
  options.retry.sleep = [&waits](std::chrono::milliseconds wait) { waits.push_back(wait); };
  return options;
}

std::unique_ptr<CopyPipeline> pipeline_on(FakeServer& server, PipelineOptions options) {
  auto pipeline = std::make_unique<CopyPipeline>(
      server.connect(), [&server] { return server.connect(); }, std::move(options));
  pipeline->add_target("COPY t FROM STDIN WITH (FORMAT binary)", "\"t\"");
  return pipeline;
}

std::vector<std::int64_t> ids(std::int64_t first, std::int64_t last) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(last - first + 1));
  std::iota(out.begin(), out.end(), first);
  return out;
}

// Two chunks of 50 rows, then a commit of the 100 records.
void send_batch(CopyPipeline& pipeline) {
  pipeline.send(0, FakeServer::rows(1, 50));
  pipeline.send(0, FakeServer::rows(51, 50));
  pipeline.commit(100);
}

std::size_t count(const std::vector<std::string>& log, const std::string& entry) {
  return static_cast<std::size_t>(std::count(log.begin(), log.end(), entry));
}

// Loads one batch of 100 records into `server` (set up with its faults) until it is committed;
// returns the waits the retries asked for. Every record must be committed exactly once.
std::vector<std::chrono::milliseconds> load_batch(FakeServer& server) {
  std::vector<std::chrono::milliseconds> waits;
  auto pipeline = pipeline_on(server, no_sleep_options(waits));
  send_batch(*pipeline);
  pipeline->drain();
  CHECK(server.committed_ids() == ids(1, 100)); // once, not twice
  CHECK(pipeline->committed_records() == 100);
  return waits;
}

} // namespace

TEST_CASE("A batch commits its rows once, with no retry", "[load][pipeline]") {
  FakeServer server;
  auto waits = load_batch(server);
  CHECK(waits.empty());
  CHECK(server.log == std::vector<std::string>{"CONNECT", "BEGIN", "COPY", "COMMIT"});
}

TEST_CASE("A connection lost before the COPY starts is replaced and the batch loads once",
          "[load][pipeline]") {
  FakeServer server;
  server.faults = {{Step::copy_start, 1, Fault::connection_lost}};
  auto waits = load_batch(server);
  CHECK(server.connections_opened == 2);
  CHECK(waits.size() == 1);
}

TEST_CASE("A connection lost after rows were sent replays the whole transaction once",
          "[load][pipeline]") {
  FakeServer server;
  // The second chunk's send fails: the first chunk must be sent again on the new connection.
  server.faults = {{Step::copy_send, 2, Fault::connection_lost}};
  load_batch(server);
  CHECK(server.connections_opened == 2);
}

TEST_CASE("Every transaction starts with the connector's settings, and a target's helper table "
          "is made before its first COPY in each transaction, also in a replayed one",
          "[load][pipeline]") {
  FakeServer server;
  // The keys' second COPY fails: the replay on the new connection makes the table again.
  server.faults = {{Step::copy_send, 4, Fault::connection_lost}};
  std::vector<std::chrono::milliseconds> waits;
  auto pipeline = pipeline_on(server, no_sleep_options(waits));
  pipeline->add_target("COPY pg_temp.k FROM STDIN WITH (FORMAT binary)", "keys",
                       "CREATE TEMP TABLE k (id bigint) ON COMMIT DROP");
  pipeline->send(0, FakeServer::rows(1, 10));
  pipeline->send(1, FakeServer::rows(11, 10));
  pipeline->send(0, FakeServer::rows(21, 10));
  pipeline->send(1, FakeServer::rows(31, 10));
  pipeline->commit(40);
  pipeline->send(0, FakeServer::rows(41, 10));
  pipeline->send(1, FakeServer::rows(51, 10));
  pipeline->commit(60);
  pipeline->drain();
  const std::string create = "CREATE TEMP TABLE k (id bigint) ON COMMIT DROP";
  CHECK(server.log == std::vector<std::string>{"CONNECT", "BEGIN", "COPY",    create,  "COPY",
                                               "COPY",    "COPY",  "CONNECT", "BEGIN", "COPY",
                                               create,    "COPY",  "COPY",    "COPY",  "COMMIT",
                                               "BEGIN",   "COPY",  create,    "COPY",  "COMMIT"});
  CHECK(server.committed_ids() == ids(1, 60));
  REQUIRE(server.begin_statements.size() == 3);
  for (const auto& begin : server.begin_statements)
    CHECK(begin == pgdest::postgres::begin_transaction());
}

TEST_CASE("Transactions of one connection in different server processes are logged once as a "
          "sign of a pooler",
          "[load][pipeline]") {
  auto captured = std::make_shared<std::ostringstream>();
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "captured", std::make_shared<spdlog::sinks::ostream_sink_mt>(*captured)));
  for (bool pooled : {false, true}) {
    captured->str("");
    FakeServer server;
    server.pooled = pooled;
    std::vector<std::chrono::milliseconds> waits;
    auto pipeline = pipeline_on(server, no_sleep_options(waits));
    for (int batch = 0; batch < 3; ++batch) {
      pipeline->send(0, FakeServer::rows(batch * 10 + 1, 10));
      pipeline->commit(static_cast<std::uint64_t>(batch + 1) * 10);
    }
    pipeline->drain();
    pipeline.reset();
    const std::string log = captured->str();
    std::size_t notices = 0;
    for (auto at = log.find("ran in different server processes"); at != std::string::npos;
         at = log.find("ran in different server processes", at + 1))
      ++notices;
    INFO(log);
    CHECK(notices == (pooled ? 1u : 0u));
    CHECK(server.committed_ids() == ids(1, 30));
  }
  spdlog::set_default_logger(previous);
}

TEST_CASE("A connection lost at the end of a COPY replays the transaction once",
          "[load][pipeline]") {
  FakeServer server;
  server.faults = {{Step::copy_finish, 1, Fault::connection_lost}};
  load_batch(server);
  CHECK(server.connections_opened == 2);
}

TEST_CASE("A COMMIT that landed but whose answer was lost is not replayed", "[load][pipeline]") {
  FakeServer server;
  server.faults = {{Step::commit, 1, Fault::commit_landed_answer_lost}};
  load_batch(server);
  CHECK(count(server.log, "txid_status") == 1);
  CHECK(count(server.log, "COPY") == 1);
}

TEST_CASE("A COMMIT lost before it landed is settled as not committed and replayed",
          "[load][pipeline]") {
  FakeServer server;
  server.faults = {{Step::commit, 1, Fault::connection_lost}};
  load_batch(server);
  CHECK(count(server.log, "txid_status") == 1);
  CHECK(count(server.log, "COPY") == 2);
}

TEST_CASE("A deadlock rolls back and replays on the same connection", "[load][pipeline]") {
  FakeServer server;
  server.faults = {{Step::copy_finish, 1, Fault::transient}};
  load_batch(server);
  CHECK(server.connections_opened == 1);
  CHECK(count(server.log, "ROLLBACK") == 1);
}

TEST_CASE("A replay that keeps failing gives up with a transient error and commits nothing",
          "[load][pipeline]") {
  FakeServer server;
  server.faults = {{Step::copy_finish, 1, Fault::connection_lost}};
  server.reconnect_refused_for_good = true;
  std::vector<std::chrono::milliseconds> waits;
  auto options = no_sleep_options(waits);
  options.retry.max_attempts = 4;
  auto pipeline = pipeline_on(server, options);
  send_batch(*pipeline);
  try {
    pipeline->drain();
    FAIL("drain() should have thrown");
  } catch (const Error& error) {
    CHECK(error.failure_type() == FailureType::transient_error);
    CHECK_THAT(error.what(), Catch::Matchers::Contains("Gave up after 4 attempts"));
  }
  CHECK(server.committed.empty());
  CHECK(pipeline->committed_records() == 0);
  REQUIRE(waits.size() == 3);
  // Backoff with jitter: each wait within [backoff/2, backoff], the backoff doubling.
  CHECK(waits[0] >= std::chrono::milliseconds(500));
  CHECK(waits[0] <= std::chrono::milliseconds(1000));
  CHECK(waits[2] >= std::chrono::milliseconds(2000));
  CHECK(waits[2] <= std::chrono::milliseconds(4000));
  // Later work is refused rather than silently dropped.
  CHECK_THROWS_AS(pipeline->commit(200), Error);
}

TEST_CASE("A failure that is not transient ends the open COPY with an error and rolls back",
          "[load][pipeline]") {
  FakeServer server;
  server.faults = {{Step::copy_send, 2, Fault::permanent}};
  std::vector<std::chrono::milliseconds> waits;
  auto pipeline = pipeline_on(server, no_sleep_options(waits));
  try {
    // The failure may already be known when the commit is queued: then commit() throws.
    send_batch(*pipeline);
    pipeline->drain();
    FAIL("the batch should have failed");
  } catch (const Error& error) {
    CHECK(error.failure_type() == FailureType::system_error);
  }
  CHECK(waits.empty());
  CHECK(server.committed.empty());
  CHECK(count(server.log, "COMMIT") == 0);
  REQUIRE(server.log.size() >= 2);
  CHECK(server.log[server.log.size() - 2].rfind("ABORT COPY: check constraint violated", 0) == 0);
  CHECK(server.log.back() == "ROLLBACK");
}

TEST_CASE("Abandoning a pipeline with a COPY open aborts it and never commits",
          "[load][pipeline]") {
  FakeServer server;
  std::vector<std::chrono::milliseconds> waits;
  auto pipeline = pipeline_on(server, no_sleep_options(waits));
  pipeline->send(0, FakeServer::rows(1, 50));
  pipeline->drain();
  pipeline->abandon("input line 7 is not valid JSON");
  CHECK(server.committed.empty());
  CHECK(count(server.log, "COMMIT") == 0);
  CHECK(count(server.log, "ABORT COPY: input line 7 is not valid JSON") == 1);
  CHECK(server.log.back() == "ROLLBACK");
  CHECK_THROWS_AS(pipeline->send(0, FakeServer::rows(51, 1)), Error);
}

TEST_CASE("A commit still queued when the pipeline is stopped never runs", "[load][pipeline]") {
  FakeServer server;
  std::promise<void> entered;
  std::promise<void> release;
  auto released = release.get_future().share();
  bool first = true;
  server.on_copy_send = [&] {
    if (!std::exchange(first, false))
      return;
    entered.set_value();
    released.wait();
  };
  std::vector<std::chrono::milliseconds> waits;
  auto pipeline = pipeline_on(server, no_sleep_options(waits));
  send_batch(*pipeline); // the commit is queued behind the blocked first chunk
  entered.get_future().wait();
  pipeline->stop("input line 9 is not valid JSON");
  release.set_value();
  pipeline->abandon("input line 9 is not valid JSON");
  CHECK(count(server.log, "COMMIT") == 0);
  CHECK(server.committed.empty());
  CHECK(pipeline->committed_records() == 0);
  CHECK(count(server.log, "ABORT COPY: input line 9 is not valid JSON") == 1);
  CHECK(server.log.back() == "ROLLBACK");
}

TEST_CASE("A lost COMMIT still in progress on the server is asked about until it settles",
          "[load][pipeline]") {
  FakeServer server;
  server.faults = {{Step::commit, 1, Fault::commit_landed_answer_lost}};
  server.txid_status_in_progress = 3;
  auto waits = load_batch(server);
  CHECK(count(server.log, "txid_status") == 4);
  CHECK(count(server.log, "COPY") == 1);
  REQUIRE(waits.size() == 4); // the retry's wait, then three 100 ms waits for the old session
  CHECK(waits[1] == std::chrono::milliseconds(100));
}

TEST_CASE("A connection lost before COMMIT was sent is replayed without asking txid_status",
          "[load][pipeline]") {
  FakeServer server;
  server.faults = {{Step::copy_finish, 1, Fault::connection_lost}};
  load_batch(server);
  CHECK(count(server.log, "txid_status") == 0);
}

TEST_CASE("Destroying a pipeline with uncommitted rows rolls them back", "[load][pipeline]") {
  FakeServer server;
  {
    std::vector<std::chrono::milliseconds> waits;
    auto pipeline = pipeline_on(server, no_sleep_options(waits));
    pipeline->send(0, FakeServer::rows(1, 50));
    pipeline->drain();
  }
  CHECK(server.committed.empty());
  CHECK(count(server.log, "COMMIT") == 0);
  CHECK(server.log.back() == "ROLLBACK");
}

TEST_CASE("A reconnect refused for a reason that is not transient stops the retries",
          "[load][pipeline]") {
  FakeServer server;
  server.faults = {{Step::copy_finish, 1, Fault::connection_lost}};
  std::vector<std::chrono::milliseconds> waits;
  auto options = no_sleep_options(waits);
  auto pipeline = std::make_unique<CopyPipeline>(
      server.connect(),
      []() -> std::unique_ptr<pgdest::postgres::Connection> {
        throw pgdest::ConfigError("Authentication failed.");
      },
      options);
  pipeline->add_target("COPY t FROM STDIN WITH (FORMAT binary)", "\"t\"");
  send_batch(*pipeline);
  try {
    pipeline->drain();
    FAIL("drain() should have thrown");
  } catch (const Error& error) {
    CHECK(error.failure_type() == FailureType::config_error);
    CHECK(std::string(error.what()) == "Authentication failed.");
  }
  CHECK(waits.size() == 1);
  CHECK(server.committed.empty());
}

TEST_CASE("When one of two lanes fails for good, no state covering its records leaves",
          "[load][pipeline][state]") {
  FakeServer healthy;
  FakeServer failing;
  failing.faults = {{Step::commit, 1, Fault::permanent}};
  std::vector<std::chrono::milliseconds> waits;
  std::vector<std::unique_ptr<CopyPipeline>> pipelines;
  pipelines.push_back(pipeline_on(healthy, no_sleep_options(waits)));
  pipelines.push_back(pipeline_on(failing, no_sleep_options(waits)));
  LaneSet lanes(std::move(pipelines));

  pgdest::state::StateTracker tracker(1);
  for (int i = 0; i < 100; ++i)
    tracker.record_read(0);
  pgdest::protocol::StateMessage state;
  state.fields = R"({"type":"LEGACY","data":{"cursor":100})";
  tracker.state_read(state, -1);

  lanes[0].send(0, FakeServer::rows(1, 50));
  lanes[1].send(0, FakeServer::rows(51, 50));
  lanes.commit(100, {{}, {}});
  CHECK_THROWS_AS(lanes.drain(), Error);
  CHECK(healthy.committed_ids() == ids(1, 50)); // its commit stands: at least once, not lost
  CHECK(failing.committed.empty());
  CHECK(lanes.committed_records() == 0);
  CHECK(tracker.release(lanes.committed_records()).empty());
}

namespace {

std::size_t committed_transactions(const FakeServer& server) {
  return static_cast<std::size_t>(
      std::count_if(server.txid_status.begin(), server.txid_status.end(),
                    [](const auto& entry) { return entry.second == "committed"; }));
}

// Runs a transaction of its own (one statement, "SWAP") through a pipeline on `server`; returns
// how many times its work ran.
int run_swap(FakeServer& server, PipelineOptions options) {
  auto pipeline = pipeline_on(server, std::move(options));
  int runs = 0;
  pipeline->run_transaction([&](pgdest::postgres::Connection& connection) {
    ++runs;
    connection.execute("SWAP", "swapping");
  });
  return runs;
}

} // namespace

TEST_CASE("A transaction of its own lost before its COMMIT runs again on a new connection",
          "[load][pipeline]") {
  FakeServer server;
  server.faults = {{Step::statement, 1, Fault::connection_lost}};
  std::vector<std::chrono::milliseconds> waits;
  CHECK(run_swap(server, no_sleep_options(waits)) == 2);
  CHECK(server.connections_opened == 2);
  CHECK(waits.size() == 1);
  CHECK(count(server.log, "txid_status") == 0); // no COMMIT was sent: nothing to ask
  CHECK(committed_transactions(server) == 1);
  CHECK(server.log.back() == "COMMIT");
}

TEST_CASE("A transaction of its own whose COMMIT landed but whose answer was lost is not run "
          "again",
          "[load][pipeline]") {
  FakeServer server;
  server.faults = {{Step::commit, 1, Fault::commit_landed_answer_lost}};
  std::vector<std::chrono::milliseconds> waits;
  CHECK(run_swap(server, no_sleep_options(waits)) == 1);
  CHECK(server.connections_opened == 2);
  CHECK(count(server.log, "txid_status") == 1);
  CHECK(count(server.log, "SWAP") == 1);
  CHECK(committed_transactions(server) == 1);
}

TEST_CASE("A transaction of its own whose COMMIT was lost before it landed runs again",
          "[load][pipeline]") {
  FakeServer server;
  server.faults = {{Step::commit, 1, Fault::connection_lost}};
  std::vector<std::chrono::milliseconds> waits;
  CHECK(run_swap(server, no_sleep_options(waits)) == 2);
  CHECK(count(server.log, "txid_status") == 1);
  CHECK(count(server.log, "SWAP") == 2);
  CHECK(count(server.log, "COMMIT") == 2);
  CHECK(committed_transactions(server) == 1);
}

TEST_CASE("A transaction of its own whose reconnects are refused fails with a transient error "
          "after the policy's attempts",
          "[load][pipeline]") {
  FakeServer server;
  server.faults = {{Step::statement, 1, Fault::connection_lost}};
  server.reconnect_refused_for_good = true;
  std::vector<std::chrono::milliseconds> waits;
  auto options = no_sleep_options(waits);
  options.retry.max_attempts = 3;
  try {
    run_swap(server, options);
    FAIL("run_transaction() should have thrown");
  } catch (const Error& error) {
    CHECK(error.failure_type() == FailureType::transient_error);
    CHECK_THAT(error.what(), Catch::Matchers::Contains("while swapping"));
    CHECK_THAT(error.what(), Catch::Matchers::Contains("Gave up after 3 attempts"));
  }
  CHECK(waits.size() == 2);
  CHECK(server.connections_opened == 1);
  CHECK(committed_transactions(server) == 0);
}

TEST_CASE("A transaction of its own waits for the open batch and never takes in its rows",
          "[load][pipeline]") {
  FakeServer server;
  std::vector<std::chrono::milliseconds> waits;
  auto pipeline = pipeline_on(server, no_sleep_options(waits));
  send_batch(*pipeline);
  pipeline->run_transaction(
      [](pgdest::postgres::Connection& connection) { connection.execute("SWAP", "swapping"); });
  CHECK(server.committed_ids() == ids(1, 100));
  CHECK(committed_transactions(server) == 2);
  // A batch left open would not be replayed with it: refused rather than half-retried.
  pipeline->send(0, FakeServer::rows(101, 1));
  CHECK_THROWS_AS(pipeline->run_transaction([](pgdest::postgres::Connection&) {}), Error);
}
