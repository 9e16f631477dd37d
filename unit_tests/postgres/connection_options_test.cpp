// ConnectionOptions: conninfo quoting (checked by libpq's own parser), sslmode, in-memory files,
// jdbc_url_params mapping, and secrets kept out of everything printable.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <libpq-fe.h>

#include "pgdest/error.hpp"
#include "pgdest/postgres/connection_options.hpp"

using pgdest::config::DestinationConfig;
using pgdest::config::Secret;
using pgdest::config::SslMode;
using pgdest::postgres::ConnectionOptions;

namespace {

const std::string ca_pem = "-----BEGIN CERTIFICATE-----\nQ0EgY2VydA==\n-----END CERTIFICATE-----\n";
const std::string client_pem =
    "-----BEGIN CERTIFICATE-----\nY2xpZW50IGNlcnQ=\n-----END CERTIFICATE-----\n";
const std::string key_pem =
    "-----BEGIN PRIVATE KEY-----\na2V5IGRhdGE=\n-----END PRIVATE KEY-----\n";

DestinationConfig base_config() {
  DestinationConfig config;
  config.host = "db.example.com";
  config.port = 5433;
  config.database = "warehouse";
  config.username = "airbyte";
  config.password = Secret("pa55-Word");
  config.ssl.mode = SslMode::disable;
  return config;
}

// What libpq itself makes of a connection string.
std::map<std::string, std::string> parse_with_libpq(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    std::string message = error != nullptr ? error : "unknown error";
    PQfreemem(error);
    FAIL("libpq rejected the conninfo: " << message);
  }
  std::map<std::string, std::string> values;
  for (PQconninfoOption* option = options; option->keyword != nullptr; ++option)
    if (option->val != nullptr)
      values[option->keyword] = option->val;
  PQconninfoFree(options);
  return values;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

using Parameters = std::vector<std::pair<std::string, std::string>>;

} // namespace

TEST_CASE("conninfo values are single-quoted with backslash escapes", "[postgres][conninfo]") {
  using pgdest::postgres::quote_conninfo_value;
  CHECK(quote_conninfo_value("plain") == "'plain'");
  CHECK(quote_conninfo_value("") == "''");
  CHECK(quote_conninfo_value("it's a \\ test") == "'it\\'s a \\\\ test'");
}

TEST_CASE("the conninfo carries every setting, in libpq's syntax", "[postgres][conninfo]") {
  ConnectionOptions options(base_config());
  CHECK(options.redacted_parameters() == Parameters{{"host", "db.example.com"},
                                                    {"port", "5433"},
                                                    {"dbname", "warehouse"},
                                                    {"user", "airbyte"},
                                                    {"password", "****"},
                                                    {"sslmode", "disable"},
                                                    {"connect_timeout", "10"},
                                                    {"application_name", "destination-postgres"},
                                                    {"client_encoding", "UTF8"},
                                                    {"keepalives", "1"},
                                                    {"keepalives_idle", "60"},
                                                    {"keepalives_interval", "10"},
                                                    {"keepalives_count", "6"}});
  CHECK(options.redacted_conninfo() ==
        "host='db.example.com' port='5433' dbname='warehouse' user='airbyte' password=**** "
        "sslmode='disable' connect_timeout='10' application_name='destination-postgres' "
        "client_encoding='UTF8' keepalives='1' keepalives_idle='60' keepalives_interval='10' "
        "keepalives_count='6'");
  auto parsed = parse_with_libpq(options.conninfo_with_password());
  CHECK(parsed["password"] == "pa55-Word");
  CHECK(parsed["connect_timeout"] == "10");
  CHECK(options.endpoint() == "db.example.com:5433");
  CHECK(options.connect_timeout_seconds() == 10);
  CHECK(options.warnings().empty());
  CHECK(options.private_file_paths().empty());
}

TEST_CASE("awkward values survive libpq's parser unchanged", "[postgres][conninfo]") {
  DestinationConfig config = base_config();
  config.database = "my db's \"name\"";
  config.username = "user name\\x";
  config.password = Secret("p'a\\ss w=rd ");
  auto parsed = parse_with_libpq(ConnectionOptions(config).conninfo_with_password());
  CHECK(parsed["dbname"] == "my db's \"name\"");
  CHECK(parsed["user"] == "user name\\x");
  CHECK(parsed["password"] == "p'a\\ss w=rd ");
}

TEST_CASE("through a tunnel, libpq reaches the local port and keeps the host's name",
          "[postgres][conninfo][tunnel]") {
  DestinationConfig config = base_config();
  config.ssl.mode = SslMode::verify_full;
  config.ssl.ca_certificate = ca_pem;
  ConnectionOptions options(config);
  auto direct = parse_with_libpq(options.conninfo_with_password());
  auto via = parse_with_libpq(options.conninfo_with_password_via(40123));
  // The name stays for verify-full's check of the certificate; the address is the tunnel's end.
  CHECK(via["host"] == "db.example.com");
  CHECK(via["hostaddr"] == "127.0.0.1");
  CHECK(via["port"] == "40123");
  CHECK(direct.count("hostaddr") == 0);
  // Everything else is the same.
  for (auto& [key, value] : direct)
    if (key != "port")
      CHECK(via[key] == value);
  CHECK(options.endpoint() == "db.example.com:5433");
}

TEST_CASE("an empty password is left to libpq (e.g. .pgpass)", "[postgres][conninfo]") {
  DestinationConfig config = base_config();
  config.password = Secret();
  auto parsed = parse_with_libpq(ConnectionOptions(config).conninfo_with_password());
  CHECK(parsed.count("password") == 0);
}

TEST_CASE("IPv6 endpoints are bracketed in messages", "[postgres][conninfo]") {
  DestinationConfig config = base_config();
  config.host = "2001:db8::5";
  ConnectionOptions options(config);
  CHECK(options.endpoint() == "[2001:db8::5]:5433");
  CHECK(parse_with_libpq(options.conninfo_with_password())["host"] == "2001:db8::5");
}

TEST_CASE("every ssl mode maps to libpq's sslmode", "[postgres][ssl]") {
  for (auto [mode, name] : {std::pair{SslMode::disable, "disable"},
                            {SslMode::allow, "allow"},
                            {SslMode::prefer, "prefer"},
                            {SslMode::require, "require"},
                            {SslMode::verify_ca, "verify-ca"},
                            {SslMode::verify_full, "verify-full"}}) {
    DestinationConfig config = base_config();
    config.ssl.mode = mode;
    config.ssl.ca_certificate = ca_pem;
    auto parsed = parse_with_libpq(ConnectionOptions(config).conninfo_with_password());
    CHECK(parsed["sslmode"] == name);
    bool verifies = mode == SslMode::verify_ca || mode == SslMode::verify_full;
    CHECK(parsed.count("sslrootcert") == (verifies ? 1u : 0u));
    CHECK(parsed.count("sslcert") == 0);
  }
}

// Where /proc/self/fd/N points ("/memfd:NAME (deleted)" for an in-memory file), or "".
std::string link_target(const std::string& path) {
  std::error_code error;
  auto target = std::filesystem::read_symlink(path, error);
  return error ? std::string() : target.string();
}

TEST_CASE("certificates and keys live in 0600 in-memory files, never on disk, as long as the "
          "options",
          "[postgres][ssl]") {
  DestinationConfig config = base_config();
  config.ssl.mode = SslMode::verify_full;
  config.ssl.ca_certificate = ca_pem;
  config.ssl.client_certificate = client_pem;
  config.ssl.client_key = Secret(key_pem);
  config.ssl.client_key_password = Secret("key-Pa55phrase");
  std::vector<std::string> paths;
  {
    ConnectionOptions options(config);
    paths = options.private_file_paths();
    REQUIRE(paths.size() == 3);
    auto parsed = parse_with_libpq(options.conninfo_with_password());
    CHECK(parsed["sslrootcert"] == paths[0]);
    CHECK(parsed["sslcert"] == paths[1]);
    CHECK(parsed["sslkey"] == paths[2]);
    CHECK(parsed["sslpassword"] == "key-Pa55phrase");
    CHECK(link_target(paths[0]).rfind("/memfd:pgdest-ca-certificate", 0) == 0);
    CHECK(link_target(paths[1]).rfind("/memfd:pgdest-client-certificate", 0) == 0);
    CHECK(link_target(paths[2]).rfind("/memfd:pgdest-client-key", 0) == 0);
    CHECK(read_file(paths[0]) == ca_pem);
    CHECK(read_file(paths[1]) == client_pem);
    CHECK(read_file(paths[2]) == key_pem);
    CHECK(read_file(paths[2]) == key_pem); // each open reads from the start (libpq reconnects)
    for (const auto& path : paths) {
      CHECK(path.rfind("/proc/self/fd/", 0) == 0);
      struct stat info {};
      REQUIRE(stat(path.c_str(), &info) == 0);
      CHECK(S_ISREG(info.st_mode)); // libpq refuses a key that is not a regular file
      CHECK((info.st_mode & 0777) == 0600);
      CHECK(info.st_uid == geteuid());
    }
    CHECK(options.redacted_conninfo().find("key-Pa55phrase") == std::string::npos);
    CHECK(options.redacted_conninfo().find("sslpassword=****") != std::string::npos);

    SECTION("moving the options keeps the files") {
      ConnectionOptions moved(std::move(options));
      for (const auto& path : paths)
        CHECK(link_target(path).rfind("/memfd:pgdest-", 0) == 0);
      CHECK(moved.private_file_paths() == paths);
    }
  }
  for (const auto& path : paths)
    CHECK(link_target(path).rfind("/memfd:pgdest-", 0) != 0);
}

TEST_CASE("verify-ca writes only the CA, no client key password without a key", "[postgres][ssl]") {
  DestinationConfig config = base_config();
  config.ssl.mode = SslMode::verify_ca;
  config.ssl.ca_certificate = ca_pem;
  config.ssl.client_key_password = Secret("unused-Pa55");
  ConnectionOptions options(config);
  CHECK(options.private_file_paths().size() == 1);
  auto parsed = parse_with_libpq(options.conninfo_with_password());
  CHECK(parsed.count("sslpassword") == 0);
  CHECK(parsed.count("sslkey") == 0);
}

TEST_CASE("jdbc_url_params with a libpq equivalent are mapped", "[postgres][jdbc]") {
  DestinationConfig config = base_config();
  config.jdbc_url_params = {{"connectTimeout", "5"},
                            {"ApplicationName", "my app"},
                            {"options", "-c statement_timeout=0"},
                            {"currentSchema", "my schema,public"},
                            {"targetServerType", "primary"},
                            {"gssEncMode", "disable"},
                            {"channelBinding", "require"}};
  ConnectionOptions options(config);
  auto parsed = parse_with_libpq(options.conninfo_with_password());
  CHECK(parsed["connect_timeout"] == "5");
  CHECK(options.connect_timeout_seconds() == 5);
  CHECK(parsed["application_name"] == "my app");
  CHECK(parsed["options"] == "-c statement_timeout=0 -c search_path=my\\ schema,public");
  CHECK(parsed["target_session_attrs"] == "primary");
  CHECK(parsed["gssencmode"] == "disable");
  CHECK(parsed["channel_binding"] == "require");
  CHECK(options.warnings().empty());

  SECTION("loginTimeout also sets connect_timeout; tcpKeepAlive=false turns keepalives off") {
    config.jdbc_url_params = {{"loginTimeout", "30"}, {"tcpKeepAlive", "FALSE"}};
    ConnectionOptions other(config);
    auto values = parse_with_libpq(other.conninfo_with_password());
    CHECK(values["connect_timeout"] == "30");
    CHECK(values["keepalives"] == "0");
    CHECK(values.count("keepalives_idle") == 0);
  }
}

TEST_CASE("other jdbc_url_params are ignored with a warning naming the key", "[postgres][jdbc]") {
  DestinationConfig config = base_config();
  config.jdbc_url_params = {{"prepareThreshold", "0"},
                            {"sslhostnameverifier", "com.example.Lenient"},
                            {"SSLMODE", "disable"},
                            {"password", "jdbc-Secret-77"},
                            {"socketTimeout", "60"}};
  ConnectionOptions options(config);
  CHECK(options.warnings() ==
        std::vector<std::string>{
            "jdbc_url_params \"prepareThreshold\" has no libpq equivalent and is ignored.",
            "jdbc_url_params \"sslhostnameverifier\" has no libpq equivalent and is ignored.",
            "jdbc_url_params \"SSLMODE\" has no libpq equivalent and is ignored.",
            "jdbc_url_params \"password\" is ignored: use the username and password fields.",
            "jdbc_url_params \"socketTimeout\" has no libpq equivalent and is ignored."});
  auto parsed = parse_with_libpq(options.conninfo_with_password());
  CHECK(parsed["sslmode"] == "disable");
  CHECK(parsed["password"] == "pa55-Word");
  CHECK(options.conninfo_with_password().find("jdbc-Secret-77") == std::string::npos);
}

TEST_CASE("jdbc_url_params values libpq cannot use are config errors", "[postgres][jdbc]") {
  auto error_for = [](const std::string& key, const std::string& value) -> std::string {
    DestinationConfig config = base_config();
    config.jdbc_url_params = {{key, value}};
    try {
      ConnectionOptions options(config);
    } catch (const pgdest::ConfigError& error) {
      return error.what();
    }
    return "(no error)";
  };
  CHECK(error_for("connectTimeout", "5s") ==
        "jdbc_url_params \"connectTimeout\" must be a whole number of seconds.");
  CHECK(error_for("loginTimeout", "") ==
        "jdbc_url_params \"loginTimeout\" must be a whole number of seconds.");
  CHECK(error_for("tcpKeepAlive", "yes") ==
        "jdbc_url_params \"tcpKeepAlive\" must be one of true, false.");
  CHECK(error_for("targetServerType", "preferPrimary") ==
        "jdbc_url_params \"targetServerType\" must be one of any, primary, master, secondary, "
        "standby, preferSecondary, preferStandby.");
}

TEST_CASE("TLS material never appears in TMPDIR, also when the options fail half-way",
          "[postgres][ssl]") {
  // It used to be written there, and was left behind when the process was killed.
  std::string folder =
      (std::filesystem::temp_directory_path() / "pgdest-options-test-XXXXXX").string();
  REQUIRE(mkdtemp(folder.data()) != nullptr);
  const char* previous = std::getenv("TMPDIR");
  std::string saved = previous != nullptr ? previous : "";
  setenv("TMPDIR", folder.c_str(), 1);

  DestinationConfig config = base_config();
  config.ssl.mode = SslMode::verify_full;
  config.ssl.ca_certificate = ca_pem;
  config.ssl.client_certificate = client_pem;
  config.ssl.client_key = Secret(key_pem);
  {
    ConnectionOptions options(config);
    CHECK(options.private_file_paths().size() == 3);
    CHECK(std::filesystem::is_empty(folder));
  }
  config.jdbc_url_params = {{"connectTimeout", "soon"}};
  CHECK_THROWS_AS(ConnectionOptions(config), pgdest::ConfigError);
  CHECK(std::filesystem::is_empty(folder));

  if (previous != nullptr)
    setenv("TMPDIR", saved.c_str(), 1);
  else
    unsetenv("TMPDIR");
  std::filesystem::remove_all(folder);
}

TEST_CASE("jdbc_url_params values never appear in the redacted conninfo",
          "[postgres][jdbc][secrets]") {
  DestinationConfig config = base_config();
  config.jdbc_url_params = {{"ApplicationName", "app-Secret-31"},
                            {"options", "-c statement_timeout=Opt-Secret-42"},
                            {"currentSchema", "Schema-Secret-53"}};
  ConnectionOptions options(config);
  for (std::string value : {"app-Secret-31", "Opt-Secret-42", "Schema-Secret-53"}) {
    CAPTURE(value);
    CHECK(options.redacted_conninfo().find(value) == std::string::npos);
    for (const auto& [key, shown] : options.redacted_parameters())
      CHECK(shown.find(value) == std::string::npos);
  }
  CHECK(options.redacted_conninfo().find("application_name=**** ") != std::string::npos);
  CHECK(options.redacted_conninfo().find("options=****") != std::string::npos);
}

TEST_CASE("libpq's and the server's messages lose the values of secret settings",
          "[postgres][jdbc][secrets]") {
  using pgdest::postgres::redact_setting_values;
  DestinationConfig config = base_config();
  config.password = Secret("Pass-Secret-64");
  config.jdbc_url_params = {{"ApplicationName", "app-Secret-31"},
                            {"options", "-c statement_timeout=bad -cwork_mem=Mem-Secret-75"}};
  const std::string conninfo = ConnectionOptions(config).conninfo_with_password();
  CHECK(redact_setting_values("connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  "
                              "invalid value for parameter \"statement_timeout\": \"bad\"",
                              conninfo) ==
        "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  invalid value for "
        "parameter \"statement_timeout\": \"****\"");
  CHECK(redact_setting_values("invalid command-line argument for server process: "
                              "statement_timeout=bad",
                              conninfo) ==
        "invalid command-line argument for server process: ****");
  CHECK(redact_setting_values("invalid value for parameter \"work_mem\": \"Mem-Secret-75\"; "
                              "app app-Secret-31, password Pass-Secret-64",
                              conninfo) ==
        "invalid value for parameter \"work_mem\": \"****\"; app ****, password ****");
  // A value that is part of a longer word is left alone: "bad" is not redacted in "badly".
  CHECK(redact_setting_values("badly formed", conninfo) == "badly formed");
}

namespace {

// A file under a fresh temp folder, with `content` and `mode`; its path.
std::string temp_file(const std::string& name, const std::string& content, mode_t mode = 0600) {
  static const std::string folder = [] {
    std::string path = (std::filesystem::temp_directory_path() / "pgdest-jdbc-tls-XXXXXX").string();
    REQUIRE(mkdtemp(path.data()) != nullptr);
    return path;
  }();
  std::string path = folder + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  chmod(path.c_str(), mode);
  return path;
}

std::string options_error(const DestinationConfig& config) {
  try {
    ConnectionOptions options(config);
  } catch (const pgdest::ConfigError& error) {
    return error.what();
  }
  return "(no error)";
}

} // namespace

TEST_CASE("jdbc_url_params sslmode never gives a weaker connection than ssl_mode, nor the reverse",
          "[postgres][ssl][jdbc]") {
  DestinationConfig config = base_config(); // ssl_mode disable
  config.jdbc_url_params = {{"sslmode", "require"}};
  ConnectionOptions raised(config);
  CHECK(parse_with_libpq(raised.conninfo_with_password())["sslmode"] == "require");
  CHECK(raised.warnings() ==
        std::vector<std::string>{
            "ssl_mode \"disable\" and jdbc_url_params \"sslmode\" (\"require\") ask for different "
            "TLS modes; the stricter one, \"require\", is used. Make them agree to silence this "
            "warning."});
  CHECK(raised.tls_summary() ==
        "TLS: sslmode \"require\", from jdbc_url_params \"sslmode\" (\"require\"): the stricter "
        "of it and ssl_mode \"disable\".");

  config.ssl.mode = SslMode::verify_full;
  config.ssl.ca_certificate = ca_pem;
  config.jdbc_url_params = {{"sslmode", "disable"}};
  auto kept = parse_with_libpq(ConnectionOptions(config).conninfo_with_password());
  CHECK(kept["sslmode"] == "verify-full");
  CHECK(kept.count("sslrootcert") == 1);
}

TEST_CASE("without ssl_mode the connection prefers TLS, unless jdbc_url_params ask otherwise",
          "[postgres][ssl][jdbc]") {
  DestinationConfig config = base_config();
  config.ssl.mode.reset();
  ConnectionOptions by_default(config);
  CHECK(parse_with_libpq(by_default.conninfo_with_password())["sslmode"] == "prefer");
  CHECK(by_default.warnings().empty());
  CHECK(by_default.tls_summary().rfind("TLS: sslmode \"prefer\", as Airbyte's connector", 0) == 0);

  // An explicit request counts, also a weaker one: the default is no request.
  config.jdbc_url_params = {{"sslmode", "disable"}};
  CHECK(parse_with_libpq(ConnectionOptions(config).conninfo_with_password())["sslmode"] ==
        "disable");
}

TEST_CASE("jdbc_url_params certificate files are passed to libpq, the key password redacted",
          "[postgres][ssl][jdbc][secrets]") {
  const std::string root = temp_file("root.crt", ca_pem);
  const std::string certificate = temp_file("client.crt", client_pem);
  const std::string key = temp_file("client.key", key_pem);
  DestinationConfig config = base_config();
  config.ssl.mode.reset();
  config.jdbc_url_params = {{"sslmode", "verify-ca"},
                            {"sslrootcert", root},
                            {"sslcert", certificate},
                            {"sslkey", key},
                            {"sslpassword", "Key-Pass-Secret-86"}};
  ConnectionOptions options(config);
  auto parsed = parse_with_libpq(options.conninfo_with_password());
  CHECK(parsed["sslmode"] == "verify-ca");
  CHECK(parsed["sslrootcert"] == root);
  CHECK(parsed["sslcert"] == certificate);
  CHECK(parsed["sslkey"] == key);
  CHECK(parsed["sslpassword"] == "Key-Pass-Secret-86");
  CHECK(options.private_file_paths().empty());
  CHECK(options.warnings().empty());
  CHECK(options.redacted_conninfo().find("Key-Pass-Secret-86") == std::string::npos);
  CHECK(options.redacted_conninfo().find("sslpassword=****") != std::string::npos);
  for (const auto& [name, shown] : options.redacted_parameters())
    CHECK(shown.find("Key-Pass-Secret-86") == std::string::npos);
}

TEST_CASE("ssl_mode's certificates win over jdbc_url_params files, with a warning",
          "[postgres][ssl][jdbc]") {
  DestinationConfig config = base_config();
  config.ssl.mode = SslMode::verify_full;
  config.ssl.ca_certificate = ca_pem;
  config.ssl.client_certificate = client_pem;
  config.ssl.client_key = Secret(key_pem);
  config.jdbc_url_params = {{"sslrootcert", temp_file("other-root.crt", ca_pem)},
                            {"sslcert", temp_file("other-client.crt", client_pem)},
                            {"sslkey", temp_file("other-client.key", key_pem)},
                            {"sslpassword", "Unused-Pass-97"}};
  ConnectionOptions options(config);
  auto parsed = parse_with_libpq(options.conninfo_with_password());
  auto paths = options.private_file_paths();
  REQUIRE(paths.size() == 3);
  CHECK(parsed["sslrootcert"] == paths[0]);
  CHECK(parsed["sslcert"] == paths[1]);
  CHECK(parsed["sslkey"] == paths[2]);
  CHECK(parsed.count("sslpassword") == 0);
  CHECK(options.warnings() ==
        std::vector<std::string>{
            "jdbc_url_params \"sslrootcert\" is ignored: ssl_mode.ca_certificate is used.",
            "jdbc_url_params \"sslcert\", \"sslkey\" and \"sslpassword\" are ignored: ssl_mode's "
            "client certificate and key are used."});

  SECTION("but a client certificate file joins ssl_mode's CA when ssl_mode has none") {
    config.ssl.client_certificate.clear();
    config.ssl.client_key = Secret();
    auto joined = parse_with_libpq(ConnectionOptions(config).conninfo_with_password());
    CHECK(joined["sslcert"] == config.jdbc_url_params[1].second);
    CHECK(joined["sslkey"] == config.jdbc_url_params[2].second);
    CHECK(joined["sslpassword"] == "Unused-Pass-97");
  }
}

TEST_CASE("a jdbc_url_params certificate file that cannot be read is a config error naming the "
          "key, not the path",
          "[postgres][ssl][jdbc]") {
  DestinationConfig config = base_config();
  config.jdbc_url_params = {{"sslrootcert", "/nonexistent/Path-Secret-08/root.crt"}};
  CHECK(options_error(config) ==
        "jdbc_url_params \"sslrootcert\" names a file that cannot be read (No such file or "
        "directory). Give the path of a file the connector can read where it runs, or paste the "
        "certificates into ssl_mode instead.");
  config.jdbc_url_params = {{"sslkey", std::filesystem::temp_directory_path().string()}};
  CHECK(options_error(config) ==
        "jdbc_url_params \"sslkey\" must name a file, not a directory or device.");
  config.jdbc_url_params = {{"sslmode", "verify"}};
  CHECK(options_error(config) == "jdbc_url_params \"sslmode\" must be one of disable, allow, "
                                 "prefer, require, verify-ca, verify-full.");
  // An empty value is no value: libpq's default applies, as pgJDBC's does.
  config.jdbc_url_params = {{"sslcert", ""}};
  CHECK(options_error(config) == "(no error)");
}
