#pragma once
// The write command: set up tables, stream records from stdin into them, commit in batches,
// release states once committed, and finish the streams.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "pgdest/catalog/stream_index.hpp"
#include "pgdest/catalog/stream_plan.hpp"
#include "pgdest/config/destination_config.hpp"
#include "pgdest/load/copy_pipeline.hpp"
#include "pgdest/load/stream_loader.hpp"
#include "pgdest/postgres/sql_builder.hpp"
#include "pgdest/protocol/message_reader.hpp"
#include "pgdest/protocol/message_writer.hpp"
#include "pgdest/state/state_tracker.hpp"

namespace pgdest::write {

struct FlushPolicy {
  std::size_t stream_chunk_bytes = 4u
                                   << 20; // a stream's rows go to the pipeline in chunks this big
  std::size_t buffered_bytes_limit = 32u << 20; // all streams' unsent rows together
  std::size_t commit_bytes = 64u << 20;         // rows per transaction
  std::chrono::seconds commit_interval{60};     // data flowing this long is committed
  std::chrono::milliseconds idle_commit{1000};  // input quiet this long: commit what is read
};

class WriteRun : private protocol::MessageHandler {
public:
  // Connections used when the catalog has append_dedup streams (otherwise one).
  static constexpr std::size_t kDedupConnections = 2;

  WriteRun(const config::DestinationConfig& config, std::vector<catalog::StreamPlan> plans,
           protocol::MessageWriter& out, FlushPolicy policy = {});
  ~WriteRun() override;

  // Reads messages from `input_fd` to the end. Throws pgdest::Error when the sync fails.
  void run(int input_fd);

private:
  std::string_view record_begin(std::optional<std::string_view> stream_namespace,
                                std::string_view name, bool namespace_known) override;
  void record_data(simdjson::ondemand::object data) override;
  void record_end(std::int64_t emitted_at_ms, std::string_view source_changes) override;
  void state(protocol::StateMessage message) override;
  void stream_status(const protocol::StreamDescriptor& stream,
                     protocol::StreamStatus status) override;

  void set_up();
  static std::unique_ptr<postgres::PgConnection>
  connect_with_retry(const std::function<std::unique_ptr<postgres::PgConnection>()>& connect);
  // An append_dedup stream's DedupSpec, DedupKeys and DELETE text.
  void set_up_dedup(load::StreamLoader& loader, std::size_t stream);
  void replace_rows(const load::StreamLoader& loader);
  void analyze_grown_targets();
  long stream_index(const protocol::StreamDescriptor& stream) const;
  void send_rows(load::StreamLoader& loader, std::size_t lane);
  void send_keys(load::StreamLoader& loader, std::size_t lane);
  void send_largest_rows();
  std::uint64_t committed_records() const;
  void check_pipelines() const;
  void drain_pipelines();
  void commit_all();
  void release_states();
  void after_record(load::StreamLoader& loader, std::size_t lane);
  void on_idle();
  void report_progress(bool final);
  void finish();

  const config::DestinationConfig& config_;
  std::vector<catalog::StreamPlan> plans_;
  protocol::MessageWriter& out_;
  FlushPolicy policy_;

  // The connections' I/O threads; the first also runs set-up, ANALYZE and refresh swaps.
  std::vector<std::unique_ptr<load::CopyPipeline>> pipelines_;
  std::vector<std::unique_ptr<load::StreamLoader>> loaders_;
  std::unique_ptr<load::SeenKeys> seen_keys_; // dedup keys seen in this sync, of all streams
  catalog::StreamIndex streams_;
  state::StateTracker tracker_;
  protocol::MessageReader* reader_ = nullptr;

  std::size_t current_ = 0;            // stream of the record being read
  std::size_t unsent_bytes_ = 0;       // rows in the loaders' buffers
  std::size_t uncommitted_bytes_ = 0;  // rows sent since the last commit
  std::uint64_t commit_requested_ = 0; // records covered by the last commit asked for
  std::uint64_t total_bytes_ = 0;
  std::chrono::steady_clock::time_point
      first_uncommitted_at_; // when the oldest uncommitted record was read
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_progress_;
  bool progress_on_terminal_ = false;
};

} // namespace pgdest::write
