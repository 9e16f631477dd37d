#pragma once
// Which TLS mode a connection uses, from `ssl_mode` and the TLS keys of `jdbc_url_params`: never a
// weaker one than either asks for. Pure: no I/O.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pgdest/config/destination_config.hpp"

namespace pgdest::postgres {

// The TLS keys of jdbc_url_params, read as Airbyte's JDBC driver (pgJDBC) reads them: key names
// are case-sensitive and the last value of a key counts.
struct JdbcTlsParams {
  std::optional<config::SslMode> sslmode; // "sslmode"
  bool ssl = false;                       // "ssl" with any value but false
  bool non_validating_factory = false;    // "sslfactory=org.postgresql.ssl.NonValidatingFactory"
  std::string root_certificate_file;      // "sslrootcert"
  std::string client_certificate_file;    // "sslcert"
  std::string client_key_file;            // "sslkey"
  std::optional<config::Secret> key_password; // "sslpassword"
};

// libpq's sslmode spelling of a mode ("verify-full", ...).
const char* sslmode_name(config::SslMode mode);

// Whether `key` is one of the TLS keys read_jdbc_tls_params takes.
bool is_jdbc_tls_key(const std::string& key);

// The TLS keys of `params` (other keys are left alone). An sslmode pgJDBC would refuse is a
// ConfigError naming the key; messages never show a value. `warnings` gets a line for an
// sslfactory libpq has no equivalent for.
JdbcTlsParams read_jdbc_tls_params(const std::vector<std::pair<std::string, std::string>>& params,
                                   std::vector<std::string>& warnings);

// The mode pgJDBC takes from these keys: `sslmode` when given; else `ssl=true`, which means
// verify-full when nothing else sets a mode (`ssl_mode_given` false; with the non-validating
// factory, which skips certificate checks, require) and at least require otherwise. None when
// the keys ask for nothing.
std::optional<config::SslMode> jdbc_requested_mode(const JdbcTlsParams& jdbc, bool ssl_mode_given);

// The stricter of two modes, in the order disable < allow < prefer < require < verify-ca <
// verify-full.
config::SslMode stricter(config::SslMode a, config::SslMode b);

struct TlsDecision {
  config::SslMode mode = config::SslMode::prefer;
  // One line for the log: the mode and what chose it.
  std::string summary;
  // Set when ssl_mode and jdbc_url_params ask for different modes: says which one is used.
  std::optional<std::string> disagreement;
};

// The stricter of what ssl_mode and jdbc_url_params ask for; prefer when neither asks (what
// Airbyte's connector does then).
TlsDecision decide_tls_mode(const config::SslConfig& ssl, const JdbcTlsParams& jdbc);

} // namespace pgdest::postgres
