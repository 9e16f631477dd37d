// The write run: read → hand records to the load session → commit in batches → release states →
// finish the streams and settle how each ended.
#include "pgdest/write/write_run.hpp"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace pgdest::write {
namespace {

using Clock = std::chrono::steady_clock;

double mib(std::uint64_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names)
    out += (out.empty() ? "\"" : ", \"") + name + "\"";
  return out;
}

// The TRACE line that tells the destination a stream is complete, as a source would send it.
std::string complete_status_line(const protocol::StreamDescriptor& stream) {
  nlohmann::ordered_json descriptor = {{"name", stream.name}};
  if (stream.stream_namespace && !stream.stream_namespace->empty())
    descriptor["namespace"] = *stream.stream_namespace;
  nlohmann::ordered_json line = {
      {"type", "TRACE"},
      {"trace",
       {{"type", "STREAM_STATUS"},
        {"emitted_at", 0},
        {"stream_status", {{"stream_descriptor", descriptor}, {"status", "COMPLETE"}}}}}};
  return line.dump();
}

} // namespace

WriteRun::WriteRun(const config::DestinationConfig& config, std::vector<catalog::StreamPlan> plans,
                   protocol::MessageWriter& out, FlushPolicy policy)
    : config_(config), plans_(std::move(plans)), out_(out), policy_(policy), streams_(plans_),
      tracker_(plans_.size()), ends_(plans_.size(), StreamEnd::none) {}

WriteRun::~WriteRun() = default;

long WriteRun::stream_index(const protocol::StreamDescriptor& stream) const {
  auto found = streams_.find(stream.stream_namespace, stream.name);
  return found ? static_cast<long>(*found) : -1;
}

void WriteRun::run(int input_fd) {
  started_ = Clock::now();
  last_progress_ = started_;
  progress_on_terminal_ = isatty(STDERR_FILENO) != 0;
  session_ = std::make_unique<load::LoadSession>(config_, plans_, policy_.load);
  protocol::LineReader lines(input_fd);
  protocol::MessageReader reader(lines, *this);
  reader_ = &reader;
  try {
    for (;;) {
      auto result = reader.read_next(std::chrono::milliseconds(250));
      if (result == protocol::ReadResult::end_of_input)
        break;
      if (result == protocol::ReadResult::idle)
        on_idle();
    }
    finish();
  } catch (const std::exception& failure) {
    reader_ = nullptr;
    release_states_after_failure(failure);
    throw;
  }
  reader_ = nullptr;
}

// The one rule for a failing sync: the lanes are stopped first, so that nothing more commits;
// then a STATE leaves if, and only if, every record read before it was committed — the same rule
// as on success, applied to what the lanes committed before they stopped.
void WriteRun::release_states_after_failure(const std::exception& failure) noexcept {
  session_->abandon(failure.what());
  try {
    release_states();
  } catch (const std::exception& error) {
    spdlog::error("While failing, could not write the committed states: {}", error.what());
  }
  session_->close_after_failure(failure.what());
}

std::string_view WriteRun::record_begin(std::optional<std::string_view> stream_namespace,
                                        std::string_view name, bool namespace_known) {
  // The namespace may come after the data: then a name that only one stream has will do for now.
  auto found = streams_.find(stream_namespace, name, namespace_known);
  if (!found) {
    protocol::StreamDescriptor stream{
        stream_namespace ? std::optional<std::string>(*stream_namespace) : std::nullopt,
        std::string(name)};
    throw SystemError(
        fmt::format("Input line {} has a record for stream \"{}\", which is not in the catalog.",
                    reader_->line_number(), stream.display()));
  }
  current_ = *found;
  const auto& selected = plans_[current_].descriptor.stream_namespace;
  return selected ? std::string_view(*selected) : std::string_view();
}

void WriteRun::record_data(simdjson::ondemand::object data) {
  session_->encoder(current_).fill(data);
}

void WriteRun::record_end(std::int64_t emitted_at_ms, std::string_view source_changes) {
  session_->add_record(current_, {emitted_at_ms, source_changes});
  tracker_.record_read(current_);
  if (tracker_.records_read() == commit_requested_ + 1)
    first_uncommitted_at_ = Clock::now();
  after_record();
}

void WriteRun::after_record() {
  for (const auto& field : session_->encoder(current_).take_new_undeclared_fields())
    spdlog::info("Stream {}: field \"{}\" is not in the stream's schema and is not stored.",
                 plans_[current_].descriptor.display(), field);
  if (session_->uncommitted_bytes() >= policy_.commit_bytes)
    commit();
  if ((tracker_.records_read() & 0xF) == 0) {
    auto now = Clock::now();
    if (commit_requested_ < tracker_.records_read() &&
        now - first_uncommitted_at_ >= policy_.commit_interval)
      commit();
    if (now - last_progress_ >= std::chrono::seconds(progress_on_terminal_ ? 1 : 10))
      report_progress(false);
    session_->check();
  }
  if (tracker_.pending() > 0)
    release_states();
}

void WriteRun::commit() {
  // The states that leave once this commit lands: those past the previous commit's last record.
  const auto states = tracker_.states_after(commit_requested_);
  commit_requested_ = tracker_.records_read();
  session_->commit(commit_requested_, states.per_stream, states.every_stream);
}

void WriteRun::release_states() {
  for (auto& released : tracker_.release(session_->committed_records()))
    out_.state(released.message.fields, released.record_count);
}

void WriteRun::state(protocol::StateMessage message) {
  long index = -1;
  if (message.stream)
    index = stream_index(*message.stream);
  tracker_.state_read(std::move(message), index);
  release_states();
}

void WriteRun::stream_status(const protocol::StreamDescriptor& stream,
                             protocol::StreamStatus status) {
  long index = stream_index(stream);
  if (index < 0) {
    spdlog::warn("Input line {}: status for stream \"{}\", which is not in the catalog; ignored.",
                 reader_->line_number(), stream.display());
    return;
  }
  auto& end = ends_[static_cast<std::size_t>(index)];
  if (status == protocol::StreamStatus::INCOMPLETE)
    end = StreamEnd::incomplete;
  else if (status == protocol::StreamStatus::COMPLETE && end != StreamEnd::incomplete)
    end = StreamEnd::complete;
}

void WriteRun::on_idle() {
  // Quiet input: commit what was read so its states can leave now rather than later.
  if (commit_requested_ < tracker_.records_read() &&
      Clock::now() - first_uncommitted_at_ >= policy_.idle_commit)
    commit();
  session_->check();
  release_states();
}

void WriteRun::finish() {
  commit();
  session_->drain();
  release_states();
  report_progress(true);
  std::vector<bool> complete;
  for (auto end : ends_)
    complete.push_back(end == StreamEnd::complete);
  session_->finish_streams(complete);
  settle_stream_ends();
}

// A refresh stream that did not complete keeps its old rows; an append or dedup stream keeps what
// was committed either way. Only a source that said INCOMPLETE, or a refresh left unfinished,
// makes the sync fail — a file piped in by hand often has no status lines at all.
void WriteRun::settle_stream_ends() const {
  std::vector<std::string> incomplete;
  std::vector<std::string> unfinished_refreshes;
  std::vector<std::string> status_lines;
  for (std::size_t i = 0; i < plans_.size(); ++i) {
    const auto& plan = plans_[i];
    const auto& loader = session_->loader(i);
    if (ends_[i] == StreamEnd::incomplete) {
      incomplete.push_back(plan.descriptor.display());
    } else if (ends_[i] == StreamEnd::none && loader.tables().staging) {
      unfinished_refreshes.push_back(plan.descriptor.display());
      status_lines.push_back(complete_status_line(plan.descriptor));
    } else if (ends_[i] == StreamEnd::none) {
      spdlog::warn("No COMPLETE status arrived for stream {}; its {} records are committed and "
                   "its states were emitted as usual.",
                   plan.descriptor.display(), loader.records());
    }
  }
  std::string message;
  if (!incomplete.empty())
    message = fmt::format(
        "The source reported {} as INCOMPLETE. The rows committed for them are kept (a refresh "
        "keeps the table's old rows), and the next sync carries on from the last state.",
        quoted_list(incomplete));
  if (!unfinished_refreshes.empty()) {
    std::string lines;
    for (const auto& line : status_lines)
      lines += "\n" + line;
    message += fmt::format(
        "{}The input ended without a COMPLETE status for {}, which replace their tables' rows, so "
        "the old rows were kept and nothing was replaced. If the source did read those streams "
        "in full, add these lines at the end of the input:{}\nA rerun of the same input resumes "
        "into the staging tables and replaces the rows once each stream is complete.",
        message.empty() ? "" : " ", quoted_list(unfinished_refreshes), lines);
  }
  if (!message.empty())
    throw TransientError(message);
}

void WriteRun::report_progress(bool final) {
  auto now = Clock::now();
  double seconds = std::chrono::duration<double>(now - started_).count();
  double rate = seconds > 0 ? static_cast<double>(tracker_.records_read()) / seconds : 0;
  std::string line = fmt::format("{} records, {:.1f} MiB encoded, {:.0f} records/s, {} committed",
                                 tracker_.records_read(), mib(session_->encoded_bytes()), rate,
                                 session_->committed_records());
  if (progress_on_terminal_)
    fmt::print(stderr, "\r{}{}", line, final ? "\n" : "");
  if (final || !progress_on_terminal_)
    spdlog::info("{}{}", final ? "Done: " : "Progress: ", line);
  last_progress_ = now;
}

} // namespace pgdest::write
