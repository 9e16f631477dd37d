// Unit tests of the raw layout's rows: the whole data object into _airbyte_data (SPEC §3).
#include "pgdest/encode/raw_record_encoder.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "encoder_harness.hpp"

using namespace pgdest::encode;
using namespace pgdest::encode::testing;

namespace {

// Encodes records for a raw table, generation 3, sync 7.
struct Harness : EncoderHarness<RawRecordEncoder> {
  Harness() : EncoderHarness(3, 7) {}

  // The record's _airbyte_data and _airbyte_meta texts.
  std::pair<std::string, std::string> stored(const std::string& data_json,
                                             std::string_view source_changes = {}) {
    const Row row = encode(data_json, source_changes);
    REQUIRE(row.size() == 5);
    return {jsonb_text(row[3]), jsonb_text(row[4])};
  }
};

std::string meta(const std::string& changes = {}) {
  return R"({"sync_id":7,"changes":[)" + changes + "]}";
}

} // namespace

TEST_CASE("RawRecordEncoder: the columns of Airbyte's raw table, _airbyte_loaded_at left NULL",
          "[encode][raw]") {
  const RawRecordEncoder encoder(1, 1);
  CHECK(encoder.copy_columns() ==
        std::vector<std::string>{"_airbyte_raw_id", "_airbyte_extracted_at",
                                 "_airbyte_generation_id", "_airbyte_data", "_airbyte_meta"});
}

TEST_CASE("RawRecordEncoder: the exact bytes of a row", "[encode][raw]") {
  Harness harness;
  harness.encode_only(R"({ "id" : 42, "name" : "ab" })");
  const std::string bytes(harness.out.view());
  const std::string data = R"({"id":42,"name":"ab"})";
  const std::string meta_json = meta();
  REQUIRE(bytes.size() == 2 + 40 + 12 + 12 + 4 + 1 + data.size() + 4 + 1 + meta_json.size());
  const std::string uuid = bytes.substr(6, 36);
  CHECK(uuid[14] == '7');
  CHECK(uuid[8] == '-');
  const std::string expected = be(5, 2) + be(36, 4) + uuid + be(8, 4) + be(kExtractedAtMicros, 8) +
                               be(8, 4) + be(3, 8) + be(1 + data.size(), 4) + "\x01" + data +
                               be(1 + meta_json.size(), 4) + "\x01" + meta_json;
  CHECK(bytes == expected);
}

TEST_CASE("RawRecordEncoder: data is stored as it arrived, made compact", "[encode][raw]") {
  Harness harness;
  // Every property, declared or not, in its order; nulls, exact number text, nested values,
  // duplicate keys (jsonb keeps the last) and escapes, re-escaped where JSON needs it.
  CHECK(harness.stored(R"({"id1": 1, "name": "Alice", "address": {"city": "San Francisco"},
                           "_ab_cdc_deleted_at": null, "n": 1.50, "big": 123456789012345678901234567890,
                           "e": -1E+5, "list": [true, false, null, {}, []], "a": 1, "a": 2})") ==
        std::make_pair(std::string(R"({"id1":1,"name":"Alice","address":{"city":"San Francisco"},)"
                                   R"("_ab_cdc_deleted_at":null,"n":1.50,)"
                                   R"("big":123456789012345678901234567890,"e":-1E+5,)"
                                   R"("list":[true,false,null,{},[]],"a":1,"a":2})"),
                       meta()));
  CHECK(harness.stored(R"({"s":"a\bb\fc\nd\re\tf\"\\\/ \u00e9 \ud83d\ude00","k\"ey":"v"})").first ==
        "{\"s\":\"a\\bb\\fc\\nd\\re\\tf\\\"\\\\/ \xC3\xA9 \xF0\x9F\x98\x80\","
        "\"k\\\"ey\":\"v\"}");
  CHECK(harness.stored("{}") == std::make_pair(std::string("{}"), meta()));
}

TEST_CASE("RawRecordEncoder: a NUL is dropped from keys and strings and recorded as TRUNCATED",
          "[encode][raw]") {
  Harness harness;
  CHECK(harness.stored(R"({"s":"a\u0000b","t":"ok"})") ==
        std::make_pair(std::string(R"({"s":"ab","t":"ok"})"),
                       meta(change("s", "TRUNCATED", kSerialization))));
  CHECK(harness.stored(R"({"k\u0000ey":1,"o":{"x":["\u0000",{"\u0000":2}]}})") ==
        std::make_pair(std::string(R"({"key":1,"o":{"x":["",{"":2}]}})"),
                       meta(change("key", "TRUNCATED", kSerialization) + "," +
                            change("o", "TRUNCATED", kSerialization))));
}

TEST_CASE("RawRecordEncoder: what jsonb cannot hold makes that property null, recorded",
          "[encode][raw]") {
  Harness harness;
  // A lone surrogate is valid JSON but not text; a number beyond numeric's range jsonb refuses.
  CHECK(harness.stored(R"({"s":"\ud800","n":1e1001,"deep":{"x":[-1e-1001]},"t":2})") ==
        std::make_pair(std::string(R"({"s":null,"n":null,"deep":null,"t":2})"),
                       meta(change("s", "NULLED", kSerialization) + "," +
                            change("n", "NULLED", kFieldSize) + "," +
                            change("deep", "NULLED", kFieldSize))));
  // In a key, the lone surrogate becomes U+FFFD and the value stays.
  CHECK(harness.stored(R"({"\udc00x":1})") ==
        std::make_pair(std::string("{\"\xEF\xBF\xBDx\":1}"),
                       meta(change("\xEF\xBF\xBDx", "TRUNCATED", kSerialization))));
}

TEST_CASE("RawRecordEncoder: the record's own changes come first", "[encode][raw]") {
  Harness harness;
  const std::string source =
      R"({"field":"address","change":"NULLED","reason":"SOURCE_RETRIEVAL_ERROR"})";
  CHECK(harness.stored(R"({"name":"Charlie"})", source).second == meta(source));
  CHECK(harness.stored(R"({"s":"\u0000"})", source).second ==
        meta(source + "," + change("s", "TRUNCATED", kSerialization)));
  // Changes belong to their record only.
  CHECK(harness.stored(R"({"s":"x"})").second == meta());
}

TEST_CASE("RawRecordEncoder: a record over jsonb's limit loses its largest values first",
          "[encode][raw]") {
  Harness harness;
  const std::string data = R"({"a":")" + std::string(20, 'x') + R"(","b":")" +
                           std::string(30, 'y') + R"(","c":1})"; // 71 bytes
  harness.encoder.max_data_bytes = 50;
  CHECK(harness.stored(data) ==
        std::make_pair(R"({"a":")" + std::string(20, 'x') + R"(","b":null,"c":1})",
                       meta(change("b", "NULLED", kFieldSize))));
  harness.encoder.max_data_bytes = 40;
  CHECK(harness.stored(data) == std::make_pair(std::string(R"({"a":null,"b":null,"c":1})"),
                                               meta(change("b", "NULLED", kFieldSize) + "," +
                                                    change("a", "NULLED", kFieldSize))));
  harness.encoder.max_data_bytes = 71;
  CHECK(harness.stored(data).first == data);
  // When even the names do not fit, the record cannot be stored at all: the sync stops.
  harness.encoder.max_data_bytes = 10;
  CHECK_THROWS_WITH(harness.encode(R"({"a_long_name":1})"),
                    Catch::Matchers::StartsWith("record data has so many properties that their "
                                                "names alone exceed the 10 bytes"));
}

TEST_CASE("RawRecordEncoder: malformed data stops the record, leaving no partial row",
          "[encode][raw]") {
  Harness harness;
  harness.encode(R"({"ok":1})");
  const std::size_t size = harness.out.size();
  CHECK_THROWS_AS(harness.encode_only(R"({"a":tru})"), MalformedJson);
  CHECK_THROWS_AS(harness.encode_only(R"({"a":[1,}})"), MalformedJson);
  CHECK_THROWS_AS(harness.encode_only(R"({"a":"\x"})"), MalformedJson);
  CHECK_THROWS_WITH(
      harness.encode_only(R"({"a":)" + std::string(1100, '[') + std::string(1100, ']') + "}"),
      Catch::Matchers::Contains("more than 1024 levels deep"));
  CHECK(harness.out.size() == size);
  // The encoder goes on with the next record.
  CHECK(harness.stored(R"({"ok":2})").first == R"({"ok":2})");
}
