#pragma once
// The one writer of stdout: every line is one compact AirbyteMessage, flushed per line. A line
// that cannot be written (the platform closed the pipe, a full disk) fails the command: a STATE
// that never reached the platform must not look emitted.
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "pgdest/error.hpp"
#include "pgdest/protocol/stream_descriptor.hpp"

namespace pgdest::protocol {

enum class LogLevel { FATAL, ERROR, WARN, INFO, DEBUG, TRACE };

class MessageWriter {
public:
  explicit MessageWriter(std::FILE* out) : out_(out) {}

  // The process-wide writer of stdout.
  static MessageWriter& stdout_writer();

  // Writes one already-serialised message and flushes. Throws SystemError when the line cannot
  // be written, and for every line after such a failure.
  void write_line(std::string_view json);

  void log(LogLevel level, std::string_view message);
  void spec(std::string_view spec_json);
  void connection_status(bool succeeded, std::string_view message);
  void trace_error(const Error& error,
                   const std::optional<StreamDescriptor>& stream = std::nullopt);
  // `state_fields` is the state object's text without its closing brace and without any
  // destinationStats; the record count is added as destinationStats.recordCount.
  void state(std::string_view state_fields, std::uint64_t record_count);

  // The error of the first line that could not be written, if any. spdlog swallows what a LOG
  // line throws, so a command ends by calling throw_if_failed().
  std::optional<SystemError> failure() const;
  void throw_if_failed() const;

private:
  std::FILE* out_;
  mutable std::mutex mutex_;
  std::optional<SystemError> failure_;
};

} // namespace pgdest::protocol
