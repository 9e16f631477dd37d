#pragma once
// The write command: reads messages, decides when to commit, releases states once committed,
// reports progress, and settles how each stream ended. How rows are loaded is the load session's.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pgdest/catalog/stream_index.hpp"
#include "pgdest/catalog/stream_plan.hpp"
#include "pgdest/config/destination_config.hpp"
#include "pgdest/load/load_session.hpp"
#include "pgdest/protocol/message_reader.hpp"
#include "pgdest/protocol/message_writer.hpp"
#include "pgdest/state/state_tracker.hpp"

namespace pgdest::write {

struct FlushPolicy {
  load::LoadLimits load;                       // how rows are buffered on their way to the lanes
  std::size_t commit_bytes = 64u << 20;        // rows per transaction
  std::chrono::seconds commit_interval{60};    // data flowing this long is committed
  std::chrono::milliseconds idle_commit{1000}; // input quiet this long: commit what is read
};

// How a stream's source said it ended.
enum class StreamEnd { none, complete, incomplete };

class WriteRun : private protocol::MessageHandler {
public:
  WriteRun(const config::DestinationConfig& config, std::vector<catalog::StreamPlan> plans,
           protocol::MessageWriter& out, FlushPolicy policy = {});
  ~WriteRun() override;

  // Reads messages from `input_fd` to the end. Throws pgdest::Error when the sync fails; the
  // states that may still leave then have left (see release_states_after_failure).
  void run(int input_fd);

private:
  std::string_view record_begin(std::optional<std::string_view> stream_namespace,
                                std::string_view name, bool namespace_known) override;
  void record_data(simdjson::ondemand::object data) override;
  void record_end(std::int64_t emitted_at_ms, std::string_view source_changes) override;
  void state(protocol::StateMessage message) override;
  void stream_status(const protocol::StreamDescriptor& stream,
                     protocol::StreamStatus status) override;

  long stream_index(const protocol::StreamDescriptor& stream) const;
  void after_record();
  void commit();
  void release_states();
  void release_states_after_failure(const std::exception& failure) noexcept;
  void on_idle();
  void report_progress(bool final);
  void finish();
  void settle_stream_ends() const;

  const config::DestinationConfig& config_;
  std::vector<catalog::StreamPlan> plans_;
  protocol::MessageWriter& out_;
  FlushPolicy policy_;

  std::unique_ptr<load::LoadSession> session_;
  catalog::StreamIndex streams_;
  state::StateTracker tracker_;
  std::vector<StreamEnd> ends_;
  protocol::MessageReader* reader_ = nullptr;

  std::size_t current_ = 0;            // stream of the record being read
  std::uint64_t commit_requested_ = 0; // records covered by the last commit asked for
  std::chrono::steady_clock::time_point
      first_uncommitted_at_; // when the oldest uncommitted record was read
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_progress_;
  bool progress_on_terminal_ = false;
};

} // namespace pgdest::write
