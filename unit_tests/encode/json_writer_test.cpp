// Unit tests of the validating compact JSON writer.
#include "pgdest/encode/json_writer.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace pgdest::encode;

namespace {

struct Written {
  JsonWriteResult result;
  std::string text;
};

// Writes the value of `{"v": <value_json>}`; the document itself must pass simdjson's checks.
Written write_value_of(const std::string& value_json, StringForm strings = StringForm::normalised,
                       DuplicateKeys duplicates = DuplicateKeys::kept) {
  simdjson::ondemand::parser parser;
  pgdest::encode::allow_parser_depth(parser);
  const simdjson::padded_string input("{\"v\":" + value_json + "}");
  simdjson::ondemand::document doc;
  REQUIRE(parser.iterate(input).get(doc) == simdjson::SUCCESS);
  simdjson::ondemand::object object;
  REQUIRE(doc.get_object().get(object) == simdjson::SUCCESS);
  simdjson::ondemand::value value;
  REQUIRE(object["v"].get(value) == simdjson::SUCCESS);
  Written written;
  written.text = "prefix:";
  written.result = write_json(value, written.text, strings, duplicates);
  return written;
}

std::string compact(const std::string& value_json) {
  INFO("input: " << value_json);
  const Written written = write_value_of(value_json);
  REQUIRE_FALSE(written.result.malformed);
  CHECK(written.result.error == simdjson::SUCCESS);
  REQUIRE(written.text.rfind("prefix:", 0) == 0);
  return written.text.substr(7);
}

bool malformed(const std::string& value_json) {
  INFO("input: " << value_json);
  const Written written = write_value_of(value_json);
  if (written.result.malformed) {
    CHECK(written.result.error != simdjson::SUCCESS);
  }
  return written.result.malformed;
}

} // namespace

TEST_CASE("write_json: compact output, exact numbers", "[encode][json]") {
  CHECK(
      compact(
          R"({ "a" : [ 1 , 2.50 , -0 , 1e5, 1E-2 ] , "b" : { } , "c":[ ] ,"d":true,"e":false,"f":null })") ==
      R"({"a":[1,2.50,-0,1e5,1E-2],"b":{},"c":[],"d":true,"e":false,"f":null})");
  CHECK(compact("[ [ [ ] ] , { \"x\" : { \"y\" : [ null ] } } ]") ==
        R"([[[]],{"x":{"y":[null]}}])");
  CHECK(compact("123456789012345678901234567890.123456789") ==
        "123456789012345678901234567890.123456789");
  CHECK(compact("\"text\"") == "\"text\"");
  CHECK(compact("true") == "true");
  CHECK(compact("null") == "null");
  CHECK(compact(R"({"a":1,"a":2})") == R"({"a":1,"a":2})");
}

TEST_CASE("write_json: strings are unescaped and re-escaped", "[encode][json]") {
  CHECK(compact(R"("a\"b\\c\/d\n\t\r\b\f\u0001\u001f\u00e9\ud83d\ude00")") ==
        "\"a\\\"b\\\\c/d\\n\\t\\r\\b\\f\\u0001\\u001f\xC3\xA9\xF0\x9F\x98\x80\"");
  CHECK(compact(R"({"k\"ey":"\u0041"})") == R"({"k\"ey":"A"})");
  CHECK(compact("\"caf\xC3\xA9 \x7F\"") == "\"caf\xC3\xA9 \x7F\"");
}

TEST_CASE("write_json: NUL characters are dropped and reported", "[encode][json]") {
  const Written with_nul = write_value_of(R"({"k\u0000ey":["x\u0000y","\u0000"]})");
  REQUIRE_FALSE(with_nul.result.malformed);
  CHECK(with_nul.result.nul_removed);
  CHECK(with_nul.text == R"(prefix:{"key":["xy",""]})");
  const Written without = write_value_of(R"({"key":["x\u0001y"]})");
  CHECK_FALSE(without.result.nul_removed);
}

TEST_CASE("write_json: malformed values are reported", "[encode][json]") {
  for (const char* bad : {"[1,2,]",
                          R"({"a":1,})",
                          "[01]",
                          "[1.]",
                          "[.5]",
                          "[-]",
                          "[+1]",
                          "[1e]",
                          "[tru]",
                          "[nul]",
                          "[fals]",
                          "[truex]",
                          "[nulll]",
                          R"(["\x"])",
                          R"(["\ud800\x"])",
                          R"(["\udc00\u"])",
                          R"(["\u12"])",
                          R"({"a" 1})",
                          "[1 2]",
                          R"({"a":1 "b":2})",
                          "[NaN]",
                          "[Infinity]",
                          R"({1:2})",
                          "[,1]",
                          R"({"\x":1})",
                          "01",
                          "tru",
                          R"("\q")"}) {
    CHECK(malformed(bad));
  }
}

TEST_CASE("write_json: numbers PostgreSQL's jsonb cannot hold are flagged", "[encode][json]") {
  const Written big = write_value_of(R"({"a":[1e1001]})");
  REQUIRE_FALSE(big.result.malformed);
  CHECK(big.result.number_beyond_numeric);
  CHECK(write_value_of("1e-1001").result.number_beyond_numeric);
  CHECK_FALSE(write_value_of(R"({"a":[1e1000, -2.5E-1000]})").result.number_beyond_numeric);
}

TEST_CASE("append_json_string: escapes and NUL removal", "[encode][json]") {
  std::string out = ">";
  CHECK_FALSE(append_json_string("plain", out));
  CHECK(out == ">\"plain\"");
  out.clear();
  CHECK(append_json_string(std::string_view("a\0b\"c\\d\n\x1f", 9), out));
  CHECK(out == "\"ab\\\"c\\\\d\\n\\u001f\"");
  out.clear();
  CHECK_FALSE(append_json_string("", out));
  CHECK(out == "\"\"");
}

TEST_CASE("write_json: a lone surrogate escape is valid JSON, reported and replaced",
          "[encode][json]") {
  const Written value = write_value_of(R"({"k\ud800":["a\udc00b","\ud83d\ude00"]})");
  REQUIRE_FALSE(value.result.malformed);
  CHECK(value.result.lone_surrogate);
  CHECK(value.text == "prefix:{\"k\xEF\xBF\xBD\":[\"a\xEF\xBF\xBD"
                      "b\",\"\xF0\x9F\x98\x80\"]}");
  CHECK_FALSE(write_value_of(R"(["\ud83d\ude00"])").result.lone_surrogate);
}

TEST_CASE("check_escapes: lone surrogates apart from broken escapes", "[encode][json]") {
  CHECK(check_escapes(R"(a\n\u00e9\ud83d\ude00)") == EscapeCheck::valid);
  CHECK(check_escapes(R"(\ud800)") == EscapeCheck::lone_surrogate);
  CHECK(check_escapes(R"(\ud800\ud800)") == EscapeCheck::lone_surrogate);
  CHECK(check_escapes(R"(\udc00\ud800)") == EscapeCheck::lone_surrogate);
  CHECK(check_escapes(R"(\ud800\x)") == EscapeCheck::malformed);
  CHECK(check_escapes(R"(\u12)") == EscapeCheck::malformed);
  CHECK(check_escapes("\\") == EscapeCheck::malformed);
}

namespace {
Written write_verbatim(const std::string& value_json) {
  Written written = write_value_of(value_json, StringForm::verbatim, DuplicateKeys::refused);
  written.text.erase(0, 7); // "prefix:"
  return written;
}
} // namespace

TEST_CASE("write_json verbatim: strings as written, duplicate keys refused", "[encode][json]") {
  const Written kept = write_verbatim(R"({ "k\u0041" : [ "x\u0000\ud800" , 1.50 ] })");
  REQUIRE_FALSE(kept.result.malformed);
  CHECK(kept.text == R"({"k\u0041":["x\u0000\ud800",1.50]})");
  const Written twice = write_verbatim(R"({"a":{"b":1,"c":2,"b":3}})");
  CHECK(twice.result.malformed);
  CHECK(twice.result.duplicate_key == std::optional<std::string>("b"));
  // The same key, spelled two ways.
  CHECK(write_verbatim(R"({"a":1,"\u0061":2})").result.duplicate_key ==
        std::optional<std::string>("\\u0061"));
  CHECK(write_verbatim(R"({"":1,"":2})").result.duplicate_key == std::optional<std::string>(""));
  CHECK(write_verbatim("[1,2,]").result.malformed);
  const std::string deep = std::string(2000, '[') + std::string(2000, ']');
  const Written too_deep = write_verbatim(deep);
  CHECK(too_deep.result.malformed);
  CHECK(too_deep.result.too_deep);
}
