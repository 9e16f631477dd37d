// `check` against the test server: every failure SPEC §2 names gets its own exact message, both
// through check_connection() in-process and through the real binary's CONNECTION_STATUS.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "pgdest/config/config_reader.hpp"
#include "pgdest/postgres/connection_checker.hpp"
#include "support/harness.hpp"

using json = nlohmann::ordered_json;
using pgdest::postgres::CheckResult;
namespace harness = pgdest::testing;

namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string unique(const std::string& base) {
  return base + "_" + std::to_string(getpid());
}

std::string endpoint() {
  return env("PGDEST_TEST_HOST") + ":" + env("PGDEST_TEST_PORT");
}

// Drops the schema when the test is over (and before, if an earlier run left it). Only this
// file's own "check_" schemas: "public" and everybody else's stay untouched.
struct ScratchSchema {
  explicit ScratchSchema(std::string schema_name) : name(std::move(schema_name)) {
    if (owned())
      harness::fresh_schema(name);
  }
  ~ScratchSchema() {
    try {
      if (owned())
        harness::fresh_schema(name);
    } catch (const std::exception& error) {
      WARN("could not drop schema " << name << ": " << error.what());
    }
  }
  bool owned() const { return name.rfind("check_", 0) == 0; }
  std::string name;
};

json config_for(const std::string& schema, const std::string& user, const std::string& password,
                json ssl_mode = {{"mode", "disable"}}) {
  json config = harness::test_config(schema);
  config["username"] = user;
  config["password"] = password;
  config["ssl_mode"] = std::move(ssl_mode);
  return config;
}

json verify(const std::string& mode, const std::string& ca_path) {
  return {{"mode", mode}, {"ca_certificate", read_text(ca_path)}};
}

struct Expectation {
  std::string name;
  json config;
  bool succeeded;
  std::string message;
  // A value that must appear nowhere in the output (a password or key password).
  std::string secret;
};

std::string connection_status_text(bool succeeded) {
  return succeeded ? "SUCCEEDED" : "FAILED";
}

// Client certificates for mutual TLS, made with the test CA's key when it is readable.
struct ClientCertificates {
  std::string certificate;       // signed by the server's CA
  std::string other_certificate; // signed by the other CA, which the server does not trust
  std::string key;
  std::string encrypted_key; // the same key, encrypted with key_password
  std::string key_password = "KeyPass-2468-unique";
  // The same as files (keys 0600), for jdbc_url_params.
  std::string certificate_file;
  std::string other_certificate_file;
  std::string key_file;
  std::string encrypted_key_file;
};

std::optional<ClientCertificates> client_certificates() {
  static const std::optional<ClientCertificates> made = []() -> std::optional<ClientCertificates> {
    auto tls = std::filesystem::path(env("PGDEST_TEST_CA")).parent_path();
    if (access((tls / "ca.key").c_str(), R_OK) != 0 ||
        access((tls / "other-ca.key").c_str(), R_OK) != 0)
      return std::nullopt;
    std::string dir = harness::write_temp_file("client-tls-marker", "");
    dir = std::filesystem::path(dir).parent_path().string();
    ClientCertificates made_now;
    std::string script =
        "set -e; cd '" + dir +
        "'; "
        "openssl req -newkey rsa:2048 -nodes -subj /CN=pgdest -keyout client.key -out client.csr; "
        "openssl x509 -req -in client.csr -CA '" +
        (tls / "ca.crt").string() + "' -CAkey '" + (tls / "ca.key").string() +
        "' -set_serial 4242 -days 1 -out client.crt; "
        "openssl x509 -req -in client.csr -CA '" +
        (tls / "other-ca.crt").string() + "' -CAkey '" + (tls / "other-ca.key").string() +
        "' -set_serial 4243 -days 1 -out client-other.crt; "
        "openssl pkey -in client.key -aes256 -passout pass:" +
        made_now.key_password +
        " -out client-encrypted.key; chmod 600 client.key client-encrypted.key";
    std::string command = "bash -c \"" + script + "\" >/dev/null 2>&1";
    if (std::system(command.c_str()) != 0)
      return std::nullopt;
    made_now.certificate = read_text(dir + "/client.crt");
    made_now.other_certificate = read_text(dir + "/client-other.crt");
    made_now.key = read_text(dir + "/client.key");
    made_now.encrypted_key = read_text(dir + "/client-encrypted.key");
    made_now.certificate_file = dir + "/client.crt";
    made_now.other_certificate_file = dir + "/client-other.crt";
    made_now.key_file = dir + "/client.key";
    made_now.encrypted_key_file = dir + "/client-encrypted.key";
    return made_now;
  }();
  return made;
}

const std::string tls_required =
    "The server requires an encrypted (TLS) connection for user \"tls_only\", but the TLS mode is "
    "\"disable\". Set ssl_mode to \"require\", \"verify-ca\" or \"verify-full\".";

std::string rejected_certificate(const std::string& mode) {
  return "The server's TLS certificate was rejected: it is not signed by the CA given in "
         "ssl_mode.ca_certificate or in the jdbc_url_params sslrootcert file (TLS mode \"" +
         mode +
         "\"). Set ssl_mode.ca_certificate to the certificate of the CA that signed the server's "
         "certificate.";
}

std::vector<Expectation> expectations() {
  const std::string ca = env("PGDEST_TEST_CA");
  const std::string other_ca = env("PGDEST_TEST_OTHER_CA");
  const std::string user = env("PGDEST_TEST_USER");
  const std::string password = env("PGDEST_TEST_PASSWORD");
  const std::string database = env("PGDEST_TEST_DATABASE");
  std::vector<Expectation> cases;

  cases.push_back({"success", config_for(unique("check_ok"), user, password), true, "", ""});

  json closed = config_for(unique("check_closed"), user, password);
  int port = harness::closed_port();
  closed["port"] = port;
  cases.push_back({"closed port", closed, false,
                   "Could not connect to 127.0.0.1:" + std::to_string(port) +
                       ": the connection was refused. Check the host and port, and that "
                       "PostgreSQL is running and accepts TCP connections there.",
                   ""});

  json unknown_host = config_for(unique("check_host"), user, password);
  unknown_host["host"] = "no-such-host.invalid";
  cases.push_back({"unknown host", unknown_host, false,
                   "Could not resolve host \"no-such-host.invalid\": no such host is known. Check "
                   "the host name (and the DNS settings of the machine running the connector).",
                   ""});

  const std::string wrong_password = "Wrong-Secret-Pass-4242";
  cases.push_back(
      {"wrong password", config_for(unique("check_pw"), user, wrong_password), false,
       "Authentication failed for user \"" + user + "\". Check the username and password.",
       wrong_password});

  json missing_database = config_for(unique("check_db"), user, password);
  const std::string no_database = unique("check_no_such_db");
  missing_database["database"] = no_database;
  cases.push_back({"missing database", missing_database, false,
                   "Database \"" + no_database + "\" does not exist on " + endpoint() +
                       ". Check the database name, or create the database: CREATE DATABASE \"" +
                       no_database + "\";",
                   ""});

  const std::string denied_schema = unique("check_denied");
  cases.push_back({"no privilege to create the schema",
                   config_for(denied_schema, "limited", "limited"), false,
                   "Permission denied: user \"limited\" may not create schema \"" + denied_schema +
                       "\" in database \"" + database +
                       "\". Create the schema, or let the user create it; as a superuser or the "
                       "database owner, run: GRANT CREATE ON DATABASE \"" +
                       database + "\" TO \"limited\";",
                   ""});

  cases.push_back({"no privilege to create tables in the schema",
                   config_for("public", "limited", "limited"), false,
                   "Permission denied: user \"limited\" may not create tables in schema "
                   "\"public\". As a superuser or the schema owner, run: GRANT USAGE, CREATE ON "
                   "SCHEMA \"public\" TO \"limited\";",
                   ""});

  cases.push_back({"TLS required but disabled",
                   config_for(unique("check_tls"), "tls_only", "tls_only"), false, tls_required,
                   ""});

  cases.push_back({"TLS required and required",
                   config_for(unique("check_tls"), "tls_only", "tls_only", {{"mode", "require"}}),
                   true, "", ""});

  json verify_full =
      config_for(unique("check_vfull"), "tls_only", "tls_only", verify("verify-full", ca));
  verify_full["host"] = "localhost";
  cases.push_back({"verify-full with the right CA", verify_full, true, "", ""});

  cases.push_back({"verify-ca with the right CA",
                   config_for(unique("check_vca"), "tls_only", "tls_only", verify("verify-ca", ca)),
                   true, "", ""});

  json wrong_full =
      config_for(unique("check_vfull"), "tls_only", "tls_only", verify("verify-full", other_ca));
  wrong_full["host"] = "localhost";
  cases.push_back({"verify-full with the wrong CA", wrong_full, false,
                   rejected_certificate("verify-full"), ""});

  cases.push_back(
      {"verify-ca with the wrong CA",
       config_for(unique("check_vca"), "tls_only", "tls_only", verify("verify-ca", other_ca)),
       false, rejected_certificate("verify-ca"), ""});

  // TLS as the user set it: no ssl_mode, the legacy ssl flag, and the TLS keys of
  // jdbc_url_params. tls_only may only connect over TLS, so a success proves the connection was
  // encrypted.
  json no_ssl_mode = config_for(unique("check_tls_default"), "tls_only", "tls_only");
  no_ssl_mode.erase("ssl_mode");
  cases.push_back({"no ssl_mode: TLS when the server offers it", no_ssl_mode, true, "", ""});

  json legacy_flag = no_ssl_mode;
  legacy_flag["ssl"] = false;
  cases.push_back({"no ssl_mode and ssl false: still TLS when offered", legacy_flag, true, "", ""});

  json jdbc_require = config_for(unique("check_jdbc_tls"), "tls_only", "tls_only");
  jdbc_require["jdbc_url_params"] = "sslmode=require";
  cases.push_back(
      {"jdbc_url_params sslmode=require beats ssl_mode disable", jdbc_require, true, "", ""});

  json jdbc_disable =
      config_for(unique("check_jdbc_tls"), "tls_only", "tls_only", {{"mode", "require"}});
  jdbc_disable["jdbc_url_params"] = "sslmode=disable";
  cases.push_back(
      {"ssl_mode require beats jdbc_url_params sslmode=disable", jdbc_disable, true, "", ""});

  json jdbc_plain = no_ssl_mode;
  jdbc_plain["jdbc_url_params"] = "sslmode=disable";
  cases.push_back(
      {"jdbc_url_params sslmode=disable without ssl_mode", jdbc_plain, false, tls_required, ""});

  json jdbc_factory = jdbc_require;
  jdbc_factory.erase("ssl_mode");
  jdbc_factory["jdbc_url_params"] = "ssl=true&sslfactory=org.postgresql.ssl.NonValidatingFactory";
  cases.push_back(
      {"jdbc_url_params ssl=true with the non-validating factory", jdbc_factory, true, "", ""});

  json jdbc_verify = no_ssl_mode;
  jdbc_verify["host"] = "localhost";
  jdbc_verify["jdbc_url_params"] = "sslmode=verify-full&sslrootcert=" + ca;
  cases.push_back(
      {"jdbc_url_params verify-full with an sslrootcert file", jdbc_verify, true, "", ""});

  json jdbc_wrong_ca = no_ssl_mode;
  jdbc_wrong_ca["jdbc_url_params"] = "sslmode=verify-ca&sslrootcert=" + other_ca;
  cases.push_back({"jdbc_url_params sslrootcert of another CA", jdbc_wrong_ca, false,
                   rejected_certificate("verify-ca"), ""});

  json jdbc_missing_file = no_ssl_mode;
  jdbc_missing_file["jdbc_url_params"] = "sslmode=verify-ca&sslrootcert=/nonexistent/Ca-File-913";
  cases.push_back({"jdbc_url_params sslrootcert names a missing file", jdbc_missing_file, false,
                   "jdbc_url_params \"sslrootcert\" names a file that cannot be read (No such "
                   "file or directory). Give the path of a file the connector can read where it "
                   "runs, or paste the certificates into ssl_mode instead.",
                   "Ca-File-913"});

  json jdbc_bad_mode = no_ssl_mode;
  jdbc_bad_mode["jdbc_url_params"] = "sslmode=Strict-Mode-377";
  cases.push_back({"jdbc_url_params sslmode that is no mode", jdbc_bad_mode, false,
                   "jdbc_url_params \"sslmode\" must be one of disable, allow, prefer, require, "
                   "verify-ca, verify-full.",
                   "Strict-Mode-377"});

  json bad_jdbc = config_for(unique("check_jdbc"), user, password);
  bad_jdbc["jdbc_url_params"] = "connectTimeout=soon";
  cases.push_back({"unusable jdbc_url_params", bad_jdbc, false,
                   "jdbc_url_params \"connectTimeout\" must be a whole number of seconds.", ""});

  json bad_options = config_for(unique("check_options"), user, password);
  bad_options["jdbc_url_params"] = "options=-c%20statement_timeout%3DCheck-Opt-Secret-6620";
  cases.push_back({"a setting in jdbc_url_params the server refuses", bad_options, false,
                   "The server at " + endpoint() +
                       " refused a setting from jdbc_url_params: invalid value for parameter "
                       "\"statement_timeout\": \"****\". Check the names and values in "
                       "jdbc_url_params.",
                   "Check-Opt-Secret-6620"});

  if (auto client = client_certificates()) {
    auto mutual = [&](const std::string& certificate, const std::string& key,
                      const std::string& key_password) {
      json ssl_mode = verify("verify-full", ca);
      ssl_mode["client_certificate"] = certificate;
      ssl_mode["client_key"] = key;
      if (!key_password.empty())
        ssl_mode["client_key_password"] = key_password;
      json config = config_for(unique("check_mtls"), user, password, ssl_mode);
      config["host"] = "localhost";
      return config;
    };
    const std::string client_certificate_rejected =
        "The server rejected the client certificate. Use a certificate signed by a CA the server "
        "trusts, and its key (ssl_mode.client_certificate and ssl_mode.client_key, or the sslcert "
        "and sslkey files in jdbc_url_params).";
    cases.push_back(
        {"client certificate", mutual(client->certificate, client->key, ""), true, "", ""});
    cases.push_back({"encrypted client key with its password",
                     mutual(client->certificate, client->encrypted_key, client->key_password), true,
                     "", client->key_password});
    const std::string key_message =
        "The client key could not be used: it is encrypted and its password "
        "(ssl_mode.client_key_password, or sslpassword in jdbc_url_params) is missing or wrong, or "
        "it does not belong to the client certificate. Check the client key and its password.";
    cases.push_back({"encrypted client key with a wrong password",
                     mutual(client->certificate, client->encrypted_key, "Not-The-Pass-1357"), false,
                     key_message, "Not-The-Pass-1357"});
    cases.push_back({"encrypted client key without its password",
                     mutual(client->certificate, client->encrypted_key, ""), false, key_message,
                     ""});
    cases.push_back({"client certificate from a CA the server does not trust",
                     mutual(client->other_certificate, client->key, ""), false,
                     client_certificate_rejected, ""});
    auto jdbc_mutual = [&](const std::string& certificate_file, const std::string& key_file,
                           const std::string& key_password) {
      json config =
          config_for(unique("check_jdbc_mtls"), user, password, verify("verify-full", ca));
      config["host"] = "localhost";
      config["jdbc_url_params"] = "sslcert=" + certificate_file + "&sslkey=" + key_file +
                                  (key_password.empty() ? "" : "&sslpassword=" + key_password);
      return config;
    };
    cases.push_back({"client certificate files in jdbc_url_params",
                     jdbc_mutual(client->certificate_file, client->key_file, ""), true, "", ""});
    cases.push_back(
        {"encrypted client key file with sslpassword in jdbc_url_params",
         jdbc_mutual(client->certificate_file, client->encrypted_key_file, client->key_password),
         true, "", client->key_password});
    cases.push_back({"client certificate file from a CA the server does not trust",
                     jdbc_mutual(client->other_certificate_file, client->key_file, ""), false,
                     client_certificate_rejected, ""});
  } else {
    WARN("the test CA's key is not readable: mutual TLS cases skipped");
  }
  return cases;
}

} // namespace

TEST_CASE("check_connection explains each outcome", "[check]") {
  for (const auto& expected : expectations()) {
    INFO("case: " << expected.name);
    ScratchSchema schema(expected.config["schema"].get<std::string>());
    CheckResult result =
        pgdest::postgres::check_connection(pgdest::config::parse_config(expected.config));
    CHECK(result.succeeded == expected.succeeded);
    CHECK(result.message == expected.message);
    if (!expected.secret.empty())
      CHECK(result.message.find(expected.secret) == std::string::npos);
  }
}

TEST_CASE("check fails fast on a closed port", "[check]") {
  json config =
      config_for(unique("check_fast"), env("PGDEST_TEST_USER"), env("PGDEST_TEST_PASSWORD"));
  config["port"] = harness::closed_port();
  auto start = std::chrono::steady_clock::now();
  CheckResult result = pgdest::postgres::check_connection(pgdest::config::parse_config(config));
  auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK_FALSE(result.succeeded);
  CHECK(elapsed < std::chrono::seconds(15));
}

TEST_CASE("a successful check leaves the schema and no scratch table", "[check]") {
  ScratchSchema schema(unique("check_leftover"));
  json config = config_for(schema.name, env("PGDEST_TEST_USER"), env("PGDEST_TEST_PASSWORD"));
  REQUIRE(pgdest::postgres::check_connection(pgdest::config::parse_config(config)).succeeded);
  CHECK(harness::query_rows("SELECT count(*) FROM pg_namespace WHERE nspname = '" + schema.name +
                            "'") == std::vector<std::vector<std::string>>{{"1"}});
  CHECK(harness::query_rows("SELECT count(*) FROM pg_tables WHERE schemaname = '" + schema.name +
                            "'") == std::vector<std::vector<std::string>>{{"0"}});

  SECTION("and a second check on the existing schema succeeds too") {
    CHECK(pgdest::postgres::check_connection(pgdest::config::parse_config(config)).succeeded);
    CHECK(harness::query_rows("SELECT count(*) FROM pg_tables WHERE schemaname = '" + schema.name +
                              "'") == std::vector<std::vector<std::string>>{{"0"}});
  }
}

TEST_CASE("the check creates the schema under its normalised name", "[check]") {
  // The write path normalises the config's schema (SPEC §4); the check must prepare that one.
  ScratchSchema schema(unique("check_Mixed_Name"));
  json config =
      config_for(unique("check Mixed-Name"), env("PGDEST_TEST_USER"), env("PGDEST_TEST_PASSWORD"));
  REQUIRE(pgdest::postgres::check_connection(pgdest::config::parse_config(config)).succeeded);
  CHECK(harness::query_rows("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'check%Mixed%" +
                            std::to_string(getpid()) + "'") ==
        std::vector<std::vector<std::string>>{{schema.name}});
}

TEST_CASE("in raw tables mode the check prepares the raw tables' schema, where the sync writes",
          "[check][raw]") {
  ScratchSchema raw(unique("check_raw"));
  ScratchSchema typed(unique("check_typed"));
  json config = config_for(typed.name, env("PGDEST_TEST_USER"), env("PGDEST_TEST_PASSWORD"));
  config["disable_type_dedupe"] = true;
  config["raw_data_schema"] = unique("Check_Raw"); // lower-cased, as Airbyte names it
  REQUIRE(pgdest::postgres::check_connection(pgdest::config::parse_config(config)).succeeded);
  CHECK(harness::query_rows("SELECT nspname FROM pg_namespace WHERE nspname IN ('" + raw.name +
                            "', '" + typed.name + "')") ==
        std::vector<std::vector<std::string>>{{raw.name}});
}

TEST_CASE("a user granted what the message says passes the check", "[check]") {
  ScratchSchema schema(unique("check_granted"));
  {
    auto connection = harness::test_connection();
    pqxx::work work(connection);
    work.exec0("CREATE SCHEMA " + work.quote_name(schema.name));
    work.commit();
  }
  json config = config_for(schema.name, "limited", "limited");
  CheckResult denied = pgdest::postgres::check_connection(pgdest::config::parse_config(config));
  REQUIRE_FALSE(denied.succeeded);
  const std::string grant = "GRANT USAGE, CREATE ON SCHEMA \"" + schema.name + "\" TO \"limited\";";
  REQUIRE(denied.message.size() > grant.size());
  CHECK(denied.message.substr(denied.message.size() - grant.size()) == grant);
  {
    auto connection = harness::test_connection();
    pqxx::work work(connection);
    work.exec0(grant);
    work.commit();
  }
  CHECK(pgdest::postgres::check_connection(pgdest::config::parse_config(config)).succeeded);

  // Without CREATE on the database, the connector's own tables cannot get a schema of their own:
  // the check says they go to the user's schema, and why.
  const std::string internal = unique("check_internal");
  config["raw_data_schema"] = internal;
  std::string path = harness::write_temp_file("check-config.json", config.dump());
  harness::RunResult run = harness::run_connector({"check", "--config", path});
  REQUIRE(run.messages("CONNECTION_STATUS").size() == 1);
  CHECK(run.messages("CONNECTION_STATUS")[0]["connectionStatus"]["status"] == "SUCCEEDED");
  std::string said;
  for (const auto& log : run.messages("LOG"))
    if (log["log"]["message"].get<std::string>().find("own tables") != std::string::npos)
      said = log["log"]["message"];
  CHECK(said.find("go to schema \"" + schema.name + "\", not \"" + internal + "\"") !=
        std::string::npos);
  CHECK(said.find("GRANT CREATE ON DATABASE") != std::string::npos);
}

TEST_CASE("the check command prints one CONNECTION_STATUS per outcome", "[check][cli]") {
  for (const auto& expected : expectations()) {
    INFO("case: " << expected.name);
    ScratchSchema schema(expected.config["schema"].get<std::string>());
    std::string path = harness::write_temp_file("check-config.json", expected.config.dump());
    auto start = std::chrono::steady_clock::now();
    harness::RunResult run = harness::run_connector({"check", "--config", path});
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(15));
    CHECK(run.exit_code == 0);
    CHECK(harness::protocol_violations(run.stdout_lines).empty());
    auto statuses = run.messages("CONNECTION_STATUS");
    REQUIRE(statuses.size() == 1);
    const json& status = statuses[0]["connectionStatus"];
    CHECK(status["status"] == connection_status_text(expected.succeeded));
    CHECK(status.value("message", "") == expected.message);
    for (const std::string& secret :
         {expected.secret, expected.config["password"].get<std::string>()}) {
      // The sandbox's passwords equal their user names, which messages do show.
      if (secret.empty() || secret == expected.config["username"])
        continue;
      for (const auto& line : run.stdout_lines)
        CHECK(line.find(secret) == std::string::npos);
      CHECK(run.stderr_text.find(secret) == std::string::npos);
    }
  }
}
