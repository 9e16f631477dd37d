#pragma once
// A stream's encoder: one record → one binary COPY row of the stream's table. The columns every
// table has are written here (_airbyte_raw_id, _airbyte_extracted_at, _airbyte_generation_id
// first, _airbyte_meta last); each table layout's encoder writes the fields between them.
#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "pgdest/encode/change.hpp"
#include "pgdest/encode/copy_buffer.hpp"
#include "pgdest/encode/json_writer.hpp"
#include "pgdest/encode/uuid_generator.hpp"

namespace pgdest::encode {

// The parts of an AirbyteRecordMessage besides `data` that go into the row.
struct RecordEnvelope {
  std::int64_t emitted_at_ms;      // the record's emitted_at
  std::string_view source_changes; // the record's own meta.changes items as compact JSON text,
                                   // "{...},{...}", possibly empty
};

// A value of the current record that the encoder NULLed or truncated: one of the changes it adds
// to `_airbyte_meta` (never one the source reported).
struct RejectedValue {
  std::string_view field; // the property's name, as the change names it
  ChangeKind change;
  ChangeReason reason;
  std::string_view original; // its JSON text exactly as the input has it
};

// The record's JSON is structurally invalid (or its emitted_at is outside PostgreSQL's range):
// the record cannot be encoded and the sync must stop.
class MalformedJson : public std::runtime_error {
public:
  using runtime_error::runtime_error;
};

// Throws MalformedJson for simdjson's `error`, or for a write_json `result` that is malformed.
[[noreturn]] void throw_malformed(simdjson::error_code error);
[[noreturn]] void throw_malformed(const JsonWriteResult& result);

// The version byte that starts a jsonb value in binary COPY.
inline constexpr std::uint8_t kJsonbVersion = 1;
// The longest JSON text stored as one jsonb value (jsonb holds at most 255 MiB).
inline constexpr std::size_t kMaxJsonbBytes = 0x0FFFFFFF;

// Keeps its buffers between records (no steady-state allocation). Not thread-safe.
class RowEncoder {
public:
  virtual ~RowEncoder() = default;
  RowEncoder(const RowEncoder&) = delete;
  RowEncoder& operator=(const RowEncoder&) = delete;

  // Unquoted column names in COPY order: _airbyte_raw_id, _airbyte_extracted_at,
  // _airbyte_generation_id, the layout's own columns, _airbyte_meta.
  std::vector<std::string> copy_columns() const;

  // Appends one row to `out`. On MalformedJson nothing is left in `out`.
  void encode(simdjson::ondemand::object data, const RecordEnvelope& envelope, CopyBuffer& out);

  // The same in two steps, for messages whose emitted_at or meta come after data: fill() reads
  // the record's data (throws MalformedJson), finish() appends the row. fill() again before
  // finish() starts the record over.
  virtual void fill(simdjson::ondemand::object data) = 0;
  void finish(const RecordEnvelope& envelope, CopyBuffer& out);

  // Names of properties present in data but not stored, each returned once over the encoder's
  // life (for "logged once per stream and field").
  virtual std::vector<std::string> take_new_undeclared_fields() { return {}; }

  // Whether the current record has values the encoder NULLed or truncated. Almost never: only
  // such a record pays for rejected_values().
  bool has_rejected() const { return has_rejected_; }
  // After finish(), when has_rejected(): those values, in the order of their changes in
  // `_airbyte_meta`, appended to `out`. Valid until the next fill(), while the record's input
  // lies where fill() read it.
  virtual void rejected_values(std::vector<RejectedValue>& out) const = 0;
  // After finish(), when has_rejected(): the row's _airbyte_raw_id, and its _airbyte_extracted_at
  // in PostgreSQL's binary form (microseconds since 2000-01-01).
  std::string_view raw_id() const { return {raw_id_.data(), raw_id_.size()}; }
  std::int64_t extracted_at() const { return extracted_at_; }

protected:
  // `columns`: the layout's own columns, in COPY order. Throws ConfigError when the table would
  // have more columns than PostgreSQL allows.
  RowEncoder(std::vector<std::string> columns, std::int64_t generation_id, std::int64_t sync_id);
  RowEncoder(RowEncoder&&) noexcept = default;
  RowEncoder& operator=(RowEncoder&&) noexcept = default;

  // The current record's fields of the layout's own columns.
  virtual void write_fields(CopyBuffer& out) const = 0;
  // The current record's changes, each as `{"field":...}` JSON preceded by a comma when
  // `need_comma` or when another change came before it.
  virtual void write_changes(bool need_comma, CopyBuffer& out) const = 0;

  // Set by fill() when it NULLs or truncates a value; cleared when it starts a record.
  bool has_rejected_ = false;

private:
  void write_meta(std::string_view source_changes, CopyBuffer& out) const;

  std::vector<std::string> columns_;
  std::string meta_prefix_; // {"sync_id":N,"changes":[
  std::int64_t generation_id_;
  std::int16_t field_count_;
  UuidGenerator uuids_;
  // Of the last row finished with has_rejected_.
  std::array<char, UuidGenerator::kTextSize> raw_id_{};
  std::int64_t extracted_at_ = 0;
};

} // namespace pgdest::encode
