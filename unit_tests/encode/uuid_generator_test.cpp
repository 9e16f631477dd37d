// Unit tests of UUID v7 text generation.
#include "pgdest/encode/uuid_generator.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <string>
#include <vector>

using namespace pgdest::encode;

namespace {

bool is_lower_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

void check_v7_shape(const std::string& uuid) {
  INFO("uuid: " << uuid);
  REQUIRE(uuid.size() == 36);
  for (std::size_t i = 0; i < uuid.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      CHECK(uuid[i] == '-');
    } else {
      CHECK(is_lower_hex(uuid[i]));
    }
  }
  CHECK(uuid[14] == '7');
  CHECK(std::string("89ab").find(uuid[19]) != std::string::npos);
}

std::string make(UuidGenerator& generator, std::uint64_t unix_ms) {
  std::string out(UuidGenerator::kTextSize, '?');
  generator.write_v7(unix_ms, out.data());
  return out;
}

} // namespace

TEST_CASE("UuidGenerator: version 7 layout with the given timestamp", "[encode][uuid]") {
  UuidGenerator generator({1, 2, 3, 4});
  const std::string uuid = make(generator, 0x0123456789AB);
  check_v7_shape(uuid);
  CHECK(uuid.substr(0, 13) == "01234567-89ab");
  UuidGenerator fresh({1, 2, 3, 4});
  CHECK(make(fresh, 0).substr(0, 13) == "00000000-0000");
}

TEST_CASE("UuidGenerator: ids sort in the order they were made, also within a millisecond and "
          "when the clock steps back",
          "[encode][uuid]") {
  UuidGenerator generator({9, 8, 7, 6});
  std::vector<std::uint64_t> times;
  for (int i = 0; i < 5000; ++i)
    times.push_back(1700000000000 + static_cast<std::uint64_t>(i / 1000)); // 1000 per ms
  times.push_back(1690000000000);                                          // the clock stepped back
  times.push_back(1690000000000);
  times.push_back(1700000000009);
  std::string previous;
  for (auto ms : times) {
    const std::string uuid = make(generator, ms);
    check_v7_shape(uuid);
    INFO("after " << previous);
    CHECK(uuid > previous);
    previous = uuid;
  }
  CHECK(previous.substr(0, 13) == make(generator, 1700000000009).substr(0, 13));
}

TEST_CASE("UuidGenerator: the current time by default", "[encode][uuid]") {
  UuidGenerator generator;
  std::string uuid(36, '?');
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  generator.write_v7(uuid.data());
  check_v7_shape(uuid);
  const std::string hex = uuid.substr(0, 8) + uuid.substr(9, 4);
  const auto stamped = static_cast<long long>(std::stoull(hex, nullptr, 16));
  CHECK(stamped >= before);
  CHECK(stamped - before < 5000);
}

TEST_CASE("UuidGenerator: random bits differ and follow the seed", "[encode][uuid]") {
  UuidGenerator first({1, 2, 3, 4});
  UuidGenerator second({1, 2, 3, 4});
  UuidGenerator other({5, 6, 7, 8});
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string a = make(first, 1700000000000);
    CHECK(a == make(second, 1700000000000));
    CHECK(a != make(other, 1700000000000));
    check_v7_shape(a);
    seen.insert(a);
  }
  CHECK(seen.size() == 1000);
  UuidGenerator zero_seed({0, 0, 0, 0});
  CHECK(make(zero_seed, 1) != make(zero_seed, 1));
}
