// Strict ISO-8601 / PostgreSQL-style date/time text → PostgreSQL binary date, time and timestamps.
#include "pgdest/encode/temporal_parser.hpp"
#include "pgdest/encode/text_scan.hpp"

namespace pgdest::encode {

namespace {

constexpr std::int64_t kMicrosPerSecond = 1'000'000;
constexpr std::int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
constexpr std::int64_t kMicrosPerHour = 60 * kMicrosPerMinute;
constexpr std::int64_t kYearCap = 1'000'000'000'000; // bigger years are out of range anyway
constexpr int kMaxOffsetHours = 15;                  // PostgreSQL's MAX_TZDISP_HOUR
constexpr std::int64_t kDaysFrom1970To2000 = 10957;

// Everything a date/time text can say, before a column type picks what it needs.
struct DateTimeParts {
  bool has_date = false;
  bool has_time = false;
  bool has_offset = false;
  std::int64_t year = 0; // astronomical: 0 = 1 BC, -1 = 2 BC
  int month = 0;
  int day = 0;
  std::int64_t time_micros = 0;
  std::int32_t offset_east_seconds = 0;
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

// A read position over the text; peeks past the end return '\0'.
class Cursor {
public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool at_end() const { return at_ == text_.size(); }
  char peek(std::size_t ahead = 0) const {
    return at_ + ahead < text_.size() ? text_[at_ + ahead] : '\0';
  }
  void advance(std::size_t count = 1) { at_ += count; }
  bool consume(char c) {
    if (peek() != c) {
      return false;
    }
    ++at_;
    return true;
  }
  // Reads exactly `count` digits.
  bool fixed_digits(int count, int& value) {
    value = 0;
    for (int i = 0; i < count; ++i) {
      const char c = peek();
      if (!is_digit(c)) {
        return false;
      }
      value = value * 10 + (c - '0');
      ++at_;
    }
    return true;
  }
  // Case-insensitive match of `word` here, not followed by a letter.
  bool consume_word(std::string_view word) {
    for (std::size_t i = 0; i < word.size(); ++i) {
      if (lower(peek(i)) != word[i]) {
        return false;
      }
    }
    const char next = lower(peek(word.size()));
    if (next >= 'a' && next <= 'z') {
      return false;
    }
    at_ += word.size();
    return true;
  }
  std::size_t position() const { return at_; }
  void reset(std::size_t position) { at_ = position; }

private:
  std::string_view text_;
  std::size_t at_ = 0;
};

bool is_leap_year(std::int64_t year) {
  return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

int days_in_month(std::int64_t year, int month) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap_year(year) ? 29 : kDays[month - 1];
}

bool starts_with_date(const Cursor& c) {
  std::size_t at = (c.peek() == '-' || c.peek() == '+') ? 1 : 0;
  std::size_t digits = 0;
  while (is_digit(c.peek(at + digits))) {
    ++digits;
  }
  return digits >= 4 && c.peek(at + digits) == '-';
}

bool starts_with_time(const Cursor& c) {
  return is_digit(c.peek()) && is_digit(c.peek(1)) && c.peek(2) == ':';
}

// [+-]YYYY+-MM-DD; `signed_year` tells whether an ISO sign was written.
bool parse_date_fields(Cursor& c, DateTimeParts& parts, bool& signed_year) {
  const bool negative = c.peek() == '-';
  signed_year = negative || c.peek() == '+';
  if (signed_year) {
    c.advance();
  }
  std::int64_t year = 0;
  while (is_digit(c.peek())) {
    year = year < kYearCap ? year * 10 + (c.peek() - '0') : kYearCap;
    c.advance();
  }
  if (!c.consume('-') || !c.fixed_digits(2, parts.month) || !c.consume('-') ||
      !c.fixed_digits(2, parts.day)) {
    return false;
  }
  parts.has_date = true;
  parts.year = negative ? -year : year;
  return true;
}

// Up to 6 fraction digits are microseconds; the 7th rounds half up; more are ignored.
std::int64_t parse_fraction(Cursor& c) {
  std::int64_t micros = 0;
  int digits = 0;
  bool round_up = false;
  for (; is_digit(c.peek()); c.advance(), ++digits) {
    if (digits < 6) {
      micros = micros * 10 + (c.peek() - '0');
    } else if (digits == 6) {
      round_up = c.peek() >= '5';
    }
  }
  for (int i = digits; i < 6; ++i) {
    micros *= 10;
  }
  return round_up ? micros + 1 : micros;
}

// HH:MM[:SS[.fraction]], seconds up to 60 (leap second), 24:00:00 allowed.
bool parse_time_fields(Cursor& c, DateTimeParts& parts) {
  int hour = 0;
  int minute = 0;
  int second = 0;
  std::int64_t fraction = 0;
  if (!c.fixed_digits(2, hour) || !c.consume(':') || !c.fixed_digits(2, minute)) {
    return false;
  }
  if (c.consume(':')) {
    if (!c.fixed_digits(2, second)) {
      return false;
    }
    if (c.consume('.')) {
      if (!is_digit(c.peek())) {
        return false;
      }
      fraction = parse_fraction(c);
    }
  }
  if (hour > 24 || minute > 59 || second > 60 ||
      (hour == 24 && (minute != 0 || second != 0 || fraction != 0))) {
    return false;
  }
  parts.has_time = true;
  parts.time_micros =
      hour * kMicrosPerHour + minute * kMicrosPerMinute + second * kMicrosPerSecond + fraction;
  return true;
}

// ±HH, ±HHMM, ±HH:MM, ±HH:MM:SS (hours up to 15).
bool parse_numeric_offset(Cursor& c, DateTimeParts& parts) {
  const int sign = c.peek() == '-' ? -1 : 1;
  c.advance();
  int hours = 0;
  int minutes = 0;
  int seconds = 0;
  if (!c.fixed_digits(2, hours)) {
    return false;
  }
  const bool colon = c.consume(':');
  if (colon || is_digit(c.peek())) {
    if (!c.fixed_digits(2, minutes)) {
      return false;
    }
    if (c.consume(':') && !c.fixed_digits(2, seconds)) {
      return false;
    }
  }
  if (hours > kMaxOffsetHours || minutes > 59 || seconds > 59) {
    return false;
  }
  parts.has_offset = true;
  parts.offset_east_seconds = sign * (hours * 3600 + minutes * 60 + seconds);
  return true;
}

// An optional zone after the time: [space] (Z | ±HH[[:]MM[:SS]] | UTC | GMT).
bool parse_offset(Cursor& c, DateTimeParts& parts) {
  const std::size_t start = c.position();
  c.consume(' ');
  const char next = c.peek();
  if (next == 'Z' || next == 'z') {
    c.advance();
    parts.has_offset = true;
    return true;
  }
  if (next == '+' || next == '-') {
    return parse_numeric_offset(c, parts);
  }
  if (c.consume_word("utc") || c.consume_word("gmt")) {
    parts.has_offset = true;
    return true;
  }
  c.reset(start);
  return true;
}

// An optional " BC" / " AD" after a date without an ISO sign; year 0 has no era.
bool parse_era(Cursor& c, DateTimeParts& parts, bool signed_year) {
  const std::size_t start = c.position();
  if (!c.consume(' ')) {
    return true;
  }
  const bool bc = c.consume_word("bc");
  if (!bc && !c.consume_word("ad")) {
    c.reset(start);
    return true;
  }
  if (!parts.has_date || signed_year || parts.year < 1) {
    return false;
  }
  if (bc) {
    parts.year = 1 - parts.year;
  }
  return true;
}

bool parse_parts(std::string_view text, DateTimeParts& parts) {
  Cursor c(trim_space(text));
  bool signed_year = false;
  if (starts_with_date(c)) {
    if (!parse_date_fields(c, parts, signed_year)) {
      return false;
    }
    const char separator = c.peek();
    if (separator == 'T' || separator == 't' || (separator == ' ' && is_digit(c.peek(1)))) {
      c.advance();
      if (!parse_time_fields(c, parts) || !parse_offset(c, parts)) {
        return false;
      }
    }
  } else if (starts_with_time(c)) {
    if (!parse_time_fields(c, parts) || !parse_offset(c, parts)) {
      return false;
    }
  } else {
    return false;
  }
  if (!parse_era(c, parts, signed_year) || !c.at_end()) {
    return false;
  }
  return !parts.has_date || (parts.month >= 1 && parts.month <= 12 && parts.day >= 1 &&
                             parts.day <= days_in_month(parts.year, parts.month));
}

// Wall-clock microseconds since 2000-01-01 of parts with a date, minus `offset_seconds`.
TemporalStatus timestamp_micros(const DateTimeParts& parts, std::int64_t offset_seconds,
                                std::int64_t& micros) {
  const std::int64_t days = days_from_civil(parts.year, parts.month, parts.day);
  if (days < kMinTimestamp / kMicrosPerDay - 1 || days > kEndTimestamp / kMicrosPerDay + 1) {
    return TemporalStatus::out_of_range;
  }
  const std::int64_t value =
      days * kMicrosPerDay + parts.time_micros - offset_seconds * kMicrosPerSecond;
  if (value < kMinTimestamp || value >= kEndTimestamp) {
    return TemporalStatus::out_of_range;
  }
  micros = value;
  return TemporalStatus::ok;
}

} // namespace

std::int64_t days_from_civil(std::int64_t year, int month, int day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const std::int64_t year_of_era = year - era * 400;
  const std::int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const std::int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468 - kDaysFrom1970To2000;
}

TemporalStatus parse_date(std::string_view text, std::int32_t& days) {
  DateTimeParts parts;
  if (!parse_parts(text, parts) || !parts.has_date) {
    return TemporalStatus::invalid;
  }
  const std::int64_t value = days_from_civil(parts.year, parts.month, parts.day);
  if (value < kMinDate || value >= kEndDate) {
    return TemporalStatus::out_of_range;
  }
  days = static_cast<std::int32_t>(value);
  return TemporalStatus::ok;
}

TemporalStatus parse_timestamptz(std::string_view text, std::int64_t& micros) {
  DateTimeParts parts;
  if (!parse_parts(text, parts) || !parts.has_date) {
    return TemporalStatus::invalid;
  }
  return timestamp_micros(parts, parts.offset_east_seconds, micros);
}

TemporalStatus parse_timestamp(std::string_view text, std::int64_t& micros) {
  DateTimeParts parts;
  if (!parse_parts(text, parts) || !parts.has_date) {
    return TemporalStatus::invalid;
  }
  return timestamp_micros(parts, 0, micros);
}

TemporalStatus parse_time(std::string_view text, std::int64_t& micros) {
  DateTimeParts parts;
  if (!parse_parts(text, parts) || !parts.has_time || parts.time_micros > kMicrosPerDay) {
    return TemporalStatus::invalid;
  }
  micros = parts.time_micros;
  return TemporalStatus::ok;
}

TemporalStatus parse_timetz(std::string_view text, TimeWithZone& out) {
  DateTimeParts parts;
  if (!parse_parts(text, parts) || !parts.has_time || parts.time_micros > kMicrosPerDay) {
    return TemporalStatus::invalid;
  }
  out.micros = parts.time_micros;
  out.zone_west_seconds = -parts.offset_east_seconds;
  return TemporalStatus::ok;
}

} // namespace pgdest::encode
