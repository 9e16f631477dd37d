#pragma once
// Decimal text → PostgreSQL binary `numeric` and `bigint`, exactly (never through a double).
#include <cstdint>
#include <string_view>

#include "pgdest/encode/copy_buffer.hpp"

namespace pgdest::encode {

// Which grammar the text follows.
enum class NumericSyntax {
  json_number, // RFC 8259 number, nothing around it
  text,        // a string value: surrounding white space, a leading '+', "NaN" (any case),
               // and PostgreSQL's looser digits ("007", ".5", "5.") are also accepted
};

// A decimal number split into its parts; the views point into the scanned text.
struct DecimalText {
  bool negative = false;
  bool nan = false;
  std::string_view integer_digits;  // digits before the point, possibly empty ("" for ".5")
  std::string_view fraction_digits; // digits after the point, possibly empty
  std::int64_t exponent = 0;        // the e-part, clamped to ±kExponentClamp
};

// Exponents beyond this magnitude are clamped; every such value is out of range unless it is 0.
inline constexpr std::int64_t kExponentClamp = 1'000'000'000;

// Splits `text` into parts; false when it is not a number of `syntax`.
bool scan_decimal(std::string_view text, NumericSyntax syntax, DecimalText& out);

// PostgreSQL limits of a stored numeric (binary input): weight, display scale, digit groups.
inline constexpr int kNumericMaxWeight = 32767;
inline constexpr int kNumericMaxDscale = 16383;
inline constexpr int kNumericMaxGroups = 3000; // numeric_recv's limit up to PostgreSQL 13

enum class NumericStatus { ok, invalid, too_big };

// Appends `text` as one binary numeric field (int32 length, ndigits, weight, sign, dscale,
// base-10000 digits) when ok; appends nothing otherwise.
NumericStatus encode_numeric(std::string_view text, NumericSyntax syntax, CopyBuffer& out);
// The same for an already scanned number.
NumericStatus encode_numeric(const DecimalText& number, CopyBuffer& out);

// Whether PostgreSQL's text input (numeric_in, used for numbers inside jsonb) accepts the value:
// |exponent| <= 1000 and the result within weight/scale limits.
bool fits_numeric_text_input(const DecimalText& number);

enum class IntegerStatus { ok, invalid, not_integer, too_big };

// The int64 value of `text` when it is integral (42, 42.0, 4.2e1, -0); too_big beyond int64.
IntegerStatus integral_value(std::string_view text, NumericSyntax syntax, std::int64_t& out);
// The same for an already scanned number.
IntegerStatus integral_value(const DecimalText& number, std::int64_t& out);

} // namespace pgdest::encode
