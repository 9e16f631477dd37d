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
  const long covers = message.type == protocol::StateType::STREAM ? stream_index : kEveryStream;
  pending_.push_back({{std::move(message), count}, records_read_, covers});
}

StateTracker::StatesLetOut StateTracker::states_after(std::uint64_t committed) const {
  StatesLetOut states{std::vector<std::uint64_t>(per_stream_.size(), 0), 0};
  // States leave in order, so those past `committed` are the last ones still pending.
  for (auto it = pending_.rbegin(); it != pending_.rend() && it->watermark > committed; ++it) {
    if (it->stream_index == kEveryStream)
      ++states.every_stream;
    else if (it->stream_index >= 0)
      ++states.per_stream[static_cast<std::size_t>(it->stream_index)];
  }
  return states;
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
