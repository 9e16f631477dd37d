// The totals of a run's commits kept in memory, and the closing LOG message.
#include <catch2/catch.hpp>

#include <map>

#include "pgdest/load/sync_log.hpp"

using namespace pgdest::load;

TEST_CASE("a commit's parts count once their lane has committed up to the commit",
          "[load][synclog]") {
  CommitLedger ledger(2);
  // Commit 1 (records 1..10): stream 0 on lanes 0 and 1, stream 1 on lane 0 with two states;
  // one of stream 1's records superseded the row before it, which was never sent.
  ledger.add(10, {{0, 0, 4, 400, 1, 4}, {0, 1, 3, 300, 0, 3}, {1, 0, 3, 30, 2, 2}});
  // Commit 2 (records 11..15): stream 0 on lane 1 only.
  ledger.add(15, {{0, 1, 5, 500, 0, 5}});
  std::map<std::size_t, std::uint64_t> committed{{0, 0}, {1, 0}};
  auto lane = [&](std::size_t index) { return committed[index]; };

  ledger.settle(lane);
  CHECK(ledger.totals()[0].records == 0);

  // Lane 0 committed commit 1; lane 1 failed before committing anything.
  committed[0] = 10;
  ledger.settle(lane);
  CHECK(ledger.totals()[0].records == 4);
  CHECK(ledger.totals()[0].bytes == 400);
  CHECK(ledger.totals()[0].states == 1);
  CHECK(ledger.totals()[1].records == 3);
  CHECK(ledger.totals()[0].rows_inserted == 4);
  CHECK(ledger.totals()[1].rows_inserted == 2);
  CHECK(ledger.totals()[1].states == 2);
  CHECK_FALSE(ledger.totals()[0].rows_deleted);

  // Settling again adds nothing twice; lane 1 catching up adds both its parts.
  ledger.settle(lane);
  CHECK(ledger.totals()[0].records == 4);
  committed[1] = 15;
  ledger.settle(lane);
  CHECK(ledger.totals()[0].records == 12);
  CHECK(ledger.totals()[0].rows_inserted == 12);
  CHECK(ledger.totals()[0].bytes == 1200);
}

TEST_CASE("the closing LOG message: a line per stream with its status and totals",
          "[load][synclog]") {
  using pgdest::postgres::Identifier;
  std::vector<std::optional<StreamClosing>> closings(3);
  closings[0] = StreamClosing{"complete",
                              "",
                              {Identifier("s"), Identifier("users")},
                              {1000, 1000, std::uint64_t{250}, 3 << 20, 4}};
  closings[2] = StreamClosing{
      "failed", "the sync failed: boom", {Identifier("s"), Identifier("b_airbyte_tmp")}, {}};
  CHECK(describe_closings({"users", "skipped", "ns.b"}, closings, "somewhere") ==
        "Sync totals (somewhere):\n"
        "users: complete; 1000 records, 1000 rows inserted, 250 rows deleted, 3.0 MiB, 4 states; "
        "\"s\".\"users\"\n"
        "ns.b: failed; 0 records, 0 rows inserted, rows deleted not counted, 0.0 MiB, 0 states; "
        "\"s\".\"b_airbyte_tmp\"; the sync failed: boom");
}
