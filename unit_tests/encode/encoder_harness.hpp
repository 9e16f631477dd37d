#pragma once
// Test helper: encodes records given as JSON text with a row encoder and reads the rows back.
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

#include "binary_reader.hpp"
#include "pgdest/encode/copy_buffer.hpp"
#include "pgdest/encode/json_writer.hpp"
#include "pgdest/encode/row_encoder.hpp"

namespace pgdest::encode::testing {

// A parser with the depth the reader gives its own (see allow_parser_depth).
inline simdjson::ondemand::parser deep_parser() {
  simdjson::ondemand::parser parser;
  allow_parser_depth(parser);
  return parser;
}

using Field = std::optional<std::string>;
using Row = std::vector<Field>;

inline constexpr std::int64_t kEmittedAt = 1700000000000;
inline constexpr std::int64_t kExtractedAtMicros = (kEmittedAt - 946684800000) * 1000;

// Encodes records of `{"data": ...}` documents with an `Encoder` and reads the rows back.
template <typename Encoder> class EncoderHarness {
public:
  template <typename... Args>
  explicit EncoderHarness(Args&&... args) : encoder(std::forward<Args>(args)...) {}

  // Encodes `data_json` as the record's data; returns the row appended.
  Row encode(const std::string& data_json, std::string_view source_changes = {},
             std::int64_t emitted_at = kEmittedAt) {
    const std::size_t start = out.size();
    encode_only(data_json, source_changes, emitted_at);
    BinaryReader reader(out.view().substr(start));
    Row row = read_row(reader);
    REQUIRE(reader.at_end());
    return row;
  }

  void encode_only(const std::string& data_json, std::string_view source_changes = {},
                   std::int64_t emitted_at = kEmittedAt) {
    const simdjson::padded_string input("{\"data\":" + data_json + ",\"emitted_at\":1}");
    simdjson::ondemand::document doc;
    REQUIRE(parser.iterate(input).get(doc) == simdjson::SUCCESS);
    simdjson::ondemand::object data;
    REQUIRE(doc["data"].get_object().get(data) == simdjson::SUCCESS);
    encoder.encode(data, RecordEnvelope{emitted_at, source_changes}, out);
  }

  static Row read_row(BinaryReader& reader) {
    const std::int16_t count = reader.int16();
    Row row;
    for (int i = 0; i < count; ++i) {
      row.push_back(reader.field());
    }
    return row;
  }

  simdjson::ondemand::parser parser = deep_parser();
  Encoder encoder;
  CopyBuffer out;
};

// The JSON text of a jsonb field (after its version byte).
inline std::string jsonb_text(const Field& field) {
  REQUIRE(field.has_value());
  REQUIRE(!field->empty());
  CHECK((*field)[0] == '\x01');
  return field->substr(1);
}

inline std::string change(const std::string& field, const std::string& kind,
                          const std::string& reason) {
  return R"({"field":")" + field + R"(","change":")" + kind + R"(","reason":")" + reason + "\"}";
}

inline const std::string kSerialization = "DESTINATION_SERIALIZATION_ERROR";
inline const std::string kFieldSize = "DESTINATION_FIELD_SIZE_LIMITATION";

} // namespace pgdest::encode::testing
