#pragma once
// Small helpers shared by the parsers of numbers and dates in text values.
#include <string_view>

namespace pgdest::encode {

// White space as PostgreSQL's input functions skip it around a value.
inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// `text` without leading and trailing white space.
inline std::string_view trim_space(std::string_view text) {
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_space(text.back()))
    text.remove_suffix(1);
  return text;
}

} // namespace pgdest::encode
