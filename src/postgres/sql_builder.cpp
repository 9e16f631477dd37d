// Builds the SQL text the connector sends: DDL, COPY and catalog queries.
#include "pgdest/postgres/sql_builder.hpp"

#include <fmt/format.h>

namespace pgdest::postgres::sql {
namespace {

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty())
      out += ", ";
    out += Identifier(name).quoted();
  }
  return out;
}

} // namespace

const std::vector<MetaColumn>& meta_columns() {
  static const std::vector<MetaColumn> columns = {
      {"_airbyte_raw_id", "character varying"},
      {"_airbyte_extracted_at", "timestamp with time zone"},
      {"_airbyte_meta", "jsonb"},
      {"_airbyte_generation_id", "bigint"},
  };
  return columns;
}

std::string create_schema(const Identifier& schema) {
  return fmt::format("CREATE SCHEMA IF NOT EXISTS {}", schema.quoted());
}

std::string create_table(const TableRef& table, const std::vector<schema::Column>& columns) {
  std::string definitions;
  for (const auto& meta : meta_columns()) {
    if (!definitions.empty())
      definitions += ", ";
    definitions += fmt::format("{} {} NOT NULL", Identifier(meta.name).quoted(), meta.type);
  }
  for (const auto& column : columns)
    definitions +=
        fmt::format(", {} {}", Identifier(column.name).quoted(), schema::sql_type(column.type));
  return fmt::format("CREATE TABLE {} ({})", table.quoted(), definitions);
}

std::string create_index(const Identifier& index, const TableRef& table,
                         const std::vector<std::string>& columns) {
  return fmt::format("CREATE INDEX IF NOT EXISTS {} ON {} ({})", index.quoted(), table.quoted(),
                     quoted_list(columns));
}

std::string add_column(const TableRef& table, const schema::Column& column) {
  return fmt::format("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}", table.quoted(),
                     Identifier(column.name).quoted(), schema::sql_type(column.type));
}

std::string copy_binary_from_stdin(const TableRef& table, const std::vector<std::string>& columns) {
  return fmt::format("COPY {} ({}) FROM STDIN WITH (FORMAT binary)", table.quoted(),
                     quoted_list(columns));
}

std::string truncate_table(const TableRef& table) {
  return "TRUNCATE TABLE " + table.quoted();
}

std::string analyze(const TableRef& table, const std::vector<std::string>& columns) {
  return fmt::format("ANALYZE {} ({})", table.quoted(), quoted_list(columns));
}

std::string drop_table(const TableRef& table) {
  return "DROP TABLE IF EXISTS " + table.quoted();
}

std::string drop_index(const Identifier& schema, const Identifier& index) {
  return fmt::format("DROP INDEX IF EXISTS {}.{}", schema.quoted(), index.quoted());
}

std::string insert_select(const TableRef& to, const TableRef& from,
                          const std::vector<std::string>& columns) {
  auto list = quoted_list(columns);
  return fmt::format("INSERT INTO {} ({}) SELECT {} FROM {}", to.quoted(), list, list,
                     from.quoted());
}

std::string alter_column_type(const TableRef& table, const std::string& column,
                              schema::ColumnType type, const std::string& using_expression) {
  std::string sql = fmt::format("ALTER TABLE {} ALTER COLUMN {} TYPE {}", table.quoted(),
                                Identifier(column).quoted(), schema::sql_type(type));
  if (!using_expression.empty())
    sql += " USING " + using_expression;
  return sql;
}

std::string create_batch_table(const Identifier& batch, const TableRef& like) {
  // ON COMMIT DELETE ROWS: each transaction starts with an empty batch, also after a reconnect.
  return fmt::format(
      "CREATE TEMP TABLE IF NOT EXISTS {} ({} bigserial, LIKE {}) ON COMMIT DELETE ROWS",
      batch.quoted(), Identifier(batch_sequence_column).quoted(), like.quoted());
}

namespace {

// `left.k = right.k AND ...`, or IS NOT DISTINCT FROM when NULL key parts must match each other.
std::string key_match(const std::vector<std::string>& key, const char* left, const char* right,
                      bool null_safe) {
  std::string out;
  for (const auto& column : key) {
    if (!out.empty())
      out += " AND ";
    auto quoted = Identifier(column).quoted();
    out += fmt::format("{}.{} {} {}.{}", left, quoted, null_safe ? "IS NOT DISTINCT FROM" : "=",
                       right, quoted);
  }
  return out;
}

// True when the target row t is newer than the batch row w: greater cursor (NULL lowest), then
// later _airbyte_extracted_at. Never NULL, so NOT(...) is its exact opposite.
std::string target_is_newer(const std::string& cursor) {
  const std::string extracted = "t.\"_airbyte_extracted_at\" > w.\"_airbyte_extracted_at\"";
  if (cursor.empty())
    return extracted;
  auto c = Identifier(cursor).quoted();
  return fmt::format(
      "(CASE WHEN t.{0} IS NULL AND w.{0} IS NULL THEN {1} WHEN t.{0} IS NULL THEN false "
      "WHEN w.{0} IS NULL THEN true WHEN t.{0} <> w.{0} THEN t.{0} > w.{0} ELSE {1} END)",
      c, extracted);
}

std::string prefixed_list(const char* alias, const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty())
      out += ", ";
    out += std::string(alias) + "." + Identifier(name).quoted();
  }
  return out;
}

} // namespace

std::vector<std::string> merge_batch(const MergeSpec& merge) {
  auto key = quoted_list(merge.key);
  auto batch = "pg_temp." + merge.batch.quoted();
  auto sequence = Identifier(batch_sequence_column).quoted();
  std::string order;
  if (!merge.cursor.empty())
    order += Identifier(merge.cursor).quoted() + " DESC NULLS LAST, ";
  order += "\"_airbyte_extracted_at\" DESC, " + sequence + " DESC";
  auto target = merge.target.quoted();
  auto newer = target_is_newer(merge.cursor);
  auto columns = quoted_list(merge.columns);
  std::string keep_deleted;
  if (!merge.deleted_at.empty())
    keep_deleted = " AND w." + Identifier(merge.deleted_at).quoted() + " IS NULL";
  // Target rows the batch's row replaces go; then the batch rows that no newer target row beats
  // come in.
  auto merge_into_target = [&](bool null_safe) {
    auto match = key_match(merge.key, "t", "w", null_safe);
    return fmt::format("DELETE FROM {0} t USING {1} w WHERE {2} AND NOT {3}; "
                       "INSERT INTO {0} ({4}) SELECT {5} FROM {1} w WHERE NOT EXISTS "
                       "(SELECT 1 FROM {0} t WHERE {2}){6};",
                       target, batch, match, newer, columns, prefixed_list("w", merge.columns),
                       keep_deleted);
  };
  std::string any_null_key;
  for (const auto& column : merge.key)
    any_null_key += (any_null_key.empty() ? "" : " OR ") + Identifier(column).quoted() + " IS NULL";
  return {
      // Only the newest row per key stays in the batch. PARTITION BY puts NULL key parts together:
      // such keys dedup as one.
      fmt::format("DELETE FROM {0} WHERE {1} IN (SELECT {1} FROM (SELECT {1}, row_number() OVER "
                  "(PARTITION BY {2} "
                  "ORDER BY {3}) AS position FROM {0}) ranked WHERE position > 1)",
                  batch, sequence, key, order),
      // The planner must know how small the batch is next to the target.
      fmt::format("ANALYZE {} ({})", batch, key),
      // Equality keeps the key index usable; the NULL-safe form, which cannot use it, runs only
      // for a batch that has NULL key parts. Against a target much larger than the batch, lookups
      // go through the key index, one per batch row, so the cost follows the batch: a hash or
      // merge join would read the whole target, and the planner picks one even for a small batch
      // (more so for a target it has no statistics on). Names are normalised: no quotes inside.
      fmt::format("DO $merge$ BEGIN IF pg_relation_size('{0}') > 4 * pg_relation_size('{1}') THEN "
                  "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; END IF; "
                  "IF EXISTS (SELECT 1 FROM {1} WHERE {2}) THEN {3} ELSE {4} END IF; "
                  "RESET enable_hashjoin; RESET enable_mergejoin; END $merge$",
                  target, batch, any_null_key, merge_into_target(true), merge_into_target(false)),
  };
}

std::string select_schema() {
  return "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1";
}

std::string select_columns() {
  return "SELECT a.attname, format_type(a.atttypid, a.atttypmod) "
         "FROM pg_catalog.pg_attribute a "
         "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
         "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
         "WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped "
         "ORDER BY a.attnum";
}

std::string select_indexes_on_column() {
  // indkey[0] is the index's first column; an index led by the column serves our lookups.
  return "SELECT i.indexrelid::regclass::text "
         "FROM pg_catalog.pg_index i "
         "JOIN pg_catalog.pg_class c ON c.oid = i.indrelid "
         "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
         "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] "
         "WHERE n.nspname = $1 AND c.relname = $2 AND a.attname = $3";
}

std::string select_index_columns() {
  return "SELECT a.attname FROM pg_catalog.pg_index i "
         "JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
         "JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace "
         "JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position) ON true "
         "JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
         "WHERE n.nspname = $1 AND ic.relname = $2 ORDER BY k.position";
}

std::string select_any_generation(const TableRef& table) {
  return fmt::format("SELECT \"_airbyte_generation_id\"::text FROM {} LIMIT 1", table.quoted());
}

} // namespace pgdest::postgres::sql
