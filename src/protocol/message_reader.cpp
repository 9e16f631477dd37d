// Parses each input line with simdjson On-Demand, checks all of it, and dispatches records, states
// and statuses.
#include "pgdest/protocol/message_reader.hpp"

#include <cstdint>
#include <memory>
#include <unordered_set>

#include <fmt/format.h>

#include "pgdest/encode/json_writer.hpp"
#include "pgdest/encode/record_encoder.hpp"
#include "pgdest/error.hpp"

namespace pgdest::protocol {
namespace {

namespace ondemand = simdjson::ondemand;

// A problem with one line; read_next() adds the line number.
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

// A key or type for a message to a person: never more than a short line of it.
std::string shown(std::string_view text) {
  constexpr std::size_t kLongest = 64;
  if (text.size() <= kLongest)
    return std::string(text);
  return std::string(text.substr(0, kLongest)) + "...";
}

// The keys of one object, to refuse a key given twice (readers disagree on which one counts).
// The few keys the hot path looks for are bits; a hash set holds any others.
class KeySet {
public:
  explicit KeySet(const char* where) : where_(where) {}

  // A key the caller looks for, numbered by it (0 to 31).
  void add_known(unsigned number, std::string_view key) {
    const std::uint32_t bit = 1u << number;
    if ((known_ & bit) != 0)
      duplicate(key);
    known_ |= bit;
  }

  // Any other key.
  void add(std::string_view key) {
    if (!others_)
      others_ = std::make_unique<std::unordered_set<std::string_view>>();
    if (!others_->insert(key).second)
      duplicate(key);
  }

private:
  [[noreturn]] void duplicate(std::string_view key) const {
    throw InputError(
        fmt::format("{} has the key \"{}\" twice; give each key once", where_, shown(key)));
  }

  const char* where_;
  std::uint32_t known_ = 0;
  std::unique_ptr<std::unordered_set<std::string_view>> others_;
};

// The key of `field`, unescaped; `written`, if given, receives it as written. A key with a lone
// surrogate (valid JSON) comes back as written: it names nothing the reader looks for.
std::string_view key_of(ondemand::field& field, std::string_view* written = nullptr) {
  std::string_view key;
  if (encode::raw_key(field, key)) {
    if (written)
      *written = key;
    return key;
  }
  const std::string_view as_written = encode::written_key(field); // unescaped_key() forgets it
  if (written)
    *written = as_written;
  const auto error = field.unescaped_key().get(key);
  if (!error)
    return key;
  if (error != simdjson::STRING_ERROR ||
      encode::check_escapes(as_written) != encode::EscapeCheck::lone_surrogate)
    check(error, "a key is not valid JSON");
  return as_written;
}

std::string problem(const encode::JsonWriteResult& result, std::string_view what) {
  if (result.too_deep)
    return fmt::format("{} nests arrays and objects more than {} levels deep", what,
                       encode::kMaxJsonDepth);
  if (result.duplicate_key)
    return fmt::format("{} has the key \"{}\" twice in one object; give each key once", what,
                       shown(*result.duplicate_key));
  return fmt::format("{} is not valid JSON: {}", what, simdjson::error_message(result.error));
}

std::optional<std::string_view> optional_string(ondemand::value value, std::string_view what) {
  bool is_null = false;
  if (!value.is_null().get(is_null) && is_null)
    return std::nullopt;
  return get<std::string_view>(value.get_string(), what);
}

std::int64_t read_emitted_at(ondemand::value value) {
  std::int64_t ms = 0;
  if (!value.get_int64().get(ms))
    return ms;
  // Some sources write emitted_at as a float.
  double as_double = get<double>(value.get_double(), "record.emitted_at must be a number");
  constexpr double kLimit = 9.2e18; // inside int64 (a cast beyond it is undefined)
  if (!(as_double > -kLimit && as_double < kLimit))
    throw InputError("record.emitted_at is outside PostgreSQL's timestamp range");
  return static_cast<std::int64_t>(as_double);
}

ondemand::json_type type_of(ondemand::value& value, std::string_view what) {
  return get<ondemand::json_type>(value.type(), what);
}

// What a null `namespace` in a stream descriptor means.
enum class NullNamespace {
  absent,  // read as no namespace (a message that is only read)
  refused, // not allowed (a STATE, which is echoed and must validate)
};

StreamDescriptor read_descriptor(ondemand::value value, const std::string& where,
                                 NullNamespace null_namespace) {
  auto object = get<ondemand::object>(value.get_object(), where + " must be an object");
  KeySet keys(where.c_str());
  StreamDescriptor stream;
  bool named = false;
  for (auto field_result : object) {
    auto field = get<ondemand::field>(std::move(field_result), where + " is not valid JSON");
    auto key = key_of(field);
    keys.add(key);
    if (key == "name") {
      stream.name =
          get<std::string_view>(field.value().get_string(), where + ".name must be a string");
      named = true;
    } else if (key == "namespace") {
      auto text = optional_string(field.value(), where + ".namespace must be a string");
      if (text)
        stream.stream_namespace = std::string(*text);
      else if (null_namespace == NullNamespace::refused)
        throw InputError(where +
                         ".namespace is null, which the Airbyte protocol does not allow in a "
                         "STATE; leave the field out for a stream without a namespace");
    }
    // Other keys were checked with the rest of the state.
  }
  if (!named)
    throw InputError(where + ".name is missing");
  return stream;
}

// AirbyteStreamState: stream_descriptor (required) and stream_state (an object when present).
StreamDescriptor check_stream_state(ondemand::object object, const std::string& where) {
  std::optional<StreamDescriptor> stream;
  for (auto field_result : object) {
    auto field = get<ondemand::field>(std::move(field_result), where + " is not valid JSON");
    auto key = key_of(field);
    auto value = field.value();
    if (key == "stream_descriptor") {
      stream = read_descriptor(value, where + ".stream_descriptor", NullNamespace::refused);
    } else if (key == "stream_state") {
      if (type_of(value, where) != ondemand::json_type::object)
        throw InputError(where + ".stream_state must be an object");
    }
  }
  if (!stream)
    throw InputError(where + ".stream_descriptor is missing");
  return *stream;
}

// The types of message a destination does not act on but the protocol defines.
bool is_ignored_type(std::string_view type) {
  return type == "LOG" || type == "SPEC" || type == "CONNECTION_STATUS" || type == "CATALOG" ||
         type == "CONTROL" || type == "DESTINATION_CATALOG";
}

// The field that carries the body of a message of this type, or empty for types we skip.
std::string_view body_field(std::string_view type) {
  if (type == "RECORD")
    return "record";
  if (type == "STATE")
    return "state";
  if (type == "TRACE")
    return "trace";
  return {};
}

// 1, 2 or 3 for the body fields, else -1.
int body_number(std::string_view key) {
  if (key == "record")
    return 1;
  if (key == "state")
    return 2;
  if (key == "trace")
    return 3;
  return -1;
}

std::string_view read_type(ondemand::value value) {
  auto type = get<std::string_view>(value.get_string(), "\"type\" must be a string");
  if (!body_field(type).empty() || is_ignored_type(type))
    return type;
  throw InputError(fmt::format(
      "\"type\" is \"{}\", which is not an Airbyte message type (RECORD, STATE, TRACE, LOG, "
      "SPEC, CONNECTION_STATUS, CATALOG, CONTROL or DESTINATION_CATALOG, in upper case)",
      shown(type)));
}

} // namespace

MessageReader::MessageReader(LineReader& lines, MessageHandler& handler)
    : lines_(lines), handler_(handler) {
  encode::allow_parser_depth(parser_);
  encode::allow_parser_depth(state_parser_);
}

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

void MessageReader::dispatch(const Line& line) {
  pending_ = Pending::nothing;
  std::optional<std::string> known_type;
  auto document = get<ondemand::document>(
      parser_.iterate(line.text.data(), line.text.size(), line.capacity), "not JSON");
  if (!read_message(document, line, known_type)) {
    // The rare message whose body comes before its type: read it again, type known.
    document = get<ondemand::document>(
        parser_.iterate(line.text.data(), line.text.size(), line.capacity), "not JSON");
    if (!read_message(document, line, known_type))
      throw InputError("invalid message");
  }
  switch (pending_) {
  case Pending::nothing:
    return;
  case Pending::record_reread:
    reread_record_data(line);
    [[fallthrough]];
  case Pending::record:
    ++records_read_;
    handler_.record_end(emitted_at_, changes_);
    return;
  case Pending::state:
    handler_.state(std::move(state_));
    return;
  case Pending::status:
    handler_.stream_status(status_stream_, status_);
    return;
  }
}

// One pass over the message. Every part the body readers do not take is validated here; a body
// that comes before "type" is skipped and the pass returns false with `known_type` set.
bool MessageReader::read_message(ondemand::document& document, const Line& line,
                                 std::optional<std::string>& known_type) {
  auto message = get<ondemand::object>(document.get_object(), "not a JSON object");
  KeySet keys("the message");
  std::optional<std::string_view> type;
  if (known_type)
    type = *known_type;
  bool body_skipped = false;
  bool body_read = false;
  for (auto field_result : message) {
    auto field = get<ondemand::field>(std::move(field_result), "not valid JSON");
    auto key = key_of(field);
    if (key == "type") {
      keys.add_known(0, key);
      if (!known_type)
        type = read_type(field.value());
      continue; // else checked in the first pass
    }
    const int body = body_number(key);
    if (body < 0) {
      keys.add(key);
      validate(field.value(), "message", key);
      continue;
    }
    keys.add_known(static_cast<unsigned>(body), key);
    if (!type) {
      body_skipped = true;
      continue;
    }
    if (key == body_field(*type)) {
      read_body(*type, field.value(), line);
      body_read = true;
      continue;
    }
    validate(field.value(), "message", key);
  }
  if (!type)
    throw InputError("\"type\" is missing");
  if (body_skipped && !known_type) {
    known_type = std::string(*type);
    return false;
  }
  if (!body_read && !body_field(*type).empty())
    throw InputError(fmt::format("a {} message needs a \"{}\" object", *type, body_field(*type)));
  const char* rest = nullptr;
  if (!document.current_location().get(rest))
    throw InputError("unexpected text after the message");
  return true;
}

void MessageReader::read_body(std::string_view type, ondemand::value body, const Line& line) {
  if (type == "RECORD")
    read_record(get<ondemand::object>(body.get_object(), "\"record\" must be an object"));
  else if (type == "STATE")
    read_state(body, line);
  else
    read_trace(get<ondemand::object>(body.get_object(), "\"trace\" must be an object"));
}

void MessageReader::read_record(ondemand::object record) {
  // One pass in the usual field order (stream and namespace before data); a record whose stream
  // is only known after its data has its data read again once the line is checked.
  KeySet keys("record");
  std::optional<std::string_view> name;
  std::optional<std::string_view> stream_namespace;
  bool namespace_seen = false;
  std::optional<std::string_view> assumed_namespace; // of the stream selected before `namespace`
  std::optional<std::int64_t> emitted_at;
  bool data_seen = false;
  bool data_deferred = false;
  changes_.clear();
  for (auto field_result : record) {
    auto field = get<ondemand::field>(std::move(field_result), "record is not valid JSON");
    auto key = key_of(field);
    auto value = field.value();
    if (key == "stream") {
      keys.add_known(0, key);
      name = get<std::string_view>(value.get_string(), "record.stream must be a string");
    } else if (key == "namespace") {
      keys.add_known(1, key);
      stream_namespace = optional_string(value, "record.namespace must be a string");
      namespace_seen = true;
    } else if (key == "emitted_at") {
      keys.add_known(2, key);
      emitted_at = read_emitted_at(value);
    } else if (key == "data") {
      keys.add_known(3, key);
      data_seen = true;
      if (!name) {
        data_deferred = true; // skipped now, read whole when the stream is known
        continue;
      }
      auto selected = handler_.record_begin(stream_namespace, *name, namespace_seen);
      if (!namespace_seen)
        assumed_namespace = selected;
      handler_.record_data(
          get<ondemand::object>(value.get_object(), "record.data must be an object"));
    } else if (key == "meta") {
      keys.add_known(4, key);
      read_meta_changes(value);
    } else {
      keys.add(key);
      validate(value, "record", key);
    }
  }
  if (!name)
    throw InputError("record.stream is missing");
  if (!data_seen)
    throw InputError("record.data is missing");
  if (!emitted_at)
    throw InputError("record.emitted_at is missing");
  emitted_at_ = *emitted_at;
  pending_ = Pending::record;
  if (data_deferred || (assumed_namespace && *assumed_namespace != stream_namespace.value_or(""))) {
    // Copies: the next parse of the line reuses the parser's string buffer.
    reread_name_ = std::string(*name);
    reread_namespace_ =
        stream_namespace ? std::optional<std::string>(*stream_namespace) : std::nullopt;
    pending_ = Pending::record_reread;
  }
}

void MessageReader::reread_record_data(const Line& line) {
  auto document = get<ondemand::document>(
      parser_.iterate(line.text.data(), line.text.size(), line.capacity), "not JSON");
  auto record = get<ondemand::object>(document.find_field_unordered("record").get_object(),
                                      "\"record\" must be an object");
  handler_.record_begin(reread_namespace_ ? std::optional<std::string_view>(*reread_namespace_)
                                          : std::nullopt,
                        reread_name_, true);
  handler_.record_data(get<ondemand::object>(record.find_field_unordered("data").get_object(),
                                             "record.data must be an object"));
}

void MessageReader::read_meta_changes(ondemand::value meta_value) {
  bool is_null = false;
  if (!meta_value.is_null().get(is_null) && is_null)
    return;
  auto meta = get<ondemand::object>(meta_value.get_object(), "record.meta must be an object");
  KeySet keys("record.meta");
  for (auto field_result : meta) {
    auto field = get<ondemand::field>(std::move(field_result), "record.meta is not valid JSON");
    auto key = key_of(field);
    keys.add(key);
    auto changes = field.value();
    if (key != "changes") {
      validate(changes, "record.meta", key);
      continue;
    }
    if (!changes.is_null().get(is_null) && is_null)
      continue;
    auto items = get<ondemand::array>(changes.get_array(), "record.meta.changes must be an array");
    for (auto item : items) {
      auto change = get<ondemand::value>(std::move(item), "record.meta.changes is not valid JSON");
      if (type_of(change, "record.meta.changes is not valid JSON") != ondemand::json_type::object)
        throw InputError("every item of record.meta.changes must be an object");
      if (!changes_.empty())
        changes_ += ',';
      // Normalised: the items go into _airbyte_meta (jsonb), which holds no NUL or lone surrogate.
      const auto result = encode::write_json(change, changes_, encode::StringForm::normalised,
                                             encode::DuplicateKeys::refused);
      if (result.malformed)
        throw InputError(problem(result, "record.meta.changes"));
    }
  }
}

void MessageReader::read_state(ondemand::value state_value, const Line& line) {
  auto state = get<ondemand::object>(state_value.get_object(), "state must be an object");
  KeySet keys("state");
  StateMessage message;
  message.line_number = line.number;
  message.fields = "{";
  for (auto field_result : state) {
    auto field = get<ondemand::field>(std::move(field_result), "state is not valid JSON");
    std::string_view written_key;
    auto key = key_of(field, &written_key);
    keys.add(key);
    auto value = field.value();
    std::string text;
    if (key == "destinationStats") {
      validate(value, "state", key); // ours to write
      continue;
    }
    if (key == "type") {
      bool is_null = false;
      if (!value.is_null().get(is_null) && is_null)
        continue; // the same as no type (LEGACY), which the protocol allows, unlike null
      auto type =
          get<std::string_view>(value.get_string(), "state.type must be STREAM, GLOBAL or LEGACY");
      if (type == "STREAM")
        message.type = StateType::STREAM;
      else if (type == "GLOBAL")
        message.type = StateType::GLOBAL;
      else if (type == "LEGACY")
        message.type = StateType::LEGACY;
      else
        throw InputError("state.type must be STREAM, GLOBAL or LEGACY");
      text = fmt::format("\"{}\"", type);
    } else {
      // Verbatim: the state leaves as it came (escapes, NUL characters and number text kept).
      scratch_.clear();
      const auto result = encode::write_json(value, scratch_, encode::StringForm::verbatim,
                                             encode::DuplicateKeys::refused);
      if (result.malformed)
        throw InputError(problem(result, fmt::format("state.{}", shown(key))));
      if (key == "stream") {
        simdjson::padded_string json(scratch_);
        auto document = get<ondemand::document>(state_parser_.iterate(json), "invalid state");
        message.stream = check_stream_state(
            get<ondemand::object>(document.get_object(), "state.stream must be an object"),
            "state.stream");
      }
      text = checked_state_field(key, scratch_);
    }
    if (message.fields.size() > 1)
      message.fields += ',';
    message.fields += '"';
    message.fields += written_key;
    message.fields += "\":";
    message.fields += text;
  }
  if (message.type == StateType::STREAM && !message.stream)
    throw InputError("a STREAM state needs stream.stream_descriptor");
  state_ = std::move(message);
  pending_ = Pending::state;
}

// The compact `json` of state field `key`, checked against the protocol's shape for it.
std::string MessageReader::checked_state_field(std::string_view key, std::string_view json) {
  std::string text(json);
  if (key != "global" && key != "data" && key != "sourceStats")
    return text;
  simdjson::padded_string padded(json);
  auto document = get<ondemand::document>(state_parser_.iterate(padded), "invalid state");
  const std::string where = fmt::format("state.{}", key);
  auto object = get<ondemand::object>(document.get_object(), where + " must be an object");
  if (key == "data")
    return text;
  bool has_stream_states = false;
  bool empty = true;
  for (auto field_result : object) {
    auto field = get<ondemand::field>(std::move(field_result), where + " is not valid JSON");
    auto name = key_of(field);
    auto value = field.value();
    empty = false;
    if (key == "sourceStats") {
      if ((name == "recordCount" || name == "rejectedRecordCount") &&
          type_of(value, where) != ondemand::json_type::number)
        throw InputError(fmt::format("{}.{} must be a number", where, name));
    } else if (name == "shared_state") {
      if (type_of(value, where) != ondemand::json_type::object)
        throw InputError("state.global.shared_state must be an object");
    } else if (name == "stream_states") {
      has_stream_states = true;
      auto items =
          get<ondemand::array>(value.get_array(), "state.global.stream_states must be an array");
      for (auto item : items)
        check_stream_state(get<ondemand::object>(std::move(item).get_object(),
                                                 "every item of state.global.stream_states must "
                                                 "be an object"),
                           "state.global.stream_states[]");
    }
  }
  // Some sources send GLOBAL states without the required stream_states; an empty list says the
  // same and keeps our output valid.
  if (key == "global" && !has_stream_states)
    text.insert(text.size() - 1, empty ? "\"stream_states\":[]" : ",\"stream_states\":[]");
  return text;
}

void MessageReader::read_trace(ondemand::object trace) {
  KeySet keys("trace");
  std::optional<std::string_view> type;
  bool status_seen = false;
  for (auto field_result : trace) {
    auto field = get<ondemand::field>(std::move(field_result), "trace is not valid JSON");
    auto key = key_of(field);
    keys.add(key);
    auto value = field.value();
    if (key == "type") {
      type = get<std::string_view>(value.get_string(), "trace.type must be a string");
      if (*type != "STREAM_STATUS" && *type != "ERROR" && *type != "ESTIMATE" &&
          *type != "ANALYTICS")
        throw InputError(fmt::format("trace.type is \"{}\", which is not ERROR, ESTIMATE, "
                                     "STREAM_STATUS or ANALYTICS",
                                     shown(*type)));
    } else if (key == "stream_status") {
      read_stream_status(value);
      status_seen = true;
    } else {
      if (key == "emitted_at" &&
          type_of(value, "trace.emitted_at is not valid JSON") != ondemand::json_type::number)
        throw InputError("trace.emitted_at must be a number");
      validate(value, "trace", key);
    }
  }
  if (!type)
    throw InputError("trace.type is missing");
  if (*type != "STREAM_STATUS")
    return;
  if (!status_seen)
    throw InputError("a STREAM_STATUS trace needs \"stream_status\"");
  pending_ = Pending::status;
}

void MessageReader::read_stream_status(ondemand::value value) {
  auto object = get<ondemand::object>(value.get_object(), "trace.stream_status must be an object");
  KeySet keys("trace.stream_status");
  bool described = false;
  std::optional<StreamStatus> status;
  for (auto field_result : object) {
    auto field =
        get<ondemand::field>(std::move(field_result), "trace.stream_status is not valid JSON");
    auto key = key_of(field);
    keys.add(key);
    if (key == "stream_descriptor") {
      status_stream_ = read_descriptor(field.value(), "trace.stream_status.stream_descriptor",
                                       NullNamespace::absent);
      described = true;
    } else if (key == "status") {
      auto text = get<std::string_view>(
          field.value().get_string(),
          "trace.stream_status.status must be STARTED, RUNNING, COMPLETE or INCOMPLETE");
      if (text == "STARTED")
        status = StreamStatus::STARTED;
      else if (text == "RUNNING")
        status = StreamStatus::RUNNING;
      else if (text == "COMPLETE")
        status = StreamStatus::COMPLETE;
      else if (text == "INCOMPLETE")
        status = StreamStatus::INCOMPLETE;
      else
        throw InputError(
            "trace.stream_status.status must be STARTED, RUNNING, COMPLETE or INCOMPLETE");
    } else {
      validate(field.value(), "trace.stream_status", key);
    }
  }
  if (!described || !status)
    throw InputError("trace.stream_status needs stream_descriptor and status");
  status_ = *status;
}

// A part of the message nobody reads must still be valid JSON, with no key given twice.
void MessageReader::validate(ondemand::value value, std::string_view parent, std::string_view key) {
  scratch_.clear();
  const auto result = encode::write_json(value, scratch_, encode::StringForm::verbatim,
                                         encode::DuplicateKeys::refused);
  if (result.malformed)
    throw InputError(problem(result, fmt::format("{}.{}", parent, shown(key))));
}

} // namespace pgdest::protocol
