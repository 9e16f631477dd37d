#pragma once
// One libpq connection for `check` and `write`: statements, parameterised queries and binary COPY.
// (libpqxx 6.4 has no binary COPY, so the connector talks to libpq directly; `check` uses it too.)
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pgdest/error.hpp"
#include "pgdest/postgres/connection.hpp"
#include "pgdest/postgres/error_classifier.hpp"
#include "pgdest/tunnel/ssh_tunnel.hpp"

struct pg_conn;
struct pg_result;

namespace pgdest::postgres {

class PgConnection final : public Connection {
public:
  // `conninfo_with_password` is used here and never kept or printed; `endpoint` ("host:port")
  // names the server in errors. A failure to connect throws the Error the failure table gives
  // (the same words `check` prints); no value of a secret setting appears in it. `tunnel`, when
  // given, is the forwarded connection the conninfo points at: it lives as long as this.
  PgConnection(const std::string& conninfo_with_password, const std::string& endpoint,
               std::unique_ptr<tunnel::ForwardedConnection> tunnel = nullptr);
  ~PgConnection() override;
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  void execute(const std::string& sql, std::string_view context) override;
  bool execute_within(const std::string& sql, std::chrono::milliseconds limit,
                      std::string_view context) override;
  std::vector<Row> query(const std::string& sql, const std::vector<std::string>& params,
                         std::string_view context) override;

  void copy_start(const std::string& copy_sql, std::string_view context) override;
  void copy_send(std::string_view bytes) override;
  void copy_finish() override;
  void copy_abort(std::string_view reason) noexcept override;

  bool healthy() const override;

private:
  // Throws the Error for a failed statement: names (constraint, table, column) but never the
  // values PostgreSQL quotes in DETAIL or CONTEXT.
  [[noreturn]] void fail(std::string_view context, const ::pg_result* result) const;

  // Declared first: closed after libpq has said goodbye through it.
  std::unique_ptr<tunnel::ForwardedConnection> tunnel_;
  ::pg_conn* connection_ = nullptr;
  std::string copy_context_;
  FailureSubject subject_; // who and where, for error messages
};

} // namespace pgdest::postgres
