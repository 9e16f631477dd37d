#pragma once
// UTF-8 encoding of one code point, shared by the name rules and the JSON writer.
#include <string>

namespace pgdest::schema {

// Appends `code_point` (at most U+10FFFF) to `out` as UTF-8.
void append_utf8(char32_t code_point, std::string& out);

} // namespace pgdest::schema
