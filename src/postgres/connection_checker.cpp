// `check`: connect, ensure the schema, COPY a row through a scratch table as `write` would.
#include "pgdest/postgres/connection_checker.hpp"

#include <chrono>
#include <optional>
#include <random>
#include <vector>

#include <fmt/format.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include "pgdest/encode/copy_buffer.hpp"
#include "pgdest/encode/record_encoder.hpp"
#include "pgdest/error.hpp"
#include "pgdest/postgres/connector.hpp"
#include "pgdest/postgres/pooler.hpp"
#include "pgdest/postgres/session.hpp"
#include "pgdest/postgres/sql_builder.hpp"
#include "pgdest/schema/identifier_normalizer.hpp"
#include "pgdest/schema/table_namer.hpp"

namespace pgdest::postgres {
namespace {

CheckResult failed(std::string message) {
  return CheckResult{false, std::move(message)};
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

// One row as the write path makes it: the record encoder, a binary COPY with its header and
// trailer, the columns every table starts with plus one varchar.
void copy_probe_row(PgConnection& connection, const TableRef& table,
                    const std::vector<schema::Column>& columns, const std::string& value) {
  encode::RecordEncoder encoder(columns, 0, 0);
  simdjson::padded_string data(fmt::format("{{\"{}\":\"{}\"}}", columns[0].source_name, value));
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document document = parser.iterate(data);
  encode::CopyBuffer rows;
  auto now = std::chrono::system_clock::now().time_since_epoch();
  encoder.encode(document.get_object(),
                 {std::chrono::duration_cast<std::chrono::milliseconds>(now).count(), {}}, rows);
  connection.copy_start(sql::copy_binary_from_stdin(table, encoder.copy_columns()),
                        "copying a row into the scratch table " + table.quoted());
  connection.copy_send(encode::CopyBuffer::header());
  connection.copy_send(rows.view());
  connection.copy_send(encode::CopyBuffer::trailer());
  connection.copy_finish();
}

CheckResult check_schema_and_copy(PgConnection& connection,
                                  const config::DestinationConfig& config) {
  // Where the write path puts streams without a namespace, or every raw table.
  const Identifier schema(config.raw_tables_only ? schema::raw_schema_name(config.raw_data_schema)
                                                 : schema::normalize_identifier(config.schema));
  // Airbyte's name for its check table; the random part keeps concurrent checks apart.
  const TableRef table{schema, Identifier("_airbyte_connection_test_" + random_hex(16))};
  const std::vector<schema::Column> columns = {
      {"test_key", "test_key", schema::ColumnType::varchar}};
  const std::string test_value = "check-" + random_hex(8);

  // One transaction, so that all of it runs on one server connection through a pooler too. A
  // check must answer promptly, not queue behind somebody's long lock.
  connection.execute(begin_transaction() +
                         "; SET LOCAL lock_timeout = '10s'; SET LOCAL statement_timeout = '60s'",
                     "starting the check's transaction");
  ensure_schema(connection, schema);
  connection.execute(sql::create_table(table, schema::TableLayout::typed, columns),
                     "creating the scratch table " + table.quoted());
  copy_probe_row(connection, table, columns, test_value);
  auto rows =
      connection.query("SELECT \"test_key\" FROM " + table.quoted(), {}, "reading the row back");
  if (rows.size() != 1 || rows[0].size() != 1 || rows[0][0] != test_value)
    return failed(fmt::format("The connection works, but the row copied into the scratch table "
                              "{} did not read back unchanged ({} rows found).",
                              table.quoted(), rows.size()));
  connection.execute(sql::drop_table(table), "dropping the scratch table");
  // Where `write` would keep its own tables; the streams' schemas are not known here.
  const auto candidates = internal_schema_candidates(config, {});
  log_internal_schema(choose_internal_schema(connection, candidates), candidates);
  connection.execute("COMMIT", "committing");
  return CheckResult{true, {}};
}

} // namespace

CheckResult check_connection(const config::DestinationConfig& config) {
  std::optional<Connector> connector;
  try {
    connector.emplace(config);
  } catch (const Error& error) {
    return failed(error.what());
  }
  log_connection_settings(connector->options());
  if (auto sign = pooler_address_sign(config.host, config.port))
    spdlog::info("{} seems to be a connection pooler ({}). The connector works through one, also "
                 "in transaction mode: nothing it relies on outlives a transaction.",
                 connector->options().endpoint(), *sign);
  std::unique_ptr<PgConnection> connection;
  try {
    connection = connector->connect();
  } catch (const Error& error) {
    // The failure table's words (for a tunnel, naming the hop that failed); PgConnection has
    // taken secret values out of libpq's text.
    return failed(error.what());
  }
  try {
    return check_schema_and_copy(*connection, config);
  } catch (const Error& error) {
    // A statement that failed ("PostgreSQL failed while ...") did so after connecting, and its
    // message repeats the server's text; a missing privilege found by ensure_schema is the whole
    // story as it is.
    std::string message = error.what();
    if (message.rfind("PostgreSQL failed while ", 0) == 0)
      return failed(scrub(scrub("The connection works, but " + message, config.password),
                          config.tunnel.password));
    return failed(message);
  }
}

} // namespace pgdest::postgres
