// Type changes of existing columns: convert when lossless, else keep the wider existing type.
#include <catch2/catch.hpp>

#include "pgdest/schema/type_evolution.hpp"

using namespace pgdest::schema;
using Action = TypeDecision::Action;

TEST_CASE("format_type spellings map to the types rows can be encoded as", "[evolution]") {
  CHECK(column_type_from_sql("character varying") == ColumnType::varchar);
  CHECK_FALSE(column_type_from_sql("character varying(20)"));
  CHECK(column_type_from_sql("text") == ColumnType::varchar);
  CHECK(column_type_from_sql("timestamp with time zone") == ColumnType::timestamptz);
  CHECK_FALSE(column_type_from_sql("timestamp(3) with time zone"));
  CHECK(column_type_from_sql("timestamp without time zone") == ColumnType::timestamp);
  CHECK(column_type_from_sql("time with time zone") == ColumnType::timetz);
  CHECK(column_type_from_sql("time without time zone") == ColumnType::time);
  CHECK_FALSE(column_type_from_sql("numeric(38,9)"));
  CHECK(column_type_from_sql("jsonb") == ColumnType::jsonb);
  CHECK_FALSE(column_type_from_sql("integer"));
  CHECK_FALSE(column_type_from_sql("json"));
  CHECK_FALSE(column_type_from_sql("double precision"));
}

TEST_CASE("lossless changes convert in place", "[evolution]") {
  auto to_text = decide_type_change("bigint", ColumnType::varchar, "\"c\"");
  CHECK(to_text.action == Action::convert);
  CHECK(to_text.type == ColumnType::varchar);
  CHECK(to_text.using_expression == "\"c\"::text");
  auto to_json = decide_type_change("character varying", ColumnType::jsonb, "\"c\"");
  CHECK(to_json.action == Action::convert);
  CHECK(to_json.using_expression == "to_jsonb(\"c\")");
  CHECK(decide_type_change("bigint", ColumnType::numeric, "\"c\"").action == Action::convert);
  CHECK(decide_type_change("integer", ColumnType::bigint, "\"c\"").action == Action::convert);
  CHECK(decide_type_change("date", ColumnType::timestamptz, "\"c\"").action == Action::convert);
  CHECK(decide_type_change("date", ColumnType::timestamp, "\"c\"").action == Action::convert);
}

TEST_CASE("lossy changes keep the existing, wider column", "[evolution]") {
  auto kept = decide_type_change("character varying", ColumnType::bigint, "\"c\"");
  CHECK(kept.action == Action::keep);
  CHECK(kept.type == ColumnType::varchar);
  CHECK(decide_type_change("numeric", ColumnType::bigint, "\"c\"").type == ColumnType::numeric);
  CHECK(decide_type_change("jsonb", ColumnType::boolean, "\"c\"").type == ColumnType::jsonb);
  CHECK(decide_type_change("timestamp with time zone", ColumnType::date, "\"c\"").type ==
        ColumnType::timestamptz);
  auto same = decide_type_change("bigint", ColumnType::bigint, "\"c\"");
  CHECK(same.action == Action::keep);
  CHECK(same.type == ColumnType::bigint);
}

TEST_CASE("limits on an existing column are lifted, since a value beyond them would fail the load",
          "[evolution]") {
  auto numeric = decide_type_change("numeric(38,9)", ColumnType::numeric, "\"c\"");
  CHECK(numeric.action == Action::convert);
  CHECK(numeric.type == ColumnType::numeric);
  CHECK(numeric.using_expression.empty());
  auto narrower = decide_type_change("numeric(10,2)", ColumnType::bigint, "\"c\"");
  CHECK(narrower.action == Action::convert);
  CHECK(narrower.type == ColumnType::numeric);
  auto text = decide_type_change("character varying(3)", ColumnType::varchar, "\"c\"");
  CHECK(text.action == Action::convert);
  CHECK(text.type == ColumnType::varchar);
  CHECK(decide_type_change("timestamp(3) with time zone", ColumnType::timestamptz, "\"c\"").type ==
        ColumnType::timestamptz);
}

TEST_CASE("when neither type holds the other's values, the column becomes jsonb", "[evolution]") {
  for (const char* existing :
       {"bigint", "boolean", "date", "double precision", "json", "integer"}) {
    auto decision = decide_type_change(existing,
                                       ColumnType::boolean == column_type_from_sql(existing)
                                           ? ColumnType::bigint
                                           : ColumnType::boolean,
                                       "\"c\"");
    INFO(existing);
    CHECK(decision.action == Action::convert);
    CHECK(decision.type == ColumnType::jsonb);
    CHECK(decision.using_expression == "to_jsonb(\"c\")");
  }
}
