// libFuzzer target: the input bytes are a record's `data`, encoded for a table with a column of
// every type, and for a raw table. Malformed JSON must be MalformedJson; every row written must be
// one PostgreSQL accepts.
#include <cstdint>
#include <vector>

#include <simdjson.h>

#include "copy_row_check.hpp"
#include "every_type_catalog.hpp"
#include "pgdest/encode/copy_buffer.hpp"
#include "pgdest/encode/json_writer.hpp"
#include "pgdest/encode/raw_record_encoder.hpp"
#include "pgdest/encode/record_encoder.hpp"

using namespace pgdest;

namespace {

// Encodes `json` twice into `rows` (the second record of a typed table takes the path that
// predicts columns from the first one's keys); false when it is not a JSON object or is
// malformed.
bool encode_twice(const simdjson::padded_string& json, encode::RowEncoder& encoder,
                  encode::CopyBuffer& rows) {
  static simdjson::ondemand::parser parser;
  static const bool deep = (encode::allow_parser_depth(parser), true);
  (void)deep;
  for (int round = 0; round < 2; ++round) {
    simdjson::ondemand::document document;
    simdjson::ondemand::object object;
    if (parser.iterate(json).get(document) || document.get_object().get(object))
      return false;
    try {
      encoder.encode(object, {1700000000000, {}}, rows);
    } catch (const encode::MalformedJson&) {
      return false;
    }
  }
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<schema::Column> columns = fuzz::every_type_columns();
  // A raw row is laid out as a typed row with one jsonb column.
  static const std::vector<schema::Column> raw_columns = {
      {"_airbyte_data", "_airbyte_data", schema::ColumnType::jsonb}};
  simdjson::padded_string json(reinterpret_cast<const char*>(data), size);
  encode::RecordEncoder typed(columns, 3, 7);
  encode::CopyBuffer rows;
  if (encode_twice(json, typed, rows))
    fuzz::check_copy_rows(rows.view(), columns);
  encode::RawRecordEncoder raw(3, 7);
  encode::CopyBuffer raw_rows;
  if (encode_twice(json, raw, raw_rows))
    fuzz::check_copy_rows(raw_rows.view(), raw_columns);
  return 0;
}
