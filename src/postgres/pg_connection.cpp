// libpq connection wrapper: every failure becomes a pgdest::Error with SQLSTATE and context.
#include "pgdest/postgres/pg_connection.hpp"

#include <libpq-fe.h>

#include <memory>

#include <fmt/format.h>

namespace pgdest::postgres {
namespace {

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

std::string trimmed(const char* text) {
  std::string out = text != nullptr ? text : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

} // namespace

FailureType failure_type_for_sqlstate(std::string_view sqlstate) {
  if (sqlstate.size() != 5) return FailureType::system_error;
  auto starts = [&](std::string_view prefix) { return sqlstate.substr(0, prefix.size()) == prefix; };
  if (starts("08") || starts("53") || starts("57P") || sqlstate == "40001" || sqlstate == "40P01")
    return FailureType::transient_error;
  if (starts("28") || sqlstate == "3D000" || sqlstate == "42501" || sqlstate == "3F000")
    return FailureType::config_error;
  return FailureType::system_error;
}

PgConnection::PgConnection(const std::string& conninfo_with_secrets) {
  connection_ = PQconnectdb(conninfo_with_secrets.c_str());
  if (connection_ == nullptr) throw SystemError("Could not allocate a PostgreSQL connection.");
  if (PQstatus(connection_) != CONNECTION_OK) {
    std::string message = trimmed(PQerrorMessage(connection_));
    PQfinish(connection_);
    connection_ = nullptr;
    FailureType type = FailureType::transient_error;
    if (message.find("password authentication failed") != std::string::npos ||
        message.find("does not exist") != std::string::npos || message.find("pg_hba.conf") != std::string::npos ||
        message.find("certificate") != std::string::npos)
      type = FailureType::config_error;
    throw Error(type, "Could not connect to PostgreSQL: " + message, message);
  }
}

PgConnection::~PgConnection() {
  if (connection_ != nullptr) PQfinish(connection_);
}

bool PgConnection::healthy() const { return connection_ != nullptr && PQstatus(connection_) == CONNECTION_OK; }

void PgConnection::fail(std::string_view context, const PGresult* result) const {
  std::string sqlstate;
  std::string server_text;
  if (result != nullptr) {
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    if (state != nullptr) sqlstate = state;
    server_text = trimmed(PQresultErrorMessage(result));
  }
  if (server_text.empty()) server_text = trimmed(PQerrorMessage(connection_));
  FailureType type = sqlstate.empty() ? FailureType::system_error : failure_type_for_sqlstate(sqlstate);
  if (PQstatus(connection_) != CONNECTION_OK) type = FailureType::transient_error;
  std::string primary = server_text;
  if (result != nullptr && PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) != nullptr)
    primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  throw Error(type, fmt::format("PostgreSQL failed while {}: {}", context, primary),
              fmt::format("SQLSTATE {}: {}", sqlstate.empty() ? "none" : sqlstate, server_text));
}

void PgConnection::execute(const std::string& sql, std::string_view context) {
  Result result(PQexec(connection_, sql.c_str()));
  auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(context, result.get());
}

std::vector<Row> PgConnection::query(const std::string& sql, const std::vector<std::string>& params,
                                     std::string_view context) {
  std::vector<const char*> values;
  for (const auto& param : params) values.push_back(param.c_str());
  Result result(PQexecParams(connection_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                             nullptr, nullptr, 0));
  if (!result || PQresultStatus(result.get()) != PGRES_TUPLES_OK) fail(context, result.get());
  std::vector<Row> rows;
  int row_count = PQntuples(result.get());
  int column_count = PQnfields(result.get());
  for (int r = 0; r < row_count; ++r) {
    Row row;
    for (int c = 0; c < column_count; ++c) {
      if (PQgetisnull(result.get(), r, c)) row.emplace_back(std::nullopt);
      else row.emplace_back(std::string(PQgetvalue(result.get(), r, c)));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

void PgConnection::copy_start(const std::string& copy_sql, std::string_view context) {
  copy_context_ = std::string(context);
  Result result(PQexec(connection_, copy_sql.c_str()));
  if (!result || PQresultStatus(result.get()) != PGRES_COPY_IN) fail(copy_context_, result.get());
}

void PgConnection::copy_send(std::string_view bytes) {
  while (!bytes.empty()) {
    // libpq takes at most INT_MAX bytes per call.
    std::size_t piece = std::min<std::size_t>(bytes.size(), 1u << 30);
    if (PQputCopyData(connection_, bytes.data(), static_cast<int>(piece)) != 1) fail(copy_context_, nullptr);
    bytes.remove_prefix(piece);
  }
}

void PgConnection::copy_finish() {
  if (PQputCopyEnd(connection_, nullptr) != 1) fail(copy_context_, nullptr);
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

} // namespace pgdest::postgres
