#pragma once
// The one retry policy of the load: exponential backoff with jitter, bounded in attempts and in
// total time. Used for connecting and for replaying a transaction after a transient failure.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include <spdlog/spdlog.h>

#include "pgdest/error.hpp"

namespace pgdest::load {

struct RetryPolicy {
  int max_attempts = 6;                          // including the first
  std::chrono::milliseconds first_backoff{1000}; // doubled after each failed attempt ...
  std::chrono::milliseconds max_backoff{8000};   // ... up to this
  std::chrono::milliseconds total_budget{60000}; // no retry starts later than this after the first
  // How waiting is done; tests set it so that they never sleep. Empty: the caller's own wait
  // (a plain sleep, or for a CopyPipeline one that an abandon() cuts short).
  std::function<void(std::chrono::milliseconds)> sleep;
};

// The retries of one operation. Waits are drawn from [backoff/2, backoff] so that several
// connections that failed together do not come back in lockstep.
class RetrySchedule {
public:
  RetrySchedule(const RetryPolicy& policy, std::uint64_t seed);

  // After a failed attempt, `elapsed` after the first failure: how long to wait before the next
  // attempt, or nothing when no attempt is left (count or time budget spent).
  [[nodiscard]] std::optional<std::chrono::milliseconds>
  next_wait(std::chrono::steady_clock::duration elapsed);

  int attempts() const { return attempts_; }

private:
  int max_attempts_;
  std::chrono::milliseconds first_backoff_;
  std::chrono::milliseconds max_backoff_;
  std::chrono::milliseconds total_budget_;
  std::uint64_t random_;
  int attempts_ = 1;
};

// The error to give when retries are spent: the last failure, of its kind, saying so.
Error retries_exhausted(const Error& last, int attempts,
                        std::chrono::steady_clock::duration elapsed);

// Sleeps as `policy` says (a plain sleep when it does not say).
void wait_before_retry(const RetryPolicy& policy, std::chrono::milliseconds wait);

// Runs `attempt` until it succeeds, retrying transient errors as `policy` allows.
template <typename Attempt>
auto retry_transient(const RetryPolicy& policy, std::uint64_t seed, Attempt&& attempt) {
  RetrySchedule schedule(policy, seed);
  std::optional<std::chrono::steady_clock::time_point> first_failure;
  for (;;) {
    try {
      return attempt();
    } catch (const Error& error) {
      if (error.failure_type() != FailureType::transient_error)
        throw;
      if (!first_failure)
        first_failure = std::chrono::steady_clock::now();
      const auto elapsed = std::chrono::steady_clock::now() - *first_failure;
      auto wait = schedule.next_wait(elapsed);
      if (!wait)
        throw retries_exhausted(error, schedule.attempts(), elapsed);
      spdlog::warn("{} Trying again in {:.1f} s.", error.what(),
                   static_cast<double>(wait->count()) / 1000.0);
      wait_before_retry(policy, *wait);
    }
  }
}

} // namespace pgdest::load
