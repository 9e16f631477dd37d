#pragma once
// Compact, fully validated re-serialisation of simdjson On-Demand values.
#include <string>
#include <string_view>

#include <simdjson.h>

namespace pgdest::encode {

// What write_json found besides the text it wrote.
struct JsonWriteResult {
  // The value is not valid JSON (bad structure, literal, number or escape); `out` then holds
  // partial output and the value must not be used.
  bool malformed = false;
  // At least one NUL character (\u0000) was dropped from a string or key.
  bool nul_removed = false;
  // A number PostgreSQL's jsonb input would reject (numeric_in: |exponent| > 1000, or beyond
  // numeric's weight/scale limits).
  bool number_beyond_numeric = false;
  // simdjson's reason when `malformed`, else SUCCESS (e.g. NUMBER_ERROR for a bad literal).
  simdjson::error_code error = simdjson::SUCCESS;
};

// Appends `value` to `out` as compact JSON: strings are unescaped and re-escaped, numbers keep
// their exact text, and every part is checked against the JSON grammar.
JsonWriteResult write_json(simdjson::ondemand::value value, std::string& out);

// Appends `text` as a JSON string literal (quotes included), dropping NUL characters.
// Returns whether a NUL was dropped.
bool append_json_string(std::string_view text, std::string& out);

// The number token of `value` without trailing white space (JSON grammar not yet checked).
std::string_view number_token(simdjson::ondemand::value& value);

// When the string `value` holds no escape sequence, its content straight from the input
// (nothing to unescape or validate); otherwise false.
bool raw_string_content(simdjson::ondemand::value& value, std::string_view& content);

// The key of `field` when written without escape sequences; otherwise false.
bool raw_key(const simdjson::ondemand::field& field, std::string_view& key);

// Whether the literal token of `value` is exactly `literal` ("true", "false" or "null").
bool literal_is(simdjson::ondemand::value& value, std::string_view literal);

} // namespace pgdest::encode
