#pragma once
// How deeply a JSON text nests, found before a recursive reader (or nlohmann's dump and type
// walks) sees it.
#include <cstddef>
#include <string_view>

namespace pgdest::config {

// The deepest nesting of arrays and objects the config and catalog files may have (as deep as
// common JSON parsers, e.g. Jackson's default, read).
inline constexpr std::size_t kMaxFileNesting = 1000;

// Whether `text` opens more than `limit` arrays and objects inside one another (brackets inside
// strings do not count). Does not check the rest of the grammar.
bool nests_deeper_than(std::string_view text, std::size_t limit);

} // namespace pgdest::config
