// An spdlog sink that writes LOG AirbyteMessages.
#include "pgdest/protocol/log_sink.hpp"

#include <cstdio>
#include <memory>
#include <mutex>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

namespace pgdest::protocol {
namespace {

LogLevel to_protocol(spdlog::level::level_enum level) {
  switch (level) {
  case spdlog::level::critical:
    return LogLevel::FATAL;
  case spdlog::level::err:
    return LogLevel::ERROR;
  case spdlog::level::warn:
    return LogLevel::WARN;
  case spdlog::level::info:
    return LogLevel::INFO;
  case spdlog::level::debug:
    return LogLevel::DEBUG;
  default:
    return LogLevel::TRACE;
  }
}

class ProtocolSink : public spdlog::sinks::base_sink<std::mutex> {
public:
  explicit ProtocolSink(MessageWriter& writer) : writer_(writer) {}

protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    writer_.log(to_protocol(message.level),
                std::string_view(message.payload.data(), message.payload.size()));
  }
  void flush_() override {}

private:
  MessageWriter& writer_;
};

} // namespace

void install_protocol_logger(MessageWriter& writer) {
  auto logger = std::make_shared<spdlog::logger>("destination-postgres",
                                                 std::make_shared<ProtocolSink>(writer));
  logger->set_level(spdlog::level::info);
  // A LOG line stdout did not take is the writer's failure, which fails the command at its end;
  // anything else spdlog could not log goes to stderr.
  logger->set_error_handler([&writer](const std::string& message) {
    if (!writer.failure())
      std::fprintf(stderr, "destination-postgres: could not log: %s\n", message.c_str());
  });
  spdlog::set_default_logger(logger);
}

} // namespace pgdest::protocol
