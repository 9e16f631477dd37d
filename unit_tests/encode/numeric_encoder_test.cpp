// Unit tests of decimal text → binary numeric / int64.
#include "pgdest/encode/numeric_encoder.hpp"

#include <catch2/catch.hpp>
#include <limits>
#include <string>
#include <vector>

#include "binary_reader.hpp"

using namespace pgdest::encode;
using pgdest::encode::testing::BinaryReader;
using pgdest::encode::testing::decode_numeric;
using pgdest::encode::testing::DecodedNumeric;

namespace {

// Encodes `text` and decodes the single field it produced.
DecodedNumeric numeric_of(std::string_view text,
                          NumericSyntax syntax = NumericSyntax::json_number) {
  CopyBuffer buffer;
  const NumericStatus status = encode_numeric(text, syntax, buffer);
  if (status != NumericStatus::ok) {
    throw std::runtime_error("not encoded: " + std::string(text));
  }
  BinaryReader reader(buffer.view());
  const auto payload = reader.field();
  if (!payload || !reader.at_end()) {
    throw std::runtime_error("expected exactly one non-null field");
  }
  return decode_numeric(*payload);
}

NumericStatus status_of(std::string_view text, NumericSyntax syntax = NumericSyntax::json_number) {
  CopyBuffer buffer;
  const NumericStatus status = encode_numeric(text, syntax, buffer);
  if (status != NumericStatus::ok && buffer.size() != 0) {
    throw std::runtime_error("bytes written for a rejected value");
  }
  return status;
}

void check(std::string_view text, std::int16_t weight, std::uint16_t sign, std::int16_t dscale,
           std::vector<std::int16_t> digits, NumericSyntax syntax = NumericSyntax::json_number) {
  INFO("text: " << text);
  const DecodedNumeric n = numeric_of(text, syntax);
  CHECK(n.ndigits == static_cast<std::int16_t>(digits.size()));
  CHECK(n.weight == weight);
  CHECK(n.sign == sign);
  CHECK(n.dscale == dscale);
  CHECK(n.digits == digits);
}

IntegerStatus integer_of(std::string_view text, std::int64_t& value,
                         NumericSyntax syntax = NumericSyntax::json_number) {
  value = -12345; // sentinel: must be overwritten on ok
  return integral_value(text, syntax, value);
}

} // namespace

TEST_CASE("numeric: digits, weight and dscale match numeric_send", "[encode][numeric]") {
  check("12345.678", 1, 0x0000, 3, {1, 2345, 6780});
  check("-12345.678", 1, 0x4000, 3, {1, 2345, 6780});
  check("1", 0, 0x0000, 0, {1});
  check("9999", 0, 0x0000, 0, {9999});
  check("10000", 1, 0x0000, 0, {1});
  check("100000000.00000001", 2, 0x0000, 8, {1, 0, 0, 0, 1});
  check("1.50", 0, 0x0000, 2, {1, 5000});
  check("0.0001", -1, 0x0000, 4, {1});
  check("0.00001", -2, 0x0000, 5, {1000});
  check("25.0108", 0, 0x0000, 4, {25, 108});
  check("123456789012", 2, 0x0000, 0, {1234, 5678, 9012});
}

TEST_CASE("numeric: zero keeps its scale and is never negative", "[encode][numeric]") {
  check("0", 0, 0x0000, 0, {});
  check("0.00", 0, 0x0000, 2, {});
  check("-0", 0, 0x0000, 0, {});
  check("-0.0", 0, 0x0000, 1, {});
  check("0e-5", 0, 0x0000, 5, {});
  check("0e9999999999999", 0, 0x0000, 0, {});
}

TEST_CASE("numeric: exponents are applied exactly", "[encode][numeric]") {
  check("1.5e3", 0, 0x0000, 0, {1500});
  check("1e-3", -1, 0x0000, 3, {10});
  check("1E+4", 1, 0x0000, 0, {1});
  check("-2.5E-1", -1, 0x4000, 2, {2500});
  check("12.345e-2", -1, 0x0000, 5, {1234, 5000});
  check("1e20", 5, 0x0000, 0, {1});
}

TEST_CASE("numeric: a 500-digit number loads exactly", "[encode][numeric]") {
  std::string integer;
  for (int i = 0; i < 50; ++i) {
    integer += "1234567890";
  }
  REQUIRE(integer.size() == 500);
  const DecodedNumeric n = numeric_of(integer);
  REQUIRE(n.ndigits == 125);
  CHECK(n.weight == 124);
  CHECK(n.sign == 0);
  CHECK(n.dscale == 0);
  CHECK(n.digits[0] == 1234);
  CHECK(n.digits[1] == 5678);
  CHECK(n.digits[2] == 9012);
  CHECK(n.digits[3] == 3456);
  CHECK(n.digits[4] == 7890);
  CHECK(n.digits[124] == 7890);

  const DecodedNumeric fraction = numeric_of("-0." + integer);
  REQUIRE(fraction.ndigits == 125);
  CHECK(fraction.weight == -1);
  CHECK(fraction.sign == 0x4000);
  CHECK(fraction.dscale == 500);
  CHECK(fraction.digits[0] == 1234);
  CHECK(fraction.digits[124] == 7890);

  // 251 integer digits "7123456789 0123..." and 250 fraction digits.
  const DecodedNumeric mixed = numeric_of("7" + integer.substr(0, 250) + "." + integer.substr(250));
  REQUIRE(mixed.ndigits == 126);
  CHECK(mixed.weight == 62);
  CHECK(mixed.dscale == 250);
  CHECK(mixed.digits[0] == 712);    // powers 250..248
  CHECK(mixed.digits[1] == 3456);   // powers 247..244
  CHECK(mixed.digits[62] == 7890);  // powers 3..0
  CHECK(mixed.digits[63] == 1234);  // powers -1..-4
  CHECK(mixed.digits[125] == 9000); // powers -249, -250 and two implied zeros
}

TEST_CASE("numeric: NaN only as a string, in any case", "[encode][numeric]") {
  check("NaN", 0, 0xC000, 0, {}, NumericSyntax::text);
  check(" nan ", 0, 0xC000, 0, {}, NumericSyntax::text);
  check("NAN", 0, 0xC000, 0, {}, NumericSyntax::text);
  CHECK(status_of("NaN") == NumericStatus::invalid);
  CHECK(status_of("-NaN", NumericSyntax::text) == NumericStatus::invalid);
  CHECK(status_of("Infinity", NumericSyntax::text) == NumericStatus::invalid);
}

TEST_CASE("numeric: string syntax is PostgreSQL's looser one", "[encode][numeric]") {
  check("+42", 0, 0x0000, 0, {42}, NumericSyntax::text);
  check(" \t42.5\n", 0, 0x0000, 1, {42, 5000}, NumericSyntax::text);
  check(".5", -1, 0x0000, 1, {5000}, NumericSyntax::text);
  check("5.", 0, 0x0000, 0, {5}, NumericSyntax::text);
  check("007", 0, 0x0000, 0, {7}, NumericSyntax::text);
  for (const char* bad :
       {"", " ", ".", "+", "-", "1e", "1e+", "abc", "1.2.3", "--1", "0x10", "1 2", "1,5", "e5"}) {
    INFO(bad);
    CHECK(status_of(bad, NumericSyntax::text) == NumericStatus::invalid);
  }
}

TEST_CASE("numeric: JSON syntax is the JSON number grammar", "[encode][numeric]") {
  for (const char* bad :
       {"01", "1.", ".5", "+1", "-", " 1", "1 ", "1e", "1.e5", "-.5", "0x1", "--1", "1e+", ""}) {
    INFO(bad);
    CHECK(status_of(bad) == NumericStatus::invalid);
  }
  check("-0.0e-0", 0, 0x0000, 1, {});
}

TEST_CASE("numeric: values beyond PostgreSQL's limits are too big", "[encode][numeric]") {
  check("1e131071", 32767, 0x0000, 0, {1000});
  CHECK(status_of("1e131072") == NumericStatus::too_big);
  CHECK(numeric_of("1e-16383").dscale == 16383);
  CHECK(status_of("1e-16384") == NumericStatus::too_big);
  CHECK(status_of("0e-16384") == NumericStatus::too_big);
  CHECK(status_of("1e9999999999999999999") == NumericStatus::too_big);
  CHECK(status_of("1e-9999999999999999999") == NumericStatus::too_big);
  // numeric_recv of PostgreSQL 12/13 refuses more than 3000 base-10000 digits.
  const std::string ok_3000 = "1" + std::string(11995, '0') + "1";
  CHECK(numeric_of(ok_3000).ndigits == 3000);
  const std::string too_many = "1" + std::string(11999, '0') + "1";
  CHECK(status_of(too_many) == NumericStatus::too_big);
}

TEST_CASE("numeric: jsonb's text input limits", "[encode][numeric]") {
  const auto fits = [](std::string_view text) {
    DecimalText number;
    REQUIRE(scan_decimal(text, NumericSyntax::json_number, number));
    return fits_numeric_text_input(number);
  };
  CHECK(fits("1e1000"));
  CHECK(fits("-1.5e-1000"));
  CHECK_FALSE(fits("1e1001"));
  CHECK_FALSE(fits("1e-1001"));
  CHECK_FALSE(fits("0e1001"));
  CHECK(fits(std::string(20000, '7')));
  CHECK_FALSE(fits("0." + std::string(16384, '1')));
  CHECK(fits("0." + std::string(16383, '1')));
}

TEST_CASE("integral_value: integers in any notation", "[encode][numeric]") {
  std::int64_t value = 0;
  CHECK(integer_of("42", value) == IntegerStatus::ok);
  CHECK(value == 42);
  CHECK(integer_of("42.0", value) == IntegerStatus::ok);
  CHECK(value == 42);
  CHECK(integer_of("4.2e1", value) == IntegerStatus::ok);
  CHECK(value == 42);
  CHECK(integer_of("-0", value) == IntegerStatus::ok);
  CHECK(value == 0);
  CHECK(integer_of("0.000", value) == IntegerStatus::ok);
  CHECK(value == 0);
  CHECK(integer_of("1e3", value) == IntegerStatus::ok);
  CHECK(value == 1000);
  CHECK(integer_of("-17", value) == IntegerStatus::ok);
  CHECK(value == -17);
  CHECK(integer_of("1e18", value) == IntegerStatus::ok);
  CHECK(value == 1000000000000000000);
  CHECK(integer_of("0.1e1", value) == IntegerStatus::ok);
  CHECK(value == 1);
}

TEST_CASE("integral_value: the int64 range exactly", "[encode][numeric]") {
  std::int64_t value = 0;
  CHECK(integer_of("9223372036854775807", value) == IntegerStatus::ok);
  CHECK(value == std::numeric_limits<std::int64_t>::max());
  CHECK(integer_of("9223372036854775808", value) == IntegerStatus::too_big);
  CHECK(integer_of("-9223372036854775808", value) == IntegerStatus::ok);
  CHECK(value == std::numeric_limits<std::int64_t>::min());
  CHECK(integer_of("-9223372036854775809", value) == IntegerStatus::too_big);
  CHECK(integer_of("92233720368547758.07e2", value) == IntegerStatus::ok);
  CHECK(value == std::numeric_limits<std::int64_t>::max());
  CHECK(integer_of("9.3e18", value) == IntegerStatus::too_big);
  CHECK(integer_of("1e19", value) == IntegerStatus::too_big);
  CHECK(integer_of("18446744073709551616", value) == IntegerStatus::too_big);
  CHECK(integer_of("1e400", value) == IntegerStatus::too_big);
}

TEST_CASE("integral_value: fractions and non-numbers", "[encode][numeric]") {
  std::int64_t value = 0;
  CHECK(integer_of("1.5", value) == IntegerStatus::not_integer);
  CHECK(integer_of("1e-1", value) == IntegerStatus::not_integer);
  CHECK(integer_of("12345678901234567890.5", value) == IntegerStatus::not_integer);
  CHECK(integer_of("abc", value) == IntegerStatus::invalid);
  CHECK(integer_of("NaN", value, NumericSyntax::text) == IntegerStatus::invalid);
  CHECK(integer_of(" +42 ", value, NumericSyntax::text) == IntegerStatus::ok);
  CHECK(value == 42);
  CHECK(integer_of(" +42 ", value) == IntegerStatus::invalid);
}

TEST_CASE("scan_decimal: parts of a number", "[encode][numeric]") {
  DecimalText number;
  REQUIRE(scan_decimal("-12.340e-7", NumericSyntax::json_number, number));
  CHECK(number.negative);
  CHECK_FALSE(number.nan);
  CHECK(number.integer_digits == "12");
  CHECK(number.fraction_digits == "340");
  CHECK(number.exponent == -7);
  REQUIRE(scan_decimal("1e99999999999", NumericSyntax::json_number, number));
  CHECK(number.exponent == kExponentClamp);
}
