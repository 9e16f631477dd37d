// The SQL that saves, drops and recreates the views depending on a table, and the order of it.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "pgdest/error.hpp"
#include "pgdest/postgres/dependent_views.hpp"
#include "scripted_connection.hpp"

using namespace pgdest::postgres;
using pgdest::testing::ScriptedConnection;

namespace {

SavedView view_named(const std::string& schema, const std::string& name) {
  SavedView view;
  view.name = {Identifier(schema), Identifier(name)};
  view.owner = "analyst";
  return view;
}

} // namespace

TEST_CASE("a view is created again with its options, from the server's definition", "[views]") {
  auto view = view_named("s", "we\"ird");
  view.definition = " SELECT t.n\n   FROM s.t\n  WHERE (t.n > 5);";
  view.options = {{"security_barrier", "true"}, {"check_option", "local"}};
  CHECK(view_sql::create_view(view) ==
        "CREATE VIEW \"s\".\"we\"\"ird\" WITH (\"security_barrier\" = 'true', \"check_option\" = "
        "'local') AS  SELECT t.n\n   FROM s.t\n  WHERE (t.n > 5)");
  CHECK(view_sql::drop_view(view) == "DROP VIEW \"s\".\"we\"\"ird\"");
}

TEST_CASE("a materialized view keeps its tablespace and whether it holds data", "[views]") {
  auto view = view_named("s", "m");
  view.materialized = true;
  view.definition = " SELECT 1;";
  view.tablespace = "fast";
  view.populated = false;
  CHECK(view_sql::create_view(view) ==
        "CREATE MATERIALIZED VIEW \"s\".\"m\" TABLESPACE \"fast\" AS  SELECT 1 WITH NO DATA");
  view.populated = true;
  view.tablespace.clear();
  CHECK(view_sql::create_view(view) ==
        "CREATE MATERIALIZED VIEW \"s\".\"m\" AS  SELECT 1 WITH DATA");
  CHECK(view_sql::drop_view(view) == "DROP MATERIALIZED VIEW \"s\".\"m\"");
}

TEST_CASE("owner, defaults, comments and attached objects are restored after the view", "[views]") {
  auto view = view_named("s", "v");
  view.column_defaults = {{"n", "0"}};
  view.comment = "it's the view";
  view.column_comments = {{"N col", R"(a \ b)"}};
  view.attached = {"CREATE RULE r AS ON INSERT TO s.v DO INSTEAD NOTHING;"};
  CHECK(view_sql::restore_statements(view) ==
        std::vector<std::string>{R"(ALTER VIEW "s"."v" OWNER TO "analyst")",
                                 R"(ALTER VIEW "s"."v" ALTER COLUMN "n" SET DEFAULT 0)",
                                 R"(COMMENT ON VIEW "s"."v" IS 'it''s the view')",
                                 R"(COMMENT ON COLUMN "s"."v"."N col" IS E'a \\ b')",
                                 "CREATE RULE r AS ON INSERT TO s.v DO INSTEAD NOTHING;"});
  view.materialized = true;
  view.column_defaults.clear();
  view.column_comments.clear();
  view.attached.clear();
  CHECK(view_sql::restore_statements(view) ==
        std::vector<std::string>{R"(ALTER MATERIALIZED VIEW "s"."v" OWNER TO "analyst")",
                                 R"(COMMENT ON MATERIALIZED VIEW "s"."v" IS 'it''s the view')"});
}

TEST_CASE("grants are restored grouped, the owner's first, another grantor's as that role",
          "[views]") {
  auto view = view_named("s", "v");
  view.grants = {
      {"", "analyst", "analyst", "SELECT", false},  {"", "analyst", "analyst", "INSERT", false},
      {"", "lead", "reader", "SELECT", false},      {"", "analyst", "lead", "SELECT", true},
      {"", "analyst", "", "SELECT", false},         {"n", "analyst", "auditor", "SELECT", false},
      {"n", "analyst", "auditor", "UPDATE", false},
  };
  CHECK(view_sql::grant_statements(view, false) ==
        std::vector<std::string>{
            R"(GRANT SELECT, INSERT ON "s"."v" TO "analyst")",
            R"(GRANT SELECT ON "s"."v" TO "lead" WITH GRANT OPTION)",
            R"(GRANT SELECT ON "s"."v" TO PUBLIC)",
            R"(SET LOCAL ROLE "lead"; GRANT SELECT ON "s"."v" TO "reader"; RESET ROLE)"});
  CHECK(view_sql::grant_statements(view, true) ==
        std::vector<std::string>{R"(GRANT SELECT ("n"), UPDATE ("n") ON "s"."v" TO "auditor")"});
  CHECK(view_sql::revoke_all(view, {"analyst", "", "x\"y"}) ==
        R"(REVOKE ALL ON "s"."v" FROM "analyst", PUBLIC, "x""y")");
  view.grants.push_back({"", "analyst", "x", "SELECT; DROP TABLE t", false});
  CHECK_THROWS_AS(view_sql::grant_statements(view, false), pgdest::SystemError);
}

TEST_CASE("the catalog queries take the table, column and view as parameters", "[views]") {
  for (const auto& query : {view_sql::select_options(), view_sql::select_comments(),
                            view_sql::select_column_defaults(), view_sql::select_attached(),
                            privilege_sql::select_grants(), privilege_sql::select_privileges()})
    CHECK(query.find("$1::pg_catalog.regclass") != std::string::npos);
  auto dependents = view_sql::select_dependent_views();
  for (const char* parameter : {"$1", "$2", "$3"})
    CHECK(dependents.find(parameter) != std::string::npos);
}

TEST_CASE("saved views are dropped dependents first and created again in order", "[views]") {
  ScriptedConnection connection;
  connection.answers[view_sql::select_dependent_views()] = {
      {{"s", "v1", "v", "t", " SELECT 1;", "analyst", ""},
       {"s", "m", "m", "f", " SELECT 2;", "analyst", ""}}};
  connection.answers[view_sql::select_comments()] = {{{"", "first"}, {"n", "a column"}}, {}};
  // Saved, then read again after each view is created: the first matches at once, the second
  // only after its grants are made again (on the view, as its default differs; on a column).
  connection.answers[privilege_sql::select_privileges()] = {
      {{"A", ""}}, {{"B", "n=B"}}, {{"A", ""}}, {{"default", ""}}, {{"B", "n=B"}}};
  connection.answers[privilege_sql::select_grants()] = {
      {{"", "analyst", "analyst", "SELECT", "f"}},
      {{"", "analyst", "analyst", "SELECT", "f"},
       {"", "analyst", "", "SELECT", "f"},
       {"n", "analyst", "auditor", "SELECT", "f"}},
      {{"", "analyst", "analyst", "SELECT", "f"}}};
  auto views = DependentViews::save(connection, {Identifier("s"), Identifier("t")}, "n");
  REQUIRE(views.views().size() == 2);
  CHECK(views.names() == R"("s"."v1", "s"."m")");
  CHECK(views.views()[0].comment == std::optional<std::string>("first"));
  CHECK(views.views()[1].materialized);
  CHECK_FALSE(views.views()[1].populated);
  CHECK(connection.executed ==
        std::vector<std::string>{"SET LOCAL search_path = ''",
                                 R"(LOCK TABLE "s"."t" IN ACCESS EXCLUSIVE MODE)"});
  connection.executed.clear();
  views.drop(connection);
  CHECK(connection.executed ==
        std::vector<std::string>{R"(DROP MATERIALIZED VIEW "s"."m")", R"(DROP VIEW "s"."v1")"});
  connection.executed.clear();
  views.recreate(connection);
  CHECK(connection.executed ==
        std::vector<std::string>{
            R"(CREATE VIEW "s"."v1" AS  SELECT 1)", R"(ALTER VIEW "s"."v1" OWNER TO "analyst")",
            R"(COMMENT ON VIEW "s"."v1" IS 'first')",
            R"(COMMENT ON COLUMN "s"."v1"."n" IS 'a column')",
            R"(CREATE MATERIALIZED VIEW "s"."m" AS  SELECT 2 WITH NO DATA)",
            R"(ALTER MATERIALIZED VIEW "s"."m" OWNER TO "analyst")",
            R"(REVOKE ALL ON "s"."m" FROM "analyst")", R"(GRANT SELECT ON "s"."m" TO "analyst")",
            R"(GRANT SELECT ON "s"."m" TO PUBLIC)",
            R"(GRANT SELECT ("n") ON "s"."m" TO "auditor")"});
}

TEST_CASE("privileges that cannot be restored exactly fail the recreation", "[views]") {
  ScriptedConnection connection;
  connection.answers[view_sql::select_dependent_views()] = {
      {{"s", "v", "v", "t", " SELECT 1;", "analyst", ""}}};
  connection.answers[privilege_sql::select_privileges()] = {
      {{"as saved", ""}}, {{"new", ""}}, {{"other", ""}}};
  auto views = DependentViews::save(connection, {Identifier("s"), Identifier("t")});
  try {
    views.recreate(connection);
    FAIL("no error");
  } catch (const pgdest::SystemError& error) {
    CHECK(
        std::string(error.what()) ==
        R"(The privileges on view "s"."v" could not be restored as they were (they were "as saved" on the view and "" on its columns; they would be "other" and "").)");
  }
}
