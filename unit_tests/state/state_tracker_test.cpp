// StateTracker: release order, commit watermarks and per-scope record counts.
#include <catch2/catch.hpp>

#include "pgdest/state/state_tracker.hpp"

using pgdest::protocol::StateMessage;
using pgdest::protocol::StateType;
using pgdest::state::StateTracker;

namespace {

StateMessage state(StateType type, const std::string& fields,
                   std::optional<std::string> stream = std::nullopt) {
  StateMessage message;
  message.type = type;
  message.fields = fields;
  if (stream)
    message.stream = pgdest::protocol::StreamDescriptor{std::nullopt, *stream};
  return message;
}

std::vector<std::string> fields(const std::vector<pgdest::state::ReleasedState>& released) {
  std::vector<std::string> out;
  for (const auto& r : released)
    out.push_back(r.message.fields + "=" + std::to_string(r.record_count));
  return out;
}

} // namespace

TEST_CASE("a state waits until every record read before it is committed", "[state]") {
  StateTracker tracker(1);
  tracker.record_read(0);
  tracker.record_read(0);
  tracker.state_read(state(StateType::STREAM, "{a", "s"), 0);
  CHECK(tracker.release(0).empty());
  CHECK(tracker.release(1).empty());
  CHECK(fields(tracker.release(2)) == std::vector<std::string>{"{a=2"});
  CHECK(tracker.pending() == 0);
}

TEST_CASE("a state with no records behind it leaves as soon as the states before it", "[state]") {
  StateTracker tracker(1);
  tracker.state_read(state(StateType::GLOBAL, "{first"), -1);
  CHECK(fields(tracker.release(0)) == std::vector<std::string>{"{first=0"});
  tracker.record_read(0);
  tracker.state_read(state(StateType::GLOBAL, "{second"), -1);
  tracker.state_read(state(StateType::GLOBAL, "{third"), -1);
  CHECK(tracker.release(0).empty());
  CHECK(fields(tracker.release(1)) == std::vector<std::string>{"{second=1", "{third=0"});
}

TEST_CASE("states leave in arrival order, each once", "[state]") {
  StateTracker tracker(2);
  tracker.record_read(0);
  tracker.state_read(state(StateType::STREAM, "{s0", "a"), 0);
  tracker.record_read(1);
  tracker.record_read(1);
  tracker.state_read(state(StateType::STREAM, "{s1", "b"), 1);
  CHECK(fields(tracker.release(1)) == std::vector<std::string>{"{s0=1"});
  CHECK(tracker.release(1).empty());
  CHECK(fields(tracker.release(3)) == std::vector<std::string>{"{s1=2"});
  CHECK(tracker.release(3).empty());
}

TEST_CASE("record counts are per scope: per stream for STREAM, all records for GLOBAL and LEGACY",
          "[state]") {
  StateTracker tracker(2);
  tracker.record_read(0);
  tracker.record_read(1);
  tracker.record_read(0);
  tracker.state_read(state(StateType::STREAM, "{a1", "a"), 0);
  tracker.record_read(1);
  tracker.state_read(state(StateType::STREAM, "{b1", "b"), 1);
  tracker.state_read(state(StateType::GLOBAL, "{g1"), -1);
  tracker.record_read(0);
  tracker.state_read(state(StateType::LEGACY, "{l1"), -1);
  tracker.state_read(state(StateType::STREAM, "{a2", "a"), 0);
  tracker.state_read(state(StateType::STREAM, "{unknown", "zzz"), -1);
  CHECK(fields(tracker.release(100)) ==
        std::vector<std::string>{"{a1=2", "{b1=2", "{g1=4", "{l1=1", "{a2=1", "{unknown=0"});
  CHECK(tracker.records_read() == 5);
}

TEST_CASE("the states a commit lets out: past the previous commit, per stream or for all",
          "[state][synclog]") {
  StateTracker tracker(3);
  using Counts = std::vector<std::uint64_t>;
  auto let_out = [&](std::uint64_t committed) {
    const auto states = tracker.states_after(committed);
    Counts counts = states.per_stream;
    counts.push_back(states.every_stream);
    return counts;
  };
  CHECK(let_out(0) == Counts{0, 0, 0, 0});
  tracker.record_read(0);
  tracker.state_read(state(StateType::STREAM, "{a", "a"), 0);
  tracker.record_read(1);
  tracker.state_read(state(StateType::STREAM, "{b", "b"), 1);
  tracker.state_read(state(StateType::STREAM, "{b2", "b"), 1);
  // The first commit covers records 1 and 2: all three states.
  CHECK(let_out(0) == Counts{1, 2, 0, 0});
  tracker.release(1); // the first state has left already; the others wait for record 2
  CHECK(let_out(0) == Counts{0, 2, 0, 0});

  // The next commit, of records 3 and 4, lets out only the states read after record 2: a
  // STREAM state of a stream not in the catalog counts for none, a GLOBAL one for every stream.
  tracker.record_read(2);
  tracker.state_read(state(StateType::STREAM, "{x", "x"), -1);
  tracker.record_read(2);
  tracker.state_read(state(StateType::GLOBAL, "{g"), -1);
  CHECK(let_out(2) == Counts{0, 0, 0, 1});
  // A state read right after a commit's last record belongs to that commit, not the next.
  tracker.state_read(state(StateType::LEGACY, "{l"), -1);
  CHECK(let_out(4) == Counts{0, 0, 0, 0});
  CHECK(let_out(2) == Counts{0, 0, 0, 2});
}
