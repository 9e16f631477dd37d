// Validating, compact JSON re-serialisation of On-Demand values (the guard before jsonb/text).
#include "pgdest/encode/json_writer.hpp"

#include <cstring>
#include <new>
#include <optional>
#include <unordered_set>
#include <utility>
#include <vector>

#include "pgdest/encode/numeric_encoder.hpp"
#include "pgdest/schema/utf8.hpp"

namespace pgdest::encode {

namespace ondemand = simdjson::ondemand;

namespace {

bool is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim_trailing_space(std::string_view token) {
  while (!token.empty() && is_json_space(token.back())) {
    token.remove_suffix(1);
  }
  return token;
}

// True when `c` must be escaped inside a JSON string (or ends an escape-free run).
bool needs_escape(unsigned char c) {
  return c < 0x20 || c == '"' || c == '\\';
}

void append_escape(unsigned char c, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  switch (c) {
  case '"':
    out += "\\\"";
    return;
  case '\\':
    out += "\\\\";
    return;
  case '\b':
    out += "\\b";
    return;
  case '\f':
    out += "\\f";
    return;
  case '\n':
    out += "\\n";
    return;
  case '\r':
    out += "\\r";
    return;
  case '\t':
    out += "\\t";
    return;
  default:
    out += "\\u00";
    out += kHex[c >> 4];
    out += kHex[c & 0x0F];
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
    return (c | 0x20) - 'a' + 10;
  }
  return -1;
}

// The code unit of the \uXXXX escape at `at` (pointing at the backslash), or -1.
long utf16_escape(std::string_view written, std::size_t at) {
  if (at + 6 > written.size() || written[at] != '\\' || written[at + 1] != 'u') {
    return -1;
  }
  long unit = 0;
  for (std::size_t i = at + 2; i < at + 6; ++i) {
    const int digit = hex_digit(written[i]);
    if (digit < 0) {
      return -1;
    }
    unit = unit * 16 + digit;
  }
  return unit;
}

// Unescapes a string's content as written (simdjson refuses lone surrogates, which JSON allows);
// a lone surrogate becomes U+FFFD. `text` may be null to check only.
EscapeCheck unescape_lossy(std::string_view written, std::string* text) {
  EscapeCheck check = EscapeCheck::valid;
  for (std::size_t i = 0; i < written.size();) {
    if (written[i] != '\\') {
      const std::size_t next = written.find('\\', i);
      const std::size_t end = next == std::string_view::npos ? written.size() : next;
      if (text != nullptr) {
        text->append(written.data() + i, end - i);
      }
      i = end;
      continue;
    }
    if (i + 1 >= written.size()) {
      return EscapeCheck::malformed;
    }
    static constexpr std::string_view kSimple = "\"\\/bfnrt";
    static constexpr std::string_view kSimpleValue = "\"\\/\b\f\n\r\t";
    const std::size_t simple = kSimple.find(written[i + 1]);
    if (simple != std::string_view::npos) {
      if (text != nullptr) {
        *text += kSimpleValue[simple];
      }
      i += 2;
      continue;
    }
    long unit = utf16_escape(written, i);
    if (unit < 0) {
      return EscapeCheck::malformed;
    }
    i += 6;
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      const long low = utf16_escape(written, i);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
        i += 6;
      } else {
        unit = 0xFFFD;
        check = EscapeCheck::lone_surrogate;
      }
    } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
      unit = 0xFFFD;
      check = EscapeCheck::lone_surrogate;
    }
    if (text != nullptr) {
      schema::append_utf8(static_cast<char32_t>(unit), *text);
    }
  }
  return check;
}

// Serialises one value tree into `out`, recording findings in `result`.
class JsonWriter {
public:
  JsonWriter(std::string& out, JsonWriteResult& result, StringForm strings,
             DuplicateKeys duplicates)
      : out_(out), result_(result), strings_(strings), duplicates_(duplicates) {}

  bool write_value(ondemand::value& value, int depth) {
    if (depth > kMaxJsonDepth) {
      result_.too_deep = true;
      return fail(simdjson::DEPTH_ERROR);
    }
    ondemand::json_type type{};
    if (const auto error = value.type().get(type)) {
      return fail(error);
    }
    switch (type) {
    case ondemand::json_type::object:
      return write_object(value, depth);
    case ondemand::json_type::array:
      return write_array(value, depth);
    case ondemand::json_type::string:
      return write_string(value);
    case ondemand::json_type::number:
      return write_number(value);
    case ondemand::json_type::boolean:
      return write_literal(value, literal_is(value, "true") ? "true" : "false");
    case ondemand::json_type::null:
      return write_literal(value, "null");
    }
    return fail(simdjson::TAPE_ERROR);
  }

  bool write_key(ondemand::field& field, std::optional<std::unordered_set<std::string>>& keys) {
    std::string_view key;
    if (raw_key(field, key)) {
      out_ += '"';
      out_ += key;
      out_ += '"';
      return !keys || first_time(key, key, *keys);
    }
    const std::string_view written = written_key(field);
    const auto error = field.unescaped_key().get(key);
    if (error) {
      unescaped_.clear();
      if (error != simdjson::STRING_ERROR ||
          unescape_lossy(written, &unescaped_) != EscapeCheck::lone_surrogate) {
        return fail(error);
      }
      result_.lone_surrogate = true;
      key = unescaped_;
    }
    if (keys && !first_time(error ? written : key, written, *keys)) {
      return false;
    }
    if (strings_ == StringForm::verbatim) {
      out_ += '"';
      out_ += written;
      out_ += '"';
      return true;
    }
    result_.nul_removed |= append_json_string(key, out_);
    return true;
  }

private:
  bool fail(simdjson::error_code error) {
    result_.malformed = true;
    result_.error = error;
    return false;
  }

  bool write_object(ondemand::value& value, int depth) {
    ondemand::object object;
    if (const auto error = value.get_object().get(object)) {
      return fail(error);
    }
    out_ += '{';
    bool first = true;
    std::optional<std::unordered_set<std::string>> keys; // DuplicateKeys::refused only
    if (duplicates_ == DuplicateKeys::refused) {
      keys.emplace();
    }
    for (auto field_result : object) {
      ondemand::field field;
      if (const auto error = std::move(field_result).get(field)) {
        return fail(error);
      }
      if (!first) {
        out_ += ',';
      }
      first = false;
      if (!write_key(field, keys)) {
        return false;
      }
      out_ += ':';
      if (!write_value(field.value(), depth + 1)) {
        return false;
      }
    }
    out_ += '}';
    return true;
  }

  bool write_array(ondemand::value& value, int depth) {
    ondemand::array array;
    if (const auto error = value.get_array().get(array)) {
      return fail(error);
    }
    out_ += '[';
    bool first = true;
    for (auto element_result : array) {
      ondemand::value element;
      if (const auto error = std::move(element_result).get(element)) {
        return fail(error);
      }
      if (!first) {
        out_ += ',';
      }
      first = false;
      if (!write_value(element, depth + 1)) {
        return false;
      }
    }
    out_ += ']';
    return true;
  }

  // Records `key`, or fails when the object already had it.
  bool first_time(std::string_view key, std::string_view written,
                  std::unordered_set<std::string>& keys) {
    if (keys.emplace(key).second) {
      return true;
    }
    result_.duplicate_key.emplace(written);
    return fail(simdjson::TAPE_ERROR);
  }

  bool write_string(ondemand::value& value) {
    std::string_view content;
    if (raw_string_content(value, content)) {
      out_ += '"';
      out_ += content;
      out_ += '"';
      return true;
    }
    const std::string_view token = trim_trailing_space(value.raw_json_token());
    const auto error = value.get_string().get(content);
    if (error) {
      unescaped_.clear();
      if (error != simdjson::STRING_ERROR || token.size() < 2 ||
          unescape_lossy(token.substr(1, token.size() - 2), &unescaped_) !=
              EscapeCheck::lone_surrogate) {
        return fail(error);
      }
      result_.lone_surrogate = true;
      content = unescaped_;
    }
    if (strings_ == StringForm::verbatim) {
      out_ += token;
      return true;
    }
    result_.nul_removed |= append_json_string(content, out_);
    return true;
  }

  bool write_number(ondemand::value& value) {
    const std::string_view token = number_token(value);
    DecimalText number;
    if (!scan_decimal(token, NumericSyntax::json_number, number)) {
      return fail(simdjson::NUMBER_ERROR);
    }
    result_.number_beyond_numeric |= !fits_numeric_text_input(number);
    out_ += token;
    return true;
  }

  bool write_literal(ondemand::value& value, std::string_view literal) {
    if (!literal_is(value, literal)) {
      return fail(literal == "null" ? simdjson::N_ATOM_ERROR : simdjson::T_ATOM_ERROR);
    }
    out_ += literal;
    return true;
  }

  std::string& out_;
  JsonWriteResult& result_;
  StringForm strings_;
  DuplicateKeys duplicates_;
  std::string unescaped_; // a string with a lone surrogate, unescaped here
};

} // namespace

JsonWriteResult write_json(ondemand::value value, std::string& out, StringForm strings,
                           DuplicateKeys duplicates) {
  JsonWriteResult result;
  JsonWriter writer(out, result, strings, duplicates);
  writer.write_value(value, 0);
  return result;
}

JsonWriteResult write_json_key(ondemand::field& field, std::string& out) {
  JsonWriteResult result;
  JsonWriter writer(out, result, StringForm::normalised, DuplicateKeys::kept);
  std::optional<std::unordered_set<std::string>> no_key_check;
  writer.write_key(field, no_key_check);
  return result;
}

EscapeCheck check_escapes(std::string_view written) {
  return unescape_lossy(written, nullptr);
}

std::string unescape_json_string(std::string_view written) {
  std::string text;
  unescape_lossy(written, &text);
  return text;
}

namespace {

// Whether `text` is one JSON value and nothing more, as write_json reads values (so numbers of
// any size and lone surrogate escapes pass, as they do in a record).
bool is_one_json_value(std::string_view text) {
  thread_local ondemand::parser parser;
  thread_local const bool deep = (allow_parser_depth(parser), true);
  (void)deep;
  const simdjson::padded_string copy(text);
  ondemand::document document;
  ondemand::value value;
  if (parser.iterate(copy).get(document) || document.get_value().get(value)) {
    return false;
  }
  std::string ignored;
  if (write_json(value, ignored).malformed) {
    return false;
  }
  return document.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

} // namespace

std::string_view written_json(ondemand::value& value) {
  const std::string_view token = trim_trailing_space(value.raw_json_token());
  if (token.empty() || (token.front() != '{' && token.front() != '[')) {
    return token;
  }
  // Brackets outside strings balance, and a string ends at the first quote that no backslash
  // escapes. On-Demand reads a composite by simdjson's index of the input, which for a malformed
  // line need not agree with this scan: a raw NUL (never in JSON text, always after the input)
  // ends it, and the span found must be one valid JSON value.
  const char* const start = token.data();
  std::size_t depth = 0;
  for (const char* at = start; *at != '\0'; ++at) {
    switch (*at) {
    case '"':
      for (++at; *at != '"'; ++at) {
        if (*at == '\0' || (*at == '\\' && *++at == '\0')) {
          return {};
        }
      }
      break;
    case '{':
    case '[':
      ++depth;
      break;
    case '}':
    case ']':
      if (--depth == 0) {
        const std::string_view span{start, static_cast<std::size_t>(at - start) + 1};
        return is_one_json_value(span) ? span : std::string_view{};
      }
      break;
    default:
      break;
    }
  }
  return {};
}

bool append_json_string(std::string_view text, std::string& out) {
  bool nul_removed = false;
  out += '"';
  std::size_t run_start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (!needs_escape(c)) {
      continue;
    }
    out.append(text.data() + run_start, i - run_start);
    run_start = i + 1;
    if (c == 0) {
      nul_removed = true;
    } else {
      append_escape(c, out);
    }
  }
  out.append(text.data() + run_start, text.size() - run_start);
  out += '"';
  return nul_removed;
}

std::string_view number_token(ondemand::value& value) {
  return trim_trailing_space(value.raw_json_token());
}

// Stage 1 of simdjson rejects unescaped control characters inside strings (all kernels), so an
// escape-free string token is already valid JSON and its content needs no further check.
bool raw_string_content(ondemand::value& value, std::string_view& content) {
  const std::string_view token = trim_trailing_space(value.raw_json_token());
  if (token.size() < 2 || token.front() != '"' || token.back() != '"') {
    return false;
  }
  const std::string_view inner = token.substr(1, token.size() - 2);
  if (std::memchr(inner.data(), '\\', inner.size()) != nullptr) {
    return false;
  }
  content = inner;
  return true;
}

bool raw_key(const ondemand::field& field, std::string_view& key) {
  const char* start = field.key().raw();
  const char* at = start;
  while (*at != '"' && *at != '\\') {
    ++at;
  }
  if (*at != '"') {
    return false;
  }
  key = std::string_view(start, static_cast<std::size_t>(at - start));
  return true;
}

std::string_view written_key(const ondemand::field& field) {
  return written_key(field.key());
}

std::string_view written_key(ondemand::raw_json_string key) {
  const char* start = key.raw();
  const char* at = start;
  while (*at != '"') {
    at += *at == '\\' ? 2 : 1;
  }
  return {start, static_cast<std::size_t>(at - start)};
}

bool literal_is(ondemand::value& value, std::string_view literal) {
  return trim_trailing_space(value.raw_json_token()) == literal;
}

void allow_parser_depth(simdjson::ondemand::parser& parser) {
  if (parser.allocate(64 * 1024, kParserMaxDepth) != simdjson::SUCCESS)
    throw std::bad_alloc();
}

} // namespace pgdest::encode
