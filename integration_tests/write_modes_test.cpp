// Every sync mode and refresh end to end (SPEC §6), with Airbyte's two-sync fixtures.
#include <catch2/catch.hpp>

#include "support/fixture_syncs.hpp"
#include "support/harness.hpp"
#include "support/sync.hpp"

using namespace pgdest::testing;
using Json = nlohmann::ordered_json;

TEST_CASE("dedup: sync1 then sync2 keeps the newest row per key and hard-deletes CDC deletions",
          "[modes][dedup]") {
  auto schema = fresh_schema("it_dedup");
  StreamSpec spec;
  require_ok(sync(schema, catalog_of(spec), records_for("sync1_messages.jsonl", "users")));
  CHECK(users(schema) == kSync1Deduped);
  CHECK(
      query_rows("SELECT _airbyte_meta->'changes' FROM it_dedup.users WHERE id1 = 2") ==
      Rows{{R"([{"field": "address", "change": "NULLED", "reason": "SOURCE_RETRIEVAL_ERROR"}])"}});
  spec.generation = 2;
  require_ok(sync(schema, catalog_of(spec), records_for("sync2_messages.jsonl", "users")));
  CHECK(users(schema) == kSync2Deduped);
}

TEST_CASE("dedup with soft delete keeps the deleted row with _ab_cdc_deleted_at set",
          "[modes][dedup]") {
  auto schema = fresh_schema("it_dedup_soft");
  StreamSpec spec;
  Json config = {{"cdc_deletion_mode", "Soft delete"}};
  require_ok(
      sync(schema, catalog_of(spec), records_for("sync1_messages.jsonl", "users"), true, config));
  require_ok(
      sync(schema, catalog_of(spec), records_for("sync2_messages.jsonl", "users"), true, config));
  CHECK(query_rows("SELECT id1, id2, name, _ab_cdc_deleted_at IS NOT NULL FROM it_dedup_soft.users "
                   "ORDER BY id1, id2") == Rows{{"1", "200", "Alice", "f"},
                                                {"1", "201", "NULL", "t"},
                                                {"2", "200", "Charlie", "f"},
                                                {"3", "200", kSync1Deduped[3][3], "f"}});
}

TEST_CASE("dedup: keys with NULL parts dedup together (sync_null_pk)", "[modes][dedup]") {
  auto schema = fresh_schema("it_dedup_null_pk");
  require_ok(sync(schema, catalog_of(StreamSpec{}), records_for("sync_null_pk.jsonl", "users")));
  CHECK(query_rows("SELECT id1, id2, updated_at AT TIME ZONE 'UTC' FROM it_dedup_null_pk.users") ==
        Rows{{"1", "NULL", "2000-01-03 00:00:00"}});
  // Across syncs too: an older row does not replace the newer one. Every pattern of NULL parts
  // dedups, within the sync and against the table.
  require_ok(
      sync(schema, catalog_of(StreamSpec{}),
           record("users", R"({"id1":1,"id2":null,"updated_at":"1999-01-01T00:00:00Z"})") +
               record("users", R"({"id1":null,"id2":null,"updated_at":"2001-01-01T00:00:00Z"})") +
               record("users", R"({"id1":null,"id2":null,"updated_at":"2002-01-01T00:00:00Z"})") +
               record("users", R"({"id1":null,"id2":5,"updated_at":"2003-01-01T00:00:00Z"})") +
               record("users", R"({"id1":null,"id2":5,"updated_at":"2002-01-01T00:00:00Z"})")));
  auto rows = [] {
    return query_rows("SELECT id1, id2, updated_at AT TIME ZONE 'UTC' FROM it_dedup_null_pk.users "
                      "ORDER BY id1, id2");
  };
  CHECK(rows() == Rows{{"1", "NULL", "2000-01-03 00:00:00"},
                       {"NULL", "5", "2003-01-01 00:00:00"},
                       {"NULL", "NULL", "2002-01-01 00:00:00"}});
  require_ok(
      sync(schema, catalog_of(StreamSpec{}),
           record("users", R"({"id1":null,"id2":null,"updated_at":"2004-01-01T00:00:00Z"})") +
               record("users", R"({"id1":null,"id2":5,"updated_at":"2000-01-01T00:00:00Z"})")));
  CHECK(rows() == Rows{{"1", "NULL", "2000-01-03 00:00:00"},
                       {"NULL", "5", "2003-01-01 00:00:00"},
                       {"NULL", "NULL", "2004-01-01 00:00:00"}});
}

TEST_CASE("dedup with a string key, with no cursor, and NULL cursors lowest", "[modes][dedup]") {
  auto schema = fresh_schema("it_dedup_variants");
  StreamSpec spec;
  spec.name = "by_string";
  spec.schema = Json::parse(
      R"({"type":"object","properties":{"k":{"type":"string"},"v":{"type":"integer"},"c":{"type":"integer"}}})");
  spec.primary_key = Json::parse(R"([["k"]])");
  spec.cursor = Json::parse(R"(["c"])");
  StreamSpec no_cursor = spec;
  no_cursor.name = "no_cursor";
  no_cursor.cursor = Json::array();
  std::string body = record("by_string", R"({"k":"a","v":1,"c":5})", 1000) +
                     record("by_string", R"({"k":"a","v":2,"c":3})", 2000) +
                     record("by_string", R"({"k":"b","v":3,"c":null})", 1000) +
                     record("by_string", R"({"k":"b","v":4,"c":1})", 500) +
                     record("no_cursor", R"({"k":"a","v":1})", 1000) +
                     record("no_cursor", R"({"k":"a","v":2})", 3000) +
                     record("no_cursor", R"({"k":"a","v":3})", 2000) +
                     record("no_cursor", R"({"k":"b","v":4})", 1000) +
                     record("no_cursor", R"({"k":"b","v":5})", 1000);
  require_ok(sync(schema, catalog_of({spec, no_cursor}), body));
  CHECK(query_rows("SELECT k, v FROM it_dedup_variants.by_string ORDER BY k") ==
        Rows{{"a", "1"}, {"b", "4"}});
  CHECK(query_rows("SELECT k, v FROM it_dedup_variants.no_cursor ORDER BY k") ==
        Rows{{"a", "2"}, {"b", "5"}});
}

TEST_CASE("dedup after a cursor change and after a key change", "[modes][dedup]") {
  auto schema = fresh_schema("it_dedup_changes");
  StreamSpec spec;
  spec.schema = Json::parse(
      R"({"type":"object","properties":{"id":{"type":"integer"},"other":{"type":"integer"},
      "c1":{"type":"integer"},"c2":{"type":"integer"}}})");
  spec.primary_key = Json::parse(R"([["id"]])");
  spec.cursor = Json::parse(R"(["c1"])");
  require_ok(
      sync(schema, catalog_of(spec), record("users", R"({"id":1,"other":1,"c1":10,"c2":1})")));
  spec.cursor = Json::parse(R"(["c2"])");
  require_ok(
      sync(schema, catalog_of(spec), record("users", R"({"id":1,"other":2,"c1":1,"c2":2})")));
  CHECK(query_rows("SELECT id, other, c1, c2 FROM it_dedup_changes.users") ==
        Rows{{"1", "2", "1", "2"}});
  spec.primary_key = Json::parse(R"([["other"]])");
  require_ok(sync(schema, catalog_of(spec),
                  record("users", R"({"id":7,"other":2,"c1":0,"c2":3})") +
                      record("users", R"({"id":8,"other":9,"c1":0,"c2":3})")));
  CHECK(query_rows("SELECT id, other FROM it_dedup_changes.users ORDER BY other") ==
        Rows{{"7", "2"}, {"8", "9"}});
  CHECK(query_rows("SELECT indexdef LIKE '%(other)' FROM pg_indexes WHERE schemaname = "
                   "'it_dedup_changes' AND "
                   "indexname = 'users_pk_idx'") == Rows{{"t"}});
}

TEST_CASE("mid-sync checkpointing: the table is deduplicated when the first STATE is read",
          "[modes][dedup]") {
  auto schema = fresh_schema("it_checkpoint");
  auto catalog = catalog_of(StreamSpec{});
  auto config = test_config(schema);
  ConnectorProcess connector({"write", "--config",
                              write_temp_file("checkpoint-config.json", config.dump()), "--catalog",
                              write_temp_file("checkpoint-catalog.json", catalog.dump())});
  connector.write_stdin(records_for("sync1_messages.jsonl", "users") + state_line(1));
  REQUIRE(connector.wait_for_line("\"type\":\"STATE\"", 30.0));
  CHECK(users(schema) == kSync1Deduped);
  connector.write_stdin(complete_statuses(catalog));
  auto result = connector.wait();
  CHECK(result.exit_code == 0);
}

TEST_CASE("dedup across commits and syncs: newest row per key, ties by arrival, CDC deletions",
          "[modes][dedup]") {
  auto schema = fresh_schema("it_dedup_commits");
  StreamSpec spec;
  spec.schema = Json::parse(R"({"type":"object","properties":{"id":{"type":"integer"},
      "c":{"type":"integer"},"v":{"type":"integer"},
      "_ab_cdc_deleted_at":{"type":"string","format":"date-time"}}})");
  spec.primary_key = Json::parse(R"([["id"]])");
  spec.cursor = Json::parse(R"(["c"])");
  auto catalog = catalog_of(spec);
  auto rows = [&] { return query_rows("SELECT id, v FROM it_dedup_commits.users ORDER BY id, v"); };
  const std::string deleted = R"(,"_ab_cdc_deleted_at":"2024-01-01T00:00:00Z")";
  // The first sync goes into an empty table; each STATE waits for its commit, so the second
  // part's rows meet the first part's in the table rather than in one transaction.
  ConnectorProcess connector(
      {"write", "--config", write_temp_file("commits-config.json", test_config(schema).dump()),
       "--catalog", write_temp_file("commits-catalog.json", catalog.dump())});
  connector.write_stdin(record("users", R"({"id":1,"c":5,"v":1})") +
                        record("users", R"({"id":2,"c":5,"v":2})") +
                        record("users", R"({"id":3,"c":5,"v":3})") +
                        record("users", R"({"id":4,"c":1,"v":4)" + deleted + "}") +
                        record("users", R"({"id":5,"c":5,"v":50})") +
                        record("users", R"({"id":5,"c":5,"v":51})") + state_line(1));
  REQUIRE(connector.wait_for_line(R"("n":1)", 30.0));
  CHECK(rows() == Rows{{"1", "1"}, {"2", "2"}, {"3", "3"}, {"5", "51"}});
  connector.write_stdin(record("users", R"({"id":1,"c":4,"v":10})") +
                        record("users", R"({"id":2,"c":6,"v":20})") +
                        record("users", R"({"id":3,"c":6,"v":30)" + deleted + "}") +
                        record("users", R"({"id":5,"c":5,"v":52})") +
                        record("users", R"({"id":6,"c":null,"v":60})", 1000) +
                        record("users", R"({"id":6,"c":null,"v":61})", 900) + state_line(2));
  REQUIRE(connector.wait_for_line(R"("n":2)", 30.0));
  connector.write_stdin(complete_statuses(catalog));
  auto first = connector.wait();
  CHECK(first.exit_code == 0);
  CHECK(rows() == Rows{{"1", "1"}, {"2", "20"}, {"5", "52"}, {"6", "60"}});
  auto logged = [](const RunResult& result, const std::string& text) {
    for (const auto& line : result.stdout_lines)
      if (line.find(text) != std::string::npos)
        return true;
    return false;
  };
  CHECK(logged(first, "only keys that repeat within this sync are looked up"));

  // The second sync meets rows from before: every key is looked up.
  auto second = sync(schema, catalog,
                     record("users", R"({"id":2,"c":7,"v":200})", 2000) +
                         record("users", R"({"id":7,"c":1,"v":7})", 2000) +
                         record("users", R"({"id":1,"c":1,"v":100})", 2000) +
                         record("users", R"({"id":6,"c":null,"v":62})", 2000));
  require_ok(second);
  CHECK(logged(second, "every key is looked up"));
  CHECK(rows() == Rows{{"1", "1"}, {"2", "200"}, {"5", "52"}, {"6", "62"}, {"7", "7"}});
}

TEST_CASE("dedup: a record superseding the one before it in its lane is never sent",
          "[modes][dedup]") {
  // With one lane, records next to each other in the stream are next to each other in the lane;
  // with four, also some that are not. The table must come out the same either way.
  const int lanes = GENERATE(1, 4);
  auto schema = fresh_schema("it_dedup_withdraw_" + std::to_string(lanes));
  StreamSpec spec;
  spec.schema = Json::parse(R"({"type":"object","properties":{"id":{"type":"integer"},
      "c":{"type":["null","integer"]},"v":{"type":"integer"},"s":{"type":"string"},
      "_ab_cdc_deleted_at":{"type":"string","format":"date-time"}}})");
  spec.primary_key = Json::parse(R"([["id"]])");
  spec.cursor = Json::parse(R"(["c"])");
  const std::string deleted = R"(,"_ab_cdc_deleted_at":"2024-01-01T00:00:00Z")";
  // A row this large fills its chunk, which goes to the lane at once: the next row, though it
  // supersedes it, finds a fresh buffer.
  const std::string large(5u << 20, 'x');
  auto users = [](const std::string& data, long emitted_at = 1000) {
    return record("users", data, emitted_at);
  };
  const std::string body =
      users(R"({"id":1,"c":1,"v":10})") + users(R"({"id":1,"c":2,"v":11})") +    // newer cursor
      users(R"({"id":2,"c":5,"v":20})") + users(R"({"id":2,"c":3,"v":21})") +    // older: both go
      users(R"({"id":3,"c":null,"v":30})") + users(R"({"id":3,"c":1,"v":31})") + // NULL lowest
      users(R"({"id":4,"c":1,"v":40})") + users(R"({"id":4,"c":null,"v":41})") +
      users(R"({"id":5,"c":7,"v":50})") + users(R"({"id":5,"c":7,"v":51})") + // ties: arrival
      users(R"({"id":5,"c":7,"v":52})") + users(R"({"id":6,"c":1,"v":60})") +
      users(R"({"id":7,"c":1,"v":70})") + users(R"({"id":6,"c":2,"v":61})") +
      users(R"({"id":8,"c":1,"v":80})") + users(R"({"id":8,"c":2,"v":81)" + deleted + "}") +
      users(R"({"id":9,"c":1,"v":90)" + deleted + "}") + users(R"({"id":9,"c":2,"v":91})") +
      // id 10's second row replaces its first, and a later one must still find it.
      users(R"({"id":10,"c":1,"v":100})") + users(R"({"id":10,"c":2,"v":101})") +
      users(R"({"id":11,"c":1,"v":110})") + users(R"({"id":10,"c":3,"v":102})") +
      users(R"({"id":12,"c":1,"v":120})", 2000) + users(R"({"id":12,"c":1,"v":121})", 1500) +
      // id 13's third row replaces its second, whose key the DELETE must still look up.
      users(R"({"id":13,"c":1,"v":130})") + users(R"({"id":14,"c":1,"v":140})") +
      users(R"({"id":13,"c":2,"v":131})") + users(R"({"id":13,"c":3,"v":132})") +
      users(R"({"id":15,"c":1,"v":150,"s":")" + large + R"("})") +
      users(R"({"id":15,"c":2,"v":151})");
  auto result = sync(schema, catalog_of(spec), body, true, Json{{"max_connections", lanes}});
  require_ok(result);
  CHECK(query_rows("SELECT id, v FROM " + schema + ".users ORDER BY id") == Rows{{"1", "11"},
                                                                                 {"2", "20"},
                                                                                 {"3", "31"},
                                                                                 {"4", "40"},
                                                                                 {"5", "52"},
                                                                                 {"6", "61"},
                                                                                 {"7", "70"},
                                                                                 {"9", "91"},
                                                                                 {"10", "102"},
                                                                                 {"11", "110"},
                                                                                 {"12", "120"},
                                                                                 {"13", "132"},
                                                                                 {"14", "140"},
                                                                                 {"15", "151"}});
  // Records, rows inserted, rows deleted. Eight records supersede the one just before them in
  // the stream (ids 1, 3, 5 twice, 8, 9, 10, 13); with one lane, rows of ids 2, 4, 6, 8, 10, 12,
  // 13 and 15 that were sent are deleted.
  const auto sums =
      query_rows("SELECT sum(records), sum(rows_inserted), sum(rows_deleted) FROM "
                 "airbyte_internal._airbyte_sync_log WHERE kind = 'commit' AND run_id = '" +
                 run_id_of(result) + "'");
  if (lanes == 1) {
    CHECK(sums == Rows{{"30", "22", "8"}});
  } else {
    REQUIRE(sums.size() == 1);
    CHECK(sums[0][0] == "30");
    CHECK(std::stoi(sums[0][1]) <= 22);
    CHECK(std::stoi(sums[0][1]) - std::stoi(sums[0][2]) == 14);
  }
}

TEST_CASE("append: sync1 then sync2 keeps every row", "[modes][append]") {
  auto schema = fresh_schema("it_append_two");
  StreamSpec spec;
  spec.mode = "append";
  require_ok(sync(schema, catalog_of(spec), records_for("sync1_messages.jsonl", "users")));
  require_ok(sync(schema, catalog_of(spec), records_for("sync2_messages.jsonl", "users")));
  CHECK(query_rows("SELECT count(*), count(DISTINCT _airbyte_raw_id) FROM it_append_two.users") ==
        Rows{{"8", "8"}});
}

TEST_CASE("truncate refresh: sync2 replaces sync1, also after changing sync mode",
          "[modes][refresh]") {
  for (const std::string first_mode : {"overwrite", "append", "append_dedup"}) {
    auto schema = fresh_schema("it_refresh");
    StreamSpec spec;
    spec.mode = first_mode;
    require_ok(sync(schema, catalog_of(spec), records_for("sync1_messages.jsonl", "users")));
    spec.mode = "overwrite";
    spec.generation = spec.minimum_generation = 2;
    require_ok(sync(schema, catalog_of(spec), records_for("sync2_messages.jsonl", "users")));
    INFO(first_mode);
    CHECK(query_rows("SELECT id1, id2, _airbyte_generation_id FROM it_refresh.users ORDER BY id1, "
                     "id2, updated_at") ==
          Rows{{"1", "200", "2"}, {"1", "201", "2"}, {"1", "201", "2"}});
    CHECK(tables_in(schema) == Rows{{"users"}});
  }
}

TEST_CASE("append_dedup with a truncate refresh dedups into staging, then swaps",
          "[modes][refresh][dedup]") {
  auto schema = fresh_schema("it_dedup_refresh");
  StreamSpec spec;
  require_ok(sync(schema, catalog_of(spec), records_for("sync1_messages.jsonl", "users")));
  spec.generation = spec.minimum_generation = 2;
  require_ok(sync(schema, catalog_of(spec), records_for("sync2_messages.jsonl", "users")));
  CHECK(users(schema) == Rows{{"1", "200", "2000-01-02 00:00:00", "Alice", "Seattle", "f", "2"}});
  CHECK(tables_in(schema) == Rows{{"users"}});
  // Swapped in, its key index under the table's name for the next syncs.
  CHECK(query_rows("SELECT indexname FROM pg_indexes WHERE schemaname = 'it_dedup_refresh' "
                   "ORDER BY 1") == Rows{{"users_extracted_at_idx"}, {"users_pk_idx"}});
}

TEST_CASE("interrupted truncate refresh keeps the old rows and resumes into its staging table",
          "[modes][refresh]") {
  for (bool prior_data : {true, false}) {
    auto schema = fresh_schema("it_interrupted");
    StreamSpec spec;
    spec.mode = "overwrite";
    if (prior_data)
      require_ok(sync(schema, catalog_of(spec), records_for("sync1_messages.jsonl", "users")));
    spec.generation = spec.minimum_generation = 2;
    auto first = sync(schema, catalog_of(spec), record("users", R"({"id1":10,"id2":1})"),
                      /*complete=*/false);
    INFO("prior data: " << prior_data);
    CHECK(first.exit_code == 1);
    CHECK(first.messages("STATE").size() == 1);
    CHECK(query_rows("SELECT count(*) FROM it_interrupted.users") ==
          Rows{{prior_data ? "5" : "0"}});
    CHECK(query_rows("SELECT count(*) FROM it_interrupted.users_airbyte_tmp") == Rows{{"1"}});
    require_ok(sync(schema, catalog_of(spec), record("users", R"({"id1":11,"id2":1})")));
    CHECK(query_rows("SELECT id1, _airbyte_generation_id FROM it_interrupted.users ORDER BY id1") ==
          Rows{{"10", "2"}, {"11", "2"}});
    CHECK(tables_in(schema) == Rows{{"users"}});
    // A new generation does not resume the rows of an unfinished earlier one.
    spec.generation = spec.minimum_generation = 3;
    sync(schema, catalog_of(spec), record("users", R"({"id1":20,"id2":1})"), false);
    spec.generation = spec.minimum_generation = 4;
    require_ok(sync(schema, catalog_of(spec), record("users", R"({"id1":30,"id2":1})")));
    CHECK(query_rows("SELECT id1 FROM it_interrupted.users") == Rows{{"30"}});
  }
}

TEST_CASE("a truncate refresh or overwrite with no records clears the stream", "[modes][refresh]") {
  auto schema = fresh_schema("it_clear");
  StreamSpec spec;
  spec.mode = "append";
  require_ok(sync(schema, catalog_of(spec), records_for("sync1_messages.jsonl", "users")));
  spec.generation = spec.minimum_generation = 2;
  require_ok(sync(schema, catalog_of(spec), ""));
  CHECK(query_rows("SELECT count(*) FROM it_clear.users") == Rows{{"0"}});
  spec.mode = "overwrite";
  require_ok(sync(schema, catalog_of(spec), records_for("sync1_messages.jsonl", "users")));
  require_ok(sync(schema, catalog_of(spec), ""));
  CHECK(query_rows("SELECT count(*) FROM it_clear.users") == Rows{{"0"}});
}

TEST_CASE("views, grants, comments and ownership on a table survive an overwrite",
          "[modes][refresh]") {
  auto schema = fresh_schema("it_views");
  auto spec = overwrite_spec(1);
  require_ok(sync(schema, catalog_of(spec), records_for("sync1_messages.jsonl", "users")));
  exec("CREATE VIEW it_views.alices AS SELECT id1, name FROM it_views.users WHERE name = 'Alice'; "
       "GRANT SELECT ON it_views.users TO limited; COMMENT ON TABLE it_views.users IS 'kept'");
  spec.generation = spec.minimum_generation = 2;
  require_ok(sync(schema, catalog_of(spec), records_for("sync2_messages.jsonl", "users")));
  CHECK(query_rows("SELECT count(*) FROM it_views.alices") == Rows{{"1"}});
  CHECK(query_rows("SELECT has_table_privilege('limited', 'it_views.users', 'SELECT'), "
                   "obj_description('it_views.users'::regclass)") == Rows{{"t", "kept"}});
}

TEST_CASE("schema evolution: new columns appear, lossless type changes convert, also under a view",
          "[modes][evolution]") {
  for (const std::string mode : {"append", "overwrite", "append_dedup"}) {
    auto schema = fresh_schema("it_evolution");
    StreamSpec spec;
    spec.mode = mode;
    spec.schema = Json::parse(
        R"({"type":"object","properties":{"id1":{"type":"integer"},"id2":{"type":"integer"},
        "updated_at":{"type":"string","format":"date-time"},"age":{"type":"integer"},"tag":{"type":"string"},
        "doc":{"type":"string"}}})");
    require_ok(sync(schema, catalog_of(spec),
                    record("users", R"({"id1":1,"id2":1,"age":30,"tag":"x","doc":"plain"})")));
    exec("CREATE VIEW it_evolution.ages AS SELECT age FROM it_evolution.users");
    // age: integer → number (lossless: converted, the view dropped and created again); tag:
    // string → integer (kept as varchar); doc: string → object (converted to jsonb); a new column.
    spec.schema["properties"]["age"] = {{"type", "number"}};
    spec.schema["properties"]["tag"] = {{"type", "integer"}};
    spec.schema["properties"]["doc"] = {{"type", "object"}};
    spec.schema["properties"]["added"] = {{"type", "boolean"}};
    if (mode == "overwrite")
      spec.generation = spec.minimum_generation = 2;
    require_ok(
        sync(schema, catalog_of(spec),
             record("users", R"({"id1":2,"id2":1,"age":31.5,"tag":7,"doc":{"a":1},"added":true})",
                    2000)));
    INFO(mode);
    auto types = column_types(schema, "users");
    CHECK(std::vector<std::string>(types.begin() + 4, types.end()) ==
          std::vector<std::string>{"id1:bigint", "id2:bigint",
                                   "updated_at:timestamp with time zone", "age:numeric",
                                   "tag:character varying", "doc:jsonb", "added:boolean"});
    CHECK(query_rows("SELECT id1, age, tag, doc::text, added, _airbyte_meta->'changes' FROM "
                     "it_evolution.users ORDER BY id1") ==
          (mode == "overwrite" ? Rows{{"2", "31.5", "7", R"({"a": 1})", "t", "[]"}}
                               : Rows{{"1", "30", "x", R"("plain")", "NULL", "[]"},
                                      {"2", "31.5", "7", R"({"a": 1})", "t", "[]"}}));
    CHECK(query_rows("SELECT count(*) FROM it_evolution.ages") ==
          Rows{{mode == "overwrite" ? "1" : "2"}});
  }
}

TEST_CASE("many streams completing, a stream with no columns, and a sync with no data", "[modes]") {
  auto schema = fresh_schema("it_many");
  std::vector<StreamSpec> specs;
  std::string body;
  for (int i = 0; i < 10; ++i) {
    StreamSpec spec;
    spec.name = "s" + std::to_string(i);
    spec.mode = i % 3 == 0 ? "append" : i % 3 == 1 ? "overwrite" : "append_dedup";
    if (spec.mode == "overwrite")
      spec.generation = spec.minimum_generation = 1;
    for (int r = 0; r < 5; ++r)
      body += record(spec.name, R"({"id1":)" + std::to_string(r) + R"(,"id2":1})");
    specs.push_back(spec);
  }
  StreamSpec empty_schema;
  empty_schema.name = "no_columns";
  empty_schema.mode = "append";
  empty_schema.schema = Json::object();
  specs.push_back(empty_schema);
  body += record("no_columns", R"({"anything":1})");
  StreamSpec no_data = specs[0];
  no_data.name = "no_data";
  specs.push_back(no_data);
  auto result = sync(schema, catalog_of(specs), body);
  require_ok(result);
  for (int i = 0; i < 10; ++i)
    CHECK(query_rows("SELECT count(*) FROM it_many.s" + std::to_string(i)) == Rows{{"5"}});
  CHECK(column_types(schema, "no_columns").size() == 4);
  CHECK(query_rows("SELECT count(*) FROM it_many.no_columns") == Rows{{"1"}});
  CHECK(query_rows("SELECT count(*) FROM it_many.no_data") == Rows{{"0"}});
  CHECK(states(result).size() == 1);
}

TEST_CASE("basic, numeric, container, unknown and union types", "[modes][types]") {
  auto schema = fresh_schema("it_types");
  StreamSpec spec;
  spec.mode = "append";
  spec.schema = Json::parse(R"({"type":"object","properties":{
      "s":{"type":"string"},"i":{"type":"integer"},"n":{"type":"number"},"b":{"type":"boolean"},
      "o":{"type":"object","properties":{"x":{"type":"string"}}},"a":{"type":"array","items":{"type":"integer"}},
      "u":{"type":["string","integer"]},"unknown":{},"nullable":{"type":["null","integer"]}}})");
  require_ok(sync(
      schema, catalog_of(spec),
      record(
          "users",
          R"({"s":"","i":-9223372036854775808,"n":1e-3,"b":false,"o":{"x":"\u0000y"},"a":[1,2],"u":"str","unknown":[null],"nullable":null})") +
          record(
              "users",
              R"({"s":{"k":1},"i":9223372036854775808,"n":"12.50","b":"TRUE","o":"text","a":3,"u":5,"unknown":true,"nullable":4})",
              2000)));
  auto types = column_types(schema, "users");
  CHECK(std::vector<std::string>(types.begin() + 4, types.end()) ==
        std::vector<std::string>{"s:character varying", "i:bigint", "n:numeric", "b:boolean",
                                 "o:jsonb", "a:jsonb", "u:jsonb", "unknown:jsonb",
                                 "nullable:bigint"});
  CHECK(
      query_rows("SELECT s, i, n, b, o::text, a::text, u::text, unknown::text, nullable, "
                 "_airbyte_meta->'changes' "
                 "FROM it_types.users ORDER BY _airbyte_extracted_at") ==
      Rows{
          {"", "-9223372036854775808", "0.001", "f", R"({"x": "y"})", "[1, 2]", R"("str")",
           "[null]", "NULL",
           R"([{"field": "o", "change": "TRUNCATED", "reason": "DESTINATION_SERIALIZATION_ERROR"}])"},
          {R"({"k":1})", "NULL", "12.50", "t", R"("text")", "3", "5", "true", "4",
           R"([{"field": "i", "change": "NULLED", "reason": "DESTINATION_FIELD_SIZE_LIMITATION"}])"}});
}

TEST_CASE("namespaces: each goes to its own normalised schema", "[modes][namespaces]") {
  for (const std::string name : {"_99namespace", "namespace_with_special_character", "it_ns_plain"})
    fresh_schema(name);
  Json catalog = {{"streams", Json::array()}};
  std::string body;
  for (const std::string ns : {"99namespace", "namespace_with_spécial_character", "it_ns_plain"}) {
    catalog["streams"].push_back(
        {{"stream",
          {{"name", "data_stream"},
           {"namespace", ns},
           {"json_schema", fixture_json("namespace_catalog.json")["streams"][0]["json_schema"]}}},
         {"sync_mode", "incremental"},
         {"destination_sync_mode", "append"},
         {"generation_id", 1},
         {"minimum_generation_id", 0},
         {"sync_id", 1}});
    body += R"({"type":"RECORD","record":{"stream":"data_stream","namespace":")" + ns +
            R"(","emitted_at":1602637589000,"data":{"field1":true}}})"
            "\n";
  }
  require_ok(sync("public", catalog, body));
  for (const std::string name : {"_99namespace", "namespace_with_special_character", "it_ns_plain"})
    CHECK(query_rows("SELECT field1 FROM \"" + name + "\".data_stream") == Rows{{"t"}});
}

TEST_CASE("funky characters in names, plain and dedup", "[modes][names]") {
  auto schema = fresh_schema("it_funky");
  StreamSpec spec;
  spec.name = "Stream with spaces & ümlauts";
  spec.schema = Json::parse(
      R"({"type":"object","properties":{"Key Ü":{"type":"integer"},"1st-value":{"type":"string"},"$cursor":{"type":"integer"}}})");
  spec.primary_key = Json::parse(R"([["Key Ü"]])");
  spec.cursor = Json::parse(R"(["$cursor"])");
  StreamSpec plain = spec;
  plain.name = "plain: ümlauts";
  plain.mode = "append";
  std::string body;
  for (const auto& name : {spec.name, plain.name})
    body += record(name, R"({"Key Ü":1,"1st-value":"old","$cursor":1})") +
            record(name, R"({"Key Ü":1,"1st-value":"new","$cursor":2})");
  require_ok(sync(schema, catalog_of({spec, plain}), body));
  CHECK(query_rows("SELECT \"Key_U\", \"_1st_value\", \"_cursor\" FROM "
                   "it_funky.\"Stream_with_spaces___umlauts\"") == Rows{{"1", "new", "2"}});
  CHECK(query_rows("SELECT count(*) FROM it_funky.\"plain__umlauts\"") == Rows{{"2"}});
}

TEST_CASE("update and soft_delete modes and inconsistent generations are config errors",
          "[modes][config]") {
  auto schema = fresh_schema("it_mode_errors");
  StreamSpec spec;
  spec.mode = "update";
  auto result = run_write(schema, catalog_of(spec), "");
  CHECK(result.exit_code == 1);
  REQUIRE(result.trace_errors().size() == 1);
  CHECK(result.trace_errors()[0]["failure_type"] == "config_error");
  CHECK(result.trace_errors()[0]["message"] ==
        "Stream \"users\" asks for destination sync mode \"update\", which this destination does "
        "not support. Choose "
        "append, overwrite or append_dedup.");
  spec.mode = "append";
  spec.generation = 3;
  spec.minimum_generation = 2;
  result = run_write(schema, catalog_of(spec), "");
  REQUIRE(result.trace_errors().size() == 1);
  CHECK(result.trace_errors()[0]["failure_type"] == "config_error");
}

TEST_CASE("a limit on an existing column is lifted rather than failing the load",
          "[modes][evolution]") {
  auto schema = fresh_schema("it_limits");
  StreamSpec spec;
  spec.mode = "append";
  spec.schema = Json::parse(
      R"({"type":"object","properties":{"tag":{"type":"string"},"n":{"type":"number"}}})");
  require_ok(sync(schema, catalog_of(spec), record("users", R"({"tag":"a","n":1})")));
  exec("ALTER TABLE it_limits.users ALTER COLUMN tag TYPE varchar(3), ALTER COLUMN n TYPE "
       "numeric(5,2)");
  require_ok(
      sync(schema, catalog_of(spec), record("users", R"({"tag":"abcdef","n":123456.789})", 2000)));
  CHECK(query_rows("SELECT tag, n FROM it_limits.users ORDER BY _airbyte_extracted_at") ==
        Rows{{"a", "1.00"}, {"abcdef", "123456.789"}});
}

TEST_CASE("a user with only USAGE and CREATE on an existing schema can write",
          "[modes][privileges]") {
  auto schema = fresh_schema("it_schema_only");
  exec("DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'it_schema_only_user') THEN "
       "EXECUTE 'DROP OWNED BY it_schema_only_user CASCADE'; EXECUTE 'DROP ROLE "
       "it_schema_only_user'; END IF; END $$");
  exec("CREATE ROLE it_schema_only_user LOGIN PASSWORD 'pw'; CREATE SCHEMA it_schema_only; "
       "GRANT USAGE, CREATE ON SCHEMA it_schema_only TO it_schema_only_user");
  StreamSpec spec;
  Json config = {{"username", "it_schema_only_user"}, {"password", "pw"}};
  require_ok(
      sync(schema, catalog_of(spec), records_for("sync1_messages.jsonl", "users"), true, config));
  spec.mode = "overwrite";
  spec.generation = spec.minimum_generation = 2;
  require_ok(
      sync(schema, catalog_of(spec), records_for("sync2_messages.jsonl", "users"), true, config));
  CHECK(query_rows("SELECT count(*) FROM it_schema_only.users") == Rows{{"3"}});
  exec("DROP SCHEMA it_schema_only CASCADE; DROP ROLE it_schema_only_user");
}

TEST_CASE("regression: a dedup refresh swapped before another refresh no longer breaks its swap",
          "[modes][refresh]") {
  // The dedup keys table used to be created from the staging table at the start of every
  // transaction, so once the first swap dropped that staging table the second swap failed.
  auto schema = fresh_schema("it_two_swaps");
  StreamSpec dedup;
  dedup.name = "a_dedup";
  dedup.generation = dedup.minimum_generation = 1;
  StreamSpec overwrite = overwrite_spec(1);
  overwrite.name = "b_overwrite";
  auto catalog = catalog_of({dedup, overwrite});
  require_ok(sync(schema, catalog,
                  records_for("sync1_messages.jsonl", "a_dedup") +
                      records_for("sync1_messages.jsonl", "b_overwrite")));
  CHECK(tables_in(schema) == Rows{{"a_dedup"}, {"b_overwrite"}});
  CHECK(query_rows("SELECT count(*) > 0 FROM it_two_swaps.b_overwrite") == Rows{{"t"}});
  CHECK(query_rows("SELECT count(*) > 0 FROM it_two_swaps.a_dedup") == Rows{{"t"}});
}

namespace {

// The data objects of a fixture's records, as written.
std::vector<std::string> fixture_data(const std::string& fixture) {
  std::vector<std::string> data;
  std::istringstream lines(fixture_text(fixture));
  for (std::string line; std::getline(lines, line);)
    if (!line.empty())
      data.push_back(Json::parse(line)["record"]["data"].dump());
  return data;
}

// How many rows of a table hold exactly `data` in _airbyte_data (compared as jsonb).
std::string rows_with_data(const std::string& table, const std::string& data) {
  pqxx::connection connection = test_connection();
  pqxx::nontransaction work(connection);
  return work
      .exec_params1("SELECT count(*) FROM " + table + " WHERE _airbyte_data = $1::jsonb", data)[0]
      .c_str();
}

bool logged(const RunResult& result, const std::string& text) {
  for (const auto& log : result.messages("LOG"))
    if (log["log"]["message"].get<std::string>().find(text) != std::string::npos)
      return true;
  return false;
}

} // namespace

TEST_CASE("raw tables mode: sync1 then sync2 of an append_dedup stream appends every record to "
          "its raw table in airbyte_internal",
          "[modes][raw]") {
  auto schema = fresh_schema("it_raw");
  exec("DROP TABLE IF EXISTS airbyte_internal.it_raw_raw__stream_users");
  const Json config = {{"disable_type_dedupe", true}};
  const std::string table = "airbyte_internal.it_raw_raw__stream_users";
  StreamSpec spec;
  auto first =
      sync(schema, catalog_of(spec), records_for("sync1_messages.jsonl", "users"), true, config);
  require_ok(first);
  CHECK(logged(first, "Stream users asks for append_dedup, which raw tables do not support"));
  REQUIRE(states(first).size() == 1);
  CHECK(states(first)[0]["destinationStats"]["recordCount"] == 5.0);
  // The layout of Airbyte 3.x's raw tables, and nothing in the stream's own schema.
  CHECK(tables_in(schema).empty());
  CHECK(column_types("airbyte_internal", "it_raw_raw__stream_users") ==
        std::vector<std::string>{
            "_airbyte_raw_id:character varying", "_airbyte_extracted_at:timestamp with time zone",
            "_airbyte_meta:jsonb", "_airbyte_generation_id:bigint",
            "_airbyte_loaded_at:timestamp with time zone", "_airbyte_data:jsonb"});
  CHECK(query_rows("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                   "'airbyte_internal' AND table_name = 'it_raw_raw__stream_users' AND "
                   "is_nullable = 'YES'") == Rows{{"_airbyte_loaded_at"}});
  CHECK(query_rows("SELECT count(*) FROM pg_indexes WHERE schemaname = 'airbyte_internal' AND "
                   "tablename = 'it_raw_raw__stream_users' AND indexdef LIKE "
                   "'%(_airbyte_extracted_at)'") == Rows{{"1"}});
  // Each record once, its data as it arrived.
  for (const auto& data : fixture_data("sync1_messages.jsonl")) {
    INFO(data);
    CHECK(rows_with_data(table, data) == "1");
  }
  CHECK(query_rows("SELECT _airbyte_meta->'changes', _airbyte_meta->'sync_id' FROM " + table +
                   " WHERE _airbyte_data->>'name' = 'Charlie'") ==
        Rows{{R"([{"field": "address", "change": "NULLED", "reason": "SOURCE_RETRIEVAL_ERROR"}])",
              "101"}});

  spec.generation = 2;
  require_ok(
      sync(schema, catalog_of(spec), records_for("sync2_messages.jsonl", "users"), true, config));
  // Nothing deduplicated, nothing deleted: sync2's CDC deletion is a row like the others.
  CHECK(query_rows("SELECT _airbyte_generation_id, count(*), count(DISTINCT _airbyte_raw_id), "
                   "count(_airbyte_loaded_at) FROM " +
                   table + " GROUP BY 1 ORDER BY 1") ==
        Rows{{"1", "5", "5", "0"}, {"2", "3", "3", "0"}});
  for (const auto& data : fixture_data("sync2_messages.jsonl")) {
    INFO(data);
    CHECK(rows_with_data(table, data) == "1");
  }
  CHECK(query_rows("SELECT _airbyte_extracted_at AT TIME ZONE 'UTC' FROM " + table +
                   " WHERE _airbyte_data->>'_ab_cdc_deleted_at' IS NOT NULL") ==
        Rows{{"1970-01-01 00:00:02"}});
}

TEST_CASE("raw tables mode: an overwrite replaces the rows of a raw table in a custom "
          "raw_data_schema",
          "[modes][raw][refresh]") {
  auto raw_schema = fresh_schema("it_raw_custom");
  auto schema = fresh_schema("it_raw_ns");
  const Json config = {{"disable_type_dedupe", true}, {"raw_data_schema", "It_Raw_Custom"}};
  const std::string table = "it_raw_custom.it_raw_ns_raw__stream_users";
  auto spec = overwrite_spec(1);
  require_ok(
      sync(schema, catalog_of(spec), records_for("sync1_messages.jsonl", "users"), true, config));
  CHECK(query_rows("SELECT count(*) FROM " + table) == Rows{{"5"}});
  // A NUL, which jsonb cannot hold, is dropped from the value and the change recorded.
  spec = overwrite_spec(2);
  require_ok(sync(schema, catalog_of(spec),
                  records_for("sync2_messages.jsonl", "users") +
                      record("users", R"({"id1":9,"name":"nul\u0000here"})", 3000),
                  true, config));
  CHECK(query_rows("SELECT _airbyte_generation_id, count(*) FROM " + table + " GROUP BY 1") ==
        Rows{{"2", "4"}});
  CHECK(rows_with_data(table, R"({"id1":9,"name":"nulhere"})") == "1");
  CHECK(
      query_rows("SELECT _airbyte_meta->'changes' FROM " + table +
                 " WHERE _airbyte_data->>'id1' = '9'") ==
      Rows{
          {R"([{"field": "name", "change": "TRUNCATED", "reason": "DESTINATION_SERIALIZATION_ERROR"}])"}});
  // The staging table is gone, and the stream's own schema was never used; raw_data_schema is
  // the internal schema, so the connector's own tables are there too, the rejected values
  // holding the NUL's original.
  CHECK(tables_in(raw_schema) ==
        Rows{{"_airbyte_rejected_values"}, {"_airbyte_sync_log"}, {"it_raw_ns_raw__stream_users"}});
  CHECK(query_rows("SELECT table_name, field, original_value FROM "
                   "it_raw_custom._airbyte_rejected_values") ==
        Rows{{"it_raw_ns_raw__stream_users", "name", R"("nul\u0000here")"}});
  CHECK(tables_in(schema).empty());
}

TEST_CASE("raw tables mode appends to a raw table Airbyte's connector made, keeping its rows",
          "[modes][raw]") {
  auto raw_schema = fresh_schema("it_raw_airbyte");
  // The raw table as Airbyte's 2.x connector made it (its columns in its order, its indexes),
  // with a row it had typed.
  exec("CREATE SCHEMA it_raw_airbyte; "
       "CREATE TABLE it_raw_airbyte.it_raw_old_raw__stream_users (_airbyte_raw_id VARCHAR PRIMARY "
       "KEY, _airbyte_data JSONB, _airbyte_extracted_at TIMESTAMP WITH TIME ZONE DEFAULT "
       "CURRENT_TIMESTAMP, _airbyte_loaded_at TIMESTAMP WITH TIME ZONE DEFAULT NULL, "
       "_airbyte_meta JSONB, _airbyte_generation_id BIGINT); "
       "CREATE INDEX it_raw_old_raw__stream_users_extracted_at ON "
       "it_raw_airbyte.it_raw_old_raw__stream_users (_airbyte_extracted_at); "
       "INSERT INTO it_raw_airbyte.it_raw_old_raw__stream_users VALUES ('old', '{\"id1\": 0}', "
       "'2020-01-01', '2020-01-02', '{\"changes\": []}', 0)");
  const Json config = {{"disable_type_dedupe", true}, {"raw_data_schema", "it_raw_airbyte"}};
  StreamSpec spec;
  spec.mode = "append";
  require_ok(sync(fresh_schema("it_raw_old"), catalog_of(spec),
                  records_for("sync1_messages.jsonl", "users"), true, config));
  CHECK(query_rows("SELECT _airbyte_raw_id = 'old', count(*), count(_airbyte_loaded_at), "
                   "min(_airbyte_data->>'id1') FROM it_raw_airbyte.it_raw_old_raw__stream_users "
                   "GROUP BY 1 ORDER BY 1") == Rows{{"f", "5", "0", "1"}, {"t", "1", "1", "0"}});
  // Its own index on _airbyte_extracted_at serves; no second one is made.
  CHECK(query_rows("SELECT indexname FROM pg_indexes WHERE schemaname = 'it_raw_airbyte' AND "
                   "indexdef LIKE '%(_airbyte_extracted_at)'") ==
        Rows{{"it_raw_old_raw__stream_users_extracted_at"}});
}
