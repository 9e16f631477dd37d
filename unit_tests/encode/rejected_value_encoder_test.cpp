// Unit tests of rejected values: which values the encoders report as NULLed or truncated, with
// their text exactly as the input has it, and the rows of _airbyte_rejected_values made of them.
#include "pgdest/encode/rejected_value_encoder.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <simdjson.h>

#include "binary_reader.hpp"
#include "encoder_harness.hpp"
#include "pgdest/encode/raw_record_encoder.hpp"
#include "pgdest/encode/record_encoder.hpp"
#include "pgdest/postgres/sql_builder.hpp"

using namespace pgdest::encode;
using namespace pgdest::encode::testing;
using pgdest::schema::Column;
using pgdest::schema::ColumnType;

namespace {

// A rejected value with its texts copied out, to compare.
struct Rejected {
  std::string field;
  std::string change;
  std::string reason;
  std::string original;
  bool operator==(const Rejected& other) const {
    return field == other.field && change == other.change && reason == other.reason &&
           original == other.original;
  }
};

std::ostream& operator<<(std::ostream& out, const Rejected& rejected) {
  return out << "{" << rejected.field << ", " << rejected.change << ", " << rejected.reason << ", "
             << rejected.original << "}";
}

using RejectedList = std::vector<Rejected>;

const std::string kNulled = "NULLED";
const std::string kTruncated = "TRUNCATED";

// One record through an encoder and the rejected-values encoder, its input kept alive (the
// rejected values point into it, as they point into the input line in a sync).
template <typename Encoder> struct Record {
  template <typename... Args>
  explicit Record(const std::string& data_json, std::string_view changes, Args&&... args)
      : input("{\"data\":" + data_json + ",\"emitted_at\":1}"), source_changes(changes),
        encoder(std::make_unique<Encoder>(std::forward<Args>(args)...)) {}

  void encode() {
    simdjson::ondemand::document doc;
    REQUIRE(parser.iterate(input).get(doc) == simdjson::SUCCESS);
    simdjson::ondemand::object data;
    REQUIRE(doc["data"].get_object().get(data) == simdjson::SUCCESS);
    encoder->encode(data, RecordEnvelope{kEmittedAt, source_changes}, row);
  }

  RejectedList rejected() const {
    std::vector<RejectedValue> values;
    if (encoder->has_rejected())
      encoder->rejected_values(values);
    RejectedList list;
    for (const auto& value : values)
      list.push_back({std::string(value.field), std::string(to_wire(value.change)),
                      std::string(to_wire(value.reason)), std::string(value.original)});
    return list;
  }

  simdjson::padded_string input;
  std::string_view source_changes;
  simdjson::ondemand::parser parser = deep_parser();
  std::unique_ptr<Encoder> encoder;
  CopyBuffer row;
};

// The rejected values of one record of `data_json` in a typed table of `columns`.
RejectedList typed_rejects(const std::vector<Column>& columns, const std::string& data_json) {
  Record<RecordEncoder> record(data_json, {}, columns, 3, 7);
  record.encode();
  return record.rejected();
}

// The same in a raw table whose data holds at most `max_data_bytes`.
RejectedList raw_rejects(const std::string& data_json,
                         std::size_t max_data_bytes = kMaxJsonbBytes) {
  Record<RawRecordEncoder> record(data_json, {}, 3, 7);
  record.encoder->max_data_bytes = max_data_bytes;
  record.encode();
  return record.rejected();
}

const std::vector<Column>& every_kind() {
  static const std::vector<Column> columns = {
      {"id", "id", ColumnType::bigint},      {"big", "big", ColumnType::bigint},
      {"day", "day", ColumnType::date},      {"at", "at", ColumnType::timestamptz},
      {"name", "name", ColumnType::varchar}, {"doc", "doc", ColumnType::jsonb},
      {"flag", "flag", ColumnType::boolean}, {"Spaced Name", "spaced_name", ColumnType::varchar}};
  return columns;
}

// A row of _airbyte_rejected_values, read back.
struct RejectedRow {
  Row fields;
  std::string field(std::size_t column) const { return fields.at(column).value_or("NULL"); }
};

std::vector<RejectedRow> read_rejected_rows(std::string_view bytes) {
  BinaryReader reader(bytes);
  std::vector<RejectedRow> rows;
  while (!reader.at_end())
    rows.push_back({EncoderHarness<RecordEncoder>::read_row(reader)});
  return rows;
}

std::string hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    out += kDigits[static_cast<unsigned char>(c) >> 4];
    out += kDigits[static_cast<unsigned char>(c) & 0x0F];
  }
  return out;
}

const RejectedValueSource kSource{std::string("shop"), "orders", "shop", "orders", 77};

} // namespace

TEST_CASE("rejected values: a clean record has none, and no work is done for it",
          "[encode][rejected]") {
  Record<RecordEncoder> record(R"({"id":1,"big":2,"day":"2024-01-02","name":"x","doc":{"k":1}})",
                               {}, every_kind(), 3, 7);
  record.encode();
  CHECK_FALSE(record.encoder->has_rejected());
  CopyBuffer rows;
  RejectedValueEncoder rejected(kSource);
  CHECK(rejected.encode(*record.encoder, rows) == 0);
  CHECK(rows.empty());
}

TEST_CASE("rejected values: each kind the typed encoder NULLs or truncates, with its text as "
          "written",
          "[encode][rejected]") {
  const std::string ser = kSerialization;
  const std::string size = kFieldSize;
  CHECK(typed_rejects(every_kind(),
                      R"({"id":1, "big" : 9223372036854775808 , "day":"2024-02-30"})") ==
        RejectedList{{"big", kNulled, size, "9223372036854775808"},
                     {"day", kNulled, ser, R"("2024-02-30")"}});
  CHECK(typed_rejects(every_kind(), R"({"at":"300000-01-01T00:00:00Z","name":"a\u0000b"})") ==
        RejectedList{{"at", kNulled, size, R"("300000-01-01T00:00:00Z")"},
                     {"name", kTruncated, ser, R"("a\u0000b")"}});
  // A composite value keeps its white space, escapes and key order, nested brackets and brackets
  // inside strings included.
  const std::string doc = R"({ "k\u0000" : [1, "x]}\"", {"n":[]}] ,"z":"\\"})";
  CHECK(typed_rejects(every_kind(), R"({"doc":)" + doc + R"( , "flag":"yes"})") ==
        RejectedList{{"doc", kTruncated, ser, doc}, {"flag", kNulled, ser, R"("yes")"}});
  CHECK(typed_rejects(every_kind(), R"({"doc":[1e2000],"name":"x\ud800"})") ==
        RejectedList{{"name", kNulled, ser, R"("x\ud800")"}, {"doc", kNulled, size, "[1e2000]"}});
  // The field is named as in the record (the source name), not as the column.
  CHECK(typed_rejects(every_kind(), R"({"Spaced Name":{"a":"\u0000"}})") ==
        RejectedList{{"Spaced Name", kTruncated, ser, R"({"a":"\u0000"})"}});
}

TEST_CASE("rejected values: the last of a key given twice is the one reported",
          "[encode][rejected]") {
  CHECK(typed_rejects(every_kind(), R"({"big":"x","big":1})").empty());
  CHECK(typed_rejects(every_kind(), R"({"big":1,"big":"x"})") ==
        RejectedList{{"big", kNulled, kSerialization, R"("x")"}});
}

TEST_CASE("rejected values: the source's own changes are not the encoder's", "[encode][rejected]") {
  Record<RecordEncoder> record(
      R"({"name":"ok"})",
      R"({"field":"name","change":"TRUNCATED","reason":"SOURCE_FIELD_SIZE_LIMITATION"})",
      every_kind(), 3, 7);
  record.encode();
  CHECK_FALSE(record.encoder->has_rejected());
  CHECK(record.rejected().empty());
}

TEST_CASE("rejected values: the raw encoder reports each top-level property it changed",
          "[encode][rejected][raw]") {
  const std::string ser = kSerialization;
  CHECK(raw_rejects(R"({"id":1,"clean":{"a":[1,2]}})").empty());
  CHECK(raw_rejects(R"({"a":"x\u0000y", "b" : { "k\u0000" : 1 } ,"c":1e2000,"d":"\udc00"})") ==
        RejectedList{{"a", kTruncated, ser, R"("x\u0000y")"},
                     {"b", kTruncated, ser, R"({ "k\u0000" : 1 })"},
                     {"c", kNulled, kFieldSize, "1e2000"},
                     {"d", kNulled, ser, R"("\udc00")"}});
  // A name that lost a NUL is named as _airbyte_meta names it; its value is the original.
  CHECK(raw_rejects(R"({"n\u0000ame":"v"})") == RejectedList{{"name", kTruncated, ser, R"("v")"}});
  // Too large a record loses its largest values, each reported with its whole text.
  const std::string large = "\"" + std::string(100, 'x') + "\"";
  CHECK(raw_rejects(R"({"small":"s","large": )" + large + R"( ,"other":[1, 2]})", 60) ==
        RejectedList{{"large", kNulled, kFieldSize, large}});
}

TEST_CASE("rejected values: one row each, with the stream, the row's raw id and the original",
          "[encode][rejected]") {
  Record<RecordEncoder> record(R"({"id":7,"big":"12x","name":"a\u0000"})", {}, every_kind(), 3, 7);
  record.encode();
  CopyBuffer rows;
  RejectedValueEncoder rejected(kSource);
  REQUIRE(rejected.encode(*record.encoder, rows) == 2);

  BinaryReader row_reader(record.row.view());
  const Row row = EncoderHarness<RecordEncoder>::read_row(row_reader);
  const auto rejected_rows = read_rejected_rows(rows.view());
  REQUIRE(rejected_rows.size() == 2);
  CHECK(RejectedValueEncoder::copy_columns().size() == 13);
  const auto& first = rejected_rows[0];
  REQUIRE(first.fields.size() == 13);
  CHECK(first.field(0) == "shop");
  CHECK(first.field(1) == "orders");
  CHECK(first.field(2) == "shop");
  CHECK(first.field(3) == "orders");
  CHECK(first.field(4) == be(77, 8));
  CHECK(first.fields[5] == row[0]); // the row's _airbyte_raw_id
  CHECK(first.fields[6] == row[1]); // and _airbyte_extracted_at
  CHECK(first.field(6) == be(static_cast<std::uint64_t>(kExtractedAtMicros), 8));
  CHECK(first.field(7) == "big");
  CHECK(first.field(8) == "NULLED");
  CHECK(first.field(9) == kSerialization);
  CHECK(first.field(10) == R"("12x")");
  CHECK(first.field(11) == be(5, 8));
  CHECK_FALSE(first.fields[12].has_value()); // kept whole: no digest
  const auto& second = rejected_rows[1];
  CHECK(second.fields[5] == row[0]);
  CHECK(second.field(7) == "name");
  CHECK(second.field(8) == "TRUNCATED");
  CHECK(second.field(10) == R"("a\u0000")");

  // The next record with rejected values gets its own raw id.
  Record<RecordEncoder> next(R"({"big":"y"})", {}, every_kind(), 3, 7);
  next.encode();
  CopyBuffer next_rows;
  REQUIRE(rejected.encode(*next.encoder, next_rows) == 1);
  BinaryReader next_reader(next.row.view());
  CHECK(read_rejected_rows(next_rows.view())[0].fields[5] ==
        EncoderHarness<RecordEncoder>::read_row(next_reader)[0]);
}

TEST_CASE("rejected values: a stream without a namespace, and NUL in names, as _airbyte_meta has "
          "them",
          "[encode][rejected]") {
  const std::vector<Column> columns = {{std::string("a\0b", 3), "a_b", ColumnType::bigint}};
  Record<RecordEncoder> record(R"({"a\u0000b":"x"})", {}, columns, 3, 7);
  record.encode();
  CopyBuffer rows;
  RejectedValueEncoder rejected({std::string(), "orders", "public", "orders", 0});
  REQUIRE(rejected.encode(*record.encoder, rows) == 1);
  const auto row = read_rejected_rows(rows.view()).at(0);
  CHECK_FALSE(row.fields[0].has_value());
  CHECK(row.field(7) == "ab");
}

TEST_CASE("rejected values: an original over the limit is kept as a prefix of whole characters, "
          "with its size and SHA-256",
          "[encode][rejected]") {
  // The one row of rejected values of a record {"big": <text>}, with the limit lowered, so that
  // the test needs no value of 255 MiB.
  auto row_over_limit = [](const std::string& text, std::size_t max_whole_original_bytes) {
    Record<RecordEncoder> record("{\"big\":" + text + "}", {}, every_kind(), 3, 7);
    record.encode();
    CopyBuffer rows;
    RejectedValueEncoder rejected(kSource);
    rejected.max_whole_original_bytes = max_whole_original_bytes;
    REQUIRE(rejected.encode(*record.encoder, rows) == 1);
    return read_rejected_rows(rows.view()).at(0);
  };
  SECTION("the prefix ends before a character it would cut") {
    const std::string text = "\"" + std::string(RejectedValueEncoder::kKeptPrefixBytes - 2, 'a') +
                             "\xC3\xA9" + std::string(1000, 'b') + "\"";
    const auto row = row_over_limit(text, 1000);
    // The quote and the letters: the second byte of "é" would be past the prefix.
    CHECK(row.field(10) == text.substr(0, RejectedValueEncoder::kKeptPrefixBytes - 1));
    CHECK(row.field(11) == be(text.size(), 8));
    REQUIRE(row.fields[12].has_value());
    CHECK(row.fields[12]->size() == 32);
  }
  SECTION("the digest is of the whole original text") {
    const auto row = row_over_limit(R"("abc")", 4);
    CHECK(row.field(10) == R"("abc")");
    CHECK(row.field(11) == be(5, 8));
    // sha256sum of the five bytes "abc" with its quotes.
    CHECK(hex(row.field(12)) == "6cc43f858fbb763301637b5af970e2a46b46f461f27e5a0f41e009c59b827b25");
  }
}

TEST_CASE("rejected values: the table has the encoder's columns, in its order, then rejected_at",
          "[encode][rejected]") {
  const auto& columns = pgdest::postgres::sql::rejected_values_columns();
  const auto& copied = RejectedValueEncoder::copy_columns();
  REQUIRE(columns.size() == copied.size() + 1);
  for (std::size_t i = 0; i < copied.size(); ++i)
    CHECK(columns[i].name == copied[i]);
  CHECK(columns.back().name == std::string("rejected_at"));
}
