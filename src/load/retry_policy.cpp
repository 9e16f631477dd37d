// Backoff with jitter for retries of connections and transactions.
#include "pgdest/load/retry_policy.hpp"

#include <algorithm>
#include <thread>

#include <fmt/format.h>

namespace pgdest::load {

void wait_before_retry(const RetryPolicy& policy, std::chrono::milliseconds wait) {
  if (policy.sleep)
    policy.sleep(wait);
  else
    std::this_thread::sleep_for(wait);
}

RetrySchedule::RetrySchedule(const RetryPolicy& policy, std::uint64_t seed)
    : max_attempts_(policy.max_attempts), first_backoff_(policy.first_backoff),
      max_backoff_(policy.max_backoff), total_budget_(policy.total_budget) {
  // splitmix64, so that nearby seeds start far apart (and never at 0, which xorshift keeps).
  std::uint64_t z = seed + 0x9e3779b97f4a7c15u;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  random_ = (z ^ (z >> 31)) | 1u;
}

std::optional<std::chrono::milliseconds>
RetrySchedule::next_wait(std::chrono::steady_clock::duration elapsed) {
  if (attempts_ >= max_attempts_)
    return std::nullopt;
  auto backoff = first_backoff_;
  for (int i = 1; i < attempts_ && backoff < max_backoff_; ++i)
    backoff *= 2;
  backoff = std::min(backoff, max_backoff_);
  // xorshift64: jitter needs no more than that.
  random_ ^= random_ << 13;
  random_ ^= random_ >> 7;
  random_ ^= random_ << 17;
  const auto half = backoff.count() / 2;
  const auto wait = std::chrono::milliseconds(
      half + static_cast<long>(random_ % static_cast<std::uint64_t>(half + 1)));
  if (elapsed + wait > total_budget_)
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
