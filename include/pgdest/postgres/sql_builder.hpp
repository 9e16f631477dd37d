#pragma once
// SQL text for everything the connector runs. Pure: identifiers are quoted here, values never
// appear in the text (they travel as parameters or in COPY data).
#include <string>
#include <string_view>
#include <vector>

#include "pgdest/postgres/identifier.hpp"
#include "pgdest/schema/column.hpp"

namespace pgdest::postgres::sql {

// A column a table has for its layout rather than for a stream's property, with its DDL type.
struct MetaColumn {
  const char* name;
  const char* type;
  bool not_null;
  // What rows of a table made before the column existed read, when it is added to such a table
  // (Airbyte's 2.x connector made tables without the last two); nullptr: a table without this
  // column was not made by an Airbyte destination.
  const char* default_for_older_rows;
};
// The four columns every table starts with, in order.
const std::vector<MetaColumn>& meta_columns();
// The columns a table of `layout` has before any user column: the four meta columns, and for a
// raw table then _airbyte_loaded_at (always NULL here) and _airbyte_data, as in Airbyte 3.x.
const std::vector<MetaColumn>& layout_columns(schema::TableLayout layout);

// A string constant for SQL text that reads the same whatever standard_conforming_strings is:
// quotes doubled, and with backslashes an escape string (E'...') whose backslashes are doubled.
// For statements that take no parameters (COMMENT, WITH options); values otherwise travel apart.
std::string literal(std::string_view text);

// The indexes the connector makes on every table it loads, as name suffixes of the table's name
// (the dedup key index on tables of append_dedup streams).
inline constexpr const char* kExtractedAtIndexSuffix = "_extracted_at_idx";
inline constexpr const char* kKeyIndexSuffix = "_pk_idx";

std::string create_schema(const Identifier& schema);
std::string create_table(const TableRef& table, schema::TableLayout layout,
                         const std::vector<schema::Column>& columns);
std::string create_index(const Identifier& index, const TableRef& table,
                         const std::vector<std::string>& columns);
std::string add_column(const TableRef& table, const schema::Column& column);
// Adds a meta column to a table made before it existed: nullable, as Airbyte's own migration adds
// it, with a default that the rows already there read (and rows written by a connector that does
// not know the column get).
std::string add_meta_column(const TableRef& table, const MetaColumn& meta);
std::string copy_binary_from_stdin(const TableRef& table, const std::vector<std::string>& columns);

std::string truncate_table(const TableRef& table);
// Keeps every other session from reading or changing the table until the transaction ends.
std::string lock_table(const TableRef& table);
// Deletes every row, MVCC-safe (unlike TRUNCATE, older snapshots still see them).
std::string delete_all_rows(const TableRef& table);
std::string analyze(const TableRef& table, const std::vector<std::string>& columns);
std::string drop_table(const TableRef& table);
std::string drop_index(const Identifier& schema, const Identifier& index);
// INSERT INTO `to` (columns) SELECT columns FROM `from`.
std::string insert_select(const TableRef& to, const TableRef& from,
                          const std::vector<std::string>& columns);
// Changes a column's type in place; `using_expression` converts the old value (may be empty).
std::string alter_column_type(const TableRef& table, const std::string& column,
                              schema::ColumnType type, const std::string& using_expression);

// A temporary table of a dedup target's key columns, dropped when the transaction that creates it
// ends: the keys whose rows the commit's DELETE looks at. A table of the same name left in the
// session (by another client of a pooled server connection) is dropped first.
std::string create_keys_table(const Identifier& keys, const std::vector<schema::Column>& key);

// What the DELETE that deduplicates a table needs.
struct DedupSpec {
  TableRef target;
  Identifier keys;              // a table made by create_keys_table, in pg_temp
  std::vector<std::string> key; // primary key columns
  std::string cursor;           // cursor column, or empty
  std::string deleted_at;       // "_ab_cdc_deleted_at" when rows with it set must be deleted
};
// One statement that leaves, of the target's rows with a key in the keys table, only the newest
// per key by (cursor, NULL lowest; _airbyte_extracted_at; _airbyte_raw_id, which our UUID v7 ids
// order by arrival), and not even that one when it is a CDC deletion. NULL key parts match each
// other. Its cost follows the keys: each is looked up once in the target's key index, in key order
// (for keys of more than kMaxKeyPartsByPattern parts, those with NULL parts are not).
// `then`, when given, runs last in the same statement, with the number of rows deleted in the
// variable kRowsDeletedVariable: the sync log's row of the commit, counted in its transaction.
std::string delete_superseded(const DedupSpec& dedup, std::string_view then = {});
inline constexpr const char* kRowsDeletedVariable = "_airbyte_rows_deleted";
inline constexpr std::size_t kMaxKeyPartsByPattern = 4;

// A column of one of the connector's own tables: its name and its definition in CREATE TABLE.
struct OwnColumn {
  const char* name;
  const char* definition;
};
// The columns of the table of rejected values, in order: those rows are copied into first
// (encode::RejectedValueEncoder::copy_columns()), then `rejected_at`, the time of the transaction.
const std::vector<OwnColumn>& rejected_values_columns();
// Creates the table of rejected values, unless it exists, with `index` on the destination table
// and raw id; one message, so one transaction.
std::string create_rejected_values_table(const TableRef& table, const Identifier& index);

// History mode. A history table has the target's columns, then these, named after Airbyte's old
// normalization SCD tables: _airbyte_unique_key (MD5 of the key parts), _airbyte_start_at and
// _airbyte_end_at (the version's cursor value, or its extraction time without a cursor, and the
// next version's; the end is NULL for a key's last version), _airbyte_active_row (the key's
// current version: its newest, unless that is a CDC deletion).
const std::vector<std::string>& history_column_names();
std::vector<schema::Column> history_columns(schema::ColumnType start_type);

struct HistorySpec {
  DedupSpec dedup;                  // the target, its keys table, key, cursor and deletions
  TableRef table;                   // the history table
  std::vector<std::string> columns; // the target's columns that the history copies
};
// Run in the transaction that copied rows into the target, before its dedup DELETE: adds each of
// the transaction's rows whose key is in the keys table to the history as a version, placed among
// the transaction's versions of its key, then places every version of those keys again (end,
// active flag) from the history's own columns, updating only the versions that changed. Versions
// are ordered as the DELETE orders rows. Its cost follows the keys: each is looked up in the
// target's and the history's key indexes.
std::string record_history(const HistorySpec& history);
// Starts the history of a target whose rows came before it: each row becomes a version, placed as
// record_history() places them.
std::string start_history(const HistorySpec& history);

// Parameters: $1 schema. One row: current user, current database, may the user create schemas
// ("t"/"f"), does the schema exist, may the user use and create tables in it.
std::string select_schema_privileges();
// Parameters: $1 schema, $2 table. Rows: column name, type as format_type() spells it.
std::string select_columns();
// Parameters: $1 schema, $2 table, $3 column. Rows: one per index whose first column is $3.
std::string select_indexes_on_column();
// Parameters: $1 schema, $2 index name. Rows: the index's columns, in order.
std::string select_index_columns();
// Parameters: $1 schema, $2 table. One row: may the user insert into the table ("t"/"f").
std::string select_insert_privilege();
// One row: the _airbyte_generation_id of some row of the table, or no row when it is empty.
std::string select_any_generation(const TableRef& table);

} // namespace pgdest::postgres::sql
