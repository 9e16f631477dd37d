// How many lanes a sync opens, which lane a chunk goes to, and carrying on with fewer lanes when
// the server refuses a connection; driven through the fake connection.
#include "pgdest/load/lanes.hpp"

#include <algorithm>
#include <future>
#include <sstream>

#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "fake_connection.hpp"
#include "pgdest/load/lane_set.hpp"

using pgdest::catalog::DestinationSyncMode;
using pgdest::catalog::StreamPlan;
using pgdest::load::CopyPipeline;
using pgdest::load::LaneSet;
using pgdest::load::least_loaded_lane;
using pgdest::load::RetryPolicy;
using pgdest::testing::FakeServer;

namespace {

// Captures the log while it lives.
class CapturedLog {
public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "captured", std::make_shared<spdlog::sinks::ostream_sink_mt>(text_)));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string text() const { return text_.str(); }

private:
  std::ostringstream text_;
  std::shared_ptr<spdlog::logger> previous_;
};

// A policy whose retries never sleep; the waits asked for are kept.
RetryPolicy no_sleep_retry(std::vector<std::chrono::milliseconds>& waits) {
  RetryPolicy retry;
  retry.sleep = [&waits](std::chrono::milliseconds wait) { waits.push_back(wait); };
  return retry;
}

std::unique_ptr<CopyPipeline> pipeline_on(FakeServer& server) {
  auto pipeline =
      std::make_unique<CopyPipeline>(server.connect(), [&server] { return server.connect(); });
  pipeline->add_target("COPY t FROM STDIN WITH (FORMAT binary)", "\"t\"");
  return pipeline;
}

StreamPlan plan_of(DestinationSyncMode mode,
                   pgdest::schema::TableLayout layout = pgdest::schema::TableLayout::typed) {
  StreamPlan plan;
  plan.mode = mode;
  plan.layout = layout;
  return plan;
}

} // namespace

TEST_CASE("A chunk goes to the lane with the fewest bytes waiting, the lanes taking turns on a tie",
          "[load][lanes]") {
  CHECK(least_loaded_lane({0, 0, 0}, 0) == 0);
  CHECK(least_loaded_lane({0, 0, 0}, 1) == 1);
  CHECK(least_loaded_lane({0, 0, 0}, 5) == 2); // the turn wraps around
  CHECK(least_loaded_lane({5, 0, 3}, 0) == 1);
  CHECK(least_loaded_lane({5, 2, 2}, 0) == 1);
  CHECK(least_loaded_lane({5, 2, 2}, 2) == 2);
  CHECK(least_loaded_lane({7}, 3) == 0);
}

TEST_CASE("Idle lanes take chunks in turn", "[load][lanes]") {
  FakeServer server;
  std::vector<std::unique_ptr<CopyPipeline>> pipelines;
  for (int lane = 0; lane < 3; ++lane)
    pipelines.push_back(pipeline_on(server));
  LaneSet lanes(std::move(pipelines));
  std::vector<std::size_t> chosen;
  for (int chunk = 0; chunk < 7; ++chunk)
    chosen.push_back(lanes.least_loaded());
  CHECK(chosen == std::vector<std::size_t>{0, 1, 2, 0, 1, 2, 0});
}

TEST_CASE("A lane still sending a chunk gets no more while another lane is free", "[load][lanes]") {
  FakeServer slow;
  FakeServer fast;
  std::promise<void> sending;
  std::promise<void> release;
  auto released = release.get_future().share();
  bool first = true;
  slow.on_copy_send = [&] {
    if (!first)
      return;
    first = false;
    sending.set_value();
    released.wait();
  };
  std::vector<std::unique_ptr<CopyPipeline>> pipelines;
  pipelines.push_back(pipeline_on(slow));
  pipelines.push_back(pipeline_on(fast));
  LaneSet lanes(std::move(pipelines));

  REQUIRE(lanes.least_loaded() == 0);
  lanes[0].send(0, FakeServer::rows(1, 10));
  sending.get_future().wait(); // lane 0 is inside its COPY with the chunk
  for (int chunk = 0; chunk < 3; ++chunk) {
    const std::size_t lane = lanes.least_loaded();
    CHECK(lane == 1);
    lanes[lane].send(0, FakeServer::rows(11 + chunk * 10, 10));
    lanes[lane].drain();
  }
  release.set_value();
  lanes.commit(40, {{}, {}});
  lanes.drain();
  CHECK(slow.committed_ids().size() == 10);
  CHECK(fast.committed_ids().size() == 30);
  CHECK(lanes.committed_records() == 40);
}

TEST_CASE("The catalog's streams and max_connections decide how many lanes a sync wants",
          "[load][lanes]") {
  using pgdest::load::lanes_for_catalog;
  using pgdest::schema::TableLayout;
  const auto append = plan_of(DestinationSyncMode::append);
  const auto overwrite = plan_of(DestinationSyncMode::overwrite);
  const auto dedup = plan_of(DestinationSyncMode::append_dedup);
  const auto raw = plan_of(DestinationSyncMode::append, TableLayout::raw);
  CHECK(lanes_for_catalog({}, 4) == 1);
  CHECK(lanes_for_catalog({append}, 4) == 3);
  CHECK(lanes_for_catalog({append, overwrite}, 32) == 3);
  CHECK(lanes_for_catalog({append, dedup}, 4) == 4);
  CHECK(lanes_for_catalog({raw}, 32) == 4);
  CHECK(lanes_for_catalog({append}, 2) == 2);
  CHECK(lanes_for_catalog({dedup}, 1) == 1);
}

TEST_CASE("Connections the server refuses for want of a slot leave the sync with fewer lanes",
          "[load][lanes]") {
  CapturedLog log;
  FakeServer server;
  server.connection_slots = 2;
  std::vector<std::chrono::milliseconds> waits;
  auto connections = pgdest::load::open_lane_connections(
      server.connect(), 4, [&server] { return server.connect(); }, no_sleep_retry(waits), 1, {});
  CHECK(connections.size() == 2);
  CHECK(server.connections_opened == 2);
  CHECK(waits.empty()); // a refusal is an answer: no retry, no wait
  const std::string text = log.text();
  INFO(text);
  CHECK(text.find("The server refused connection 3 of 4, so this sync loads through 2: ") !=
        std::string::npos);
  CHECK(text.find("has reached its CONNECTION LIMIT") != std::string::npos);
  // Both lanes were probed, each holding a transaction, and left none open.
  CHECK(std::count(server.log.begin(), server.log.end(), "BEGIN") == 2);
  CHECK(std::count(server.log.begin(), server.log.end(), "ROLLBACK") == 2);
  // The lanes it kept load and commit as usual.
  std::vector<std::unique_ptr<CopyPipeline>> pipelines;
  for (auto& connection : connections) {
    pipelines.push_back(std::make_unique<CopyPipeline>(std::move(connection),
                                                       [&server] { return server.connect(); }));
    pipelines.back()->add_target("COPY t FROM STDIN WITH (FORMAT binary)", "\"t\"");
  }
  LaneSet lanes(std::move(pipelines));
  lanes[0].send(0, FakeServer::rows(1, 5));
  lanes[1].send(0, FakeServer::rows(6, 5));
  lanes.commit(10, {{}, {}});
  lanes.drain();
  CHECK(server.committed_ids().size() == 10);
}

TEST_CASE("A server with a slot for one connection only loads through that one", "[load][lanes]") {
  CapturedLog log;
  FakeServer server;
  server.connection_slots = 1;
  std::vector<std::chrono::milliseconds> waits;
  auto connections = pgdest::load::open_lane_connections(
      server.connect(), 3, [&server] { return server.connect(); }, no_sleep_retry(waits), 1, {});
  CHECK(connections.size() == 1);
  CHECK(waits.empty());
  CHECK(log.text().find("refused connection 2 of 3, so this sync loads through 1") !=
        std::string::npos);
  // One lane has nothing to probe.
  CHECK(std::count(server.log.begin(), server.log.end(), "BEGIN") == 0);
}

TEST_CASE("Another failure to open a lane is retried and then fails the sync, as before",
          "[load][lanes]") {
  CapturedLog log;
  FakeServer server;
  server.reconnect_refused_for_good = true; // "the server is starting up", every time
  std::vector<std::chrono::milliseconds> waits;
  auto first = server.connect();
  try {
    pgdest::load::open_lane_connections(std::move(first), 2, [&server] { return server.connect(); },
                                        no_sleep_retry(waits), 1, {});
    FAIL("opening the lanes did not fail");
  } catch (const pgdest::Error& error) {
    CHECK(error.failure_type() == pgdest::FailureType::transient_error);
    CHECK(std::string(error.what()).find("Gave up after 6 attempts") != std::string::npos);
  }
  CHECK(waits.size() == 5);
}
