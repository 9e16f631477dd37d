#pragma once
// How to reach the server: the libpq connection string and the in-memory files TLS needs.
#include <string>
#include <utility>
#include <vector>

#include "pgdest/config/destination_config.hpp"
#include "pgdest/postgres/memory_file.hpp"

namespace pgdest::postgres {

// libpq settings built from a DestinationConfig: host, credentials, sslmode (the stricter of
// ssl_mode and jdbc_url_params, see tls_settings.hpp) and certificates,
// connect_timeout (10 s unless jdbc_url_params says otherwise), application_name, client
// encoding, TCP keepalives, and the jdbc_url_params that have a libpq equivalent. Certificates
// and keys live in in-memory files (never on disk) exactly as long as this object.
class ConnectionOptions {
public:
  static constexpr int default_connect_timeout_seconds = 10;

  // Throws ConfigError for a jdbc_url_params value libpq cannot use, SystemError when a
  // certificate's in-memory file cannot be made.
  explicit ConnectionOptions(const config::DestinationConfig& config);

  // The libpq connection string, password included: hand it to libpq only, never log it or put
  // it in an error.
  const std::string& conninfo_with_password() const { return conninfo_with_password_; }
  // The same, for a server reached through a tunnel's local port: libpq connects to
  // 127.0.0.1:`local_port` (hostaddr) and keeps `host` for TLS host name checks and messages.
  std::string conninfo_with_password_via(int local_port) const;
  // The same string with every secret (password, key password, and the values taken from
  // jdbc_url_params: options, application_name) replaced by ****, for logs.
  const std::string& redacted_conninfo() const { return redacted_conninfo_; }
  // libpq parameters in order, secrets redacted (for tests and logs).
  const std::vector<std::pair<std::string, std::string>>& redacted_parameters() const {
    return redacted_parameters_;
  }
  // "host:port" ("[v6]:port" for IPv6 addresses), for messages.
  const std::string& endpoint() const { return endpoint_; }
  int connect_timeout_seconds() const { return connect_timeout_seconds_; }
  // jdbc_url_params that were ignored, and why, and TLS settings that disagree; never holds a
  // value.
  const std::vector<std::string>& warnings() const { return warnings_; }
  // The TLS mode used and what chose it (ssl_mode, jdbc_url_params or the default), one line.
  const std::string& tls_summary() const { return tls_summary_; }
  // The /proc/self/fd paths of the in-memory files holding certificates and keys (for tests).
  std::vector<std::string> private_file_paths() const;

private:
  std::vector<MemoryFile> files_;
  std::vector<std::pair<std::string, std::string>> redacted_parameters_;
  std::string conninfo_with_password_;
  std::string host_;
  std::string settings_with_password_; // everything but host and port
  std::string redacted_conninfo_;
  std::string endpoint_;
  int connect_timeout_seconds_ = default_connect_timeout_seconds;
  std::vector<std::string> warnings_;
  std::string tls_summary_;
};

// Logs what the user should know about how the connector connects: the warnings (WARN) and the
// TLS summary (INFO). `check` and `write` both call it, so both say the same.
void log_connection_settings(const ConnectionOptions& options);

// A value in libpq's conninfo syntax: single-quoted, with \ and ' escaped by a backslash.
std::string quote_conninfo_value(const std::string& value);

// `text` (a libpq or server message about a connection made with `conninfo`) with the values of
// the settings that may be secret replaced by ****: password, sslpassword, application_name and
// options (the whole value, each of its words and each word's value after "="). Only the keys of
// jdbc_url_params may be shown, never their values.
std::string redact_setting_values(std::string text, const std::string& conninfo);

} // namespace pgdest::postgres
