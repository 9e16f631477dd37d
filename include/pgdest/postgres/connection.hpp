#pragma once
// What the load path needs from a PostgreSQL session: statements, queries and binary COPY.
// `PgConnection` is the real one; tests put a fake behind it to produce every failure branch.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgdest::postgres {

using Row = std::vector<std::optional<std::string>>;

class Connection {
public:
  virtual ~Connection() = default;

  // Runs a statement; `context` says what it was for in an error ("creating table x").
  virtual void execute(const std::string& sql, std::string_view context) = 0;
  // execute(), unless the answer takes longer than `limit` (e.g. a pooler has no server connection
  // free for it): then closes the connection and returns false.
  virtual bool execute_within(const std::string& sql, std::chrono::milliseconds limit,
                              std::string_view context) = 0;
  // Runs a query with text parameters; rows as text.
  virtual std::vector<Row> query(const std::string& sql, const std::vector<std::string>& params,
                                 std::string_view context) = 0;

  virtual void copy_start(const std::string& copy_sql, std::string_view context) = 0;
  virtual void copy_send(std::string_view bytes) = 0;
  // Ends the COPY; the server checks and stores its rows.
  virtual void copy_finish() = 0;
  // Ends the COPY with an error so that the server discards its rows (the transaction is then
  // aborted). Never throws: it runs on the way out of a failure.
  virtual void copy_abort(std::string_view reason) noexcept = 0;

  // False once the connection to the server is lost.
  virtual bool healthy() const = 0;
};

} // namespace pgdest::postgres
