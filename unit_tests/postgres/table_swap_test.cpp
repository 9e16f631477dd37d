// The refresh swap: which path it takes given the catalog's facts, the SQL it runs, and its
// fallback to the copy when the lock cannot be had or the swap fails.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "pgdest/error.hpp"
#include "pgdest/postgres/table_swap.hpp"
#include "scripted_connection.hpp"

using namespace pgdest::postgres;
using pgdest::testing::ScriptedConnection;

namespace {

const TableRef kTable{Identifier("s"), Identifier("users")};
const TableRef kStaging{Identifier("s"), Identifier("users_airbyte_tmp")};

SwapColumn column(const std::string& name, const std::string& type, bool not_null = false) {
  SwapColumn column;
  column.name = name;
  column.type = type;
  column.not_null = not_null;
  column.storage = "x";
  return column;
}

SwapIndex index(const std::string& name, const std::string& body) {
  SwapIndex index;
  index.name = name;
  index.body = body;
  return index;
}

// A table as the connector made it, with its staging table: nothing to carry.
SwapFacts plain_facts() {
  SwapFacts facts;
  facts.owner = facts.staging_owner = "loader";
  facts.columns = facts.staging_columns = {column("_airbyte_raw_id", "character varying", true),
                                           column("name", "text")};
  facts.indexes = {index("users_extracted_at_idx", "USING btree (_airbyte_extracted_at)")};
  facts.staging_indexes = {
      index("users_airbyte_tmp_extracted_at_idx", "USING btree (_airbyte_extracted_at)")};
  return facts;
}

const std::vector<std::string> kCopy = {"DELETE FROM \"s\".\"users\"",
                                        "INSERT INTO \"s\".\"users\" (\"name\") SELECT \"name\" "
                                        "FROM \"s\".\"users_airbyte_tmp\"",
                                        "DROP TABLE IF EXISTS \"s\".\"users_airbyte_tmp\""};

bool contains(const std::vector<std::string>& statements, const std::string& statement) {
  return std::find(statements.begin(), statements.end(), statement) != statements.end();
}

// Answers the swap's catalog queries with the facts of plain_facts(), `times` times.
void answer_plain_facts(ScriptedConnection& connection, int times) {
  for (int i = 0; i < times; ++i) {
    connection.answers[swap_sql::select_table()].push_back(
        {{"loader", "loader", {}, "f", "f", "d"}});
    connection.answers[swap_sql::select_columns()].push_back(
        {{"t", "name", "text", "", "f", "", "", {}, "-1", "", "x", "", {}},
         {"s", "name", "text", "", "f", "", "", {}, "-1", "", "x", "", {}}});
  }
}

} // namespace

TEST_CASE("a table as the connector made it swaps with nothing to carry but its own index",
          "[swap]") {
  auto plan = plan_swap(plain_facts(), kTable, kStaging);
  CHECK(plan.swap);
  CHECK(plan.reason.empty());
  CHECK(plan.prepare_staging.empty());
  CHECK(plan.index_builds.empty());
  CHECK(plan.restore.empty());
  using Rename = std::pair<std::string, std::string>;
  CHECK(plan.index_renames ==
        std::vector<Rename>{{"users_airbyte_tmp_extracted_at_idx", "users_extracted_at_idx"}});
}

TEST_CASE("the connector's extracted_at index is built on staging when it was loaded without",
          "[swap]") {
  auto facts = plain_facts();
  facts.staging_indexes.clear();
  facts.indexes.push_back(index("users_pk_idx", "USING btree (id)"));
  auto plan = plan_swap(facts, kTable, kStaging);
  REQUIRE(plan.swap);
  REQUIRE(plan.index_builds.size() == 1);
  CHECK(
      plan.index_builds[0].statement ==
      R"(CREATE INDEX "users_extracted_at_idx_airbyte_tmp" ON "s"."users_airbyte_tmp" USING btree (_airbyte_extracted_at))");
  using Rename = std::pair<std::string, std::string>;
  CHECK(plan.index_renames ==
        std::vector<Rename>{{"users_extracted_at_idx_airbyte_tmp", "users_extracted_at_idx"}});
  // Neither is a user's: the old key index goes with the old table.
  CHECK(plan.indexes_carried == 0);
}

TEST_CASE("what users hang on the table is carried to the staging table", "[swap]") {
  auto facts = plain_facts();
  facts.owner = "owner role";
  facts.comment = "it's kept";
  facts.columns[1].comment = "a name";
  facts.columns[1].statistics_target = 500;
  facts.columns[1].options = "n_distinct=-0.5";
  facts.columns.push_back(column("retired", "bigint"));
  facts.columns.back().default_expression = "0";
  facts.options = {{"fillfactor", "70"}};
  facts.row_security = true;
  facts.replica_identity = "i";
  auto by_name = index("by_name", "USING btree (name) WHERE (name IS NOT NULL)");
  by_name.clustered = by_name.replica_identity = true;
  by_name.unique = true;
  by_name.comment = "lookups";
  facts.indexes.push_back(by_name);
  facts.triggers = {{"stamp",
                     "CREATE TRIGGER stamp BEFORE INSERT ON s.users FOR EACH ROW EXECUTE "
                     "FUNCTION s.stamp()",
                     "D",
                     {}}};
  facts.policies = {{"alice", true, "r", "limited, PUBLIC", "(name = 'Alice'::text)", {}, {}}};

  auto plan = plan_swap(facts, kTable, kStaging);
  REQUIRE(plan.swap);
  CHECK(plan.prepare_staging ==
        std::vector<std::string>{
            R"(ALTER TABLE "s"."users_airbyte_tmp" ALTER COLUMN "name" SET STATISTICS 500)",
            R"(ALTER TABLE "s"."users_airbyte_tmp" ALTER COLUMN "name" SET (n_distinct=-0.5))",
            R"(ALTER TABLE "s"."users_airbyte_tmp" ADD COLUMN "retired" bigint DEFAULT 0)"});
  REQUIRE(plan.index_builds.size() == 1);
  CHECK(
      plan.index_builds[0].statement ==
      R"(CREATE UNIQUE INDEX "by_name_airbyte_tmp" ON "s"."users_airbyte_tmp" USING btree (name) WHERE (name IS NOT NULL))");
  using Rename = std::pair<std::string, std::string>;
  CHECK(plan.index_renames ==
        std::vector<Rename>{{"by_name_airbyte_tmp", "by_name"},
                            {"users_airbyte_tmp_extracted_at_idx", "users_extracted_at_idx"}});
  CHECK(
      plan.restore ==
      std::vector<std::string>{
          R"(ALTER TABLE "s"."users" OWNER TO "owner role")",
          R"(COMMENT ON TABLE "s"."users" IS 'it''s kept')",
          R"(COMMENT ON COLUMN "s"."users"."name" IS 'a name')",
          R"(ALTER TABLE "s"."users" SET ("fillfactor" = '70'))",
          R"(COMMENT ON INDEX "s"."by_name" IS 'lookups')",
          R"(ALTER TABLE "s"."users" CLUSTER ON "by_name")",
          R"(ALTER TABLE "s"."users" REPLICA IDENTITY USING INDEX "by_name")",
          R"(ALTER TABLE "s"."users" ENABLE ROW LEVEL SECURITY)",
          R"(CREATE POLICY "alice" ON "s"."users" AS PERMISSIVE FOR SELECT TO limited, PUBLIC USING ((name = 'Alice'::text)))",
          "CREATE TRIGGER stamp BEFORE INSERT ON s.users FOR EACH ROW EXECUTE FUNCTION s.stamp()",
          R"(ALTER TABLE "s"."users" DISABLE TRIGGER "stamp")"});
  CHECK(plan.indexes_carried == 1);
  CHECK(plan.triggers_carried == 1);
  CHECK(plan.policies_carried == 1);
}

TEST_CASE("a user index the staging table already has, under any name, is not built again",
          "[swap]") {
  auto facts = plain_facts();
  facts.indexes.push_back(index("old_extracted_at", "USING btree (_airbyte_extracted_at)"));
  auto plan = plan_swap(facts, kTable, kStaging);
  REQUIRE(plan.swap);
  CHECK(plan.index_builds.empty());
  CHECK(plan.indexes_carried == 1);

  // Built before the lock: found again under its temporary name, and given its name back.
  facts = plain_facts();
  facts.indexes.push_back(index("by_name", "USING btree (name)"));
  facts.staging_indexes.push_back(index("by_name_airbyte_tmp", "USING btree (name)"));
  plan = plan_swap(facts, kTable, kStaging);
  REQUIRE(plan.swap);
  CHECK(plan.index_builds.empty());
  CHECK(plan.index_renames.front() ==
        std::make_pair(std::string("by_name_airbyte_tmp"), std::string("by_name")));
}

TEST_CASE("the copy is chosen, with its reason, for what the swap cannot carry", "[swap]") {
  struct Case {
    SwapObstacle obstacle;
    std::string reason;
  };
  for (const auto& [obstacle, reason] : std::vector<Case>{
           {{"publication", "p"}, "the table is in publication p"},
           {{"foreign_key", "orders_fk of s.orders"},
            "foreign key orders_fk of s.orders references the table"},
           {{"rule", "r"}, "the table has rule r"},
           {{"inheritance", "child s.c"}, "the table has an inheritance child s.c"},
           {{"not_plain", "partitioned"}, "the table is partitioned"},
           {{"owned_sequence", "s.users_id_seq"},
            "sequence s.users_id_seq belongs to one of its columns"},
           {{"constraint", "users_pkey"}, "the table has constraint users_pkey"},
           {{"dependent", "function s.f()"}, "function s.f() depends on the table"},
           {{"not_owner", "other"},
            "the connector's role does not have the privileges of the table's owner other"}}) {
    auto facts = plain_facts();
    facts.obstacles = {obstacle, {"rule", "second"}};
    auto plan = plan_swap(facts, kTable, kStaging);
    CHECK_FALSE(plan.swap);
    CHECK(plan.reason == reason);
  }
}

TEST_CASE("columns the staging table cannot stand for choose the copy", "[swap]") {
  auto check_reason = [](SwapFacts facts, const std::string& reason) {
    auto plan = plan_swap(facts, kTable, kStaging);
    CHECK_FALSE(plan.swap);
    CHECK(plan.reason == reason);
  };
  auto facts = plain_facts();
  facts.columns[1].type = "character varying(10)";
  check_reason(
      facts,
      R"(column "name" is character varying(10) in the table but text in the staging table)");
  facts = plain_facts();
  facts.columns[1].identity = "a";
  check_reason(facts, R"(column "name" is an identity column)");
  facts = plain_facts();
  facts.columns[1].options = "n_distinct=1); DROP TABLE x; --";
  check_reason(facts, R"(column "name" has options (n_distinct=1); DROP TABLE x; --))");
  facts = plain_facts();
  facts.columns[1].not_null = true;
  check_reason(facts, R"(column "name" is NOT NULL in the table only)");
  facts = plain_facts();
  facts.columns.push_back(column("old", "bigint", true));
  check_reason(facts,
               R"(column "old" is NOT NULL without a default, and the stream has no such field)");
  facts = plain_facts();
  facts.indexes.push_back(index("odd", ""));
  check_reason(facts, R"(index "odd" cannot be built again from its definition)");

  // A column NOT NULL in staging only becomes nullable, as in the table.
  facts = plain_facts();
  facts.columns[0].not_null = false;
  auto plan = plan_swap(facts, kTable, kStaging);
  CHECK(plan.swap);
  CHECK(plan.prepare_staging ==
        std::vector<std::string>{
            R"(ALTER TABLE "s"."users_airbyte_tmp" ALTER COLUMN "_airbyte_raw_id" DROP NOT NULL)"});
}

TEST_CASE("the swap runs inside the caller's transaction: lock, drop, rename, in that order",
          "[swap]") {
  ScriptedConnection connection;
  answer_plain_facts(connection, 2);
  auto outcome = replace_table_rows(connection, kTable, kStaging, {"name"});
  CHECK(outcome.swapped);
  CHECK(
      outcome.summary ==
      R"(swapped "s"."users_airbyte_tmp" into the place of "s"."users" (O(1) in the rows): 0 views, 0 grants, 0 indexes, 0 triggers, 0 policies carried)");
  const auto& executed = connection.executed;
  REQUIRE(executed.size() >= 6);
  // The caller begins and commits: a lost connection lets it run the whole again.
  CHECK(executed.front() == "SAVEPOINT pgdest_swap");
  CHECK_FALSE(contains(executed, "COMMIT"));
  auto position = [&](const std::string& statement) {
    return std::find(executed.begin(), executed.end(), statement) - executed.begin();
  };
  const auto lock = position(
      R"(SET LOCAL lock_timeout = '2000ms'; LOCK TABLE "s"."users" IN ACCESS EXCLUSIVE MODE)");
  const auto drop = position(R"(DROP TABLE IF EXISTS "s"."users")");
  const auto rename = position(R"(ALTER TABLE "s"."users_airbyte_tmp" RENAME TO "users")");
  CHECK(lock < drop);
  CHECK(drop < rename);
  CHECK(rename < static_cast<long>(executed.size()));
  CHECK_FALSE(contains(executed, kCopy[0]));
}

TEST_CASE("a reader holding the table past every try of the lock makes it a copy", "[swap]") {
  ScriptedConnection connection;
  answer_plain_facts(connection, 2);
  connection.on_execute = [](const std::string& sql) {
    if (sql.find("LOCK TABLE") != std::string::npos)
      throw pgdest::TransientError("canceling statement due to lock timeout",
                                   "SQLSTATE 55P03: canceling statement due to lock timeout");
  };
  std::vector<std::chrono::milliseconds> pauses;
  SwapOptions options;
  options.sleep = [&](std::chrono::milliseconds pause) { pauses.push_back(pause); };
  auto outcome = replace_table_rows(connection, kTable, kStaging, {"name"}, options);
  CHECK_FALSE(outcome.swapped);
  CHECK(
      outcome.summary ==
      R"(copied the rows of "s"."users_airbyte_tmp" into "s"."users" (DELETE + INSERT … SELECT), as another session held the table through 3 tries of 2.0 s (a long reader; the copy does not wait for it))");
  CHECK(pauses == std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(500),
                                                         std::chrono::milliseconds(1000)});
  const auto& executed = connection.executed;
  REQUIRE(executed.size() >= 4);
  // The copy runs after the swap is rolled back to its start, settings included.
  CHECK(
      std::vector<std::string>(executed.end() - 4, executed.end()) ==
      std::vector<std::string>{"ROLLBACK TO SAVEPOINT pgdest_swap", kCopy[0], kCopy[1], kCopy[2]});
  CHECK(std::count(executed.begin(), executed.end(), "ROLLBACK TO SAVEPOINT pgdest_lock") == 3);
}

TEST_CASE("another session already holding a lock on the table makes it a copy at once", "[swap]") {
  ScriptedConnection connection;
  answer_plain_facts(connection, 2);
  connection.answers[swap_sql::select_lock_holders()].push_back(
      {{"process 4242", "AccessShareLock"}, {"a prepared transaction", "RowExclusiveLock"}});
  SwapOptions options;
  options.sleep = [](std::chrono::milliseconds) { FAIL("no try of the lock should wait"); };
  auto outcome = replace_table_rows(connection, kTable, kStaging, {"name"}, options);
  CHECK_FALSE(outcome.swapped);
  CHECK(
      outcome.summary ==
      R"(copied the rows of "s"."users_airbyte_tmp" into "s"."users" (DELETE + INSERT … SELECT), as another session already holds a lock on the table (process 4242: AccessShareLock, a prepared transaction: RowExclusiveLock; a reader such as pg_dump holds it to its end, and the copy does not wait for it))");
  for (const auto& statement : connection.executed)
    CHECK(statement.find("LOCK TABLE") == std::string::npos);
  CHECK(contains(connection.executed, kCopy[1]));
}

TEST_CASE("a swap that fails is rolled back and the rows are copied instead", "[swap]") {
  ScriptedConnection connection;
  answer_plain_facts(connection, 2);
  connection.on_execute = [](const std::string& sql) {
    if (sql.rfind("DROP TABLE IF EXISTS \"s\".\"users\"", 0) == 0 &&
        sql.find("airbyte_tmp") == std::string::npos)
      throw pgdest::SystemError("cannot drop table s.users because other objects depend on it",
                                "SQLSTATE 2BP01: cannot drop table");
  };
  auto outcome = replace_table_rows(connection, kTable, kStaging, {"name"});
  CHECK_FALSE(outcome.swapped);
  CHECK(outcome.summary.find("as the swap failed: cannot drop table s.users") != std::string::npos);
  CHECK(connection.executed.back() == kCopy[2]);
  CHECK(contains(connection.executed, kCopy[1]));
}

TEST_CASE("a lost connection fails the replacement, which commits nothing", "[swap]") {
  ScriptedConnection connection;
  answer_plain_facts(connection, 2);
  connection.on_execute = [&](const std::string& sql) {
    if (sql.find("RENAME TO") != std::string::npos) {
      connection.alive = false;
      throw pgdest::TransientError("server closed the connection unexpectedly");
    }
  };
  CHECK_THROWS_AS(replace_table_rows(connection, kTable, kStaging, {"name"}),
                  pgdest::TransientError);
  CHECK_FALSE(contains(connection.executed, "COMMIT"));
  CHECK_FALSE(contains(connection.executed, kCopy[0]));
}

TEST_CASE("the swap's catalog queries take the table and the staging table", "[swap]") {
  for (const auto& sql : {swap_sql::select_obstacles(), swap_sql::select_table(),
                          swap_sql::select_columns(), swap_sql::select_indexes()}) {
    CHECK(sql.find("$1::pg_catalog.regclass") != std::string::npos);
    CHECK(sql.find("$2::pg_catalog.regclass") != std::string::npos);
  }
  for (const auto& sql : {swap_sql::select_triggers(), swap_sql::select_policies(),
                          swap_sql::select_lock_holders()}) {
    CHECK(sql.find("$1::pg_catalog.regclass") != std::string::npos);
    CHECK(sql.find("$2") == std::string::npos);
  }
  CHECK(swap_sql::rename_index(Identifier("s"), "a\"b", "c") ==
        R"(ALTER INDEX "s"."a""b" RENAME TO "c")");
  SwapPolicy policy{"p", false, "w", "PUBLIC", {}, std::string("true"), {}};
  CHECK(
      swap_sql::create_policy(kTable, policy) ==
      R"(CREATE POLICY "p" ON "s"."users" AS RESTRICTIVE FOR UPDATE TO PUBLIC WITH CHECK (true))");
}
