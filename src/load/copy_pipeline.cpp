// The I/O thread of one connection: COPY, COMMIT, and a transaction replayed whole on a new
// connection after a transient failure; a failure that is not retried rolls back explicitly.
#include "pgdest/load/copy_pipeline.hpp"

#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pgdest/postgres/session.hpp"

namespace pgdest::load {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kKeptFreeBuffers = 8;

bool is_transient(const Error& error) {
  return error.failure_type() == FailureType::transient_error;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

} // namespace

CopyPipeline::CopyPipeline(std::unique_ptr<postgres::Connection> connection,
                           ConnectionFactory reconnect, PipelineOptions options)
    : connection_(std::move(connection)), reconnect_(std::move(reconnect)),
      options_(std::move(options)), thread_([this] { worker(); }) {}

CopyPipeline::~CopyPipeline() {
  abandon("the sync stopped before this batch was committed");
}

std::size_t CopyPipeline::add_target(std::string copy_sql, std::string description,
                                     std::string prepare_sql) {
  std::lock_guard<std::mutex> lock(mutex_);
  targets_.push_back({std::move(copy_sql), std::move(description), std::move(prepare_sql)});
  return targets_.size() - 1;
}

void CopyPipeline::push(Job job) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return error_ || queued_bytes_ < options_.max_queued_bytes; });
  if (error_)
    std::rethrow_exception(error_);
  if (stopping_)
    throw SystemError("The load was abandoned; no more rows are accepted.");
  queued_bytes_ += job.rows.size();
  queue_.push_back(std::move(job));
  lock.unlock();
  changed_.notify_all();
}

void CopyPipeline::send(std::size_t target, encode::CopyBuffer rows) {
  if (rows.empty())
    return;
  Job job;
  job.kind = Job::Kind::copy;
  job.target = target;
  job.rows = std::move(rows);
  push(std::move(job));
}

void CopyPipeline::commit(std::uint64_t records, std::vector<std::string> statements) {
  Job job;
  job.kind = Job::Kind::commit;
  job.records = records;
  job.statements = std::move(statements);
  push(std::move(job));
}

void CopyPipeline::run(const std::function<void(postgres::Connection&)>& work) {
  call_and_wait(Job::Kind::call, work);
}

void CopyPipeline::run_transaction(const std::function<void(postgres::Connection&)>& work) {
  call_and_wait(Job::Kind::transaction, work);
}

void CopyPipeline::call_and_wait(Job::Kind kind,
                                 const std::function<void(postgres::Connection&)>& work) {
  Job job;
  job.kind = kind;
  job.call = work;
  push(std::move(job));
  drain();
}

void CopyPipeline::drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return error_ || (queue_.empty() && !busy_); });
  if (error_)
    std::rethrow_exception(error_);
}

void CopyPipeline::check() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (error_)
    std::rethrow_exception(error_);
}

void CopyPipeline::stop(std::string_view reason) noexcept {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_) {
      stopping_ = true;
      stop_reason_ = std::string(reason);
    }
    queue_.clear();
    queued_bytes_ = 0;
  }
  changed_.notify_all();
}

void CopyPipeline::abandon(std::string_view reason) noexcept {
  stop(reason);
  // The worker finishes the job in progress, rolls back what is open, and ends.
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id())
    thread_.join();
}

void CopyPipeline::pause(std::chrono::milliseconds wait) {
  if (options_.retry.sleep)
    options_.retry.sleep(wait);
  std::unique_lock<std::mutex> lock(mutex_);
  if (!options_.retry.sleep)
    changed_.wait_for(lock, wait, [&] { return stopping_; });
  if (stopping_)
    throw SystemError("The load was abandoned while a transaction was being retried.");
}

std::size_t CopyPipeline::backlog_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queued_bytes_ + sending_bytes_;
}

encode::CopyBuffer CopyPipeline::take_buffer() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (free_buffers_.empty())
    return {};
  encode::CopyBuffer buffer = std::move(free_buffers_.back());
  free_buffers_.pop_back();
  buffer.clear();
  return buffer;
}

void CopyPipeline::worker() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_)
        break;
      job = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= job.rows.size();
      sending_bytes_ = job.rows.size();
      busy_ = true;
    }
    changed_.notify_all();
    try {
      perform_with_retry(job);
      finish_job(job);
    } catch (const std::exception& failure) {
      roll_back(failure.what());
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::current_exception();
      queue_.clear();
      queued_bytes_ = 0;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      busy_ = false;
      sending_bytes_ = 0;
    }
    changed_.notify_all();
  }
  std::string reason;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    reason = stop_reason_;
  }
  roll_back(reason);
}

void CopyPipeline::roll_back(std::string_view reason) noexcept {
  if (!connection_)
    return;
  if (open_copy_ >= 0) {
    connection_->copy_abort(reason);
    open_copy_ = -1;
  }
  if (in_transaction_ && connection_->healthy()) {
    try {
      connection_->execute("ROLLBACK", "rolling back an unfinished batch");
    } catch (const Error& error) {
      spdlog::warn("{}", error.what());
    }
  }
  in_transaction_ = false;
}

void CopyPipeline::begin_if_needed() {
  if (in_transaction_)
    return;
  // Everything the transaction relies on lives in it: through a transaction pooler, the next
  // transaction of this connection may run on another server connection.
  in_transaction_ = true;
  connection_->execute(postgres::begin_transaction(), "starting a transaction");
  transaction_started_ = Clock::now();
  prepared_.assign(targets_.size(), false);
  // The id is kept so that, if the connection drops during COMMIT, we can ask whether it landed;
  // txid_status answers from any server connection, so this holds through a pooler too.
  auto rows = connection_->query("SELECT txid_current()::text, pg_backend_pid()::text", {},
                                 "starting a transaction");
  auto column = [&](std::size_t i) {
    return rows.empty() || rows[0].size() <= i ? std::string() : rows[0][i].value_or("");
  };
  transaction_id_ = column(0);
  const std::string backend_pid = column(1);
  if (!pooler_noticed_ && !backend_pid_.empty() && backend_pid != backend_pid_) {
    pooler_noticed_ = true;
    spdlog::info("Two transactions of one connection ran in different server processes ({}, "
                 "then {}): a transaction pooler is in between. Nothing the load needs outlives "
                 "a transaction, so it goes on as usual.",
                 backend_pid_, backend_pid);
  }
  backend_pid_ = backend_pid;
}

void CopyPipeline::end_copy() {
  if (open_copy_ < 0)
    return;
  connection_->copy_send(encode::CopyBuffer::trailer());
  open_copy_ = -1;
  connection_->copy_finish();
}

void CopyPipeline::perform(Job& job) {
  switch (job.kind) {
  case Job::Kind::copy: {
    begin_if_needed();
    if (open_copy_ != static_cast<long>(job.target)) {
      end_copy();
      const Target& target = targets_[job.target];
      // The helper table is made in the same message as the COPY: no round trip of its own.
      const bool prepare = !target.prepare_sql.empty() && !prepared_[job.target];
      connection_->copy_start(prepare ? target.prepare_sql + "; " + target.copy_sql
                                      : target.copy_sql,
                              "loading rows into " + target.description);
      prepared_[job.target] = true;
      open_copy_ = static_cast<long>(job.target);
      connection_->copy_send(encode::CopyBuffer::header());
    }
    connection_->copy_send(job.rows.view());
    break;
  }
  case Job::Kind::commit:
    end_copy();
    if (!in_transaction_ && job.statements.empty())
      break;
    begin_if_needed();
    for (const auto& statement : job.statements)
      connection_->execute(statement, "finishing a batch");
    commit_open_transaction("committing a batch");
    break;
  case Job::Kind::call:
    end_copy();
    job.call(*connection_);
    break;
  case Job::Kind::transaction:
    end_copy();
    // Its replay would not include the batch's rows: a batch must be committed first.
    if (in_transaction_)
      throw SystemError("A transaction of its own was asked for while a batch was still open.");
    begin_if_needed();
    job.call(*connection_);
    commit_open_transaction("committing a transaction");
    break;
  }
}

void CopyPipeline::commit_open_transaction(std::string_view context) {
  commit_sent_ = true;
  connection_->execute("COMMIT", context);
  commit_sent_ = false;
  in_transaction_ = false;
}

void CopyPipeline::perform_with_retry(Job& job) {
  RetrySchedule schedule(options_.retry, options_.jitter_seed);
  std::optional<Clock::time_point> first_failure;
  bool replay = false;
  for (;;) {
    try {
      if (replay)
        replay_transaction();
      perform(job);
      return;
    } catch (const Error& error) {
      const bool retriable = is_transient(error) || !connection_->healthy();
      if (!retriable || job.kind == Job::Kind::call)
        throw;
      // The time budget counts from the first failure: a long statement that fails once still
      // gets its retries.
      if (!first_failure)
        first_failure = Clock::now();
      if (recover(job, error, schedule, *first_failure)) {
        spdlog::info("The server shows that transaction {} committed before the connection was "
                     "lost: it is not run again.",
                     transaction_id_);
        return;
      }
      replay = true;
    }
  }
}

bool CopyPipeline::recover(const Job& job, const Error& error, RetrySchedule& schedule,
                           Clock::time_point first_failure) {
  const bool connection_lost = !connection_->healthy();
  if (!connection_lost) // e.g. a deadlock or a serialization failure: the same connection will do
    roll_back("retrying the transaction");
  const bool commit_may_have_landed = connection_lost && commit_sent_;
  commit_sent_ = false;
  for (;;) {
    auto wait = schedule.next_wait(Clock::now() - first_failure);
    if (!wait)
      throw retries_exhausted(error, schedule.attempts(), Clock::now() - first_failure);
    spdlog::warn("{} Trying the transaction again in {:.1f} s.", error.what(),
                 static_cast<double>(wait->count()) / 1000.0);
    pause(*wait);
    if (!connection_lost)
      return false;
    try {
      connection_ = reconnect_();
      open_copy_ = -1;
      in_transaction_ = false;
      backend_pid_.clear();
      // Only a COMMIT that reached the server can have landed; asking is needed then alone.
      const bool ends_in_commit =
          job.kind == Job::Kind::commit || job.kind == Job::Kind::transaction;
      return ends_in_commit && commit_may_have_landed && commit_landed();
    } catch (const Error& retry_error) {
      if (!is_transient(retry_error))
        throw;
      spdlog::warn("{}", retry_error.what());
    }
  }
}

// After a lost connection: did the COMMIT we sent take effect? txid_status answers exactly, once
// the old session has ended.
bool CopyPipeline::commit_landed() {
  if (transaction_id_.empty())
    return false;
  for (int check = 0; check < 300; ++check) {
    auto rows = connection_->query("SELECT txid_status($1::bigint)", {transaction_id_},
                                   "checking a commit");
    auto status = rows.empty() || rows[0].empty() ? std::string() : rows[0][0].value_or("");
    if (status != "in progress")
      return status == "committed";
    pause(std::chrono::milliseconds(100));
  }
  throw TransientError(
      "Lost the connection while committing, and the server still shows that commit in progress "
      "after 30 s; stopping rather than risk loading rows twice. Run the sync again: it carries "
      "on from the last state.");
}

void CopyPipeline::replay_transaction() {
  for (auto& kept : transaction_jobs_)
    perform(kept);
}

void CopyPipeline::finish_job(Job& job) {
  if (job.kind == Job::Kind::transaction)
    transaction_id_.clear();
  if (job.kind == Job::Kind::copy) {
    transaction_bytes_ += job.rows.size();
    transaction_jobs_.push_back(std::move(job));
    return;
  }
  if (job.kind != Job::Kind::commit)
    return;
  if (transaction_bytes_ > 0 || !job.statements.empty())
    spdlog::info("Committed {} records ({:.1f} MiB of rows) in {:.2f} s.",
                 job.records - committed_records(),
                 static_cast<double>(transaction_bytes_) / (1024.0 * 1024.0),
                 seconds_since(transaction_started_));
  transaction_bytes_ = 0;
  committed_records_.store(job.records, std::memory_order_release);
  transaction_id_.clear();
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& kept : transaction_jobs_) {
    kept.rows.clear(); // frees a huge record's buffer now rather than keeping it for reuse
    if (free_buffers_.size() < kKeptFreeBuffers)
      free_buffers_.push_back(std::move(kept.rows));
  }
  transaction_jobs_.clear();
}

} // namespace pgdest::load
