// resources/spec.json and parse_config agree: same fields, same patterns, same secrets.
#include <catch2/catch.hpp>

#include <regex>
#include <set>
#include <string>
#include <string_view>
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

} // namespace

TEST_CASE("the spec has the connector's top-level settings", "[spec]") {
  json document = spec();
  CHECK(document["documentationUrl"] ==
        "https://docs.airbyte.com/integrations/destinations/postgres");
  CHECK(document["supportsIncremental"] == true);
  CHECK(document["supported_destination_sync_modes"] ==
        json::array({"overwrite", "append", "append_dedup"}));
  const json& connection = document["connectionSpecification"];
  CHECK(connection["$schema"] == "http://json-schema.org/draft-07/schema#");
  CHECK(connection["required"] == json::array({"host", "port", "database", "schema", "username"}));
  // Old configs carry legacy fields: they must stay valid.
  CHECK(connection["additionalProperties"] == true);
  std::set<std::string> names;
  for (const auto& item : properties().items())
    names.insert(item.key());
  CHECK(names == std::set<std::string>{"host", "port", "database", "schema", "username", "password",
                                       "ssl_mode", "cdc_deletion_mode", "jdbc_url_params",
                                       "drop_cascade"});
  CHECK(properties()["port"]["default"] == 5432);
  CHECK(properties()["schema"]["default"] == "public");
  CHECK(properties()["cdc_deletion_mode"]["default"] == "Hard delete");
  CHECK(properties()["cdc_deletion_mode"]["enum"] == json::array({"Hard delete", "Soft delete"}));
}

TEST_CASE("every secret is marked airbyte_secret", "[spec][secrets]") {
  CHECK(properties()["password"]["airbyte_secret"] == true);
  for (const char* mode : {"verify-ca", "verify-full"}) {
    CHECK(ssl_variant(mode)["properties"]["ca_certificate"]["airbyte_secret"] == true);
    CHECK(ssl_variant(mode)["properties"]["client_key_password"]["airbyte_secret"] == true);
  }
  CHECK(ssl_variant("verify-full")["properties"]["client_key"]["airbyte_secret"] == true);
  CHECK(ssl_variant("verify-full")["properties"]["client_certificate"]["airbyte_secret"] == true);
}

TEST_CASE("the spec's patterns are the ones parse_config enforces", "[spec]") {
  CHECK(properties()["host"]["pattern"] == std::string(patterns::host));
  for (const char* field : {"database", "schema", "username"})
    CHECK(properties()[field]["pattern"] == std::string(patterns::name));
  CHECK(properties()["jdbc_url_params"]["pattern"] == std::string(patterns::jdbc_url_params));
  for (const char* mode : {"verify-ca", "verify-full"})
    CHECK(ssl_variant(mode)["properties"]["ca_certificate"]["pattern"] ==
          std::string(patterns::certificate));
  CHECK(ssl_variant("verify-full")["properties"]["client_certificate"]["pattern"] ==
        std::string(patterns::certificate));
  CHECK(ssl_variant("verify-full")["properties"]["client_key"]["pattern"] ==
        std::string(patterns::private_key));
  CHECK(ssl_variant("verify-ca")["required"] == json::array({"mode", "ca_certificate"}));
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
}

TEST_CASE("a config using every spec field parses without warnings", "[spec]") {
  json document = minimal();
  for (const auto& item : properties().items()) {
    const json& property = item.value();
    if (item.key() == "ssl_mode")
      document[item.key()] = {{"mode", "require"}};
    else if (property.contains("default"))
      document[item.key()] = property["default"];
    else if (property["type"] == "string" && !document.contains(item.key()))
      document[item.key()] = item.key() == "jdbc_url_params" ? "connectTimeout=5" : "value";
  }
  CAPTURE(document.dump());
  CHECK(pgdest::config::parse_config(document).warnings.empty());
}
