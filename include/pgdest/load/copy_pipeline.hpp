#pragma once
// The loader's I/O thread: feeds encoded rows to PostgreSQL with binary COPY while the reader
// goes on encoding, commits when told, and retries a transaction on a new connection after a
// transient failure. Memory is bounded by bytes: send() waits while too much is in flight.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pgdest/encode/copy_buffer.hpp"
#include "pgdest/postgres/pg_connection.hpp"

namespace pgdest::load {

struct PipelineLimits {
  std::size_t max_queued_bytes = 32u << 20; // rows queued but not yet sent to the server
  int max_attempts = 5;                     // per transaction
  std::chrono::milliseconds first_backoff{1000};
};

class CopyPipeline {
public:
  using ConnectionFactory = std::function<std::unique_ptr<postgres::PgConnection>()>;

  // `connection` is already open; `reconnect` opens a new one after a transient failure.
  CopyPipeline(std::unique_ptr<postgres::PgConnection> connection, ConnectionFactory reconnect,
               PipelineLimits limits = {});
  ~CopyPipeline();
  CopyPipeline(const CopyPipeline&) = delete;
  CopyPipeline& operator=(const CopyPipeline&) = delete;

  // Statements run at the start of every transaction (also when one is replayed on a new
  // connection), e.g. creating session-private tables. Call before sending rows.
  void set_transaction_setup(std::vector<std::string> statements) {
    transaction_setup_ = std::move(statements);
  }

  // Registers a COPY target (its `COPY ... FROM STDIN WITH (FORMAT binary)` text); returns its id.
  std::size_t add_target(std::string copy_sql, std::string description);

  // Queues binary COPY rows for a target, inside the open transaction.
  void send(std::size_t target, encode::CopyBuffer rows);
  // Queues statements to run in the open transaction, then COMMIT; once committed,
  // committed_records() becomes `records`.
  void commit(std::uint64_t records, std::vector<std::string> statements = {});
  // Waits until everything queued is done; rethrows the I/O thread's error.
  void drain();
  // Rethrows the I/O thread's error, if any, without waiting.
  void check() const;

  std::uint64_t committed_records() const {
    return committed_records_.load(std::memory_order_acquire);
  }
  // A cleared buffer for the next rows (reuses memory that went through the pipeline).
  encode::CopyBuffer take_buffer();

  // Runs `work` on the connection on the I/O thread, after everything queued; waits for it.
  void run(const std::function<void(postgres::PgConnection&)>& work);

private:
  struct Job {
    enum class Kind { copy, commit, call } kind = Kind::copy;
    std::size_t target = 0;
    encode::CopyBuffer rows;
    std::vector<std::string> statements;
    std::uint64_t records = 0;
    std::function<void(postgres::PgConnection&)> call;
  };
  struct Target {
    std::string copy_sql;
    std::string description;
  };

  void worker();
  void perform(Job& job);
  void perform_with_retry(Job& job);
  void begin_if_needed();
  void end_copy();
  void replay_transaction();
  bool commit_landed();
  void finish_job(Job& job);
  void push(Job job);

  std::unique_ptr<postgres::PgConnection> connection_;
  ConnectionFactory reconnect_;
  PipelineLimits limits_;
  std::vector<Target> targets_;
  std::vector<std::string> transaction_setup_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Job> queue_;
  std::vector<encode::CopyBuffer> free_buffers_;
  std::size_t queued_bytes_ = 0;
  bool busy_ = false;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::atomic<std::uint64_t> committed_records_{0};

  // I/O thread only.
  bool in_transaction_ = false;
  long open_copy_ = -1;               // target of the COPY in progress
  std::string transaction_id_;        // txid_current() of the open transaction
  std::vector<Job> transaction_jobs_; // kept until commit, for a retry
  std::size_t transaction_bytes_ = 0; // rows sent in the open transaction
  std::chrono::steady_clock::time_point transaction_started_;

  std::thread thread_;
};

} // namespace pgdest::load
