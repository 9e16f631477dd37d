// The TLS mode: ssl_mode and the TLS keys of jdbc_url_params, read as pgJDBC reads them, the
// stricter winning; prefer when neither asks for a mode.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "pgdest/error.hpp"
#include "pgdest/postgres/tls_settings.hpp"

using pgdest::config::SslConfig;
using pgdest::config::SslMode;
using pgdest::postgres::decide_tls_mode;
using pgdest::postgres::JdbcTlsParams;
using pgdest::postgres::read_jdbc_tls_params;
using pgdest::postgres::sslmode_name;
using pgdest::postgres::stricter;

namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

const SslMode all_modes[] = {SslMode::disable, SslMode::allow,     SslMode::prefer,
                             SslMode::require, SslMode::verify_ca, SslMode::verify_full};

SslConfig ssl_mode(std::optional<SslMode> mode) {
  SslConfig ssl;
  ssl.mode = mode;
  return ssl;
}

JdbcTlsParams jdbc(const Params& params) {
  std::vector<std::string> warnings;
  JdbcTlsParams read = read_jdbc_tls_params(params, warnings);
  CHECK(warnings.empty());
  return read;
}

SslMode mode_for(std::optional<SslMode> config_mode, const Params& params) {
  return decide_tls_mode(ssl_mode(config_mode), jdbc(params)).mode;
}

std::string name(std::optional<SslMode> mode) {
  return mode ? sslmode_name(*mode) : "(none)";
}

} // namespace

TEST_CASE("the modes are ordered from disable to verify-full", "[postgres][ssl]") {
  for (size_t a = 0; a < std::size(all_modes); ++a)
    for (size_t b = 0; b < std::size(all_modes); ++b) {
      CAPTURE(sslmode_name(all_modes[a]), sslmode_name(all_modes[b]));
      CHECK(stricter(all_modes[a], all_modes[b]) == all_modes[std::max(a, b)]);
    }
}

TEST_CASE("the pairs that matter", "[postgres][ssl][jdbc]") {
  struct Case {
    std::optional<SslMode> config;
    Params params;
    SslMode expected;
  };
  const std::optional<SslMode> none;
  const Case cases[] = {
      // Nothing asked for: Airbyte's connector leaves pgJDBC at its default, prefer.
      {none, {}, SslMode::prefer},
      {none, {{"ApplicationName", "x"}}, SslMode::prefer},
      {none, {{"ssl", "false"}}, SslMode::prefer},
      // Only one side asks: that one, also when it asks for less than prefer.
      {SslMode::disable, {}, SslMode::disable},
      {SslMode::verify_ca, {}, SslMode::verify_ca},
      {none, {{"sslmode", "disable"}}, SslMode::disable},
      {none, {{"sslmode", "allow"}}, SslMode::allow},
      {none, {{"sslmode", "verify-full"}}, SslMode::verify_full},
      // The silent downgrade this rule exists for: jdbc asks for TLS, ssl_mode for none.
      {SslMode::disable, {{"sslmode", "require"}}, SslMode::require},
      {SslMode::prefer, {{"sslmode", "require"}}, SslMode::require},
      {SslMode::require, {{"sslmode", "disable"}}, SslMode::require},
      {SslMode::verify_ca, {{"sslmode", "verify-full"}}, SslMode::verify_full},
      {SslMode::verify_full, {{"sslmode", "require"}}, SslMode::verify_full},
      {SslMode::allow, {{"sslmode", "prefer"}}, SslMode::prefer},
      // pgJDBC: a bare ssl=true means verify-full, unless a mode is set elsewhere.
      {none, {{"ssl", "true"}}, SslMode::verify_full},
      {none, {{"ssl", ""}}, SslMode::verify_full},
      {none,
       {{"ssl", "true"}, {"sslfactory", "org.postgresql.ssl.NonValidatingFactory"}},
       SslMode::require},
      {SslMode::disable, {{"ssl", "true"}}, SslMode::require},
      {SslMode::verify_ca, {{"ssl", "true"}}, SslMode::verify_ca},
      {none, {{"ssl", "true"}, {"sslmode", "disable"}}, SslMode::disable},
      // The last value of a key counts, as in pgJDBC's properties.
      {none, {{"sslmode", "verify-full"}, {"sslmode", "require"}}, SslMode::require},
      // Values are read without regard to case.
      {SslMode::disable, {{"sslmode", "REQUIRE"}}, SslMode::require},
  };
  for (const auto& c : cases) {
    std::string params;
    for (const auto& [key, value] : c.params)
      params += key + "=" + value + "&";
    CAPTURE(name(c.config), params);
    CHECK(mode_for(c.config, c.params) == c.expected);
  }
}

TEST_CASE("for every pair, the mode is the strongest asked for and never weaker than either",
          "[postgres][ssl][jdbc]") {
  std::vector<std::optional<SslMode>> config_modes = {std::nullopt};
  std::vector<Params> jdbc_sides = {{}, {{"ssl", "true"}}};
  for (SslMode mode : all_modes) {
    config_modes.push_back(mode);
    jdbc_sides.push_back({{"sslmode", sslmode_name(mode)}});
  }
  for (const auto& config_mode : config_modes) {
    for (const auto& params : jdbc_sides) {
      CAPTURE(name(config_mode),
              params.empty() ? "(none)" : params[0].first + "=" + params[0].second);
      auto decision = decide_tls_mode(ssl_mode(config_mode), jdbc(params));
      auto from_jdbc = pgdest::postgres::jdbc_requested_mode(jdbc(params), config_mode.has_value());
      if (config_mode)
        CHECK(stricter(decision.mode, *config_mode) == decision.mode);
      if (from_jdbc)
        CHECK(stricter(decision.mode, *from_jdbc) == decision.mode);
      // No stronger than needed: it is one of the requests, or prefer when there is none.
      if (!config_mode && !from_jdbc)
        CHECK(decision.mode == SslMode::prefer);
      else
        CHECK((decision.mode == config_mode || decision.mode == from_jdbc));
      // A disagreement is reported exactly when both ask and differ.
      CHECK(decision.disagreement.has_value() ==
            (config_mode && from_jdbc && *config_mode != *from_jdbc));
      CHECK(decision.summary.find(std::string("sslmode \"") + sslmode_name(decision.mode) + "\"") !=
            std::string::npos);
    }
  }
}

TEST_CASE("the log line says which side chose the mode", "[postgres][ssl][jdbc]") {
  CHECK(decide_tls_mode(ssl_mode(SslMode::require), jdbc({})).summary ==
        "TLS: sslmode \"require\", from ssl_mode.");
  CHECK(decide_tls_mode(ssl_mode(std::nullopt), jdbc({{"ssl", "true"}})).summary ==
        "TLS: sslmode \"verify-full\", from jdbc_url_params \"ssl\".");
  CHECK(decide_tls_mode(ssl_mode(SslMode::require), jdbc({{"sslmode", "require"}})).summary ==
        "TLS: sslmode \"require\", from ssl_mode and jdbc_url_params \"sslmode\", which agree.");
  auto kept = decide_tls_mode(ssl_mode(SslMode::verify_ca), jdbc({{"sslmode", "allow"}}));
  CHECK(kept.summary == "TLS: sslmode \"verify-ca\", from ssl_mode \"verify-ca\": the stricter of "
                        "it and jdbc_url_params \"sslmode\" (\"allow\").");
  CHECK(kept.disagreement ==
        "ssl_mode \"verify-ca\" and jdbc_url_params \"sslmode\" (\"allow\") ask for different TLS "
        "modes; the stricter one, \"verify-ca\", is used. Make them agree to silence this "
        "warning.");
}

TEST_CASE("jdbc_url_params TLS keys are read as pgJDBC reads them", "[postgres][ssl][jdbc]") {
  using pgdest::postgres::is_jdbc_tls_key;
  for (const char* key :
       {"sslmode", "ssl", "sslfactory", "sslrootcert", "sslcert", "sslkey", "sslpassword"})
    CHECK(is_jdbc_tls_key(key));
  // Key names are case-sensitive in pgJDBC; the other ssl* keys have no libpq equivalent.
  for (const char* key : {"SSLMODE", "sslMode", "sslhostnameverifier", "sslfactoryarg", "user"})
    CHECK_FALSE(is_jdbc_tls_key(key));

  JdbcTlsParams read = jdbc({{"sslrootcert", "/a/root.crt"},
                             {"sslcert", "/a/client.crt"},
                             {"sslkey", "/a/client.key"},
                             {"sslpassword", "Key-Pass-19"},
                             {"connectTimeout", "5"}});
  CHECK(read.root_certificate_file == "/a/root.crt");
  CHECK(read.client_certificate_file == "/a/client.crt");
  CHECK(read.client_key_file == "/a/client.key");
  REQUIRE(read.key_password.has_value());
  CHECK(read.key_password->reveal() == "Key-Pass-19");
  CHECK_FALSE(read.sslmode.has_value());
  CHECK_FALSE(read.ssl);

  std::vector<std::string> warnings;
  read_jdbc_tls_params({{"sslfactory", "com.example.TrustEverything"}}, warnings);
  CHECK(warnings == std::vector<std::string>{
                        "jdbc_url_params \"sslfactory\" names a Java class libpq cannot use: it is "
                        "ignored, and certificates are checked as the TLS mode says."});

  try {
    read_jdbc_tls_params({{"sslmode", "Strict-Secret-5"}}, warnings);
    FAIL("an unknown sslmode was accepted");
  } catch (const pgdest::ConfigError& error) {
    CHECK(std::string(error.what()) == "jdbc_url_params \"sslmode\" must be one of disable, "
                                       "allow, prefer, require, verify-ca, verify-full.");
  }
}
