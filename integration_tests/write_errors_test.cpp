// `write` failures a user must act on: the same advice as `check`, the GRANT that fixes a missing
// privilege, and never a record value or a jdbc_url_params value in any output.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "support/harness.hpp"
#include "support/sync.hpp"

using namespace pgdest::testing;
using json = nlohmann::ordered_json;

namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

// A `write` of one "users" record per JSON object in `data` into `schema`, the stream COMPLETE.
RunResult write_users(const std::string& schema, const std::vector<std::string>& data,
                      const json& config_overrides = json::object()) {
  json catalog = configure_catalog(
      {{"streams",
        {{{"name", "users"},
          {"json_schema",
           {{"type", "object"},
            {"properties", {{"id", {{"type", "integer"}}}, {"name", {{"type", "string"}}}}}}}}}}},
      "append");
  std::string messages;
  for (const auto& object : data)
    messages +=
        R"({"type":"RECORD","record":{"stream":"users","emitted_at":1700000000000,"data":)" +
        object + "}}\n";
  return run_write(schema, catalog, messages + complete_statuses(catalog), config_overrides);
}

// A user's name as a record's data.
std::string named(int id, const std::string& name) {
  return R"({"id":)" + std::to_string(id) + R"(,"name":")" + name + R"("})";
}

const json as_limited = {{"username", "limited"}, {"password", "limited"}};

// `secret` appears in no stdout line and not on stderr.
void require_absent(const RunResult& result, const std::string& secret) {
  for (const auto& line : result.stdout_lines)
    CHECK(line.find(secret) == std::string::npos);
  CHECK(result.stderr_text.find(secret) == std::string::npos);
}

// The one TRACE error of a failed run.
json only_error(const RunResult& result) {
  CHECK(result.exit_code == 1);
  CHECK(protocol_violations(result.stdout_lines) == "");
  auto errors = result.trace_errors();
  REQUIRE(errors.size() == 1);
  return errors[0];
}

} // namespace

TEST_CASE("a record violating a CHECK constraint or unique index fails the sync naming the "
          "constraint, never the value",
          "[write][errors][secrets]") {
  auto schema = fresh_schema("it_constraint_leak");
  const std::string unique_secret = "Unique-Secret-Value-5821";
  REQUIRE(write_users(schema, {named(1, unique_secret)}).exit_code == 0);
  exec("ALTER TABLE it_constraint_leak.users ADD CONSTRAINT name_is_short CHECK "
       "(length(name) < 30); CREATE UNIQUE INDEX users_name_unique ON it_constraint_leak.users "
       "(name)");

  SECTION("CHECK constraint") {
    const std::string secret = "Check-Secret-Value-7315-long-enough";
    auto result = write_users(schema, {named(2, secret)});
    INFO(result.stderr_text);
    json error = only_error(result);
    CHECK(error["failure_type"] == "config_error");
    CHECK(error["message"] ==
          "PostgreSQL failed while loading rows into \"it_constraint_leak\".\"users\": A record "
          "violates check constraint \"name_is_short\" of table \"it_constraint_leak\".\"users\". "
          "Drop or change the constraint, or fix the records at the source.");
    CHECK(error["internal_message"] ==
          "SQLSTATE 23514: row of table \"it_constraint_leak\".\"users\" violates check "
          "constraint \"name_is_short\"");
    require_absent(result, secret);
  }

  SECTION("unique index") {
    auto result = write_users(schema, {named(3, unique_secret)});
    INFO(result.stderr_text);
    json error = only_error(result);
    CHECK(error["failure_type"] == "config_error");
    CHECK(error["message"] ==
          "PostgreSQL failed while loading rows into \"it_constraint_leak\".\"users\": A record "
          "violates unique constraint \"users_name_unique\" of table "
          "\"it_constraint_leak\".\"users\". Drop the constraint or unique index: append syncs "
          "keep every record, and dedup syncs hold several rows per key until they commit.");
    require_absent(result, unique_secret);
  }
}

TEST_CASE("a write that may not create its schema prints the GRANT on the database",
          "[write][errors][privileges]") {
  auto schema = fresh_schema("it_limited_new_schema");
  auto result = write_users(schema, {R"({"id":1})"}, as_limited);
  INFO(result.stderr_text);
  json error = only_error(result);
  CHECK(error["failure_type"] == "config_error");
  const std::string database = env("PGDEST_TEST_DATABASE");
  CHECK(error["message"] ==
        "Permission denied: user \"limited\" may not create schema \"it_limited_new_schema\" in "
        "database \"" +
            database +
            "\". Create the schema, or let the user create it; as a superuser or the database "
            "owner, run: GRANT CREATE ON DATABASE \"" +
            database + "\" TO \"limited\";");
  CHECK(error["internal_message"] == "SQLSTATE 42501: permission denied for database " + database);
}

TEST_CASE("a write that may not create tables in an existing schema prints the GRANT on the "
          "schema",
          "[write][errors][privileges]") {
  auto schema = fresh_schema("it_limited_schema");
  exec("CREATE SCHEMA it_limited_schema; GRANT USAGE ON SCHEMA it_limited_schema TO limited");
  auto result = write_users(schema, {R"({"id":1})"}, as_limited);
  INFO(result.stderr_text);
  json error = only_error(result);
  CHECK(error["failure_type"] == "config_error");
  CHECK(error["message"] ==
        "Permission denied: user \"limited\" may not create tables in schema "
        "\"it_limited_schema\". As a superuser or the schema owner, run: GRANT USAGE, CREATE ON "
        "SCHEMA \"it_limited_schema\" TO \"limited\";");

  SECTION("and the GRANT it prints is enough") {
    exec("GRANT USAGE, CREATE ON SCHEMA \"it_limited_schema\" TO \"limited\";");
    auto granted = write_users(schema, {R"({"id":1})"}, as_limited);
    INFO(granted.stderr_text);
    CHECK(granted.exit_code == 0);
  }
}

TEST_CASE("a bad options value in jdbc_url_params fails the connection without showing the value",
          "[write][errors][secrets][jdbc]") {
  auto schema = fresh_schema("it_jdbc_leak");
  const std::string secret = "Opt-Secret-Value-4471";
  auto result = write_users(
      schema, {R"({"id":1})"},
      {{"jdbc_url_params", "options=-c%20statement_timeout%3D" + secret + "&ApplicationName=" +
                               "App-Secret-Value-9902&socketTimeout=Unknown-Secret-Value-3310"}});
  INFO(result.stderr_text);
  json error = only_error(result);
  CHECK(error["failure_type"] == "config_error");
  CHECK(error["message"] == "The server at " + env("PGDEST_TEST_HOST") + ":" +
                                env("PGDEST_TEST_PORT") +
                                " refused a setting from jdbc_url_params: invalid value for "
                                "parameter \"statement_timeout\": \"****\". Check the names and "
                                "values in jdbc_url_params.");
  for (const std::string& value :
       {secret, std::string("App-Secret-Value-9902"), std::string("Unknown-Secret-Value-3310")})
    require_absent(result, value);
  // The unknown key is named in a warning; only its name.
  bool warned = false;
  for (const auto& log : result.messages("LOG"))
    warned = warned || log["log"]["message"].get<std::string>().find("\"socketTimeout\"") !=
                           std::string::npos;
  CHECK(warned);
}

TEST_CASE("what a trigger raises about a record is not echoed in LOG or TRACE",
          "[write][errors][secrets]") {
  auto schema = fresh_schema("it_trigger_leak");
  REQUIRE(write_users(schema, {}).exit_code == 0);
  exec("CREATE FUNCTION it_trigger_leak.shout() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
       "RAISE WARNING 'saw %', NEW.name; IF NEW.id = 2 THEN RAISE EXCEPTION 'refused %', "
       "NEW.name; END IF; RETURN NEW; END $$; CREATE TRIGGER shout BEFORE INSERT ON "
       "it_trigger_leak.users FOR EACH ROW EXECUTE FUNCTION it_trigger_leak.shout()");
  const std::string warned = "Warned-Secret-Value-1184";
  const std::string refused = "Refused-Secret-Value-2295";

  auto logged = write_users(schema, {named(1, warned)});
  INFO(logged.stderr_text);
  CHECK(logged.exit_code == 0);
  bool logged_warning = false;
  for (const auto& log : logged.messages("LOG"))
    logged_warning = logged_warning || log["log"]["message"] ==
                                           "PostgreSQL: a function or trigger raised SQLSTATE "
                                           "01000; its text is not shown, as it may contain "
                                           "record values";
  CHECK(logged_warning);
  require_absent(logged, warned);

  auto failed = write_users(schema, {named(2, refused)});
  json error = only_error(failed);
  CHECK(error["message"] ==
        "PostgreSQL failed while loading rows into \"it_trigger_leak\".\"users\": a function or "
        "trigger raised SQLSTATE P0001; its text is not shown, as it may contain record values.");
  require_absent(failed, refused);
}
