#pragma once
// Reads and encodes messages exactly as `write` does, without a database: for measuring what
// parsing and encoding cost on their own.
#include <vector>

#include "pgdest/catalog/stream_plan.hpp"
#include "pgdest/protocol/message_writer.hpp"

namespace pgdest::write {

// Encodes every record of `input_fd` into rows that are then dropped; logs the counts and time.
// With `parse_only`, parses every value of every record instead (strings unescaped, numbers
// converted) and encodes nothing.
void encode_only(const std::vector<catalog::StreamPlan>& plans, int input_fd,
                 protocol::MessageWriter& out, bool parse_only = false);

} // namespace pgdest::write
