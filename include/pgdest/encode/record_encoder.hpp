#pragma once
// One record's `data` → one binary COPY row of its stream's table, with `_airbyte_meta` changes.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <simdjson.h>

#include "pgdest/encode/copy_buffer.hpp"
#include "pgdest/encode/uuid_generator.hpp"
#include "pgdest/schema/column.hpp"

namespace pgdest::encode {

// The parts of an AirbyteRecordMessage besides `data` that go into the row.
struct RecordEnvelope {
  std::int64_t emitted_at_ms;      // the record's emitted_at
  std::string_view source_changes; // the record's own meta.changes items as compact JSON text,
                                   // "{...},{...}", possibly empty
};

// The record's JSON is structurally invalid (or its emitted_at is outside PostgreSQL's range):
// the record cannot be encoded and the sync must stop.
class MalformedJson : public std::runtime_error {
public:
  using runtime_error::runtime_error;
};

// Encodes the records of one stream; keeps its buffers between records (no steady-state
// allocation). Not thread-safe.
class RecordEncoder {
public:
  RecordEncoder(std::vector<schema::Column> columns, std::int64_t generation_id,
                std::int64_t sync_id);
  RecordEncoder(RecordEncoder&&) noexcept = default;
  RecordEncoder(const RecordEncoder&) = delete;
  RecordEncoder& operator=(const RecordEncoder&) = delete;
  RecordEncoder& operator=(RecordEncoder&&) noexcept = default;

  // Unquoted column names in COPY order: _airbyte_raw_id, _airbyte_extracted_at,
  // _airbyte_generation_id, the user columns in the given order, _airbyte_meta.
  std::vector<std::string> copy_columns() const;

  // Appends one row to `out`. On MalformedJson nothing is left in `out`.
  void encode(simdjson::ondemand::object data, const RecordEnvelope& envelope, CopyBuffer& out);

  // The same in two steps, for messages whose emitted_at or meta come after data: fill() reads
  // and coerces the values (throws MalformedJson), finish() appends the row. fill() again before
  // finish() starts the record over.
  void fill(simdjson::ondemand::object data);
  void finish(const RecordEnvelope& envelope, CopyBuffer& out);

  // The current record's COPY field (int32 length, then the bytes; length -1 for NULL) for user
  // column `column`, as the row holds it. Valid from fill() until the next fill(), and
  // while the record's input lies where fill() read it (a huge value is not copied).
  std::string_view field(std::size_t column) const;

  // Names of properties present in data but not declared, each returned once over the encoder's
  // life (for "logged once per stream and field"); at most kMaxTrackedUndeclared names in all.
  std::vector<std::string> take_new_undeclared_fields();
  static constexpr std::size_t kMaxTrackedUndeclared = 1000;

private:
  // What happened to one field of the current record.
  enum class Note : std::uint8_t { none, truncated, nulled_serialization, nulled_size };

  // The current record's value of one column: a whole COPY field inside scratch_, or for a huge
  // value (kHugeValueBytes and more) only its length and prefix there, the value itself left
  // where it is (the input line, simdjson's string buffer, or `owned`) so it is not held twice.
  struct Slot {
    bool present = false;
    Note note = Note::none;
    std::size_t offset = 0;
    std::size_t size = 0;
    std::string_view body;      // a huge value's bytes, else empty
    std::string_view suffix;    // what follows `body` in the field
    std::string owned;          // a huge value's JSON text, taken over from json_scratch_
    mutable std::string joined; // field() of a huge value, made when asked for
  };

  // A string value: either straight from the input (no escapes) or unescaped by simdjson.
  struct StringValue {
    std::string_view content;
    bool raw;
  };

  void read_fields(simdjson::ondemand::object& data);
  std::size_t column_of(std::string_view key, std::size_t position);
  void note_undeclared(std::string_view key);
  void validate_only(simdjson::ondemand::value value);
  void encode_field(std::size_t index, simdjson::ondemand::value value);
  Note encode_value(schema::ColumnType type, simdjson::ondemand::value& value);
  Note unstorable_string(simdjson::error_code error, std::string_view token);
  Note encode_boolean(schema::ColumnType type, bool value);
  Note encode_number(schema::ColumnType type, std::string_view token);
  Note encode_string(schema::ColumnType type, const StringValue& value);
  Note encode_text(const StringValue& value);
  Note encode_string_as_jsonb(const StringValue& value);
  Note encode_composite(schema::ColumnType type, bool nul_removed, bool number_beyond_numeric);
  Note encode_temporal(schema::ColumnType type, std::string_view text);
  Note put_jsonb(std::string_view prefix, std::string_view json, std::string_view suffix);
  void put_text(std::string_view text);
  void refer_to_huge(std::string_view body, std::string_view suffix);
  Note put_null(Note note);
  void write_row(std::int64_t extracted_at, std::string_view source_changes, CopyBuffer& out);
  void write_meta(std::string_view source_changes, CopyBuffer& out) const;

  std::vector<schema::Column> columns_;
  std::unordered_map<std::string_view, std::size_t> index_; // source name → column
  std::vector<std::size_t> predicted_; // column of the n-th key of the previous records
  std::vector<Slot> slots_;
  std::size_t current_ = 0;     // the slot encode_field() is filling
  bool huge_in_record_ = false; // a slot holds a huge value, to let go of in the next fill()
  std::vector<std::string> change_json_; // per column and Note: the change as JSON
  std::string meta_prefix_;              // {"sync_id":N,"changes":[
  std::int64_t generation_id_;
  std::int16_t field_count_;
  UuidGenerator uuids_;
  CopyBuffer scratch_;       // fields of the current record, in arrival order
  std::string json_scratch_; // compact JSON of the current value
  std::deque<std::string> undeclared_names_;
  std::unordered_set<std::string_view> undeclared_seen_;
  std::vector<std::string> undeclared_new_;
};

} // namespace pgdest::encode
