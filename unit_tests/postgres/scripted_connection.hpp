#pragma once
// A stand-in for a server that answers each catalog query from a script, in order, and records
// every statement; a statement fails on cue through `on_execute`.
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "pgdest/postgres/connection.hpp"

namespace pgdest::testing {

class ScriptedConnection : public postgres::Connection {
public:
  std::map<std::string, std::deque<std::vector<postgres::Row>>> answers; // by query text
  std::vector<std::string> executed;
  // Runs before each statement is recorded; may throw to make it fail.
  std::function<void(const std::string&)> on_execute;
  bool alive = true;

  void execute(const std::string& sql, std::string_view) override {
    if (on_execute)
      on_execute(sql);
    executed.push_back(sql);
  }
  bool execute_within(const std::string& sql, std::chrono::milliseconds,
                      std::string_view context) override {
    execute(sql, context);
    return true;
  }
  std::vector<postgres::Row> query(const std::string& sql, const std::vector<std::string>&,
                                   std::string_view) override {
    auto& queue = answers[sql];
    if (queue.empty())
      return {};
    auto rows = queue.front();
    queue.pop_front();
    return rows;
  }
  void copy_start(const std::string&, std::string_view) override {}
  void copy_send(std::string_view) override {}
  void copy_finish() override {}
  void copy_abort(std::string_view) noexcept override {}
  bool healthy() const override { return alive; }
};

} // namespace pgdest::testing
