// Encodes one record's values into its user columns: type coercion (SPEC §5) and the changes.
#include "pgdest/encode/record_encoder.hpp"

#include <cstring>
#include <string>
#include <utility>

#include "pgdest/encode/change.hpp"
#include "pgdest/encode/json_writer.hpp"
#include "pgdest/encode/numeric_encoder.hpp"
#include "pgdest/encode/temporal_parser.hpp"

namespace pgdest::encode {

namespace ondemand = simdjson::ondemand;
using schema::ColumnType;

namespace {

constexpr std::size_t kMaxTextBytes = 0x3FFFFFFF - 4; // varlena limit (1 GiB) minus its header
constexpr std::size_t kNoteCount = 4;                 // values of RecordEncoder::Note
constexpr std::size_t kUndeclared = static_cast<std::size_t>(-1);
constexpr std::size_t kMaxPredicted = 4096;
// From this size on a value goes into the row straight from where it lies (Slot::body).
constexpr std::size_t kHugeValueBytes = 1u << 20;

bool equals_ignore_case(std::string_view text, std::string_view lower_word) {
  if (text.size() != lower_word.size()) {
    return false;
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((text[i] | 0x20) != lower_word[i]) {
      return false;
    }
  }
  return true;
}

// The change each Note stands for, indexed by the Note (Note::none's entry is never read).
struct NoteChange {
  ChangeKind kind;
  ChangeReason reason;
};
constexpr NoteChange kNoteChanges[kNoteCount] = {
    {ChangeKind::NULLED, ChangeReason::DESTINATION_SERIALIZATION_ERROR}, // Note::none
    {ChangeKind::TRUNCATED, ChangeReason::DESTINATION_SERIALIZATION_ERROR},
    {ChangeKind::NULLED, ChangeReason::DESTINATION_SERIALIZATION_ERROR},
    {ChangeKind::NULLED, ChangeReason::DESTINATION_FIELD_SIZE_LIMITATION},
};

std::vector<std::string> column_names(const std::vector<schema::Column>& columns) {
  std::vector<std::string> names;
  names.reserve(columns.size());
  for (const auto& column : columns) {
    names.push_back(column.name);
  }
  return names;
}

} // namespace

RecordEncoder::RecordEncoder(std::vector<schema::Column> columns, std::int64_t generation_id,
                             std::int64_t sync_id)
    : RowEncoder(column_names(columns), generation_id, sync_id), columns_(std::move(columns)),
      slots_(columns_.size()) {
  change_json_.reserve(columns_.size() * kNoteCount);
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    const std::string& field = columns_[i].source_name;
    index_.emplace(field, i);
    change_json_.emplace_back();
    for (std::size_t note = 1; note < kNoteCount; ++note) {
      change_json_.emplace_back();
      append_change_json(Change{field, kNoteChanges[note].kind, kNoteChanges[note].reason},
                         change_json_.back());
    }
  }
}

void RecordEncoder::fill(ondemand::object data) {
  for (auto& slot : slots_) {
    slot.present = false;
  }
  has_rejected_ = false;
  if (huge_in_record_) {
    // The previous record's huge values go now, not when a later record happens to reuse them.
    for (auto& slot : slots_) {
      slot.owned = std::string();
      slot.joined = std::string();
    }
    huge_in_record_ = false;
  }
  if (json_scratch_.capacity() > CopyBuffer::kMaxKeptCapacity) {
    json_scratch_ = std::string();
  }
  scratch_.clear();
  read_fields(data);
}

std::string_view RecordEncoder::field(std::size_t column) const {
  static constexpr char kNull[] = {'\xFF', '\xFF', '\xFF', '\xFF'};
  const Slot& slot = slots_[column];
  if (!slot.present) {
    return {kNull, sizeof(kNull)};
  }
  if (slot.body.empty()) {
    return scratch_.view().substr(slot.offset, slot.size);
  }
  if (slot.joined.empty()) {
    slot.joined.append(scratch_.view().substr(slot.offset, slot.size));
    slot.joined.append(slot.body);
    slot.joined.append(slot.suffix);
  }
  return slot.joined;
}

std::vector<std::string> RecordEncoder::take_new_undeclared_fields() {
  return std::exchange(undeclared_new_, {});
}

void RecordEncoder::read_fields(ondemand::object& data) {
  std::size_t position = 0;
  for (auto field_result : data) {
    ondemand::field field;
    if (const auto error = std::move(field_result).get(field)) {
      throw_malformed(error);
    }
    std::string_view key;
    if (!raw_key(field, key)) {
      const std::string_view written = written_key(field); // unescaped_key() forgets it
      const auto error = field.unescaped_key().get(key);
      if (error) {
        // A key with a lone surrogate names no declared property: the field is not stored.
        key = written;
        if (error != simdjson::STRING_ERROR || check_escapes(key) != EscapeCheck::lone_surrogate) {
          throw_malformed(error);
        }
        note_undeclared(key);
        validate_only(field.value());
        ++position;
        continue;
      }
    }
    const std::size_t index = column_of(key, position++);
    if (index == kUndeclared) {
      note_undeclared(key);
      validate_only(field.value());
    } else {
      encode_field(index, field.value());
    }
  }
}

// Records of a stream usually list their keys in the same order: try the column the key at this
// position had last time before hashing.
std::size_t RecordEncoder::column_of(std::string_view key, std::size_t position) {
  if (position < predicted_.size()) {
    const std::size_t guess = predicted_[position];
    if (guess != kUndeclared && columns_[guess].source_name == key) {
      return guess;
    }
  }
  const auto found = index_.find(key);
  const std::size_t index = found == index_.end() ? kUndeclared : found->second;
  if (position < kMaxPredicted) {
    if (position >= predicted_.size()) {
      predicted_.resize(position + 1, kUndeclared);
    }
    predicted_[position] = index;
  }
  return index;
}

void RecordEncoder::note_undeclared(std::string_view key) {
  if (undeclared_seen_.size() >= kMaxTrackedUndeclared || undeclared_seen_.count(key) != 0) {
    return;
  }
  undeclared_names_.emplace_back(key);
  undeclared_seen_.insert(undeclared_names_.back());
  undeclared_new_.push_back(undeclared_names_.back());
}

void RecordEncoder::validate_only(ondemand::value value) {
  json_scratch_.clear();
  const JsonWriteResult result = write_json(value, json_scratch_);
  if (result.malformed) {
    throw_malformed(result);
  }
}

void RecordEncoder::encode_field(std::size_t index, ondemand::value value) {
  Slot& slot = slots_[index];
  slot.offset = scratch_.size();
  slot.body = {};
  slot.suffix = {};
  slot.joined.clear();
  current_ = index;
  slot.note = encode_value(columns_[index].type, value);
  if (slot.note != Note::none) {
    slot.original = written_json(value);
    if (slot.original.empty()) {
      throw_malformed(simdjson::TAPE_ERROR);
    }
    has_rejected_ = true;
  }
  slot.size = scratch_.size() - slot.offset;
  slot.present = true;
}

RecordEncoder::Note RecordEncoder::encode_value(ColumnType type, ondemand::value& value) {
  ondemand::json_type json_type{};
  if (const auto error = value.type().get(json_type)) {
    throw_malformed(error);
  }
  switch (json_type) {
  case ondemand::json_type::null:
    if (!literal_is(value, "null")) {
      throw_malformed(simdjson::N_ATOM_ERROR);
    }
    return put_null(Note::none);
  case ondemand::json_type::boolean:
    if (literal_is(value, "true")) {
      return encode_boolean(type, true);
    }
    if (literal_is(value, "false")) {
      return encode_boolean(type, false);
    }
    throw_malformed(simdjson::T_ATOM_ERROR);
  case ondemand::json_type::number:
    return encode_number(type, number_token(value));
  case ondemand::json_type::string: {
    StringValue text{{}, true};
    if (!raw_string_content(value, text.content)) {
      text.raw = false;
      const std::string_view token = value.raw_json_token();
      if (const auto error = value.get_string().get(text.content)) {
        return unstorable_string(error, token);
      }
    }
    return encode_string(type, text);
  }
  case ondemand::json_type::object:
  case ondemand::json_type::array:
    break;
  }
  json_scratch_.clear();
  const JsonWriteResult result = write_json(value, json_scratch_);
  if (result.malformed) {
    throw_malformed(result);
  }
  if (result.lone_surrogate) {
    return put_null(Note::nulled_serialization);
  }
  return encode_composite(type, result.nul_removed, result.number_beyond_numeric);
}

// A string simdjson would not unescape: valid JSON with a lone surrogate (as Python's and
// JavaScript's JSON writers produce) is a value PostgreSQL cannot store; anything else is broken.
RecordEncoder::Note RecordEncoder::unstorable_string(simdjson::error_code error,
                                                     std::string_view token) {
  const std::size_t end = token.find_last_of('"');
  if (error != simdjson::STRING_ERROR || end == 0 || end == std::string_view::npos ||
      check_escapes(token.substr(1, end - 1)) != EscapeCheck::lone_surrogate) {
    throw_malformed(error);
  }
  return put_null(Note::nulled_serialization);
}

RecordEncoder::Note RecordEncoder::encode_boolean(ColumnType type, bool value) {
  const std::string_view text = value ? "true" : "false";
  switch (type) {
  case ColumnType::boolean:
    scratch_.put_bool(value);
    return Note::none;
  case ColumnType::varchar:
    scratch_.put_bytes(text);
    return Note::none;
  case ColumnType::jsonb:
    return put_jsonb({}, text, {});
  default:
    return put_null(Note::nulled_serialization);
  }
}

RecordEncoder::Note RecordEncoder::encode_number(ColumnType type, std::string_view token) {
  DecimalText number;
  if (!scan_decimal(token, NumericSyntax::json_number, number)) {
    throw_malformed(simdjson::NUMBER_ERROR);
  }
  std::int64_t integer = 0;
  switch (type) {
  case ColumnType::varchar:
    scratch_.put_bytes(token);
    return Note::none;
  case ColumnType::numeric:
    return encode_numeric(number, scratch_) == NumericStatus::ok ? Note::none
                                                                 : put_null(Note::nulled_size);
  case ColumnType::bigint:
    switch (integral_value(number, integer)) {
    case IntegerStatus::ok:
      scratch_.put_int64(integer);
      return Note::none;
    case IntegerStatus::too_big:
      return put_null(Note::nulled_size);
    default:
      return put_null(Note::nulled_serialization);
    }
  case ColumnType::jsonb:
    return fits_numeric_text_input(number) ? put_jsonb({}, token, {}) : put_null(Note::nulled_size);
  default:
    return put_null(Note::nulled_serialization);
  }
}

RecordEncoder::Note RecordEncoder::encode_string(ColumnType type, const StringValue& value) {
  std::int64_t integer = 0;
  switch (type) {
  case ColumnType::varchar:
    return encode_text(value);
  case ColumnType::jsonb:
    return encode_string_as_jsonb(value);
  case ColumnType::boolean:
    if (equals_ignore_case(value.content, "true") || equals_ignore_case(value.content, "false")) {
      scratch_.put_bool((value.content[0] | 0x20) == 't');
      return Note::none;
    }
    return put_null(Note::nulled_serialization);
  case ColumnType::numeric:
    switch (encode_numeric(value.content, NumericSyntax::text, scratch_)) {
    case NumericStatus::ok:
      return Note::none;
    case NumericStatus::too_big:
      return put_null(Note::nulled_size);
    case NumericStatus::invalid:
      break;
    }
    return put_null(Note::nulled_serialization);
  case ColumnType::bigint:
    switch (integral_value(value.content, NumericSyntax::text, integer)) {
    case IntegerStatus::ok:
      scratch_.put_int64(integer);
      return Note::none;
    case IntegerStatus::too_big:
      return put_null(Note::nulled_size);
    default:
      return put_null(Note::nulled_serialization);
    }
  default:
    return encode_temporal(type, value.content);
  }
}

RecordEncoder::Note RecordEncoder::encode_text(const StringValue& value) {
  if (value.content.size() > kMaxTextBytes) {
    return put_null(Note::nulled_size);
  }
  if (value.raw || std::memchr(value.content.data(), 0, value.content.size()) == nullptr) {
    put_text(value.content);
    return Note::none;
  }
  const FieldStart field = scratch_.begin_field();
  std::string_view rest = value.content;
  for (std::size_t nul = rest.find('\0'); nul != std::string_view::npos; nul = rest.find('\0')) {
    scratch_.append(rest.substr(0, nul));
    rest.remove_prefix(nul + 1);
  }
  scratch_.append(rest);
  scratch_.end_field(field);
  return Note::truncated;
}

RecordEncoder::Note RecordEncoder::encode_string_as_jsonb(const StringValue& value) {
  if (value.raw) {
    return put_jsonb("\"", value.content, "\"");
  }
  json_scratch_.clear();
  const bool nul_removed = append_json_string(value.content, json_scratch_);
  const Note note = put_jsonb({}, json_scratch_, {});
  return note == Note::none && nul_removed ? Note::truncated : note;
}

RecordEncoder::Note RecordEncoder::encode_composite(ColumnType type, bool nul_removed,
                                                    bool number_beyond_numeric) {
  Note note = Note::none;
  if (type == ColumnType::varchar) {
    if (json_scratch_.size() > kMaxTextBytes) {
      return put_null(Note::nulled_size);
    }
    put_text(json_scratch_);
  } else if (type == ColumnType::jsonb) {
    if (number_beyond_numeric) {
      return put_null(Note::nulled_size);
    }
    note = put_jsonb({}, json_scratch_, {});
  } else {
    return put_null(Note::nulled_serialization);
  }
  return note == Note::none && nul_removed ? Note::truncated : note;
}

RecordEncoder::Note RecordEncoder::encode_temporal(ColumnType type, std::string_view text) {
  TemporalStatus status = TemporalStatus::invalid;
  std::int32_t days = 0;
  std::int64_t micros = 0;
  TimeWithZone time_with_zone;
  switch (type) {
  case ColumnType::date:
    status = parse_date(text, days);
    break;
  case ColumnType::timestamptz:
    status = parse_timestamptz(text, micros);
    break;
  case ColumnType::timestamp:
    status = parse_timestamp(text, micros);
    break;
  case ColumnType::time:
    status = parse_time(text, micros);
    break;
  case ColumnType::timetz:
    status = parse_timetz(text, time_with_zone);
    break;
  default:
    break;
  }
  if (status != TemporalStatus::ok) {
    return put_null(status == TemporalStatus::out_of_range ? Note::nulled_size
                                                           : Note::nulled_serialization);
  }
  if (type == ColumnType::date) {
    scratch_.put_int32(days);
  } else if (type == ColumnType::timetz) {
    scratch_.append_int32(12);
    scratch_.append_int64(time_with_zone.micros);
    scratch_.append_int32(time_with_zone.zone_west_seconds);
  } else {
    scratch_.put_int64(micros);
  }
  return Note::none;
}

RecordEncoder::Note RecordEncoder::put_jsonb(std::string_view prefix, std::string_view json,
                                             std::string_view suffix) {
  if (prefix.size() + json.size() + suffix.size() > kMaxJsonbBytes) {
    return put_null(Note::nulled_size);
  }
  if (json.size() >= kHugeValueBytes) {
    scratch_.append_int32(
        static_cast<std::int32_t>(1 + prefix.size() + json.size() + suffix.size()));
    scratch_.append_byte(kJsonbVersion);
    scratch_.append(prefix);
    refer_to_huge(json, suffix);
    return Note::none;
  }
  const FieldStart field = scratch_.begin_field();
  scratch_.append_byte(kJsonbVersion);
  scratch_.append(prefix);
  scratch_.append(json);
  scratch_.append(suffix);
  scratch_.end_field(field);
  return Note::none;
}

void RecordEncoder::put_text(std::string_view text) {
  if (text.size() >= kHugeValueBytes) { // within kMaxTextBytes: callers check
    scratch_.append_int32(static_cast<std::int32_t>(text.size()));
    refer_to_huge(text, {});
    return;
  }
  scratch_.put_bytes(text);
}

void RecordEncoder::refer_to_huge(std::string_view body, std::string_view suffix) {
  Slot& slot = slots_[current_];
  if (body.data() == json_scratch_.data()) {
    // JSON text made for this very value: the slot takes it over rather than copying it.
    slot.owned = std::move(json_scratch_);
    json_scratch_ = std::string();
    body = slot.owned;
  }
  slot.body = body;
  slot.suffix = suffix;
  huge_in_record_ = true;
}

RecordEncoder::Note RecordEncoder::put_null(Note note) {
  scratch_.put_null();
  return note;
}

void RecordEncoder::write_fields(CopyBuffer& out) const {
  const std::string_view fields = scratch_.view();
  for (const Slot& slot : slots_) {
    if (slot.present) {
      out.append(fields.substr(slot.offset, slot.size));
      out.append(slot.body);
      out.append(slot.suffix);
    } else {
      out.put_null();
    }
  }
}

void RecordEncoder::rejected_values(std::vector<RejectedValue>& out) const {
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    const Slot& slot = slots_[i];
    if (slot.present && slot.note != Note::none) {
      const NoteChange& change = kNoteChanges[static_cast<std::size_t>(slot.note)];
      out.push_back({columns_[i].source_name, change.kind, change.reason, slot.original});
    }
  }
}

void RecordEncoder::write_changes(bool need_comma, CopyBuffer& out) const {
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    const Slot& slot = slots_[i];
    if (!slot.present || slot.note == Note::none) {
      continue;
    }
    if (need_comma) {
      out.append(",");
    }
    out.append(change_json_[i * kNoteCount + static_cast<std::size_t>(slot.note)]);
    need_comma = true;
  }
}

} // namespace pgdest::encode
