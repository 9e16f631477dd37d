// Backoff with jitter for retries of connections and transactions.
#include "pgdest/load/retry_policy.hpp"

#include <algorithm>
#include <thread>

#include <fmt/format.h>

namespace pgdest::load {

RetryPolicy RetryPolicy::standard() {
  RetryPolicy policy;
  policy.sleep = [](std::chrono::milliseconds wait) { std::this_thread::sleep_for(wait); };
  return policy;
}

RetrySchedule::RetrySchedule(const RetryPolicy& policy, std::uint64_t seed)
    : policy_(policy), random_(seed | 1u) {}

std::optional<std::chrono::milliseconds>
RetrySchedule::next_wait(std::chrono::steady_clock::duration elapsed) {
  if (attempts_ >= policy_.max_attempts)
    return std::nullopt;
  auto backoff = policy_.first_backoff;
  for (int i = 1; i < attempts_ && backoff < policy_.max_backoff; ++i)
    backoff *= 2;
  backoff = std::min(backoff, policy_.max_backoff);
  // xorshift64: jitter needs no more than that.
  random_ ^= random_ << 13;
  random_ ^= random_ >> 7;
  random_ ^= random_ << 17;
  const auto half = backoff.count() / 2;
  const auto wait = std::chrono::milliseconds(
      half + static_cast<long>(random_ % static_cast<std::uint64_t>(half + 1)));
  if (elapsed + wait > policy_.total_budget)
    return std::nullopt;
  ++attempts_;
  return wait;
}

Error retries_exhausted(const Error& last, int attempts,
                        std::chrono::steady_clock::duration elapsed) {
  return Error(last.failure_type(),
               fmt::format("{} Gave up after {} attempts in {:.0f} s.", last.what(), attempts,
                           std::chrono::duration<double>(elapsed).count()),
               last.internal_message());
}

} // namespace pgdest::load
