// The shared test pooler's settings and private poolers on free ports.
#include "pooler.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>

#include "harness.hpp"

namespace pgdest::testing {
namespace {

std::string env_value(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

} // namespace

std::optional<nlohmann::ordered_json> shared_pooler() {
  const std::string port = env_value("PGDEST_TEST_POOLER_PORT");
  if (port.empty()) {
    if (!env_value("CI").empty())
      FAIL("PGDEST_TEST_POOLER_PORT is not set: start a pooler with scripts/pgbouncer-sandbox and "
           "source its env (scripts/test does)");
    WARN("no pooler here (PGDEST_TEST_POOLER_PORT is not set): test skipped");
    return std::nullopt;
  }
  const std::string host = env_value("PGDEST_TEST_POOLER_HOST");
  return nlohmann::ordered_json{{"host", host.empty() ? "127.0.0.1" : host},
                                {"port", std::stoi(port)},
                                {"max_connections", kPoolSize}};
}

pqxx::connection connect_through(const nlohmann::ordered_json& pooler) {
  auto config = test_config("public");
  config.update(pooler);
  return pqxx::connection("host=" + config["host"].get<std::string>() +
                          " port=" + std::to_string(config["port"].get<int>()) +
                          " dbname=" + config["database"].get<std::string>() +
                          " user=" + config["username"].get<std::string>() + " password=" +
                          config["password"].get<std::string>() + " sslmode=disable");
}

PrivatePooler::PrivatePooler(const std::string& name, const std::vector<std::string>& settings) {
  // Beside the shared pooler.
  const std::string shared_port = env_value("PGDEST_TEST_POOLER_PORT");
  auto started = start_sandbox("pgbouncer-sandbox", "pooler", name,
                               shared_port.empty() ? 56433 : std::stoi(shared_port) + 1,
                               "PGBOUNCER_SANDBOX_SETTINGS", settings);
  dir_ = started.dir;
  port_ = started.port;
}

PrivatePooler::~PrivatePooler() {
  stop_sandbox("pgbouncer-sandbox", {dir_, port_});
}

nlohmann::ordered_json PrivatePooler::fields() const {
  return {{"host", "127.0.0.1"}, {"port", port_}, {"max_connections", kPoolSize}};
}

} // namespace pgdest::testing
