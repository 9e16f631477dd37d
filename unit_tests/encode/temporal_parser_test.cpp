// Unit tests of date/time text → PostgreSQL binary date, time, timetz and timestamps.
#include "pgdest/encode/temporal_parser.hpp"

#include <catch2/catch.hpp>
#include <cstdint>

using namespace pgdest::encode;

namespace {

constexpr std::int64_t kSecond = 1'000'000;
constexpr std::int64_t kHour = 3600 * kSecond;
constexpr std::int64_t kDay = 24 * kHour;

// Days since 2000-01-01 (cross-checked with Python's datetime for AD dates).
constexpr std::int32_t k20200829 = 7546;
constexpr std::int32_t k15040229 = -181102;
constexpr std::int32_t k20231101 = 8705;

std::int32_t date_ok(std::string_view text) {
  std::int32_t days = 123456789;
  INFO("text: " << text);
  REQUIRE(parse_date(text, days) == TemporalStatus::ok);
  return days;
}

TemporalStatus date_status(std::string_view text) {
  std::int32_t days = 0;
  return parse_date(text, days);
}

std::int64_t timestamptz_ok(std::string_view text) {
  std::int64_t micros = 123456789;
  INFO("text: " << text);
  REQUIRE(parse_timestamptz(text, micros) == TemporalStatus::ok);
  return micros;
}

TemporalStatus timestamptz_status(std::string_view text) {
  std::int64_t micros = 0;
  return parse_timestamptz(text, micros);
}

std::int64_t timestamp_ok(std::string_view text) {
  std::int64_t micros = 123456789;
  INFO("text: " << text);
  REQUIRE(parse_timestamp(text, micros) == TemporalStatus::ok);
  return micros;
}

std::int64_t time_ok(std::string_view text) {
  std::int64_t micros = 123456789;
  INFO("text: " << text);
  REQUIRE(parse_time(text, micros) == TemporalStatus::ok);
  return micros;
}

TimeWithZone timetz_ok(std::string_view text) {
  TimeWithZone value{123, 456};
  INFO("text: " << text);
  REQUIRE(parse_timetz(text, value) == TemporalStatus::ok);
  return value;
}

} // namespace

TEST_CASE("days_from_civil: proleptic Gregorian days from 2000-01-01", "[encode][temporal]") {
  CHECK(days_from_civil(2000, 1, 1) == 0);
  CHECK(days_from_civil(1970, 1, 1) == -10957);
  CHECK(days_from_civil(2020, 8, 29) == k20200829);
  CHECK(days_from_civil(-4713, 11, 24) == kMinDate);
  CHECK(days_from_civil(5874898, 1, 1) == kEndDate);
  CHECK(days_from_civil(294277, 1, 1) * kMicrosPerDay == kEndTimestamp);
}

TEST_CASE("date: ISO dates", "[encode][temporal]") {
  CHECK(date_ok("2000-01-01") == 0);
  CHECK(date_ok("2000-01-02") == 1);
  CHECK(date_ok("1999-12-31") == -1);
  CHECK(date_ok("2020-08-29") == k20200829);
  CHECK(date_ok(" 2020-08-29\n") == k20200829);
  CHECK(date_ok("2020-08-29 AD") == k20200829);
  CHECK(date_ok("2020-08-29 ad") == k20200829);
  CHECK(date_ok("+2020-08-29") == k20200829);
  CHECK(date_ok("10000-01-01") == 2921940); // 9999-12-31 is 2921939 (Python datetime)
}

TEST_CASE("date: the calendar is validated", "[encode][temporal]") {
  CHECK(date_ok("1504-02-29") == k15040229);
  CHECK(date_ok("2000-02-29") == 59);
  CHECK(date_status("2023-02-29") == TemporalStatus::invalid);
  CHECK(date_status("2023-02-30") == TemporalStatus::invalid);
  CHECK(date_status("1900-02-29") == TemporalStatus::invalid);
  CHECK(date_status("1500-02-29") == TemporalStatus::invalid);
  CHECK(date_status("2023-04-31") == TemporalStatus::invalid);
  CHECK(date_status("2023-13-01") == TemporalStatus::invalid);
  CHECK(date_status("2023-00-10") == TemporalStatus::invalid);
  CHECK(date_status("2023-01-00") == TemporalStatus::invalid);
  CHECK(date_ok("2023-12-31") == 8765);
}

TEST_CASE("date: BC years and ISO negative years", "[encode][temporal]") {
  // -0044 is astronomical: 45 BC.
  CHECK(date_ok("-0044-03-15") == -746482);
  CHECK(date_ok("0045-03-15 BC") == -746482);
  CHECK(date_ok("0045-03-15 bc") == -746482);
  CHECK(date_ok("0000-01-01") == date_ok("0001-01-01 BC"));
  CHECK(date_ok("0001-01-01 BC") == -730485);
  CHECK(date_ok("0001-02-29 BC") == -730485 + 59); // 1 BC is a leap year
  CHECK(date_status("0000-01-01 BC") == TemporalStatus::invalid);
  CHECK(date_status("-0001-01-01 BC") == TemporalStatus::invalid);
  CHECK(date_status("-0001-01-01 AD") == TemporalStatus::invalid);
}

TEST_CASE("date: PostgreSQL's range", "[encode][temporal]") {
  CHECK(date_ok("4714-11-24 BC") == kMinDate);
  CHECK(date_ok("-4713-11-24") == kMinDate);
  CHECK(date_status("4714-11-23 BC") == TemporalStatus::out_of_range);
  CHECK(date_ok("5874897-12-31") == kEndDate - 1);
  CHECK(date_status("5874898-01-01") == TemporalStatus::out_of_range);
  CHECK(date_status("99999999999999999999-01-01") == TemporalStatus::out_of_range);
}

TEST_CASE("date: a timestamp gives its date as written", "[encode][temporal]") {
  CHECK(date_ok("2020-08-29T00:00:00Z") == k20200829);
  CHECK(date_ok("2020-08-29T23:30:00-05:00") == k20200829);
  CHECK(date_ok("2020-08-29 01:00:00+09") == k20200829);
  CHECK(date_status("2020-08-29T25:00:00Z") == TemporalStatus::invalid);
}

TEST_CASE("date: unparsable text", "[encode][temporal]") {
  for (const char* bad : {"", "   ", "abc", "20200829", "2020-8-29", "2020-08-9", "20-08-29",
                          "2020/08/29", "2020-08-29x", "2020-08-29 BCE", "2020-08-29T",
                          "08/29/2020", "2020-08-29 10", "10:00:00", "2020-08-29 AD AD"}) {
    INFO(bad);
    CHECK(date_status(bad) == TemporalStatus::invalid);
  }
}

TEST_CASE("timestamptz: offsets give the same instant in UTC", "[encode][temporal]") {
  CHECK(timestamptz_ok("2000-01-01T00:00:00Z") == 0);
  CHECK(timestamptz_ok("2000-01-01T00:00:00z") == 0);
  CHECK(timestamptz_ok("2000-01-01t00:00:00Z") == 0);
  CHECK(timestamptz_ok("2000-01-01 00:00:00") == 0);
  CHECK(timestamptz_ok("2000-01-01T01:00:00+01:00") == 0);
  CHECK(timestamptz_ok("2000-01-01T00:00:00+01:00") == -kHour);
  CHECK(timestamptz_ok("2000-01-01T00:00:00-0130") == kHour + 30 * 60 * kSecond);
  CHECK(timestamptz_ok("2000-01-01T00:00:00+02") == -2 * kHour);
  CHECK(timestamptz_ok("2000-01-01T00:00:00+00:00:30") == -30 * kSecond);
  CHECK(timestamptz_ok("2000-01-01 00:00:00 +02:00") == -2 * kHour);
  CHECK(timestamptz_ok("2000-01-01 00:00:00 UTC") == 0);
  CHECK(timestamptz_ok("2000-01-01T00:00:00+15:59") == -(15 * kHour + 59 * 60 * kSecond));
  CHECK(timestamptz_ok("2023-11-01T22:13:20.000Z") ==
        k20231101 * kDay + 22 * kHour + 800 * kSecond);
  CHECK(timestamptz_ok("2020-08-29T10:00:00-05:00") == k20200829 * kDay + 15 * kHour);
}

TEST_CASE("timestamptz: optional seconds, fractions rounded to microseconds",
          "[encode][temporal]") {
  CHECK(timestamptz_ok("2000-01-01T10:00") == 10 * kHour);
  CHECK(timestamptz_ok("2000-01-01T10:00Z") == 10 * kHour);
  CHECK(timestamptz_ok("2000-01-01T00:00:00.5Z") == 500000);
  CHECK(timestamptz_ok("2000-01-01T00:00:00.123456Z") == 123456);
  CHECK(timestamptz_ok("2000-01-01T00:00:00.1234564Z") == 123456);
  CHECK(timestamptz_ok("2000-01-01T00:00:00.1234565Z") == 123457);
  CHECK(timestamptz_ok("2000-01-01T23:59:59.9999996Z") == kDay);
  CHECK(timestamptz_ok("2000-01-01T24:00:00Z") == kDay);
  CHECK(timestamptz_ok("2000-01-01T23:59:60Z") == kDay);
  CHECK(timestamptz_ok("2000-01-02") == kDay);
}

TEST_CASE("timestamptz: BC and PostgreSQL's range", "[encode][temporal]") {
  CHECK(timestamptz_ok("4714-11-24 00:00:00 BC") == kMinTimestamp);
  CHECK(timestamptz_ok("4714-11-24T00:00:00Z BC") == kMinTimestamp);
  CHECK(timestamptz_ok("-4713-11-24T00:00:00Z") == kMinTimestamp);
  CHECK(timestamptz_ok("0001-01-01T00:00:00Z BC") == -730485 * kDay);
  CHECK(timestamptz_status("4714-11-24 00:00:00+01 BC") == TemporalStatus::out_of_range);
  CHECK(timestamptz_status("4714-11-23 23:59:59.999999 BC") == TemporalStatus::out_of_range);
  CHECK(timestamptz_ok("294276-12-31T23:59:59.999999Z") == kEndTimestamp - 1);
  CHECK(timestamptz_status("294277-01-01T00:00:00Z") == TemporalStatus::out_of_range);
  CHECK(timestamptz_status("294276-12-31T23:59:59-01:00") == TemporalStatus::out_of_range);
  CHECK(timestamptz_ok("294276-12-31T23:59:59+01:00") == kEndTimestamp - kHour - kSecond);
  CHECK(timestamptz_status("5874897-12-31T00:00:00Z") == TemporalStatus::out_of_range);
  CHECK(timestamptz_status("999999999-01-01T00:00:00Z") == TemporalStatus::out_of_range);
}

TEST_CASE("timestamptz: unparsable text", "[encode][temporal]") {
  for (const char* bad : {"",
                          "now",
                          "2020-01-01T",
                          "2020-01-01T10",
                          "2020-01-01T10:0",
                          "2020-01-01T10:00:0",
                          "2020-01-01T10:00:00.",
                          "2020-01-01T10:00:00Zjunk",
                          "2020-01-01T10:00:00+2",
                          "2020-01-01T10:00:00+16:00",
                          "2020-01-01T10:00:00+05:60",
                          "2020-01-01T25:00:00Z",
                          "2020-01-01T10:60:00Z",
                          "2020-01-01T10:00:61Z",
                          "2020-01-01T24:00:01Z",
                          "2020-01-01T24:00:00.5Z",
                          "2020-02-30T10:00:00Z",
                          "2020-01-01X10:00:00",
                          "2020-01-01T10:00:00ZZ",
                          "10:00:00",
                          "1577836800",
                          "2020-01-01T10:00:00 PST"}) {
    INFO(bad);
    CHECK(timestamptz_status(bad) == TemporalStatus::invalid);
  }
}

TEST_CASE("timestamp: wall-clock time, the offset ignored", "[encode][temporal]") {
  CHECK(timestamp_ok("2000-01-01T10:00:00") == 10 * kHour);
  CHECK(timestamp_ok("2000-01-01T10:00:00+05:00") == 10 * kHour);
  CHECK(timestamp_ok("2000-01-01T10:00:00Z") == 10 * kHour);
  CHECK(timestamp_ok("4714-11-24 00:00:00 BC") == kMinTimestamp);
  std::int64_t micros = 0;
  CHECK(parse_timestamp("294277-01-01T00:00:00", micros) == TemporalStatus::out_of_range);
  CHECK(parse_timestamp("294276-12-31T23:00:00-05:00", micros) == TemporalStatus::ok);
  CHECK(parse_timestamp("2000-01-01T10:00:00+99:00", micros) == TemporalStatus::invalid);
}

TEST_CASE("time: microseconds since midnight", "[encode][temporal]") {
  CHECK(time_ok("00:00") == 0);
  CHECK(time_ok("10:00") == 10 * kHour);
  CHECK(time_ok("10:00:01.25") == 10 * kHour + kSecond + 250000);
  CHECK(time_ok("23:59:59.999999") == kDay - 1);
  CHECK(time_ok("24:00:00") == kDay);
  CHECK(time_ok("10:00:00+02:00") == 10 * kHour);
  CHECK(time_ok("2020-01-01T10:00:00Z") == 10 * kHour);
  std::int64_t micros = 0;
  for (const char* bad : {"", "2020-01-01", "25:00", "1:00", "10:0", "10:00:00.", "24:00:00.000001",
                          "23:59:60.5", "10:00:00 BC", "10h00", "10:00:00+2"}) {
    INFO(bad);
    CHECK(parse_time(bad, micros) == TemporalStatus::invalid);
  }
}

TEST_CASE("timetz: zone in seconds west of UTC", "[encode][temporal]") {
  const TimeWithZone plus_two = timetz_ok("10:00:00+02:00");
  CHECK(plus_two.micros == 10 * kHour);
  CHECK(plus_two.zone_west_seconds == -7200);
  CHECK(timetz_ok("10:00:00-05:30").zone_west_seconds == 19800);
  CHECK(timetz_ok("10:00:00+0530").zone_west_seconds == -19800);
  CHECK(timetz_ok("10:00:00+05").zone_west_seconds == -18000);
  CHECK(timetz_ok("10:00:00+05:30:15").zone_west_seconds == -19815);
  CHECK(timetz_ok("10:00:00Z").zone_west_seconds == 0);
  const TimeWithZone no_zone = timetz_ok("10:30");
  CHECK(no_zone.micros == 10 * kHour + 30 * 60 * kSecond);
  CHECK(no_zone.zone_west_seconds == 0);
  const TimeWithZone with_date = timetz_ok("2020-01-01T08:15:00.5-01:00");
  CHECK(with_date.micros == 8 * kHour + 15 * 60 * kSecond + 500000);
  CHECK(with_date.zone_west_seconds == 3600);
  TimeWithZone value;
  CHECK(parse_timetz("10:00:00+16:00", value) == TemporalStatus::invalid);
  CHECK(parse_timetz("2020-01-01", value) == TemporalStatus::invalid);
}
