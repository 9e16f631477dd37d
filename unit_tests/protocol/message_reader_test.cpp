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

// Feeds `input` through a pipe and reads every message into `recorder`.
void read_into(const std::string& input, Recorder& recorder) {
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
}

std::vector<std::string> read_all(const std::string& input) {
  Recorder recorder;
  read_into(input, recorder);
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

TEST_CASE("stream statuses are read, other message types and traces are skipped", "[reader]") {
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
  CHECK(error_of(R"({"record":{}})") ==
        "Input line 1 is not a valid Airbyte message: \"type\" is missing");
  CHECK(
      error_of(R"({"type":"STATE","state":{"type":"STREAM"}})") ==
      "Input line 1 is not a valid Airbyte message: a STREAM state needs stream.stream_descriptor");
  CHECK(error_of(good + R"({"type":"LOG"} {"x":1})") ==
        "Input line 2 is not a valid Airbyte message: unexpected text after the message");
  CHECK(error_of(R"({"type":"RECORD"})") ==
        "Input line 1 is not a valid Airbyte message: a RECORD message needs a \"record\" object");
}

namespace {
const std::string kRecord = R"({"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{}}})"
                            "\n";
const std::string kInvalid = "Input line 1 is not a valid Airbyte message: ";
} // namespace

TEST_CASE("malformed JSON in a part the reader skips is refused: a STATE is no longer echoed as "
          "invalid JSON, a RECORD no longer stored, a broken TRACE no longer taken as COMPLETE",
          "[reader]") {
  CHECK(
      error_of(
          R"({"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s"},"stream_state":{"c":[1,2,]}}}})") ==
      kInvalid + "state.stream is not valid JSON: The JSON document has an improper structure: "
                 "missing or superfluous commas, braces, missing keys, etc.");
  CHECK(error_of(R"({"type":"STATE","state":{"data":{"c":1},"destinationStats":{"x":tru}}})") ==
        kInvalid + "state.destinationStats is not valid JSON: Problem while parsing an atom "
                   "starting with the letter 't'");
  CHECK(error_of(
            R"({"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{},"extra":[1,]}})") ==
        kInvalid + "record.extra is not valid JSON: The JSON document has an improper structure: "
                   "missing or superfluous commas, braces, missing keys, etc.");
  CHECK(
      error_of(
          R"({"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{},"meta":{"other":[nul]}}})") !=
      "no error");
  CHECK(error_of(
            R"({"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{}},"x":{"a" 1}})") !=
        "no error");
  CHECK(
      error_of(
          R"({"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"s"},"status":"COMPLETE","reasons":[,]}}})") !=
      "no error");
  CHECK(
      error_of(
          R"({"type":"TRACE","trace":{"type":"ERROR","emitted_at":1,"error":{"message":"x",}}})") !=
      "no error");
  CHECK(error_of(R"({"type":"LOG","log":{"level":"INFO","message":"x"},"extra":01})") !=
        "no error");
  // A body before its type is checked in full too.
  CHECK(
      error_of(R"({"record":{"stream":"s","emitted_at":1,"data":{}},"x":[1,],"type":"RECORD"})") !=
      "no error");
  CHECK(
      error_of(R"({"record":{"data":{},"stream":"s","emitted_at":1,"y":[1,]},"type":"RECORD"})") !=
      "no error");
}

TEST_CASE("a record, state or status is handed over only once its whole line is valid",
          "[reader]") {
  const std::vector<std::string> first = {"begin -/s?", "data {}", "end 1 []"};
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {R"({"type":"RECORD","record":{"stream":"s","emitted_at":2,"data":{"a":1}},"junk":[1,]})",
       {"begin -/s?", "data {}", "end 1 []", "begin -/s?", R"(data {"a":1})"}},
      {R"({"type":"STATE","state":{"data":{}},"junk":[1,]})", first},
      {R"({"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"s"},"status":"COMPLETE"}},"junk":[1,]})",
       first}};
  for (const auto& [broken, events] : cases) {
    Recorder recorder;
    CHECK_THROWS_AS(read_into(kRecord + broken + "\n", recorder), pgdest::Error);
    CHECK(recorder.events == events); // no end, state or status for the broken line
  }
}

TEST_CASE("message types: lower-case or unknown types stop the sync instead of losing records, "
          "protocol types a destination ignores are skipped",
          "[reader]") {
  CHECK(error_of(R"({"type":"record","record":{"stream":"s","emitted_at":1,"data":{}}})") ==
        kInvalid + "\"type\" is \"record\", which is not an Airbyte message type (RECORD, STATE, "
                   "TRACE, LOG, SPEC, CONNECTION_STATUS, CATALOG, CONTROL or "
                   "DESTINATION_CATALOG, in upper case)");
  CHECK(error_of(R"({"type":"FOO"})") != "no error");
  CHECK(error_of(R"({"type":""})") != "no error");
  CHECK(error_of(R"({"type":null,"record":{}})") ==
        kInvalid + "\"type\" must be a string: The JSON element does not have the requested type.");
  CHECK(read_all(R"({"type":"LOG","log":{"level":"INFO","message":"x"}})"
                 "\n"
                 R"({"type":"SPEC","spec":{"connectionSpecification":{}}})"
                 "\n"
                 R"({"type":"CONNECTION_STATUS","connectionStatus":{"status":"SUCCEEDED"}})"
                 "\n"
                 R"({"type":"CATALOG","catalog":{"streams":[]}})"
                 "\n"
                 R"({"type":"CONTROL","control":{"type":"CONNECTOR_CONFIG","emitted_at":1}})"
                 "\n"
                 R"({"type":"DESTINATION_CATALOG","destination_catalog":{"operations":[]}})"
                 "\n")
            .empty());
  CHECK(error_of(R"({"type":"TRACE","trace":{"type":"stream_status","emitted_at":1}})") ==
        kInvalid + "trace.type is \"stream_status\", which is not ERROR, ESTIMATE, STREAM_STATUS "
                   "or ANALYTICS");
}

TEST_CASE("a key given twice in a message is refused, naming the line and key (the platform "
          "takes the last, this reader took the first)",
          "[reader]") {
  CHECK(
      error_of(
          R"({"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{}},"record":{"stream":"t","emitted_at":1,"data":{}}})") ==
      kInvalid + "the message has the key \"record\" twice; give each key once");
  CHECK(
      error_of(
          R"({"type":"RECORD","type":"STATE","record":{"stream":"s","emitted_at":1,"data":{}}})") ==
      kInvalid + "the message has the key \"type\" twice; give each key once");
  CHECK(error_of(
            R"({"type":"RECORD","record":{"stream":"s","stream":"t","emitted_at":1,"data":{}}})") ==
        kInvalid + "record has the key \"stream\" twice; give each key once");
  CHECK(
      error_of(R"({"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{},"data":{}}})") ==
      kInvalid + "record has the key \"data\" twice; give each key once");
  CHECK(
      error_of(
          R"({"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{},"meta":{"changes":[{"field":"a","field":"b"}]}}})") ==
      kInvalid + "record.meta.changes has the key \"field\" twice in one object; give each key "
                 "once");
  CHECK(
      error_of(
          R"({"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s"},"stream_state":{"c":1,"c":2}}}})") ==
      kInvalid + "state.stream has the key \"c\" twice in one object; give each key once");
  CHECK(error_of(R"({"type":"STATE","state":{"type":"STREAM","type":"GLOBAL"}})") ==
        kInvalid + "state has the key \"type\" twice; give each key once");
  CHECK(
      error_of(
          R"({"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"s","name":"t"},"status":"COMPLETE"}}})") ==
      kInvalid + "trace.stream_status.stream_descriptor has the key \"name\" twice; give each "
                 "key once");
  // In record data the last wins, as in jsonb (the encoder's rule); the reader passes it on.
  CHECK(read_all(R"({"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{"a":1,"a":2}}})")
            .size() == 3);
}

TEST_CASE("STATEs the protocol does not allow are refused instead of echoed, type null is "
          "dropped",
          "[reader]") {
  CHECK(read_all(R"({"type":"STATE","state":{"type":null,"data":{"x":1}}})") ==
        std::vector<std::string>{R"(state LEGACY {"data":{"x":1}} line 1)"});
  CHECK(
      error_of(
          R"({"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s","namespace":null},"stream_state":{}}}})") ==
      kInvalid + "state.stream.stream_descriptor.namespace is null, which the Airbyte protocol "
                 "does not allow in a STATE; leave the field out for a stream without a "
                 "namespace");
  CHECK(
      error_of(
          R"({"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s"},"stream_state":[1]}}})") ==
      kInvalid + "state.stream.stream_state must be an object");
  CHECK(
      error_of(
          R"({"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s"},"stream_state":null}}})") ==
      kInvalid + "state.stream.stream_state must be an object");
  CHECK(
      error_of(
          R"({"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":1}}}})") ==
      kInvalid + "state.stream.stream_descriptor.name must be a string: The JSON element does "
                 "not have the requested type.");
  CHECK(error_of(R"({"type":"STATE","state":{"type":"STREAM","stream":"s"}})") ==
        kInvalid + "state.stream must be an object: The JSON element does not have the requested "
                   "type.");
  CHECK(
      error_of(
          R"({"type":"STATE","state":{"type":"GLOBAL","global":{"shared_state":3,"stream_states":[]}}})") ==
      kInvalid + "state.global.shared_state must be an object");
  CHECK(
      error_of(
          R"({"type":"STATE","state":{"type":"GLOBAL","global":{"stream_states":[{"stream_descriptor":{"name":"s","namespace":null}}]}}})") ==
      kInvalid + "state.global.stream_states[].stream_descriptor.namespace is null, which the "
                 "Airbyte protocol does not allow in a STATE; leave the field out for a stream "
                 "without a namespace");
  CHECK(error_of(R"({"type":"STATE","state":{"type":"GLOBAL","global":{"stream_states":{}}}})") ==
        kInvalid + "state.global.stream_states must be an array: The JSON element does not have "
                   "the requested type.");
  CHECK(error_of(R"({"type":"STATE","state":{"data":[]}})") ==
        kInvalid + "state.data must be an object: The JSON element does not have the requested "
                   "type.");
  CHECK(error_of(R"({"type":"STATE","state":{"data":{},"sourceStats":{"recordCount":"3"}}})") ==
        kInvalid + "state.sourceStats.recordCount must be a number");
  CHECK(error_of(R"({"type":"STATE","state":{"type":"stream"}})") ==
        kInvalid + "state.type must be STREAM, GLOBAL or LEGACY");
  CHECK(error_of(R"({"type":"STATE","state":[]})") ==
        kInvalid + "state must be an object: The JSON element does not have the requested type.");
  const std::string deep = std::string(2000, '[') + std::string(2000, ']');
  CHECK(error_of(R"({"type":"STATE","state":{"data":{"d":)" + deep + "}}}") ==
        kInvalid + "state.data nests arrays and objects more than 1024 levels deep");
}

TEST_CASE("a STATE is echoed exactly as written: escapes, NUL characters, lone surrogates",
          "[reader]") {
  CHECK(read_all(R"({"type":"STATE","state":{"data":{"k\u0041":"a\u0000\ud800 \"q\""}}})") ==
        std::vector<std::string>{
            R"(state LEGACY {"data":{"k\u0041":"a\u0000\ud800 \"q\""}} line 1)"});
}

TEST_CASE("every field of a message with the wrong JSON type is a clear error", "[reader]") {
  auto record = [](const std::string& fields) {
    return error_of(R"({"type":"RECORD","record":{)" + fields + "}}");
  };
  CHECK(record(R"("stream":1,"emitted_at":1,"data":{})") ==
        kInvalid + "record.stream must be a string: The JSON element does not have the requested "
                   "type.");
  CHECK(record(R"("stream":"s","namespace":[],"emitted_at":1,"data":{})") ==
        kInvalid + "record.namespace must be a string: The JSON element does not have the "
                   "requested type.");
  CHECK(record(R"("stream":"s","emitted_at":1,"data":[])") ==
        kInvalid + "record.data must be an object: The JSON element does not have the requested "
                   "type.");
  CHECK(record(R"("stream":"s","emitted_at":"1","data":{})") ==
        kInvalid + "record.emitted_at must be a number: The JSON element does not have the "
                   "requested type.");
  CHECK(record(R"("stream":"s","emitted_at":1e300,"data":{})") ==
        kInvalid + "record.emitted_at is outside PostgreSQL's timestamp range");
  CHECK(record(R"("stream":"s","emitted_at":1,"data":{},"meta":"x")") ==
        kInvalid + "record.meta must be an object: The JSON element does not have the requested "
                   "type.");
  CHECK(record(R"("stream":"s","emitted_at":1,"data":{},"meta":{"changes":{}})") ==
        kInvalid + "record.meta.changes must be an array: The JSON element does not have the "
                   "requested type.");
  CHECK(record(R"("stream":"s","emitted_at":1,"data":{},"meta":{"changes":[1]})") ==
        kInvalid + "every item of record.meta.changes must be an object");
  CHECK(error_of(R"({"type":"RECORD","record":"s"})") ==
        kInvalid + "\"record\" must be an object: The JSON element does not have the requested "
                   "type.");
  auto trace = [](const std::string& fields) {
    return error_of(R"({"type":"TRACE","trace":{)" + fields + "}}");
  };
  const std::string status =
      R"("stream_status":{"stream_descriptor":{"name":"s"},"status":"COMPLETE"})";
  CHECK(trace(R"("type":1,"emitted_at":1,)" + status) ==
        kInvalid + "trace.type must be a string: The JSON element does not have the requested "
                   "type.");
  CHECK(trace(R"("type":"STREAM_STATUS","emitted_at":"1",)" + status) ==
        kInvalid + "trace.emitted_at must be a number");
  CHECK(trace(R"("type":"STREAM_STATUS","emitted_at":1,"stream_status":[])") ==
        kInvalid + "trace.stream_status must be an object: The JSON element does not have the "
                   "requested type.");
  CHECK(
      trace(
          R"("type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":"s","status":"COMPLETE"})") ==
      kInvalid + "trace.stream_status.stream_descriptor must be an object: The JSON element "
                 "does not have the requested type.");
  CHECK(
      trace(
          R"("type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"s","namespace":3},"status":"COMPLETE"})") ==
      kInvalid + "trace.stream_status.stream_descriptor.namespace must be a string: The JSON "
                 "element does not have the requested type.");
  CHECK(
      trace(
          R"("type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"s"},"status":true})") ==
      kInvalid + "trace.stream_status.status must be STARTED, RUNNING, COMPLETE or INCOMPLETE: "
                 "The JSON element does not have the requested type.");
  CHECK(
      trace(
          R"("type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"s"},"status":"DONE"})") ==
      kInvalid + "trace.stream_status.status must be STARTED, RUNNING, COMPLETE or INCOMPLETE");
  CHECK(trace(R"("type":"STREAM_STATUS","emitted_at":1)") ==
        kInvalid + "a STREAM_STATUS trace needs \"stream_status\"");
  // A null namespace in a status means no namespace, as in a record.
  CHECK(
      read_all(
          R"({"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"s","namespace":null},"status":"COMPLETE"}}})") ==
      std::vector<std::string>{"status s COMPLETE"});
}

TEST_CASE("invalid UTF-8 in a value or a key, and lone surrogates in the envelope", "[reader]") {
  CHECK(error_of("{\"type\":\"RECORD\",\"record\":{\"stream\":\"s\",\"emitted_at\":1,\"data\":{"
                 "\"a\":\"\xC3\x28\"}}}") == kInvalid + "not JSON: The input is not valid UTF-8");
  CHECK(error_of("{\"type\":\"RECORD\",\"record\":{\"stream\":\"s\",\"emitted_at\":1,\"data\":{"
                 "\"\xFF\":1}}}") == kInvalid + "not JSON: The input is not valid UTF-8");
  // An unknown key with a lone surrogate is just an unknown key.
  CHECK(
      read_all(
          R"({"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{},"\ud800":"\udc00"}})")
          .size() == 3);
}

TEST_CASE("a huge line (a 50 MB string value) is read whole", "[reader]") {
  const std::string big(50u << 20, 'x');
  auto events = read_all(R"({"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{"v":")" +
                         big + "\"}}}\n");
  REQUIRE(events.size() == 3);
  CHECK(events[1] == "data {\"v\":\"" + big + "\"}");
}

TEST_CASE("regression: malformed JSON after a record's data, when its stream comes later, is an "
          "error naming the line, not a lookup through simdjson's abandoned iterator",
          "[reader]") {
  const std::string improper = "The JSON document has an improper structure: missing or "
                               "superfluous commas, braces, missing keys, etc.";
  // Found by fuzz/message_reader_fuzzer: the namespace lookup failed, and the next lookup used
  // the parser pointer simdjson had cleared.
  CHECK(error_of(R"({"record":{"data":{},"stream":""""},"type":"RECORD"})") ==
        "Input line 1 is not a valid Airbyte message: record is not valid JSON: " + improper);
  CHECK(
      error_of(
          R"({"type":"RECORD","record":{"data":{},"stream":"s","emitted_at":1,"meta":{"x" "changes":[]}}})") ==
      "Input line 1 is not a valid Airbyte message: record.meta is not valid JSON: " + improper);
}

TEST_CASE("regression: a state whose nested value is not valid JSON is an error, not echoed to "
          "stdout",
          "[reader]") {
  const std::string improper = "The JSON document has an improper structure: missing or "
                               "superfluous commas, braces, missing keys, etc.";
  // Found by fuzz/message_reader_fuzzer: only the brackets of a state's values were matched.
  CHECK(error_of(R"({"type":"STATE","state":{"type":"LEGACY","data":{"a":1,x"b":2}}})") ==
        "Input line 1 is not a valid Airbyte message: state.data is not valid JSON: " + improper);
  CHECK(
      error_of(
          R"({"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s"},"stream_state":[1,]}}})") ==
      "Input line 1 is not a valid Airbyte message: state.stream is not valid JSON: " + improper);
  CHECK(error_of(R"({"type":"STATE","state":{"data":nul}})") ==
        "Input line 1 is not a valid Airbyte message: state.data is not valid JSON: Problem while "
        "parsing an atom starting with the letter 'n'");
  // An extra closing brace that On-Demand's own skipping does not notice.
  CHECK(error_of(R"({"type":"STATE","state":{"data":{"b":"c":1}}})") ==
        "Input line 1 is not a valid Airbyte message: not valid JSON: " + improper);
  // Numbers of any size are valid JSON and go out as they came.
  CHECK(read_all(R"({"type":"STATE","state":{"data":{"x":1e400}}})") ==
        std::vector<std::string>{R"(state LEGACY {"data":{"x":1e400}} line 1)"});
}

TEST_CASE("regression: a float emitted_at beyond int64 is an error, not an undefined conversion",
          "[reader]") {
  // Found by fuzz/message_reader_fuzzer (UBSan: "outside the range of representable values").
  CHECK(error_of(R"({"type":"RECORD","record":{"stream":"s","emitted_at":1.7e47,"data":{}}})") ==
        "Input line 1 is not a valid Airbyte message: record.emitted_at is outside PostgreSQL's "
        "timestamp range");
  CHECK(error_of(R"({"type":"RECORD","record":{"stream":"s","emitted_at":-9.3e18,"data":{}}})") ==
        "Input line 1 is not a valid Airbyte message: record.emitted_at is outside PostgreSQL's "
        "timestamp range");
  CHECK(read_all(R"({"type":"RECORD","record":{"stream":"s","emitted_at":1.7e12,"data":{}}})") ==
        std::vector<std::string>{"begin -/s?", "data {}", "end 1700000000000 []"});
}
