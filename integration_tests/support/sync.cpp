// Helpers for tests that run `write`.
#include "sync.hpp"

#include <catch2/catch.hpp>

namespace pgdest::testing {

RunResult run_write(const std::string& schema, const nlohmann::ordered_json& catalog,
                    const std::string& messages, const nlohmann::ordered_json& config_overrides) {
  auto config = test_config(schema);
  config.update(config_overrides);
  return run_connector(write_args(schema, config, catalog), messages);
}

std::vector<std::string> write_args(const std::string& schema, const nlohmann::ordered_json& config,
                                    const nlohmann::ordered_json& catalog) {
  return {"write", "--config", write_temp_file(schema + "-config.json", config.dump()), "--catalog",
          write_temp_file(schema + "-catalog.json", catalog.dump())};
}

nlohmann::ordered_json own_role_config(const std::string& schema, const std::string& role) {
  drop_role(role);
  exec("CREATE ROLE " + role + " LOGIN SUPERUSER PASSWORD 'secret-" + role + "'");
  auto config = test_config(schema);
  config["username"] = role;
  config["password"] = "secret-" + role;
  return config;
}

void drop_role(const std::string& role) {
  // The connector's shared tables (sync log, rejected values) and their schema belong to the
  // role that made them first; tests running beside this one write into them, so they pass to
  // the test user instead of going with the role's own objects.
  exec("DO $$ DECLARE shared record; BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '" +
       role +
       "') THEN FOR shared IN SELECT n.nspname, c.relname, c.relowner = r.oid AS table_owned, "
       "n.nspowner = r.oid AS schema_owned FROM pg_class c JOIN pg_namespace n ON n.oid = "
       "c.relnamespace JOIN pg_roles r ON r.rolname = '" +
       role +
       "' WHERE c.relkind = 'r' AND c.relname IN ('_airbyte_sync_log', "
       "'_airbyte_rejected_values') AND (c.relowner = r.oid OR n.nspowner = r.oid) LOOP IF "
       "shared.schema_owned THEN EXECUTE format('ALTER SCHEMA %I OWNER TO CURRENT_USER', "
       "shared.nspname); END IF; IF shared.table_owned THEN EXECUTE format('ALTER TABLE %I.%I "
       "OWNER TO CURRENT_USER', shared.nspname, shared.relname); END IF; END LOOP; EXECUTE "
       "'DROP OWNED BY " +
       role + " CASCADE'; EXECUTE 'DROP ROLE " + role + "'; END IF; END $$");
}

std::string complete_statuses(const nlohmann::ordered_json& configured_catalog) {
  std::string lines;
  for (const auto& configured : configured_catalog["streams"]) {
    nlohmann::ordered_json descriptor = {{"name", configured["stream"]["name"]}};
    if (configured["stream"].contains("namespace"))
      descriptor["namespace"] = configured["stream"]["namespace"];
    nlohmann::ordered_json trace = {
        {"type", "TRACE"},
        {"trace",
         {{"type", "STREAM_STATUS"},
          {"emitted_at", 1700000000000},
          {"stream_status", {{"stream_descriptor", descriptor}, {"status", "COMPLETE"}}}}}};
    lines += trace.dump() + "\n";
  }
  return lines;
}

std::vector<nlohmann::ordered_json> states(const RunResult& result) {
  return states(result.stdout_lines);
}

std::vector<nlohmann::ordered_json> states(const std::vector<std::string>& lines) {
  std::vector<nlohmann::ordered_json> found;
  for (const auto& line : lines) {
    auto message = nlohmann::ordered_json::parse(line);
    if (message.value("type", "") == "STATE")
      found.push_back(message["state"]);
  }
  return found;
}

std::vector<std::string> column_types(const std::string& schema, const std::string& table) {
  auto connection = test_connection();
  pqxx::nontransaction work(connection);
  std::vector<std::string> columns;
  auto rows =
      work.exec_params("SELECT column_name, data_type FROM information_schema.columns "
                       "WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
                       schema, table);
  for (const auto& row : rows)
    columns.push_back(std::string(row[0].c_str()) + ":" + row[1].c_str());
  return columns;
}

std::string run_id_of(const std::vector<std::string>& lines) {
  const std::string marker = "with run_id '";
  for (const auto& line : lines) {
    auto at = line.find(marker);
    if (at != std::string::npos)
      return line.substr(at + marker.size(), 36);
  }
  FAIL("the sync did not say its run_id");
  return {};
}

std::string run_id_of(const RunResult& result) {
  return run_id_of(result.stdout_lines);
}

} // namespace pgdest::testing
