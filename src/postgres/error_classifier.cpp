// Turns libpqxx exceptions into config / transient / system errors with SQLSTATE and server text.
#include "pgdest/postgres/error_classifier.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <string_view>

#include <fmt/format.h>
#include <pqxx/except>

namespace pgdest::postgres {
namespace {

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

void set(FailureDiagnosis& diagnosis, FailureCause cause, FailureType type) {
  diagnosis.cause = cause;
  diagnosis.type = type;
}

bool classify_sqlstate(FailureDiagnosis& d) {
  const std::string& code = d.sqlstate;
  std::string_view klass = std::string_view(code).substr(0, 2);
  if (klass == "08") {
    set(d, FailureCause::connection_lost, FailureType::transient_error);
  } else if (code == "57P01" || code == "57P02" || code == "57P03") {
    set(d, FailureCause::server_unavailable, FailureType::transient_error);
  } else if (code == "53300") {
    set(d, FailureCause::too_many_connections, FailureType::transient_error);
  } else if (klass == "53") {
    set(d, FailureCause::insufficient_resources, FailureType::transient_error);
  } else if (code == "40001") {
    set(d, FailureCause::serialization_failure, FailureType::transient_error);
  } else if (code == "40P01") {
    set(d, FailureCause::deadlock, FailureType::transient_error);
  } else if (klass == "28") {
    set(d, FailureCause::authentication_failed, FailureType::config_error);
  } else if (code == "3D000") {
    set(d, FailureCause::database_missing, FailureType::config_error);
  } else if (code == "42501") {
    set(d, FailureCause::permission_denied, FailureType::config_error);
  } else if (code == "3F000") {
    set(d, FailureCause::schema_missing, FailureType::config_error);
  } else if (code == "25006") {
    set(d, FailureCause::read_only, FailureType::config_error);
  } else {
    return false;
  }
  return true;
}

// Connection failures reach us as libpq's English text only (no SQLSTATE): match on it.
bool classify_text(FailureDiagnosis& d) {
  using C = FailureCause;
  const auto config = FailureType::config_error;
  const auto transient = FailureType::transient_error;
  std::string text = lower(d.server_text);
  if (contains_any(text, {"could not translate host name"}))
    set(d, C::host_unknown, contains_any(text, {"temporary failure"}) ? transient : config);
  else if (contains_any(
               text, {"authentication failed", "no password supplied", "password is required"}) ||
           (contains_any(text, {"role \""}) && contains_any(text, {"does not exist"})))
    set(d, C::authentication_failed, config);
  else if (contains_any(text, {"database \""}) && contains_any(text, {"does not exist"}))
    set(d, C::database_missing, config);
  else if (contains_any(text, {"pg_hba.conf"}))
    set(d, contains_any(text, {"no encryption"}) ? C::tls_required : C::host_not_allowed, config);
  else if (contains_any(text, {"server does not support ssl"}))
    set(d, C::tls_unsupported, config);
  else if (contains_any(text, {"does not match host name"}))
    set(d, C::certificate_host_mismatch, config);
  else if (contains_any(text, {"certificate verify failed"}))
    set(d, C::certificate_rejected, config);
  else if (contains_any(text, {"alert unknown ca", "alert bad certificate",
                               "alert certificate required", "alert certificate unknown"}))
    set(d, C::client_certificate_rejected, config);
  else if (contains_any(text, {"root certificate file", "could not read root certificate",
                               "certificate file", "private key file", "could not load private key",
                               "certificate present, but not private key", "bad decrypt",
                               "could not load ssl"}))
    set(d, C::tls_setup_failed, config);
  else if (contains_any(text, {"too many clients", "remaining connection slots are reserved"}))
    set(d, C::too_many_connections, transient);
  else if (contains_any(text, {"the database system is", "terminating connection due to"}))
    set(d, C::server_unavailable, transient);
  else if (contains_any(text, {"connection refused"}))
    set(d, C::connection_refused, transient);
  else if (contains_any(text, {"timeout expired", "timed out"}))
    set(d, C::connection_timeout, transient);
  else if (contains_any(text,
                        {"no route to host", "network is unreachable", "host is unreachable"}))
    set(d, C::host_unreachable, transient);
  else if (contains_any(text, {"server closed the connection", "could not receive data",
                               "could not send data", "connection not open", "ssl syscall error",
                               "unexpected eof", "lost connection", "connection reset"}))
    set(d, C::connection_lost, transient);
  else
    return false;
  return true;
}

// What the user can do about a cause; empty when retrying is all there is.
const char* advice(FailureCause cause) {
  switch (cause) {
  case FailureCause::host_unknown:
    return "Check the host name.";
  case FailureCause::connection_refused:
  case FailureCause::connection_timeout:
  case FailureCause::host_unreachable:
    return "Check the host and port, and that the server accepts connections from here.";
  case FailureCause::authentication_failed:
    return "Check the username and password.";
  case FailureCause::database_missing:
    return "Check the database name.";
  case FailureCause::tls_required:
    return "The server requires TLS: set ssl_mode to require, verify-ca or verify-full.";
  case FailureCause::tls_unsupported:
    return "Enable ssl on the server, or set ssl_mode to prefer or disable.";
  case FailureCause::certificate_rejected:
    return "Set ssl_mode.ca_certificate to the CA that signed the server's certificate.";
  case FailureCause::certificate_host_mismatch:
    return "Connect with a host name the server's certificate was issued for, or use ssl_mode "
           "verify-ca.";
  case FailureCause::client_certificate_rejected:
    return "Provide a client certificate signed by a CA the server trusts.";
  case FailureCause::tls_setup_failed:
    return "Check the certificates, key and key password in ssl_mode.";
  case FailureCause::host_not_allowed:
    return "Ask the database administrator to allow this host, user and database in "
           "pg_hba.conf.";
  case FailureCause::permission_denied:
    return "Grant the missing privilege to the connector's user.";
  case FailureCause::read_only:
    return "Connect to the primary server, not a read-only standby.";
  case FailureCause::commit_unknown:
    return "Check whether the last commit took effect before retrying.";
  default:
    return "";
  }
}

} // namespace

FailureDiagnosis diagnose(const std::exception& error) {
  FailureDiagnosis d;
  d.server_text = normalise(error.what());
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) {
    d.sqlstate = sql->sqlstate();
    if (!d.sqlstate.empty() && classify_sqlstate(d))
      return d;
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&error) != nullptr) {
    set(d, FailureCause::commit_unknown, FailureType::system_error);
    return d;
  }
  if (dynamic_cast<const pqxx::serialization_failure*>(&error) != nullptr) {
    d.sqlstate = "40001";
    set(d, FailureCause::serialization_failure, FailureType::transient_error);
    return d;
  }
  if (dynamic_cast<const pqxx::deadlock_detected*>(&error) != nullptr) {
    d.sqlstate = "40P01";
    set(d, FailureCause::deadlock, FailureType::transient_error);
    return d;
  }
  if (dynamic_cast<const pqxx::transaction_rollback*>(&error) != nullptr) {
    set(d, FailureCause::other, FailureType::transient_error);
    return d;
  }
  if (dynamic_cast<const pqxx::too_many_connections*>(&error) != nullptr) {
    d.sqlstate = "53300";
    set(d, FailureCause::too_many_connections, FailureType::transient_error);
    return d;
  }
  bool is_pqxx = dynamic_cast<const pqxx::failure*>(&error) != nullptr;
  if (is_pqxx && classify_text(d))
    return d;
  if (dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr)
    set(d, FailureCause::connection_lost, FailureType::transient_error);
  return d;
}

FailureDiagnosis diagnose(const std::string& sqlstate, std::string_view text) {
  FailureDiagnosis d;
  d.sqlstate = sqlstate;
  d.server_text = normalise(text);
  if (!d.sqlstate.empty() && classify_sqlstate(d))
    return d;
  classify_text(d);
  return d;
}

Error classify_error(const std::exception& error, const std::string& context) {
  if (const auto* own = dynamic_cast<const Error*>(&error))
    return Error(own->failure_type(), fmt::format("{}: {}", context, own->what()),
                 own->internal_message());
  return to_error(diagnose(error), context);
}

Error to_error(const FailureDiagnosis& d, const std::string& context) {
  std::string message = context + ": " + d.server_text;
  if (!message.empty() && message.back() != '.' && message.back() != '?' && message.back() != '!')
    message.push_back('.');
  std::string hint = advice(d.cause);
  if (!hint.empty())
    message += " " + hint;
  std::string internal = d.sqlstate.empty()
                             ? "libpq: " + d.server_text
                             : fmt::format("SQLSTATE {}: {}", d.sqlstate, d.server_text);
  return Error(d.type, message, internal);
}

bool is_retryable(const Error& error) {
  return error.failure_type() == FailureType::transient_error;
}

} // namespace pgdest::postgres
