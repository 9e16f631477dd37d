#pragma once
// The fuzz targets' oracle: every row the encoder writes must be one PostgreSQL's binary COPY
// accepts for the stream's table, whatever the input was.
#include <string_view>
#include <vector>

#include "pgdest/schema/column.hpp"

namespace pgdest::fuzz {

// Reads every row of `rows` (binary COPY rows of a table with `columns`, as RecordEncoder writes
// them) and aborts, naming the field, at the first value PostgreSQL would refuse: a wrong field
// count or length, text that is not UTF-8 or holds NUL, JSON that does not parse, a numeric with
// bad digits, a date or time out of range.
void check_copy_rows(std::string_view rows, const std::vector<schema::Column>& columns);

} // namespace pgdest::fuzz
