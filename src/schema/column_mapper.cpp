// Column names and types for a stream, with Airbyte's collision rule.
//
// Matched (airbytehq/airbyte, bulk CDK load-db TableCatalogFactory.createColumnNameMapping and
// ColumnNameResolver, with destination-postgres' PostgresColumnNameGenerator):
// - Each property gets the name normalize_identifier(p); it collides with an earlier column when
//   their canonical names (canonical_identifier: normalised after lower-casing) are equal.
// - On a collision, try normalize(p + "_1"), normalize(p + "_2"), ... until the canonical name is
//   free. The suffix is added to the original name before normalising, so a long name is
//   re-truncated with a fresh hash rather than losing its suffix.
// - If a suffixed candidate has the same canonical name as the previous candidate (truncation ate
//   the suffix), fall back to prefix + length + suffix of the original name ("superResolve"), and
//   fail if even that collides.
// Decision: Airbyte does not reserve the four _airbyte_* names (a property called _airbyte_meta
// makes its CREATE TABLE fail on a duplicate column). We seed them as taken, so such a property
// becomes _airbyte_meta_1 by the same rule.
#include "pgdest/schema/column_mapper.hpp"

#include <string>
#include <unordered_set>
#include <utility>

#include "pgdest/error.hpp"
#include "pgdest/schema/identifier_normalizer.hpp"
#include "pgdest/schema/type_mapper.hpp"
#include "pgdest/schema/utf8.hpp"

namespace pgdest::schema {

namespace {

// A column name as Airbyte tracks it: what is created, and what collisions are decided on.
struct ColumnName {
  std::string display;
  std::string canonical;
};

ColumnName column_name(std::string_view name) {
  return {normalize_identifier(name), canonical_identifier(name)};
}

using TakenNames = std::unordered_set<std::string>; // canonical names

[[noreturn]] void throw_unresolvable(std::string_view original) {
  throw ConfigError("Cannot solve column name collision: " + std::string(original) +
                    ". We recommend removing this column to continue syncing.");
}

// UTF-8 (valid, as JSON text is) → UTF-16 code units and back, for Java's String.substring on
// the original name. A lone surrogate left by a cut becomes U+FFFD, which normalises to "_" just
// as the surrogate would.
std::u16string to_utf16(std::string_view text) {
  std::u16string units;
  for (std::size_t pos = 0; pos < text.size();) {
    const auto lead = static_cast<unsigned char>(text[pos]);
    std::size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    if (pos + length > text.size())
      length = text.size() - pos;
    char32_t code_point = length == 1 ? lead : lead & (0x7Fu >> length);
    for (std::size_t i = 1; i < length; ++i)
      code_point = (code_point << 6) | (static_cast<unsigned char>(text[pos + i]) & 0x3Fu);
    pos += length;
    if (code_point < 0x10000) {
      units += static_cast<char16_t>(code_point);
    } else {
      code_point -= 0x10000;
      units += static_cast<char16_t>(0xD800 + (code_point >> 10));
      units += static_cast<char16_t>(0xDC00 + (code_point & 0x3FF));
    }
  }
  return units;
}

std::string to_utf8(std::u16string_view units) {
  std::string text;
  for (std::size_t i = 0; i < units.size(); ++i) {
    char32_t code_point = units[i];
    const bool high = code_point >= 0xD800 && code_point <= 0xDBFF;
    if (high && i + 1 < units.size() && units[i + 1] >= 0xDC00 && units[i + 1] <= 0xDFFF) {
      code_point = 0x10000 + ((code_point - 0xD800) << 10) + (units[i + 1] - 0xDC00u);
      ++i;
    } else if (code_point >= 0xD800 && code_point <= 0xDFFF) {
      code_point = 0xFFFD;
    }
    append_utf8(code_point, text);
  }
  return text;
}

// superResolveColumnCollisions: "<prefix><length><suffix>" of the original name, affixes in
// UTF-16 code units, sized so the result fits `longest` characters.
ColumnName resolve_by_length(std::string_view original, const TakenNames& taken,
                             std::size_t longest) {
  if (longest <= 6)
    throw_unresolvable(original); // (longest - 5) / 2 <= 0
  const std::size_t affix = (longest - 5) / 2;
  const std::u16string units = to_utf16(original);
  if (units.size() < affix)
    throw_unresolvable(original); // Java's substring would throw
  const auto middle = static_cast<long long>(units.size()) - 2 * static_cast<long long>(affix);
  const std::string shortened = to_utf8(std::u16string_view(units).substr(0, affix)) +
                                std::to_string(middle) +
                                to_utf8(std::u16string_view(units).substr(units.size() - affix));
  ColumnName name = column_name(shortened);
  if (taken.count(name.canonical) != 0)
    throw_unresolvable(original);
  return name;
}

// resolveColumnNameCollision: the first of name, name_1, name_2, ... whose canonical form is free.
ColumnName resolve_collision(std::string_view original, const TakenNames& taken) {
  ColumnName name = column_name(original);
  if (taken.count(name.canonical) == 0)
    return name;
  const std::size_t longest = name.canonical.size();
  std::string previous = name.canonical;
  for (unsigned long counter = 1;; ++counter) {
    ColumnName candidate = column_name(std::string(original) + "_" + std::to_string(counter));
    if (candidate.canonical == previous)
      return resolve_by_length(original, taken, longest);
    if (taken.count(candidate.canonical) == 0)
      return candidate;
    previous = std::move(candidate.canonical);
  }
}

} // namespace

std::vector<Column> map_columns(const nlohmann::ordered_json& stream_json_schema) {
  std::vector<Column> columns;
  if (!stream_json_schema.is_object())
    return columns;
  const auto properties = stream_json_schema.find("properties");
  if (properties == stream_json_schema.end() || !properties->is_object())
    return columns;

  TakenNames taken;
  for (const std::string_view reserved : airbyte_column_names)
    taken.emplace(reserved);
  for (const auto& [source_name, property_schema] : properties->items()) {
    ColumnName name = resolve_collision(source_name, taken);
    taken.insert(name.canonical);
    columns.push_back({source_name, std::move(name.display), map_property_type(property_schema)});
  }
  return columns;
}

} // namespace pgdest::schema
