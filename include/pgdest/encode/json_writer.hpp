#pragma once
// Compact, fully validated re-serialisation of simdjson On-Demand values.
#include <cstddef>
#include <optional>
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
  // A string or key holds a \uD800-\uDFFF escape that is not half of a pair: valid JSON, but
  // not text PostgreSQL (or UTF-8) can hold. Written as U+FFFD in StringForm::normalised.
  bool lone_surrogate = false;
  // The value nests deeper than kMaxJsonDepth (then also `malformed`, with DEPTH_ERROR).
  bool too_deep = false;
  // With DuplicateKeys::refused: a key that appears twice in one object (then also `malformed`,
  // with TAPE_ERROR); the key as written, without quotes.
  std::optional<std::string> duplicate_key;
  // simdjson's reason when `malformed`, else SUCCESS (e.g. NUMBER_ERROR for a bad literal).
  simdjson::error_code error = simdjson::SUCCESS;
};

// The deepest nesting of arrays and objects write_json accepts (simdjson's own default limit).
inline constexpr int kMaxJsonDepth = 1024;
// The depth a parser must allow so that a value kMaxJsonDepth deep, inside the message around it,
// is refused by our walkers before simdjson's iterator goes past the depth it has room for.
inline constexpr std::size_t kParserMaxDepth = kMaxJsonDepth + 64;

// Gives `parser` room for kParserMaxDepth levels (its later reallocations keep that depth).
void allow_parser_depth(simdjson::ondemand::parser& parser);

// How write_json writes strings and keys.
enum class StringForm {
  // Unescaped and re-escaped, NUL characters dropped, lone surrogates replaced (text that goes
  // into PostgreSQL).
  normalised,
  // Exactly as written, escapes kept (text that is echoed unchanged, such as a STATE).
  verbatim,
};

// What write_json does with a key that appears twice in one object.
enum class DuplicateKeys {
  kept,    // written twice; readers take the last, as PostgreSQL's jsonb does
  refused, // `malformed`, with `duplicate_key` set
};

// Appends `value` to `out` as compact JSON: numbers keep their exact text, and every part is
// checked against the JSON grammar.
JsonWriteResult write_json(simdjson::ondemand::value value, std::string& out,
                           StringForm strings = StringForm::normalised,
                           DuplicateKeys duplicates = DuplicateKeys::kept);

// Appends the key of `field` as write_json writes a key inside an object with
// StringForm::normalised: a JSON string, NUL characters dropped, lone surrogates replaced.
JsonWriteResult write_json_key(simdjson::ondemand::field& field, std::string& out);

// What the escape sequences of a string's content (as written, without quotes) amount to.
enum class EscapeCheck { valid, lone_surrogate, malformed };
EscapeCheck check_escapes(std::string_view written);

// The text a string's content as written (without quotes, escapes valid) stands for; a lone
// surrogate becomes U+FFFD, as StringForm::normalised writes it.
std::string unescape_json_string(std::string_view written);

// The JSON text of `value` exactly as the input has it: a scalar's token, or an object or array
// from its opening to its closing bracket (write_json found it valid; it may have been read
// already, as the text is found from where it starts). Empty when that text is not one valid
// JSON value: the input is malformed in a way On-Demand reading did not see.
std::string_view written_json(simdjson::ondemand::value& value);

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

// The key of `field` as written, escapes kept, without its quotes. Call it before
// unescaped_key(), which forgets the key; or keep field.key() and pass that.
std::string_view written_key(const simdjson::ondemand::field& field);
std::string_view written_key(simdjson::ondemand::raw_json_string key);

// Whether the literal token of `value` is exactly `literal` ("true", "false" or "null").
bool literal_is(simdjson::ondemand::value& value, std::string_view literal);

} // namespace pgdest::encode
