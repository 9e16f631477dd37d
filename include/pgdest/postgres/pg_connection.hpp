#pragma once
// One libpq connection for the write path: statements, parameterised queries and binary COPY.
// (libpqxx 6.4 has no binary COPY, so the write path talks to libpq directly.)
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgdest/error.hpp"

struct pg_conn;
struct pg_result;

namespace pgdest::postgres {

using Row = std::vector<std::optional<std::string>>;

class PgConnection {
public:
  // `conninfo_with_password` is used here and never kept or printed; `endpoint` ("host:port")
  // names the server in errors.
  PgConnection(const std::string& conninfo_with_password, const std::string& endpoint);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs a statement; `context` says what it was for in an error ("creating table x").
  void execute(const std::string& sql, std::string_view context);
  // Runs a query with text parameters; rows as text.
  std::vector<Row> query(const std::string& sql, const std::vector<std::string>& params,
                         std::string_view context);

  void copy_start(const std::string& copy_sql, std::string_view context);
  void copy_send(std::string_view bytes);
  void copy_finish();

  bool healthy() const;

private:
  [[noreturn]] void fail(std::string_view context, const ::pg_result* result) const;

  ::pg_conn* connection_ = nullptr;
  std::string copy_context_;
};

} // namespace pgdest::postgres
