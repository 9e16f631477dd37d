// Builds the SQL text the connector sends: DDL, COPY and catalog queries.
#include "pgdest/postgres/sql_builder.hpp"

#include <fmt/format.h>

namespace pgdest::postgres::sql {
namespace {

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty()) out += ", ";
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
    if (!definitions.empty()) definitions += ", ";
    definitions += fmt::format("{} {} NOT NULL", Identifier(meta.name).quoted(), meta.type);
  }
  for (const auto& column : columns)
    definitions += fmt::format(", {} {}", Identifier(column.name).quoted(), schema::sql_type(column.type));
  return fmt::format("CREATE TABLE {} ({})", table.quoted(), definitions);
}

std::string create_index(const Identifier& index, const TableRef& table, const std::vector<std::string>& columns) {
  return fmt::format("CREATE INDEX IF NOT EXISTS {} ON {} ({})", index.quoted(), table.quoted(), quoted_list(columns));
}

std::string add_column(const TableRef& table, const schema::Column& column) {
  return fmt::format("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}", table.quoted(), Identifier(column.name).quoted(),
                     schema::sql_type(column.type));
}

std::string copy_binary_from_stdin(const TableRef& table, const std::vector<std::string>& columns) {
  return fmt::format("COPY {} ({}) FROM STDIN WITH (FORMAT binary)", table.quoted(), quoted_list(columns));
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

} // namespace pgdest::postgres::sql
