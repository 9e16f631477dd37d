#pragma once
// Airbyte-compatible PostgreSQL identifiers for schemas, tables and columns (SPEC §4).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pgdest::schema {

// The longest identifier PostgreSQL keeps (NAMEDATALEN - 1), in bytes.
inline constexpr std::size_t max_identifier_bytes = 63;

// `name` (UTF-8) as Airbyte destination-postgres 3.x names it: accents and other compatibility
// forms decomposed, everything outside [A-Za-z0-9_] turned into "_", "_" before a leading digit,
// hash-truncated past 63 bytes. The result is plain ASCII apart from a possible "-" in the hash.
std::string normalize_identifier(std::string_view name);

// normalize_identifier of the lower-cased name: what Airbyte compares to decide that two column
// names collide.
std::string canonical_identifier(std::string_view name);

// Java's String.hashCode of `text`, taken over its UTF-16 code units (32-bit, wrapping).
std::int32_t java_hash_code(std::string_view text);

// The last 8 characters of the decimal java_hash_code(text): "23456789", "-1234567" or "42".
std::string java_hash_tail(std::string_view text);

} // namespace pgdest::schema
