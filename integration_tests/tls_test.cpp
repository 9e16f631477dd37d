// TLS exactly as the user set it, seen from the server: pg_stat_ssl for the connector's own
// sessions while a write runs, on the TLS test server and on a server without TLS.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <string>
#include <vector>

#include "support/fault_input.hpp"
#include "support/harness.hpp"
#include "support/sync.hpp"

using namespace pgdest::testing;
using json = nlohmann::ordered_json;

namespace {

std::string unique(const std::string& base) {
  return base + "_" + std::to_string(getpid());
}

// What a write showed while it ran, and how it ended.
struct ObservedWrite {
  // pg_stat_ssl.ssl ("t" or "f") of each session the connector had open after its first commit.
  std::vector<std::string> session_tls;
  RunResult result;
};

// Runs a dedup sync over two connections with `config`, whose application_name must be
// `application_name`; once the first batch is committed, reads pg_stat_ssl for every session the
// connector has open, through `watcher`; then ends the input.
ObservedWrite observe_write(const std::string& schema, const json& config,
                            const std::string& application_name, pqxx::connection& watcher) {
  auto catalog = users_catalog("append_dedup");
  json two_lanes = config;
  two_lanes["max_connections"] = 2;
  ConnectorProcess connector(write_args(schema, two_lanes, catalog));
  connector.write_stdin(user_batches(1, 10, 10));
  ObservedWrite observed;
  // The STATE after the batch leaves only once its rows are committed: the sessions are open.
  if (connector.wait_for_line("\"cursor\":10}", 30.0)) {
    pqxx::nontransaction work(watcher);
    auto rows = work.exec_params("SELECT s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s "
                                 "USING (pid) WHERE a.application_name = $1 ORDER BY a.pid",
                                 application_name);
    for (const auto& row : rows)
      observed.session_tls.push_back(row[0].c_str());
  }
  connector.write_stdin(complete_statuses(catalog));
  observed.result = connector.wait(60);
  return observed;
}

std::vector<std::string> log_messages(const RunResult& result) {
  std::vector<std::string> messages;
  for (const auto& log : result.messages("LOG"))
    messages.push_back(log["log"]["message"]);
  return messages;
}

bool has_log(const RunResult& result, const std::string& text) {
  for (const auto& message : log_messages(result))
    if (message.find(text) != std::string::npos)
      return true;
  return false;
}

long row_count(pqxx::connection& connection, const std::string& schema) {
  pqxx::nontransaction work(connection);
  return work.exec1("SELECT count(*) FROM " + work.quote_name(schema) + ".users")[0].as<long>();
}

json connection_status(const json& config) {
  auto run = run_connector(
      {"check", "--config", write_temp_file(unique("tls-check") + ".json", config.dump())});
  INFO(run.stderr_text);
  REQUIRE(run.exit_code == 0);
  auto statuses = run.messages("CONNECTION_STATUS");
  REQUIRE(statuses.size() == 1);
  return statuses[0]["connectionStatus"];
}

// A dedup sync into a fresh schema of the TLS test server, with `ssl_mode` (none when null) and
// `jdbc_url_params` (to which an application_name is added, to find its sessions). Checks that it
// loaded its rows.
ObservedWrite write_on_tls_server(const std::string& name, const json& ssl_mode,
                                  const std::string& jdbc_url_params) {
  auto schema = fresh_schema(unique(name));
  const std::string application_name = unique(name);
  json config = test_config(schema);
  config.erase("ssl_mode");
  if (!ssl_mode.is_null())
    config["ssl_mode"] = ssl_mode;
  config["jdbc_url_params"] = "ApplicationName=" + application_name +
                              (jdbc_url_params.empty() ? "" : "&" + jdbc_url_params);
  auto watcher = test_connection();
  auto observed = observe_write(schema, config, application_name, watcher);
  INFO(observed.result.stderr_text);
  CHECK(observed.result.exit_code == 0);
  CHECK(row_count(watcher, schema) == 10);
  CHECK(connection_status(config)["status"] == "SUCCEEDED");
  return observed;
}

} // namespace

TEST_CASE("without ssl_mode, every session on a TLS server is encrypted", "[tls][write]") {
  auto observed = write_on_tls_server("it_tls_default", nullptr, "");
  // Both connections of the dedup sync, each over TLS.
  CHECK(observed.session_tls == std::vector<std::string>{"t", "t"});
  CHECK(has_log(observed.result, "TLS: sslmode \"prefer\""));
}

TEST_CASE("jdbc_url_params sslmode=require with ssl_mode disable never connects in plaintext",
          "[tls][write][jdbc]") {
  auto observed = write_on_tls_server("it_tls_jdbc", {{"mode", "disable"}}, "sslmode=require");
  CHECK(observed.session_tls == std::vector<std::string>{"t", "t"});
  CHECK(has_log(observed.result,
                "ssl_mode \"disable\" and jdbc_url_params \"sslmode\" (\"require\") ask for "
                "different TLS modes; the stricter one, \"require\", is used."));
}

TEST_CASE("jdbc_url_params ssl=true alone asks for verify-full, which needs a CA certificate",
          "[tls][check][jdbc]") {
  json config = test_config(unique("it_tls_bare_ssl"));
  config.erase("ssl_mode");
  config["jdbc_url_params"] = "ssl=true";
  // No ~/.postgresql/root.crt for libpq to fall back on.
  std::string home = write_temp_file("tls-empty-home-marker", "");
  home = home.substr(0, home.rfind('/')) + "/tls-empty-home";
  auto run = run_connector(
      {"check", "--config", write_temp_file(unique("tls-bare-ssl") + ".json", config.dump())}, "",
      {{"HOME", home}});
  auto statuses = run.messages("CONNECTION_STATUS");
  REQUIRE(statuses.size() == 1);
  CHECK(statuses[0]["connectionStatus"]["status"] == "FAILED");
  CHECK(statuses[0]["connectionStatus"]["message"] ==
        "The TLS mode \"verify-full\" checks the server's certificate, but no CA certificate was "
        "given to check it with. Set ssl_mode to \"verify-full\" with ca_certificate, or add "
        "sslrootcert=<file> to jdbc_url_params; or, to encrypt without checking the certificate, "
        "use \"require\".");
}

TEST_CASE("a server without TLS: no ssl_mode connects as Airbyte's connector would, a TLS demand "
          "from either side is refused",
          "[tls][write][jdbc]") {
  PrivateServer server("no-tls", {"ssl = off"});
  auto watcher = server.connect();
  {
    pqxx::nontransaction work(watcher);
    REQUIRE(work.exec1("SHOW ssl")[0].as<std::string>() == "off");
  }

  const std::string application_name = unique("it-no-tls");
  json plain = server.config("it_no_tls");
  plain.erase("ssl_mode");
  plain["jdbc_url_params"] = "ApplicationName=" + application_name;
  auto observed = observe_write("it_no_tls", plain, application_name, watcher);
  INFO(observed.result.stderr_text);
  CHECK(observed.result.exit_code == 0);
  CHECK(observed.session_tls == std::vector<std::string>{"f", "f"});
  CHECK(row_count(watcher, "it_no_tls") == 10);
  CHECK(connection_status(plain)["status"] == "SUCCEEDED");

  // The legacy flag does not change that, as in Airbyte's 3.x connector.
  json legacy = plain;
  legacy["ssl"] = true;
  CHECK(connection_status(legacy)["status"] == "SUCCEEDED");

  const std::string refused =
      "The server at 127.0.0.1:" + std::to_string(plain["port"].get<int>()) +
      " does not accept TLS connections, but the TLS mode \"require\" requires TLS. Enable ssl on "
      "the server, or set ssl_mode to \"prefer\" or \"disable\" (and sslmode and ssl in "
      "jdbc_url_params too, if set: the stricter mode wins).";
  json jdbc_require = server.config("it_no_tls_jdbc"); // ssl_mode disable
  jdbc_require["jdbc_url_params"] = "sslmode=require";
  json ssl_mode_require = plain;
  ssl_mode_require["ssl_mode"] = {{"mode", "require"}};
  for (const json& config : {jdbc_require, ssl_mode_require}) {
    INFO(config.dump());
    auto status = connection_status(config);
    CHECK(status["status"] == "FAILED");
    CHECK(status["message"] == refused);

    auto catalog = users_catalog("append");
    auto run = run_connector(write_args("it_no_tls_refused", config, catalog),
                             user_batches(1, 10, 10) + complete_statuses(catalog));
    INFO(run.stderr_text);
    CHECK(run.exit_code == 1);
    CHECK(states(run).empty());
    auto errors = run.trace_errors();
    REQUIRE(errors.size() == 1);
    CHECK(errors[0]["failure_type"] == "config_error");
    CHECK(errors[0]["message"] == refused);
  }
  pqxx::nontransaction work(watcher);
  CHECK(work.exec1("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'it_no_tls_%'")[0]
            .as<int>() == 0);
}
