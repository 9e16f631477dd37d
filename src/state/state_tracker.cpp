// State bookkeeping: per-scope record counts and release once committed, in arrival order.
#include "pgdest/state/state_tracker.hpp"

namespace pgdest::state {

void StateTracker::state_read(protocol::StateMessage message, long stream_index) {
  std::uint64_t count = 0;
  if (message.type == protocol::StateType::STREAM) {
    if (stream_index >= 0) {
      auto& since = per_stream_[static_cast<std::size_t>(stream_index)];
      count = since;
      since = 0;
    }
  } else {
    count = since_global_;
    since_global_ = 0;
  }
  pending_.push_back({{std::move(message), count}, records_read_});
}

std::vector<ReleasedState> StateTracker::release(std::uint64_t committed_records) {
  std::vector<ReleasedState> ready;
  while (!pending_.empty() && pending_.front().watermark <= committed_records) {
    ready.push_back(std::move(pending_.front().state));
    pending_.pop_front();
  }
  return ready;
}

} // namespace pgdest::state
