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

// How streams are given tables: the config's choices.
struct TableNaming {
  // The config's `schema`: the schema of a stream without a namespace, and the namespace part of
  // its raw table's name.
  std::string default_schema;
  // Set in raw tables mode (`disable_type_dedupe`): the config's `raw_data_schema`, as given,
  // which holds every stream's raw table.
  std::optional<std::string> raw_schema = std::nullopt;
  // `history_mode`: typed append_dedup streams also get a history table (resolve_history_names).
  bool history = false;
};

// One distinct TableName per stream, in the same order. A stream whose table an earlier stream
// already took gets a hash-suffixed table name, as Airbyte does, so the result depends only on
// the streams and their order.
std::vector<TableName> resolve_table_names(const std::vector<StreamName>& streams,
                                           const TableNaming& naming);

// Airbyte's raw table name before normalisation: namespace, "_raw", one "_" more than the longest
// run of "_" in namespace + name (two at least), "stream_", name. Since the separator's run is
// longer than any run in the parts, two different streams never get the same name.
std::string raw_table_stem(std::string_view stream_namespace, std::string_view name);

// The schema of raw tables: `raw_data_schema` lower-cased and normalised, as Airbyte names it.
std::string raw_schema_name(std::string_view raw_data_schema);

// The history table (history mode) of each table in `tables` whose `wanted` entry is true, in the
// same schema; empty for the others. Named derived_name(table, "_scd"); when a stream's table or
// an earlier history table already has that name, table + "_" + the first 3 (4, 5, ...) hex
// digits of SHA-1("<schema>&airbyte&<table>") is the base instead, as stream collisions are
// resolved. Depends only on the tables and their order.
std::vector<std::string> resolve_history_names(const std::vector<TableName>& tables,
                                               const std::vector<bool>& wanted);

// base + suffix when that fits in 63 bytes, else base cut short + "_" + java_hash_tail(base) +
// suffix: a stable name for a staging table or an index of table `base`. `suffix` carries its own
// separator ("_airbyte_tmp"). Throws SystemError when `suffix` leaves no room for the base.
std::string derived_name(std::string_view base, std::string_view suffix);

} // namespace pgdest::schema
