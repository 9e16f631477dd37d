#pragma once
// What PostgreSQL or libpq reported → a cause, the project's Error kind (config / transient /
// system) and what to tell the user: one table, used by `check` and `write` alike.
#include <string>
#include <string_view>
#include <utility>

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
  client_key_unusable,         // the client key is encrypted, its password wrong, or it mismatches
  root_certificate_missing,    // verify-ca/verify-full without any CA certificate to check with
  tls_setup_failed,            // the CA or client certificate could not be used
  host_not_allowed,            // no pg_hba.conf entry for this host/user/database
  setting_rejected,            // the server refused a setting passed in jdbc_url_params
  startup_options_refused,     // a pooler refused the startup `options` (jdbc_url_params)
  too_many_connections,        // 53300
  role_connection_limit,       // 53300 for the role: its CONNECTION LIMIT is reached
  login_not_permitted,         // the role exists but may not log in (NOLOGIN)
  lock_timeout,                // 55P03: another session's lock outlasted lock_timeout
  server_unavailable,          // starting up, shutting down, in recovery (57P01-57P03)
  connection_lost,             // class 08, the connection broke
  database_privilege_missing,  // 42501 on the database: may not create the schema
  schema_privilege_missing,    // 42501 on a schema: may not create tables in it
  permission_denied,           // any other 42501
  schema_missing,              // 3F000
  read_only,                   // 25006: a standby or a read-only transaction
  serialization_failure,       // 40001
  deadlock,                    // 40P01
  insufficient_resources,      // class 53 but 53300: disk full, out of memory
  commit_unknown,              // the connection broke during COMMIT: outcome unknown
  not_null_violation,          // 23502
  foreign_key_violation,       // 23503
  unique_violation,            // 23505
  check_violation,             // 23514
  exclusion_violation,         // 23P01
  constraint_violation,        // any other class 23
  value_rejected,              // class 22: a value the column's type or limit does not take
  // The hops of an SSH tunnel (tunnel_method), as the tunnel reports them.
  bastion_unknown,                   // tunnel_host does not resolve
  bastion_unreachable,               // no TCP connection to the bastion
  bastion_handshake_failed,          // the bastion did not complete an SSH handshake
  ssh_key_unusable,                  // ssh_key cannot be read, or has a passphrase
  bastion_key_rejected,              // the bastion refused tunnel_user's key
  bastion_password_rejected,         // the bastion refused tunnel_user's password
  bastion_forwarding_refused,        // the bastion does not forward connections for tunnel_user
  database_unreachable_from_bastion, // the bastion could not connect to host:port
  other,
};

// What the server reported about a failed statement, field by field (libpq's PG_DIAG_*).
// `detail` and `context` may quote record values; they are only read, never shown.
struct ServerReport {
  std::string sqlstate;
  std::string primary; // the primary message
  std::string detail;
  std::string context;
  std::string schema;
  std::string table;
  std::string column;
  std::string constraint;
};

struct FailureDiagnosis {
  FailureCause cause = FailureCause::other;
  FailureType type = FailureType::system_error;
  std::string sqlstate; // empty when only libpq's text is known
  // The server's or libpq's message on one line, severity prefix removed, and never a record
  // value: for errors that may quote values, a description made of names only.
  std::string server_text;
  // Names the failure concerns, when known (never values).
  std::string schema;
  std::string table;
  std::string column;
  std::string constraint;
};

// Who and where, for the messages: what the connection was made with.
struct FailureSubject {
  std::string endpoint; // "host:port"
  std::string host;
  std::string user;
  std::string database;
  std::string ssl_mode; // libpq spelling, "disable" ... "verify-full"
  int connect_timeout_seconds = 0;
  // With an SSH tunnel: the bastion's host, "host:port", and the user logging in to it.
  std::string tunnel_host;
  std::string tunnel_endpoint;
  std::string tunnel_user;
};

// Looks at what libpq reports when there is no result to read fields from (connection failures):
// a SQLSTATE (empty when there is none) and the message text. Lines after the first message
// (DETAIL, HINT, CONTEXT, QUERY) are dropped.
FailureDiagnosis diagnose(const std::string& sqlstate, std::string_view text);

// Looks at a failed statement's fields; the diagnosis quotes no record value.
FailureDiagnosis diagnose(const ServerReport& report);

// A diagnosis made without the server: `cause` as found by the client itself (e.g. a privilege
// check), with the type the table gives it.
FailureDiagnosis diagnosis_of(FailureCause cause);

// A diagnosis made by the client itself with what it knows of the failure (`detail`: no secret,
// no record value), e.g. a tunnel's failing hop, with the type the table gives the cause.
FailureDiagnosis diagnosis_of(FailureCause cause, std::string detail);

// What to tell the user about a diagnosis, from the table: what happened and what to do, with
// names filled in. For a cause the table has no words for, the server's text.
std::string describe(const FailureDiagnosis& diagnosis, const FailureSubject& subject);

// True when `error` came from the server with SQLSTATE `sqlstate` (e.g. "55P03").
bool has_sqlstate(const Error& error, std::string_view sqlstate);

// True when the table has words of its own for `cause` (they then need no context around them
// to make sense on a connection failure).
bool has_own_message(FailureCause cause);

// An Error that keeps the cause it was diagnosed with, for callers that act on the cause.
class DiagnosedError : public Error {
public:
  DiagnosedError(Error error, FailureCause cause) : Error(std::move(error)), cause_(cause) {}
  FailureCause cause() const { return cause_; }

private:
  FailureCause cause_;
};

// The Error for a diagnosis made while doing `context` (e.g. "PostgreSQL failed while creating
// table \"s\".\"t\""): "<context>: <describe()>", or describe() alone when `context` is empty.
// internal_message is "SQLSTATE <code>: <server text>", or "libpq: <text>" without a SQLSTATE.
DiagnosedError to_error(const FailureDiagnosis& diagnosis, const FailureSubject& subject,
                        const std::string& context);

// True for the kinds worth retrying with backoff: the transient ones.
bool is_retryable(const Error& error);

// True when the server (or a pooler) refused a new connection for want of a free slot: too many
// clients, or the role's CONNECTION LIMIT.
bool is_out_of_connection_slots(const Error& error);

} // namespace pgdest::postgres
