#pragma once
// Stream plans whose columns cover every column type, for the targets that encode records.
#include <vector>

#include "pgdest/catalog/stream_plan.hpp"
#include "pgdest/schema/column.hpp"

namespace pgdest::fuzz {

// One column per ColumnType; a column's source name is its type's name ("varchar", "date", ...,
// "jsonb"), so seeds say which type a value goes to.
std::vector<schema::Column> every_type_columns();

// Streams "s", "n.s" and "n.other", each with every_type_columns(): enough for the reader's
// namespace matching (a name two namespaces share, a name only one has).
std::vector<catalog::StreamPlan> every_type_plans();

} // namespace pgdest::fuzz
