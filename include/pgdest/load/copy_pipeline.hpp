#pragma once
// One connection's I/O thread: feeds encoded rows to PostgreSQL with binary COPY while the reader
// goes on encoding, commits when told, and replays a transaction on a new connection after a
// transient failure. Memory is bounded by bytes: send() waits while too much is in flight.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "pgdest/encode/copy_buffer.hpp"
#include "pgdest/error.hpp"
#include "pgdest/load/retry_policy.hpp"
#include "pgdest/postgres/connection.hpp"

namespace pgdest::load {

struct PipelineOptions {
  std::size_t max_queued_bytes = 32u << 20; // rows queued but not yet sent to the server
  RetryPolicy retry;
  std::uint64_t jitter_seed = 0x9e3779b97f4a7c15u;
};

class CopyPipeline {
public:
  using ConnectionFactory = std::function<std::unique_ptr<postgres::Connection>()>;

  // `connection` is already open; `reconnect` opens a new one after a transient failure.
  CopyPipeline(std::unique_ptr<postgres::Connection> connection, ConnectionFactory reconnect,
               PipelineOptions options = {});
  // Discards what is still queued and rolls back an open transaction: it never commits.
  ~CopyPipeline();
  CopyPipeline(const CopyPipeline&) = delete;
  CopyPipeline& operator=(const CopyPipeline&) = delete;

  // Registers a COPY target (its `COPY ... FROM STDIN WITH (FORMAT binary)` text); returns its id.
  // `prepare_sql`, if any, runs before the first COPY into the target in each transaction (also
  // when one is replayed on a new connection), e.g. creating a helper table dropped at commit.
  std::size_t add_target(std::string copy_sql, std::string description,
                         std::string prepare_sql = {});

  // Queues binary COPY rows for a target, inside the open transaction.
  void send(std::size_t target, encode::CopyBuffer rows);
  // Queues statements to run in the open transaction, then COMMIT; once committed,
  // committed_records() becomes `records`.
  void commit(std::uint64_t records, std::vector<std::string> statements = {});
  // Waits until everything queued is done; rethrows the I/O thread's error.
  void drain();
  // Rethrows the I/O thread's error, if any, without waiting.
  void check() const;
  // The sync is failing: drops what is queued and stops a retry in progress; returns at once.
  // The job in progress, if any, finishes; no later one starts.
  void stop(std::string_view reason) noexcept;
  // stop(), then waits for the I/O thread to end an open COPY with an error and roll the
  // transaction back. Nothing is committed after this.
  void abandon(std::string_view reason) noexcept;

  std::uint64_t committed_records() const {
    return committed_records_.load(std::memory_order_acquire);
  }
  // Bytes of rows given to send() and not yet sent to the server (queued, or being sent).
  std::size_t backlog_bytes() const;
  // A cleared buffer for the next rows (reuses memory that went through the pipeline).
  encode::CopyBuffer take_buffer();

  // Runs `work` on the connection on the I/O thread, after everything queued; waits for it.
  void run(const std::function<void(postgres::Connection&)>& work);
  // Runs `work` in a transaction of its own, after everything queued (the last batch committed),
  // and commits it; waits for it. Like a batch it outlives a lost connection: unless its COMMIT
  // is known to have landed, `work` runs again from the start on a new connection. So `work`
  // does everything inside that transaction and neither commits nor rolls back.
  void run_transaction(const std::function<void(postgres::Connection&)>& work);

private:
  struct Job {
    enum class Kind { copy, commit, call, transaction } kind = Kind::copy;
    std::size_t target = 0;
    encode::CopyBuffer rows;
    std::vector<std::string> statements;
    std::uint64_t records = 0;
    std::function<void(postgres::Connection&)> call;
  };
  struct Target {
    std::string copy_sql;
    std::string description;
    std::string prepare_sql;
  };

  void worker();
  void perform(Job& job);
  void perform_with_retry(Job& job);
  // After a retriable failure: waits, reconnects if the connection is gone; true when the job
  // turns out to be done (a COMMIT whose answer was lost had landed).
  bool recover(const Job& job, const Error& error, RetrySchedule& schedule,
               std::chrono::steady_clock::time_point first_failure);
  // Waits before a retry; throws if the pipeline is stopped meanwhile.
  void pause(std::chrono::milliseconds wait);
  void begin_if_needed();
  void end_copy();
  void commit_open_transaction(std::string_view context);
  void roll_back(std::string_view reason) noexcept;
  void replay_transaction();
  bool commit_landed();
  void finish_job(Job& job);
  void push(Job job);
  void call_and_wait(Job::Kind kind, const std::function<void(postgres::Connection&)>& work);

  std::unique_ptr<postgres::Connection> connection_;
  ConnectionFactory reconnect_;
  PipelineOptions options_;
  std::vector<Target> targets_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Job> queue_;
  std::vector<encode::CopyBuffer> free_buffers_;
  std::size_t queued_bytes_ = 0;
  std::size_t sending_bytes_ = 0; // rows of the job in progress
  bool busy_ = false;
  bool stopping_ = false;
  std::string stop_reason_;
  std::exception_ptr error_;
  std::atomic<std::uint64_t> committed_records_{0};

  // I/O thread only.
  bool in_transaction_ = false;
  long open_copy_ = -1;               // target of the COPY in progress
  std::string transaction_id_;        // txid_current() of the open transaction
  std::string backend_pid_;           // the server process that ran the last transaction
  bool pooler_noticed_ = false;       // its change on one connection has been logged
  std::vector<bool> prepared_;        // per target: prepare_sql ran in the open transaction
  bool commit_sent_ = false;          // its COMMIT went to the server (it may have landed)
  std::vector<Job> transaction_jobs_; // kept until commit, for a retry
  std::size_t transaction_bytes_ = 0; // rows sent in the open transaction
  std::chrono::steady_clock::time_point transaction_started_;

  std::thread thread_;
};

} // namespace pgdest::load
