// MessageWriter: what reaches stdout, and a stdout that cannot take a line.
#include "pgdest/protocol/message_writer.hpp"

#include <catch2/catch.hpp>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>

using pgdest::SystemError;
using pgdest::protocol::LogLevel;
using pgdest::protocol::MessageWriter;

namespace {

// The message of the SystemError `write` throws, or "no error".
template <typename Write> std::string error_of(Write write) {
  try {
    write();
  } catch (const SystemError& error) {
    return error.what();
  }
  return "no error";
}

void check_every_later_line_fails(MessageWriter& writer, const std::string& expected) {
  CHECK(error_of([&] { writer.state(R"({"type":"LEGACY","data":{})", 1); }) == expected);
  CHECK(error_of([&] { writer.log(LogLevel::INFO, "after"); }) == expected);
  REQUIRE(writer.failure());
  CHECK(writer.failure()->what() == expected);
  CHECK(error_of([&] { writer.throw_if_failed(); }) == expected);
}

} // namespace

TEST_CASE("a STATE written to a full disk fails, and so does every later line", "[writer]") {
  std::FILE* full = std::fopen("/dev/full", "w");
  REQUIRE(full != nullptr);
  MessageWriter writer(full);
  const std::string expected = "Could not write to stdout: No space left on device. The platform "
                               "can no longer receive this sync's messages, so it stops here.";
  CHECK(error_of([&] { writer.state(R"({"type":"LEGACY","data":{})", 1); }) == expected);
  check_every_later_line_fails(writer, expected);
  std::fclose(full);
}

TEST_CASE("a STATE written to a closed pipe fails (EPIPE), and so does every later line",
          "[writer]") {
  std::signal(SIGPIPE, SIG_IGN); // as cli does
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  close(fds[0]);
  std::FILE* pipe_end = fdopen(fds[1], "w");
  REQUIRE(pipe_end != nullptr);
  MessageWriter writer(pipe_end);
  const std::string expected = "Could not write to stdout: Broken pipe. The platform can no "
                               "longer receive this sync's messages, so it stops here.";
  CHECK(error_of([&] { writer.log(LogLevel::INFO, "first"); }) == expected);
  check_every_later_line_fails(writer, expected);
  std::fclose(pipe_end);
}

TEST_CASE("lines that can be written leave no failure", "[writer]") {
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  MessageWriter writer(file);
  writer.state(R"({"type":"LEGACY","data":{})", 3);
  CHECK_FALSE(writer.failure());
  CHECK_NOTHROW(writer.throw_if_failed());
  std::rewind(file);
  char text[200] = {};
  REQUIRE(std::fgets(text, sizeof text, file) != nullptr);
  CHECK(
      std::string(text) ==
      R"({"type":"STATE","state":{"type":"LEGACY","data":{},"destinationStats":{"recordCount":3.0}}})"
      "\n");
  std::fclose(file);
}
