// MessageReader and LineReader: dispatch of records, states and statuses; errors that name lines.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <thread>

#include "pgdest/error.hpp"
#include "pgdest/protocol/message_reader.hpp"

using namespace pgdest::protocol;

namespace {

struct Recorder : MessageHandler {
  std::vector<std::string> events;
  std::string_view record_begin(std::optional<std::string_view> ns, std::string_view name,
                                bool known) override {
    events.push_back("begin " + std::string(ns.value_or("-")) + "/" + std::string(name) +
                     (known ? "" : "?"));
    return {};
  }
  void record_data(simdjson::ondemand::object data) override {
    std::string_view raw;
    REQUIRE_FALSE(simdjson::to_json_string(data).get(raw));
    events.push_back("data " + std::string(raw));
  }
  void record_end(std::int64_t emitted_at, std::string_view changes) override {
    events.push_back("end " + std::to_string(emitted_at) + " [" + std::string(changes) + "]");
  }
  void state(StateMessage message) override {
    std::string type = message.type == StateType::STREAM   ? "STREAM"
                       : message.type == StateType::GLOBAL ? "GLOBAL"
                                                           : "LEGACY";
    events.push_back("state " + type + " " +
                     (message.stream ? message.stream->display() + " " : "") + message.fields +
                     "} line " + std::to_string(message.line_number));
  }
  void stream_status(const StreamDescriptor& stream, StreamStatus status) override {
    events.push_back("status " + stream.display() + " " +
                     (status == StreamStatus::COMPLETE ? "COMPLETE" : "other"));
  }
};

// Feeds `input` through a pipe and reads every message.
std::vector<std::string> read_all(const std::string& input) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::thread writer([&] {
    std::size_t done = 0;
    while (done < input.size()) {
      ssize_t n = write(fds[1], input.data() + done, input.size() - done);
      if (n <= 0)
        break;
      done += static_cast<std::size_t>(n);
    }
    close(fds[1]);
  });
  Recorder recorder;
  LineReader lines(fds[0], 64);
  MessageReader reader(lines, recorder);
  try {
    while (reader.read_next(std::chrono::milliseconds(1000)) != ReadResult::end_of_input) {
    }
  } catch (...) {
    writer.join();
    close(fds[0]);
    throw;
  }
  writer.join();
  close(fds[0]);
  return recorder.events;
}

std::string error_of(const std::string& input) {
  try {
    read_all(input);
  } catch (const pgdest::Error& error) {
    return error.what();
  }
  return "no error";
}

} // namespace

TEST_CASE("records are dispatched begin → data → end, in any field order", "[reader]") {
  auto events = read_all(
      R"({"type":"RECORD","record":{"stream":"s","emitted_at":5,"data":{"a":1}}})"
      "\n"
      R"({"record":{"namespace":"n","stream":"s","data":{"b":2},"emitted_at":6,"meta":{"changes":[{"field":"x","change":"NULLED","reason":"SOURCE_SERIALIZATION_ERROR"}]}},"type":"RECORD"})"
      "\n"
      R"({"type":"RECORD","record":{"data":{"c":3},"emitted_at":7,"stream":"late"}})"
      "\n"
      R"({"type":"RECORD","record":{"stream":"s","data":{"d":4},"namespace":"after","emitted_at":8}})");
  CHECK(events ==
        std::vector<std::string>{
            "begin -/s?", R"(data {"a":1})", "end 5 []", "begin n/s", R"(data {"b":2})",
            R"(end 6 [{"field":"x","change":"NULLED","reason":"SOURCE_SERIALIZATION_ERROR"}])",
            "begin -/late", R"(data {"c":3})", "end 7 []", "begin -/s?", R"(data {"d":4})",
            "begin after/s", R"(data {"d":4})", "end 8 []"});
}

TEST_CASE("states keep their content (GLOBAL gets its required stream_states), drop incoming "
          "destinationStats, know their scope",
          "[reader]") {
  auto events = read_all(
      R"({"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s","namespace":"n"},"stream_state":{"big":123456789012345678901234567890,"f":1.10}},"destinationStats":{"recordCount":9.0}}})"
      "\n"
      R"({"type":"STATE","state":{"type":"GLOBAL","global":{"shared_state":{"x": 1}}}})"
      "\n"
      R"({"type":"STATE","state":{"type":"GLOBAL","global":{"shared_state":{},"stream_states":[{"stream_descriptor":{"name":"s"},"stream_state":{}}]}}})"
      "\n"
      "\n"
      R"({"type":"STATE","state":{"data":{"start_date":"2024-07-25"}}})"
      "\n");
  CHECK(
      events ==
      std::vector<std::string>{
          R"(state STREAM n.s {"type":"STREAM","stream":{"stream_descriptor":{"name":"s","namespace":"n"},"stream_state":{"big":123456789012345678901234567890,"f":1.10}}} line 1)",
          R"(state GLOBAL {"type":"GLOBAL","global":{"shared_state":{"x":1},"stream_states":[]}} line 2)",
          R"(state GLOBAL {"type":"GLOBAL","global":{"shared_state":{},"stream_states":[{"stream_descriptor":{"name":"s"},"stream_state":{}}]}} line 3)",
          R"(state LEGACY {"data":{"start_date":"2024-07-25"}} line 5)"});
}

TEST_CASE("stream statuses are read; other message types and traces are skipped", "[reader]") {
  auto events = read_all(
      R"({"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"s"},"status":"COMPLETE"}}})"
      "\n"
      R"({"type":"TRACE","trace":{"type":"ESTIMATE","emitted_at":1,"estimate":{"name":"s","type":"STREAM"}}})"
      "\n"
      R"({"type":"LOG","log":{"level":"INFO","message":"hi"}})"
      "\n");
  CHECK(events == std::vector<std::string>{"status s COMPLETE"});
}

TEST_CASE("a line longer than the buffer is read whole", "[reader]") {
  std::string big(1000, 'x');
  auto events = read_all(R"({"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{"v":")" +
                         big + "\"}}}\n");
  REQUIRE(events.size() == 3);
  CHECK(events[1] == "data {\"v\":\"" + big + "\"}");
}

TEST_CASE("malformed lines stop reading with an error naming the line", "[reader]") {
  const std::string good = R"({"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{}}})"
                           "\n";
  CHECK(error_of(good + "nope\n")
            .rfind("Input line 2 is not a valid Airbyte message: not a JSON object", 0) == 0);
  CHECK(error_of(good +
                 R"({"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{"a":1}})") !=
        "no error");
  CHECK(error_of(good + R"({"type":"RECORD","record":{"stream":"s","emitted_at":1}})") ==
        "Input line 2 is not a valid Airbyte message: record.data is missing");
  CHECK(error_of(R"({"type":"RECORD","record":{"stream":"s","data":{}}})") ==
        "Input line 1 is not a valid Airbyte message: record.emitted_at is missing");
  CHECK(error_of(R"({"record":{}})") == "Input line 1 is not a valid Airbyte message: \"type\" is "
                                        "missing or not a string: The JSON field "
                                        "referenced does not exist in this object.");
  CHECK(
      error_of(R"({"type":"STATE","state":{"type":"STREAM"}})") ==
      "Input line 1 is not a valid Airbyte message: a STREAM state needs stream.stream_descriptor");
  CHECK(error_of(good + R"({"type":"LOG"} {"x":1})") ==
        "Input line 2 is not a valid Airbyte message: unexpected text after the message");
  CHECK(error_of(R"({"type":"RECORD"})") ==
        "Input line 1 is not a valid Airbyte message: a RECORD message needs a \"record\" object");
}

TEST_CASE("regression: malformed JSON after a record's data, when its stream comes later, is an "
          "error naming the line, not a lookup through simdjson's abandoned iterator",
          "[reader]") {
  const std::string improper = "The JSON document has an improper structure: missing or "
                               "superfluous commas, braces, missing keys, etc.";
  // Found by fuzz/message_reader_fuzzer: the namespace lookup failed, and the next lookup used
  // the parser pointer simdjson had cleared.
  CHECK(error_of(R"({"record":{"data":{},"stream":""""},"type":"RECORD"})") ==
        "Input line 1 is not a valid Airbyte message: invalid record: " + improper);
  CHECK(
      error_of(
          R"({"type":"RECORD","record":{"data":{},"stream":"s","emitted_at":1,"meta":{"x" "changes":[]}}})") ==
      "Input line 1 is not a valid Airbyte message: invalid record.meta: " + improper);
}

TEST_CASE("regression: a state whose nested value is not valid JSON is an error, not echoed to "
          "stdout",
          "[reader]") {
  // Found by fuzz/message_reader_fuzzer: only the brackets of a state's values were matched.
  CHECK(error_of(R"({"type":"STATE","state":{"type":"LEGACY","data":{"a":1,x"b":2}}})") ==
        "Input line 1 is not a valid Airbyte message: invalid JSON in state.data");
  CHECK(
      error_of(
          R"({"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s"},"stream_state":[1,]}}})") ==
      "Input line 1 is not a valid Airbyte message: invalid JSON in state.stream");
  CHECK(error_of(R"({"type":"STATE","state":{"data":nul}})") ==
        "Input line 1 is not a valid Airbyte message: invalid JSON in state.data");
  // An extra closing brace that On-Demand's own skipping does not notice.
  CHECK(error_of(R"({"type":"STATE","state":{"data":{"b":"c":1}}})") ==
        "Input line 1 is not a valid Airbyte message: invalid JSON in state.data");
  // Numbers of any size are valid JSON and go out as they came.
  CHECK(read_all(R"({"type":"STATE","state":{"data":{"x":1e400}}})") ==
        std::vector<std::string>{R"(state LEGACY {"data":{"x":1e400}} line 1)"});
}

TEST_CASE("regression: a float emitted_at beyond int64 is an error, not an undefined conversion",
          "[reader]") {
  // Found by fuzz/message_reader_fuzzer (UBSan: "outside the range of representable values").
  CHECK(error_of(R"({"type":"RECORD","record":{"stream":"s","emitted_at":1.7e47,"data":{}}})") ==
        "Input line 1 is not a valid Airbyte message: record.emitted_at 1.7e+47 is out of range");
  CHECK(error_of(R"({"type":"RECORD","record":{"stream":"s","emitted_at":-9.3e18,"data":{}}})") ==
        "Input line 1 is not a valid Airbyte message: record.emitted_at -9.3e+18 is out of range");
  CHECK(read_all(R"({"type":"RECORD","record":{"stream":"s","emitted_at":1.7e12,"data":{}}})") ==
        std::vector<std::string>{"begin -/s?", "data {}", "end 1700000000000 []"});
}
