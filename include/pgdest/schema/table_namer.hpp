#pragma once
// Streams → destination tables, and names for the objects derived from a table.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgdest::schema {

// A stream as the catalog names it; an absent or empty namespace means the config's schema.
struct StreamName {
  std::optional<std::string> stream_namespace;
  std::string name;
};

// A destination table; both parts normalised and unquoted.
struct TableName {
  std::string schema;
  std::string table;

  bool operator==(const TableName& other) const {
    return schema == other.schema && table == other.table;
  }
  bool operator!=(const TableName& other) const { return !(*this == other); }
};

// One distinct TableName per stream, in the same order. A stream whose table an earlier stream
// already took gets a hash-suffixed table name, as Airbyte does, so the result depends only on
// the streams and their order.
std::vector<TableName> resolve_table_names(const std::vector<StreamName>& streams,
                                           std::string_view default_schema);

// base + suffix when that fits in 63 bytes, else base cut short + "_" + java_hash_tail(base) +
// suffix: a stable name for a staging table or an index of table `base`. `suffix` carries its own
// separator ("_airbyte_tmp"). Throws SystemError when `suffix` leaves no room for the base.
std::string derived_name(std::string_view base, std::string_view suffix);

} // namespace pgdest::schema
