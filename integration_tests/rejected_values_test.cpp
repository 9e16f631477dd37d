// Rejected values against the real binary and server: every value the connector NULLs or
// truncates lands in _airbyte_rejected_values, once, with its original text and its row's raw id,
// in the transaction of its row; turned off, or with nowhere to go, the sync runs without it.
#include <catch2/catch.hpp>

#include <string>

#include <openssl/evp.h>

#include "support/fixture_syncs.hpp"
#include "support/harness.hpp"
#include "support/sync.hpp"

using namespace pgdest::testing;
using Json = nlohmann::ordered_json;

namespace {

StreamSpec items_spec(const std::string& mode = "append") {
  StreamSpec spec;
  spec.name = "items";
  spec.mode = mode;
  spec.schema = Json::parse(R"({"type":"object","properties":{
      "id":{"type":"integer"},
      "big":{"type":"integer"},
      "day":{"type":"string","format":"date"},
      "at":{"type":"string","format":"date-time"},
      "name":{"type":"string"},
      "doc":{"type":"object"}}})");
  spec.primary_key = Json::parse(R"([["id"]])");
  spec.cursor = Json::array();
  return spec;
}

// The connector's own tables go to the test's schema: tests running beside each other never
// share a table of rejected values.
Json own_internal_schema(const std::string& schema) {
  return {{"raw_data_schema", schema}};
}

std::string rejects_table(const std::string& schema) {
  return "\"" + schema + "\"._airbyte_rejected_values";
}

// Each rejected value with the id of the row it belongs to (joined by raw id), ordered.
Rows rejects_by_id(const std::string& schema, const std::string& table = "items") {
  return query_rows("SELECT t.id, r.field, r.change, r.reason, r.original_value, "
                    "r.original_bytes, r.original_sha256 IS NULL FROM " +
                    rejects_table(schema) + " r JOIN \"" + schema + "\".\"" + table +
                    "\" t USING (_airbyte_raw_id) ORDER BY t.id, r.field");
}

// The changes of our own in the rows' _airbyte_meta, and the rows of rejected values: the same
// number, every one of them joined to its row.
void check_one_reject_per_change(const std::string& schema, const std::string& table = "items") {
  const std::string ours = "SELECT count(*) FROM \"" + schema + "\".\"" + table +
                           "\", jsonb_array_elements(_airbyte_meta->'changes') c "
                           "WHERE c->>'reason' LIKE 'DESTINATION%'";
  const std::string joined = "SELECT count(*) FROM " + rejects_table(schema) + " r JOIN \"" +
                             schema + "\".\"" + table + "\" USING (_airbyte_raw_id)";
  CHECK(query_rows(ours) == query_rows("SELECT count(*) FROM " + rejects_table(schema)));
  CHECK(query_rows(joined) == query_rows("SELECT count(*) FROM " + rejects_table(schema)));
}

// The log lines that mention `needle`.
std::vector<std::string> logs_with(const RunResult& result, const std::string& needle) {
  std::vector<std::string> found;
  for (const auto& log : result.messages("LOG")) {
    const std::string message = log["log"]["message"];
    if (message.find(needle) != std::string::npos)
      found.push_back(message);
  }
  return found;
}

Rows table_count(const std::string& schema, const std::string& table) {
  return query_rows("SELECT count(*) FROM pg_tables WHERE schemaname = '" + schema +
                    "' AND tablename = '" + table + "'");
}

const std::string kSerialization = "DESTINATION_SERIALIZATION_ERROR";
const std::string kFieldSize = "DESTINATION_FIELD_SIZE_LIMITATION";

// One record of each kind of rejected value, their texts as they go into the input line.
const std::string kBigintOverflow = "9223372036854775808";
const std::string kBadDate = R"("2024-02-30")";
const std::string kTimestampOutOfRange = R"("300000-01-01T00:00:00Z")";
const std::string kNulInText = R"("a\u0000b")";
const std::string kNulInKeys = R"({ "k\u0000" : [1, "x]\""],  "\u0000" : {} })";

std::string every_kind_of_reject() {
  return record("items", R"({"id":1,"big": )" + kBigintOverflow + " }") +
         record("items", R"({"id":2,"day":)" + kBadDate + "}") +
         record("items", R"({"id":3,"at":)" + kTimestampOutOfRange + "}") +
         record("items", R"({"id":4,"name":)" + kNulInText + "}") +
         record("items", R"({"id":5,"doc":)" + kNulInKeys + "}") +
         record("items", R"({"id":6,"big":"6x","day":"yesterday","name":"clean"})") +
         record("items", R"({"id":7,"big":7,"day":"2024-01-02","name":"n","doc":{"k":1}})");
}

} // namespace

TEST_CASE("rejected values: each kind lands once with its original text and its row's raw id",
          "[rejected]") {
  auto schema = fresh_schema("it_rejects_kinds");
  // A record whose only change is one the source reported: nothing of it is copied.
  const std::string source_change =
      R"({"type":"RECORD","record":{"stream":"items","emitted_at":1000,"data":{"id":8,"name":"s"},)"
      R"("meta":{"changes":[{"field":"name","change":"TRUNCATED","reason":"SOURCE_FIELD_SIZE_LIMITATION"}]}}})"
      "\n";
  auto result = sync(schema, catalog_of(items_spec()), every_kind_of_reject() + source_change, true,
                     own_internal_schema(schema));
  require_ok(result);
  CHECK(query_rows("SELECT count(*) FROM \"" + schema + "\".items") == Rows{{"8"}});
  CHECK(rejects_by_id(schema) ==
        Rows{{"1", "big", "NULLED", kFieldSize, kBigintOverflow, "19", "t"},
             {"2", "day", "NULLED", kSerialization, kBadDate, "12", "t"},
             {"3", "at", "NULLED", kFieldSize, kTimestampOutOfRange, "24", "t"},
             {"4", "name", "TRUNCATED", kSerialization, kNulInText, "10", "t"},
             {"5", "doc", "TRUNCATED", kSerialization, kNulInKeys,
              std::to_string(kNulInKeys.size()), "t"},
             {"6", "big", "NULLED", kSerialization, R"("6x")", "4", "t"},
             {"6", "day", "NULLED", kSerialization, R"("yesterday")", "11", "t"}});
  check_one_reject_per_change(schema);
  // Byte for byte: the texts above are compared as the server holds them.
  CHECK(query_rows("SELECT octet_length(original_value) = original_bytes, count(*) FROM " +
                   rejects_table(schema) + " GROUP BY 1") == Rows{{"t", "7"}});
  // Where each came from, and when its record was extracted.
  CHECK(query_rows("SELECT DISTINCT r.stream_namespace IS NULL, r.stream_name, r.table_schema, "
                   "r.table_name, r.sync_id, r._airbyte_extracted_at = t._airbyte_extracted_at, "
                   "r.rejected_at IS NOT NULL FROM " +
                   rejects_table(schema) + " r JOIN \"" + schema +
                   "\".items t USING (_airbyte_raw_id)") ==
        Rows{{"t", "items", schema, "items", "101", "t", "t"}});
  // The table and its index on the destination table and raw id.
  CHECK(query_rows("SELECT indexdef LIKE '%(table_schema, table_name, _airbyte_raw_id)' FROM "
                   "pg_indexes WHERE schemaname = '" +
                   schema + "' AND tablename = '_airbyte_rejected_values'") == Rows{{"t"}});
  CHECK(logs_with(result, "are kept, with their original text, in \"" + schema +
                              "\".\"_airbyte_rejected_values\"")
            .size() == 1);

  SECTION("the next sync adds its own, and keeps the first one's") {
    require_ok(sync(schema, catalog_of(items_spec()), record("items", R"({"id":9,"big":1e30})"),
                    true, own_internal_schema(schema)));
    CHECK(query_rows("SELECT count(*) FROM " + rejects_table(schema)) == Rows{{"8"}});
    CHECK(rejects_by_id(schema).back() ==
          Rows::value_type{"9", "big", "NULLED", kFieldSize, "1e30", "4", "t"});
  }
}

TEST_CASE("rejected values: keep_rejected_values false writes nothing and makes no table",
          "[rejected]") {
  auto schema = fresh_schema("it_rejects_off");
  Json config = own_internal_schema(schema);
  config["keep_rejected_values"] = false;
  auto result = sync(schema, catalog_of(items_spec()), every_kind_of_reject(), true, config);
  require_ok(result);
  CHECK(table_count(schema, "_airbyte_rejected_values") == Rows{{"0"}});
  // The changes are in _airbyte_meta as ever.
  CHECK(query_rows("SELECT count(*) FROM \"" + schema +
                   "\".items, jsonb_array_elements(_airbyte_meta->'changes')") == Rows{{"7"}});
  CHECK(logs_with(result, "NULLs or truncates").empty());
}

TEST_CASE("rejected values: a value over the size limit keeps a prefix, its size and SHA-256",
          "[rejected][large]") {
  auto schema = fresh_schema("it_rejects_large");
  auto catalog = catalog_of(items_spec());
  Json config = test_config(schema);
  config["raw_data_schema"] = schema;
  ConnectorProcess connector(write_args(schema, config, catalog));
  // A JSON string one byte longer than a jsonb value holds, in an object column: NULLed for its
  // size. Fed in pieces, and its digest taken on the way, as the bytes go.
  const std::size_t content_bytes = 0x0FFFFFFF - 1;
  const std::string head =
      R"({"type":"RECORD","record":{"stream":"items","emitted_at":1000,"data":{"id":1,"doc":)";
  EVP_MD_CTX* digest = EVP_MD_CTX_new();
  REQUIRE(EVP_DigestInit_ex(digest, EVP_sha256(), nullptr) == 1);
  auto send = [&](const std::string& part, bool digested) {
    connector.write_stdin(part);
    if (digested)
      REQUIRE(EVP_DigestUpdate(digest, part.data(), part.size()) == 1);
  };
  send(head, false);
  send("\"", true);
  const std::string piece(1 << 20, 'p');
  std::size_t sent = 0;
  for (; sent + piece.size() <= content_bytes; sent += piece.size())
    send(piece, true);
  send(std::string(content_bytes - sent, 'p'), true);
  send("\"", true);
  unsigned char sha[EVP_MAX_MD_SIZE];
  unsigned int sha_size = 0;
  REQUIRE(EVP_DigestFinal_ex(digest, sha, &sha_size) == 1);
  EVP_MD_CTX_free(digest);
  std::string sha_hex;
  for (unsigned int i = 0; i < sha_size; ++i) {
    static constexpr char kHex[] = "0123456789abcdef";
    sha_hex += kHex[sha[i] >> 4];
    sha_hex += kHex[sha[i] & 0x0F];
  }
  connector.write_stdin("}}}\n" + state_line(1) + complete_statuses(catalog));
  RunResult result = connector.wait();
  require_ok(result);
  CHECK(query_rows("SELECT doc IS NULL, _airbyte_meta->'changes'->0->>'reason' FROM \"" + schema +
                   "\".items") == Rows{{"t", kFieldSize}});
  // 64 KiB: the quote and the first letters.
  CHECK(query_rows("SELECT original_value = '\"' || repeat('p', 65535), original_bytes, "
                   "encode(original_sha256, 'hex') FROM " +
                   rejects_table(schema)) ==
        Rows{{"t", std::to_string(content_bytes + 2), sha_hex}});
  check_one_reject_per_change(schema);
}

TEST_CASE("rejected values: raw tables mode keeps what its encoder changed, per property",
          "[rejected][raw]") {
  auto schema = fresh_schema("it_rejects_raw");
  Json config = own_internal_schema(schema);
  config["disable_type_dedupe"] = true;
  const std::string nested_nul = R"({"k\u0000":"v","list":["\u0000"]})";
  auto result = sync(schema, catalog_of(items_spec()),
                     record("items", R"({"id":1,"name":"a\u0000b","doc":)" + nested_nul + "}") +
                         record("items", R"({"id":2,"n":1e2000,"s":"\ud800"})") +
                         record("items", R"({"id":3,"clean":{"a":[1]}})"),
                     true, config);
  require_ok(result);
  const std::string raw_table = schema + "_raw__stream_items"; // Airbyte's name
  CHECK(query_rows("SELECT (t._airbyte_data->>'id')::int, r.field, r.change, r.reason, "
                   "r.original_value, r.table_schema, r.table_name FROM " +
                   rejects_table(schema) + " r JOIN \"" + schema + "\".\"" + raw_table +
                   "\" t USING (_airbyte_raw_id) ORDER BY 1, 2") ==
        Rows{{"1", "doc", "TRUNCATED", kSerialization, nested_nul, schema, raw_table},
             {"1", "name", "TRUNCATED", kSerialization, R"("a\u0000b")", schema, raw_table},
             {"2", "n", "NULLED", kFieldSize, "1e2000", schema, raw_table},
             {"2", "s", "NULLED", kSerialization, R"("\ud800")", schema, raw_table}});
  check_one_reject_per_change(schema, raw_table);
}

TEST_CASE("rejected values: dedup over two connections and refreshes keep raw ids that join",
          "[rejected][modes]") {
  auto schema = fresh_schema("it_rejects_modes");
  const auto config = own_internal_schema(schema);
  std::string body;
  for (int n = 0; n < 200; ++n) // keys 0 to 49, four records each
    body += record("items", R"({"id":)" + std::to_string(n % 50) + R"(,"big":"v)" +
                                std::to_string(n) + R"("})");

  SECTION("append_dedup: the surviving rows' rejects join, superseded rows' stay as history") {
    require_ok(sync(schema, catalog_of(items_spec("append_dedup")), body, true, config));
    CHECK(query_rows("SELECT count(*) FROM \"" + schema + "\".items") == Rows{{"50"}});
    CHECK(query_rows("SELECT count(*) FROM " + rejects_table(schema)) == Rows{{"200"}});
    // Each surviving row has exactly its own rejected value: the last one sent for its key.
    CHECK(query_rows("SELECT count(*), count(*) FILTER (WHERE r.original_value = "
                     "'\"v' || (t.id + 150) || '\"') FROM " +
                     rejects_table(schema) + " r JOIN \"" + schema +
                     "\".items t USING (_airbyte_raw_id)") == Rows{{"50", "50"}});
  }
  SECTION("truncate refreshes: rejects of the staging rows join after the swap; old ones stay") {
    StreamSpec spec = items_spec("overwrite");
    spec.generation = spec.minimum_generation = 1;
    require_ok(sync(schema, catalog_of(spec), body, true, config));
    spec.generation = spec.minimum_generation = 2;
    require_ok(
        sync(schema, catalog_of(spec), record("items", R"({"id":1,"big":"again"})"), true, config));
    CHECK(rejects_by_id(schema) ==
          Rows{{"1", "big", "NULLED", kSerialization, R"("again")", "7", "t"}});
    CHECK(query_rows("SELECT sync_id, count(*) FROM " + rejects_table(schema) +
                     " GROUP BY 1 ORDER BY 1") == Rows{{"101", "200"}, {"102", "1"}});
  }
}

TEST_CASE("rejected values: a transaction replayed on a new connection copies them once",
          "[rejected][fault]") {
  auto schema = fresh_schema("it_rejects_replay");
  auto config = own_role_config(schema, "it_rejects_replay_user");
  config["raw_data_schema"] = schema;
  auto catalog = catalog_of(items_spec());
  // A sync without records makes the tables, so that the one of rejected values can be locked.
  require_ok(sync(schema, catalog, "", true, config));
  std::string body;
  for (int id = 1; id <= 300; ++id)
    body += record("items", R"({"id":)" + std::to_string(id) + R"(,"name":"x\u0000"})");
  {
    // Rows are copied into the table of rejected values after those of the stream, in the same
    // transaction: the lock holds that transaction with its rows copied, until it is cut off.
    auto blocker = test_connection();
    pqxx::work lock(blocker);
    lock.exec0("LOCK TABLE " + rejects_table(schema) + " IN EXCLUSIVE MODE");
    ConnectorProcess connector(write_args(schema, config, catalog));
    connector.write_stdin(body + state_line(1));
    auto watcher = test_connection();
    REQUIRE(wait_for_lock_wait(watcher, "it_rejects_replay_user", 30.0));
    terminate_sessions_of("it_rejects_replay_user");
    lock.commit();
    CHECK(connector.wait_for_line("\"type\":\"STATE\"", 30.0));
    connector.write_stdin(complete_statuses(catalog));
    auto result = connector.wait();
    require_ok(result);
    CHECK(states(result).size() == 1);
    CHECK(!logs_with(result, "Trying the transaction again").empty());
  }
  CHECK(query_rows("SELECT count(*), count(DISTINCT id) FROM \"" + schema + "\".items") ==
        Rows{{"300", "300"}});
  CHECK(query_rows("SELECT count(*), count(DISTINCT _airbyte_raw_id) FROM " +
                   rejects_table(schema)) == Rows{{"300", "300"}});
  check_one_reject_per_change(schema);
  drop_role("it_rejects_replay_user");
}

TEST_CASE("rejected values: where the user may not create schemas they go to the user's schema, "
          "and where nothing can take them the sync runs without",
          "[rejected][privileges]") {
  auto schema = fresh_schema("it_rejects_privileges");
  const std::string role = "it_rejects_limited";
  drop_role(role);
  exec("CREATE ROLE " + role + " LOGIN PASSWORD 'secret-" + role + "'");
  Json config = test_config(schema);
  config["username"] = role;
  config["password"] = "secret-" + role;
  // A schema of its own that does not exist and that it may not create.
  config["raw_data_schema"] = schema + "_internal";
  exec("DROP SCHEMA IF EXISTS " + schema + "_internal CASCADE");

  SECTION("USAGE and CREATE on its own schema only: the rejects go there") {
    exec("CREATE SCHEMA " + schema);
    exec("GRANT USAGE, CREATE ON SCHEMA " + schema + " TO " + role);
    auto result = sync(schema, catalog_of(items_spec()), every_kind_of_reject(), true, config);
    require_ok(result);
    check_one_reject_per_change(schema);
    CHECK(query_rows("SELECT count(*) FROM " + rejects_table(schema)) == Rows{{"7"}});
    CHECK(query_rows("SELECT count(*) FROM pg_namespace WHERE nspname = '" + schema +
                     "_internal'") == Rows{{"0"}});
  }
  SECTION("a table of rejected values it may not insert into: a WARN, and the sync runs") {
    require_ok(sync(schema, catalog_of(items_spec()), "", true, own_internal_schema(schema)));
    exec("GRANT USAGE, CREATE ON SCHEMA " + schema + " TO " + role);
    exec("GRANT SELECT, INSERT ON " + schema + ".items TO " + role);
    auto result = sync(schema, catalog_of(items_spec()), every_kind_of_reject(), true, config);
    require_ok(result);
    CHECK(query_rows("SELECT count(*) FROM \"" + schema + "\".items") == Rows{{"7"}});
    CHECK(query_rows("SELECT count(*) FROM " + rejects_table(schema)) == Rows{{"0"}});
    const auto warnings = logs_with(result, "are not kept this sync");
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("GRANT INSERT ON \"" + schema + "\".\"_airbyte_rejected_values\"") !=
          std::string::npos);
  }
  SECTION("no schema takes the connector's tables, but the stream's table may be written: one "
          "WARN, and the sync runs") {
    require_ok(sync(schema, catalog_of(items_spec()), "", true,
                    {{"raw_data_schema", schema}, {"keep_rejected_values", false}}));
    exec("GRANT USAGE ON SCHEMA " + schema + " TO " + role);
    exec("GRANT SELECT, INSERT ON " + schema + ".items TO " + role);
    auto result = sync(schema, catalog_of(items_spec()), every_kind_of_reject(), true, config);
    require_ok(result);
    CHECK(query_rows("SELECT count(*) FROM \"" + schema + "\".items") == Rows{{"7"}});
    CHECK(table_count(schema, "_airbyte_rejected_values") == Rows{{"0"}});
    const auto warnings = logs_with(result, "rejected values");
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("No schema takes the connector's own tables") != std::string::npos);
  }
  drop_role(role);
}
