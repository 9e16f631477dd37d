// resources/spec.json: Airbyte's properties as Airbyte lists them, and parse_config agreeing with
// it: same fields, same patterns, same port range, same secrets.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "pgdest/config/config_reader.hpp"
#include "pgdest/error.hpp"
#include "pgdest/resources.hpp"

using nlohmann::json;
namespace patterns = pgdest::config::patterns;

namespace {

json spec() {
  return json::parse(pgdest::resources::spec_json());
}

const json& properties() {
  static const json props = spec()["connectionSpecification"]["properties"];
  return props;
}

const json& tunnel_variant(const std::string& method) {
  for (const auto& variant : properties()["tunnel_method"]["oneOf"])
    if (variant["properties"]["tunnel_method"]["const"] == method)
      return variant;
  throw std::runtime_error("no tunnel_method variant " + method);
}

const json& ssl_variant(const std::string& mode) {
  for (const auto& variant : properties()["ssl_mode"]["oneOf"])
    if (variant["properties"]["mode"]["const"] == mode)
      return variant;
  throw std::runtime_error("no ssl_mode variant " + mode);
}

json minimal() {
  return {{"host", "db.example.com"}, {"database", "warehouse"}, {"username", "airbyte"}};
}

json with(const char* field, json value) {
  json document = minimal();
  document[field] = std::move(value);
  return document;
}

bool accepted(const json& document) {
  try {
    pgdest::config::parse_config(document);
    return true;
  } catch (const pgdest::ConfigError&) {
    return false;
  }
}

bool spec_matches(std::string_view pattern, const std::string& value) {
  return std::regex_search(value, std::regex(pattern.begin(), pattern.end()));
}

// Airbyte's destination-postgres 3.x spec (OSS), property by property: the facts this spec must
// keep so that Airbyte's configs and UI carry over. Taken from Airbyte's expected-spec-oss.json
// (airbytehq/airbyte, airbyte-integrations/connectors/destination-postgres, Elastic License 2.0):
// names, types, order, groups, titles, defaults and enums only, no text of theirs.
struct ReferenceProperty {
  const char* name;
  const char* type;
  int order;
  const char* group;
  const char* title;
  json default_value; // null: Airbyte's spec gives none
  json enum_values;   // null: no enum
  bool secret;
};

const std::vector<ReferenceProperty>& airbyte_properties() {
  static const std::vector<ReferenceProperty> properties = {
      {"host", "string", 0, "connection", "Host", nullptr, nullptr, false},
      {"port", "integer", 1, "connection", "Port", nullptr, nullptr, false},
      {"database", "string", 2, "connection", "Database Name", nullptr, nullptr, false},
      {"schema", "string", 3, "connection", "Default Schema", "public", nullptr, false},
      {"username", "string", 4, "connection", "Username", nullptr, nullptr, false},
      {"password", "string", 5, "connection", "Password", nullptr, nullptr, true},
      {"ssl", "boolean", 6, "connection", "SSL Connection", nullptr, nullptr, false},
      {"ssl_mode", "object", 7, "connection", "SSL Modes", nullptr, nullptr, false},
      {"cdc_deletion_mode", "string", 8, "sync_behavior", "CDC deletion mode", "Hard delete",
       json::array({"Hard delete", "Soft delete"}), false},
      {"jdbc_url_params", "string", 9, "connection", "JDBC URL Params", nullptr, nullptr, false},
      {"raw_data_schema", "string", 10, "connection", "Airbyte Internal Schema Name", nullptr,
       nullptr, false},
      {"disable_type_dedupe", "boolean", 11, "connection",
       "Disable Final Tables. (WARNING! Unstable option; Columns in raw table schema might change "
       "between versions)",
       nullptr, nullptr, false},
      {"drop_cascade", "boolean", 12, "connection",
       "Drop tables with CASCADE. (WARNING! Risk of unrecoverable data loss)", nullptr, nullptr,
       false},
      {"unconstrained_number", "boolean", 13, "connection", "Unconstrained numeric columns",
       nullptr, nullptr, false},
      {"tunnel_method", "object", 14, "connection", "SSH Tunnel Method", nullptr, nullptr, false},
  };
  return properties;
}

// Properties Airbyte's spec does not have.
const std::set<std::string>& our_properties() {
  static const std::set<std::string> names = {"max_connections", "keep_rejected_values",
                                                "history_mode"};
  return names;
}

// Where this spec knowingly differs from Airbyte's, and why: the port's range is the range of
// ports (Airbyte's allows 0 and 65536, which no server listens on) and its default is 5432
// (Airbyte's code defaults to it without saying so in the spec).
const json our_port_default = 5432;
const int our_port_minimum = 1;
const int our_port_maximum = 65535;

} // namespace

TEST_CASE("the spec has the connector's top-level settings", "[spec]") {
  json document = spec();
  CHECK(document["supportsIncremental"] == true);
  CHECK(document["supportsNormalization"] == false);
  CHECK(document["supportsDBT"] == false);
  CHECK(document["supported_destination_sync_modes"] ==
        json::array({"overwrite", "append", "append_dedup"}));
  const json& connection = document["connectionSpecification"];
  CHECK(connection["$schema"] == "http://json-schema.org/draft-07/schema#");
  CHECK(connection["title"] == "Postgres Destination Specification");
  CHECK(connection["required"] == json::array({"host", "port", "database", "schema", "username"}));
  // Old configs carry legacy fields: they must stay valid.
  CHECK(connection["additionalProperties"] == true);
  CHECK(connection["groups"] == json::array({{{"id", "connection"}, {"title", "Connection"}},
                                             {{"id", "sync_behavior"}, {"title", "Sync Behavior"}},
                                             {{"id", "advanced"}, {"title", "Advanced"}}}));
}

TEST_CASE("the documentation link is this connector's own page", "[spec]") {
  const std::string url = spec()["documentationUrl"];
  CHECK(url.find("airbyte.com") == std::string::npos);
  const std::string page = "/docs/destination-postgres.md";
  REQUIRE(url.size() > page.size());
  CHECK(url.substr(url.size() - page.size()) == page);
  // The same address metadata.yaml gives the platform.
  std::ifstream metadata(std::string(PGDEST_SOURCE_DIR) + "/metadata.yaml");
  REQUIRE(metadata);
  std::string line;
  std::string from_metadata;
  const std::string key = "documentationUrl:";
  while (std::getline(metadata, line)) {
    auto at = line.find(key);
    if (at != std::string::npos)
      from_metadata = line.substr(line.find_first_not_of(' ', at + key.size()));
  }
  CHECK(from_metadata == url);
}

TEST_CASE("every property of Airbyte's spec is listed, as Airbyte lists it", "[spec][parity]") {
  std::set<std::string> reference_names;
  for (const auto& reference : airbyte_properties()) {
    reference_names.insert(reference.name);
    CAPTURE(reference.name);
    REQUIRE(properties().contains(reference.name));
    const json& property = properties()[reference.name];
    CHECK(property["type"] == reference.type);
    CHECK(property["order"] == reference.order);
    CHECK(property["group"] == reference.group);
    CHECK(property["title"] == reference.title);
    CHECK(property.value("airbyte_secret", false) == reference.secret);
    if (reference.name == std::string("port"))
      CHECK(property["default"] == our_port_default);
    else if (reference.default_value.is_null())
      CHECK_FALSE(property.contains("default"));
    else
      CHECK(property["default"] == reference.default_value);
    if (reference.enum_values.is_null())
      CHECK_FALSE(property.contains("enum"));
    else
      CHECK(property["enum"] == reference.enum_values);
  }
  // Fields of our own come after Airbyte's and are optional, so a config made for this connector
  // without them works with Airbyte's, and Airbyte's configs work here.
  const int last_airbyte_order = airbyte_properties().back().order;
  for (const auto& item : properties().items()) {
    if (reference_names.count(item.key()) == 1)
      continue;
    CAPTURE(item.key());
    CHECK(our_properties().count(item.key()) == 1);
    CHECK(item.value()["order"].get<int>() > last_airbyte_order);
    CHECK(item.value().contains("default"));
  }
}

TEST_CASE("max_connections is an optional bounded integer whose default is parse_config's",
          "[spec][lanes]") {
  const json& property = properties()["max_connections"];
  CHECK(property["type"] == "integer");
  CHECK(property["minimum"] == 1);
  CHECK(property["maximum"] == pgdest::config::kMostMaxConnections);
  CHECK(property["default"] == pgdest::config::kDefaultMaxConnections);
  CHECK(property["group"] == "advanced");
  CHECK(property["order"] == 15);
  const auto required = spec()["connectionSpecification"]["required"];
  CHECK(std::find(required.begin(), required.end(), "max_connections") == required.end());
}

TEST_CASE("the ssl_mode variants are Airbyte's", "[spec][parity]") {
  const json& variants = properties()["ssl_mode"]["oneOf"];
  std::vector<std::string> titles;
  for (const auto& variant : variants) {
    titles.push_back(variant["title"]);
    CHECK(variant["type"] == "object");
    CHECK(variant["additionalProperties"] == true);
    const json& mode = variant["properties"]["mode"];
    CHECK(mode["type"] == "string");
    CHECK(mode["enum"] == json::array({variant["title"]}));
    CHECK(mode["default"] == variant["title"]);
  }
  CHECK(titles == std::vector<std::string>{"disable", "allow", "prefer", "require", "verify-ca",
                                           "verify-full"});
  // name, title, order: Airbyte's certificate fields.
  using Field = std::tuple<std::string, std::string, int>;
  auto fields_of = [](const json& variant) {
    std::vector<Field> fields;
    for (const auto& item : variant["properties"].items())
      if (item.key() != "mode")
        fields.emplace_back(item.key(), item.value()["title"], item.value()["order"]);
    std::sort(fields.begin(), fields.end(),
              [](const Field& a, const Field& b) { return std::get<2>(a) < std::get<2>(b); });
    return fields;
  };
  CHECK(fields_of(ssl_variant("verify-ca")) ==
        std::vector<Field>{{"ca_certificate", "CA Certificate", 1},
                           {"client_key_password", "Client Key Password", 2}});
  CHECK(fields_of(ssl_variant("verify-full")) ==
        std::vector<Field>{{"ca_certificate", "CA Certificate", 1},
                           {"client_certificate", "Client Certificate", 2},
                           {"client_key", "Client Key", 3},
                           {"client_key_password", "Client Key Password", 4}});
}

TEST_CASE("the port range of the spec is the one parse_config enforces", "[spec]") {
  const json& port = properties()["port"];
  CHECK(port["minimum"] == our_port_minimum);
  CHECK(port["maximum"] == our_port_maximum);
  const int minimum = port["minimum"];
  const int maximum = port["maximum"];
  CHECK(accepted(with("port", minimum)));
  CHECK(accepted(with("port", maximum)));
  CHECK_FALSE(accepted(with("port", minimum - 1)));
  CHECK_FALSE(accepted(with("port", maximum + 1)));
  CHECK(pgdest::config::parse_config(minimal()).port == port["default"]);
}

TEST_CASE("every secret is marked airbyte_secret", "[spec][secrets]") {
  CHECK(properties()["password"]["airbyte_secret"] == true);
  for (const char* mode : {"verify-ca", "verify-full"}) {
    CHECK(ssl_variant(mode)["properties"]["ca_certificate"]["airbyte_secret"] == true);
    CHECK(ssl_variant(mode)["properties"]["client_key_password"]["airbyte_secret"] == true);
  }
  CHECK(ssl_variant("verify-full")["properties"]["client_key"]["airbyte_secret"] == true);
  CHECK(ssl_variant("verify-full")["properties"]["client_certificate"]["airbyte_secret"] == true);
  CHECK(tunnel_variant("SSH_KEY_AUTH")["properties"]["ssh_key"]["airbyte_secret"] == true);
  CHECK(tunnel_variant("SSH_KEY_AUTH")["properties"]["ssh_key"]["multiline"] == true);
  CHECK(tunnel_variant(
            "SSH_PASSWORD_AUTH")["properties"]["tunnel_user_password"]["airbyte_secret"] == true);
}

TEST_CASE("the tunnel_method variants are Airbyte's", "[spec][parity][tunnel]") {
  std::vector<std::string> titles;
  for (const auto& variant : properties()["tunnel_method"]["oneOf"])
    titles.push_back(variant["title"]);
  CHECK(titles ==
        std::vector<std::string>{"No Tunnel", "SSH Key Authentication", "Password Authentication"});
  CHECK(tunnel_variant("NO_TUNNEL")["required"] == json::array({"tunnel_method"}));
  CHECK(tunnel_variant("SSH_KEY_AUTH")["required"] ==
        json::array({"tunnel_method", "tunnel_host", "tunnel_port", "tunnel_user", "ssh_key"}));
  CHECK(tunnel_variant("SSH_PASSWORD_AUTH")["required"] ==
        json::array({"tunnel_method", "tunnel_host", "tunnel_port", "tunnel_user",
                     "tunnel_user_password"}));
  for (const char* method : {"SSH_KEY_AUTH", "SSH_PASSWORD_AUTH"}) {
    const json& fields = tunnel_variant(method)["properties"];
    CHECK(fields["tunnel_method"]["enum"] == json::array({method}));
    CHECK(fields["tunnel_host"]["order"] == 1);
    CHECK(fields["tunnel_port"]["order"] == 2);
    CHECK(fields["tunnel_user"]["order"] == 3);
    CHECK(fields["tunnel_port"]["default"] == 22);
    CHECK(fields["tunnel_port"]["type"] == "integer");
  }
  CHECK(tunnel_variant("SSH_KEY_AUTH")["properties"]["ssh_key"]["order"] == 4);
  CHECK(tunnel_variant("SSH_PASSWORD_AUTH")["properties"]["tunnel_user_password"]["order"] == 4);
}

TEST_CASE("the spec's patterns are the ones parse_config enforces", "[spec]") {
  CHECK(properties()["host"]["pattern"] == std::string(patterns::host));
  for (const char* field : {"database", "schema", "username"})
    CHECK(properties()[field]["pattern"] == std::string(patterns::name));
  CHECK(properties()["jdbc_url_params"]["pattern"] == std::string(patterns::jdbc_url_params));
  CHECK(properties()["raw_data_schema"]["pattern"] == std::string(patterns::optional_name));
  for (const char* mode : {"verify-ca", "verify-full"})
    CHECK(ssl_variant(mode)["properties"]["ca_certificate"]["pattern"] ==
          std::string(patterns::certificate));
  CHECK(ssl_variant("verify-full")["properties"]["client_certificate"]["pattern"] ==
        std::string(patterns::certificate));
  CHECK(ssl_variant("verify-full")["properties"]["client_key"]["pattern"] ==
        std::string(patterns::private_key));
  for (const char* method : {"SSH_KEY_AUTH", "SSH_PASSWORD_AUTH"}) {
    const json& fields = tunnel_variant(method)["properties"];
    CHECK(fields["tunnel_host"]["pattern"] == std::string(patterns::host));
    CHECK(fields["tunnel_user"]["pattern"] == std::string(patterns::name));
    // The range parse_config accepts.
    CHECK(fields["tunnel_port"]["minimum"] == 1);
    CHECK(fields["tunnel_port"]["maximum"] == 65535);
  }
  CHECK(tunnel_variant("SSH_KEY_AUTH")["properties"]["ssh_key"]["pattern"] ==
        std::string(patterns::ssh_private_key));
  CHECK(ssl_variant("verify-ca")["required"] == json::array({"mode", "ca_certificate"}));
  // Looser than Airbyte's, which also requires the client certificate and key: a server that
  // asks for no client certificate is verified without one.
  CHECK(ssl_variant("verify-full")["required"] == json::array({"mode", "ca_certificate"}));
}

TEST_CASE("parse_config accepts exactly what the spec's patterns accept", "[spec]") {
  for (const std::string& host : std::vector<std::string>{
           "localhost", "db.example.com", "10.1.2.3", "::1", "[::1]", "fe80::1%eth0", "under_score",
           "a.", "http://x", "a b", "", "h:5432", "-lead", "trail-", "x/y", "db,db2"}) {
    CAPTURE(host);
    CHECK(accepted(with("host", host)) == spec_matches(patterns::host, host));
  }
  for (const std::string& name :
       std::vector<std::string>{"public", "Mixed Case", "d-b.x", "é", "", " x", "x ", "\t",
                                std::string("a\0b", 3), std::string(63, 'n')}) {
    CAPTURE(name);
    CHECK(accepted(with("schema", name)) == spec_matches(patterns::name, name));
    CHECK(accepted(with("raw_data_schema", name)) == spec_matches(patterns::optional_name, name));
  }
  for (const std::string& params :
       std::vector<std::string>{"", "  ", "a=1", "a=1&b=2", "a=&b=2", "a=1&", "a", "=1", "a=1&&b=2",
                                "&a=1", "a=1=2", "a b=c d"}) {
    CAPTURE(params);
    CHECK(accepted(with("jdbc_url_params", params)) ==
          spec_matches(patterns::jdbc_url_params, params));
  }
  const std::string cert = "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----";
  for (const std::string& pem : std::vector<std::string>{
           cert, cert + "\n" + cert + "\n", "\n " + cert + " \n",
           std::string("-----BEGIN CERTIFICATE----------END CERTIFICATE-----"), cert + "x", "QUJD",
           "-----BEGIN CERTIFICATE-----\nQ-J\n-----END CERTIFICATE-----"}) {
    CAPTURE(pem);
    json document = minimal();
    document["ssl_mode"] = {{"mode", "verify-ca"}, {"ca_certificate", pem}};
    CHECK(accepted(document) == spec_matches(patterns::certificate, pem));
  }
  for (const std::string& key : std::vector<std::string>{
           std::string("-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----"),
           std::string(
               "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nQUJD\n-----END RSA "
               "PRIVATE KEY-----\n"),
           std::string("-----BEGIN EC PRIVATE KEY-----\nQUJD\n-----END EC PRIVATE KEY-----"),
           std::string("-----BEGIN DSA PRIVATE KEY-----\nQUJD\n-----END DSA PRIVATE KEY-----"),
           std::string("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----"),
           std::string("-----BEGIN PRIVATE KEY-----\nQU!D\n-----END PRIVATE KEY-----"),
           std::string("-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY----- x")}) {
    CAPTURE(key);
    json document = minimal();
    document["ssl_mode"] = {{"mode", "verify-full"},
                            {"ca_certificate", cert},
                            {"client_certificate", cert},
                            {"client_key", key}};
    CHECK(accepted(document) == spec_matches(patterns::private_key, key));
  }
  for (const std::string& key : std::vector<std::string>{
           "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----\n",
           "-----BEGIN RSA PRIVATE KEY-----\nQUJD\n-----END RSA PRIVATE KEY-----",
           "\r\n-----BEGIN PRIVATE KEY-----\r\nQUJD\r\n-----END PRIVATE KEY-----\r\n",
           "-----BEGIN DSA PRIVATE KEY-----\nQUJD\n-----END DSA PRIVATE KEY-----",
           "-----BEGIN ENCRYPTED PRIVATE KEY-----\nQUJD\n-----END ENCRYPTED PRIVATE KEY-----",
           "-----BEGIN OPENSSH PRIVATE KEY-----\n-----END OPENSSH PRIVATE KEY-----",
           "-----BEGIN OPENSSH PRIVATE KEY-----\nb3B!\n-----END OPENSSH PRIVATE KEY-----",
           "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 user@host"}) {
    CAPTURE(key);
    json document = minimal();
    document["tunnel_method"] = {{"tunnel_method", "SSH_KEY_AUTH"},
                                 {"tunnel_host", "bastion"},
                                 {"tunnel_user", "jump"},
                                 {"ssh_key", key}};
    CHECK(accepted(document) == spec_matches(patterns::ssh_private_key, key));
  }
  for (const std::string& user :
       std::vector<std::string>{"jump", "ec2-user", "DOMAIN\\a b", "", " jump", "jump\t"}) {
    CAPTURE(user);
    json document = minimal();
    document["tunnel_method"] = {{"tunnel_method", "SSH_PASSWORD_AUTH"},
                                 {"tunnel_host", "bastion"},
                                 {"tunnel_user", user},
                                 {"tunnel_user_password", "pw"}};
    CHECK(accepted(document) == spec_matches(patterns::name, user));
  }
}

TEST_CASE("a config using every spec field parses without warnings", "[spec]") {
  json document = minimal();
  for (const auto& item : properties().items()) {
    const json& property = item.value();
    if (item.key() == "ssl_mode")
      document[item.key()] = {{"mode", "require"}};
    else if (item.key() == "tunnel_method")
      document[item.key()] = {{"tunnel_method", "NO_TUNNEL"}};
    else if (property.contains("default"))
      document[item.key()] = property["default"];
    else if (property["type"] == "string" && !document.contains(item.key()))
      document[item.key()] = item.key() == "jdbc_url_params" ? "connectTimeout=5" : "value";
  }
  CAPTURE(document.dump());
  CHECK(pgdest::config::parse_config(document).warnings.empty());
}
