// The columns every row has, around the fields of the table's layout.
#include "pgdest/encode/row_encoder.hpp"

#include <cstring>
#include <utility>

#include "pgdest/encode/temporal_parser.hpp"
#include "pgdest/error.hpp"

namespace pgdest::encode {

namespace ondemand = simdjson::ondemand;

namespace {

constexpr std::size_t kMetaColumns = 4;
constexpr std::size_t kMaxColumns = 1600 - kMetaColumns; // PostgreSQL's column limit, minus ours
constexpr std::int64_t kUnixEpochToPostgresMs = 946'684'800'000;
constexpr std::int64_t kMinEmittedAtMs = kMinTimestamp / 1000 + kUnixEpochToPostgresMs;
constexpr std::int64_t kEndEmittedAtMs = kEndTimestamp / 1000 + kUnixEpochToPostgresMs;

std::int64_t extracted_at_micros(std::int64_t emitted_at_ms) {
  if (emitted_at_ms < kMinEmittedAtMs || emitted_at_ms >= kEndEmittedAtMs) {
    throw MalformedJson("record emitted_at " + std::to_string(emitted_at_ms) +
                        " is outside PostgreSQL's timestamp range");
  }
  return (emitted_at_ms - kUnixEpochToPostgresMs) * 1000;
}

} // namespace

void throw_malformed(simdjson::error_code error) {
  throw MalformedJson(std::string("record data is not valid JSON: ") +
                      simdjson::error_message(error));
}

void throw_malformed(const JsonWriteResult& result) {
  if (result.too_deep) {
    throw MalformedJson("record data nests arrays and objects more than " +
                        std::to_string(kMaxJsonDepth) +
                        " levels deep, which this destination does not read");
  }
  throw_malformed(result.error);
}

RowEncoder::RowEncoder(std::vector<std::string> columns, std::int64_t generation_id,
                       std::int64_t sync_id)
    : columns_(std::move(columns)),
      meta_prefix_("{\"sync_id\":" + std::to_string(sync_id) + ",\"changes\":["),
      generation_id_(generation_id), field_count_(0) {
  if (columns_.size() > kMaxColumns) {
    throw ConfigError("a stream has " + std::to_string(columns_.size()) +
                      " properties; a PostgreSQL table holds at most 1600 columns");
  }
  field_count_ = static_cast<std::int16_t>(columns_.size() + kMetaColumns);
}

std::vector<std::string> RowEncoder::copy_columns() const {
  std::vector<std::string> names{"_airbyte_raw_id", "_airbyte_extracted_at",
                                 "_airbyte_generation_id"};
  names.insert(names.end(), columns_.begin(), columns_.end());
  names.emplace_back("_airbyte_meta");
  return names;
}

void RowEncoder::encode(ondemand::object data, const RecordEnvelope& envelope, CopyBuffer& out) {
  fill(data);
  finish(envelope, out);
}

void RowEncoder::finish(const RecordEnvelope& envelope, CopyBuffer& out) {
  const std::int64_t extracted_at = extracted_at_micros(envelope.emitted_at_ms);
  out.begin_row(field_count_);
  out.append_int32(static_cast<std::int32_t>(UuidGenerator::kTextSize));
  char* const raw_id = out.append_uninitialized(UuidGenerator::kTextSize);
  uuids_.write_v7(raw_id);
  if (has_rejected_) {
    std::memcpy(raw_id_.data(), raw_id, raw_id_.size());
    extracted_at_ = extracted_at;
  }
  out.put_int64(extracted_at);
  out.put_int64(generation_id_);
  write_fields(out);
  write_meta(envelope.source_changes, out);
}

void RowEncoder::write_meta(std::string_view source_changes, CopyBuffer& out) const {
  const FieldStart field = out.begin_field();
  out.append_byte(kJsonbVersion);
  out.append(meta_prefix_);
  out.append(source_changes);
  write_changes(!source_changes.empty(), out);
  out.append("]}");
  out.end_field(field);
}

} // namespace pgdest::encode
