// Exact decimal text → PostgreSQL binary numeric (base 10000) and int64.
#include "pgdest/encode/numeric_encoder.hpp"
#include "pgdest/encode/text_scan.hpp"

#include <limits>

namespace pgdest::encode {

namespace {

constexpr std::uint16_t kSignPositive = 0x0000;
constexpr std::uint16_t kSignNegative = 0x4000;
constexpr std::uint16_t kSignNaN = 0xC000;
constexpr int kNumericTextMaxExponent = 1000; // numeric_in's NUMERIC_MAX_PRECISION check
constexpr std::size_t kAlwaysFitsDigits = 15000;
constexpr int kPow10[4] = {1, 10, 100, 1000};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool equals_nan(std::string_view text) {
  return text.size() == 3 && (text[0] | 0x20) == 'n' && (text[1] | 0x20) == 'a' &&
         (text[2] | 0x20) == 'n';
}

std::size_t skip_digits(std::string_view text, std::size_t at) {
  while (at < text.size() && is_digit(text[at])) {
    ++at;
  }
  return at;
}

// Parses `[eE][+-]?digits` at `at` when present; false on a malformed exponent.
bool scan_exponent(std::string_view text, std::size_t& at, std::int64_t& exponent) {
  if (at == text.size() || (text[at] != 'e' && text[at] != 'E')) {
    return true;
  }
  ++at;
  bool negative = false;
  if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    negative = text[at] == '-';
    ++at;
  }
  const std::size_t start = at;
  std::int64_t value = 0;
  for (; at < text.size() && is_digit(text[at]); ++at) {
    if (value < kExponentClamp) {
      value = value * 10 + (text[at] - '0');
    }
  }
  if (value > kExponentClamp) {
    value = kExponentClamp;
  }
  exponent = negative ? -value : value;
  return at > start;
}

bool scan_json_number(std::string_view text, DecimalText& out) {
  std::size_t at = 0;
  if (at < text.size() && text[at] == '-') {
    out.negative = true;
    ++at;
  }
  if (at == text.size() || !is_digit(text[at])) {
    return false;
  }
  const std::size_t int_start = at;
  at = text[at] == '0' ? at + 1 : skip_digits(text, at);
  out.integer_digits = text.substr(int_start, at - int_start);
  if (at < text.size() && text[at] == '.') {
    const std::size_t frac_start = ++at;
    at = skip_digits(text, at);
    if (at == frac_start) {
      return false;
    }
    out.fraction_digits = text.substr(frac_start, at - frac_start);
  }
  return scan_exponent(text, at, out.exponent) && at == text.size();
}

bool scan_text_number(std::string_view text, DecimalText& out) {
  text = trim_space(text);
  if (equals_nan(text)) {
    out.nan = true;
    return true;
  }
  std::size_t at = 0;
  if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    out.negative = text[at] == '-';
    ++at;
  }
  const std::size_t int_start = at;
  at = skip_digits(text, at);
  out.integer_digits = text.substr(int_start, at - int_start);
  if (at < text.size() && text[at] == '.') {
    const std::size_t frac_start = ++at;
    at = skip_digits(text, at);
    out.fraction_digits = text.substr(frac_start, at - frac_start);
  }
  if (out.integer_digits.empty() && out.fraction_digits.empty()) {
    return false;
  }
  return scan_exponent(text, at, out.exponent) && at == text.size();
}

std::int64_t floor_div4(std::int64_t value) {
  return value >= 0 ? value / 4 : -((-value + 3) / 4);
}

// Where the significant digits of a number sit in base 10000.
struct Layout {
  bool zero = true;
  std::size_t first = 0;   // index of the first non-zero digit (integer digits, then fraction)
  std::size_t last = 0;    // index of the last non-zero digit
  std::int64_t point = 0;  // digits before the decimal point, counted from index 0
  std::int64_t weight = 0; // base-10000 weight of the first group
  std::int64_t ndigits = 0;
  std::int64_t dscale = 0;
};

char digit_at(const DecimalText& number, std::size_t index) {
  const std::size_t int_size = number.integer_digits.size();
  return index < int_size ? number.integer_digits[index] : number.fraction_digits[index - int_size];
}

// Power of ten of the digit at `index`.
std::int64_t power_of(const Layout& layout, std::size_t index) {
  return layout.point - 1 - static_cast<std::int64_t>(index);
}

Layout layout_of(const DecimalText& number) {
  Layout layout;
  const std::size_t total = number.integer_digits.size() + number.fraction_digits.size();
  const auto frac_size = static_cast<std::int64_t>(number.fraction_digits.size());
  layout.dscale = frac_size - number.exponent > 0 ? frac_size - number.exponent : 0;
  layout.point = static_cast<std::int64_t>(number.integer_digits.size()) + number.exponent;
  std::size_t first = 0;
  while (first < total && digit_at(number, first) == '0') {
    ++first;
  }
  if (first == total) {
    return layout;
  }
  std::size_t last = total - 1;
  while (digit_at(number, last) == '0') {
    --last;
  }
  layout.zero = false;
  layout.first = first;
  layout.last = last;
  layout.weight = floor_div4(power_of(layout, first));
  layout.ndigits = layout.weight - floor_div4(power_of(layout, last)) + 1;
  return layout;
}

bool fits_stored_numeric(const Layout& layout) {
  if (layout.dscale > kNumericMaxDscale) {
    return false;
  }
  return layout.zero || (layout.weight <= kNumericMaxWeight && layout.ndigits <= kNumericMaxGroups);
}

void write_groups(const DecimalText& number, const Layout& layout, CopyBuffer& out) {
  std::int64_t group = layout.weight;
  int value = 0;
  for (std::size_t i = layout.first; i <= layout.last; ++i) {
    const std::int64_t power = power_of(layout, i);
    const std::int64_t digit_group = floor_div4(power);
    if (digit_group < group) {
      out.append_int16(static_cast<std::int16_t>(value));
      value = 0;
      group = digit_group;
    }
    value += (digit_at(number, i) - '0') * kPow10[power - 4 * digit_group];
  }
  out.append_int16(static_cast<std::int16_t>(value));
}

void write_numeric(std::uint16_t sign, const DecimalText& number, const Layout& layout,
                   CopyBuffer& out) {
  const FieldStart field = out.begin_field();
  out.append_int16(static_cast<std::int16_t>(layout.zero ? 0 : layout.ndigits));
  out.append_int16(static_cast<std::int16_t>(layout.zero ? 0 : layout.weight));
  out.append_uint16(sign);
  out.append_int16(static_cast<std::int16_t>(layout.dscale));
  if (!layout.zero) {
    write_groups(number, layout, out);
  }
  out.end_field(field);
}

} // namespace

bool scan_decimal(std::string_view text, NumericSyntax syntax, DecimalText& out) {
  out = DecimalText{};
  return syntax == NumericSyntax::json_number ? scan_json_number(text, out)
                                              : scan_text_number(text, out);
}

NumericStatus encode_numeric(std::string_view text, NumericSyntax syntax, CopyBuffer& out) {
  DecimalText number;
  if (!scan_decimal(text, syntax, number)) {
    return NumericStatus::invalid;
  }
  return encode_numeric(number, out);
}

NumericStatus encode_numeric(const DecimalText& number, CopyBuffer& out) {
  if (number.nan) {
    write_numeric(kSignNaN, number, Layout{}, out);
    return NumericStatus::ok;
  }
  const Layout layout = layout_of(number);
  if (!fits_stored_numeric(layout)) {
    return NumericStatus::too_big;
  }
  const bool negative = number.negative && !layout.zero;
  write_numeric(negative ? kSignNegative : kSignPositive, number, layout, out);
  return NumericStatus::ok;
}

bool fits_numeric_text_input(const DecimalText& number) {
  if (number.nan) {
    return true;
  }
  if (number.exponent > kNumericTextMaxExponent || number.exponent < -kNumericTextMaxExponent) {
    return false;
  }
  if (number.integer_digits.size() + number.fraction_digits.size() <= kAlwaysFitsDigits) {
    return true;
  }
  const Layout layout = layout_of(number);
  return layout.dscale <= kNumericMaxDscale && (layout.zero || layout.weight <= kNumericMaxWeight);
}

IntegerStatus integral_value(std::string_view text, NumericSyntax syntax, std::int64_t& out) {
  DecimalText number;
  if (!scan_decimal(text, syntax, number)) {
    return IntegerStatus::invalid;
  }
  return integral_value(number, out);
}

IntegerStatus integral_value(const DecimalText& number, std::int64_t& out) {
  if (number.nan) {
    return IntegerStatus::invalid;
  }
  const Layout layout = layout_of(number);
  if (layout.zero) {
    out = 0;
    return IntegerStatus::ok;
  }
  const std::int64_t lowest_power = power_of(layout, layout.last);
  if (lowest_power < 0) {
    return IntegerStatus::not_integer;
  }
  if (power_of(layout, layout.first) > 18) {
    return IntegerStatus::too_big;
  }
  std::uint64_t magnitude = 0;
  for (std::size_t i = layout.first; i <= layout.last; ++i) {
    magnitude = magnitude * 10 + static_cast<std::uint64_t>(digit_at(number, i) - '0');
  }
  for (std::int64_t i = 0; i < lowest_power; ++i) {
    if (__builtin_mul_overflow(magnitude, std::uint64_t{10}, &magnitude)) {
      return IntegerStatus::too_big;
    }
  }
  constexpr auto kMaxPositive =
      static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (magnitude > kMaxPositive + (number.negative ? 1 : 0)) {
    return IntegerStatus::too_big;
  }
  out = number.negative ? static_cast<std::int64_t>(0 - magnitude)
                        : static_cast<std::int64_t>(magnitude);
  return IntegerStatus::ok;
}

} // namespace pgdest::encode
