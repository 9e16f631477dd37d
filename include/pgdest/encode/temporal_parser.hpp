#pragma once
// ISO-8601 / PostgreSQL-style date and time text → PostgreSQL's binary date/time values.
#include <cstdint>
#include <string_view>

namespace pgdest::encode {

enum class TemporalStatus { ok, invalid, out_of_range };

// Microseconds from 2000-01-01 00:00:00 UTC: PostgreSQL's timestamp range [min, end).
inline constexpr std::int64_t kMinTimestamp = -211813488000000000; // 4714-11-24 BC 00:00
inline constexpr std::int64_t kEndTimestamp = 9223371331200000000; // 294277-01-01 00:00
// Days from 2000-01-01: PostgreSQL's date range [min, end).
inline constexpr std::int32_t kMinDate = -2451545;   // 4714-11-24 BC
inline constexpr std::int32_t kEndDate = 2145031949; // 5874898-01-01
inline constexpr std::int64_t kMicrosPerDay = 86'400'000'000;

// `date`: days since 2000-01-01. A full timestamp gives its date part as written (offset ignored).
TemporalStatus parse_date(std::string_view text, std::int32_t& days);

// `timestamptz`: microseconds since 2000-01-01 UTC; the offset is applied, no offset means UTC.
// A date alone means its midnight.
TemporalStatus parse_timestamptz(std::string_view text, std::int64_t& micros);

// `timestamp`: wall-clock microseconds since 2000-01-01; an offset is ignored, as PostgreSQL does.
TemporalStatus parse_timestamp(std::string_view text, std::int64_t& micros);

// `time`: microseconds since midnight (24:00:00 allowed); a leading date and an offset are ignored.
TemporalStatus parse_time(std::string_view text, std::int64_t& micros);

// `timetz` value: time of day and the zone in seconds WEST of UTC (PostgreSQL: "+02:00" → -7200).
struct TimeWithZone {
  std::int64_t micros = 0;
  std::int32_t zone_west_seconds = 0;
};

// `timetz`: no offset means UTC; a leading date is ignored.
TemporalStatus parse_timetz(std::string_view text, TimeWithZone& out);

// Days since 2000-01-01 of a proleptic Gregorian date; `year` is astronomical (0 = 1 BC).
std::int64_t days_from_civil(std::int64_t year, int month, int day);

} // namespace pgdest::encode
