// libFuzzer target: the input bytes are a record's `data`, encoded for a table with a column of
// every type, and for a raw table. Malformed JSON must be MalformedJson; every row written must be
// one PostgreSQL accepts; every value reported as rejected must be one JSON value of the input.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <simdjson.h>

#include "copy_row_check.hpp"
#include "every_type_catalog.hpp"
#include "json_check.hpp"
#include "pgdest/encode/copy_buffer.hpp"
#include "pgdest/encode/json_writer.hpp"
#include "pgdest/encode/raw_record_encoder.hpp"
#include "pgdest/encode/record_encoder.hpp"
#include "pgdest/encode/rejected_value_encoder.hpp"

using namespace pgdest;

namespace {

// The values the encoder just reported as NULLed or truncated: each must be the text of one whole
// JSON value inside the input, and their rows must encode.
void check_rejected(const encode::RowEncoder& encoder, const simdjson::padded_string& json) {
  if (!encoder.has_rejected())
    return;
  std::vector<encode::RejectedValue> values;
  encoder.rejected_values(values);
  for (const auto& value : values) {
    const char* end = value.original.data() + value.original.size();
    if (value.original.data() < json.data() || end > json.data() + json.size()) {
      std::fprintf(stderr, "rejected value of \"%.*s\" is not in the input\n",
                   static_cast<int>(value.field.size()), value.field.data());
      std::abort();
    }
    auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    if (auto problem = fuzz::json_problem(value.original, fuzz::JsonRules::rfc8259);
        !problem.empty() || value.original.empty() || is_space(value.original.front()) ||
        is_space(value.original.back())) {
      std::fprintf(stderr, "rejected value of \"%.*s\" is not one JSON value (%s): %.*s\n",
                   static_cast<int>(value.field.size()), value.field.data(), problem.c_str(),
                   static_cast<int>(value.original.size()), value.original.data());
      std::abort();
    }
  }
  encode::RejectedValueEncoder rows({std::string("ns"), "s", "ns", "s", 7});
  encode::CopyBuffer out;
  if (rows.encode(encoder, out) != values.size())
    std::abort();
}

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
    check_rejected(encoder, json);
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
