// Serialises AirbyteMessages onto stdout, one compact line each, under one lock.
#include "pgdest/protocol/message_writer.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace pgdest::protocol {
namespace {

const char* to_wire(LogLevel level) {
  switch (level) {
  case LogLevel::FATAL:
    return "FATAL";
  case LogLevel::ERROR:
    return "ERROR";
  case LogLevel::WARN:
    return "WARN";
  case LogLevel::INFO:
    return "INFO";
  case LogLevel::DEBUG:
    return "DEBUG";
  case LogLevel::TRACE:
    return "TRACE";
  }
  return "INFO";
}

double now_ms() {
  using namespace std::chrono;
  return static_cast<double>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

// Invalid UTF-8 (e.g. from a server message in another encoding) must not break the line.
std::string dump(const nlohmann::json& message) {
  return message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace

MessageWriter& MessageWriter::stdout_writer() {
  static MessageWriter writer(stdout);
  return writer;
}

void MessageWriter::write_line(std::string_view json) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (failure_)
    throw *failure_;
  errno = 0;
  bool written = std::fwrite(json.data(), 1, json.size(), out_) == json.size() &&
                 std::fputc('\n', out_) != EOF && std::fflush(out_) == 0;
  if (written)
    return;
  // SIGPIPE is ignored (cli), so a closed pipe shows up here as EPIPE.
  int error = errno != 0 ? errno : EIO;
  failure_.emplace(fmt::format("Could not write to stdout: {}. The platform can no longer receive "
                               "this sync's messages, so it stops here.",
                               std::strerror(error)));
  throw *failure_;
}

std::optional<SystemError> MessageWriter::failure() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failure_;
}

void MessageWriter::throw_if_failed() const {
  if (auto failed = failure())
    throw *failed;
}

void MessageWriter::log(LogLevel level, std::string_view message) {
  write_line(dump({{"type", "LOG"}, {"log", {{"level", to_wire(level)}, {"message", message}}}}));
}

void MessageWriter::spec(std::string_view spec_json) {
  auto spec = nlohmann::json::parse(spec_json);
  write_line(dump({{"type", "SPEC"}, {"spec", spec}}));
}

void MessageWriter::connection_status(bool succeeded, std::string_view message) {
  nlohmann::json status = {{"status", succeeded ? "SUCCEEDED" : "FAILED"}};
  if (!message.empty())
    status["message"] = message;
  write_line(dump({{"type", "CONNECTION_STATUS"}, {"connectionStatus", status}}));
}

void MessageWriter::trace_error(const Error& error, const std::optional<StreamDescriptor>& stream) {
  nlohmann::json body = {{"message", error.what()},
                         {"failure_type", pgdest::to_wire(error.failure_type())}};
  if (!error.internal_message().empty())
    body["internal_message"] = error.internal_message();
  if (stream) {
    body["stream_descriptor"] = {{"name", stream->name}};
    if (stream->stream_namespace)
      body["stream_descriptor"]["namespace"] = *stream->stream_namespace;
  }
  write_line(dump({{"type", "TRACE"},
                   {"trace", {{"type", "ERROR"}, {"emitted_at", now_ms()}, {"error", body}}}}));
}

void MessageWriter::state(std::string_view state_fields, std::uint64_t record_count) {
  // recordCount is a JSON number with a decimal point, as the protocol asks.
  std::string line =
      fmt::format(R"({{"type":"STATE","state":{}{}"destinationStats":{{"recordCount":{}.0}}}}}})",
                  state_fields, state_fields.size() > 1 ? "," : "", record_count);
  write_line(line);
}

} // namespace pgdest::protocol
