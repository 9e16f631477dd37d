// libpq connection wrapper: every failure becomes a pgdest::Error with SQLSTATE and context.
#include "pgdest/postgres/pg_connection.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pgdest/postgres/connection_options.hpp"
#include "pgdest/postgres/error_classifier.hpp"

namespace pgdest::postgres {
namespace {

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

std::string trimmed(const char* text) {
  std::string out = text != nullptr ? text : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
    out.pop_back();
  return out;
}

std::string field(const PGresult* result, int code) {
  const char* value = PQresultErrorField(result, code);
  return value != nullptr ? value : "";
}

ServerReport report_of(const PGresult* result) {
  ServerReport report;
  report.sqlstate = field(result, PG_DIAG_SQLSTATE);
  report.primary = field(result, PG_DIAG_MESSAGE_PRIMARY);
  report.detail = field(result, PG_DIAG_MESSAGE_DETAIL);
  report.context = field(result, PG_DIAG_CONTEXT);
  report.schema = field(result, PG_DIAG_SCHEMA_NAME);
  report.table = field(result, PG_DIAG_TABLE_NAME);
  report.column = field(result, PG_DIAG_COLUMN_NAME);
  report.constraint = field(result, PG_DIAG_CONSTRAINT_NAME);
  return report;
}

// Server notices ("table already exists, skipping") would go to stderr; warnings become logs,
// without DETAIL or CONTEXT, and without the text of a function's or trigger's own warning (it
// may quote record values).
void forward_warnings(void*, const PGresult* notice) {
  if (field(notice, PG_DIAG_SEVERITY_NONLOCALIZED) != "WARNING")
    return;
  spdlog::warn("PostgreSQL: {}", diagnose(report_of(notice)).server_text);
}

// The settings a connection was made with, for the failure table's placeholders.
FailureSubject subject_of(PGconn* connection, const std::string& endpoint) {
  FailureSubject subject;
  subject.endpoint = endpoint;
  PQconninfoOption* options = PQconninfo(connection);
  if (options == nullptr)
    return subject;
  for (PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (option->val == nullptr)
      continue;
    std::string_view keyword = option->keyword;
    if (keyword == "host")
      subject.host = option->val;
    else if (keyword == "user")
      subject.user = option->val;
    else if (keyword == "dbname")
      subject.database = option->val;
    else if (keyword == "sslmode")
      subject.ssl_mode = option->val;
    else if (keyword == "connect_timeout")
      subject.connect_timeout_seconds = std::atoi(option->val);
  }
  PQconninfoFree(options);
  return subject;
}

} // namespace

PgConnection::PgConnection(const std::string& conninfo_with_password, const std::string& endpoint,
                           std::unique_ptr<tunnel::ForwardedConnection> tunnel)
    : tunnel_(std::move(tunnel)) {
  connection_ = PQconnectdb(conninfo_with_password.c_str());
  if (connection_ == nullptr)
    throw SystemError("Could not allocate a PostgreSQL connection.");
  subject_ = subject_of(connection_, endpoint);
  if (PQstatus(connection_) != CONNECTION_OK) {
    // libpq and the server quote settings back ("invalid value for parameter ...: "..."").
    auto diagnosis =
        diagnose("", redact_setting_values(PQerrorMessage(connection_), conninfo_with_password));
    PQfinish(connection_);
    connection_ = nullptr;
    throw to_error(diagnosis, subject_,
                   has_own_message(diagnosis.cause) ? "" : "Could not connect to " + endpoint);
  }
  PQsetNoticeReceiver(connection_, forward_warnings, nullptr);
}

PgConnection::~PgConnection() {
  if (connection_ != nullptr)
    PQfinish(connection_);
}

bool PgConnection::healthy() const {
  return connection_ != nullptr && PQstatus(connection_) == CONNECTION_OK;
}

void PgConnection::fail(std::string_view context, const PGresult* result) const {
  FailureDiagnosis diagnosis;
  if (result != nullptr && PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) != nullptr)
    diagnosis = diagnose(report_of(result));
  else
    diagnosis = diagnose("", trimmed(PQerrorMessage(connection_)));
  // A broken connection is worth a retry on a new one, whatever the message said.
  if (PQstatus(connection_) != CONNECTION_OK)
    diagnosis.type = FailureType::transient_error;
  throw to_error(diagnosis, subject_, "PostgreSQL failed while " + std::string(context));
}

void PgConnection::execute(const std::string& sql, std::string_view context) {
  Result result(PQexec(connection_, sql.c_str()));
  auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    fail(context, result.get());
}

bool PgConnection::execute_within(const std::string& sql, std::chrono::milliseconds limit,
                                  std::string_view context) {
  using Clock = std::chrono::steady_clock;
  if (PQsendQuery(connection_, sql.c_str()) != 1)
    fail(context, nullptr);
  const auto deadline = Clock::now() + limit;
  while (PQisBusy(connection_) != 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      // The statement may still run once it is served; only a closed connection is sure to drop it.
      PQfinish(connection_);
      connection_ = nullptr;
      return false;
    }
    pollfd socket{PQsocket(connection_), POLLIN, 0};
    const int ready = poll(&socket, 1, static_cast<int>(std::min<long long>(left, INT_MAX)));
    if (ready < 0 && errno != EINTR)
      fail(context, nullptr);
    if (ready > 0 && PQconsumeInput(connection_) != 1)
      fail(context, nullptr);
  }
  Result first_error;
  while (Result next{PQgetResult(connection_)}) {
    auto status = PQresultStatus(next.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && !first_error)
      first_error = std::move(next);
  }
  if (first_error)
    fail(context, first_error.get());
  return true;
}

std::vector<Row> PgConnection::query(const std::string& sql, const std::vector<std::string>& params,
                                     std::string_view context) {
  std::vector<const char*> values;
  for (const auto& param : params)
    values.push_back(param.c_str());
  Result result(PQexecParams(connection_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0));
  if (!result || PQresultStatus(result.get()) != PGRES_TUPLES_OK)
    fail(context, result.get());
  std::vector<Row> rows;
  int row_count = PQntuples(result.get());
  int column_count = PQnfields(result.get());
  for (int r = 0; r < row_count; ++r) {
    Row row;
    for (int c = 0; c < column_count; ++c) {
      if (PQgetisnull(result.get(), r, c))
        row.emplace_back(std::nullopt);
      else
        row.emplace_back(std::string(PQgetvalue(result.get(), r, c)));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

void PgConnection::copy_start(const std::string& copy_sql, std::string_view context) {
  copy_context_ = std::string(context);
  Result result(PQexec(connection_, copy_sql.c_str()));
  if (!result || PQresultStatus(result.get()) != PGRES_COPY_IN)
    fail(copy_context_, result.get());
}

void PgConnection::copy_send(std::string_view bytes) {
  while (!bytes.empty()) {
    // libpq copies each call's bytes into its output buffer, which never shrinks: pieces of
    // 1 MiB keep a huge row from being held a second time there for the connection's life.
    // (COPY data messages need not align with rows.)
    std::size_t piece = std::min<std::size_t>(bytes.size(), 1u << 20);
    if (PQputCopyData(connection_, bytes.data(), static_cast<int>(piece)) != 1)
      fail(copy_context_, nullptr);
    bytes.remove_prefix(piece);
  }
}

void PgConnection::copy_finish() {
  if (PQputCopyEnd(connection_, nullptr) != 1)
    fail(copy_context_, nullptr);
  Result result(PQgetResult(connection_));
  bool ok = result && PQresultStatus(result.get()) == PGRES_COMMAND_OK;
  if (!ok) {
    // Drain what is left so the connection is usable (or clearly broken) afterwards.
    Result error = std::move(result);
    while (Result next{PQgetResult(connection_)}) {
    }
    fail(copy_context_, error.get());
  }
  while (Result next{PQgetResult(connection_)}) {
  }
}

void PgConnection::copy_abort(std::string_view reason) noexcept {
  if (connection_ == nullptr || PQstatus(connection_) != CONNECTION_OK)
    return;
  // With an error message, the server fails the COPY and its rows are never stored.
  std::string message(reason);
  if (PQputCopyEnd(connection_, message.c_str()) != 1)
    return;
  while (Result next{PQgetResult(connection_)}) {
  }
}

} // namespace pgdest::postgres
