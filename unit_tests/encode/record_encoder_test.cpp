// Unit tests of record → binary COPY row encoding (SPEC §4 layout, §5 value rules).
#include "pgdest/encode/json_writer.hpp"
#include "pgdest/encode/record_encoder.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "binary_reader.hpp"
#include "encoder_harness.hpp"
#include "pgdest/error.hpp"

using namespace pgdest::encode;
using namespace pgdest::encode::testing;
using pgdest::schema::Column;
using pgdest::schema::ColumnType;

namespace {

// Encodes records into the given user columns, generation 3, sync 7.
struct Harness : EncoderHarness<RecordEncoder> {
  explicit Harness(std::vector<Column> columns, std::int64_t generation_id = 3,
                   std::int64_t sync_id = 7)
      : EncoderHarness(std::move(columns), generation_id, sync_id) {}
};

std::string nulled_serialization() {
  return change("f", "NULLED", kSerialization);
}
std::string nulled_size() {
  return change("f", "NULLED", kFieldSize);
}
std::string truncated() {
  return change("f", "TRUNCATED", kSerialization);
}

std::string jsonb(const std::string& text) {
  return "\x01" + text;
}

std::string int64_bytes(std::int64_t value) {
  return be(static_cast<std::uint64_t>(value), 8);
}

// One value of column "f" of `type`: the stored field and the change recorded for it, if any.
void check_value(ColumnType type, const std::string& value_json, const Field& expected,
                 const std::string& expected_change = {}) {
  INFO("type " << static_cast<int>(type) << ", value " << value_json);
  Harness harness({{"f", "f", type}});
  const Row row = harness.encode("{\"f\":" + value_json + "}");
  REQUIRE(row.size() == 5);
  CHECK(row[3] == expected);
  CHECK(jsonb_text(row[4]) == R"({"sync_id":7,"changes":[)" + expected_change + "]}");
}

} // namespace

TEST_CASE("RecordEncoder: COPY column order", "[encode][record]") {
  const RecordEncoder encoder(
      {{"b src", "b_src", ColumnType::varchar}, {"a", "a", ColumnType::bigint}}, 1, 1);
  CHECK(encoder.copy_columns() ==
        std::vector<std::string>{"_airbyte_raw_id", "_airbyte_extracted_at",
                                 "_airbyte_generation_id", "b_src", "a", "_airbyte_meta"});
}

TEST_CASE("RecordEncoder: the exact bytes of a row", "[encode][record]") {
  Harness harness({{"id", "id", ColumnType::bigint}, {"name", "name", ColumnType::varchar}});
  harness.encode_only(R"({"name":"ab","id":42})");
  const std::string bytes(harness.out.view());
  REQUIRE(bytes.size() == 2 + 40 + 12 + 12 + 12 + 6 + 4 + 27);
  const std::string uuid = bytes.substr(6, 36);
  CHECK(uuid[14] == '7');
  CHECK(uuid[8] == '-');
  const std::string expected = be(6, 2) + be(36, 4) + uuid + be(8, 4) +
                               int64_bytes(kExtractedAtMicros) + be(8, 4) + int64_bytes(3) +
                               be(8, 4) + int64_bytes(42) + be(2, 4) + "ab" + be(27, 4) +
                               jsonb(R"({"sync_id":7,"changes":[]})");
  CHECK(bytes == expected);
  CHECK(kExtractedAtMicros == 753315200000000);
}

TEST_CASE("RecordEncoder: every row gets a new v7 raw id", "[encode][record]") {
  Harness harness({{"id", "id", ColumnType::bigint}});
  const Row first = harness.encode(R"({"id":1})");
  const Row second = harness.encode(R"({"id":2})");
  REQUIRE(first[0].has_value());
  REQUIRE(second[0].has_value());
  CHECK(first[0]->size() == 36);
  CHECK((*first[0])[14] == '7');
  CHECK(first[0] != second[0]);
  CHECK(second[3] == int64_bytes(2));
}

TEST_CASE("RecordEncoder: varchar values", "[encode][record]") {
  check_value(ColumnType::varchar, R"("abc")", "abc");
  check_value(ColumnType::varchar, R"("")", "");
  check_value(ColumnType::varchar, R"("a\"b\n\u00e9")", "a\"b\n\xC3\xA9");
  check_value(ColumnType::varchar, R"("a\u0000b\u0000")", "ab", truncated());
  check_value(ColumnType::varchar, "1.50", "1.50");
  check_value(ColumnType::varchar, "-1e5  ", "-1e5");
  check_value(ColumnType::varchar, "123456789012345678901234567890",
              "123456789012345678901234567890");
  check_value(ColumnType::varchar, "true", "true");
  check_value(ColumnType::varchar, "false", "false");
  check_value(ColumnType::varchar, R"({ "b" : [1, 2], "a" : "x" })", R"({"b":[1,2],"a":"x"})");
  check_value(ColumnType::varchar, R"([ "x\u0000" ])", R"(["x"])", truncated());
  check_value(ColumnType::varchar, "null", std::nullopt);
}

TEST_CASE("RecordEncoder: bigint values", "[encode][record]") {
  check_value(ColumnType::bigint, "42", int64_bytes(42));
  check_value(ColumnType::bigint, "42.0", int64_bytes(42));
  check_value(ColumnType::bigint, "1e3", int64_bytes(1000));
  check_value(ColumnType::bigint, "-0", int64_bytes(0));
  check_value(ColumnType::bigint, "-17", int64_bytes(-17));
  check_value(ColumnType::bigint, "9223372036854775807",
              int64_bytes(std::numeric_limits<std::int64_t>::max()));
  check_value(ColumnType::bigint, "-9223372036854775808",
              int64_bytes(std::numeric_limits<std::int64_t>::min()));
  check_value(ColumnType::bigint, "9223372036854775808", std::nullopt, nulled_size());
  check_value(ColumnType::bigint, "-9223372036854775809", std::nullopt, nulled_size());
  check_value(ColumnType::bigint, "1e30", std::nullopt, nulled_size());
  check_value(ColumnType::bigint, "1.5", std::nullopt, nulled_serialization());
  check_value(ColumnType::bigint, R"("42")", int64_bytes(42));
  check_value(ColumnType::bigint, R"(" -7 ")", int64_bytes(-7));
  check_value(ColumnType::bigint, R"("99999999999999999999")", std::nullopt, nulled_size());
  check_value(ColumnType::bigint, R"("abc")", std::nullopt, nulled_serialization());
  check_value(ColumnType::bigint, R"("")", std::nullopt, nulled_serialization());
  check_value(ColumnType::bigint, R"("4\u00002")", std::nullopt, nulled_serialization());
  check_value(ColumnType::bigint, "true", std::nullopt, nulled_serialization());
  check_value(ColumnType::bigint, R"({"a":1})", std::nullopt, nulled_serialization());
  check_value(ColumnType::bigint, "[1]", std::nullopt, nulled_serialization());
  check_value(ColumnType::bigint, "null", std::nullopt);
}

TEST_CASE("RecordEncoder: numeric values", "[encode][record]") {
  // ndigits 3, weight 1, sign +, dscale 3, digits 1 2345 6780
  const std::string n12345_678 =
      be(3, 2) + be(1, 2) + be(0, 2) + be(3, 2) + be(1, 2) + be(2345, 2) + be(6780, 2);
  check_value(ColumnType::numeric, "12345.678", n12345_678);
  check_value(ColumnType::numeric, R"("12345.678")", n12345_678);
  check_value(ColumnType::numeric, R"(" +12345.678 ")", n12345_678);
  check_value(ColumnType::numeric, "-1.5e3",
              be(1, 2) + be(0, 2) + be(0x4000, 2) + be(0, 2) + be(1500, 2));
  check_value(ColumnType::numeric, R"("NaN")", be(0, 2) + be(0, 2) + be(0xC000, 2) + be(0, 2));
  check_value(ColumnType::numeric, R"("nan")", be(0, 2) + be(0, 2) + be(0xC000, 2) + be(0, 2));
  check_value(ColumnType::numeric, "1e131072", std::nullopt, nulled_size());
  check_value(ColumnType::numeric, R"("1e-16384")", std::nullopt, nulled_size());
  check_value(ColumnType::numeric, R"("abc")", std::nullopt, nulled_serialization());
  check_value(ColumnType::numeric, "false", std::nullopt, nulled_serialization());
  check_value(ColumnType::numeric, "[1.5]", std::nullopt, nulled_serialization());
}

TEST_CASE("RecordEncoder: a 500-digit number loads exactly", "[encode][record]") {
  std::string digits;
  for (int i = 0; i < 50; ++i) {
    digits += "9876543210";
  }
  Harness harness({{"n", "n", ColumnType::numeric}});
  const Row row = harness.encode("{\"n\":-" + digits + ".5}");
  REQUIRE(row[3].has_value());
  const auto n = decode_numeric(*row[3]);
  REQUIRE(n.ndigits == 126);
  CHECK(n.weight == 124);
  CHECK(n.sign == 0x4000);
  CHECK(n.dscale == 1);
  CHECK(n.digits[0] == 9876);
  CHECK(n.digits[1] == 5432);
  CHECK(n.digits[2] == 1098);
  CHECK(n.digits[124] == 3210);
  CHECK(n.digits[125] == 5000);
}

TEST_CASE("RecordEncoder: boolean values", "[encode][record]") {
  check_value(ColumnType::boolean, "true", std::string(1, '\x01'));
  check_value(ColumnType::boolean, "false", std::string(1, '\x00'));
  check_value(ColumnType::boolean, R"("TRUE")", std::string(1, '\x01'));
  check_value(ColumnType::boolean, R"("False")", std::string(1, '\x00'));
  check_value(ColumnType::boolean, R"("yes")", std::nullopt, nulled_serialization());
  check_value(ColumnType::boolean, R"("")", std::nullopt, nulled_serialization());
  check_value(ColumnType::boolean, "1", std::nullopt, nulled_serialization());
  check_value(ColumnType::boolean, "{}", std::nullopt, nulled_serialization());
}

TEST_CASE("RecordEncoder: date and time values", "[encode][record]") {
  check_value(ColumnType::date, R"("2020-08-29")", be(7546, 4));
  check_value(ColumnType::date, R"("2020-08-29T23:00:00-05:00")", be(7546, 4));
  check_value(ColumnType::date, R"("1504-02-29")", be(static_cast<std::uint32_t>(-181102), 4));
  check_value(ColumnType::date, R"("2023-02-30")", std::nullopt, nulled_serialization());
  check_value(ColumnType::date, R"("4714-11-23 BC")", std::nullopt, nulled_size());
  check_value(ColumnType::date, "20200829", std::nullopt, nulled_serialization());
  check_value(ColumnType::date, R"("")", std::nullopt, nulled_serialization());

  check_value(ColumnType::timestamptz, R"("2000-01-01T01:00:00+01:00")", int64_bytes(0));
  check_value(ColumnType::timestamptz, R"("2000-01-01T01:00:00")", int64_bytes(3600000000));
  check_value(ColumnType::timestamptz, R"("294277-01-01T00:00:00Z")", std::nullopt, nulled_size());
  check_value(ColumnType::timestamptz, R"("nope")", std::nullopt, nulled_serialization());
  check_value(ColumnType::timestamptz, "0", std::nullopt, nulled_serialization());
  check_value(ColumnType::timestamptz, "true", std::nullopt, nulled_serialization());

  check_value(ColumnType::timestamp, R"("2000-01-01T01:00:00+01:00")", int64_bytes(3600000000));
  check_value(ColumnType::timestamp, R"("4714-11-24 00:00:00 BC")",
              int64_bytes(-211813488000000000));

  check_value(ColumnType::time, R"("10:00:00")", int64_bytes(36000000000));
  check_value(ColumnType::time, R"("10:00:00+02:00")", int64_bytes(36000000000));
  check_value(ColumnType::time, R"("25:00")", std::nullopt, nulled_serialization());

  check_value(ColumnType::timetz, R"("10:00:00+02:00")",
              int64_bytes(36000000000) + be(static_cast<std::uint32_t>(-7200), 4));
  check_value(ColumnType::timetz, R"("10:00:00")", int64_bytes(36000000000) + be(0, 4));
  check_value(ColumnType::timetz, "[]", std::nullopt, nulled_serialization());
}

TEST_CASE("RecordEncoder: jsonb values", "[encode][record]") {
  check_value(ColumnType::jsonb, R"({ "a" : [1, {"b":null}] })", jsonb(R"({"a":[1,{"b":null}]})"));
  check_value(ColumnType::jsonb, R"("text")", jsonb(R"("text")"));
  check_value(ColumnType::jsonb, R"("a\nb\u00e9")", jsonb("\"a\\nb\xC3\xA9\""));
  check_value(ColumnType::jsonb, R"("")", jsonb(R"("")"));
  check_value(ColumnType::jsonb, "12.50", jsonb("12.50"));
  check_value(ColumnType::jsonb, "true", jsonb("true"));
  check_value(ColumnType::jsonb, "null", std::nullopt);
  check_value(ColumnType::jsonb, R"("x\u0000")", jsonb(R"("x")"), truncated());
  check_value(ColumnType::jsonb, R"({"k\u0000":1})", jsonb(R"({"k":1})"), truncated());
  check_value(ColumnType::jsonb, "[1e1001]", std::nullopt, nulled_size());
  check_value(ColumnType::jsonb, "1e1001", std::nullopt, nulled_size());
}

TEST_CASE("RecordEncoder: _airbyte_meta lists source changes, then ours in column order",
          "[encode][record]") {
  Harness harness({{"a", "a", ColumnType::bigint},
                   {"b", "b", ColumnType::varchar},
                   {"c", "c", ColumnType::date}});
  const std::string source = change("x", "NULLED", "SOURCE_RETRIEVAL_ERROR");
  const Row row = harness.encode(R"({"c":"bad","b":"o\u0000k","a":1.5})", source);
  REQUIRE(row.size() == 7);
  CHECK(row[3] == std::nullopt);
  CHECK(row[4] == "ok");
  CHECK(row[5] == std::nullopt);
  CHECK(jsonb_text(row[6]) == R"({"sync_id":7,"changes":[)" + source + "," +
                                  change("a", "NULLED", kSerialization) + "," +
                                  change("b", "TRUNCATED", kSerialization) + "," +
                                  change("c", "NULLED", kSerialization) + "]}");
  const Row clean = harness.encode(R"({"a":1})", source);
  CHECK(jsonb_text(clean[6]) == R"({"sync_id":7,"changes":[)" + source + "]}");
}

TEST_CASE("RecordEncoder: field names in changes are JSON-escaped", "[encode][record]") {
  Harness harness({{"we\"ird\\", "we_ird_", ColumnType::bigint}}, 0, 12);
  const Row row = harness.encode(R"({"we\"ird\\":"x"})");
  CHECK(row[3] == std::nullopt);
  CHECK(
      jsonb_text(row[4]) ==
      R"({"sync_id":12,"changes":[{"field":"we\"ird\\","change":"NULLED","reason":"DESTINATION_SERIALIZATION_ERROR"}]})");
  CHECK(row[2] == int64_bytes(0));
}

TEST_CASE("RecordEncoder: missing properties are NULL, escaped keys match", "[encode][record]") {
  Harness harness({{"name", "name", ColumnType::varchar}, {"age", "age", ColumnType::bigint}});
  const Row empty = harness.encode("{}");
  CHECK(empty[3] == std::nullopt);
  CHECK(empty[4] == std::nullopt);
  CHECK(jsonb_text(empty[5]) == R"({"sync_id":7,"changes":[]})");
  const Row escaped = harness.encode(R"({"n\u0061me":"x"})");
  CHECK(escaped[3] == "x");
  CHECK(escaped[4] == std::nullopt);
}

TEST_CASE("RecordEncoder: the last duplicate key wins, with its own change", "[encode][record]") {
  Harness harness({{"f", "f", ColumnType::bigint}});
  const Row good_last = harness.encode(R"({"f":"bad","f":5})");
  CHECK(good_last[3] == int64_bytes(5));
  CHECK(jsonb_text(good_last[4]) == R"({"sync_id":7,"changes":[]})");
  const Row bad_last = harness.encode(R"({"f":5,"f":"bad"})");
  CHECK(bad_last[3] == std::nullopt);
  CHECK(jsonb_text(bad_last[4]) == R"({"sync_id":7,"changes":[)" + nulled_serialization() + "]}");
}

TEST_CASE("RecordEncoder: undeclared properties are not stored and reported once",
          "[encode][record]") {
  Harness harness({{"id", "id", ColumnType::bigint}});
  const Row row = harness.encode(R"({"x":{"deep":[1,2]},"id":1,"y":"v","x":2})");
  CHECK(row.size() == 5);
  CHECK(row[3] == int64_bytes(1));
  CHECK(harness.encoder.take_new_undeclared_fields() == std::vector<std::string>{"x", "y"});
  CHECK(harness.encoder.take_new_undeclared_fields().empty());
  harness.encode(R"({"y":1,"z":2,"x":3})");
  CHECK(harness.encoder.take_new_undeclared_fields() == std::vector<std::string>{"z"});
}

TEST_CASE("RecordEncoder: keys in a new order still find their columns", "[encode][record]") {
  Harness harness({{"a", "a", ColumnType::bigint}, {"b", "b", ColumnType::varchar}});
  const Row first = harness.encode(R"({"a":1,"b":"x"})");
  const Row swapped = harness.encode(R"({"b":"y","a":2})");
  const Row extra = harness.encode(R"({"u":0,"a":3,"b":"z"})");
  CHECK(first[3] == int64_bytes(1));
  CHECK(first[4] == "x");
  CHECK(swapped[3] == int64_bytes(2));
  CHECK(swapped[4] == "y");
  CHECK(extra[3] == int64_bytes(3));
  CHECK(extra[4] == "z");
}

TEST_CASE("RecordEncoder: malformed JSON throws and leaves the buffer as it was",
          "[encode][record]") {
  Harness harness({{"f", "f", ColumnType::bigint}, {"s", "s", ColumnType::varchar}});
  harness.encode(R"({"f":1,"s":"kept"})");
  const std::string before(harness.out.view());
  for (const char* bad : {R"({"f":01})", R"({"s":[1,]})", R"({"zzz":tru})", R"({"f":{"a":nul}})",
                          R"({"s":"\x"})", R"({"f":1,})", R"({"s":"\ud800\x"})", R"({"f" 1})",
                          R"({"s":"ok","f":-})", R"({"s":{"a":1 "b":2}})"}) {
    INFO(bad);
    CHECK_THROWS_AS(harness.encode_only(bad), MalformedJson);
    CHECK(harness.out.view() == before);
  }
  const Row after = harness.encode(R"({"s":"next"})");
  CHECK(after[3] == std::nullopt);
  CHECK(after[4] == "next");
  CHECK(jsonb_text(after[5]) == R"({"sync_id":7,"changes":[]})");
}

TEST_CASE("RecordEncoder: a lone surrogate escape no longer stops the sync, the value is NULLed "
          "with a change",
          "[encode][record]") {
  check_value(ColumnType::varchar, R"("x\ud800y")", std::nullopt, nulled_serialization());
  check_value(ColumnType::varchar, R"("\udc00")", std::nullopt, nulled_serialization());
  check_value(ColumnType::varchar, R"("\ud800\u0041")", std::nullopt, nulled_serialization());
  check_value(ColumnType::date, R"("\ud800")", std::nullopt, nulled_serialization());
  check_value(ColumnType::jsonb, R"("x\ud800y")", std::nullopt, nulled_serialization());
  check_value(ColumnType::jsonb, R"({"a":["\ud800"]})", std::nullopt, nulled_serialization());
  check_value(ColumnType::jsonb, R"({"k\udfff":1})", std::nullopt, nulled_serialization());
  check_value(ColumnType::varchar, R"({"k":"\ud800"})", std::nullopt, nulled_serialization());
  // A pair is a character like any other.
  check_value(ColumnType::varchar, R"("\ud83d\ude00")", Field("\xF0\x9F\x98\x80"));
  check_value(ColumnType::jsonb, R"(["\ud83d\ude00"])", jsonb("[\"\xF0\x9F\x98\x80\"]"));
}

TEST_CASE("RecordEncoder: a lone surrogate in an undeclared field or key does not matter",
          "[encode][record]") {
  Harness harness({{"id", "id", ColumnType::bigint}});
  const Row row =
      harness.encode(R"({"u":"\ud800","id":1,"\udc00x":{"v":["\ud800"]},"w":{"\ud800":2}})");
  CHECK(row[3] == int64_bytes(1));
  CHECK(jsonb_text(row[4]) == R"({"sync_id":7,"changes":[]})");
  CHECK(harness.encoder.take_new_undeclared_fields() ==
        std::vector<std::string>{"u", "\\udc00x", "w"});
  // Still checked in full.
  CHECK_THROWS_AS(harness.encode_only(R"({"u":"\ud800","v":[1,]})"), MalformedJson);
}

TEST_CASE("RecordEncoder: a value nested deeper than 1024 levels is a clear error, not a crash",
          "[encode][record]") {
  Harness harness({{"f", "f", ColumnType::jsonb}});
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  CHECK_THROWS_WITH(harness.encode_only("{\"f\":" + deep + "}"),
                    "record data nests arrays and objects more than 1024 levels deep, which this "
                    "destination does not read");
  CHECK_THROWS_WITH(harness.encode_only("{\"undeclared\":" + deep + "}"),
                    "record data nests arrays and objects more than 1024 levels deep, which this "
                    "destination does not read");
  const std::string fits = std::string(1000, '[') + std::string(1000, ']');
  CHECK(harness.encode("{\"f\":" + fits + "}")[3] == jsonb(fits));
}

TEST_CASE("RecordEncoder: emitted_at must be a PostgreSQL timestamp", "[encode][record]") {
  Harness harness({{"f", "f", ColumnType::bigint}});
  const std::int64_t min_ms = -211813488000000 + 946684800000;
  const Row earliest = harness.encode("{}", {}, min_ms);
  CHECK(earliest[1] == int64_bytes(-211813488000000000));
  const std::int64_t end_ms = 9223371331200000 + 946684800000;
  const Row latest = harness.encode("{}", {}, end_ms - 1);
  CHECK(latest[1] == int64_bytes(9223371331200000000 - 1000));
  const std::size_t size = harness.out.size();
  CHECK_THROWS_AS(harness.encode_only("{}", {}, min_ms - 1), MalformedJson);
  CHECK_THROWS_AS(harness.encode_only("{}", {}, end_ms), MalformedJson);
  CHECK_THROWS_AS(harness.encode_only("{}", {}, std::numeric_limits<std::int64_t>::min()),
                  MalformedJson);
  CHECK(harness.out.size() == size);
}

TEST_CASE("RecordEncoder: rows accumulate back to back", "[encode][record]") {
  Harness harness({{"id", "id", ColumnType::bigint}});
  for (int i = 0; i < 100; ++i) {
    harness.encode_only("{\"id\":" + std::to_string(i) + "}");
  }
  BinaryReader reader(harness.out.view());
  for (int i = 0; i < 100; ++i) {
    const Row row = Harness::read_row(reader);
    REQUIRE(row.size() == 5);
    CHECK(row[3] == int64_bytes(i));
  }
  CHECK(reader.at_end());
}

TEST_CASE("RecordEncoder: keeps working after a move", "[encode][record]") {
  std::vector<RecordEncoder> encoders;
  encoders.emplace_back(std::vector<Column>{{"name", "name", ColumnType::varchar}}, 1, 2);
  CopyBuffer out;
  simdjson::ondemand::parser parser = deep_parser();
  const auto encode_into = [&](RecordEncoder& encoder, const std::string& json) {
    const simdjson::padded_string input(json);
    simdjson::ondemand::document doc;
    REQUIRE(parser.iterate(input).get(doc) == simdjson::SUCCESS);
    simdjson::ondemand::object data;
    REQUIRE(doc.get_object().get(data) == simdjson::SUCCESS);
    encoder.encode(data, RecordEnvelope{kEmittedAt, {}}, out);
  };
  encode_into(encoders[0], R"({"name":"a","extra":1})");
  RecordEncoder moved = std::move(encoders[0]);
  encoders.clear();
  const std::size_t start = out.size();
  encode_into(moved, R"({"name":"b","extra":2,"more":3})");
  BinaryReader reader(out.view().substr(start));
  const Row row = Harness::read_row(reader);
  CHECK(row[3] == "b");
  CHECK(moved.take_new_undeclared_fields() == std::vector<std::string>{"extra", "more"});
}

TEST_CASE("RecordEncoder: more columns than PostgreSQL allows is a config error",
          "[encode][record]") {
  std::vector<Column> columns;
  for (int i = 0; i < 1597; ++i) {
    columns.push_back({"c" + std::to_string(i), "c" + std::to_string(i), ColumnType::varchar});
  }
  CHECK_THROWS_AS(RecordEncoder(columns, 1, 1), pgdest::ConfigError);
  columns.pop_back();
  const RecordEncoder fits(columns, 1, 1);
  CHECK(fits.copy_columns().size() == 1600);
}

TEST_CASE("RecordEncoder: values of a megabyte and more are stored whole, and let go after",
          "[encode][record]") {
  // They go into the row from where they lie rather than through the scratch buffer.
  const std::string big(3u << 20, 'x');
  const std::string escaped_json = "\"" + big + "\\n\\u00e9\"";
  const std::string unescaped = big + "\n\xC3\xA9";
  check_value(ColumnType::varchar, "\"" + big + "\"", big);
  check_value(ColumnType::varchar, escaped_json, unescaped);
  check_value(ColumnType::varchar, "[\"" + big + "\"]", "[\"" + big + "\"]");
  check_value(ColumnType::jsonb, "\"" + big + "\"", jsonb("\"" + big + "\""));
  check_value(ColumnType::jsonb, escaped_json, jsonb("\"" + big + "\\n\xC3\xA9\""));
  check_value(ColumnType::jsonb, "{\"k\": [\"" + big + "\"]}", jsonb("{\"k\":[\"" + big + "\"]}"));

  Harness harness({{"a", "a", ColumnType::jsonb}, {"b", "b", ColumnType::varchar}});
  // Two huge values in one record, arriving out of column order, one replaced by a duplicate key.
  const simdjson::padded_string input("{\"b\":\"" + big + "\",\"a\":[\"" + big + "\"],\"b\":\"" +
                                      big + "y\"}");
  simdjson::ondemand::document doc;
  REQUIRE(harness.parser.iterate(input).get(doc) == simdjson::SUCCESS);
  simdjson::ondemand::object data;
  REQUIRE(doc.get_object().get(data) == simdjson::SUCCESS);
  harness.encoder.fill(data);
  CHECK(harness.encoder.field(1) == be(big.size() + 1, 4) + big + "y");
  CHECK(harness.encoder.field(0) == be(big.size() + 5, 4) + jsonb("[\"" + big + "\"]"));
  harness.encoder.finish(RecordEnvelope{kEmittedAt, {}}, harness.out);
  BinaryReader reader(harness.out.view());
  const Row first = Harness::read_row(reader);
  CHECK(first[3] == jsonb("[\"" + big + "\"]"));
  CHECK(first[4] == big + "y");
  const Row small = harness.encode(R"({"a":[1],"b":"c"})");
  CHECK(small[3] == jsonb("[1]"));
  CHECK(small[4] == "c");
  CHECK(harness.encoder.field(1) == be(1, 4) + "c");
}
