#pragma once
// A strict JSON syntax check for the fuzz oracles, independent of the parsers under test and
// without their number range limits (JSON numbers may be any size).
#include <string>
#include <string_view>

namespace pgdest::fuzz {

enum class JsonRules {
  rfc8259, // any JSON text (what the platform reads back from stdout)
  jsonb,   // what PostgreSQL's jsonb input accepts: also no \u0000, no lone surrogate escapes,
           // numbers with an exponent within ±1000 (numeric_in)
};

// Empty when `text` is one JSON value under `rules` (surrounding white space allowed), else what
// is wrong and where. UTF-8 validity is not checked here.
std::string json_problem(std::string_view text, JsonRules rules);

} // namespace pgdest::fuzz
