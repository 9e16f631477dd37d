// pooler: the signs of a pooler in the server's address, and how many connections can hold a
// transaction at once.
#include <catch2/catch.hpp>

#include <memory>

#include "pgdest/error.hpp"
#include "pgdest/postgres/pooler.hpp"

using pgdest::postgres::pooler_address_sign;
using pgdest::postgres::Row;

namespace {

enum class Served { yes, never, lost };

// A connection served by server process `process`, that can open a transaction only when
// served (not when the pooler's pool is full, or when the connection is lost on the way).
class PooledConnection : public pgdest::postgres::Connection {
public:
  PooledConnection(std::string process, Served served, std::vector<std::string>& log)
      : process_(std::move(process)), served_(served), log_(log) {}

  void execute(const std::string& sql, std::string_view) override {
    log_.push_back(process_ + ": " + sql);
  }
  bool execute_within(const std::string& sql, std::chrono::milliseconds limit,
                      std::string_view context) override {
    CHECK(limit == std::chrono::seconds(3));
    if (served_ == Served::lost)
      throw pgdest::TransientError("server closed the connection unexpectedly");
    if (served_ == Served::never) {
      log_.push_back(process_ + ": gave up on " + sql);
      return false;
    }
    execute(sql, context);
    return true;
  }
  std::vector<Row> query(const std::string&, const std::vector<std::string>&,
                         std::string_view) override {
    return {{process_}};
  }
  void copy_start(const std::string&, std::string_view) override {}
  void copy_send(std::string_view) override {}
  void copy_finish() override {}
  void copy_abort(std::string_view) noexcept override {}
  bool healthy() const override { return true; }

private:
  std::string process_;
  Served served_;
  std::vector<std::string>& log_;
};

} // namespace

TEST_CASE("the addresses of Supabase's, Neon's and PgBouncer's poolers are signs of a pooler",
          "[postgres][pooler]") {
  CHECK(pooler_address_sign("aws-0-eu-central-1.pooler.supabase.com", 6543)->find("6543") !=
        std::string::npos);
  CHECK(pooler_address_sign("db.abcdefghijklmnop.supabase.co", 6543)->find("Supabase") !=
        std::string::npos);
  CHECK(pooler_address_sign("aws-0-eu-central-1.pooler.supabase.com", 5432)->find("session mode") !=
        std::string::npos);
  CHECK(pooler_address_sign("ep-cool-darkness-123456-POOLER.us-east-2.aws.neon.tech", 5432)
            ->find("Neon") != std::string::npos);
  CHECK(pooler_address_sign("10.0.0.7", 6432)->find("PgBouncer") != std::string::npos);
  // Direct connections: Supabase's and Neon's own hosts, and any other server.
  CHECK_FALSE(pooler_address_sign("db.abcdefghijklmnop.supabase.co", 5432));
  CHECK_FALSE(pooler_address_sign("ep-cool-darkness-123456.us-east-2.aws.neon.tech", 5432));
  CHECK_FALSE(pooler_address_sign("warehouse.internal", 5432));
  CHECK_FALSE(pooler_address_sign("pooler.example.com", 5433));
}

TEST_CASE("the probe keeps the connections that could hold a transaction at once and rolls them "
          "back",
          "[postgres][pooler]") {
  std::vector<std::string> log;
  PooledConnection first("101", Served::yes, log);
  PooledConnection second("102", Served::yes, log);
  PooledConnection third("103", Served::never, log);
  PooledConnection fourth("104", Served::yes, log);
  auto probe = pgdest::postgres::probe_concurrent_transactions({&first, &second, &third, &fourth},
                                                               std::chrono::seconds(3));
  CHECK(probe.concurrent == 2);
  CHECK_FALSE(probe.shared_server_process);
  CHECK(log == std::vector<std::string>{"101: BEGIN", "102: BEGIN", "103: gave up on BEGIN",
                                        "101: ROLLBACK", "102: ROLLBACK"});
}

TEST_CASE("two connections served by one server process are a sign of a pooler",
          "[postgres][pooler]") {
  std::vector<std::string> log;
  PooledConnection first("101", Served::yes, log);
  PooledConnection second("101", Served::yes, log);
  auto probe =
      pgdest::postgres::probe_concurrent_transactions({&first, &second}, std::chrono::seconds(3));
  CHECK(probe.concurrent == 2);
  CHECK(probe.shared_server_process);
}

TEST_CASE("a probe that fails leaves no transaction of its own open", "[postgres][pooler]") {
  std::vector<std::string> log;
  PooledConnection first("101", Served::yes, log);
  PooledConnection second("102", Served::lost, log);
  CHECK_THROWS_AS(
      pgdest::postgres::probe_concurrent_transactions({&first, &second}, std::chrono::seconds(3)),
      pgdest::TransientError);
  CHECK(log == std::vector<std::string>{"101: BEGIN", "101: ROLLBACK"});
}
