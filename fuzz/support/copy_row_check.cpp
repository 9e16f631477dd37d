// Checks encoded binary COPY rows against what PostgreSQL's receive functions accept.
#include "copy_row_check.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>

#include <simdjson.h>

#include "binary_reader.hpp"
#include "json_check.hpp"

namespace pgdest::fuzz {
namespace {

using encode::testing::BinaryReader;
using schema::ColumnType;

// PostgreSQL's limits (src/include/datatype/timestamp.h), in its units since 2000-01-01.
constexpr std::int64_t kMinTimestamp = -211813488000000000; // 4714-11-24 BC
constexpr std::int64_t kEndTimestamp = 9223371331200000000; // 294277-01-01
constexpr std::int32_t kMinDate = -2451545;                 // Julian day 0
constexpr std::int32_t kEndDate = 2145031949;
constexpr std::int64_t kMicrosPerDay = 86400000000;
constexpr std::int32_t kZoneLimit = 16 * 3600; // TZDISP_LIMIT: offsets up to ±15:59:59

[[noreturn]] void refuse(const std::string& field, const std::string& why) {
  std::fprintf(stderr, "COPY row check: %s: %s\n", field.c_str(), why.c_str());
  std::abort();
}

void check_text(const std::string& field, std::string_view text) {
  if (!simdjson::validate_utf8(text.data(), text.size()))
    refuse(field, "text is not valid UTF-8");
  if (text.find('\0') != std::string_view::npos)
    refuse(field, "text holds a NUL byte");
}

// jsonb's binary form: version 1, then JSON text.
void check_jsonb(const std::string& field, std::string_view payload) {
  if (payload.empty() || payload[0] != '\x01')
    refuse(field, "jsonb without version byte 1");
  std::string_view text = payload.substr(1);
  check_text(field, text);
  if (auto problem = json_problem(text, JsonRules::jsonb); !problem.empty())
    refuse(field,
           "jsonb input PostgreSQL refuses (" + problem + "): " + std::string(text.substr(0, 200)));
}

void check_numeric(const std::string& field, std::string_view payload) {
  auto numeric = encode::testing::decode_numeric(payload);
  if (numeric.ndigits < 0)
    refuse(field, "numeric with a negative digit count");
  if (numeric.sign != 0x0000 && numeric.sign != 0x4000 && numeric.sign != 0xC000)
    refuse(field, "numeric with an invalid sign");
  if (numeric.dscale < 0 || numeric.dscale > 0x3FFF)
    refuse(field, "numeric with an invalid display scale");
  for (auto digit : numeric.digits)
    if (digit < 0 || digit > 9999)
      refuse(field, "numeric with a base-10000 digit out of range");
}

std::int64_t big_endian(std::string_view payload) {
  BinaryReader reader(payload);
  return static_cast<std::int64_t>(reader.read_unsigned(payload.size()));
}

void expect_size(const std::string& field, std::string_view payload, std::size_t size) {
  if (payload.size() != size)
    refuse(field, "payload of " + std::to_string(payload.size()) + " bytes, expected " +
                      std::to_string(size));
}

void check_value(const std::string& field, ColumnType type, std::string_view payload) {
  switch (type) {
  case ColumnType::varchar:
    check_text(field, payload);
    return;
  case ColumnType::jsonb:
    check_jsonb(field, payload);
    return;
  case ColumnType::numeric:
    check_numeric(field, payload);
    return;
  case ColumnType::bigint:
    expect_size(field, payload, 8);
    return;
  case ColumnType::boolean:
    expect_size(field, payload, 1);
    if (payload[0] != 0 && payload[0] != 1)
      refuse(field, "boolean other than 0 or 1");
    return;
  case ColumnType::date: {
    expect_size(field, payload, 4);
    auto days = static_cast<std::int32_t>(big_endian(payload));
    bool infinite = days == std::numeric_limits<std::int32_t>::min() ||
                    days == std::numeric_limits<std::int32_t>::max();
    if (!infinite && (days < kMinDate || days >= kEndDate))
      refuse(field, "date out of range: " + std::to_string(days));
    return;
  }
  case ColumnType::timestamp:
  case ColumnType::timestamptz: {
    expect_size(field, payload, 8);
    auto micros = big_endian(payload);
    bool infinite = micros == std::numeric_limits<std::int64_t>::min() ||
                    micros == std::numeric_limits<std::int64_t>::max();
    if (!infinite && (micros < kMinTimestamp || micros >= kEndTimestamp))
      refuse(field, "timestamp out of range: " + std::to_string(micros));
    return;
  }
  case ColumnType::time: {
    expect_size(field, payload, 8);
    auto micros = big_endian(payload);
    if (micros < 0 || micros > kMicrosPerDay)
      refuse(field, "time out of range: " + std::to_string(micros));
    return;
  }
  case ColumnType::timetz: {
    expect_size(field, payload, 12);
    auto micros = big_endian(payload.substr(0, 8));
    auto zone = static_cast<std::int32_t>(big_endian(payload.substr(8)));
    if (micros < 0 || micros > kMicrosPerDay)
      refuse(field, "timetz time out of range: " + std::to_string(micros));
    if (zone <= -kZoneLimit || zone >= kZoneLimit)
      refuse(field, "timetz zone out of range: " + std::to_string(zone));
    return;
  }
  }
}

} // namespace

void check_copy_rows(std::string_view rows, const std::vector<schema::Column>& columns) {
  BinaryReader reader(rows);
  const std::size_t expected_fields = 3 + columns.size() + 1;
  while (!reader.at_end()) {
    if (reader.int16() != static_cast<std::int16_t>(expected_fields))
      refuse("row", "wrong field count");
    std::optional<std::string> raw_id = reader.field();
    if (!raw_id || raw_id->size() != 36)
      refuse("_airbyte_raw_id", "not a uuid's 36 characters");
    std::optional<std::string> extracted_at = reader.field();
    if (!extracted_at)
      refuse("_airbyte_extracted_at", "NULL");
    check_value("_airbyte_extracted_at", ColumnType::timestamptz, *extracted_at);
    std::optional<std::string> generation_id = reader.field();
    if (!generation_id)
      refuse("_airbyte_generation_id", "NULL");
    expect_size("_airbyte_generation_id", *generation_id, 8);
    for (const auto& column : columns)
      if (auto value = reader.field())
        check_value(column.name, column.type, *value);
    std::optional<std::string> meta = reader.field();
    if (!meta)
      refuse("_airbyte_meta", "NULL");
    check_jsonb("_airbyte_meta", *meta);
  }
}

} // namespace pgdest::fuzz
