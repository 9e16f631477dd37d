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
std::string create_index(const Identifier& index, const TableRef& table, const std::vector<std::string>& columns);
std::string add_column(const TableRef& table, const schema::Column& column);
std::string copy_binary_from_stdin(const TableRef& table, const std::vector<std::string>& columns);

// Parameters: $1 schema, $2 table. Rows: column name, type as format_type() spells it.
std::string select_columns();
// Parameters: $1 schema, $2 table, $3 column. Rows: one per index whose first column is $3.
std::string select_indexes_on_column();

} // namespace pgdest::postgres::sql
