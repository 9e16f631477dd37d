// error_classifier: SQLSTATE classes, libpqxx exception types and libpq's connection texts.
#include <catch2/catch.hpp>

#include <pqxx/except>

#include "pgdest/postgres/error_classifier.hpp"

using pgdest::FailureType;
using pgdest::postgres::classify_error;
using pgdest::postgres::diagnose;
using pgdest::postgres::FailureCause;

namespace {

pqxx::sql_error sql_error(const std::string& text, const char* sqlstate) {
  return pqxx::sql_error(text, "SELECT 1", sqlstate);
}

} // namespace

TEST_CASE("SQLSTATEs decide the kind", "[postgres][errors]") {
  struct Case {
    const char* sqlstate;
    FailureCause cause;
    FailureType type;
  };
  const Case cases[] = {
      {"08006", FailureCause::connection_lost, FailureType::transient_error},
      {"08001", FailureCause::connection_lost, FailureType::transient_error},
      {"57P01", FailureCause::server_unavailable, FailureType::transient_error},
      {"57P02", FailureCause::server_unavailable, FailureType::transient_error},
      {"57P03", FailureCause::server_unavailable, FailureType::transient_error},
      {"53300", FailureCause::too_many_connections, FailureType::transient_error},
      {"53100", FailureCause::insufficient_resources, FailureType::transient_error},
      {"53200", FailureCause::insufficient_resources, FailureType::transient_error},
      {"40001", FailureCause::serialization_failure, FailureType::transient_error},
      {"40P01", FailureCause::deadlock, FailureType::transient_error},
      {"28P01", FailureCause::authentication_failed, FailureType::config_error},
      {"28000", FailureCause::authentication_failed, FailureType::config_error},
      {"3D000", FailureCause::database_missing, FailureType::config_error},
      {"42501", FailureCause::permission_denied, FailureType::config_error},
      {"3F000", FailureCause::schema_missing, FailureType::config_error},
      {"25006", FailureCause::read_only, FailureType::config_error},
      {"22P02", FailureCause::other, FailureType::system_error},
      {"42P01", FailureCause::other, FailureType::system_error},
      {"57014", FailureCause::other, FailureType::system_error},
  };
  for (const auto& c : cases) {
    CAPTURE(c.sqlstate);
    auto d = diagnose(sql_error("ERROR:  something\n", c.sqlstate));
    CHECK(d.sqlstate == c.sqlstate);
    CHECK(d.cause == c.cause);
    CHECK(d.type == c.type);
  }
}

TEST_CASE("classify_error builds message and internal message", "[postgres][errors]") {
  pgdest::Error error =
      classify_error(sql_error("ERROR:  permission denied for schema analytics\n", "42501"),
                     "Creating table \"analytics\".\"users\"");
  CHECK(error.failure_type() == FailureType::config_error);
  CHECK(std::string(error.what()) ==
        "Creating table \"analytics\".\"users\": permission denied for schema analytics. Grant "
        "the missing privilege to the connector's user.");
  CHECK(error.internal_message() == "SQLSTATE 42501: permission denied for schema analytics");

  pgdest::Error other = classify_error(
      sql_error("ERROR:  relation \"x\" does not exist\nLINE 1: SELECT * FROM x\n", "42P01"),
      "Reading x");
  CHECK(other.failure_type() == FailureType::system_error);
  CHECK(std::string(other.what()) ==
        "Reading x: relation \"x\" does not exist LINE 1: SELECT * FROM x.");
  CHECK(other.internal_message() ==
        "SQLSTATE 42P01: relation \"x\" does not exist LINE 1: SELECT * FROM x");
}

TEST_CASE("libpq's connection failures are read from their text", "[postgres][errors]") {
  struct Case {
    const char* text;
    FailureCause cause;
    FailureType type;
  };
  // Texts as libpq 15 prints them.
  const Case cases[] = {
      {"could not translate host name \"db.invalid\" to address: Name or service not known\n",
       FailureCause::host_unknown, FailureType::config_error},
      {"could not translate host name \"db\" to address: Temporary failure in name resolution\n",
       FailureCause::host_unknown, FailureType::transient_error},
      {"connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the server "
       "running on that host and accepting TCP/IP connections?\n",
       FailureCause::connection_refused, FailureType::transient_error},
      {"connection to server at \"10.0.0.1\", port 5432 failed: timeout expired\n",
       FailureCause::connection_timeout, FailureType::transient_error},
      {"connection to server at \"10.0.0.1\", port 5432 failed: No route to host\n",
       FailureCause::host_unreachable, FailureType::transient_error},
      {"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password "
       "authentication failed for user \"pgdest\"\n",
       FailureCause::authentication_failed, FailureType::config_error},
      {"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  role \"ghost\" does not "
       "exist\n",
       FailureCause::authentication_failed, FailureType::config_error},
      {"connection to server at \"127.0.0.1\", port 5432 failed: fe_sendauth: no password "
       "supplied\n",
       FailureCause::authentication_failed, FailureType::config_error},
      {"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  database \"nosuchdb\" "
       "does not exist\n",
       FailureCause::database_missing, FailureType::config_error},
      {"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  pg_hba.conf rejects "
       "connection for host \"127.0.0.1\", user \"tls_only\", database \"pgdest\", no encryption\n",
       FailureCause::tls_required, FailureType::config_error},
      {"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  no pg_hba.conf entry for "
       "host \"10.1.1.1\", user \"u\", database \"d\", no encryption\n",
       FailureCause::tls_required, FailureType::config_error},
      {"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  no pg_hba.conf entry for "
       "host \"10.1.1.1\", user \"u\", database \"d\", SSL encryption\n",
       FailureCause::host_not_allowed, FailureType::config_error},
      {"connection to server at \"127.0.0.1\", port 5432 failed: server does not support SSL, but "
       "SSL was required\n",
       FailureCause::tls_unsupported, FailureType::config_error},
      {"connection to server at \"127.0.0.1\", port 5432 failed: SSL error: certificate verify "
       "failed\n",
       FailureCause::certificate_rejected, FailureType::config_error},
      {"connection to server at \"127.0.0.1\", port 5432 failed: server certificate for "
       "\"localhost\" (and 1 other name) does not match host name \"example.com\"\n",
       FailureCause::certificate_host_mismatch, FailureType::config_error},
      {"connection to server at \"127.0.0.1\", port 5432 failed: SSL error: tlsv1 alert unknown "
       "ca\n",
       FailureCause::client_certificate_rejected, FailureType::config_error},
      {"connection to server at \"127.0.0.1\", port 5432 failed: could not load private key file "
       "\"/tmp/pgdest-client-key-abc\": bad decrypt\n",
       FailureCause::tls_setup_failed, FailureType::config_error},
      {"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  sorry, too many clients "
       "already\n",
       FailureCause::too_many_connections, FailureType::transient_error},
      {"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  the database system is "
       "starting up\n",
       FailureCause::server_unavailable, FailureType::transient_error},
      {"server closed the connection unexpectedly\n\tThis probably means the server terminated "
       "abnormally\n\tbefore or while processing the request.\n",
       FailureCause::connection_lost, FailureType::transient_error},
      {"something nobody has seen before\n", FailureCause::connection_lost,
       FailureType::transient_error},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto d = diagnose(pqxx::broken_connection(c.text));
    CHECK(d.cause == c.cause);
    CHECK(d.type == c.type);
    CHECK(d.sqlstate.empty());
  }
}

TEST_CASE("connection errors have no SQLSTATE: internal message says libpq", "[postgres][errors]") {
  pgdest::Error error = classify_error(
      pqxx::broken_connection("connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  "
                              "password authentication failed for user \"pgdest\"\n"),
      "Connecting to 127.0.0.1:5432");
  CHECK(error.failure_type() == FailureType::config_error);
  CHECK(std::string(error.what()) ==
        "Connecting to 127.0.0.1:5432: connection to server at \"127.0.0.1\", port 5432 failed: "
        "password authentication failed for user \"pgdest\". Check the username and password.");
  CHECK(error.internal_message() ==
        "libpq: connection to server at \"127.0.0.1\", port 5432 failed: password authentication "
        "failed for user \"pgdest\"");
}

TEST_CASE("libpqxx's own exception types are classified", "[postgres][errors]") {
  auto serialization = diagnose(pqxx::serialization_failure("could not serialize access"));
  CHECK(serialization.cause == FailureCause::serialization_failure);
  CHECK(serialization.type == FailureType::transient_error);
  CHECK(serialization.sqlstate == "40001");

  auto deadlock = diagnose(pqxx::deadlock_detected("deadlock detected"));
  CHECK(deadlock.cause == FailureCause::deadlock);
  CHECK(deadlock.type == FailureType::transient_error);
  CHECK(deadlock.sqlstate == "40P01");

  auto too_many = diagnose(pqxx::too_many_connections("sorry"));
  CHECK(too_many.cause == FailureCause::too_many_connections);
  CHECK(too_many.type == FailureType::transient_error);

  // Retrying a commit whose outcome is unknown could load the same rows twice.
  auto in_doubt = diagnose(pqxx::in_doubt_error("lost connection during commit"));
  CHECK(in_doubt.cause == FailureCause::commit_unknown);
  CHECK(in_doubt.type == FailureType::system_error);

  auto plain = diagnose(std::runtime_error("connection refused by a bug"));
  CHECK(plain.cause == FailureCause::other);
  CHECK(plain.type == FailureType::system_error);
}

TEST_CASE("a pgdest::Error keeps its kind and gains the context", "[postgres][errors]") {
  pgdest::Error error =
      classify_error(pgdest::ConfigError("Bad thing.", "detail"), "Preparing stream \"users\"");
  CHECK(error.failure_type() == FailureType::config_error);
  CHECK(std::string(error.what()) == "Preparing stream \"users\": Bad thing.");
  CHECK(error.internal_message() == "detail");
}

TEST_CASE("only transient errors are retryable", "[postgres][errors]") {
  using pgdest::postgres::is_retryable;
  CHECK(is_retryable(pgdest::TransientError("lost")));
  CHECK_FALSE(is_retryable(pgdest::ConfigError("bad")));
  CHECK_FALSE(is_retryable(pgdest::SystemError("bug")));
  CHECK(is_retryable(classify_error(sql_error("ERROR:  deadlock detected\n", "40P01"), "Merging")));
  CHECK_FALSE(is_retryable(classify_error(sql_error("ERROR:  no\n", "42501"), "Merging")));
}
