#pragma once
// The typed layout's encoder: one record's `data` → the fields of its stream's user columns, each
// value coerced to its column's type, and the `_airbyte_meta` changes that coercion made.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <simdjson.h>

#include "pgdest/encode/copy_buffer.hpp"
#include "pgdest/encode/row_encoder.hpp"
#include "pgdest/schema/column.hpp"

namespace pgdest::encode {

// Encodes the records of one stream into its user columns, in the given order.
class RecordEncoder final : public RowEncoder {
public:
  RecordEncoder(std::vector<schema::Column> columns, std::int64_t generation_id,
                std::int64_t sync_id);
  RecordEncoder(RecordEncoder&&) noexcept = default;
  RecordEncoder& operator=(RecordEncoder&&) noexcept = default;

  // Reads and coerces the values (throws MalformedJson).
  void fill(simdjson::ondemand::object data) override;

  // The current record's COPY field (int32 length, then the bytes; length -1 for NULL) for user
  // column `column`, as the row holds it. Valid from fill() until the next fill(), and
  // while the record's input lies where fill() read it (a huge value is not copied).
  std::string_view field(std::size_t column) const;

  // Names of properties present in data but not declared, each returned once over the encoder's
  // life (for "logged once per stream and field"); at most kMaxTrackedUndeclared names in all.
  std::vector<std::string> take_new_undeclared_fields() override;
  static constexpr std::size_t kMaxTrackedUndeclared = 1000;

  void rejected_values(std::vector<RejectedValue>& out) const override;

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
    std::string_view original;  // with a note: the value's JSON text in the input
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
  void write_fields(CopyBuffer& out) const override;
  void write_changes(bool need_comma, CopyBuffer& out) const override;

  std::vector<schema::Column> columns_;
  std::unordered_map<std::string_view, std::size_t> index_; // source name → column
  std::vector<std::size_t> predicted_; // column of the n-th key of the previous records
  std::vector<Slot> slots_;
  std::size_t current_ = 0;     // the slot encode_field() is filling
  bool huge_in_record_ = false; // a slot holds a huge value, to let go of in the next fill()
  std::vector<std::string> change_json_; // per column and Note: the change as JSON
  CopyBuffer scratch_;                   // fields of the current record, in arrival order
  std::string json_scratch_;             // compact JSON of the current value
  std::deque<std::string> undeclared_names_;
  std::unordered_set<std::string_view> undeclared_seen_;
  std::vector<std::string> undeclared_new_;
};

} // namespace pgdest::encode
