// libFuzzer target: the input bytes are a record's `data`, encoded for a table with a column of
// every type. Malformed JSON must be MalformedJson; every row written must be one PostgreSQL
// accepts.
#include <cstdint>
#include <vector>

#include <simdjson.h>

#include "copy_row_check.hpp"
#include "every_type_catalog.hpp"
#include "pgdest/encode/copy_buffer.hpp"
#include "pgdest/encode/json_writer.hpp"
#include "pgdest/encode/record_encoder.hpp"

using namespace pgdest;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<schema::Column> columns = fuzz::every_type_columns();
  static simdjson::ondemand::parser parser;
  static const bool deep = (encode::allow_parser_depth(parser), true);
  (void)deep;
  simdjson::padded_string json(reinterpret_cast<const char*>(data), size);
  encode::RecordEncoder encoder(columns, 3, 7);
  encode::CopyBuffer rows;
  // Twice: the second record takes the path that predicts columns from the first one's keys.
  for (int round = 0; round < 2; ++round) {
    simdjson::ondemand::document document;
    simdjson::ondemand::object object;
    if (parser.iterate(json).get(document) || document.get_object().get(object))
      return 0;
    try {
      encoder.encode(object, {1700000000000, {}}, rows);
    } catch (const encode::MalformedJson&) {
      return 0;
    }
  }
  fuzz::check_copy_rows(rows.view(), columns);
  return 0;
}
