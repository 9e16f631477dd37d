// Unit tests of the keys a dedup commit looks up, and of the filter of keys seen before.
#include "pgdest/load/dedup_keys.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../encode/binary_reader.hpp"

using namespace pgdest::load;
using pgdest::encode::CopyBuffer;
using pgdest::encode::RecordEncoder;
using pgdest::encode::RecordEnvelope;
using pgdest::encode::testing::BinaryReader;
using pgdest::schema::Column;
using pgdest::schema::ColumnType;

namespace {

using Key = std::vector<std::optional<std::string>>;

// One stream: encodes records and queues their keys. Columns: id bigint, part varchar,
// _ab_cdc_deleted_at timestamptz, v bigint.
class Stream {
public:
  Stream(SeenKeys* seen, std::uint64_t number, bool cdc_deletions = true, std::size_t lanes = 1)
      : encoder({{"id", "id", ColumnType::bigint},
                 {"part", "part", ColumnType::varchar},
                 {"_ab_cdc_deleted_at", "_ab_cdc_deleted_at", ColumnType::timestamptz},
                 {"v", "v", ColumnType::bigint}},
                1, 1),
        keys({0, 1}, cdc_deletions ? std::optional<std::size_t>(2) : std::nullopt, seen, number,
             lanes) {}

  // Encodes `data_json`; true when its key was queued.
  bool add(const std::string& data_json) {
    const auto before = keys.queued();
    encode_and_add(data_json);
    return keys.queued() == before + 1;
  }

  // Encodes `data_json`; returns the lane of its key.
  std::size_t encode_and_add(const std::string& data_json) {
    const simdjson::padded_string input("{\"data\":" + data_json + "}");
    simdjson::ondemand::document doc;
    REQUIRE(parser.iterate(input).get(doc) == simdjson::SUCCESS);
    simdjson::ondemand::object data;
    REQUIRE(doc["data"].get_object().get(data) == simdjson::SUCCESS);
    encoder.encode(data, RecordEnvelope{1700000000000, {}}, rows);
    return keys.add(encoder);
  }

  // The keys queued in `lane`, read back from their COPY rows.
  std::vector<Key> queued(std::size_t lane = 0) {
    std::vector<Key> out;
    BinaryReader reader(keys.rows(lane).view());
    while (!reader.at_end()) {
      REQUIRE(reader.int16() == 2);
      Key key;
      key.push_back(reader.field());
      key.push_back(reader.field());
      out.push_back(key);
    }
    return out;
  }

  simdjson::ondemand::parser parser;
  RecordEncoder encoder;
  CopyBuffer rows;
  DedupKeys keys;
};

std::string be64(std::int64_t value) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>(value & 0xFF);
    value >>= 8;
  }
  return out;
}

} // namespace

TEST_CASE("dedup keys: in an empty table only repeated keys are looked up", "[load][dedup]") {
  SeenKeys seen;
  Stream stream(&seen, 0);
  CHECK_FALSE(stream.add(R"({"id":1,"part":"a","v":1})"));
  CHECK_FALSE(stream.add(R"({"id":1,"part":"b","v":2})"));
  CHECK_FALSE(stream.add(R"({"id":2,"part":"a","v":3})"));
  CHECK(stream.add(R"({"id":1,"part":"a","v":4})"));
  CHECK(stream.add(R"({"part":"a","id":1.0,"v":5})")); // same key, other order and spelling
  // NULL key parts match each other, as in the DELETE.
  CHECK_FALSE(stream.add(R"({"id":3,"v":6})"));
  CHECK(stream.add(R"({"id":3,"part":null,"v":7})"));
  CHECK(stream.queued() ==
        std::vector<Key>{{be64(1), "a"}, {be64(1), "a"}, {be64(3), std::nullopt}});
}

TEST_CASE("dedup keys: a CDC deletion is always looked up, and remembered", "[load][dedup]") {
  SeenKeys seen;
  Stream stream(&seen, 0);
  CHECK(stream.add(R"({"id":1,"part":"a","_ab_cdc_deleted_at":"2024-01-01T00:00:00Z"})"));
  CHECK(stream.add(R"({"id":1,"part":"a"})"));
  CHECK_FALSE(stream.add(R"({"id":2,"part":"a","_ab_cdc_deleted_at":null})"));
  Stream soft(&seen, 1, false); // soft deletes: the row stays, nothing to look up
  CHECK_FALSE(soft.add(R"({"id":1,"part":"a","_ab_cdc_deleted_at":"2024-01-01T00:00:00Z"})"));
}

TEST_CASE("dedup keys: streams share the filter without sharing keys", "[load][dedup]") {
  SeenKeys seen;
  Stream first(&seen, 0);
  Stream second(&seen, 1);
  CHECK_FALSE(first.add(R"({"id":1,"part":"a"})"));
  CHECK_FALSE(second.add(R"({"id":1,"part":"a"})"));
  CHECK(first.add(R"({"id":1,"part":"a"})"));
  CHECK(second.add(R"({"id":1,"part":"a"})"));
}

TEST_CASE("dedup keys: without a filter every key is looked up", "[load][dedup]") {
  Stream stream(nullptr, 0);
  CHECK(stream.add(R"({"id":1,"part":"a"})"));
  CHECK(stream.add(R"({"id":2})"));
  CHECK(stream.queued() == std::vector<Key>{{be64(1), "a"}, {be64(2), std::nullopt}});
}

TEST_CASE("dedup keys: every row of a key takes the same lane, and keys spread over lanes",
          "[load][dedup]") {
  Stream stream(nullptr, 0, true, 2);
  std::vector<std::size_t> lane_of(200);
  std::size_t in_lane_1 = 0;
  for (int id = 0; id < 200; ++id) {
    lane_of[static_cast<std::size_t>(id)] =
        stream.encode_and_add(R"({"id":)" + std::to_string(id) + "}");
    in_lane_1 += lane_of[static_cast<std::size_t>(id)];
  }
  CHECK(in_lane_1 > 60);
  CHECK(in_lane_1 < 140);
  for (int id = 0; id < 200; ++id)
    CHECK(stream.encode_and_add(R"({"id":)" + std::to_string(id) + R"(,"v":1})") ==
          lane_of[static_cast<std::size_t>(id)]);
  // Each key was queued twice, both times in its own lane.
  std::size_t queued_1 = stream.queued(1).size();
  CHECK(stream.queued(0).size() + queued_1 == 400);
  CHECK(queued_1 == 2 * in_lane_1);
  for (const auto& key : stream.queued(1)) {
    BinaryReader reader(*key[0]);
    CHECK(lane_of[static_cast<std::size_t>(reader.int64())] == 1);
  }
}

TEST_CASE("seen keys: never forgets a key, rarely claims one it never saw", "[load][dedup]") {
  // 1 MiB holds 16,384 blocks: 100,000 keys are about 6 per block.
  SeenKeys seen(1u << 20);
  constexpr std::uint64_t kKeys = 100000;
  std::uint64_t claimed = 0;
  for (std::uint64_t i = 0; i < kKeys; ++i)
    claimed += seen.check_and_add(SeenKeys::hash(be64(static_cast<std::int64_t>(i)), 7)) ? 1U : 0U;
  for (std::uint64_t i = 0; i < kKeys; ++i)
    REQUIRE(seen.check_and_add(SeenKeys::hash(be64(static_cast<std::int64_t>(i)), 7)));
  std::uint64_t strangers = 0;
  for (std::uint64_t i = kKeys; i < 2 * kKeys; ++i)
    strangers +=
        seen.check_and_add(SeenKeys::hash(be64(static_cast<std::int64_t>(i)), 7)) ? 1U : 0U;
  // At this load about 1 in 100,000 strangers is claimed (fewer while the filter fills): about 1
  // here, for a filter in working order.
  CHECK(claimed < 20);
  CHECK(strangers < 20);
}

TEST_CASE("seen keys: the hash depends on every byte, the length and the seed", "[load][dedup]") {
  CHECK(SeenKeys::hash("abc", 1) == SeenKeys::hash("abc", 1));
  CHECK(SeenKeys::hash("abc", 1) != SeenKeys::hash("abc", 2));
  CHECK(SeenKeys::hash("abc", 1) != SeenKeys::hash("abd", 1));
  CHECK(SeenKeys::hash(std::string_view("abc\0", 4), 1) != SeenKeys::hash("abc", 1));
  CHECK(SeenKeys::hash("0123456789abcdefX", 1) != SeenKeys::hash("0123456789abcdefY", 1));
  CHECK(SeenKeys::hash("", 1) != SeenKeys::hash("", 2));
}

TEST_CASE("only numeric and jsonb values can be equal with different bytes", "[load][dedup]") {
  CHECK_FALSE(bytes_decide_equality(ColumnType::numeric));
  CHECK_FALSE(bytes_decide_equality(ColumnType::jsonb));
  for (auto type :
       {ColumnType::varchar, ColumnType::bigint, ColumnType::boolean, ColumnType::date,
        ColumnType::timestamptz, ColumnType::timestamp, ColumnType::time, ColumnType::timetz})
    CHECK(bytes_decide_equality(type));
}

namespace {

std::string int64_field(std::int64_t value) {
  return std::string("\0\0\0\x08", 4) + be64(value);
}
std::string int32_field(std::int32_t value) {
  return std::string("\0\0\0\x04", 4) + be64(value).substr(4);
}
const std::string kNullField("\xFF\xFF\xFF\xFF", 4);

bool later_wins(std::optional<ColumnType> type, const std::string& earlier_cursor,
                std::int64_t earlier_ms, const std::string& later_cursor, std::int64_t later_ms) {
  return later_row_wins(type, {earlier_cursor, earlier_ms}, {later_cursor, later_ms});
}

} // namespace

TEST_CASE("superseding: without a cursor, the later row wins unless extracted earlier",
          "[load][dedup]") {
  CHECK(later_wins(std::nullopt, "", 1000, "", 1000)); // a tie goes to the larger raw id
  CHECK(later_wins(std::nullopt, "", 1000, "", 1001));
  CHECK_FALSE(later_wins(std::nullopt, "", 1000, "", 999));
}

TEST_CASE("superseding: integer and time cursors compare as signed values", "[load][dedup]") {
  const auto bigint = ColumnType::bigint;
  CHECK(later_wins(bigint, int64_field(5), 1000, int64_field(6), 1)); // cursor first
  CHECK_FALSE(later_wins(bigint, int64_field(6), 1, int64_field(5), 1000));
  CHECK(later_wins(bigint, int64_field(-1), 1000, int64_field(0), 1000)); // sign
  CHECK_FALSE(later_wins(bigint, int64_field(0), 1000, int64_field(-1), 1000));
  CHECK(later_wins(bigint, int64_field(7), 1000, int64_field(7), 1000)); // equal: extraction
  CHECK_FALSE(later_wins(bigint, int64_field(7), 1000, int64_field(7), 999));
  for (auto type : {ColumnType::timestamptz, ColumnType::timestamp, ColumnType::time}) {
    CHECK(later_wins(type, int64_field(-5000000), 1, int64_field(3), 1));
    CHECK_FALSE(later_wins(type, int64_field(3), 1, int64_field(-5000000), 1));
  }
  CHECK(later_wins(ColumnType::date, int32_field(-3), 1, int32_field(2), 1));
  CHECK_FALSE(later_wins(ColumnType::date, int32_field(2), 1, int32_field(-3), 1));
  const std::string no("\0\0\0\x01\0", 5);
  const std::string yes("\0\0\0\x01\x01", 5);
  CHECK(later_wins(ColumnType::boolean, no, 1, yes, 1));
  CHECK_FALSE(later_wins(ColumnType::boolean, yes, 1, no, 1));
}

TEST_CASE("superseding: NULL cursors are lowest, other types only count when equal",
          "[load][dedup]") {
  CHECK(later_wins(ColumnType::bigint, kNullField, 1000, int64_field(-9), 1));
  CHECK_FALSE(later_wins(ColumnType::bigint, int64_field(-9), 1, kNullField, 1000));
  CHECK(later_wins(ColumnType::bigint, kNullField, 1000, kNullField, 1000));
  CHECK_FALSE(later_wins(ColumnType::bigint, kNullField, 1000, kNullField, 999));
  // Text sorts by collation and numeric by value: only the server can order different ones.
  const std::string a("\0\0\0\x01"
                      "a",
                      5);
  const std::string b("\0\0\0\x01"
                      "b",
                      5);
  CHECK_FALSE(later_wins(ColumnType::varchar, a, 1, b, 2));
  CHECK_FALSE(later_wins(ColumnType::varchar, b, 1, a, 2));
  CHECK(later_wins(ColumnType::varchar, a, 1, a, 2));
  CHECK_FALSE(later_wins(ColumnType::numeric, a, 1, b, 2));
  CHECK(later_wins(ColumnType::numeric, b, 1, b, 1));
  CHECK(later_wins(ColumnType::varchar, kNullField, 1, a, 1));
}

TEST_CASE("dedup keys: forget_last takes back the key queued last", "[load][dedup]") {
  SeenKeys seen;
  Stream stream(&seen, 0);
  CHECK_FALSE(stream.add(R"({"id":1,"part":"a","v":1})"));
  CHECK(stream.add(R"({"id":1,"part":"a","v":2})"));
  CHECK(stream.keys.queued() == 1);
  stream.keys.forget_last(0);
  CHECK(stream.keys.queued() == 0);
  CHECK(stream.queued().empty());
  CHECK(stream.add(R"({"id":1,"part":"a","v":3})")); // still seen: the next one is looked up
  CHECK(stream.queued() == std::vector<Key>{{be64(1), "a"}});
}
