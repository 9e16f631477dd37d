// The nesting check that keeps deep config and catalog files away from recursive readers.
#include "pgdest/config/json_nesting.hpp"

#include <catch2/catch.hpp>
#include <string>

using pgdest::config::nests_deeper_than;

TEST_CASE("nests_deeper_than counts arrays and objects, not brackets in strings", "[config]") {
  CHECK_FALSE(nests_deeper_than(R"({"a":[{"b":[]}]})", 4));
  CHECK(nests_deeper_than(R"({"a":[{"b":[]}]})", 3));
  CHECK_FALSE(nests_deeper_than(R"({"a":"[[[[{{{{"})", 1));
  CHECK_FALSE(nests_deeper_than(R"({"a":"\"[[[["})", 1));
  CHECK_FALSE(nests_deeper_than(R"(["\\",[]])", 2));
  CHECK(nests_deeper_than(std::string(50000, '['), 1000));
  CHECK_FALSE(nests_deeper_than(std::string(1000, '[') + std::string(1000, ']'), 1000));
}
