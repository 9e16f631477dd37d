// The end of a refresh on a real server: the staging table swapped into the table's place with
// what users hang on it, or the rows copied when a reader holds the table or the swap cannot
// carry something safely.
#include <catch2/catch.hpp>

#include <string>

#include "support/fixture_syncs.hpp"
#include "support/harness.hpp"
#include "support/sync.hpp"

using namespace pgdest::testing;

namespace {

// `count` records of the users stream, ids from `first`.
std::string many_users(int first, int count) {
  std::string out;
  for (int id = first; id < first + count; ++id)
    out += record("users", R"({"id1":)" + std::to_string(id) + R"(,"id2":1,"name":"user )" +
                               std::to_string(id) + R"( with a name of some length"})");
  return out;
}

// The LOG message that says how the stream's rows were replaced, or "" when there is none.
std::string replacement_log(const RunResult& result) {
  for (const auto& message : result.messages("LOG")) {
    const std::string text = message["log"]["message"].get<std::string>();
    if (text.find("swapped ") != std::string::npos ||
        text.find("copied the rows") != std::string::npos)
      return text;
  }
  return "";
}

std::string single(const std::string& sql) {
  auto rows = query_rows(sql);
  REQUIRE(rows.size() == 1);
  return rows[0][0];
}

} // namespace

TEST_CASE("an overwrite swaps the new rows in, keeping views, grants, comments, indexes, "
          "triggers, policies and owner, and returns the old rows' space",
          "[modes][refresh][swap]") {
  auto schema = fresh_schema("it_swap_carry");
  drop_role("it_swap_owner");
  auto spec = overwrite_spec(1);
  require_ok(sync(schema, catalog_of(spec), many_users(0, 3000)));
  exec(R"(
    CREATE ROLE it_swap_owner;
    GRANT CREATE, USAGE ON SCHEMA it_swap_carry TO it_swap_owner;
    GRANT USAGE ON SCHEMA it_swap_carry TO limited;
    CREATE VIEW it_swap_carry.named AS SELECT id1, name FROM it_swap_carry.users WHERE name LIKE 'user 12%';
    CREATE VIEW it_swap_carry.named_count AS SELECT count(*) AS n FROM it_swap_carry.named;
    GRANT SELECT ON it_swap_carry.users TO limited;
    GRANT UPDATE (name) ON it_swap_carry.users TO limited WITH GRANT OPTION;
    COMMENT ON TABLE it_swap_carry.users IS 'kept';
    COMMENT ON COLUMN it_swap_carry.users.name IS 'the name';
    CREATE INDEX users_by_name ON it_swap_carry.users (name);
    CREATE FUNCTION it_swap_carry.shout() RETURNS trigger LANGUAGE plpgsql
      AS $$BEGIN NEW.name := upper(NEW.name); RETURN NEW; END$$;
    CREATE TRIGGER users_shout BEFORE INSERT ON it_swap_carry.users
      FOR EACH ROW EXECUTE FUNCTION it_swap_carry.shout();
    ALTER TABLE it_swap_carry.users ENABLE ROW LEVEL SECURITY;
    CREATE POLICY ones ON it_swap_carry.users FOR SELECT TO limited USING (name LIKE 'user 11%');
    ALTER TABLE it_swap_carry.users OWNER TO it_swap_owner)");
  const std::string old_oid = single("SELECT 'it_swap_carry.users'::regclass::oid::text");

  spec.generation = spec.minimum_generation = 2;
  auto result = sync(schema, catalog_of(spec), many_users(10000, 3000));
  require_ok(result);
  CHECK(
      replacement_log(result) ==
      R"(Stream users: swapped "it_swap_carry"."users_airbyte_tmp" into the place of "it_swap_carry"."users" (O(1) in the rows): 2 views, 2 grants, 1 index, 1 trigger, 1 policy carried.)");
  CHECK(single("SELECT 'it_swap_carry.users'::regclass::oid::text") != old_oid);

  // Exactly the new rows, through the views too.
  CHECK(query_rows("SELECT count(*), min(id1), max(id1), min(_airbyte_generation_id) FROM "
                   "it_swap_carry.users") == Rows{{"3000", "10000", "12999", "2"}});
  CHECK(single("SELECT n FROM it_swap_carry.named_count") == "1000");
  CHECK(tables_in(schema) == Rows{{"named"}, {"named_count"}, {"users"}});
  // Grants (a column grant with its grant option too), comments, owner, row-level security.
  CHECK(query_rows("SELECT has_table_privilege('limited', 'it_swap_carry.users', 'SELECT'), "
                   "has_table_privilege('limited', 'it_swap_carry.users', 'UPDATE'), "
                   "has_column_privilege('limited', 'it_swap_carry.users', 'name', "
                   "'UPDATE WITH GRANT OPTION'), obj_description('it_swap_carry.users'::regclass), "
                   "col_description('it_swap_carry.users'::regclass, (SELECT attnum FROM "
                   "pg_attribute WHERE attrelid = 'it_swap_carry.users'::regclass AND attname = "
                   "'name')), pg_get_userbyid(relowner), relrowsecurity FROM pg_class WHERE oid = "
                   "'it_swap_carry.users'::regclass") ==
        Rows{{"t", "f", "t", "kept", "the name", "it_swap_owner", "t"}});
  // The policy still filters what the other role sees.
  {
    auto connection = test_connection();
    pqxx::work as_limited(connection);
    as_limited.exec("SET LOCAL ROLE limited");
    CHECK(as_limited.exec1("SELECT count(*) FROM it_swap_carry.users")[0].as<int>() == 1000);
  }
  // The user's index and the connector's own, under the table's names; the trigger fires.
  CHECK(query_rows(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'it_swap_carry' ORDER BY 1") ==
        Rows{{"users_by_name"}, {"users_extracted_at_idx"}});
  exec("INSERT INTO it_swap_carry.users (_airbyte_raw_id, _airbyte_extracted_at, _airbyte_meta, "
       "_airbyte_generation_id, id1, name) VALUES ('x', now(), '{}', 2, -1, 'quiet')");
  CHECK(single("SELECT name FROM it_swap_carry.users WHERE id1 = -1") == "QUIET");
  exec("DELETE FROM it_swap_carry.users WHERE id1 = -1");

  // The table takes no more room than the same rows loaded afresh (with the same user index).
  auto fresh = fresh_schema("it_swap_fresh");
  require_ok(sync(fresh, catalog_of(spec), many_users(10000, 3000)));
  exec("CREATE INDEX users_by_name ON it_swap_fresh.users (name)");
  const double swapped_size =
      std::stod(single("SELECT pg_total_relation_size('it_swap_carry.users')"));
  const double fresh_size =
      std::stod(single("SELECT pg_total_relation_size('it_swap_fresh.users')"));
  INFO("swapped " << swapped_size << " bytes, fresh " << fresh_size << " bytes");
  CHECK(swapped_size <= 1.1 * fresh_size);

  // And the next refresh swaps again: nothing of the first swap is in its way.
  spec.generation = spec.minimum_generation = 3;
  result = sync(schema, catalog_of(spec), many_users(20000, 10));
  require_ok(result);
  CHECK(replacement_log(result).find("swapped ") != std::string::npos);
  CHECK(single("SELECT count(*) FROM it_swap_carry.users") == "10");
  CHECK(query_rows(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'it_swap_carry' ORDER BY 1") ==
        Rows{{"users_by_name"}, {"users_extracted_at_idx"}});
  exec("DROP SCHEMA it_swap_carry CASCADE");
  drop_role("it_swap_owner");
}

TEST_CASE("a REPEATABLE READ reader holding the table makes the refresh copy the rows at once, "
          "and keeps reading the old rows",
          "[modes][refresh][swap]") {
  auto schema = fresh_schema("it_swap_readers");
  auto spec = overwrite_spec(1);
  require_ok(sync(schema, catalog_of(spec), records_for("sync1_messages.jsonl", "users")));
  const std::string count = "SELECT count(*) FROM it_swap_readers.users";
  const auto old_count = query_rows(count);
  // A report reading in one snapshot, like pg_dump: it holds its lock on the table to the end.
  auto reader_connection = test_connection();
  pqxx::transaction<pqxx::isolation_level::repeatable_read> reader(reader_connection);
  CHECK(reader.exec1(count)[0].as<std::string>() == old_count[0][0]);

  spec.generation = spec.minimum_generation = 2;
  auto catalog = catalog_of(spec);
  ConnectorProcess connector({"write", "--config",
                              write_temp_file("swap-config.json", test_config(schema).dump()),
                              "--catalog", write_temp_file("swap-catalog.json", catalog.dump())});
  connector.write_stdin(record("users", R"({"id1":9,"id2":9,"name":"New"})") + state_line(1) +
                        complete_statuses(catalog));
  connector.close_stdin();
  // The reader's lock is seen at once: the copy runs without a try of the lock, and does not wait
  // for the reader.
  CHECK(connector.wait_for_exit(30.0));
  CHECK(reader.exec1(count)[0].as<std::string>() == old_count[0][0]);
  const std::string reader_pid = reader.exec1("SELECT pg_backend_pid()")[0].as<std::string>();
  reader.commit();
  auto result = connector.wait();
  CHECK(result.exit_code == 0);
  CHECK(
      replacement_log(result) ==
      R"(Stream users: copied the rows of "it_swap_readers"."users_airbyte_tmp" into "it_swap_readers"."users" (DELETE + INSERT … SELECT), as another session already holds a lock on the table (process )" +
          reader_pid +
          R"(: AccessShareLock; a reader such as pg_dump holds it to its end, and the copy does not wait for it).)");
  for (const auto& message : result.messages("LOG"))
    CHECK(message["log"]["message"].get<std::string>().find("trying its lock again") ==
          std::string::npos);
  CHECK(query_rows("SELECT id1, name FROM it_swap_readers.users") == Rows{{"9", "New"}});
  CHECK(tables_in(schema) == Rows{{"users"}});
}

TEST_CASE("a connection terminated while the swap waits for a lock is replaced and the swap runs "
          "again: exactly the new rows",
          "[modes][refresh][swap]") {
  auto schema = fresh_schema("it_swap_retry");
  auto config = own_role_config(schema, "it_swap_retry_user");
  auto spec = overwrite_spec(1);
  require_ok(sync(schema, catalog_of(spec), many_users(1, 3), true, config));
  // A refresh that stops before the stream is complete: its rows wait in the staging table.
  spec.generation = spec.minimum_generation = 2;
  auto catalog = catalog_of(spec);
  REQUIRE(sync(schema, catalog, many_users(10, 5), false, config).exit_code == 1);
  REQUIRE(single("SELECT count(*) FROM it_swap_retry.users_airbyte_tmp") == "5");

  // A reader of the staging table (not of the table, which the swap looks at before its lock):
  // renaming staging into place waits for it.
  auto holder_connection = test_connection();
  pqxx::work holder(holder_connection);
  holder.exec("LOCK TABLE it_swap_retry.users_airbyte_tmp IN ACCESS SHARE MODE");
  ConnectorProcess connector(write_args(schema, config, catalog));
  connector.write_stdin(many_users(15, 5) + state_line(1) + complete_statuses(catalog));
  connector.close_stdin();
  auto watcher = test_connection();
  REQUIRE(wait_for_statement(watcher, "it_swap_retry_user", "ALTER TABLE ", 30.0));
  REQUIRE(wait_for_lock_wait(watcher, "it_swap_retry_user", 30.0));
  terminate_sessions_of("it_swap_retry_user");
  holder.commit();

  auto result = connector.wait();
  INFO(result.stderr_text);
  CHECK(result.exit_code == 0);
  CHECK(result.trace_errors().empty());
  CHECK(protocol_violations(result.stdout_lines).empty());
  CHECK(replacement_log(result).rfind("Stream users: swapped ", 0) == 0);
  bool retried = false;
  for (const auto& message : result.messages("LOG"))
    retried = retried || message["log"]["message"].get<std::string>().find(
                             "Trying the transaction again") != std::string::npos;
  CHECK(retried);
  CHECK(query_rows("SELECT count(*), count(DISTINCT id1), min(id1), max(id1), "
                   "max(_airbyte_generation_id) FROM it_swap_retry.users") ==
        Rows{{"10", "10", "10", "19", "2"}});
  CHECK(tables_in(schema) == Rows{{"users"}});
  drop_role("it_swap_retry_user");
}

TEST_CASE("a table in a publication, or referenced by a foreign key, has its rows copied",
          "[modes][refresh][swap]") {
  auto schema = fresh_schema("it_swap_fallback");
  exec("DROP PUBLICATION IF EXISTS it_swap_pub");
  auto spec = overwrite_spec(1);
  require_ok(sync(schema, catalog_of(spec), records_for("sync1_messages.jsonl", "users")));
  const std::string oid = single("SELECT 'it_swap_fallback.users'::regclass::oid::text");

  // A published table needs a replica identity for the copy's DELETE.
  exec("ALTER TABLE it_swap_fallback.users REPLICA IDENTITY FULL; "
       "CREATE PUBLICATION it_swap_pub FOR TABLE it_swap_fallback.users");
  spec.generation = spec.minimum_generation = 2;
  auto result = sync(schema, catalog_of(spec), record("users", R"({"id1":7,"id2":7})"));
  require_ok(result);
  CHECK(replacement_log(result).find("(DELETE + INSERT … SELECT), as the table is in publication "
                                     "it_swap_pub.") != std::string::npos);
  CHECK(single("SELECT string_agg(pubname, ',') FROM pg_publication_tables WHERE schemaname = "
               "'it_swap_fallback' AND tablename = 'users'") == "it_swap_pub");
  exec("DROP PUBLICATION it_swap_pub");

  exec("ALTER TABLE it_swap_fallback.users ADD CONSTRAINT users_raw_id UNIQUE (_airbyte_raw_id); "
       "CREATE TABLE it_swap_fallback.notes (raw_id varchar REFERENCES "
       "it_swap_fallback.users (_airbyte_raw_id))");
  spec.generation = spec.minimum_generation = 3;
  result = sync(schema, catalog_of(spec), record("users", R"({"id1":8,"id2":8})"));
  require_ok(result);
  CHECK(replacement_log(result).find(
            "as foreign key notes_raw_id_fkey of it_swap_fallback.notes references the table.") !=
        std::string::npos);
  // The same table all along, with the new rows.
  CHECK(single("SELECT 'it_swap_fallback.users'::regclass::oid::text") == oid);
  CHECK(query_rows("SELECT id1 FROM it_swap_fallback.users") == Rows{{"8"}});
}

TEST_CASE("a swap that fails half-way is rolled back and the rows are copied, the view kept",
          "[modes][refresh][swap]") {
  auto schema = fresh_schema("it_swap_failed");
  drop_role("it_swap_writer");
  drop_role("it_swap_analyst");
  exec("CREATE ROLE it_swap_writer LOGIN PASSWORD 'writer-pw'; CREATE ROLE it_swap_analyst; "
       "CREATE SCHEMA it_swap_failed AUTHORIZATION it_swap_writer; "
       "GRANT USAGE, CREATE ON SCHEMA it_swap_failed TO it_swap_analyst");
  auto config = test_config(schema);
  config["username"] = "it_swap_writer";
  config["password"] = "writer-pw";
  auto spec = overwrite_spec(1);
  require_ok(sync(schema, catalog_of(spec), record("users", R"({"id1":1,"id2":1})"), true, config));
  // A view of a role the connector's role is not a member of: the schema's owner may drop it,
  // but not create it again as that role.
  exec("GRANT SELECT ON it_swap_failed.users TO it_swap_analyst; SET ROLE it_swap_analyst; "
       "CREATE VIEW it_swap_failed.report AS SELECT id1 FROM it_swap_failed.users");
  const std::string oid = single("SELECT 'it_swap_failed.users'::regclass::oid::text");

  spec.generation = spec.minimum_generation = 2;
  auto result =
      sync(schema, catalog_of(spec), record("users", R"({"id1":2,"id2":2})"), true, config);
  require_ok(result);
  CHECK(
      replacement_log(result).find(
          R"(as the swap failed: PostgreSQL failed while restoring view "it_swap_failed"."report": must be member of role "it_swap_analyst")") !=
      std::string::npos);
  CHECK(single("SELECT 'it_swap_failed.users'::regclass::oid::text") == oid);
  CHECK(query_rows("SELECT id1, pg_get_userbyid(relowner) FROM it_swap_failed.report, pg_class "
                   "WHERE pg_class.oid = 'it_swap_failed.report'::regclass") ==
        Rows{{"2", "it_swap_analyst"}});
  // The writer may not create schemas: the connector's own tables (rejected values, the sync
  // log) are kept in its own schema, beside the table.
  CHECK(tables_in(schema) ==
        Rows{{"_airbyte_rejected_values"}, {"_airbyte_sync_log"}, {"report"}, {"users"}});
  fresh_schema(schema);
  drop_role("it_swap_writer");
  drop_role("it_swap_analyst");
}
