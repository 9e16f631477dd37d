// `check`: connect, ensure the schema, COPY a row through a scratch table; explain each failure.
#include "pgdest/postgres/connection_checker.hpp"

#include <array>
#include <memory>
#include <optional>
#include <random>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "pgdest/error.hpp"
#include "pgdest/postgres/connection_options.hpp"
#include "pgdest/postgres/error_classifier.hpp"
#include "pgdest/schema/identifier_normalizer.hpp"

namespace pgdest::postgres {
namespace {

CheckResult failed(std::string message) {
  return CheckResult{false, std::move(message)};
}

// An SQL identifier in double quotes, for statements the user is told to run.
std::string quote_identifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"')
      out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string random_hex(size_t bytes) {
  static const char digits[] = "0123456789abcdef";
  std::random_device device;
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    auto value = static_cast<unsigned>(device()) & 0xffu;
    out.push_back(digits[value >> 4]);
    out.push_back(digits[value & 0xfu]);
  }
  return out;
}

// Server text is the one part of a message we do not write ourselves: keep the password out of
// it even if some server or proxy echoes it (too short a password would mangle every message).
std::string scrub(std::string text, const config::Secret& password) {
  const std::string& secret = password.reveal();
  if (secret.size() < 4)
    return text;
  for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at))
    text.replace(at, secret.size(), "****");
  return text;
}

std::string connect_failure_message(const FailureDiagnosis& d,
                                    const config::DestinationConfig& config,
                                    const ConnectionOptions& options) {
  const std::string& endpoint = options.endpoint();
  const char* mode = sslmode_name(config.ssl.mode);
  switch (d.cause) {
  case FailureCause::host_unknown:
    return fmt::format("Could not resolve host \"{}\": no such host is known. Check the host "
                       "name (and the DNS settings of the machine running the connector).",
                       config.host);
  case FailureCause::connection_refused:
    return fmt::format("Could not connect to {}: the connection was refused. Check the host and "
                       "port, and that PostgreSQL is running and accepts TCP connections there.",
                       endpoint);
  case FailureCause::connection_timeout:
    return fmt::format("Could not connect to {} within {} seconds. Check the host and port, and "
                       "that no firewall drops the connection.",
                       endpoint, options.connect_timeout_seconds());
  case FailureCause::host_unreachable:
    return fmt::format("Could not connect to {}: the host is unreachable. Check the host, and "
                       "the network route or firewall between the connector and the server.",
                       endpoint);
  case FailureCause::authentication_failed:
    return fmt::format("Authentication failed for user \"{}\". Check the username and password.",
                       config.username);
  case FailureCause::database_missing:
    return fmt::format("Database \"{}\" does not exist on {}. Check the database name, or create "
                       "the database: CREATE DATABASE {};",
                       config.database, endpoint, quote_identifier(config.database));
  case FailureCause::tls_required:
    return fmt::format("The server requires an encrypted (TLS) connection for user \"{}\", but "
                       "ssl_mode is \"{}\". Set ssl_mode to \"require\", \"verify-ca\" or "
                       "\"verify-full\".",
                       config.username, mode);
  case FailureCause::tls_unsupported:
    return fmt::format("The server at {} does not accept TLS connections, but ssl_mode \"{}\" "
                       "requires TLS. Enable ssl on the server, or set ssl_mode to \"prefer\" or "
                       "\"disable\".",
                       endpoint, mode);
  case FailureCause::certificate_rejected:
    return fmt::format("The server's TLS certificate was rejected: it is not signed by the CA in "
                       "ssl_mode.ca_certificate (ssl_mode \"{}\"). Set ssl_mode.ca_certificate to "
                       "the certificate of the CA that signed the server's certificate.",
                       mode);
  case FailureCause::certificate_host_mismatch:
    return fmt::format("The server's TLS certificate does not match host \"{}\" (ssl_mode "
                       "\"verify-full\"). Use the host name the certificate was issued for, or "
                       "set ssl_mode to \"verify-ca\" to skip the host name check.",
                       config.host);
  case FailureCause::client_certificate_rejected:
    return "The server rejected the client certificate. Set ssl_mode.client_certificate and "
           "ssl_mode.client_key to a certificate signed by a CA the server trusts, and its key.";
  case FailureCause::tls_setup_failed:
    if (d.server_text.find("private key") != std::string::npos)
      return "The client key could not be used: it is encrypted and ssl_mode.client_key_password "
             "is missing or wrong, or it does not belong to ssl_mode.client_certificate. Check "
             "the client key and its password.";
    return fmt::format("The TLS settings could not be used: {}. Check the certificates, the "
                       "client key and the client key password in ssl_mode.",
                       scrub(d.server_text, config.password));
  case FailureCause::host_not_allowed:
    return fmt::format("The server does not accept connections from this host for user \"{}\" "
                       "to database \"{}\" (no matching pg_hba.conf entry). Ask the database "
                       "administrator to allow it.",
                       config.username, config.database);
  case FailureCause::too_many_connections:
    return fmt::format("The server at {} has no free connection slots (too many clients). Try "
                       "again later, or raise max_connections on the server.",
                       endpoint);
  case FailureCause::server_unavailable:
    return fmt::format("The server at {} is starting up, shutting down or in recovery. Try again "
                       "in a moment.",
                       endpoint);
  default:
    return fmt::format("Could not connect to {}: {}", endpoint,
                       scrub(d.server_text, config.password));
  }
}

std::string database_grant_message(const std::string& user, const std::string& database,
                                   const std::string& schema) {
  return fmt::format("Permission denied: user \"{}\" may not create schema \"{}\" in database "
                     "\"{}\". Create the schema, or let the user create it; as a superuser or the "
                     "database owner, run: GRANT CREATE ON DATABASE {} TO {};",
                     user, schema, database, quote_identifier(database), quote_identifier(user));
}

std::string schema_grant_message(const std::string& user, const std::string& schema) {
  return fmt::format("Permission denied: user \"{}\" may not create tables in schema \"{}\". As "
                     "a superuser or the schema owner, run: GRANT USAGE, CREATE ON SCHEMA {} TO "
                     "{};",
                     user, schema, quote_identifier(schema), quote_identifier(user));
}

enum class Step {
  privileges,
  create_schema,
  create_table,
  copy_row,
  read_back,
  drop_table,
  commit
};

std::string describe(Step step, const std::string& schema, const std::string& table) {
  switch (step) {
  case Step::privileges:
    return "reading the user's privileges";
  case Step::create_schema:
    return fmt::format("creating schema \"{}\"", schema);
  case Step::create_table:
    return fmt::format("creating the scratch table \"{}\".\"{}\"", schema, table);
  case Step::copy_row:
    return "copying a row into the scratch table";
  case Step::read_back:
    return "reading the row back";
  case Step::drop_table:
    return "dropping the scratch table";
  case Step::commit:
    return "committing";
  }
  return "checking";
}

CheckResult check_schema_and_copy(pqxx::connection& connection,
                                  const config::DestinationConfig& config) {
  // The schema the write path will use for streams without a namespace: the normalised name.
  const std::string schema = schema::normalize_identifier(config.schema);
  // Airbyte's name for its check table; the random part keeps concurrent checks apart.
  const std::string table = "_airbyte_connection_test_" + random_hex(16);
  const std::string test_value = "check-" + random_hex(8);
  std::string user = config.username;
  std::string database = config.database;
  Step step = Step::privileges;
  try {
    pqxx::work work(connection, "pgdest_check");
    // A check must answer promptly, not queue behind somebody's long lock.
    work.exec0("SET LOCAL lock_timeout = '10s'");
    work.exec0("SET LOCAL statement_timeout = '60s'");
    pqxx::row privileges = work.exec_params1(
        "SELECT current_user, current_database(), "
        "has_database_privilege(current_database(), 'CREATE'), n.oid IS NOT NULL, "
        "coalesce(has_schema_privilege(n.oid, 'USAGE'), false), "
        "coalesce(has_schema_privilege(n.oid, 'CREATE'), false) "
        "FROM (SELECT 1) AS one LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = $1",
        schema);
    user = privileges[0].as<std::string>();
    database = privileges[1].as<std::string>();
    bool may_create_schema = privileges[2].as<bool>();
    bool schema_exists = privileges[3].as<bool>();
    bool may_use_schema = privileges[4].as<bool>() && privileges[5].as<bool>();
    if (schema_exists && !may_use_schema)
      return failed(schema_grant_message(user, schema));
    if (!schema_exists && !may_create_schema)
      return failed(database_grant_message(user, database, schema));

    const std::string quoted_schema = work.quote_name(schema);
    const std::string qualified = quoted_schema + "." + work.quote_name(table);
    if (!schema_exists) {
      step = Step::create_schema;
      work.exec0("CREATE SCHEMA IF NOT EXISTS " + quoted_schema);
    }
    step = Step::create_table;
    work.exec0("CREATE TABLE " + qualified +
               " (\"_airbyte_raw_id\" varchar NOT NULL, "
               "\"_airbyte_extracted_at\" timestamptz NOT NULL, "
               "\"_airbyte_meta\" jsonb NOT NULL, "
               "\"_airbyte_generation_id\" bigint NOT NULL, "
               "\"test_key\" varchar)");

    step = Step::copy_row;
    {
      const std::vector<std::string> columns = {"\"_airbyte_raw_id\"", "\"_airbyte_extracted_at\"",
                                                "\"_airbyte_meta\"", "\"_airbyte_generation_id\"",
                                                "\"test_key\""};
      pqxx::stream_to copy(work, qualified, columns);
      copy << std::make_tuple(random_hex(16), std::string("2024-01-01T00:00:00Z"),
                              std::string("{\"sync_id\":0,\"changes\":[]}"), 0, test_value);
      copy.complete();
    }

    step = Step::read_back;
    pqxx::result rows = work.exec("SELECT \"test_key\" FROM " + qualified);
    if (rows.size() != 1 || rows[0][0].is_null() || rows[0][0].as<std::string>() != test_value)
      return failed(fmt::format("The connection works, but the row copied into the scratch table "
                                "\"{}\".\"{}\" did not read back unchanged ({} rows found).",
                                schema, table, rows.size()));

    step = Step::drop_table;
    work.exec0("DROP TABLE " + qualified);
    step = Step::commit;
    work.commit();
  } catch (const std::exception& error) {
    FailureDiagnosis d = diagnose(error);
    if (d.cause == FailureCause::permission_denied && step == Step::create_schema)
      return failed(database_grant_message(user, database, schema));
    if (d.cause == FailureCause::permission_denied && step == Step::create_table)
      return failed(schema_grant_message(user, schema));
    Error classified = classify_error(error, "The connection works, but the check failed while " +
                                                 describe(step, schema, table));
    return failed(scrub(classified.what(), config.password));
  }
  return CheckResult{true, {}};
}

} // namespace

CheckResult check_connection(const config::DestinationConfig& config) {
  std::optional<ConnectionOptions> options;
  try {
    options.emplace(config);
  } catch (const Error& error) {
    return failed(error.what());
  }
  std::unique_ptr<pqxx::connection> connection;
  try {
    connection = std::make_unique<pqxx::connection>(options->conninfo_with_password());
  } catch (const std::exception& error) {
    return failed(connect_failure_message(diagnose(error), config, *options));
  }
  return check_schema_and_copy(*connection, config);
}

} // namespace pgdest::postgres
