// Validating, compact JSON re-serialisation of On-Demand values (the guard before jsonb/text).
#include "pgdest/encode/json_writer.hpp"

#include <cstring>
#include <utility>

#include "pgdest/encode/numeric_encoder.hpp"

namespace pgdest::encode {

namespace ondemand = simdjson::ondemand;

namespace {

constexpr int kMaxDepth = 1024;

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

// Serialises one value tree into `out`, recording findings in `result`.
class JsonWriter {
public:
  JsonWriter(std::string& out, JsonWriteResult& result) : out_(out), result_(result) {}

  bool write_value(ondemand::value& value, int depth) {
    if (depth > kMaxDepth) {
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
    for (auto field_result : object) {
      ondemand::field field;
      if (const auto error = std::move(field_result).get(field)) {
        return fail(error);
      }
      if (!first) {
        out_ += ',';
      }
      first = false;
      if (!write_key(field)) {
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

  bool write_key(ondemand::field& field) {
    std::string_view key;
    if (raw_key(field, key)) {
      out_ += '"';
      out_ += key;
      out_ += '"';
      return true;
    }
    if (const auto error = field.unescaped_key().get(key)) {
      return fail(error);
    }
    result_.nul_removed |= append_json_string(key, out_);
    return true;
  }

  bool write_string(ondemand::value& value) {
    std::string_view content;
    if (raw_string_content(value, content)) {
      out_ += '"';
      out_ += content;
      out_ += '"';
      return true;
    }
    if (const auto error = value.get_string().get(content)) {
      return fail(error);
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
};

} // namespace

JsonWriteResult write_json(ondemand::value value, std::string& out) {
  JsonWriteResult result;
  JsonWriter writer(out, result);
  writer.write_value(value, 0);
  return result;
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

bool literal_is(ondemand::value& value, std::string_view literal) {
  return trim_trailing_space(value.raw_json_token()) == literal;
}

} // namespace pgdest::encode
