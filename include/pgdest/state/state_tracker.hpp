#pragma once
// Decides when a STATE may leave: only once every record read before it is committed. Counts the
// records behind each state for destinationStats.recordCount.
#include <cstdint>
#include <deque>
#include <vector>

#include "pgdest/protocol/state_message.hpp"

namespace pgdest::state {

// A state ready to be written, with its record count.
struct ReleasedState {
  protocol::StateMessage message;
  std::uint64_t record_count = 0;
};

class StateTracker {
public:
  // `stream_count` is the number of catalog streams; records are counted per stream index.
  explicit StateTracker(std::size_t stream_count) : per_stream_(stream_count, 0) {}

  // A record of the stream with this index was read (it is the `records_read()`-th).
  void record_read(std::size_t stream_index) {
    ++records_read_;
    ++per_stream_[stream_index];
    ++since_global_;
  }

  // A state arrived; `stream_index` is its stream's index for STREAM states that name a catalog
  // stream, else -1. It waits until the records read so far are committed.
  void state_read(protocol::StateMessage message, long stream_index);

  // States whose records are all committed, given how many records (in read order) are; in order.
  std::vector<ReleasedState> release(std::uint64_t committed_records);

  // The states read so far whose records are not all within the first `committed`: those a
  // commit of every record read so far lets out, past one of the first `committed`.
  struct StatesLetOut {
    std::vector<std::uint64_t> per_stream; // STREAM states, by the stream they cover
    std::uint64_t every_stream = 0;        // GLOBAL and LEGACY states, which cover all streams
  };
  StatesLetOut states_after(std::uint64_t committed) const;

  std::uint64_t records_read() const { return records_read_; }
  std::size_t pending() const { return pending_.size(); }

private:
  struct Pending {
    ReleasedState state;
    std::uint64_t watermark; // records read before this state
    long stream_index;       // the stream a STREAM state covers (-1: none), or kEveryStream
  };
  static constexpr long kEveryStream = -2; // a GLOBAL or LEGACY state
  std::vector<std::uint64_t> per_stream_;  // records since the stream's previous STREAM state
  std::uint64_t since_global_ = 0;         // records since the previous GLOBAL/LEGACY state
  std::uint64_t records_read_ = 0;
  std::deque<Pending> pending_;
};

} // namespace pgdest::state
