#pragma once
// SQL text for everything the connector runs. Pure: identifiers are quoted here, values never
// appear in the text (they travel as parameters or in COPY data).
#include <string>
#include <vector>

#include "pgdest/postgres/identifier.hpp"
#include "pgdest/schema/column.hpp"

namespace pgdest::postgres::sql {

// The four columns every table starts with, in order, with their DDL types.
struct MetaColumn {
  const char* name;
  const char* type;
};
const std::vector<MetaColumn>& meta_columns();

std::string create_schema(const Identifier& schema);
std::string create_table(const TableRef& table, const std::vector<schema::Column>& columns);
std::string create_index(const Identifier& index, const TableRef& table,
                         const std::vector<std::string>& columns);
std::string add_column(const TableRef& table, const schema::Column& column);
std::string copy_binary_from_stdin(const TableRef& table, const std::vector<std::string>& columns);

std::string truncate_table(const TableRef& table);
std::string analyze(const TableRef& table, const std::vector<std::string>& columns);
std::string drop_table(const TableRef& table);
std::string drop_index(const Identifier& schema, const Identifier& index);
// INSERT INTO `to` (columns) SELECT columns FROM `from`.
std::string insert_select(const TableRef& to, const TableRef& from,
                          const std::vector<std::string>& columns);
// Changes a column's type in place; `using_expression` converts the old value (may be empty).
std::string alter_column_type(const TableRef& table, const std::string& column,
                              schema::ColumnType type, const std::string& using_expression);

// The name of the arrival-order column of a dedup batch table.
inline constexpr const char* batch_sequence_column = "_airbyte_batch_seq";
// A session-private table shaped like `like`, emptied at every commit, that a dedup stream's rows
// are copied into before they are merged. Rows keep their arrival order in batch_sequence_column.
std::string create_batch_table(const Identifier& batch, const TableRef& like);

// What a merge of a batch into a deduplicated table needs.
struct MergeSpec {
  TableRef target;
  Identifier batch;                 // a table made by create_batch_table, in pg_temp
  std::vector<std::string> key;     // primary key columns
  std::string cursor;               // cursor column, or empty
  std::vector<std::string> columns; // the columns to insert
  std::string deleted_at;           // "_ab_cdc_deleted_at" when rows with it set must be deleted
};
// Statements that leave one row per key in the target: the newest of the batch's rows and the
// target's rows by (cursor, NULL lowest; _airbyte_extracted_at; arrival). They dedup the batch in
// place first. Their cost grows with the batch, not the target (an index on the key serves every
// lookup).
std::vector<std::string> merge_batch(const MergeSpec& merge);

// Parameters: $1 schema. One row when the schema exists.
std::string select_schema();
// Parameters: $1 schema, $2 table. Rows: column name, type as format_type() spells it.
std::string select_columns();
// Parameters: $1 schema, $2 table, $3 column. Rows: one per index whose first column is $3.
std::string select_indexes_on_column();
// Parameters: $1 schema, $2 index name. Rows: the index's columns, in order.
std::string select_index_columns();
// One row: the _airbyte_generation_id of some row of the table, or no row when it is empty.
std::string select_any_generation(const TableRef& table);

} // namespace pgdest::postgres::sql
