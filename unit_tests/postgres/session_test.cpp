// session: the settings every transaction runs with, and ensure_schema's decisions and messages.
#include <map>

#include <catch2/catch.hpp>

#include "pgdest/error.hpp"
#include "pgdest/postgres/session.hpp"

using pgdest::postgres::Identifier;
using pgdest::postgres::Row;

namespace {

// Answers the privileges query with one scripted row and records every statement.
class ScriptedConnection : public pgdest::postgres::Connection {
public:
  explicit ScriptedConnection(Row privileges) : privileges_(std::move(privileges)) {}
  // Answers with the row of the schema asked about.
  explicit ScriptedConnection(std::map<std::string, Row> privileges_by_schema)
      : by_schema_(std::move(privileges_by_schema)) {}

  void execute(const std::string& sql, std::string_view) override { executed.push_back(sql); }
  bool execute_within(const std::string& sql, std::chrono::milliseconds,
                      std::string_view context) override {
    execute(sql, context);
    return true;
  }
  std::vector<Row> query(const std::string&, const std::vector<std::string>& params,
                         std::string_view) override {
    queried_with.insert(queried_with.end(), params.begin(), params.end());
    if (!by_schema_.empty())
      return {by_schema_.at(params.at(0))};
    return {privileges_};
  }
  void copy_start(const std::string&, std::string_view) override {}
  void copy_send(std::string_view) override {}
  void copy_finish() override {}
  void copy_abort(std::string_view) noexcept override {}
  bool healthy() const override { return true; }

  std::vector<std::string> executed;
  std::vector<std::string> queried_with;

private:
  Row privileges_;
  std::map<std::string, Row> by_schema_;
};

// current user, current database, may create schemas, schema exists, may create tables in it.
Row privileges(const char* may_create_schema, const char* exists, const char* may_create_tables) {
  return {"limited", "warehouse", std::string(may_create_schema), std::string(exists),
          std::string(may_create_tables)};
}

std::string failure_of(ScriptedConnection& connection, const std::string& schema) {
  try {
    pgdest::postgres::ensure_schema(connection, Identifier(schema));
  } catch (const pgdest::Error& error) {
    CHECK(error.failure_type() == pgdest::FailureType::config_error);
    return error.what();
  }
  return "(no error)";
}

} // namespace

TEST_CASE("ensure_schema names the GRANT on the database when it may not create the schema",
          "[postgres][session]") {
  ScriptedConnection connection(privileges("f", "f", "f"));
  CHECK(failure_of(connection, "sales") ==
        "Permission denied: user \"limited\" may not create schema \"sales\" in database "
        "\"warehouse\". Create the schema, or let the user create it; as a superuser or the "
        "database owner, run: GRANT CREATE ON DATABASE \"warehouse\" TO \"limited\";");
  CHECK(connection.queried_with == std::vector<std::string>{"sales"});
  CHECK(connection.executed.empty());
}

TEST_CASE("ensure_schema names the GRANT on the schema when it may not create tables there",
          "[postgres][session]") {
  ScriptedConnection connection(privileges("t", "t", "f"));
  CHECK(failure_of(connection, "My \"Schema\"") ==
        "Permission denied: user \"limited\" may not create tables in schema \"My \"Schema\"\". As "
        "a superuser or the schema owner, run: GRANT USAGE, CREATE ON SCHEMA \"My \"\"Schema\"\"\" "
        "TO \"limited\";");
  CHECK(connection.executed.empty());
}

TEST_CASE("ensure_schema creates a missing schema it may create, and leaves an usable one alone",
          "[postgres][session]") {
  ScriptedConnection missing(privileges("t", "f", "f"));
  pgdest::postgres::ensure_schema(missing, Identifier("sales"));
  CHECK(missing.executed == std::vector<std::string>{"CREATE SCHEMA IF NOT EXISTS \"sales\""});

  // CREATE SCHEMA IF NOT EXISTS would need CREATE on the database even for an existing schema.
  ScriptedConnection existing(privileges("f", "t", "t"));
  pgdest::postgres::ensure_schema(existing, Identifier("sales"));
  CHECK(existing.executed.empty());
}

TEST_CASE("the connector's own tables go to the first schema the user may use, and say why the "
          "first one was passed over",
          "[postgres][session]") {
  using pgdest::postgres::choose_internal_schema;
  const std::vector<Identifier> candidates{Identifier("airbyte_internal"), Identifier("public")};

  ScriptedConnection creatable({{"airbyte_internal", privileges("t", "f", "f")},
                                {"public", privileges("t", "t", "t")}});
  auto chosen = choose_internal_schema(creatable, candidates);
  REQUIRE(chosen);
  CHECK(chosen->schema.name() == "airbyte_internal");
  CHECK(chosen->passed_over.empty());
  CHECK(creatable.executed ==
        std::vector<std::string>{"CREATE SCHEMA IF NOT EXISTS \"airbyte_internal\""});
  CHECK(creatable.queried_with == std::vector<std::string>{"airbyte_internal"});

  // No CREATE on the database: the schema the sync writes to anyway.
  ScriptedConnection own_schema_only({{"airbyte_internal", privileges("f", "f", "f")},
                                      {"public", privileges("f", "t", "t")}});
  chosen = choose_internal_schema(own_schema_only, candidates);
  REQUIRE(chosen);
  CHECK(chosen->schema.name() == "public");
  CHECK(chosen->passed_over.find("may not create schema \"airbyte_internal\"") !=
        std::string::npos);
  CHECK(chosen->passed_over.find("GRANT CREATE ON DATABASE \"warehouse\" TO \"limited\"") !=
        std::string::npos);
  CHECK(own_schema_only.executed.empty());

  ScriptedConnection nowhere({{"airbyte_internal", privileges("f", "t", "f")},
                              {"public", privileges("f", "t", "f")}});
  CHECK_FALSE(choose_internal_schema(nowhere, candidates));
  CHECK(nowhere.executed.empty());
}

TEST_CASE("the connector's own tables prefer raw_data_schema, then the config's schema, then the "
          "streams' schemas, each once",
          "[postgres][session]") {
  pgdest::config::DestinationConfig config;
  config.raw_data_schema = "Airbyte Internal";
  config.schema = "public";
  const auto candidates = pgdest::postgres::internal_schema_candidates(
      config, {Identifier("sales"), Identifier("public"), Identifier("sales")});
  std::vector<std::string> names;
  for (const auto& candidate : candidates)
    names.push_back(candidate.name());
  CHECK(names == std::vector<std::string>{"airbyte_internal", "public", "sales"});
}

TEST_CASE("every transaction runs in UTC, with room to sort keys, without JIT, and keeps no "
          "setting beyond its end",
          "[postgres][session]") {
  const std::string settings = pgdest::postgres::transaction_settings();
  for (const char* setting :
       {"set_config('TimeZone', 'UTC', true)", "set_config('work_mem', '128MB', true)",
        "set_config('jit', 'off', true)", "set_config('temp_buffers', '128MB', true)"})
    CHECK(settings.find(setting) != std::string::npos);
  // set_config(..., true) is SET LOCAL: nothing set for the session, which through a transaction
  // pooler would stay on a server connection other clients get next.
  auto occurrences = [&](const std::string& text) {
    std::size_t count = 0;
    for (auto at = settings.find(text); at != std::string::npos; at = settings.find(text, at + 1))
      ++count;
    return count;
  };
  CHECK(occurrences("set_config(") == occurrences(", true)"));
  CHECK(occurrences("SET ") == 0);
  CHECK(pgdest::postgres::begin_transaction() == "BEGIN; " + settings);
}
