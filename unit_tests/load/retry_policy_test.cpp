// Backoff with jitter, bounded in attempts and time.
#include "pgdest/load/retry_policy.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using pgdest::load::RetryPolicy;
using pgdest::load::RetrySchedule;

TEST_CASE("Retry waits double up to the cap, each drawn from its upper half", "[load][retry]") {
  RetryPolicy policy;
  policy.max_attempts = 7;
  policy.first_backoff = 1000ms;
  policy.max_backoff = 8000ms;
  policy.total_budget = 1h;
  RetrySchedule schedule(policy, 42);
  const std::chrono::milliseconds caps[] = {1000ms, 2000ms, 4000ms, 8000ms, 8000ms, 8000ms};
  for (auto cap : caps) {
    auto wait = schedule.next_wait(0s);
    REQUIRE(wait);
    CHECK(*wait >= cap / 2);
    CHECK(*wait <= cap);
  }
  CHECK_FALSE(schedule.next_wait(0s)); // 7 attempts made
  CHECK(schedule.attempts() == 7);
}

TEST_CASE("No retry starts past the time budget", "[load][retry]") {
  RetryPolicy policy;
  policy.max_attempts = 100;
  policy.first_backoff = 1000ms;
  policy.max_backoff = 1000ms;
  policy.total_budget = 10s;
  RetrySchedule schedule(policy, 7);
  CHECK(schedule.next_wait(5s));
  CHECK_FALSE(schedule.next_wait(9600ms)); // even the shortest wait (0.5 s) would end past 10 s
  CHECK_FALSE(schedule.next_wait(11s));
}

TEST_CASE("Schedules with different seeds spread their waits", "[load][retry]") {
  RetryPolicy policy;
  policy.total_budget = 1h;
  int different = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    RetrySchedule a(policy, seed);
    RetrySchedule b(policy, seed + 1000);
    if (*a.next_wait(0s) != *b.next_wait(0s))
      ++different;
  }
  CHECK(different >= 15);
}
