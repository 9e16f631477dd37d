// Existing tables the next sync finds changed (SPEC §6 "Schema evolution"): columns whose type
// must change under views, and tables made by Airbyte's 2.x connector.
#include <catch2/catch.hpp>

#include <optional>

#include "support/harness.hpp"
#include "support/sync.hpp"

using namespace pgdest::testing;
using Json = nlohmann::ordered_json;
using Rows = std::vector<std::vector<std::string>>;

namespace {

// A configured catalog of one stream. Without `generation`, the stream has no generation_id,
// minimum_generation_id or sync_id, as an older platform sends it.
Json catalog_for(const std::string& mode, const Json& properties,
                 std::optional<long> generation = 1) {
  Json stream = {
      {"stream",
       {{"name", "events"}, {"json_schema", {{"type", "object"}, {"properties", properties}}}}},
      {"sync_mode", mode == "overwrite" ? "full_refresh" : "incremental"},
      {"destination_sync_mode", mode},
      {"primary_key", Json::parse(R"([["id"]])")},
      {"cursor_field", Json::array()}};
  if (generation) {
    stream["generation_id"] = *generation;
    stream["minimum_generation_id"] = mode == "overwrite" ? *generation : 0;
    stream["sync_id"] = 100 + *generation;
  }
  return {{"streams", Json::array({stream})}};
}

std::string records(const std::vector<std::string>& data) {
  std::string out;
  for (const auto& one : data)
    out += R"({"type":"RECORD","record":{"stream":"events","emitted_at":1700000000000,"data":)" +
           one + "}}\n";
  return out;
}

RunResult sync(const std::string& schema, const Json& catalog,
               const std::vector<std::string>& data) {
  auto result =
      run_write(schema, catalog,
                records(data) + R"({"type":"STATE","state":{"type":"LEGACY","data":{}}})" + "\n" +
                    complete_statuses(catalog));
  CHECK(protocol_violations(result.stdout_lines) == "");
  INFO(result.stderr_text);
  for (const auto& error : result.trace_errors())
    INFO(error.dump());
  REQUIRE(result.exit_code == 0);
  return result;
}

// The LOG messages of a run, one text.
std::string logs(const RunResult& result) {
  std::string out;
  for (const auto& log : result.messages("LOG"))
    out += log["log"]["level"].get<std::string>() + " " + log["log"]["message"].get<std::string>() +
           "\n";
  return out;
}

// Everything about the views of a schema that a change of their table must keep: kind, owner,
// privileges (sorted), comments, options, whether a materialized view holds data, indexes,
// column defaults, triggers and rules.
Rows views_in(const std::string& schema) {
  return query_rows(
      "SELECT c.relname, c.relkind, pg_get_userbyid(c.relowner), "
      "array(SELECT a::text FROM unnest(c.relacl) a ORDER BY 1)::text, "
      "array(SELECT att.attname || '=' || a::text FROM pg_attribute att, unnest(att.attacl) a "
      "WHERE att.attrelid = c.oid ORDER BY 1)::text, "
      "obj_description(c.oid, 'pg_class'), "
      "array(SELECT att.attname || ': ' || col_description(c.oid, att.attnum) FROM pg_attribute "
      "att WHERE att.attrelid = c.oid AND att.attnum > 0 AND col_description(c.oid, att.attnum) "
      "IS NOT NULL ORDER BY 1)::text, "
      "c.reloptions::text, c.relispopulated, "
      "array(SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = c.oid)::text, "
      "array(SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d WHERE d.adrelid = "
      "c.oid)::text, "
      "array(SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t WHERE t.tgrelid = c.oid)::text, "
      "array(SELECT pg_get_ruledef(r.oid) FROM pg_rewrite r WHERE r.ev_class = c.oid AND "
      "r.rulename <> '_RETURN')::text "
      "FROM pg_class c WHERE c.relnamespace = '" +
      schema + "'::regnamespace AND c.relkind IN ('v', 'm') ORDER BY c.relname");
}

const Json kBigintAmount = Json::parse(R"({"id":{"type":"integer"},"amount":{"type":"integer"}})");
const Json kStringAmount = Json::parse(R"({"id":{"type":"integer"},"amount":{"type":"string"}})");

} // namespace

TEST_CASE("a column converts under views, views on views and materialized views, which keep "
          "their owner, grants and comments",
          "[evolution][views]") {
  auto schema = fresh_schema("it_view_evolution");
  drop_role("it_view_owner");
  exec("CREATE ROLE it_view_owner");
  sync(schema, catalog_for("append", kBigintAmount),
       {R"({"id":1,"amount":10})", R"({"id":2,"amount":20})"});
  exec(R"(
    GRANT USAGE, CREATE ON SCHEMA it_view_evolution TO it_view_owner;
    GRANT USAGE ON SCHEMA it_view_evolution TO limited;
    GRANT SELECT ON it_view_evolution.events TO it_view_owner;
    CREATE VIEW it_view_evolution.amounts WITH (security_barrier = true) AS
      SELECT id, amount FROM it_view_evolution.events;
    CREATE VIEW it_view_evolution."Positive ""amounts""" AS
      SELECT id, amount FROM it_view_evolution.amounts WHERE id > 0 WITH LOCAL CHECK OPTION;
    CREATE MATERIALIZED VIEW it_view_evolution.amounts_snapshot AS
      SELECT id, amount FROM it_view_evolution.amounts;
    CREATE UNIQUE INDEX amounts_snapshot_id ON it_view_evolution.amounts_snapshot (id);
    CREATE MATERIALIZED VIEW it_view_evolution.amounts_later AS
      SELECT amount FROM it_view_evolution.events WITH NO DATA;
    ALTER VIEW it_view_evolution.amounts OWNER TO it_view_owner;
    GRANT SELECT ON it_view_evolution.amounts TO limited WITH GRANT OPTION;
    GRANT SELECT, INSERT ON it_view_evolution."Positive ""amounts""" TO limited;
    GRANT SELECT (amount) ON it_view_evolution.amounts_snapshot TO limited;
    COMMENT ON VIEW it_view_evolution.amounts IS 'every amount';
    COMMENT ON COLUMN it_view_evolution.amounts.amount IS 'in cents';
    COMMENT ON VIEW it_view_evolution."Positive ""amounts""" IS 'it''s a view on a view';
    COMMENT ON MATERIALIZED VIEW it_view_evolution.amounts_snapshot IS 'a snapshot';
    ALTER VIEW it_view_evolution."Positive ""amounts""" ALTER COLUMN id SET DEFAULT 1;
    CREATE FUNCTION it_view_evolution.ignore_row() RETURNS trigger LANGUAGE plpgsql
      AS $$ BEGIN RETURN NULL; END $$;
    CREATE TRIGGER ignore_deletes INSTEAD OF DELETE ON it_view_evolution."Positive ""amounts"""
      FOR EACH ROW EXECUTE FUNCTION it_view_evolution.ignore_row();
    CREATE RULE no_updates AS ON UPDATE TO it_view_evolution."Positive ""amounts""" DO INSTEAD NOTHING;
    SET ROLE limited;
    GRANT SELECT ON it_view_evolution.amounts TO PUBLIC;
    RESET ROLE
  )");
  const auto before = views_in(schema);
  REQUIRE(before.size() == 4);
  // What must come back, spelled out once: a grant made by another role than the owner, one with
  // grant option, one on a column, a column default, a trigger and a rule.
  CHECK(before[1][3] ==
        "{=r/limited,it_view_owner=arwdDxt/it_view_owner,limited=r*/it_view_owner}");
  CHECK(before[3][4] == "{amount=limited=r/pgdest}");
  CHECK(before[0][10] == "{1}");
  CHECK(before[0][11].find("CREATE TRIGGER ignore_deletes INSTEAD OF DELETE") != std::string::npos);
  CHECK(before[0][12].find("CREATE RULE no_updates AS") != std::string::npos);

  auto result = sync(schema, catalog_for("append", kStringAmount, 2),
                     {R"({"id":3,"amount":"thirty"})", R"({"id":4,"amount":"40"})"});

  CHECK(column_types(schema, "events").back() == "amount:character varying");
  CHECK(query_rows("SELECT id, amount, _airbyte_meta->'changes' FROM it_view_evolution.events "
                   "ORDER BY id") ==
        Rows{{"1", "10", "[]"}, {"2", "20", "[]"}, {"3", "thirty", "[]"}, {"4", "40", "[]"}});
  CHECK(views_in(schema) == before);
  CHECK(logs(result).find(
            R"(Views that depend on column "amount" of "it_view_evolution"."events" were dropped )"
            R"(for the change and created again as they were: "it_view_evolution"."amounts", )") !=
        std::string::npos);
  const Rows all_rows = {{"1", "10"}, {"2", "20"}, {"3", "thirty"}, {"4", "40"}};
  CHECK(query_rows("SELECT id, amount FROM it_view_evolution.amounts ORDER BY id") == all_rows);
  CHECK(query_rows(
            R"(SELECT id, amount FROM it_view_evolution."Positive ""amounts""" ORDER BY id)") ==
        all_rows);
  // A materialized view is filled again when it is created again, before this sync's rows came.
  CHECK(query_rows("SELECT id, amount FROM it_view_evolution.amounts_snapshot ORDER BY id") ==
        Rows{{"1", "10"}, {"2", "20"}});
  exec("REFRESH MATERIALIZED VIEW it_view_evolution.amounts_snapshot; "
       "REFRESH MATERIALIZED VIEW it_view_evolution.amounts_later");
  CHECK(query_rows("SELECT id, amount FROM it_view_evolution.amounts_snapshot ORDER BY id") ==
        all_rows);
  CHECK(query_rows("SELECT count(*) FROM it_view_evolution.amounts_later") == Rows{{"4"}});
  // The grants work, not only read back: limited reads through the views.
  CHECK(query_rows(
            R"(SET ROLE limited; SELECT count(*) FROM it_view_evolution."Positive ""amounts""")") ==
        Rows{{"4"}});
  drop_role("it_view_owner");
}

TEST_CASE("a view whose SQL no longer fits the new type keeps the column's type, the sync goes "
          "on and the views stay untouched",
          "[evolution][views]") {
  auto schema = fresh_schema("it_view_blocked");
  sync(schema, catalog_for("append", kBigintAmount), {R"({"id":1,"amount":10})"});
  exec("CREATE VIEW it_view_blocked.plain AS SELECT amount FROM it_view_blocked.events; "
       "CREATE VIEW it_view_blocked.next_amounts AS SELECT id, amount + 1 AS next "
       "FROM it_view_blocked.events WHERE amount > 5; "
       "COMMENT ON VIEW it_view_blocked.next_amounts IS 'kept'");
  const std::string identities =
      "SELECT c.oid, c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
      "WHERE c.relnamespace = 'it_view_blocked'::regnamespace AND c.relkind = 'v' ORDER BY 2";
  const auto before = query_rows(identities);
  REQUIRE(before.size() == 2);

  auto result = sync(schema, catalog_for("append", kStringAmount, 2),
                     {R"({"id":2,"amount":"7"})", R"({"id":3,"amount":"seven"})"});

  CHECK(column_types(schema, "events").back() == "amount:bigint");
  // The same views, never dropped: same oids, same comment.
  CHECK(query_rows(identities) == before);
  CHECK(logs(result).find(
            R"(WARN Column "amount" of "it_view_blocked"."events" keeps its type bigint )"
            R"((PostgreSQL failed while creating view "it_view_blocked"."next_amounts" again: )") !=
        std::string::npos);
  // What fits is stored; only what PostgreSQL cannot store in a bigint is NULL, and says so.
  CHECK(query_rows("SELECT id, amount, _airbyte_meta->'changes'->0->>'change' FROM "
                   "it_view_blocked.events ORDER BY id") ==
        Rows{{"1", "10", "NULL"}, {"2", "7", "NULL"}, {"3", "NULL", "NULLED"}});
  CHECK(query_rows("SELECT next FROM it_view_blocked.next_amounts ORDER BY next") ==
        Rows{{"8"}, {"11"}});
}

TEST_CASE("a view the connector's role cannot create again as its owner keeps the column's type, "
          "the sync goes on",
          "[evolution][views]") {
  auto schema = fresh_schema("it_view_foreign");
  drop_role("it_view_writer");
  drop_role("it_view_analyst");
  exec("CREATE ROLE it_view_writer LOGIN PASSWORD 'writer-pw'; CREATE ROLE it_view_analyst; "
       "CREATE SCHEMA it_view_foreign AUTHORIZATION it_view_writer; "
       "GRANT USAGE, CREATE ON SCHEMA it_view_foreign TO it_view_analyst");
  auto config = test_config(schema);
  config["username"] = "it_view_writer";
  config["password"] = "writer-pw";
  auto catalog = catalog_for("append", kBigintAmount);
  REQUIRE(run_write(schema, catalog,
                    records({R"({"id":1,"amount":10})"}) + complete_statuses(catalog), config)
              .exit_code == 0);
  exec("GRANT SELECT ON it_view_foreign.events TO it_view_analyst; "
       "SET ROLE it_view_analyst; "
       "CREATE VIEW it_view_foreign.report AS SELECT amount FROM it_view_foreign.events");

  catalog = catalog_for("append", kStringAmount, 2);
  auto result = run_write(
      schema, catalog, records({R"({"id":2,"amount":"12"})"}) + complete_statuses(catalog), config);
  INFO(logs(result));
  CHECK(result.exit_code == 0);
  CHECK(column_types(schema, "events").back() == "amount:bigint");
  // The schema's owner may drop the view, but not give it back to a role it is not a member of.
  CHECK(logs(result).find(
            R"(WARN Column "amount" of "it_view_foreign"."events" keeps its type bigint )"
            R"((PostgreSQL failed while restoring view "it_view_foreign"."report": must be )"
            R"(member of role "it_view_analyst")") != std::string::npos);
  CHECK(query_rows("SELECT amount FROM it_view_foreign.report ORDER BY 1") == Rows{{"10"}, {"12"}});
  fresh_schema(schema);
  drop_role("it_view_writer");
  drop_role("it_view_analyst");
}

TEST_CASE("a table made by Airbyte's 2.x connector gets the missing meta columns and is written "
          "to in append and dedup, keeping its rows",
          "[evolution][older]") {
  auto schema = fresh_schema("it_older_table");
  // As Airbyte's 2.x connector made a final table before generations: the columns of the stream
  // first (numbers as numeric(38,9)), then three meta columns; its indexes; a row of each
  // _airbyte_meta shape it wrote.
  exec(R"(
    CREATE SCHEMA it_older_table;
    CREATE TABLE it_older_table.events (
      "id" bigint, "amount" numeric(38, 9), "note" varchar,
      "_airbyte_raw_id" varchar(36) NOT NULL,
      "_airbyte_extracted_at" timestamp with time zone NOT NULL,
      "_airbyte_meta" jsonb NOT NULL);
    CREATE INDEX ON it_older_table.events ("id", "_airbyte_extracted_at");
    CREATE INDEX ON it_older_table.events ("_airbyte_extracted_at");
    CREATE INDEX ON it_older_table.events ("_airbyte_raw_id");
    INSERT INTO it_older_table.events VALUES
      (1, 1.5, 'old one', 'a0d4a4c8-0000-4000-8000-000000000001', '2020-01-01T00:00:00Z',
       '{"errors": []}'),
      (2, 2.5, 'old two', 'a0d4a4c8-0000-4000-8000-000000000002', '2020-01-01T00:00:00Z',
       '{"changes": [], "sync_id": 5}'))");
  const Json properties = Json::parse(
      R"({"id":{"type":"integer"},"amount":{"type":"number"},"note":{"type":"string"}})");

  // An older platform too: no generation_id, minimum_generation_id or sync_id.
  auto result = sync(schema, catalog_for("append", properties, std::nullopt),
                     {R"({"id":3,"amount":3.25,"note":"appended"})"});
  CHECK(logs(result).find(R"(Table "it_older_table"."events" was made by an older connector: )"
                          R"(added column "_airbyte_generation_id" (bigint); the rows already )"
                          R"(there read 0.)") != std::string::npos);
  CHECK(query_rows("SELECT id, amount, note, _airbyte_generation_id, _airbyte_meta::text FROM "
                   "it_older_table.events ORDER BY id") ==
        Rows{{"1", "1.500000000", "old one", "0", R"({"errors": []})"},
             {"2", "2.500000000", "old two", "0", R"({"changes": [], "sync_id": 5})"},
             {"3", "3.25", "appended", "0", R"({"changes": [], "sync_id": 0})"}});

  sync(schema, catalog_for("append_dedup", properties, 1),
       {R"({"id":2,"amount":20,"note":"deduped"})", R"({"id":4,"amount":4,"note":"new"})"});
  CHECK(query_rows("SELECT id, amount, note, _airbyte_generation_id FROM it_older_table.events "
                   "ORDER BY id") == Rows{{"1", "1.500000000", "old one", "0"},
                                          {"2", "20", "deduped", "1"},
                                          {"3", "3.25", "appended", "0"},
                                          {"4", "4", "new", "1"}});
}

TEST_CASE("an older table without _airbyte_meta gets it, an older staging table starts over, and "
          "a table that is not Airbyte's is refused",
          "[evolution][older]") {
  auto schema = fresh_schema("it_older_layouts");
  exec(R"(
    CREATE SCHEMA it_older_layouts;
    CREATE TABLE it_older_layouts.events ("id" bigint,
      "_airbyte_raw_id" varchar(36) NOT NULL, "_airbyte_extracted_at" timestamptz NOT NULL);
    INSERT INTO it_older_layouts.events VALUES (1, 'r1', '2020-01-01T00:00:00Z');
    CREATE TABLE it_older_layouts.events_airbyte_tmp (LIKE it_older_layouts.events);
    INSERT INTO it_older_layouts.events_airbyte_tmp VALUES (9, 'r9', '2020-01-01T00:00:00Z'))");
  const Json properties = Json::parse(R"({"id":{"type":"integer"}})");
  sync(schema, catalog_for("append", properties, std::nullopt), {R"({"id":2})"});
  CHECK(query_rows("SELECT id, _airbyte_meta::text, _airbyte_generation_id FROM "
                   "it_older_layouts.events ORDER BY id") ==
        Rows{{"1", R"({"changes": []})", "0"}, {"2", R"({"changes": [], "sync_id": 0})", "0"}});

  // An overwrite of generation 0 would resume into a staging table of generation 0: the one the
  // older connector left is not this sync's and is emptied first.
  auto result = sync(schema, catalog_for("overwrite", properties, std::nullopt), {R"({"id":5})"});
  CHECK(logs(result).find(R"(Staging table "it_older_layouts"."events_airbyte_tmp" held rows of )"
                          R"(an older connector; emptied for generation 0.)") != std::string::npos);
  CHECK(query_rows("SELECT id FROM it_older_layouts.events ORDER BY id") == Rows{{"5"}});

  // Airbyte's normalization tables of old have neither _airbyte_raw_id nor _airbyte_extracted_at.
  exec("CREATE TABLE it_older_layouts.normalized (id bigint, _airbyte_ab_id varchar, "
       "_airbyte_emitted_at timestamptz)");
  Json catalog = catalog_for("append", properties);
  catalog["streams"][0]["stream"]["name"] = "normalized";
  auto refused = run_write(schema, catalog, "");
  CHECK(refused.exit_code == 1);
  REQUIRE(refused.trace_errors().size() == 1);
  CHECK(refused.trace_errors()[0]["message"] ==
        R"(Table "it_older_layouts"."normalized" exists but was not made by this destination or )"
        R"(Airbyte's (it has no _airbyte_raw_id, _airbyte_extracted_at). Rename or drop it, or )"
        "sync this stream into another schema.");
  CHECK(query_rows("SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                   "'it_older_layouts' AND table_name = 'normalized'") == Rows{{"3"}});
}
