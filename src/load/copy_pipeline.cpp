// The I/O thread of the load: COPY, COMMIT, and a transaction retried whole on a new connection.
#include "pgdest/load/copy_pipeline.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pgdest/encode/copy_buffer.hpp"

namespace pgdest::load {
namespace {

constexpr std::size_t kKeptFreeBuffers = 8;

bool is_transient(const Error& error) {
  return error.failure_type() == FailureType::transient_error;
}

} // namespace

CopyPipeline::CopyPipeline(std::unique_ptr<postgres::PgConnection> connection,
                           ConnectionFactory reconnect, PipelineLimits limits)
    : connection_(std::move(connection)), reconnect_(std::move(reconnect)), limits_(limits),
      thread_([this] { worker(); }) {}

CopyPipeline::~CopyPipeline() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

std::size_t CopyPipeline::add_target(std::string copy_sql, std::string description) {
  std::lock_guard<std::mutex> lock(mutex_);
  targets_.push_back({std::move(copy_sql), std::move(description)});
  return targets_.size() - 1;
}

void CopyPipeline::push(Job job) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return error_ || queued_bytes_ < limits_.max_queued_bytes; });
  if (error_)
    std::rethrow_exception(error_);
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

void CopyPipeline::run(const std::function<void(postgres::PgConnection&)>& work) {
  Job job;
  job.kind = Job::Kind::call;
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
      if (queue_.empty())
        return;
      job = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= job.rows.size();
      busy_ = true;
    }
    changed_.notify_all();
    try {
      perform_with_retry(job);
      finish_job(job);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::current_exception();
      queue_.clear();
      queued_bytes_ = 0;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      busy_ = false;
    }
    changed_.notify_all();
  }
}

void CopyPipeline::begin_if_needed() {
  if (in_transaction_)
    return;
  connection_->execute("BEGIN", "starting a transaction");
  transaction_started_ = std::chrono::steady_clock::now();
  // Kept so that, if the connection drops during COMMIT, we can ask whether it landed.
  auto rows = connection_->query("SELECT txid_current()::text", {}, "starting a transaction");
  transaction_id_ = rows.at(0).at(0).value_or("");
  in_transaction_ = true;
  for (const auto& statement : transaction_setup_)
    connection_->execute(statement, "starting a transaction");
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
      connection_->copy_start(target.copy_sql, "loading rows into " + target.description);
      connection_->copy_send(encode::CopyBuffer::header());
      open_copy_ = static_cast<long>(job.target);
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
    connection_->execute("COMMIT", "committing a batch");
    in_transaction_ = false;
    break;
  case Job::Kind::call:
    end_copy();
    job.call(*connection_);
    break;
  }
}

void CopyPipeline::perform_with_retry(Job& job) {
  for (int attempt = 1;; ++attempt) {
    try {
      if (attempt > 1)
        replay_transaction();
      perform(job);
      return;
    } catch (const Error& error) {
      bool connection_lost = !connection_->healthy();
      if (!(is_transient(error) || connection_lost) || job.kind == Job::Kind::call ||
          attempt >= limits_.max_attempts)
        throw;
      if (!connection_lost) { // e.g. a deadlock: roll back and try the transaction again
        open_copy_ = -1;
        try {
          connection_->execute("ROLLBACK", "rolling back after a transient error");
        } catch (const Error&) {
        }
        in_transaction_ = false;
        continue;
      }
      auto wait = limits_.first_backoff * (1 << (attempt - 1));
      std::this_thread::sleep_for(wait);
      try {
        connection_ = reconnect_();
      } catch (const Error& reconnect_error) {
        if (!is_transient(reconnect_error) || attempt + 1 >= limits_.max_attempts)
          throw;
        continue;
      }
      open_copy_ = -1;
      in_transaction_ = false;
      if (job.kind == Job::Kind::commit && commit_landed())
        return;
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
    auto status = rows.empty() ? std::string() : rows[0][0].value_or("");
    if (status != "in progress")
      return status == "committed";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw SystemError(
      "Lost the connection while committing, and the server still shows that commit in progress "
      "after 30 s; stopping rather than risk loading rows twice.");
}

void CopyPipeline::replay_transaction() {
  for (auto& kept : transaction_jobs_)
    perform(kept);
}

void CopyPipeline::finish_job(Job& job) {
  if (job.kind == Job::Kind::copy) {
    transaction_bytes_ += job.rows.size();
    transaction_jobs_.push_back(std::move(job));
    return;
  }
  if (job.kind != Job::Kind::commit)
    return;
  if (transaction_bytes_ > 0 || !job.statements.empty())
    spdlog::info(
        "Committed {} records ({:.1f} MiB of rows) in {:.2f} s.", job.records - committed_records(),
        static_cast<double>(transaction_bytes_) / (1024.0 * 1024.0),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - transaction_started_)
            .count());
  transaction_bytes_ = 0;
  committed_records_.store(job.records, std::memory_order_release);
  transaction_id_.clear();
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& kept : transaction_jobs_)
    if (free_buffers_.size() < kKeptFreeBuffers)
      free_buffers_.push_back(std::move(kept.rows));
  transaction_jobs_.clear();
}

} // namespace pgdest::load
