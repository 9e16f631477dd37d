// Recursive-descent JSON syntax check (RFC 8259, optionally PostgreSQL jsonb's extra limits).
#include "json_check.hpp"

namespace pgdest::fuzz {
namespace {

class Checker {
public:
  Checker(std::string_view text, JsonRules rules) : text_(text), rules_(rules) {}

  std::string problem() {
    skip_space();
    if (!value())
      return why_ + " at byte " + std::to_string(at_);
    skip_space();
    if (at_ != text_.size())
      return "text after the value at byte " + std::to_string(at_);
    return {};
  }

private:
  bool fail(const char* why) {
    why_ = why;
    return false;
  }
  bool more() const { return at_ < text_.size(); }
  char peek() const { return more() ? text_[at_] : '\0'; }
  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  void skip_space() {
    while (more() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r'))
      ++at_;
  }
  bool literal(std::string_view word) {
    if (text_.substr(at_, word.size()) != word)
      return fail("invalid literal");
    at_ += word.size();
    return true;
  }

  bool value() {
    if (++depth_ > 10000)
      return fail("nested too deeply");
    bool ok = false;
    switch (peek()) {
    case '{':
      ok = object();
      break;
    case '[':
      ok = array();
      break;
    case '"':
      ok = string();
      break;
    case 't':
      ok = literal("true");
      break;
    case 'f':
      ok = literal("false");
      break;
    case 'n':
      ok = literal("null");
      break;
    default:
      ok = number();
    }
    --depth_;
    return ok;
  }

  bool object() {
    ++at_;
    skip_space();
    if (peek() == '}') {
      ++at_;
      return true;
    }
    for (;;) {
      if (peek() != '"')
        return fail("expected a key");
      if (!string())
        return false;
      skip_space();
      if (peek() != ':')
        return fail("expected ':'");
      ++at_;
      skip_space();
      if (!value())
        return false;
      skip_space();
      if (peek() == '}') {
        ++at_;
        return true;
      }
      if (peek() != ',')
        return fail("expected ',' or '}'");
      ++at_;
      skip_space();
    }
  }

  bool array() {
    ++at_;
    skip_space();
    if (peek() == ']') {
      ++at_;
      return true;
    }
    for (;;) {
      if (!value())
        return false;
      skip_space();
      if (peek() == ']') {
        ++at_;
        return true;
      }
      if (peek() != ',')
        return fail("expected ',' or ']'");
      ++at_;
      skip_space();
    }
  }

  bool hex4(unsigned& code) {
    if (at_ + 4 > text_.size())
      return fail("short \\u escape");
    code = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[at_++];
      unsigned digit = 0;
      if (c >= '0' && c <= '9')
        digit = static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        digit = static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        digit = static_cast<unsigned>(c - 'A' + 10);
      else
        return fail("bad hex digit in \\u escape");
      code = code * 16 + digit;
    }
    return true;
  }

  bool string() {
    ++at_;
    bool want_low = false; // the previous escape was a high surrogate
    for (;;) {
      if (!more())
        return fail("unterminated string");
      char c = text_[at_++];
      if (static_cast<unsigned char>(c) < 0x20)
        return fail("control character in a string");
      if (c == '"')
        return !want_low || rules_ == JsonRules::rfc8259 ? true : fail("lone high surrogate");
      if (c != '\\') {
        if (want_low && rules_ == JsonRules::jsonb)
          return fail("lone high surrogate");
        want_low = false;
        continue;
      }
      if (!more())
        return fail("unterminated escape");
      char e = text_[at_++];
      if (e == 'u') {
        unsigned code = 0;
        if (!hex4(code))
          return false;
        bool high = code >= 0xD800 && code <= 0xDBFF;
        bool low = code >= 0xDC00 && code <= 0xDFFF;
        if (rules_ == JsonRules::jsonb) {
          if (code == 0)
            return fail("\\u0000 in jsonb");
          if (want_low != low)
            return fail(low ? "lone low surrogate" : "lone high surrogate");
        }
        want_low = high;
        continue;
      }
      if (want_low && rules_ == JsonRules::jsonb)
        return fail("lone high surrogate");
      want_low = false;
      if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' &&
          e != 't')
        return fail("invalid escape");
    }
  }

  bool number() {
    if (peek() == '-')
      ++at_;
    if (peek() == '0') {
      ++at_;
    } else if (is_digit(peek())) {
      while (is_digit(peek()))
        ++at_;
    } else {
      return fail("invalid value");
    }
    if (peek() == '.') {
      ++at_;
      if (!is_digit(peek()))
        return fail("no digit after '.'");
      while (is_digit(peek()))
        ++at_;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++at_;
      if (peek() == '+' || peek() == '-')
        ++at_;
      if (!is_digit(peek()))
        return fail("no digit in exponent");
      long exponent = 0;
      while (is_digit(peek())) {
        if (exponent < 100000)
          exponent = exponent * 10 + (peek() - '0');
        ++at_;
      }
      if (rules_ == JsonRules::jsonb && exponent > 1000)
        return fail("exponent beyond numeric's ±1000");
    }
    return true;
  }

  std::string_view text_;
  JsonRules rules_;
  std::size_t at_ = 0;
  int depth_ = 0;
  std::string why_;
};

} // namespace

std::string json_problem(std::string_view text, JsonRules rules) {
  return Checker(text, rules).problem();
}

} // namespace pgdest::fuzz
