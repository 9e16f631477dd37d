// The connector killed with SIGKILL at seeded random points and rerun from the last STATE it
// emitted, as the platform does: nothing committed is lost, no STATE runs ahead of its rows.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "support/fault_input.hpp"
#include "support/harness.hpp"
#include "support/sync.hpp"

using namespace pgdest::testing;
using Rows = std::vector<std::vector<std::string>>;

namespace {

constexpr long kRecords = 24000;
constexpr long kBatch = 2000;       // records per state
constexpr std::size_t kPad = 1000;  // ~1 KiB a record: two batches fill a COPY chunk
constexpr double kIdleCommit = 1.2; // a pause this long (s) makes the connector commit

struct Attempt {
  long first = 1;   // seq the attempt was fed from (the record after the last emitted state)
  long fed_to = 0;  // last seq fed before the kill
  long emitted = 0; // cursor of the last state it emitted
};

// Feeds batches from `first`, pausing after some so that commits happen, kills the connector at
// a random moment, and checks what it emitted against the table. `table` holds the rows while
// the sync runs (the staging table of a refresh).
Attempt run_and_kill(std::mt19937& random, const std::vector<std::string>& args, long first,
                     long keys, const std::string& table) {
  Attempt attempt;
  attempt.first = first;
  attempt.fed_to = first - 1;
  ConnectorProcess connector(args);
  long batches_before_kill = std::uniform_int_distribution<long>(1, 5)(random);
  for (long batch = 0; batch < batches_before_kill && attempt.fed_to < kRecords; ++batch) {
    long end = std::min(kRecords, attempt.fed_to + kBatch);
    connector.write_stdin(user_batches(attempt.fed_to + 1, end, kBatch, keys, kPad));
    attempt.fed_to = end;
    if (std::bernoulli_distribution(0.5)(random))
      std::this_thread::sleep_for(std::chrono::duration<double>(kIdleCommit));
  }
  std::this_thread::sleep_for(
      std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 1500)(random)));
  connector.kill_now();
  auto result = connector.wait();
  INFO("attempt fed " << first << ".." << attempt.fed_to << "; stderr: " << result.stderr_text);
  CHECK(result.exit_code == 128 + 9);
  CHECK(result.trace_errors().empty());
  attempt.emitted = check_states_committed(states(result), first, kBatch, table, keys);
  return attempt;
}

// Reruns from the last emitted state after each kill, then once more to the end; returns the
// attempts that were killed.
std::vector<Attempt> kill_then_finish(unsigned seed, int kills, const std::string& schema,
                                      const nlohmann::ordered_json& catalog, long keys,
                                      const std::string& running_table) {
  std::mt19937 random(seed);
  auto args = write_args(schema, test_config(schema), catalog);
  std::vector<Attempt> killed;
  long next = 1;
  for (int kill = 0; kill < kills; ++kill) {
    INFO("seed " << seed << ", kill " << kill);
    killed.push_back(run_and_kill(random, args, next, keys, running_table));
    next = killed.back().emitted + 1;
  }
  auto result = run_connector(args, user_batches(next, kRecords, kBatch, keys, kPad) +
                                        complete_statuses(catalog));
  INFO("final run from " << next << ": " << result.stderr_text);
  REQUIRE(result.exit_code == 0);
  CHECK(protocol_violations(result.stdout_lines).empty());
  auto emitted = states(result);
  CHECK(emitted.size() == static_cast<std::size_t>((kRecords - next + 1) / kBatch));
  return killed;
}

// How many times a record may be in an append table: once, plus once for each killed attempt
// that was fed it after its last emitted state (committed, but not acknowledged: at-least-once).
long allowed_copies(const std::vector<Attempt>& killed, long seq) {
  long copies = 1;
  for (const auto& attempt : killed)
    if (seq > attempt.emitted && seq <= attempt.fed_to)
      ++copies;
  return copies;
}

void check_every_record_within_window(const std::vector<Attempt>& killed,
                                      const std::string& table) {
  auto counts = query_rows("SELECT seq, count(*) FROM " + table + " GROUP BY seq ORDER BY seq");
  REQUIRE(counts.size() == static_cast<std::size_t>(kRecords)); // every record at least once
  long duplicated = 0;
  for (const auto& row : counts) {
    long seq = std::stol(row[0]);
    long copies = std::stol(row[1]);
    INFO("seq " << seq);
    REQUIRE(copies <= allowed_copies(killed, seq));
    duplicated += copies - 1;
  }
  // Seen duplicates, for the record: rows committed after the last state of a killed attempt.
  WARN(duplicated << " records loaded twice after " << killed.size() << " kills");
}

} // namespace

TEST_CASE("append killed at 5 random points and rerun from the last state keeps every record",
          "[write][fault][kill]") {
  auto schema = fresh_schema("it_kill_append");
  auto catalog = users_catalog("append");
  auto killed = kill_then_finish(20261202, 5, schema, catalog, 0, "it_kill_append.users");
  check_every_record_within_window(killed, "it_kill_append.users");
}

TEST_CASE("append_dedup killed at random points and rerun ends with one row per key",
          "[write][fault][kill]") {
  auto schema = fresh_schema("it_kill_dedup");
  auto catalog = users_catalog("append_dedup");
  const long keys = kRecords / 2;
  kill_then_finish(7, 3, schema, catalog, keys, "it_kill_dedup.users");
  // One row per key, the newest version (the second half of the records).
  CHECK(query_rows("SELECT count(*), count(DISTINCT id), min(seq - id), max(seq - id) FROM "
                   "it_kill_dedup.users") == Rows{{std::to_string(keys), std::to_string(keys),
                                                   std::to_string(keys), std::to_string(keys)}});
}

TEST_CASE("overwrite killed at random points keeps the old rows until a rerun completes",
          "[write][fault][kill]") {
  auto schema = fresh_schema("it_kill_overwrite");
  // Generation 1: the old rows.
  auto old_catalog = users_catalog("overwrite", 1);
  auto first = run_connector(write_args(schema, test_config(schema), old_catalog),
                             user_batches(1, 100, 100) + complete_statuses(old_catalog));
  REQUIRE(first.exit_code == 0);
  const Rows old_rows = {{"100", "1"}};
  const std::string final_rows =
      "SELECT count(*), max(_airbyte_generation_id) FROM it_kill_overwrite.users";
  // Generation 2, killed twice: readers of the final table see the old rows throughout.
  auto catalog = users_catalog("overwrite", 2);
  std::mt19937 random(11);
  auto args = write_args(schema, test_config(schema), catalog);
  std::vector<Attempt> killed;
  long next = 1;
  for (int kill = 0; kill < 2; ++kill) {
    killed.push_back(run_and_kill(random, args, next, 0, "it_kill_overwrite.users_airbyte_tmp"));
    next = killed.back().emitted + 1;
    CHECK(query_rows(final_rows) == old_rows);
  }
  auto result = run_connector(args, user_batches(next, kRecords, kBatch, 0, kPad) +
                                        complete_statuses(catalog));
  INFO(result.stderr_text);
  REQUIRE(result.exit_code == 0);
  CHECK(query_rows(final_rows) != old_rows);
  CHECK(query_rows("SELECT count(*) FROM it_kill_overwrite.users WHERE _airbyte_generation_id "
                   "<> 2") == Rows{{"0"}});
  check_every_record_within_window(killed, "it_kill_overwrite.users");
  CHECK(query_rows("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                   "'it_kill_overwrite' ORDER BY 1") == Rows{{"users"}});
}
