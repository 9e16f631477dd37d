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
  // How waiting is done; tests replace it so that they never sleep.
  std::function<void(std::chrono::milliseconds)> sleep;

  static RetryPolicy standard();
};

// The retries of one operation. Waits are drawn from [backoff/2, backoff] so that several
// connections that failed together do not come back in lockstep.
class RetrySchedule {
public:
  RetrySchedule(const RetryPolicy& policy, std::uint64_t seed);

  // After a failed attempt that ran `elapsed` after the first began: how long to wait before the
  // next attempt, or nothing when no attempt is left (count or time budget spent).
  [[nodiscard]] std::optional<std::chrono::milliseconds>
  next_wait(std::chrono::steady_clock::duration elapsed);

  int attempts() const { return attempts_; }

private:
  const RetryPolicy& policy_;
  std::uint64_t random_;
  int attempts_ = 1;
};

// The error to give when retries are spent: the last failure, of its kind, saying so.
Error retries_exhausted(const Error& last, int attempts,
                        std::chrono::steady_clock::duration elapsed);

// Runs `attempt` until it succeeds, retrying transient errors as `policy` allows.
template <typename Attempt>
auto retry_transient(const RetryPolicy& policy, std::uint64_t seed, Attempt&& attempt) {
  RetrySchedule schedule(policy, seed);
  const auto first = std::chrono::steady_clock::now();
  for (;;) {
    try {
      return attempt();
    } catch (const Error& error) {
      if (error.failure_type() != FailureType::transient_error)
        throw;
      const auto elapsed = std::chrono::steady_clock::now() - first;
      auto wait = schedule.next_wait(elapsed);
      if (!wait)
        throw retries_exhausted(error, schedule.attempts(), elapsed);
      spdlog::warn("{} Trying again in {:.1f} s.", error.what(),
                   static_cast<double>(wait->count()) / 1000.0);
      policy.sleep(*wait);
    }
  }
}

} // namespace pgdest::load
