#pragma once
// Everything the load does on the server for one sync: the connections and their lanes, each
// stream's tables and loader, the COPY targets, the commit fan-out, ANALYZE and the steps that
// finish complete streams (the refresh swap). The write run decides when to commit; the session
// decides how.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "pgdest/catalog/stream_plan.hpp"
#include "pgdest/config/destination_config.hpp"
#include "pgdest/load/dedup_keys.hpp"
#include "pgdest/load/lane_set.hpp"
#include "pgdest/load/stream_loader.hpp"
#include "pgdest/load/sync_log.hpp"
#include "pgdest/postgres/session.hpp"

namespace pgdest::load {

struct LoadLimits {
  std::size_t stream_chunk_bytes = 4u << 20;    // a stream's rows go to a lane in chunks this big
  std::size_t buffered_bytes_limit = 32u << 20; // all streams' rows not yet handed to a lane
  std::size_t queued_bytes_limit = 32u << 20;   // rows handed to the lanes, not yet sent
};

class LoadSession {
public:
  // Connects (retrying transient failures) and prepares every stream's tables.
  LoadSession(const config::DestinationConfig& config,
              const std::vector<catalog::StreamPlan>& plans, LoadLimits limits = {});
  // Abandons what is not committed (see abandon()).
  ~LoadSession();
  LoadSession(const LoadSession&) = delete;
  LoadSession& operator=(const LoadSession&) = delete;

  // The stream's encoder reads a record's data; add_record() then buffers its rows and hands
  // full chunks to the stream's lanes.
  encode::RowEncoder& encoder(std::size_t stream) { return streams_[stream].loader->encoder(); }
  void add_record(std::size_t stream, const encode::RecordEnvelope& envelope);
  const StreamLoader& loader(std::size_t stream) const { return *streams_[stream].loader; }
  // Where the connector's own tables go (rejected values, the sync log); none if nowhere.
  const std::optional<postgres::InternalSchema>& internal_schema() const {
    return internal_schema_;
  }

  // Hands every buffered row to the lanes and has them all commit up to record `records`.
  // For the sync log, the STATEs this commit lets out: `stream_states` per stream, and
  // `global_states`, which cover every stream (counted on each stream that has rows in it).
  void commit(std::uint64_t records, const std::vector<std::uint64_t>& stream_states = {},
              std::uint64_t global_states = 0);
  // Records (in read order) that every lane has committed.
  std::uint64_t committed_records() const { return lanes_->committed_records(); }
  // Bytes of rows handed to the lanes since the last commit.
  std::size_t uncommitted_bytes() const { return uncommitted_bytes_; }
  std::uint64_t encoded_bytes() const { return encoded_bytes_; }

  // Rethrows a lane's error without waiting; drain() waits for all queued work.
  void check() const { lanes_->check(); }
  void drain() { lanes_->drain(); }

  // After the last commit has drained: refreshes statistics where worth it and finishes the
  // streams marked complete (the refresh swap), each in its own transaction; then writes each
  // stream's closing row in the sync log (a refresh's in its swap's transaction) and logs the
  // totals.
  void finish_streams(const std::vector<bool>& complete);

  // The sync is failing: drops queued rows, ends open COPYs with an error and rolls back.
  void abandon(std::string_view reason) noexcept { lanes_->abandon(reason); }
  // After abandon(): closes the streams not closed yet as failed in the sync log, best effort on
  // a connection of its own, and logs the totals of what was committed. Never throws: the
  // sync's own error is the one to report.
  void close_after_failure(std::string_view reason) noexcept;

private:
  // Records in a stream's buffers, and their bytes over all its targets.
  struct Buffered {
    std::uint64_t records = 0;
    std::uint64_t rows = 0;
    std::size_t bytes = 0;
  };
  struct Stream {
    std::unique_ptr<StreamLoader> loader;
    std::vector<std::vector<std::size_t>> targets; // [lane][copy target] → the lane's target id
    std::size_t chunk_bytes = 0;
    std::vector<CommitPart> uncommitted; // per lane: records and bytes since its last commit
    std::vector<Buffered> buffered;      // per buffer lane: not yet handed to a lane
  };

  void choose_internal_schema(postgres::Connection& connection,
                              const config::DestinationConfig& config,
                              const std::vector<StreamTables>& tables);
  void open_sync_log(postgres::Connection& connection,
                     const std::vector<catalog::StreamPlan>& plans,
                     const std::vector<StreamTables>& tables);
  std::vector<CommitPart> take_commit_parts(const std::vector<std::uint64_t>& stream_states,
                                            std::uint64_t global_states);
  std::vector<std::vector<std::string>> commit_statements(const std::vector<CommitPart>& parts);
  // Logs the closing LOG message: the log's closing rows, or without them what `ended` says
  // with the totals of the commits that landed.
  void log_closings(std::vector<std::optional<StreamClosing>> ended,
                    const std::function<std::vector<std::optional<StreamClosing>>()>& read_log);
  // Hands the rows of the stream's buffers of one buffer lane, every target's, to one lane: the
  // buffer's own lane when the stream's rows follow their keys, otherwise the lane with the
  // least to do.
  void send(Stream& stream, std::size_t buffer_lane);
  void send_largest();
  void send_all();

  LoadLimits limits_;
  CopyPipeline::ConnectionFactory connect_;
  std::optional<postgres::InternalSchema> internal_schema_;
  std::unique_ptr<SyncLog> sync_log_;
  std::unique_ptr<CommitLedger> ledger_;
  std::unique_ptr<SeenKeys> seen_keys_;
  std::vector<Stream> streams_;
  std::unique_ptr<LaneSet> lanes_;
  std::size_t buffered_bytes_ = 0;    // rows in the loaders' buffers
  std::size_t uncommitted_bytes_ = 0; // rows handed to the lanes since the last commit
  std::uint64_t encoded_bytes_ = 0;
  std::uint64_t commit_requested_ = 0;
  std::uint64_t commits_ = 0;
  bool closed_ = false; // the streams' closing rows are written (or were tried)
};

} // namespace pgdest::load
