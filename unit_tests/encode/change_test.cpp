// Unit tests of `_airbyte_meta` change spelling.
#include "pgdest/encode/change.hpp"

#include <catch2/catch.hpp>

using namespace pgdest::encode;

TEST_CASE("Change: wire spelling", "[encode][change]") {
  CHECK(to_wire(ChangeKind::NULLED) == "NULLED");
  CHECK(to_wire(ChangeKind::TRUNCATED) == "TRUNCATED");
  CHECK(to_wire(ChangeReason::DESTINATION_SERIALIZATION_ERROR) ==
        "DESTINATION_SERIALIZATION_ERROR");
  CHECK(to_wire(ChangeReason::DESTINATION_FIELD_SIZE_LIMITATION) ==
        "DESTINATION_FIELD_SIZE_LIMITATION");
}

TEST_CASE("Change: compact JSON with the field name escaped", "[encode][change]") {
  std::string out;
  append_change_json({"age", ChangeKind::NULLED, ChangeReason::DESTINATION_FIELD_SIZE_LIMITATION},
                     out);
  CHECK(out == R"({"field":"age","change":"NULLED","reason":"DESTINATION_FIELD_SIZE_LIMITATION"})");
  out = "x";
  append_change_json(
      {"we\"ird\\na\nme", ChangeKind::TRUNCATED, ChangeReason::DESTINATION_SERIALIZATION_ERROR},
      out);
  CHECK(
      out ==
      R"(x{"field":"we\"ird\\na\nme","change":"TRUNCATED","reason":"DESTINATION_SERIALIZATION_ERROR"})");
}
