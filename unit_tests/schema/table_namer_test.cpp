// Streams → tables with Airbyte's collision rule, and names of derived objects.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "pgdest/error.hpp"
#include "pgdest/schema/table_namer.hpp"

using pgdest::SystemError;
using pgdest::schema::derived_name;
using pgdest::schema::raw_schema_name;
using pgdest::schema::raw_table_stem;
using pgdest::schema::resolve_history_names;
using pgdest::schema::resolve_table_names;
using pgdest::schema::StreamName;
using pgdest::schema::TableName;
using pgdest::schema::TableNaming;

namespace Catch {
template <> struct StringMaker<TableName> {
  static std::string convert(const TableName& name) { return name.schema + "." + name.table; }
};
} // namespace Catch

TEST_CASE("a stream's schema is its namespace, else the default schema, both normalised") {
  const auto tables = resolve_table_names({{std::nullopt, "users"},
                                           {std::string(""), "orders"},
                                           {std::string("namespace_with_sp\xC3\xA9"
                                                        "cial_character"),
                                            "users"},
                                           {std::string("99namespace"), "Users"}},
                                          {"Public Data"});
  CHECK(tables == std::vector<TableName>{{"Public_Data", "users"},
                                         {"Public_Data", "orders"},
                                         {"namespace_with_special_character", "users"},
                                         {"_99namespace", "Users"}});
}

TEST_CASE("stream names of Airbyte's edge_case_catalog.json") {
  const auto tables = resolve_table_names({{std::nullopt, "streamWithCamelCase"},
                                           {std::nullopt, "STREAM_WITH_ALL_CAPS"},
                                           {std::nullopt, "stream-with:sp\xC3\xA9"
                                                          "cial:character_names"},
                                           {std::nullopt, "reserved_keywords"},
                                           {std::nullopt, "groups"}},
                                          {"public"});
  CHECK(tables == std::vector<TableName>{{"public", "streamWithCamelCase"},
                                         {"public", "STREAM_WITH_ALL_CAPS"},
                                         {"public", "stream_with_special_character_names"},
                                         {"public", "reserved_keywords"},
                                         {"public", "groups"}});
}

TEST_CASE("names that differ only in case are different tables") {
  const auto tables =
      resolve_table_names({{std::nullopt, "Users"}, {std::nullopt, "users"}}, {"s"});
  CHECK(tables == std::vector<TableName>{{"s", "Users"}, {"s", "users"}});
}

TEST_CASE("a later stream that maps to a taken table gets a SHA-1 suffix") {
  // sha1("public&airbyte&a b") = 15272d24...
  CHECK(resolve_table_names({{std::nullopt, "a-b"}, {std::nullopt, "a b"}}, {"public"}) ==
        std::vector<TableName>{{"public", "a_b"}, {"public", "a_b_152"}});
  // The order decides which stream keeps the plain name: sha1("public&airbyte&a-b") = 0105b9a3...
  CHECK(resolve_table_names({{std::nullopt, "a b"}, {std::nullopt, "a-b"}}, {"public"}) ==
        std::vector<TableName>{{"public", "a_b"}, {"public", "a_b_010"}});
  // Namespaces that normalise alike collide too; the hash uses the normalised schema:
  // sha1("ns_1&airbyte&t") = ec8f0b02...
  CHECK(resolve_table_names({{std::string("ns-1"), "t"}, {std::string("ns 1"), "t"}}, {"public"}) ==
        std::vector<TableName>{{"ns_1", "t"}, {"ns_1", "t_ec8"}});
}

TEST_CASE("long colliding names are suffixed, then truncated with a fresh hash") {
  // sha1("public&airbyte&long " + 70 × "z") = d95d7e89... (a two-block message);
  // hashCode("long_" + 70 × "z" + "_d95") → "56016164".
  const std::string z70(70, 'z');
  CHECK(resolve_table_names({{std::nullopt, "long-" + z70}, {std::nullopt, "long " + z70}},
                            {"public"}) ==
        std::vector<TableName>{{"public", "long_" + std::string(49, 'z') + "_10755101"},
                               {"public", "long_" + std::string(49, 'z') + "_56016164"}});
}

TEST_CASE("the same name in different schemas does not collide") {
  CHECK(resolve_table_names({{std::string("a"), "t"}, {std::string("b"), "t"}}, {"public"}) ==
        std::vector<TableName>{{"a", "t"}, {"b", "t"}});
}

TEST_CASE("a hash-suffixed name that is taken too gets a longer hash") {
  // sha1("s&airbyte&a b") = ac27c8a4...: "a b" would become a_b_ac2, which a stream already has.
  CHECK(resolve_table_names(
            {{std::nullopt, "a-b"}, {std::nullopt, "a_b_ac2"}, {std::nullopt, "a b"}}, {"s"}) ==
        std::vector<TableName>{{"s", "a_b"}, {"s", "a_b_ac2"}, {"s", "a_b_ac27"}});
}

TEST_CASE("SQL injection attempts become plain table names") {
  CHECK(
      resolve_table_names({{std::string("x\"; DROP SCHEMA public; --"), "t\"; --"}}, {"public"}) ==
      std::vector<TableName>{{"x___DROP_SCHEMA_public____", "t_____"}});
}

TEST_CASE("raw table names join namespace and name around a separator longer than any _ run") {
  // Airbyte's StreamIdTest: both streams naively want "aaa_abab_bbb_abab_ccc".
  CHECK(raw_table_stem("aaa_abab_bbb", "ccc") == "aaa_abab_bbb_raw__stream_ccc");
  CHECK(raw_table_stem("aaa", "bbb_abab_ccc") == "aaa_raw__stream_bbb_abab_ccc");
  CHECK(raw_table_stem("a", "b") == "a_raw__stream_b");
  // A run of n underscores makes the separator's run n + 1, also across the join.
  CHECK(raw_table_stem("public__ab", "abab_users") == "public__ab_raw___stream_abab_users");
  CHECK(raw_table_stem("a_", "_b") == "a__raw___stream__b");
  CHECK(raw_table_stem("ns", "x___y") == "ns_raw____stream_x___y");
  // A name that itself holds "_raw__stream_" cannot be mistaken for another stream's table.
  CHECK(raw_table_stem("a", "b_raw__stream_c") == "a_raw___stream_b_raw__stream_c");
  CHECK(raw_table_stem("a_raw__stream_b", "c") == "a_raw__stream_b_raw___stream_c");
}

TEST_CASE("raw tables go to the lower-cased raw schema, named as Airbyte names them") {
  const TableNaming raw{"public", std::string("airbyte_internal")};
  // Airbyte's PostgresTableSchemaMapperTest: ("App", "Users") →
  // airbyte_internal.app_raw__stream_users.
  CHECK(resolve_table_names({{std::string("App"), "Users"},
                             {std::nullopt, "orders"},
                             {std::string(""), "items"},
                             {std::string("${foo}"), "${bar}"}},
                            raw) ==
        std::vector<TableName>{{"airbyte_internal", "app_raw__stream_users"},
                               {"airbyte_internal", "public_raw__stream_orders"},
                               {"airbyte_internal", "public_raw__stream_items"},
                               {"airbyte_internal", "__foo__raw__stream___bar_"}});
  CHECK(
      resolve_table_names({{std::nullopt, "users"}}, {"Sales Team", std::string("My Raw Data")}) ==
      std::vector<TableName>{{"my_raw_data", "sales_team_raw__stream_users"}});
  CHECK(raw_schema_name("\xC3\x9C"
                        "n\xC3\xAF"
                        "code") == "unicode");
}

TEST_CASE("a long raw table name is cut and hashed after lower-casing") {
  // The stem lower-cased and normalised is 86 bytes; its hashCode ends in "87907358".
  CHECK(
      resolve_table_names({{std::string("Analytics-Team"),
                            "Very Long Stream Name For Monthly Revenue Reports By Region"}},
                          {"public", std::string("airbyte_internal")}) ==
      std::vector<TableName>{
          {"airbyte_internal", "analytics_team_raw__stream_very_long_stream_name_for_m_87907358"}});
}

TEST_CASE("raw names that differ only in case collide, and the later stream gets a hash") {
  // sha1("airbyte_internal&airbyte&users") = 5cf...: the second stream is named as "users_5cf".
  CHECK(resolve_table_names({{std::nullopt, "Users"}, {std::nullopt, "users"}},
                            {"public", std::string("airbyte_internal")}) ==
        std::vector<TableName>{{"airbyte_internal", "public_raw__stream_users"},
                               {"airbyte_internal", "public_raw__stream_users_5cf"}});
}

TEST_CASE("derived_name appends the suffix when it fits") {
  CHECK(derived_name("users", "_airbyte_tmp") == "users_airbyte_tmp");
  const std::string base51(51, 'b');
  CHECK(derived_name(base51, "_airbyte_tmp") == base51 + "_airbyte_tmp"); // exactly 63 bytes
}

TEST_CASE("derived_name cuts a long base and adds its hash") {
  // A 63-byte table name: hashCode → "98684572"; 63 - len("_98684572_airbyte_tmp") = 42 kept.
  const std::string base = "l" + std::string(53, 'a') + "_19754091";
  CHECK(derived_name(base, "_airbyte_tmp") == "l" + std::string(41, 'a') + "_98684572_airbyte_tmp");
  const std::string base52(52, 'b');
  CHECK(derived_name(base52, "_airbyte_tmp").size() == 63);
  // Bases that share the kept prefix still get different names.
  const std::string other = "l" + std::string(53, 'a') + "_19754092";
  CHECK(derived_name(other, "_airbyte_tmp") ==
        "l" + std::string(41, 'a') + "_98684571_airbyte_tmp");
}

TEST_CASE("derived_name never cuts a UTF-8 sequence in half") {
  // "é" takes bytes 41 and 42, across the 42-byte cut: it goes entirely.
  const std::string base = std::string(41, 'a') + "\xC3\xA9" + std::string(30, 'b');
  CHECK(derived_name(base, "_airbyte_tmp") == std::string(41, 'a') + "_41011992_airbyte_tmp");
}

TEST_CASE("derived_name refuses a suffix that leaves no room") {
  CHECK_THROWS_AS(derived_name(std::string(70, 'a'), std::string(54, 's')), SystemError);
  CHECK_THROWS_WITH(derived_name(std::string(70, 'a'), "_" + std::string(53, 's')),
                    "The name suffix \"_" + std::string(53, 's') + "\" is too long.");
  CHECK(derived_name("a", std::string(62, 's')) == "a" + std::string(62, 's'));
}

TEST_CASE("a history table is the table's name with _scd, only where wanted") {
  const std::vector<TableName> tables = {{"public", "users"}, {"public", "orders"}};
  CHECK(resolve_history_names(tables, {true, false}) == std::vector<std::string>{"users_scd", ""});
  // Within 63 bytes, cut and hashed as every derived name.
  const std::string long_name(70, 'a');
  CHECK(resolve_history_names({{"public", long_name}}, {true}) ==
        std::vector<std::string>{derived_name(long_name, "_scd")});
  CHECK(derived_name(long_name, "_scd").size() == 63);
}

TEST_CASE("a history name that a stream's table has gets the SHA-1 suffix of its table") {
  // sha1("public&airbyte&users") = 88eb7ef9...; the stream's own table may come after.
  CHECK(resolve_history_names({{"public", "users"}, {"public", "users_scd"}}, {true, false}) ==
        std::vector<std::string>{"users_88e_scd", ""});
  // In another schema there is no collision.
  CHECK(resolve_history_names({{"public", "users"}, {"other", "users_scd"}}, {true, false}) ==
        std::vector<std::string>{"users_scd", ""});
  // A taken hashed name gets a longer hash: sha1("s&airbyte&users") = 5870b6e2...
  CHECK(resolve_history_names({{"s", "users"}, {"s", "users_scd"}, {"s", "users_587_scd"}},
                              {true, false, false}) ==
        std::vector<std::string>{"users_5870_scd", "", ""});
}

TEST_CASE("two history tables never share a name") {
  // users_scd's own history would be users_scd_scd; users' history cannot be users_scd, which
  // is a stream's table.
  CHECK(resolve_history_names({{"public", "users_scd"}, {"public", "users"}}, {true, true}) ==
        std::vector<std::string>{"users_scd_scd", "users_88e_scd"});
}
