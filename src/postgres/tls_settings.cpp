// The TLS mode of a connection: ssl_mode and jdbc_url_params, the stricter one winning.
#include "pgdest/postgres/tls_settings.hpp"

#include <algorithm>
#include <cctype>
#include <iterator>

#include <fmt/format.h>

#include "pgdest/error.hpp"

namespace pgdest::postgres {
namespace {

using config::SslMode;

constexpr const char* non_validating_factory_class = "org.postgresql.ssl.NonValidatingFactory";

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

struct ModeName {
  SslMode mode;
  const char* name; // libpq's spelling
};

// Every mode, from the weakest to the strictest: a mode's strength is its place here.
constexpr ModeName kModes[] = {
    {SslMode::disable, "disable"},     {SslMode::allow, "allow"},
    {SslMode::prefer, "prefer"},       {SslMode::require, "require"},
    {SslMode::verify_ca, "verify-ca"}, {SslMode::verify_full, "verify-full"}};

size_t strength(SslMode mode) {
  size_t place = 0;
  while (place + 1 < std::size(kModes) && kModes[place].mode != mode)
    ++place;
  return place;
}

SslMode jdbc_sslmode(const std::string& value) {
  for (const auto& [mode, name] : kModes)
    if (lower(value) == name)
      return mode;
  throw ConfigError("jdbc_url_params \"sslmode\" must be one of disable, allow, prefer, require, "
                    "verify-ca, verify-full.");
}

// pgJDBC's documentation: "the mere presence of it specifies a SSL connection". Only an explicit
// false turns it off.
bool jdbc_ssl_flag(const std::string& value) {
  return lower(value) != "false";
}

// What the jdbc_url_params keys that set the mode are called, for the log.
std::string jdbc_source(const JdbcTlsParams& jdbc) {
  if (jdbc.sslmode)
    return "jdbc_url_params \"sslmode\"";
  return jdbc.non_validating_factory ? "jdbc_url_params \"ssl\" with the non-validating sslfactory"
                                     : "jdbc_url_params \"ssl\"";
}

} // namespace

const char* sslmode_name(SslMode mode) {
  return kModes[strength(mode)].name;
}

bool is_jdbc_tls_key(const std::string& key) {
  return key == "sslmode" || key == "ssl" || key == "sslfactory" || key == "sslrootcert" ||
         key == "sslcert" || key == "sslkey" || key == "sslpassword";
}

JdbcTlsParams read_jdbc_tls_params(const std::vector<std::pair<std::string, std::string>>& params,
                                   std::vector<std::string>& warnings) {
  JdbcTlsParams jdbc;
  bool other_factory = false;
  for (const auto& [key, value] : params) {
    if (key == "sslmode") {
      jdbc.sslmode = jdbc_sslmode(value);
    } else if (key == "ssl") {
      jdbc.ssl = jdbc_ssl_flag(value);
    } else if (key == "sslfactory") {
      jdbc.non_validating_factory = value == non_validating_factory_class;
      other_factory = !jdbc.non_validating_factory;
    } else if (key == "sslrootcert") {
      jdbc.root_certificate_file = value;
    } else if (key == "sslcert") {
      jdbc.client_certificate_file = value;
    } else if (key == "sslkey") {
      jdbc.client_key_file = value;
    } else if (key == "sslpassword") {
      jdbc.key_password = config::Secret(value);
    }
  }
  if (other_factory)
    warnings.push_back("jdbc_url_params \"sslfactory\" names a Java class libpq cannot use: it is "
                       "ignored, and certificates are checked as the TLS mode says.");
  return jdbc;
}

std::optional<SslMode> jdbc_requested_mode(const JdbcTlsParams& jdbc, bool ssl_mode_given) {
  if (jdbc.sslmode)
    return jdbc.sslmode;
  if (!jdbc.ssl)
    return std::nullopt;
  // pgJDBC reads a bare ssl=true as verify-full; Airbyte's connector sets sslmode from ssl_mode
  // when there is one, and ssl=true then only asks for TLS.
  if (ssl_mode_given || jdbc.non_validating_factory)
    return SslMode::require;
  return SslMode::verify_full;
}

SslMode stricter(SslMode a, SslMode b) {
  return strength(b) > strength(a) ? b : a;
}

TlsDecision decide_tls_mode(const config::SslConfig& ssl, const JdbcTlsParams& jdbc) {
  TlsDecision decision;
  std::optional<SslMode> from_jdbc = jdbc_requested_mode(jdbc, ssl.mode.has_value());
  if (!ssl.mode && !from_jdbc) {
    decision.mode = SslMode::prefer;
    decision.summary =
        "TLS: sslmode \"prefer\", as Airbyte's connector uses without ssl_mode: TLS when the "
        "server offers it, unencrypted otherwise. Set ssl_mode to \"require\" or stricter to "
        "insist on TLS.";
    return decision;
  }
  if (!from_jdbc) {
    decision.mode = *ssl.mode;
    decision.summary = fmt::format("TLS: sslmode \"{}\", from ssl_mode.", sslmode_name(*ssl.mode));
    return decision;
  }
  if (!ssl.mode) {
    decision.mode = *from_jdbc;
    decision.summary =
        fmt::format("TLS: sslmode \"{}\", from {}.", sslmode_name(*from_jdbc), jdbc_source(jdbc));
    return decision;
  }
  decision.mode = stricter(*ssl.mode, *from_jdbc);
  if (*ssl.mode == *from_jdbc) {
    decision.summary = fmt::format("TLS: sslmode \"{}\", from ssl_mode and {}, which agree.",
                                   sslmode_name(decision.mode), jdbc_source(jdbc));
    return decision;
  }
  bool jdbc_wins = decision.mode == *from_jdbc;
  std::string config_side = fmt::format("ssl_mode \"{}\"", sslmode_name(*ssl.mode));
  std::string jdbc_side = fmt::format("{} (\"{}\")", jdbc_source(jdbc), sslmode_name(*from_jdbc));
  decision.summary = fmt::format("TLS: sslmode \"{}\", from {}: the stricter of it and {}.",
                                 sslmode_name(decision.mode), jdbc_wins ? jdbc_side : config_side,
                                 jdbc_wins ? config_side : jdbc_side);
  decision.disagreement = fmt::format(
      "{} and {} ask for different TLS modes; the stricter one, \"{}\", is used. Make them agree "
      "to silence this warning.",
      config_side, jdbc_side, sslmode_name(decision.mode));
  return decision;
}

} // namespace pgdest::postgres
