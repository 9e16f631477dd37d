// Table names for streams, Airbyte's stream collision rule, and names of derived objects.
//
// Matched (airbytehq/airbyte, bulk CDK TableCatalogFactory.getTableCatalog and the newer
// TableNameResolver, with destination-postgres' PostgresTableSchemaMapper.toFinalTableName):
// - typed: table = (normalize(namespace ?: config schema), normalize(name)).
// - raw (legacyRawTablesOnly): table = (normalize(lower(raw_data_schema)),
//   normalize(lower(TypingDedupingUtil.concatenateRawTableName(namespace ?: config schema,
//   name)))), with raw_data_schema "airbyte_internal" when blank.
// - Streams are taken in catalog order; when a table is already taken (exact, case-sensitive
//   match of both parts), the stream's name becomes name + "_" + the first 3 hex digits of
//   SHA-1("<normalised schema>&airbyte&<original name>") and its table is named again.
// Beyond Airbyte, which does not check the hash-suffixed name again: while that name is still
// taken we use 4, 5, ... hex digits of the same SHA-1, so two streams never share a table.
// An empty namespace counts as absent (Airbyte would normalise "" to a random name).
#include "pgdest/schema/table_namer.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <set>
#include <utility>

#include "pgdest/error.hpp"
#include "pgdest/schema/identifier_normalizer.hpp"

namespace pgdest::schema {

namespace {

std::uint32_t rotate_left(std::uint32_t value, unsigned bits) {
  return (value << bits) | (value >> (32 - bits));
}

// SHA-1 (FIPS 180-4) of `text` as 40 lower-case hex digits, like commons-codec's sha1Hex.
std::string sha1_hex(std::string_view text) {
  std::array<std::uint32_t, 5> h = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  std::string message(text);
  const std::uint64_t bit_length = static_cast<std::uint64_t>(text.size()) * 8;
  message += static_cast<char>(0x80);
  while (message.size() % 64 != 56)
    message += '\0';
  for (int shift = 56; shift >= 0; shift -= 8)
    message += static_cast<char>((bit_length >> shift) & 0xFF);

  for (std::size_t block = 0; block < message.size(); block += 64) {
    std::array<std::uint32_t, 80> w{};
    for (std::size_t i = 0; i < 16; ++i) {
      for (std::size_t j = 0; j < 4; ++j)
        w[i] = (w[i] << 8) | static_cast<unsigned char>(message[block + 4 * i + j]);
    }
    for (std::size_t i = 16; i < 80; ++i)
      w[i] = rotate_left(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (std::size_t i = 0; i < 80; ++i) {
      std::uint32_t f = 0;
      std::uint32_t k = 0;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5A827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ED9EBA1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8F1BBCDC;
      } else {
        f = b ^ c ^ d;
        k = 0xCA62C1D6;
      }
      const std::uint32_t next = rotate_left(a, 5) + f + e + k + w[i];
      e = d;
      d = c;
      c = rotate_left(b, 30);
      b = a;
      a = next;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
  }

  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  for (const std::uint32_t word : h) {
    for (int shift = 28; shift >= 0; shift -= 4)
      hex += digits[(word >> shift) & 0xF];
  }
  return hex;
}

// The byte length of the longest prefix of `text` within `limit` bytes that does not cut a UTF-8
// sequence.
std::size_t utf8_prefix_length(std::string_view text, std::size_t limit) {
  if (text.size() <= limit)
    return text.size();
  std::size_t length = limit;
  while (length > 0 && (static_cast<unsigned char>(text[length]) & 0xC0u) == 0x80u)
    --length;
  return length;
}

// The table of the stream (`stream_namespace`, `name`) before collisions are looked at.
TableName table_for(const std::optional<std::string>& stream_namespace, std::string_view name,
                    const TableNaming& naming) {
  const std::string_view schema = stream_namespace && !stream_namespace->empty()
                                      ? std::string_view(*stream_namespace)
                                      : std::string_view(naming.default_schema);
  if (!naming.raw_schema)
    return {normalize_identifier(schema), normalize_identifier(name)};
  return {raw_schema_name(*naming.raw_schema), canonical_identifier(raw_table_stem(schema, name))};
}

} // namespace

std::vector<TableName> resolve_table_names(const std::vector<StreamName>& streams,
                                           const TableNaming& naming) {
  std::vector<TableName> tables;
  std::set<std::pair<std::string, std::string>> taken;
  for (const StreamName& stream : streams) {
    TableName table = table_for(stream.stream_namespace, stream.name, naming);
    if (taken.count({table.schema, table.table}) != 0) {
      const std::string hash = sha1_hex(table.schema + "&airbyte&" + stream.name);
      for (std::size_t digits = 3; taken.count({table.schema, table.table}) != 0; ++digits) {
        if (digits > hash.size())
          throw SystemError("Cannot find a free table name for stream " + stream.name + ".");
        table =
            table_for(stream.stream_namespace, stream.name + "_" + hash.substr(0, digits), naming);
      }
    }
    taken.insert({table.schema, table.table});
    tables.push_back(std::move(table));
  }
  return tables;
}

std::vector<std::string> resolve_history_names(const std::vector<TableName>& tables,
                                               const std::vector<bool>& wanted) {
  std::set<std::pair<std::string, std::string>> taken;
  for (const TableName& table : tables)
    taken.insert({table.schema, table.table});
  std::vector<std::string> names(tables.size());
  for (std::size_t i = 0; i < tables.size(); ++i) {
    if (!wanted[i])
      continue;
    const TableName& table = tables[i];
    std::string name = derived_name(table.table, "_scd");
    if (taken.count({table.schema, name}) != 0) {
      const std::string hash = sha1_hex(table.schema + "&airbyte&" + table.table);
      for (std::size_t digits = 3; taken.count({table.schema, name}) != 0; ++digits) {
        if (digits > hash.size())
          throw SystemError("Cannot find a free history table name for table " + table.table + ".");
        name = derived_name(table.table + "_" + hash.substr(0, digits), "_scd");
      }
    }
    taken.insert({table.schema, name});
    names[i] = std::move(name);
  }
  return names;
}

std::string raw_table_stem(std::string_view stream_namespace, std::string_view name) {
  std::size_t longest_run = 1; // as if there were always one "_": never "_raw_stream_"
  std::size_t run = 0;
  for (const std::string_view part : {stream_namespace, name}) {
    for (const char c : part) {
      run = c == '_' ? run + 1 : 0;
      longest_run = std::max(longest_run, run);
    }
  }
  return std::string(stream_namespace) + "_raw" + std::string(longest_run + 1, '_') + "stream_" +
         std::string(name);
}

std::string raw_schema_name(std::string_view raw_data_schema) {
  return canonical_identifier(raw_data_schema);
}

std::string derived_name(std::string_view base, std::string_view suffix) {
  if (base.size() + suffix.size() <= max_identifier_bytes)
    return std::string(base) + std::string(suffix);
  const std::string tail = java_hash_tail(base);
  const std::size_t fixed = 1 + tail.size() + suffix.size();
  if (fixed >= max_identifier_bytes)
    throw SystemError("The name suffix \"" + std::string(suffix) + "\" is too long.");
  const std::size_t kept = utf8_prefix_length(base, max_identifier_bytes - fixed);
  return std::string(base.substr(0, kept)) + "_" + tail + std::string(suffix);
}

} // namespace pgdest::schema
