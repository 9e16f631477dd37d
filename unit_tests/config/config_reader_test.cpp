// parse_config / load_config_file: defaults, ssl modes, legacy fields, warnings, exact errors.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "pgdest/config/config_reader.hpp"
#include "pgdest/error.hpp"

using nlohmann::json;
using pgdest::ConfigError;
using pgdest::config::CdcDeletionMode;
using pgdest::config::DestinationConfig;
using pgdest::config::parse_config;
using pgdest::config::SslMode;
using pgdest::config::TunnelMethod;

namespace {

const std::string ca_pem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2E=\n"
                           "-----END CERTIFICATE-----\n";
const std::string client_pem = "-----BEGIN CERTIFICATE-----\nMIIBc2xpZW50Y2VydA==\n"
                               "-----END CERTIFICATE-----\n";
const std::string key_pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
                            "-----END PRIVATE KEY-----\n";

// Key texts of the right form (not real keys: parse_config checks the form only).
const std::string ed25519_pem =
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5v\n"
    "-----END OPENSSH PRIVATE KEY-----\n";
const std::string rsa_pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAq1x9\n"
                            "-----END RSA PRIVATE KEY-----\n";

json key_tunnel() {
  return {{"tunnel_method", "SSH_KEY_AUTH"},
          {"tunnel_host", "bastion.example.com"},
          {"tunnel_user", "jump"},
          {"ssh_key", ed25519_pem}};
}

json password_tunnel() {
  return {{"tunnel_method", "SSH_PASSWORD_AUTH"},
          {"tunnel_host", "10.0.0.9"},
          {"tunnel_port", 2022},
          {"tunnel_user", "jump"},
          {"tunnel_user_password", "Tunnel-Pw-0451"}};
}

json minimal() {
  return {{"host", "db.example.com"},
          {"database", "warehouse"},
          {"username", "airbyte"},
          {"password", "s3cr3t-Pa55"}};
}

json with(json base, const std::string& field, json value) {
  base[field] = std::move(value);
  return base;
}

json without(json base, const std::string& field) {
  base.erase(field);
  return base;
}

std::string error_of(const json& document) {
  try {
    parse_config(document);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(no error)";
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("pgdest-config-test-" + name)).string();
}

} // namespace

TEST_CASE("a minimal config gets Airbyte's defaults", "[config]") {
  DestinationConfig config = parse_config(minimal());
  CHECK(config.host == "db.example.com");
  CHECK(config.port == 5432);
  CHECK(config.database == "warehouse");
  CHECK(config.schema == "public");
  CHECK(config.username == "airbyte");
  CHECK(config.password.reveal() == "s3cr3t-Pa55");
  // No ssl_mode: no mode of its own (the connection then uses prefer, as Airbyte's connector).
  CHECK_FALSE(config.ssl.mode.has_value());
  CHECK(config.jdbc_url_params.empty());
  CHECK(config.cdc_deletion_mode == CdcDeletionMode::hard_delete);
  CHECK_FALSE(config.drop_cascade);
  CHECK(config.keep_rejected_values);
  CHECK_FALSE(config.history_mode);
  CHECK(config.warnings.empty());
}

TEST_CASE("every field of the spec is read", "[config]") {
  json document = minimal();
  document["port"] = 6543;
  document["schema"] = "Analytics Raw";
  document["ssl_mode"] = {{"mode", "disable"}};
  document["jdbc_url_params"] = "connectTimeout=5&ApplicationName=my%20app";
  document["cdc_deletion_mode"] = "Soft delete";
  document["drop_cascade"] = true;
  document["tunnel_method"] = {{"tunnel_method", "NO_TUNNEL"}};
  document["keep_rejected_values"] = false;
  document["history_mode"] = true;
  DestinationConfig config = parse_config(document);
  CHECK(config.port == 6543);
  CHECK(config.schema == "Analytics Raw");
  CHECK(config.ssl.mode == SslMode::disable);
  CHECK(config.jdbc_url_params == std::vector<std::pair<std::string, std::string>>{
                                      {"connectTimeout", "5"}, {"ApplicationName", "my app"}});
  CHECK(config.cdc_deletion_mode == CdcDeletionMode::soft_delete);
  CHECK(config.drop_cascade);
  CHECK_FALSE(config.keep_rejected_values);
  CHECK(config.history_mode);
  CHECK(config.warnings.empty());
}

TEST_CASE("null optional fields count as absent", "[config]") {
  json document = minimal();
  document["port"] = nullptr;
  document["schema"] = nullptr;
  document["password"] = nullptr;
  document["jdbc_url_params"] = nullptr;
  document["tunnel_method"] = nullptr;
  document["keep_rejected_values"] = nullptr;
  DestinationConfig config = parse_config(document);
  CHECK(config.port == 5432);
  CHECK(config.schema == "public");
  CHECK(config.password.empty());
  CHECK(config.keep_rejected_values);
  CHECK(config.warnings.empty());
}

TEST_CASE("each ssl mode is read with its certificates", "[config][ssl]") {
  for (auto [name, mode] : {std::pair{"disable", SslMode::disable},
                            {"allow", SslMode::allow},
                            {"prefer", SslMode::prefer},
                            {"require", SslMode::require}}) {
    DestinationConfig config = parse_config(with(minimal(), "ssl_mode", {{"mode", name}}));
    CHECK(config.ssl.mode == mode);
    CHECK(config.ssl.ca_certificate.empty());
  }

  DestinationConfig verify_ca = parse_config(with(
      minimal(), "ssl_mode",
      {{"mode", "verify-ca"}, {"ca_certificate", ca_pem}, {"client_key_password", "kp-123456"}}));
  CHECK(verify_ca.ssl.mode == SslMode::verify_ca);
  CHECK(verify_ca.ssl.ca_certificate == ca_pem);
  CHECK(verify_ca.ssl.client_key_password.reveal() == "kp-123456");
  CHECK(verify_ca.warnings.empty());

  DestinationConfig verify_full = parse_config(with(minimal(), "ssl_mode",
                                                    {{"mode", "verify-full"},
                                                     {"ca_certificate", ca_pem},
                                                     {"client_certificate", client_pem},
                                                     {"client_key", key_pem},
                                                     {"client_key_password", "kp-123456"}}));
  CHECK(verify_full.ssl.mode == SslMode::verify_full);
  CHECK(verify_full.ssl.ca_certificate == ca_pem);
  CHECK(verify_full.ssl.client_certificate == client_pem);
  CHECK(verify_full.ssl.client_key.reveal() == key_pem);
  CHECK(verify_full.ssl.client_key_password.reveal() == "kp-123456");

  SECTION("verify-full without a client certificate verifies the server only") {
    DestinationConfig server_only = parse_config(
        with(minimal(), "ssl_mode", {{"mode", "verify-full"}, {"ca_certificate", ca_pem}}));
    CHECK(server_only.ssl.mode == SslMode::verify_full);
    CHECK(server_only.ssl.client_certificate.empty());
    CHECK(server_only.ssl.client_key.empty());
  }
  SECTION("empty client fields, as the UI leaves them, count as absent") {
    DestinationConfig blank = parse_config(with(minimal(), "ssl_mode",
                                                {{"mode", "verify-full"},
                                                 {"ca_certificate", ca_pem},
                                                 {"client_certificate", ""},
                                                 {"client_key", ""}}));
    CHECK(blank.ssl.client_certificate.empty());
  }
  SECTION("traditional and encrypted key forms are accepted") {
    for (const std::string& key : std::vector<std::string>{
             "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,"
             "0A1B\n\nabc+/=\n-----END RSA PRIVATE KEY-----",
             "-----BEGIN EC PRIVATE KEY-----\nabc\n-----END EC PRIVATE KEY-----\n",
             "-----BEGIN ENCRYPTED PRIVATE KEY-----\r\nabc\r\n-----END ENCRYPTED PRIVATE "
             "KEY-----"}) {
      CHECK_NOTHROW(parse_config(with(minimal(), "ssl_mode",
                                      {{"mode", "verify-full"},
                                       {"ca_certificate", ca_pem},
                                       {"client_certificate", client_pem},
                                       {"client_key", key}})));
    }
  }
  SECTION("a certificate chain is accepted") {
    CHECK_NOTHROW(parse_config(
        with(minimal(), "ssl_mode", {{"mode", "verify-ca"}, {"ca_certificate", ca_pem + ca_pem}})));
  }
}

TEST_CASE("fields another ssl mode uses are ignored with a warning", "[config][ssl]") {
  DestinationConfig config =
      parse_config(with(minimal(), "ssl_mode", {{"mode", "require"}, {"ca_certificate", ca_pem}}));
  CHECK(config.ssl.mode == SslMode::require);
  CHECK(config.ssl.ca_certificate.empty());
  CHECK(config.warnings ==
        std::vector<std::string>{
            "Ignoring field \"ssl_mode.ca_certificate\": ssl_mode \"require\" does not use it."});
}

TEST_CASE("the legacy ssl flag sets no mode, and never switches ssl_mode off", "[config][legacy]") {
  // Airbyte's 3.x connector sends no TLS setting without ssl_mode, whatever `ssl` says.
  for (bool flag : {true, false}) {
    DestinationConfig config = parse_config(with(minimal(), "ssl", flag));
    CHECK_FALSE(config.ssl.mode.has_value());
    CHECK(config.warnings.empty());
  }

  DestinationConfig explicit_mode =
      parse_config(with(with(minimal(), "ssl", false), "ssl_mode",
                        {{"mode", "verify-ca"}, {"ca_certificate", ca_pem}}));
  CHECK(explicit_mode.ssl.mode == SslMode::verify_ca);
  CHECK(explicit_mode.warnings ==
        std::vector<std::string>{
            "Field \"ssl\" is false, but ssl_mode \"verify-ca\" is set: ssl_mode wins."});

  DestinationConfig disabled =
      parse_config(with(with(minimal(), "ssl", false), "ssl_mode", {{"mode", "disable"}}));
  CHECK(disabled.ssl.mode == SslMode::disable);
  CHECK(disabled.warnings.empty());
}

TEST_CASE("legacy fields of old configs are accepted", "[config][legacy]") {
  json document = minimal();
  document["raw_data_schema"] = "airbyte_internal";
  document["disable_type_dedupe"] = false;
  document["unconstrained_number"] = true;
  document["ssl"] = true;
  CHECK(parse_config(document).warnings.empty());

  CHECK(error_of(with(minimal(), "unconstrained_number", "yes")) ==
        "Field \"unconstrained_number\" must be true or false; got \"yes\".");
}

TEST_CASE("max_connections bounds a sync's connections, 4 when absent", "[config][lanes]") {
  CHECK(parse_config(minimal()).max_connections == 4);
  CHECK(parse_config(with(minimal(), "max_connections", nullptr)).max_connections == 4);
  CHECK(parse_config(with(minimal(), "max_connections", 1)).max_connections == 1);
  CHECK(parse_config(with(minimal(), "max_connections", 32)).max_connections == 32);
  CHECK(parse_config(with(minimal(), "max_connections", 8)).warnings.empty());
  const std::string message = "Field \"max_connections\" must be a whole number between 1 and 32 "
                              "(the most connections a sync may open; default 4); got ";
  CHECK(error_of(with(minimal(), "max_connections", 0)) == message + "0.");
  CHECK(error_of(with(minimal(), "max_connections", 33)) == message + "33.");
  CHECK(error_of(with(minimal(), "max_connections", -1)) == message + "-1.");
  CHECK(error_of(with(minimal(), "max_connections", 2.5)) == message + "2.5.");
  CHECK(error_of(with(minimal(), "max_connections", "4")) == message + "\"4\".");
}

TEST_CASE("disable_type_dedupe turns raw tables mode on, in raw_data_schema", "[config][raw]") {
  DestinationConfig typed = parse_config(minimal());
  CHECK_FALSE(typed.raw_tables_only);
  CHECK(typed.raw_data_schema == "airbyte_internal");

  DestinationConfig raw = parse_config(with(minimal(), "disable_type_dedupe", true));
  CHECK(raw.raw_tables_only);
  CHECK(raw.raw_data_schema == "airbyte_internal");
  CHECK(raw.warnings.empty());

  // Any name is taken as given (it is normalised later); a blank one means the default.
  CHECK(parse_config(with(minimal(), "raw_data_schema", "My Raw Data")).raw_data_schema ==
        "My Raw Data");
  CHECK(parse_config(with(minimal(), "raw_data_schema", " \t")).raw_data_schema ==
        "airbyte_internal");
  CHECK(parse_config(with(minimal(), "raw_data_schema", nullptr)).raw_data_schema ==
        "airbyte_internal");

  CHECK(error_of(with(minimal(), "raw_data_schema", 5)) ==
        "Field \"raw_data_schema\" must be a string.");
  CHECK(error_of(with(minimal(), "disable_type_dedupe", "yes")) ==
        "Field \"disable_type_dedupe\" must be true or false; got \"yes\".");
}

TEST_CASE("unknown fields become warnings naming the field only", "[config]") {
  json document = minimal();
  document["basic_normalization"] = true;
  document["api_token"] = "do-not-print-me";
  DestinationConfig config = parse_config(document);
  CHECK(config.warnings ==
        std::vector<std::string>{"Ignoring unknown configuration field \"api_token\".",
                                 "Ignoring unknown configuration field \"basic_normalization\"."});
}

TEST_CASE("NO_TUNNEL, or no tunnel_method, connects directly", "[config][tunnel]") {
  CHECK(parse_config(minimal()).tunnel.method == TunnelMethod::none);
  DestinationConfig config =
      parse_config(with(minimal(), "tunnel_method", {{"tunnel_method", "NO_TUNNEL"}}));
  CHECK(config.tunnel.method == TunnelMethod::none);
  CHECK(config.warnings.empty());
  // The form may keep the fields of the method chosen before.
  config = parse_config(with(minimal(), "tunnel_method",
                             {{"tunnel_method", "NO_TUNNEL"}, {"tunnel_host", "bastion"}}));
  CHECK(config.tunnel.method == TunnelMethod::none);
  CHECK(config.warnings ==
        std::vector<std::string>{"Ignoring field \"tunnel_method.tunnel_host\": "
                                 "tunnel_method \"NO_TUNNEL\" does not use it."});
}

TEST_CASE("SSH_KEY_AUTH is read with its key", "[config][tunnel]") {
  DestinationConfig config = parse_config(with(minimal(), "tunnel_method", key_tunnel()));
  CHECK(config.tunnel.method == TunnelMethod::ssh_key);
  CHECK(config.tunnel.host == "bastion.example.com");
  CHECK(config.tunnel.port == 22);
  CHECK(config.tunnel.user == "jump");
  CHECK(config.tunnel.ssh_key.reveal() == ed25519_pem);
  CHECK(config.tunnel.password.empty());
  CHECK(config.warnings.empty());

  json document = key_tunnel();
  document["tunnel_port"] = "2222"; // a string of digits, as for port
  document["tunnel_host"] = "[2001:db8::7]";
  document["ssh_key"] = rsa_pem;
  document["tunnel_user_password"] = "Pw-left-over-1";
  config = parse_config(with(minimal(), "tunnel_method", document));
  CHECK(config.tunnel.port == 2222);
  CHECK(config.tunnel.host == "2001:db8::7");
  CHECK(config.tunnel.ssh_key.reveal() == rsa_pem);
  CHECK(config.tunnel.password.empty());
  CHECK(config.warnings ==
        std::vector<std::string>{"Ignoring field \"tunnel_method.tunnel_user_password\": "
                                 "tunnel_method \"SSH_KEY_AUTH\" does not use it."});
}

TEST_CASE("SSH_PASSWORD_AUTH is read with its password", "[config][tunnel]") {
  DestinationConfig config = parse_config(with(minimal(), "tunnel_method", password_tunnel()));
  CHECK(config.tunnel.method == TunnelMethod::ssh_password);
  CHECK(config.tunnel.host == "10.0.0.9");
  CHECK(config.tunnel.port == 2022);
  CHECK(config.tunnel.user == "jump");
  CHECK(config.tunnel.password.reveal() == "Tunnel-Pw-0451");
  CHECK(config.tunnel.ssh_key.empty());
  CHECK(config.warnings.empty());
}

TEST_CASE("tunnel_method errors name the field and what to set", "[config][tunnel]") {
  CHECK(error_of(with(minimal(), "tunnel_method", "SSH_KEY_AUTH")) ==
        "Field \"tunnel_method\" must be an object such as {\"tunnel_method\": \"NO_TUNNEL\"}.");
  CHECK(error_of(with(minimal(), "tunnel_method", json::object())) ==
        "Missing required field \"tunnel_method.tunnel_method\": set it to one of NO_TUNNEL, "
        "SSH_KEY_AUTH or SSH_PASSWORD_AUTH.");
  CHECK(error_of(with(minimal(), "tunnel_method", {{"tunnel_method", 1}})) ==
        "Field \"tunnel_method.tunnel_method\" must be a string: one of NO_TUNNEL, SSH_KEY_AUTH or "
        "SSH_PASSWORD_AUTH.");
  CHECK(error_of(with(minimal(), "tunnel_method", {{"tunnel_method", "SSH"}})) ==
        "Field \"tunnel_method.tunnel_method\" must be one of NO_TUNNEL, SSH_KEY_AUTH or "
        "SSH_PASSWORD_AUTH; got \"SSH\".");

  auto key_error = [](const char* field, json value) {
    json tunnel = key_tunnel();
    if (value.is_null())
      tunnel.erase(field);
    else
      tunnel[field] = std::move(value);
    return error_of(with(minimal(), "tunnel_method", tunnel));
  };
  CHECK(key_error("tunnel_host", nullptr) ==
        "Missing required field \"tunnel_method.tunnel_host\": set it to the host name or IP "
        "address of the SSH bastion.");
  CHECK(key_error("tunnel_host", "ssh://bastion:22") ==
        "Field \"tunnel_method.tunnel_host\" must be a host name or IP address, without scheme, "
        "port or spaces (e.g. \"bastion.example.com\"); got \"ssh://bastion:22\".");
  CHECK(key_error("tunnel_port", 0) == "Field \"tunnel_method.tunnel_port\" must be a whole number "
                                       "between 1 and 65535 (SSH's default is 22); got 0.");
  CHECK(key_error("tunnel_port", "ssh") ==
        "Field \"tunnel_method.tunnel_port\" must be a whole number between 1 and 65535 (SSH's "
        "default is 22); got \"ssh\".");
  CHECK(key_error("tunnel_user", nullptr) ==
        "Missing required field \"tunnel_method.tunnel_user\": set it to the user to log in to the "
        "SSH bastion as.");
  CHECK(key_error("tunnel_user", " jump") ==
        "Field \"tunnel_method.tunnel_user\" must be a user name: not empty, without leading or "
        "trailing spaces; got \" jump\".");
  CHECK(key_error("tunnel_user", 7) ==
        "Field \"tunnel_method.tunnel_user\" must be a string: the user to log in to the SSH "
        "bastion as.");
  CHECK(key_error("ssh_key", nullptr) ==
        "Missing required field \"tunnel_method.ssh_key\": set it to the private key of "
        "tunnel_user, in PEM or OpenSSH form (the whole text of the key file).");
  const std::string not_a_key =
      "Field \"tunnel_method.ssh_key\" must be a private key in PEM or OpenSSH form: the whole "
      "text of the key file, from its -----BEGIN ... PRIVATE KEY----- line to its -----END ... "
      "PRIVATE KEY----- line (e.g. made with ssh-keygen -t rsa -m PEM, or ssh-keygen -t "
      "ed25519).";
  CHECK(key_error("ssh_key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM public@key") == not_a_key);
  CHECK(key_error("ssh_key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3B!\n-----END OPENSSH "
                             "PRIVATE KEY-----") == not_a_key);

  json tunnel = password_tunnel();
  tunnel.erase("tunnel_user_password");
  CHECK(error_of(with(minimal(), "tunnel_method", tunnel)) ==
        "Missing required field \"tunnel_method.tunnel_user_password\": set it to the password of "
        "tunnel_user on the SSH bastion.");
  tunnel["tunnel_user_password"] = "";
  CHECK(error_of(with(minimal(), "tunnel_method", tunnel)) ==
        "Field \"tunnel_method.tunnel_user_password\" is empty: set it to the password of "
        "tunnel_user on the SSH bastion.");
}

TEST_CASE("the host is a host name or an IP address", "[config]") {
  for (const char* host : {"localhost", "db.example.com", "10.0.0.5", "my_db", "db-1.internal.",
                           "::1", "fe80::1%eth0"}) {
    CAPTURE(host);
    CHECK(parse_config(with(minimal(), "host", host)).host == host);
  }
  CHECK(parse_config(with(minimal(), "host", "[2001:db8::5]")).host == "2001:db8::5");

  CHECK(error_of(without(minimal(), "host")) ==
        "Missing required field \"host\": set it to the host name or IP address of the "
        "PostgreSQL server.");
  CHECK(error_of(with(minimal(), "host", 42)) ==
        "Field \"host\" must be a string: the host name or IP address of the PostgreSQL server.");
  CHECK(error_of(with(minimal(), "host", "postgres://db.example.com:5432")) ==
        "Field \"host\" must be a host name or IP address, without scheme, port or spaces (e.g. "
        "\"db.example.com\"); got \"postgres://db.example.com:5432\".");
  CHECK(error_of(with(minimal(), "host", "db.example.com ")) ==
        "Field \"host\" must be a host name or IP address, without scheme, port or spaces (e.g. "
        "\"db.example.com\"); got \"db.example.com \".");
  CHECK(error_of(with(minimal(), "host", "")) ==
        "Field \"host\" must be a host name or IP address, without scheme, port or spaces (e.g. "
        "\"db.example.com\"); got \"\".");
}

TEST_CASE("the port is a whole number from 1 to 65535", "[config]") {
  CHECK(parse_config(with(minimal(), "port", 1)).port == 1);
  CHECK(parse_config(with(minimal(), "port", 65535)).port == 65535);
  CHECK(parse_config(with(minimal(), "port", "5433")).port == 5433);
  const std::string message =
      "Field \"port\" must be a whole number between 1 and 65535 (PostgreSQL's default is 5432)";
  CHECK(error_of(with(minimal(), "port", 0)) == message + "; got 0.");
  CHECK(error_of(with(minimal(), "port", 65536)) == message + "; got 65536.");
  CHECK(error_of(with(minimal(), "port", -5)) == message + "; got -5.");
  CHECK(error_of(with(minimal(), "port", 5432.5)) == message + "; got 5432.5.");
  CHECK(error_of(with(minimal(), "port", "54x")) == message + "; got \"54x\".");
  CHECK(error_of(with(minimal(), "port", true)) == message + "; got true.");
}

TEST_CASE("database, schema and username are PostgreSQL names", "[config]") {
  CHECK(parse_config(with(minimal(), "database", "my-db.prod")).database == "my-db.prod");
  CHECK(parse_config(with(minimal(), "username", "airbyte@myserver")).username ==
        "airbyte@myserver");
  CHECK(parse_config(with(minimal(), "schema", std::string(63, 's'))).schema ==
        std::string(63, 's'));

  CHECK(error_of(without(minimal(), "database")) ==
        "Missing required field \"database\": set it to the name of the database to write into.");
  CHECK(error_of(without(minimal(), "username")) ==
        "Missing required field \"username\": set it to the PostgreSQL user to connect as.");
  CHECK(error_of(with(minimal(), "schema", 7)) ==
        "Field \"schema\" must be a string: the schema to write into when a stream has no "
        "namespace.");
  CHECK(error_of(with(minimal(), "schema", " public")) ==
        "Field \"schema\" must be a schema name: not empty, at most 63 bytes, without leading or "
        "trailing spaces; got \" public\".");
  CHECK(error_of(with(minimal(), "database", "")) ==
        "Field \"database\" must be a database name: not empty, at most 63 bytes, without leading "
        "or trailing spaces; got \"\".");
  CHECK(error_of(with(minimal(), "username", std::string(64, 'u'))) ==
        "Field \"username\" must be a user name: not empty, at most 63 bytes, without leading or "
        "trailing spaces; got \"" +
            std::string(64, 'u') + "\".");
}

TEST_CASE("ssl_mode errors say what to set", "[config][ssl]") {
  CHECK(error_of(with(minimal(), "ssl_mode", "require")) ==
        "Field \"ssl_mode\" must be an object such as {\"mode\": \"require\"}.");
  CHECK(error_of(with(minimal(), "ssl_mode", json::object())) ==
        "Missing required field \"ssl_mode.mode\": set it to one of disable, allow, prefer, "
        "require, verify-ca, verify-full.");
  CHECK(error_of(with(minimal(), "ssl_mode", {{"mode", "verify"}})) ==
        "Field \"ssl_mode.mode\" must be one of disable, allow, prefer, require, verify-ca, "
        "verify-full; got \"verify\".");
  CHECK(error_of(with(minimal(), "ssl_mode", {{"mode", 1}})) ==
        "Field \"ssl_mode.mode\" must be a string, one of disable, allow, prefer, require, "
        "verify-ca, verify-full.");
  CHECK(error_of(with(minimal(), "ssl_mode", {{"mode", "verify-ca"}})) ==
        "ssl_mode \"verify-ca\" needs \"ssl_mode.ca_certificate\": paste the certificate of the "
        "CA that signed the server's certificate.");
  CHECK(
      error_of(with(minimal(), "ssl_mode", {{"mode", "verify-full"}, {"ca_certificate", "  "}})) ==
      "ssl_mode \"verify-full\" needs \"ssl_mode.ca_certificate\": paste the certificate of the "
      "CA that signed the server's certificate.");
  CHECK(error_of(with(minimal(), "ssl_mode",
                      {{"mode", "verify-ca"}, {"ca_certificate", "MIIB-not-a-pem-SECRETBITS"}})) ==
        "Field \"ssl_mode.ca_certificate\" must be the certificate of the CA that signed the "
        "server's certificate in PEM form (the text between and including the -----BEGIN "
        "...----- and -----END ...----- lines).");
  CHECK(error_of(with(minimal(), "ssl_mode",
                      {{"mode", "verify-full"},
                       {"ca_certificate", ca_pem},
                       {"client_certificate", client_pem},
                       {"client_key", "KEYMATERIAL"}})) ==
        "Field \"ssl_mode.client_key\" must be the client certificate's private key in PEM form "
        "(the text between and including the -----BEGIN ...----- and -----END ...----- lines).");
  CHECK(error_of(
            with(minimal(), "ssl_mode",
                 {{"mode", "verify-full"}, {"ca_certificate", ca_pem}, {"client_key", key_pem}})) ==
        "ssl_mode \"verify-full\" needs both \"ssl_mode.client_certificate\" and "
        "\"ssl_mode.client_key\", or neither: give the client key together with its certificate.");
  CHECK(error_of(with(
            minimal(), "ssl_mode",
            {{"mode", "verify-ca"}, {"ca_certificate", ca_pem}, {"client_key_password", 1234}})) ==
        "Field \"ssl_mode.client_key_password\" must be a string.");
}

TEST_CASE("other fields' errors", "[config]") {
  CHECK(error_of(json::array()) ==
        "The configuration must be a JSON object with the fields of the connector spec (host, "
        "port, database, schema, username, password, ...).");
  CHECK(error_of(with(minimal(), "cdc_deletion_mode", "hard delete")) ==
        "Field \"cdc_deletion_mode\" must be \"Hard delete\" or \"Soft delete\"; got \"hard "
        "delete\".");
  CHECK(error_of(with(minimal(), "drop_cascade", "true")) ==
        "Field \"drop_cascade\" must be true or false; got \"true\".");
  CHECK(error_of(with(minimal(), "ssl", 1)) == "Field \"ssl\" must be true or false; got 1.");
  CHECK(error_of(with(minimal(), "keep_rejected_values", "no")) ==
        "Field \"keep_rejected_values\" must be true or false; got \"no\".");
}

TEST_CASE("jdbc_url_params are split into decoded pairs", "[config][jdbc]") {
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  auto params = [](const std::string& text) {
    return parse_config(with(minimal(), "jdbc_url_params", text)).jdbc_url_params;
  };
  CHECK(params("").empty());
  CHECK(params("   ").empty());
  CHECK(params("a=1") == Pairs{{"a", "1"}});
  CHECK(params("a=1&b=&c=x%3Dy%26z%25") == Pairs{{"a", "1"}, {"b", ""}, {"c", "x=y&z%"}});
  CHECK(params("options=-c%20statement_timeout%3D0&") ==
        Pairs{{"options", "-c statement_timeout=0"}});
  // '+' stays '+' (Airbyte passes the values to the driver verbatim); a stray '%' stays too.
  CHECK(params("ApplicationName=a+b&x=100%") == Pairs{{"ApplicationName", "a+b"}, {"x", "100%"}});

  const std::string message =
      "Field \"jdbc_url_params\" must be key=value pairs separated by \"&\" (e.g. "
      "\"connectTimeout=5&ApplicationName=airbyte\"); write \"&\", \"=\" and \"%\" inside a value "
      "as %26, %3D and %25.";
  for (const char* bad : {"a", "=1", "a=1&&b=2", "&a=1", "a=1=2", "password=hunter2=x"}) {
    CAPTURE(bad);
    CHECK(error_of(with(minimal(), "jdbc_url_params", bad)) == message);
  }
  CHECK(error_of(with(minimal(), "jdbc_url_params", 5)) == message);
}

TEST_CASE("no error message contains a secret value", "[config][secrets]") {
  const std::string secret = "Zq9-very-secret";
  std::vector<json> documents = {
      with(minimal(), "password", 12345),
      with(minimal(), "ssl_mode", {{"mode", "verify-ca"}, {"ca_certificate", secret}}),
      with(minimal(), "ssl_mode",
           {{"mode", "verify-full"},
            {"ca_certificate", ca_pem},
            {"client_certificate", client_pem},
            {"client_key", secret}}),
      with(minimal(), "jdbc_url_params", "password=" + secret + "=x"),
      with(with(minimal(), "password", secret), "port", "x"),
      with(minimal(), "tunnel_method",
           {{"tunnel_method", "SSH_KEY_AUTH"},
            {"tunnel_host", "bastion"},
            {"tunnel_user", "jump"},
            {"ssh_key", "-----BEGIN OPENSSH PRIVATE KEY-----\n" + secret + "!"}}),
      with(minimal(), "tunnel_method",
           {{"tunnel_method", "SSH_KEY_AUTH"},
            {"tunnel_host", "bastion"},
            {"tunnel_user", "jump"},
            {"ssh_key", 12345}}),
      with(minimal(), "tunnel_method",
           {{"tunnel_method", "SSH_PASSWORD_AUTH"},
            {"tunnel_host", "bastion"},
            {"tunnel_user", "jump"},
            {"tunnel_user_password", 12345}}),
      with(minimal(), "tunnel_method",
           {{"tunnel_method", "SSH_PASSWORD_AUTH"},
            {"tunnel_host", "bastion"},
            {"tunnel_port", "x"},
            {"tunnel_user", "jump"},
            {"tunnel_user_password", secret}}),
  };
  for (const auto& document : documents) {
    std::string message = error_of(document);
    CAPTURE(message);
    CHECK(message != "(no error)");
    CHECK(message.find(secret) == std::string::npos);
    CHECK(message.find("12345") == std::string::npos);
  }
}

TEST_CASE("load_config_file reads a file and hides its content on JSON errors", "[config]") {
  const std::string path = temp_path("valid.json");
  {
    std::ofstream out(path);
    out << minimal().dump(2);
  }
  CHECK(pgdest::config::load_config_file(path).host == "db.example.com");
  std::remove(path.c_str());

  const std::string broken = temp_path("broken.json");
  {
    std::ofstream out(broken);
    out << "{\n  \"host\": \"db\",\n  \"password\": hunter2-secret\n}\n";
  }
  try {
    pgdest::config::load_config_file(broken);
    FAIL("no error");
  } catch (const ConfigError& error) {
    CHECK(std::string(error.what()) ==
          "The config file \"" + broken + "\" is not valid JSON (error at line 3, column 15).");
  }
  std::remove(broken.c_str());

  const std::string missing = temp_path("does-not-exist.json");
  try {
    pgdest::config::load_config_file(missing);
    FAIL("no error");
  } catch (const ConfigError& error) {
    CHECK(std::string(error.what()) ==
          "Cannot read the config file \"" + missing + "\": No such file or directory.");
  }
}

TEST_CASE("a config nested deeper than 1000 levels is refused before it is parsed", "[config]") {
  const std::string path = temp_path("deep.json");
  {
    std::ofstream out(path);
    out << R"({"host":"db","port":)" << std::string(500000, '[') << std::string(500000, ']') << "}";
  }
  try {
    pgdest::config::load_config_file(path);
    FAIL("no error");
  } catch (const ConfigError& error) {
    CHECK(std::string(error.what()) == "The config file \"" + path +
                                           "\" nests arrays and objects more than 1000 levels "
                                           "deep; a config is a flat object of settings.");
  }
  std::remove(path.c_str());
}

TEST_CASE("regression: a number too large for a double in config.json is a config error, not an "
          "unexpected failure",
          "[config]") {
  const std::string path = temp_path("huge-number.json");
  {
    std::ofstream out(path);
    out << R"({"host": "db", "port": 1e999, "password": "hunter2-secret"})";
  }
  try {
    pgdest::config::load_config_file(path);
    FAIL("no error");
  } catch (const ConfigError& error) {
    CHECK(std::string(error.what()) ==
          "The config file \"" + path + "\" holds a number too large to read.");
  }
  std::remove(path.c_str());
}
