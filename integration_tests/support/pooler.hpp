#pragma once
// Transaction poolers for the tests: the shared one scripts/test starts (scripts/pgbouncer-sandbox,
// PGDEST_TEST_POOLER_* in the environment) and private ones a test starts with its own settings,
// each a PgBouncer with pool_mode = transaction in front of the shared test server.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

namespace pgdest::testing {

// The server connections a pooler of the tests has for each database and user
// (scripts/pgbouncer-sandbox's default_pool_size). The poolers' config fields ask for no more
// connections than that, as the user documentation advises: with more, each sync would wait for
// a server connection the pool does not have before loading through fewer.
constexpr int kPoolSize = 2;

// The config fields ({"host", "port", "max_connections"}) that send the connector through the
// shared pooler, or nothing when none runs here (the caller skips). When CI is set, a missing
// pooler fails the test.
std::optional<nlohmann::ordered_json> shared_pooler();

// A connection as the test user through the pooler that `pooler` (config fields) names.
pqxx::connection connect_through(const nlohmann::ordered_json& pooler);

// A PgBouncer of the test's own on a free port, with extra [pgbouncer] `settings` (e.g.
// "default_pool_size = 1"). Stopped and deleted with the object, also when the test fails.
class PrivatePooler {
public:
  explicit PrivatePooler(const std::string& name, const std::vector<std::string>& settings = {});
  ~PrivatePooler();
  PrivatePooler(const PrivatePooler&) = delete;
  PrivatePooler& operator=(const PrivatePooler&) = delete;

  // The config fields that send the connector through it (as shared_pooler()'s).
  nlohmann::ordered_json fields() const;

private:
  std::string dir_;
  int port_ = 0;
};

} // namespace pgdest::testing
