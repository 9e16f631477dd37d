// error_classifier: SQLSTATEs and libpq's texts → cause and kind; the one table of messages; no
// record value in any of it.
#include <catch2/catch.hpp>

#include "pgdest/postgres/connector.hpp"
#include "pgdest/postgres/error_classifier.hpp"

using pgdest::FailureType;
using pgdest::postgres::describe;
using pgdest::postgres::diagnose;
using pgdest::postgres::FailureCause;
using pgdest::postgres::FailureSubject;
using pgdest::postgres::ServerReport;
using pgdest::postgres::to_error;

namespace {

FailureSubject subject() {
  FailureSubject who;
  who.endpoint = "db.example.com:5432";
  who.host = "db.example.com";
  who.user = "airbyte";
  who.database = "warehouse";
  who.ssl_mode = "require";
  who.connect_timeout_seconds = 10;
  return who;
}

ServerReport report(const char* sqlstate, const char* primary, const char* detail = "") {
  ServerReport r;
  r.sqlstate = sqlstate;
  r.primary = primary;
  r.detail = detail;
  return r;
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
      {"40000", FailureCause::other, FailureType::transient_error},
      {"28P01", FailureCause::authentication_failed, FailureType::config_error},
      {"28000", FailureCause::authentication_failed, FailureType::config_error},
      {"3D000", FailureCause::database_missing, FailureType::config_error},
      {"42501", FailureCause::permission_denied, FailureType::config_error},
      {"3F000", FailureCause::schema_missing, FailureType::config_error},
      {"25006", FailureCause::read_only, FailureType::config_error},
      {"23502", FailureCause::not_null_violation, FailureType::config_error},
      {"23503", FailureCause::foreign_key_violation, FailureType::config_error},
      {"23505", FailureCause::unique_violation, FailureType::config_error},
      {"23514", FailureCause::check_violation, FailureType::config_error},
      {"23P01", FailureCause::exclusion_violation, FailureType::config_error},
      {"23000", FailureCause::constraint_violation, FailureType::config_error},
      {"22P02", FailureCause::value_rejected, FailureType::system_error},
      {"22001", FailureCause::value_rejected, FailureType::system_error},
      {"42P01", FailureCause::other, FailureType::system_error},
      {"57014", FailureCause::other, FailureType::system_error},
  };
  for (const auto& c : cases) {
    CAPTURE(c.sqlstate);
    auto d = diagnose(report(c.sqlstate, "something"));
    CHECK(d.sqlstate == c.sqlstate);
    CHECK(d.cause == c.cause);
    CHECK(d.type == c.type);
  }
}

TEST_CASE("to_error builds message and internal message", "[postgres][errors]") {
  pgdest::Error error = to_error(diagnose(report("42P01", "relation \"x\" does not exist")),
                                 subject(), "PostgreSQL failed while reading x");
  CHECK(error.failure_type() == FailureType::system_error);
  CHECK(std::string(error.what()) ==
        "PostgreSQL failed while reading x: relation \"x\" does not exist.");
  CHECK(error.internal_message() == "SQLSTATE 42P01: relation \"x\" does not exist");

  pgdest::Error lost = to_error(diagnose("", "server closed the connection unexpectedly\n"),
                                subject(), "PostgreSQL failed while committing a batch");
  CHECK(lost.failure_type() == FailureType::transient_error);
  CHECK(std::string(lost.what()) ==
        "PostgreSQL failed while committing a batch: server closed the connection unexpectedly.");
  CHECK(lost.internal_message() == "libpq: server closed the connection unexpectedly");
}

TEST_CASE("a write's missing schema privilege prints the GRANT that fixes it",
          "[postgres][errors]") {
  auto d = diagnose(report("42501", "permission denied for schema analytics"));
  CHECK(d.cause == FailureCause::schema_privilege_missing);
  pgdest::Error error =
      to_error(d, subject(), "PostgreSQL failed while creating table \"analytics\".\"users\"");
  CHECK(error.failure_type() == FailureType::config_error);
  CHECK(std::string(error.what()) ==
        "PostgreSQL failed while creating table \"analytics\".\"users\": Permission denied: user "
        "\"airbyte\" may not create tables in schema \"analytics\". As a superuser or the schema "
        "owner, run: GRANT USAGE, CREATE ON SCHEMA \"analytics\" TO \"airbyte\";");
  CHECK(error.internal_message() == "SQLSTATE 42501: permission denied for schema analytics");

  auto table = diagnose(report("42501", "permission denied for table users"));
  CHECK(table.cause == FailureCause::permission_denied);
  CHECK(describe(table, subject()) ==
        "permission denied for table users. Grant the missing privilege to user \"airbyte\".");
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
       FailureCause::client_key_unusable, FailureType::config_error},
      {"connection to server at \"127.0.0.1\", port 5432 failed: root certificate file "
       "\"/home/airbyte/.postgresql/root.crt\" does not exist\nEither provide the file or change "
       "sslmode to disable server certificate verification.\n",
       FailureCause::root_certificate_missing, FailureType::config_error},
      {"connection to server at \"127.0.0.1\", port 5432 failed: could not read root certificate "
       "file \"/tmp/pgdest-ca-certificate-abc\": no certificate or crl found\n",
       FailureCause::tls_setup_failed, FailureType::config_error},
      {"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  invalid value for "
       "parameter \"statement_timeout\": \"****\"\n",
       FailureCause::setting_rejected, FailureType::config_error},
      {"connection to server at \"127.0.0.1\", port 6432 failed: FATAL:  unsupported startup "
       "parameter: options\n",
       FailureCause::startup_options_refused, FailureType::config_error},
      {"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  sorry, too many clients "
       "already\n",
       FailureCause::too_many_connections, FailureType::transient_error},
      {"connection to server at \"127.0.0.1\", port 6432 failed: ERROR:  no more connections "
       "allowed (max_client_conn)\n",
       FailureCause::too_many_connections, FailureType::transient_error},
      {"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  the database system is "
       "starting up\n",
       FailureCause::server_unavailable, FailureType::transient_error},
      {"server closed the connection unexpectedly\n\tThis probably means the server terminated "
       "abnormally\n\tbefore or while processing the request.\n",
       FailureCause::connection_lost, FailureType::transient_error},
      {"something nobody has seen before\n", FailureCause::other, FailureType::system_error},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto d = diagnose("", c.text);
    CHECK(d.cause == c.cause);
    CHECK(d.type == c.type);
    CHECK(d.sqlstate.empty());
  }
}

TEST_CASE("connection failures are told in the failure table's words", "[postgres][errors]") {
  auto d = diagnose("", "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password "
                        "authentication failed for user \"airbyte\"\n");
  pgdest::Error error = to_error(d, subject(), "");
  CHECK(error.failure_type() == FailureType::config_error);
  CHECK(std::string(error.what()) ==
        "Authentication failed for user \"airbyte\". Check the username and password.");
  CHECK(error.internal_message() ==
        "libpq: connection to server at \"127.0.0.1\", port 5432 failed: password authentication "
        "failed for user \"airbyte\"");

  auto timeout = diagnose("", "connection to server at \"10.0.0.1\", port 5432 failed: timeout "
                              "expired\n");
  CHECK(describe(timeout, subject()) ==
        "Could not connect to db.example.com:5432 within 10 seconds. Check the host and port, and "
        "that no firewall drops the connection.");
}

TEST_CASE("a setting the server refuses is named without libpq's connection prefix",
          "[postgres][errors]") {
  auto d = diagnose("", "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  invalid "
                        "value for parameter \"statement_timeout\": \"****\"\n");
  CHECK(d.cause == FailureCause::setting_rejected);
  CHECK(describe(d, subject()) ==
        "The server at db.example.com:5432 refused a setting from jdbc_url_params: invalid value "
        "for parameter \"statement_timeout\": \"****\". Check the names and values in "
        "jdbc_url_params.");
}

TEST_CASE("every cause of the failure table renders without a stray placeholder",
          "[postgres][errors]") {
  // Placeholders are filled at run time: a misspelt one would throw only when the cause occurs.
  for (int i = 0; i <= static_cast<int>(FailureCause::other); ++i) {
    auto cause = static_cast<FailureCause>(i);
    CAPTURE(i);
    pgdest::postgres::FailureDiagnosis d = pgdest::postgres::diagnosis_of(cause);
    d.server_text = "the server's words";
    d.schema = "s";
    d.table = "t";
    d.column = "c";
    d.constraint = "k";
    std::string message;
    REQUIRE_NOTHROW(message = describe(d, subject()));
    CHECK_FALSE(message.empty());
    CHECK(message.find('{') == std::string::npos);
    CHECK((message.back() == '.' || message.back() == ';'));
  }
}

TEST_CASE("record values in DETAIL never reach a message", "[postgres][errors][secrets]") {
  const std::string secret = "Secret-Value-8641";
  SECTION("unique violation") {
    ServerReport r =
        report("23505", "duplicate key value violates unique constraint \"users_email\"",
               "Key (email)=(Secret-Value-8641) already exists.");
    r.schema = "app";
    r.table = "users";
    r.constraint = "users_email";
    auto d = diagnose(r);
    CHECK(d.cause == FailureCause::unique_violation);
    pgdest::Error error = to_error(d, subject(), "PostgreSQL failed while committing a batch");
    CHECK(std::string(error.what()) ==
          "PostgreSQL failed while committing a batch: A record violates unique constraint "
          "\"users_email\" of table \"app\".\"users\". Drop the constraint or unique index: append "
          "syncs keep every record, and dedup syncs hold several rows per key until they commit.");
    CHECK(error.internal_message() ==
          "SQLSTATE 23505: row of table \"app\".\"users\" violates unique constraint "
          "\"users_email\"");
  }
  SECTION("check violation") {
    ServerReport r =
        report("23514", "new row for relation \"users\" violates check constraint \"short\"",
               "Failing row contains (1, Secret-Value-8641).");
    r.schema = "app";
    r.table = "users";
    r.constraint = "short";
    pgdest::Error error = to_error(diagnose(r), subject(), "PostgreSQL failed while loading");
    CHECK(std::string(error.what()) ==
          "PostgreSQL failed while loading: A record violates check constraint \"short\" of table "
          "\"app\".\"users\". Drop or change the constraint, or fix the records at the source.");
    CHECK(std::string(error.what()).find(secret) == std::string::npos);
    CHECK(error.internal_message().find(secret) == std::string::npos);
  }
  SECTION("not-null violation") {
    ServerReport r =
        report("23502",
               "null value in column \"email\" of relation \"users\" violates not-null constraint",
               "Failing row contains (Secret-Value-8641, null).");
    r.schema = "app";
    r.table = "users";
    r.column = "email";
    CHECK(describe(diagnose(r), subject()) ==
          "A record has no value for column \"email\" of table \"app\".\"users\", which is NOT "
          "NULL. Drop the NOT NULL constraint, or make the source send a value.");
  }
  SECTION("values quoted in a class 22 message") {
    for (const char* primary : {"invalid input syntax for type integer: \"Secret-Value-8641\"",
                                "value \"Secret-Value-8641\" is out of range for type integer",
                                "invalid byte sequence for encoding \"UTF8\": 0x53 0x65"}) {
      CAPTURE(primary);
      auto d = diagnose(report("22P02", primary));
      CHECK(d.server_text.find(secret) == std::string::npos);
      CHECK(d.server_text.find("0x53") == std::string::npos);
    }
    CHECK(diagnose(report("22P02", "invalid input syntax for type integer: \"Secret\""))
              .server_text == "invalid input syntax for type integer: \"…\"");
    CHECK(diagnose(report("22001", "value too long for type character varying(3)")).server_text ==
          "value too long for type character varying(3)");
  }
  SECTION("what a trigger or function raises") {
    ServerReport raised = report("P0001", "bad email Secret-Value-8641");
    CHECK(diagnose(raised).server_text ==
          "a function or trigger raised SQLSTATE P0001; its text is not shown, as it may contain "
          "record values");
    ServerReport inside = report("XX000", "oops Secret-Value-8641");
    inside.context = "PL/pgSQL function check_row() line 3 at RAISE";
    CHECK(diagnose(inside).server_text.find(secret) == std::string::npos);
  }
  SECTION("libpq's own text: DETAIL and CONTEXT lines are dropped") {
    auto d = diagnose("23505", "ERROR:  duplicate key value violates unique constraint \"u\"\n"
                               "DETAIL:  Key (a)=(Secret-Value-8641) already exists.\n"
                               "CONTEXT:  COPY t, line 1\n");
    CHECK(d.server_text == "duplicate key value violates unique constraint \"u\"");
  }
}

TEST_CASE("only transient errors are retryable", "[postgres][errors]") {
  using pgdest::postgres::is_retryable;
  CHECK(is_retryable(pgdest::TransientError("lost")));
  CHECK_FALSE(is_retryable(pgdest::ConfigError("bad")));
  CHECK_FALSE(is_retryable(pgdest::SystemError("bug")));
  CHECK(is_retryable(to_error(diagnose(report("40P01", "deadlock detected")), subject(), "M")));
  CHECK_FALSE(is_retryable(to_error(diagnose(report("42501", "no")), subject(), "M")));
}

TEST_CASE("a connection refused for want of a slot is told apart from other failures",
          "[postgres][errors]") {
  using pgdest::postgres::is_out_of_connection_slots;
  CHECK(is_out_of_connection_slots(
      to_error(diagnose("", "FATAL:  sorry, too many clients already\n"), subject(), "")));
  CHECK(is_out_of_connection_slots(to_error(
      diagnose("", "FATAL:  too many connections for role \"airbyte\"\n"), subject(), "")));
  CHECK(is_out_of_connection_slots(to_error(
      diagnose(report("53300", "remaining connection slots are reserved")), subject(), "")));
  // Thrown and caught as the project's Error, it still knows its cause.
  try {
    throw to_error(diagnose("", "FATAL:  sorry, too many clients already\n"), subject(), "");
  } catch (const pgdest::Error& error) {
    CHECK(is_out_of_connection_slots(error));
  }
  CHECK_FALSE(is_out_of_connection_slots(
      to_error(diagnose("", "FATAL:  the database system is starting up\n"), subject(), "")));
  CHECK_FALSE(is_out_of_connection_slots(to_error(
      diagnose(report("53100", "could not extend file: No space left on device")), subject(), "")));
  CHECK_FALSE(is_out_of_connection_slots(pgdest::TransientError("too many clients")));
}

TEST_CASE("each hop of an SSH tunnel has its own words and kind", "[postgres][errors][tunnel]") {
  using pgdest::tunnel::Hop;
  FailureSubject who = subject();
  who.tunnel_host = "bastion.example.com";
  who.tunnel_endpoint = "bastion.example.com:22";
  who.tunnel_user = "jump";
  struct Case {
    Hop hop;
    const char* detail;
    FailureType type;
    std::string message;
  };
  const std::vector<Case> cases = {
      {Hop::bastion_unknown, "no such host is known", FailureType::config_error,
       "Could not resolve the SSH bastion host \"bastion.example.com\": no such host is known. "
       "Check tunnel_method.tunnel_host (and the DNS settings of the machine running the "
       "connector)."},
      // As unreachable as a database server that refuses: worth retrying.
      {Hop::bastion_unreachable, "the connection was refused", FailureType::transient_error,
       "Could not connect to the SSH bastion bastion.example.com:22: the connection was refused. "
       "Check tunnel_method.tunnel_host and tunnel_port, that the SSH server runs there, and that "
       "no firewall drops the connection."},
      {Hop::handshake_failed, "protocol mismatch", FailureType::config_error,
       "The SSH bastion bastion.example.com:22 did not complete the SSH handshake: protocol "
       "mismatch. Check that tunnel_method.tunnel_port is the bastion's SSH port."},
      {Hop::key_unusable, "it is protected by a passphrase", FailureType::config_error,
       "tunnel_method.ssh_key cannot be used: it is protected by a passphrase. Paste the whole "
       "private key file, without a passphrase: one made with ssh-keygen -t rsa -m PEM or "
       "ssh-keygen -t ed25519 (ssh-keygen -p -N \"\" -f <key file> removes a passphrase)."},
      {Hop::key_rejected, "the key was refused", FailureType::config_error,
       "The SSH bastion bastion.example.com:22 refused the key in tunnel_method.ssh_key for user "
       "\"jump\". Add the key's public half to that user's authorized_keys on the bastion, or "
       "check tunnel_method.tunnel_user."},
      {Hop::password_rejected, "the password was refused", FailureType::config_error,
       "The SSH bastion bastion.example.com:22 refused the password for user \"jump\". Check "
       "tunnel_method.tunnel_user and tunnel_method.tunnel_user_password."},
      {Hop::forwarding_refused, "open failed", FailureType::config_error,
       "The SSH bastion bastion.example.com:22 does not forward user \"jump\"'s connections to "
       "db.example.com:5432 (open failed). Allow them on the bastion (AllowTcpForwarding and "
       "PermitOpen in sshd_config)."},
      {Hop::database_unreachable, "connection refused", FailureType::transient_error,
       "The SSH bastion bastion.example.com:22 could not connect to the database at "
       "db.example.com:5432: connection refused. Check host and port as the bastion sees them, "
       "and that PostgreSQL runs there and accepts TCP connections from the bastion."},
  };
  for (const auto& expected : cases) {
    CAPTURE(expected.message);
    auto d =
        pgdest::postgres::diagnosis_of(pgdest::postgres::cause_of(expected.hop), expected.detail);
    CHECK(d.type == expected.type);
    CHECK(describe(d, who) == expected.message);
  }
}
