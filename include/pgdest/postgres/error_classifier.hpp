#pragma once
// libpqxx exceptions → the project's Error kinds (config / transient / system), by SQLSTATE, by
// exception type, and for connection failures (which carry no SQLSTATE) by libpq's text.
#include <exception>
#include <string>
#include <string_view>

#include "pgdest/error.hpp"

namespace pgdest::postgres {

// What went wrong, as far as the client can tell.
enum class FailureCause {
  host_unknown,                // the host name does not resolve
  connection_refused,          // nothing listens on host:port
  connection_timeout,          // no answer within connect_timeout
  host_unreachable,            // no route to the host
  authentication_failed,       // wrong password, unknown user
  database_missing,            // 3D000
  tls_required,                // pg_hba.conf rejects unencrypted connections for this user
  tls_unsupported,             // sslmode needs TLS, the server has it off
  certificate_rejected,        // the server's certificate is not signed by the given CA
  certificate_host_mismatch,   // verify-full: the certificate is for another host name
  client_certificate_rejected, // the server did not accept our client certificate
  tls_setup_failed,            // the CA, client certificate or key could not be used
  host_not_allowed,            // no pg_hba.conf entry for this host/user/database
  too_many_connections,        // 53300
  server_unavailable,          // starting up, shutting down, in recovery (57P01-57P03)
  connection_lost,             // class 08, the connection broke
  permission_denied,           // 42501
  schema_missing,              // 3F000
  read_only,                   // 25006: a standby or a read-only transaction
  serialization_failure,       // 40001
  deadlock,                    // 40P01
  insufficient_resources,      // class 53 but 53300: disk full, out of memory
  commit_unknown,              // the connection broke during COMMIT: outcome unknown
  other,
};

struct FailureDiagnosis {
  FailureCause cause = FailureCause::other;
  FailureType type = FailureType::system_error;
  std::string sqlstate;    // empty when only libpq's text is known
  std::string server_text; // the server's or libpq's message on one line, severity prefix removed
};

// Looks at a libpqxx (or any) exception.
FailureDiagnosis diagnose(const std::exception& error);

// Looks at what libpq reports directly: a SQLSTATE (empty when there is none, as for connection
// failures) and the message text.
FailureDiagnosis diagnose(const std::string& sqlstate, std::string_view text);

// The Error for a diagnosis made while doing `context`; see classify_error.
Error to_error(const FailureDiagnosis& diagnosis, const std::string& context);

// The Error to throw for `error` while doing `context` (e.g. "Creating table \"s\".\"t\"").
// Its message is "<context>: <what happened>[. <what to do>]"; internal_message is
// "SQLSTATE <code>: <server text>" or "libpq: <text>" when there is no SQLSTATE. A pgdest::Error
// passes through with the context prepended.
Error classify_error(const std::exception& error, const std::string& context);

// True for the kinds worth retrying with backoff: the transient ones.
bool is_retryable(const Error& error);

} // namespace pgdest::postgres
