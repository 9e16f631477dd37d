#pragma once
// Rows of the connector's table of rejected values: for each value a stream's encoder NULLed or
// truncated, where it was going (stream, table, record, field), what was done and why, and the
// value's JSON text as it arrived, so that it can be looked at and repaired.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pgdest/encode/copy_buffer.hpp"
#include "pgdest/encode/row_encoder.hpp"

namespace pgdest::encode {

// Whose rejected values they are: the same in every row of one stream.
struct RejectedValueSource {
  std::optional<std::string> stream_namespace; // none or empty: NULL
  std::string stream_name;
  std::string table_schema; // the stream's final table
  std::string table_name;
  std::int64_t sync_id = 0;
};

// Encodes the rejected values of one stream's records. Keeps its buffers between records.
class RejectedValueEncoder {
public:
  // An original text longer than this is kept as its first kKeptPrefixBytes (cut back to a whole
  // UTF-8 character), with its size and SHA-256: it is the most a jsonb value holds, and every
  // value NULLed because it is too large for its column is longer.
  static constexpr std::size_t kMaxWholeOriginalBytes = kMaxJsonbBytes;
  static constexpr std::size_t kKeptPrefixBytes = 64 * 1024;

  explicit RejectedValueEncoder(const RejectedValueSource& source);

  // Unquoted column names in COPY order.
  static const std::vector<std::string>& copy_columns();

  // After `encoder` finished a record that has_rejected(): appends one row per value it NULLed or
  // truncated to `out`; returns how many.
  std::size_t encode(const RowEncoder& encoder, CopyBuffer& out);

  // kMaxWholeOriginalBytes; lowered by tests.
  std::size_t max_whole_original_bytes = kMaxWholeOriginalBytes;

private:
  std::string source_fields_; // the COPY fields every row of the stream starts with
  std::vector<RejectedValue> values_;
};

} // namespace pgdest::encode
