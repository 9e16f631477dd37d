// Identifier normalisation: Airbyte destination-postgres 3.x names, character for character.
#include <catch2/catch.hpp>

#include <string>

#include "pgdest/schema/identifier_normalizer.hpp"

using pgdest::schema::canonical_identifier;
using pgdest::schema::java_hash_code;
using pgdest::schema::java_hash_tail;
using pgdest::schema::normalize_identifier;

// Expected values below were produced by Java 17 running Airbyte's pipeline
// (Normalizer NFKD, \p{M} removed, \s+ and [^\p{Alnum}_] → "_", String.hashCode) and match the
// hand computation h = 31 * h + c over UTF-16 code units, wrapping at 32 bits.

TEST_CASE("java_hash_code is Java's String.hashCode over UTF-16 code units") {
  CHECK(java_hash_code("") == 0);
  CHECK(java_hash_code("a") == 97);
  CHECK(java_hash_code("ab") == 97 * 31 + 98);
  CHECK(java_hash_code("Aa") == 2112);
  CHECK(java_hash_code("BB") == 2112);
  CHECK(java_hash_code("polygenelubricants") == INT32_MIN); // wraps to exactly -2^31
  CHECK(java_hash_code("sp\xC3\xA9"
                       "cial") == -1886560451);
  // U+1F600 is the surrogate pair D83D DE00: 0xD83D * 31 + 0xDE00.
  CHECK(java_hash_code("\xF0\x9F\x98\x80") == 1772899);
}

TEST_CASE("java_hash_tail keeps the last 8 characters, a minus sign included") {
  CHECK(java_hash_tail("") == "0");
  CHECK(java_hash_tail("ab") == "3105");
  CHECK(java_hash_tail("polygenelubricants") == "47483648");
  CHECK(java_hash_tail("negative_hash_77_" + std::string(50, 'x')) == "-4587368");
}

TEST_CASE("namespaces of Airbyte's namespace_test_cases.json (enabled cases)") {
  CHECK(normalize_identifier("dest_1001_namespace") == "dest_1001_namespace");
  CHECK(normalize_identifier("namespace_with_sp\xC3\xA9"
                             "cial_character") == "namespace_with_special_character");
  CHECK(normalize_identifier("99namespace") == "_99namespace");
}

TEST_CASE("names of Airbyte's edge_case_catalog.json") {
  CHECK(normalize_identifier("streamWithCamelCase") == "streamWithCamelCase");
  CHECK(normalize_identifier("stream_with_underscores") == "stream_with_underscores");
  CHECK(normalize_identifier("STREAM_WITH_ALL_CAPS") == "STREAM_WITH_ALL_CAPS");
  CHECK(normalize_identifier("stream-with:sp\xC3\xA9"
                             "cial:character_names") == "stream_with_special_character_names");
  CHECK(normalize_identifier("field_with_sp\xC3\xA9"
                             "cial_character") == "field_with_special_character");
  CHECK(normalize_identifier("CapitalCase") == "CapitalCase");
  CHECK(normalize_identifier("order") == "order");
  CHECK(normalize_identifier("authorization") == "authorization");
  CHECK(normalize_identifier("groups") == "groups");
}

TEST_CASE("accents are decomposed and dropped, letters without a decomposition become _") {
  CHECK(normalize_identifier("na\xC3\xAFve caf\xC3\xA9") == "naive_cafe");
  CHECK(normalize_identifier("Cr\xC3\xA8me Br\xC3\xBBl\xC3\xA9"
                             "e") == "Creme_Brulee");
  CHECK(normalize_identifier("\xC3\x85ngstr\xC3\xB6m") == "Angstrom");
  CHECK(normalize_identifier("\xC4\xB0stanbul") == "Istanbul"); // İ
  CHECK(normalize_identifier("e\xCC\x81") == "e");              // e + U+0301
  CHECK(normalize_identifier("Stra\xC3\x9F"
                             "e") == "Stra_e");       // ß
  CHECK(normalize_identifier("\xC3\x98re") == "_re"); // Ø
  CHECK(normalize_identifier("\xC5\x81\xC3\xB3"
                             "d\xC5\xBA") == "_odz");   // Łódź
  CHECK(normalize_identifier("\xC3\x86sir") == "_sir"); // Æ
}

TEST_CASE("compatibility forms fold as NFKD folds them") {
  CHECK(normalize_identifier("\xEF\xAC\x81le") == "file"); // ﬁ
  CHECK(normalize_identifier("\xEF\xBC\xA6\xEF\xBD\x95\xEF\xBD\x8C\xEF\xBD\x8C") ==
        "Full");                                                 // Ｆｕｌｌ
  CHECK(normalize_identifier("x\xC2\xB2") == "x2");              // ²
  CHECK(normalize_identifier("\xC2\xBD price") == "_1_2_price"); // ½ = 1⁄2
  CHECK(normalize_identifier("\xE2\x85\xAB") == "XII");          // Ⅻ
  CHECK(normalize_identifier("\xE2\x91\xA0") == "_1");           // ①
  CHECK(normalize_identifier("\xE2\x84\xA2") == "TM");           // ™
  CHECK(normalize_identifier("\xE2\x80\xA6") == "___");          // …
  CHECK(normalize_identifier("\xF0\x9D\x90\x81old") == "Bold");  // 𝐁
  CHECK(normalize_identifier("\xC7\x84") == "DZ");               // Ǆ
  CHECK(normalize_identifier("\xC2\xB5") == "_");                // µ → μ
}

TEST_CASE("white space runs become one _, even across compatibility spaces") {
  CHECK(normalize_identifier("  leading and   multiple spaces\t\n") ==
        "_leading_and_multiple_spaces_");
  CHECK(normalize_identifier("tab\tand\nnewline") == "tab_and_newline");
  CHECK(normalize_identifier("a\xC2\xA0"
                             "b") == "a_b");            // NBSP is a space under NFKD
  CHECK(normalize_identifier("a \xC2\xA0 b") == "a_b"); // one run
  CHECK(normalize_identifier("a\xC2\xA8"
                             "b") == "a_b");            // ¨ = space + U+0308
  CHECK(normalize_identifier("\xE3\x80\x80x") == "_x"); // ideographic space
  CHECK(normalize_identifier("\xE2\x80\xA8x") == "_x"); // line separator: not \s, still _
  CHECK(normalize_identifier("\x0Bx") == "_x");         // \x0B is in Java's \s
}

TEST_CASE("punctuation and SQL injection attempts become plain identifiers") {
  CHECK(normalize_identifier("a.b-c/d") == "a_b_c_d");
  CHECK(normalize_identifier("x\"; DROP TABLE y; --") == "x___DROP_TABLE_y____");
  CHECK(normalize_identifier("Robert'); DROP TABLE students;--") ==
        "Robert____DROP_TABLE_students___");
  CHECK(normalize_identifier("a\"b") == "a_b");
  CHECK(normalize_identifier("a\\b") == "a_b");
}

TEST_CASE("non-Latin scripts: one _ per code point after decomposition") {
  CHECK(normalize_identifier(
            "namespace_\xE3\x81\x93\xE3\x82\x93\xE3\x81\xAB\xE3\x81\xA1\xE3\x81\xAF") ==
        "namespace______");                                            // こんにちは
  CHECK(normalize_identifier("\xED\x95\x9C\xEA\xB8\x80") == "______"); // 한글: 3 + 3 jamo
  CHECK(normalize_identifier("\xEA\xB0\x80") == "__");                 // 가: 2 jamo
  CHECK(normalize_identifier("a\xF0\x9F\x98\x80"
                             "b") == "a_b");        // a surrogate pair is one _
  CHECK(normalize_identifier("\xD9\xA3x") == "_x"); // Arabic-Indic digit three
  CHECK(normalize_identifier("\xFF"
                             "a") == "_a"); // a malformed byte
}

TEST_CASE("a leading digit gets a _ prefix") {
  CHECK(normalize_identifier("1") == "_1");
  CHECK(normalize_identifier("123") == "_123");
  CHECK(normalize_identifier("_1") == "_1");
  CHECK(normalize_identifier("x1") == "x1");
}

TEST_CASE("empty results get a stable default name") {
  CHECK(normalize_identifier("") == "default_name_0");
  CHECK(normalize_identifier("\xCC\x81") == "default_name_769"); // only U+0301
}

TEST_CASE("names longer than 63 bytes: first 54 characters, _, last 8 of the hash") {
  const std::string fits = "l" + std::string(62, 'a');
  CHECK(normalize_identifier(fits) == fits);
  // hashCode("l" + 63 × "a") = -519754091 → "19754091".
  CHECK(normalize_identifier("l" + std::string(63, 'a')) ==
        "l" + std::string(53, 'a') + "_19754091");
  // The 300-character namespace of namespace_test_cases.json (S3B-1, disabled there).
  CHECK(normalize_identifier("a_300_characters_" + std::string(260, 'o') + "_namespace") ==
        "a_300_characters_" + std::string(37, 'o') + "_95973401");
  // hashCode = -4587368: the minus sign is among the last 8 characters.
  CHECK(normalize_identifier("negative_hash_77_" + std::string(50, 'x')) ==
        "negative_hash_77_" + std::string(37, 'x') + "_-4587368");
  // hashCode = 6134171: fewer than 8 digits, so the name is shorter than 63.
  CHECK(normalize_identifier("short_hash_189_" + std::string(50, 'y')) ==
        "short_hash_189_" + std::string(39, 'y') + "_6134171");
  // The hash is over the transformed name: "é" counts as the one character "e".
  CHECK(normalize_identifier("\xC3\xA9" + std::string(63, 'a')) ==
        normalize_identifier("e" + std::string(63, 'a')));
}

TEST_CASE("canonical_identifier lower-cases before normalising, as Java's lowercase() does") {
  CHECK(canonical_identifier("streamWithCamelCase") == "streamwithcamelcase");
  CHECK(canonical_identifier("\xC3\x89t\xC3\xA9") == "ete"); // Été
  CHECK(canonical_identifier("\xE2\x85\xAB") == "xii");      // Ⅻ lower-cases to ⅻ
  CHECK(canonical_identifier("\xE1\xB4\xAC"
                             "b") == "Ab"); // ᴬ has no lower case
  CHECK(canonical_identifier("\xE2\x84\x9D"
                             "eal") == "Real"); // ℝ neither
  // Truncation hashes the lower-cased name.
  CHECK(canonical_identifier("L" + std::string(63, 'A')) ==
        "l" + std::string(53, 'a') + "_19754091");
}
