// Parses each input line with simdjson On-Demand and dispatches records, states and statuses.
#include "pgdest/protocol/message_reader.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pgdest/encode/json_writer.hpp"
#include "pgdest/encode/record_encoder.hpp"
#include "pgdest/error.hpp"

namespace pgdest::protocol {
namespace {

// A problem with one line; dispatch() adds the line number.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check(simdjson::error_code error, std::string_view what) {
  if (error)
    throw InputError(fmt::format("{}: {}", what, simdjson::error_message(error)));
}

template <typename T, typename R> T get(R&& result, std::string_view what) {
  T value{};
  check(std::forward<R>(result).get(value), what);
  return value;
}

std::optional<std::string_view> optional_string(simdjson::ondemand::value value,
                                                std::string_view what) {
  bool is_null = false;
  check(value.is_null().get(is_null), what);
  if (is_null)
    return std::nullopt;
  return get<std::string_view>(value.get_string(), what);
}

// Looks up a field that may be absent: false if it is. Any other lookup error is malformed JSON,
// after which the On-Demand iterator must not be used again.
bool find_optional(simdjson::ondemand::object& object, std::string_view key,
                   simdjson::ondemand::value& value, std::string_view what) {
  auto error = object.find_field_unordered(key).get(value);
  if (error == simdjson::NO_SUCH_FIELD)
    return false;
  check(error, what);
  return true;
}

std::int64_t read_emitted_at(simdjson::ondemand::value value) {
  std::int64_t ms = 0;
  if (!value.get_int64().get(ms))
    return ms;
  // Some sources write emitted_at as a float.
  double as_double = get<double>(value.get_double(), "record.emitted_at must be a number");
  // Converting a double beyond int64 is undefined behaviour, not a large number.
  if (!(as_double >= -9223372036854775808.0 && as_double < 9223372036854775808.0))
    throw InputError(fmt::format("record.emitted_at {} is out of range", as_double));
  return static_cast<std::int64_t>(as_double);
}

std::string minified(std::string_view json) {
  std::string out(json.size(), '\0');
  std::size_t length = 0;
  check(simdjson::minify(json.data(), json.size(), out.data(), length), "invalid JSON");
  out.resize(length);
  return out;
}

// A state's values go back to stdout as they came, but to_json_string only matched their
// brackets (and On-Demand misses some unbalanced ones): check their whole grammar.
void check_json_text(std::string_view text, std::string_view what) {
  try {
    auto parsed = nlohmann::json::parse(text);
    (void)parsed;
  } catch (const nlohmann::json::parse_error&) {
    throw InputError(std::string(what));
  } catch (const nlohmann::json::out_of_range&) {
    // A number beyond a double: valid JSON that nlohmann cannot hold (the rest goes unchecked).
  }
}

StreamDescriptor descriptor_from(const nlohmann::json& descriptor) {
  StreamDescriptor stream;
  if (!descriptor.is_object() || !descriptor.contains("name") || !descriptor["name"].is_string())
    throw InputError("a stream_descriptor needs a string \"name\"");
  stream.name = descriptor["name"].get<std::string>();
  if (descriptor.contains("namespace") && descriptor["namespace"].is_string())
    stream.stream_namespace = descriptor["namespace"].get<std::string>();
  return stream;
}

} // namespace

ReadResult MessageReader::read_next(std::chrono::milliseconds wait) {
  Line line;
  ReadResult result = lines_.next(line, wait);
  if (result != ReadResult::line)
    return result;
  line_number_ = line.number;
  if (line.text.find_first_not_of(" \t\r") == std::string_view::npos)
    return result; // blank
  try {
    dispatch(line);
  } catch (const InputError& error) {
    throw SystemError(
        fmt::format("Input line {} is not a valid Airbyte message: {}", line.number, error.what()));
  } catch (const encode::MalformedJson& error) {
    throw SystemError(
        fmt::format("Input line {} is not a valid Airbyte message: {}", line.number, error.what()));
  }
  return result;
}

namespace {
// The field that carries the body of a message of this type, or empty for types we skip.
std::string_view body_field(std::string_view type) {
  if (type == "RECORD")
    return "record";
  if (type == "STATE")
    return "state";
  if (type == "TRACE")
    return "trace";
  return {}; // LOG, CONTROL and the rest are not for a destination.
}
} // namespace

void MessageReader::dispatch(const Line& line) {
  auto document = get<simdjson::ondemand::document>(
      parser_.iterate(line.text.data(), line.text.size(), line.capacity), "not JSON");
  auto message = get<simdjson::ondemand::object>(document.get_object(), "not a JSON object");
  // Iterating the whole object (rather than looking fields up) makes On-Demand check that it is
  // closed; what follows it is checked at the end.
  std::optional<std::string_view> type;
  bool body_read = false;
  for (auto field_result : message) {
    auto field = get<simdjson::ondemand::field>(std::move(field_result), "invalid message");
    auto key = get<std::string_view>(field.unescaped_key(), "invalid message key");
    if (key == "type") {
      type = get<std::string_view>(field.value().get_string(), "\"type\" must be a string");
      continue;
    }
    if (!type) {
      if (key == "record" || key == "state" || key == "trace")
        return dispatch_any_order(line);
      continue;
    }
    if (key != body_field(*type) || body_read)
      continue;
    body_read = true;
    if (*type == "RECORD")
      read_record(get<simdjson::ondemand::object>(field.value().get_object(),
                                                  "\"record\" must be an object"),
                  line);
    else if (*type == "STATE")
      read_state(field.value(), line);
    else
      read_stream_status(get<simdjson::ondemand::object>(field.value().get_object(),
                                                         "\"trace\" must be an object"));
  }
  if (!type)
    throw InputError("\"type\" is missing");
  if (!body_read && !body_field(*type).empty())
    throw InputError(fmt::format("a {} message needs a \"{}\" object", *type, body_field(*type)));
  const char* rest = nullptr;
  if (!document.current_location().get(rest))
    throw InputError("unexpected text after the message");
}

// The rare message whose body comes before its type.
void MessageReader::dispatch_any_order(const Line& line) {
  auto document = get<simdjson::ondemand::document>(
      parser_.iterate(line.text.data(), line.text.size(), line.capacity), "not JSON");
  auto message = get<simdjson::ondemand::object>(document.get_object(), "not a JSON object");
  std::string type(get<std::string_view>(message.find_field_unordered("type").get_string(),
                                         "\"type\" is missing or not a string"));
  auto body = body_field(type);
  if (body.empty())
    return;
  auto value =
      get<simdjson::ondemand::value>(message.find_field_unordered(body),
                                     fmt::format("a {} message needs a \"{}\" object", type, body));
  if (type == "RECORD")
    read_record(get<simdjson::ondemand::object>(value.get_object(), "\"record\" must be an object"),
                line);
  else if (type == "STATE")
    read_state(value, line);
  else
    read_stream_status(
        get<simdjson::ondemand::object>(value.get_object(), "\"trace\" must be an object"));
}

void MessageReader::read_record(simdjson::ondemand::object record, const Line& line) {
  // One pass in the usual field order (stream and namespace before data); a record whose stream
  // is only known after its data is re-read with lookups.
  std::optional<std::string_view> name;
  std::optional<std::string_view> stream_namespace;
  bool namespace_seen = false;
  std::optional<std::string_view> assumed_namespace; // of the stream selected before `namespace`
  std::optional<std::int64_t> emitted_at;
  bool data_seen = false;
  changes_.clear();
  for (auto field_result : record) {
    auto field = get<simdjson::ondemand::field>(std::move(field_result), "invalid record");
    auto key = get<std::string_view>(field.unescaped_key(), "invalid record key");
    auto value = field.value();
    if (key == "stream") {
      name = get<std::string_view>(value.get_string(), "record.stream must be a string");
    } else if (key == "namespace") {
      stream_namespace = optional_string(value, "record.namespace must be a string");
      namespace_seen = true;
    } else if (key == "emitted_at") {
      emitted_at = read_emitted_at(value);
    } else if (key == "data") {
      if (!name)
        return read_record_any_order(line);
      auto selected = handler_.record_begin(stream_namespace, *name, namespace_seen);
      if (!namespace_seen)
        assumed_namespace = selected;
      handler_.record_data(
          get<simdjson::ondemand::object>(value.get_object(), "record.data must be an object"));
      data_seen = true;
    } else if (key == "meta") {
      read_meta_changes(value);
    }
  }
  if (!name)
    throw InputError("record.stream is missing");
  if (!data_seen)
    throw InputError("record.data is missing");
  if (!emitted_at)
    throw InputError("record.emitted_at is missing");
  if (assumed_namespace && *assumed_namespace != stream_namespace.value_or(""))
    return read_record_any_order(line);
  ++records_read_;
  handler_.record_end(*emitted_at, changes_);
}

void MessageReader::read_record_any_order(const Line& line) {
  auto document = get<simdjson::ondemand::document>(
      parser_.iterate(line.text.data(), line.text.size(), line.capacity), "not JSON");
  auto record = get<simdjson::ondemand::object>(
      document.find_field_unordered("record").get_object(), "invalid record");
  // Copies: later lookups may overwrite the parser's string buffer.
  std::string name(get<std::string_view>(record.find_field_unordered("stream").get_string(),
                                         "record.stream is missing or not a string"));
  std::optional<std::string> stream_namespace;
  simdjson::ondemand::value value;
  if (find_optional(record, "namespace", value, "invalid record")) {
    auto text = optional_string(value, "record.namespace must be a string");
    if (text)
      stream_namespace = std::string(*text);
  }
  auto emitted_at = read_emitted_at(get<simdjson::ondemand::value>(
      record.find_field_unordered("emitted_at"), "record.emitted_at is missing"));
  changes_.clear();
  if (find_optional(record, "meta", value, "invalid record"))
    read_meta_changes(value);
  handler_.record_begin(stream_namespace ? std::optional<std::string_view>(*stream_namespace)
                                         : std::nullopt,
                        name, true);
  handler_.record_data(get<simdjson::ondemand::object>(
      record.find_field_unordered("data").get_object(), "record.data is missing or not an object"));
  ++records_read_;
  handler_.record_end(emitted_at, changes_);
}

void MessageReader::read_meta_changes(simdjson::ondemand::value meta) {
  simdjson::ondemand::object object;
  if (meta.get_object().get(object))
    return; // null or not an object: nothing to carry over
  simdjson::ondemand::value changes;
  if (!find_optional(object, "changes", changes, "invalid record.meta"))
    return;
  simdjson::ondemand::array items;
  if (changes.get_array().get(items))
    return;
  for (auto item : items) {
    auto change = get<simdjson::ondemand::value>(std::move(item), "invalid record.meta.changes");
    if (!changes_.empty())
      changes_ += ',';
    if (encode::write_json(change, changes_).malformed)
      throw InputError("invalid JSON in record.meta.changes");
  }
}

void MessageReader::read_state(simdjson::ondemand::value state_value, const Line& line) {
  auto state = get<simdjson::ondemand::object>(state_value.get_object(), "state must be an object");
  StateMessage message;
  message.line_number = line.number;
  message.fields = "{";
  for (auto field_result : state) {
    auto field = get<simdjson::ondemand::field>(std::move(field_result), "invalid state");
    std::string_view raw_key;
    bool key_is_plain = encode::raw_key(field, raw_key);
    auto key = std::string(get<std::string_view>(field.unescaped_key(), "invalid state key"));
    auto value = field.value();
    auto raw = get<std::string_view>(simdjson::to_json_string(value), "invalid state value");
    check_json_text(raw, "invalid JSON in state." + key);
    if (key == "destinationStats")
      continue; // ours to write
    if (key == "type") {
      auto parsed = nlohmann::json::parse(raw, nullptr, false);
      if (parsed == "STREAM")
        message.type = StateType::STREAM;
      else if (parsed == "GLOBAL")
        message.type = StateType::GLOBAL;
      else if (parsed == "LEGACY" || parsed.is_null())
        message.type = StateType::LEGACY;
      else
        throw InputError("state.type must be STREAM, GLOBAL or LEGACY");
    } else if (key == "stream") {
      auto parsed = nlohmann::json::parse(raw, nullptr, false);
      if (parsed.is_object() && parsed.contains("stream_descriptor"))
        message.stream = descriptor_from(parsed["stream_descriptor"]);
    }
    if (message.fields.size() > 1)
      message.fields += ',';
    if (key_is_plain) {
      message.fields += '"';
      message.fields += raw_key;
      message.fields += '"';
    } else {
      encode::append_json_string(key, message.fields);
    }
    message.fields += ':';
    std::string text = minified(raw);
    // Some sources send GLOBAL states without the required stream_states; an empty list says the
    // same and keeps our output valid.
    if (key == "global") {
      auto parsed = nlohmann::json::parse(text, nullptr, false);
      if (parsed.is_object() && !parsed.contains("stream_states"))
        text.insert(text.size() - 1,
                    parsed.empty() ? "\"stream_states\":[]" : ",\"stream_states\":[]");
    }
    message.fields += text;
  }
  if (message.type == StateType::STREAM && !message.stream)
    throw InputError("a STREAM state needs stream.stream_descriptor");
  handler_.state(std::move(message));
}

void MessageReader::read_stream_status(simdjson::ondemand::object trace) {
  std::string type(get<std::string_view>(trace.find_field_unordered("type").get_string(),
                                         "trace.type is missing"));
  if (type != "STREAM_STATUS")
    return;
  auto status_object =
      get<simdjson::ondemand::object>(trace.find_field_unordered("stream_status").get_object(),
                                      "a STREAM_STATUS trace needs \"stream_status\"");
  auto raw =
      get<std::string_view>(simdjson::to_json_string(status_object), "invalid stream_status");
  auto parsed = nlohmann::json::parse(raw, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("stream_descriptor") || !parsed.contains("status"))
    throw InputError("stream_status needs stream_descriptor and status");
  auto stream = descriptor_from(parsed["stream_descriptor"]);
  const auto& status = parsed["status"];
  StreamStatus value;
  if (status == "STARTED")
    value = StreamStatus::STARTED;
  else if (status == "RUNNING")
    value = StreamStatus::RUNNING;
  else if (status == "COMPLETE")
    value = StreamStatus::COMPLETE;
  else if (status == "INCOMPLETE")
    value = StreamStatus::INCOMPLETE;
  else
    throw InputError("stream_status.status must be STARTED, RUNNING, COMPLETE or INCOMPLETE");
  handler_.stream_status(stream, value);
}

} // namespace pgdest::protocol
