// SQLSTATE / libpq text → cause and error kind, and the one table of what to tell the user.
#include "pgdest/postgres/error_classifier.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <string_view>

#include <fmt/format.h>

#include "pgdest/postgres/identifier.hpp"

namespace pgdest::postgres {
namespace {

using C = FailureCause;
constexpr FailureType config_error = FailureType::config_error;
constexpr FailureType transient_error = FailureType::transient_error;
constexpr FailureType system_error = FailureType::system_error;

// One row per cause: its error kind and what to tell the user. Placeholders: {endpoint} {host}
// {user} {database} {ssl_mode} {connect_timeout} (the connection), {schema} {table} {column}
// {constraint} (what failed), {user_sql} {database_sql} {schema_sql} (quoted for SQL the user is
// told to run), {detail} (the server's text, which never holds a record value), {tunnel_host}
// {tunnel_endpoint} {tunnel_user} (the SSH bastion, with a tunnel). An empty message
// means the server's text says it all.
struct FailureText {
  FailureCause cause;
  FailureType type;
  const char* message;
};

constexpr FailureText kFailureTexts[] = {
    {C::host_unknown, config_error,
     "Could not resolve host \"{host}\": no such host is known. Check the host name (and the DNS "
     "settings of the machine running the connector)."},
    {C::connection_refused, transient_error,
     "Could not connect to {endpoint}: the connection was refused. Check the host and port, and "
     "that PostgreSQL is running and accepts TCP connections there."},
    {C::connection_timeout, transient_error,
     "Could not connect to {endpoint} within {connect_timeout} seconds. Check the host and port, "
     "and that no firewall drops the connection."},
    {C::host_unreachable, transient_error,
     "Could not connect to {endpoint}: the host is unreachable. Check the host, and the network "
     "route or firewall between the connector and the server."},
    {C::authentication_failed, config_error,
     "Authentication failed for user \"{user}\". Check the username and password."},
    {C::database_missing, config_error,
     "Database \"{database}\" does not exist on {endpoint}. Check the database name, or create the "
     "database: CREATE DATABASE {database_sql};"},
    {C::tls_required, config_error,
     "The server requires an encrypted (TLS) connection for user \"{user}\", but the TLS mode "
     "is \"{ssl_mode}\". Set ssl_mode to \"require\", \"verify-ca\" or \"verify-full\"."},
    {C::tls_unsupported, config_error,
     "The server at {endpoint} does not accept TLS connections, but the TLS mode \"{ssl_mode}\" "
     "requires TLS. Enable ssl on the server, or set ssl_mode to \"prefer\" or \"disable\" "
     "(and sslmode and ssl in jdbc_url_params too, if set: the stricter mode wins)."},
    {C::certificate_rejected, config_error,
     "The server's TLS certificate was rejected: it is not signed by the CA given in "
     "ssl_mode.ca_certificate or in the jdbc_url_params sslrootcert file (TLS mode "
     "\"{ssl_mode}\"). Set ssl_mode.ca_certificate to the certificate of the CA that signed the "
     "server's certificate."},
    {C::certificate_host_mismatch, config_error,
     "The server's TLS certificate does not match host \"{host}\" (TLS mode \"verify-full\"). Use "
     "the host name the certificate was issued for, or set ssl_mode to \"verify-ca\" to skip the "
     "host name check."},
    {C::client_certificate_rejected, config_error,
     "The server rejected the client certificate. Use a certificate signed by a CA the server "
     "trusts, and its key (ssl_mode.client_certificate and ssl_mode.client_key, or the sslcert "
     "and sslkey files in jdbc_url_params)."},
    {C::client_key_unusable, config_error,
     "The client key could not be used: it is encrypted and its password "
     "(ssl_mode.client_key_password, or sslpassword in jdbc_url_params) is missing or wrong, or "
     "it does not belong to the client certificate. Check the client key and its password."},
    {C::root_certificate_missing, config_error,
     "The TLS mode \"{ssl_mode}\" checks the server's certificate, but no CA certificate was "
     "given to check it with. Set ssl_mode to \"{ssl_mode}\" with ca_certificate, or add "
     "sslrootcert=<file> to jdbc_url_params; or, to encrypt without checking the certificate, use "
     "\"require\"."},
    {C::tls_setup_failed, config_error,
     "The TLS settings could not be used: {detail}. Check the certificates, the client key and the "
     "client key password in ssl_mode, and the files sslrootcert, sslcert and sslkey name in "
     "jdbc_url_params."},
    {C::host_not_allowed, config_error,
     "The server does not accept connections from this host for user \"{user}\" to database "
     "\"{database}\" (no matching pg_hba.conf entry). Ask the database administrator to allow "
     "it."},
    {C::setting_rejected, config_error,
     "The server at {endpoint} refused a setting from jdbc_url_params: {detail}. Check the names "
     "and values in jdbc_url_params."},
    {C::startup_options_refused, config_error,
     "The server at {endpoint} refused the session settings from jdbc_url_params (options, "
     "currentSchema): {detail}. It is a connection pooler, which keeps no session settings: "
     "remove options and currentSchema from jdbc_url_params, or connect to the server directly."},
    {C::too_many_connections, transient_error,
     "The server at {endpoint} has no free connection slots (too many clients). Try again later, "
     "or raise max_connections on the server."},
    {C::role_connection_limit, transient_error,
     "Could not connect to {endpoint}: {detail}. User \"{user}\" has reached its CONNECTION LIMIT: "
     "close other sessions of the "
     "user, try again later, or raise the limit with ALTER ROLE {user_sql} CONNECTION LIMIT …;"},
    {C::login_not_permitted, config_error,
     "Could not connect to {endpoint}: {detail}. Let the role log in (ALTER ROLE {user_sql} "
     "LOGIN;), or use another user."},
    {C::lock_timeout, transient_error,
     "{detail}. Another session held a lock on the table longer than lock_timeout allows; find it "
     "in pg_locks and pg_stat_activity, or raise lock_timeout for user \"{user}\". The next "
     "attempt tries again."},
    {C::server_unavailable, transient_error,
     "The server at {endpoint} is starting up, shutting down or in recovery. Try again in a "
     "moment."},
    {C::connection_lost, transient_error, ""},
    {C::database_privilege_missing, config_error,
     "Permission denied: user \"{user}\" may not create schema \"{schema}\" in database "
     "\"{database}\". Create the schema, or let the user create it; as a superuser or the database "
     "owner, run: GRANT CREATE ON DATABASE {database_sql} TO {user_sql};"},
    {C::schema_privilege_missing, config_error,
     "Permission denied: user \"{user}\" may not create tables in schema \"{schema}\". As a "
     "superuser or the schema owner, run: GRANT USAGE, CREATE ON SCHEMA {schema_sql} TO "
     "{user_sql};"},
    {C::permission_denied, config_error,
     "{detail}. Grant the missing privilege to user \"{user}\"."},
    {C::schema_missing, config_error, "{detail}. Check the schema name."},
    {C::read_only, config_error,
     "{detail}. Connect to the primary server, not a read-only standby."},
    {C::serialization_failure, transient_error, ""},
    {C::deadlock, transient_error, ""},
    {C::insufficient_resources, transient_error,
     "{detail}. The server is short of disk space or memory; free some and run the sync again."},
    {C::commit_unknown, system_error,
     "{detail}. Check whether the last commit took effect before retrying."},
    {C::not_null_violation, config_error,
     "A record has no value for column \"{column}\" of table {table}, which is NOT NULL. Drop the "
     "NOT NULL constraint, or make the source send a value."},
    {C::foreign_key_violation, config_error,
     "A record violates foreign key constraint \"{constraint}\" of table {table}. Drop the "
     "constraint: rows arrive in the source's order, not the order the key needs."},
    {C::unique_violation, config_error,
     "A record violates unique constraint \"{constraint}\" of table {table}. Drop the constraint "
     "or unique index: append syncs keep every record, and dedup syncs hold several rows per key "
     "until they commit."},
    {C::check_violation, config_error,
     "A record violates check constraint \"{constraint}\" of table {table}. Drop or change the "
     "constraint, or fix the records at the source."},
    {C::exclusion_violation, config_error,
     "A record violates exclusion constraint \"{constraint}\" of table {table}. Drop the "
     "constraint, or fix the records at the source."},
    {C::constraint_violation, config_error,
     "A record violates a constraint of table {table}. Drop or change the constraint, or fix the "
     "records at the source."},
    {C::value_rejected, system_error, ""},
    {C::bastion_unknown, config_error,
     "Could not resolve the SSH bastion host \"{tunnel_host}\": {detail}. Check "
     "tunnel_method.tunnel_host (and the DNS settings of the machine running the connector)."},
    {C::bastion_unreachable, transient_error,
     "Could not connect to the SSH bastion {tunnel_endpoint}: {detail}. Check "
     "tunnel_method.tunnel_host and tunnel_port, that the SSH server runs there, and that no "
     "firewall drops the connection."},
    {C::bastion_handshake_failed, config_error,
     "The SSH bastion {tunnel_endpoint} did not complete the SSH handshake: {detail}. Check that "
     "tunnel_method.tunnel_port is the bastion's SSH port."},
    {C::ssh_key_unusable, config_error,
     "tunnel_method.ssh_key cannot be used: {detail}. Paste the whole private key file, without a "
     "passphrase: one made with ssh-keygen -t rsa -m PEM or ssh-keygen -t ed25519 (ssh-keygen -p "
     "-N \"\" -f <key file> removes a passphrase)."},
    {C::bastion_key_rejected, config_error,
     "The SSH bastion {tunnel_endpoint} refused the key in tunnel_method.ssh_key for user "
     "\"{tunnel_user}\". Add the key's public half to that user's authorized_keys on the bastion, "
     "or check tunnel_method.tunnel_user."},
    {C::bastion_password_rejected, config_error,
     "The SSH bastion {tunnel_endpoint} refused the password for user \"{tunnel_user}\". Check "
     "tunnel_method.tunnel_user and tunnel_method.tunnel_user_password."},
    {C::bastion_forwarding_refused, config_error,
     "The SSH bastion {tunnel_endpoint} does not forward user \"{tunnel_user}\"'s connections to "
     "{endpoint} ({detail}). Allow them on the bastion (AllowTcpForwarding and PermitOpen in "
     "sshd_config)."},
    {C::database_unreachable_from_bastion, transient_error,
     "The SSH bastion {tunnel_endpoint} could not connect to the database at {endpoint}: "
     "{detail}. Check host and port as the bastion sees them, and that PostgreSQL runs there and "
     "accepts TCP connections from the bastion."},
    {C::other, system_error, ""},
};

const FailureText& failure_text(FailureCause cause) {
  for (const auto& text : kFailureTexts)
    if (text.cause == cause)
      return text;
  return kFailureTexts[std::size(kFailureTexts) - 1];
}

void set(FailureDiagnosis& diagnosis, FailureCause cause) {
  diagnosis.cause = cause;
  diagnosis.type = failure_text(cause).type;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool contains_any(const std::string& haystack, std::initializer_list<std::string_view> needles) {
  return std::any_of(needles.begin(), needles.end(), [&](std::string_view needle) {
    return haystack.find(needle) != std::string::npos;
  });
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// Only the message itself: libpq appends DETAIL, HINT, CONTEXT and QUERY lines (and "LINE n:"
// with the statement), which may quote values.
std::string_view without_detail_lines(std::string_view text) {
  for (std::string_view marker :
       {"\nDETAIL:", "\nHINT:", "\nCONTEXT:", "\nQUERY:", "\nLINE ", "\nSTATEMENT:"}) {
    size_t at = text.find(marker);
    if (at != std::string_view::npos)
      text = text.substr(0, at);
  }
  return text;
}

// One line, runs of white space collapsed, libpq's severity prefixes ("FATAL:  ") removed.
std::string normalise(std::string_view text) {
  std::string out;
  bool pending_space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space)
      out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  for (std::string_view prefix : {"FATAL: ", "ERROR: ", "PANIC: "}) {
    for (size_t at = out.find(prefix); at != std::string::npos; at = out.find(prefix, at))
      out.erase(at, prefix.size());
  }
  return out;
}

// A class 22 message with what may be a value taken out: quoted text, and words that are numbers
// or byte sequences ("invalid input syntax for type integer: "…"").
std::string without_values(std::string_view text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '"') {
      size_t close = text.find('"', i + 1);
      out += "\"…\"";
      i = close == std::string_view::npos ? text.size() : close + 1;
      continue;
    }
    size_t end = i;
    while (end < text.size() && text[end] != ' ' && text[end] != '"')
      ++end;
    std::string_view word = text.substr(i, end - i);
    std::string_view bare = word;
    while (!bare.empty() && (bare.back() == ',' || bare.back() == ':' || bare.back() == '.'))
      bare.remove_suffix(1);
    bool number = !bare.empty() && bare.find_first_not_of("0123456789+-.eE") == std::string::npos &&
                  bare.find_first_of("0123456789") != std::string::npos;
    bool bytes = starts_with(bare, "0x");
    if (number || bytes) {
      out += "…";
      out += word.substr(bare.size());
    } else {
      out += word;
    }
    if (end < text.size() && text[end] == ' ')
      out.push_back(' ');
    i = end < text.size() && text[end] == ' ' ? end + 1 : end;
  }
  return out;
}

std::string quoted_name(const std::string& schema, const std::string& table) {
  if (table.empty())
    return "\"\"";
  std::string out = schema.empty() ? "" : Identifier(schema).quoted() + ".";
  return out + Identifier(table).quoted();
}

bool classify_sqlstate(FailureDiagnosis& d) {
  const std::string& code = d.sqlstate;
  std::string_view klass = std::string_view(code).substr(0, 2);
  if (klass == "08") {
    set(d, C::connection_lost);
  } else if (code == "57P01" || code == "57P02" || code == "57P03") {
    set(d, C::server_unavailable);
  } else if (code == "53300") {
    set(d, contains_any(lower(d.server_text), {"for role"}) ? C::role_connection_limit
                                                            : C::too_many_connections);
  } else if (code == "55P03") {
    set(d, C::lock_timeout);
  } else if (klass == "53") {
    set(d, C::insufficient_resources);
  } else if (code == "40001") {
    set(d, C::serialization_failure);
  } else if (code == "40P01") {
    set(d, C::deadlock);
  } else if (klass == "40") {
    set(d, C::other);
    d.type = transient_error; // another transaction rollback: worth a new attempt
  } else if (klass == "28") {
    set(d, C::authentication_failed);
  } else if (code == "3D000") {
    set(d, C::database_missing);
  } else if (code == "42501") {
    // PostgreSQL names the object: "permission denied for schema s".
    const std::string_view for_schema = "permission denied for schema ";
    if (starts_with(d.server_text, for_schema) && d.schema.empty()) {
      d.schema = d.server_text.substr(for_schema.size());
      set(d, C::schema_privilege_missing);
    } else {
      set(d, C::permission_denied);
    }
  } else if (code == "3F000") {
    set(d, C::schema_missing);
  } else if (code == "25006") {
    set(d, C::read_only);
  } else if (code == "23502") {
    set(d, C::not_null_violation);
  } else if (code == "23503") {
    set(d, C::foreign_key_violation);
  } else if (code == "23505") {
    set(d, C::unique_violation);
  } else if (code == "23514") {
    set(d, C::check_violation);
  } else if (code == "23P01") {
    set(d, C::exclusion_violation);
  } else if (klass == "23") {
    set(d, C::constraint_violation);
  } else if (klass == "22") {
    set(d, C::value_rejected);
  } else {
    return false;
  }
  return true;
}

// Connection failures reach us as libpq's English text only (no SQLSTATE): match on it.
bool classify_text(FailureDiagnosis& d) {
  std::string text = lower(d.server_text);
  if (contains_any(text, {"is not permitted to log in"})) {
    set(d, C::login_not_permitted);
  } else if (contains_any(text, {"too many connections for role"})) {
    set(d, C::role_connection_limit);
  } else if (contains_any(text, {"could not translate host name"})) {
    set(d, C::host_unknown);
    if (contains_any(text, {"temporary failure"}))
      d.type = transient_error;
  } else if (contains_any(
                 text, {"authentication failed", "no password supplied", "password is required"}) ||
             (contains_any(text, {"role \""}) && contains_any(text, {"does not exist"}))) {
    set(d, C::authentication_failed);
  } else if (contains_any(text, {"database \""}) && contains_any(text, {"does not exist"})) {
    set(d, C::database_missing);
  } else if (contains_any(text, {"pg_hba.conf"})) {
    set(d, contains_any(text, {"no encryption"}) ? C::tls_required : C::host_not_allowed);
  } else if (contains_any(text, {"server does not support ssl"})) {
    set(d, C::tls_unsupported);
  } else if (contains_any(text, {"does not match host name"})) {
    set(d, C::certificate_host_mismatch);
  } else if (contains_any(text, {"certificate verify failed"})) {
    set(d, C::certificate_rejected);
  } else if (contains_any(text, {"root certificate file"}) &&
             contains_any(text, {"does not exist"})) {
    set(d, C::root_certificate_missing);
  } else if (contains_any(text, {"alert unknown ca", "alert bad certificate",
                                 "alert certificate required", "alert certificate unknown"})) {
    set(d, C::client_certificate_rejected);
  } else if (contains_any(text,
                          {"root certificate file", "could not read root certificate",
                           "certificate file", "private key file", "could not load private key",
                           "certificate present, but not private key", "bad decrypt",
                           "could not load ssl"})) {
    set(d, contains_any(text, {"private key"}) ? C::client_key_unusable : C::tls_setup_failed);
  } else if (contains_any(text, {"invalid value for parameter",
                                 "is outside the valid range for "
                                 "parameter",
                                 "requires a boolean value", "requires a numeric value",
                                 "unrecognized configuration parameter",
                                 "invalid command-line argument", "requires a value"})) {
    set(d, C::setting_rejected);
  } else if (contains_any(text, {"unsupported startup parameter"})) {
    set(d, C::startup_options_refused); // PgBouncer's words
  } else if (contains_any(text, {"too many clients", "remaining connection slots are reserved",
                                 "no more connections allowed"})) { // the last: PgBouncer's words
    set(d, C::too_many_connections);
  } else if (contains_any(text, {"the database system is", "terminating connection due to"})) {
    set(d, C::server_unavailable);
  } else if (contains_any(text, {"connection refused"})) {
    set(d, C::connection_refused);
  } else if (contains_any(text, {"timeout expired", "timed out"})) {
    set(d, C::connection_timeout);
  } else if (contains_any(text,
                          {"no route to host", "network is unreachable", "host is unreachable"})) {
    set(d, C::host_unreachable);
  } else if (contains_any(text, {"server closed the connection", "could not receive data",
                                 "could not send data", "connection not open", "ssl syscall error",
                                 "unexpected eof", "lost connection", "connection reset"})) {
    set(d, C::connection_lost);
  } else {
    return false;
  }
  return true;
}

// Text raised by a user's function or trigger can say anything, record values included.
bool raised_by_user_code(const ServerReport& report) {
  return starts_with(report.sqlstate, "P0") ||
         report.context.find("PL/pgSQL") != std::string::npos ||
         report.context.find("SQL function") != std::string::npos;
}

// For class 23: what PostgreSQL says, rebuilt from names (its DETAIL holds the row or key).
std::string constraint_text(const FailureDiagnosis& d) {
  std::string table = quoted_name(d.schema, d.table);
  if (d.sqlstate == "23502")
    return fmt::format("null value in column \"{}\" of table {} violates not-null constraint",
                       d.column, table);
  const char* kind = d.sqlstate == "23503"   ? "foreign key "
                     : d.sqlstate == "23505" ? "unique "
                     : d.sqlstate == "23514" ? "check "
                     : d.sqlstate == "23P01" ? "exclusion "
                                             : "";
  return fmt::format("row of table {} violates {}constraint \"{}\"", table, kind, d.constraint);
}

} // namespace

FailureDiagnosis diagnose(const std::string& sqlstate, std::string_view text) {
  FailureDiagnosis d;
  d.sqlstate = sqlstate;
  d.server_text = normalise(without_detail_lines(text));
  if (starts_with(d.sqlstate, "22"))
    d.server_text = without_values(d.server_text);
  if (!d.sqlstate.empty() && classify_sqlstate(d))
    return d;
  classify_text(d);
  return d;
}

FailureDiagnosis diagnose(const ServerReport& report) {
  FailureDiagnosis d;
  d.sqlstate = report.sqlstate;
  d.schema = report.schema;
  d.table = report.table;
  d.column = report.column;
  d.constraint = report.constraint;
  std::string primary = normalise(without_detail_lines(report.primary));
  if (raised_by_user_code(report))
    d.server_text = fmt::format("a function or trigger raised SQLSTATE {}; its text is not shown, "
                                "as it may contain record values",
                                d.sqlstate);
  else if (starts_with(d.sqlstate, "23"))
    d.server_text = constraint_text(d);
  else if (starts_with(d.sqlstate, "22"))
    d.server_text = without_values(primary);
  else
    d.server_text = primary;
  if (!(!d.sqlstate.empty() && classify_sqlstate(d)))
    classify_text(d);
  return d;
}

FailureDiagnosis diagnosis_of(FailureCause cause) {
  FailureDiagnosis d;
  set(d, cause);
  return d;
}

FailureDiagnosis diagnosis_of(FailureCause cause, std::string detail) {
  FailureDiagnosis d = diagnosis_of(cause);
  d.server_text = std::move(detail);
  return d;
}

bool has_own_message(FailureCause cause) {
  return *failure_text(cause).message != '\0';
}

std::string describe(const FailureDiagnosis& d, const FailureSubject& subject) {
  // libpq's "connection to server at "h", port p failed: " repeats what the message says.
  std::string detail = d.server_text;
  if (starts_with(detail, "connection to server ")) {
    const std::string_view failed = " failed: ";
    size_t at = detail.find(failed);
    if (at != std::string::npos)
      detail.erase(0, at + failed.size());
  }
  while (!detail.empty() && (detail.back() == '.' || detail.back() == ' '))
    detail.pop_back();
  const char* message = failure_text(d.cause).message;
  if (*message == '\0')
    return detail.empty() ? "PostgreSQL reported an error without a message." : detail + ".";
  return fmt::format(
      fmt::runtime(message), fmt::arg("endpoint", subject.endpoint), fmt::arg("host", subject.host),
      fmt::arg("user", subject.user), fmt::arg("database", subject.database),
      fmt::arg("ssl_mode", subject.ssl_mode),
      fmt::arg("connect_timeout", subject.connect_timeout_seconds), fmt::arg("schema", d.schema),
      fmt::arg("table", quoted_name(d.schema, d.table)), fmt::arg("column", d.column),
      fmt::arg("constraint", d.constraint), fmt::arg("user_sql", Identifier(subject.user).quoted()),
      fmt::arg("database_sql", Identifier(subject.database).quoted()),
      fmt::arg("schema_sql", Identifier(d.schema).quoted()), fmt::arg("detail", detail),
      fmt::arg("tunnel_host", subject.tunnel_host),
      fmt::arg("tunnel_endpoint", subject.tunnel_endpoint),
      fmt::arg("tunnel_user", subject.tunnel_user));
}

DiagnosedError to_error(const FailureDiagnosis& d, const FailureSubject& subject,
                        const std::string& context) {
  std::string described = describe(d, subject);
  std::string message = context.empty() ? described : context + ": " + described;
  std::string internal = d.sqlstate.empty()
                             ? "libpq: " + d.server_text
                             : fmt::format("SQLSTATE {}: {}", d.sqlstate, d.server_text);
  return DiagnosedError(Error(d.type, message, internal), d.cause);
}

bool has_sqlstate(const Error& error, std::string_view sqlstate) {
  // to_error() starts the internal message with the SQLSTATE.
  return error.internal_message().rfind(fmt::format("SQLSTATE {}:", sqlstate), 0) == 0;
}

bool is_retryable(const Error& error) {
  return error.failure_type() == FailureType::transient_error;
}

bool is_out_of_connection_slots(const Error& error) {
  const auto* diagnosed = dynamic_cast<const DiagnosedError*>(&error);
  return diagnosed != nullptr && (diagnosed->cause() == C::too_many_connections ||
                                  diagnosed->cause() == C::role_connection_limit);
}

} // namespace pgdest::postgres
