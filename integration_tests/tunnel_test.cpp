// SSH tunnels against the real OpenSSH server of scripts/ssh-sandbox: `check` and `write` through
// each login (RSA key in PEM form, ed25519 key, password), every connection of a write through
// the bastion, a broken tunnel reopened, each failing hop with its own message, TLS host names
// still checked, and no secret in any output.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "support/fault_input.hpp"
#include "support/harness.hpp"
#include "support/sync.hpp"

using json = nlohmann::ordered_json;
using namespace pgdest::testing;
using Rows = std::vector<std::vector<std::string>>;

namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

// The server of scripts/ssh-sandbox, as its env file describes it.
struct Bastion {
  std::string host = env("PGDEST_TEST_SSH_HOST");
  int port = std::atoi(env("PGDEST_TEST_SSH_PORT").c_str());
  std::string key_user = env("PGDEST_TEST_SSH_KEY_USER");
  std::string rsa_pem_key = read_text_file(env("PGDEST_TEST_SSH_RSA_PEM_KEY"));
  std::string ed25519_key = read_text_file(env("PGDEST_TEST_SSH_ED25519_KEY"));
  std::string unauthorized_key = read_text_file(env("PGDEST_TEST_SSH_UNAUTHORIZED_KEY"));
  std::string password_user = env("PGDEST_TEST_SSH_PASSWORD_USER");
  std::string password = env("PGDEST_TEST_SSH_PASSWORD");
  std::string kbdint_user = env("PGDEST_TEST_SSH_KBDINT_USER"); // the password, by PAM only

  std::string endpoint() const { return host + ":" + std::to_string(port); }
};

// The sandbox, or nothing when it is not running; in CI its absence fails the test.
std::optional<Bastion> bastion() {
  if (env("PGDEST_TEST_SSH_PORT").empty()) {
    if (!env("CI").empty())
      FAIL("PGDEST_TEST_SSH_* is not set: start scripts/ssh-sandbox and source its env file.");
    WARN("PGDEST_TEST_SSH_* is not set (scripts/ssh-sandbox): SSH tunnel tests skipped.");
    return std::nullopt;
  }
  return Bastion();
}

enum class Login { rsa_pem_key, ed25519_key, password, keyboard_interactive };

const char* name_of(Login login) {
  switch (login) {
  case Login::rsa_pem_key:
    return "RSA key in PEM form";
  case Login::ed25519_key:
    return "ed25519 key";
  case Login::password:
    return "password";
  case Login::keyboard_interactive:
    return "password by keyboard-interactive";
  }
  return "";
}

std::string tunnel_user(const Bastion& bastion, Login login) {
  switch (login) {
  case Login::password:
    return bastion.password_user;
  case Login::keyboard_interactive:
    return bastion.kbdint_user;
  default:
    return bastion.key_user;
  }
}

json tunnel_method(const Bastion& bastion, Login login) {
  if (login == Login::password || login == Login::keyboard_interactive)
    return {{"tunnel_method", "SSH_PASSWORD_AUTH"},
            {"tunnel_host", bastion.host},
            {"tunnel_port", bastion.port},
            {"tunnel_user", tunnel_user(bastion, login)},
            {"tunnel_user_password", bastion.password}};
  return {{"tunnel_method", "SSH_KEY_AUTH"},
          {"tunnel_host", bastion.host},
          {"tunnel_port", bastion.port},
          {"tunnel_user", tunnel_user(bastion, login)},
          {"ssh_key", login == Login::rsa_pem_key ? bastion.rsa_pem_key : bastion.ed25519_key}};
}

json tunnelled_config(const std::string& schema, const Bastion& bastion, Login login) {
  json config = test_config(schema);
  config["tunnel_method"] = tunnel_method(bastion, login);
  return config;
}

// The lines of a private key's body: none may appear in any output.
std::vector<std::string> key_lines(const std::string& key) {
  std::vector<std::string> lines;
  std::istringstream in(key);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line.rfind("-----", 0) != 0)
      lines.push_back(line);
  return lines;
}

void check_no_secret(const RunResult& run, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    for (const auto& line : run.stdout_lines)
      CHECK(line.find(secret) == std::string::npos);
    CHECK(run.stderr_text.find(secret) == std::string::npos);
  }
}

std::vector<std::string> secrets_of(const Bastion& bastion) {
  std::vector<std::string> secrets = {bastion.password};
  for (const auto* key : {&bastion.rsa_pem_key, &bastion.ed25519_key, &bastion.unauthorized_key})
    for (auto& line : key_lines(*key))
      secrets.push_back(line);
  return secrets;
}

struct CheckOutcome {
  std::string status;
  std::string message;
  RunResult run;
};

CheckOutcome run_check(const json& config) {
  std::string path = write_temp_file("tunnel-check-config.json", config.dump());
  CheckOutcome outcome;
  outcome.run = run_connector({"check", "--config", path});
  INFO(outcome.run.stderr_text);
  CHECK(outcome.run.exit_code == 0);
  CHECK(protocol_violations(outcome.run.stdout_lines).empty());
  auto statuses = outcome.run.messages("CONNECTION_STATUS");
  REQUIRE(statuses.size() == 1);
  outcome.status = statuses[0]["connectionStatus"]["status"];
  outcome.message = statuses[0]["connectionStatus"].value("message", "");
  return outcome;
}

// Whether the test server can be reached at its IPv4 address written as IPv6.
bool v4_mapped_ipv6_works() {
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0)
    return false;
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_port = htons(static_cast<std::uint16_t>(std::stoi(env("PGDEST_TEST_PORT"))));
  inet_pton(AF_INET6, "::ffff:127.0.0.1", &address.sin6_addr);
  bool connected = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return connected;
}

uid_t uid_of(const std::string& user) {
  passwd* entry = getpwnam(user.c_str());
  REQUIRE(entry != nullptr);
  return entry->pw_uid;
}

// A TCP socket of this machine as /proc/net/tcp lists it.
struct SocketEntry {
  uid_t uid = 0;
  std::string inode;
};

// The socket whose local port is `local_port` and whose peer port is `peer_port`.
std::optional<SocketEntry> tcp_socket(int local_port, int peer_port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line); // the header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits;
    SocketEntry entry;
    fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> entry.uid;
    std::string timeout;
    fields >> timeout >> entry.inode;
    auto port_of = [](const std::string& address) {
      return std::stoi(address.substr(address.find(':') + 1), nullptr, 16);
    };
    if (port_of(local) == local_port && port_of(remote) == peer_port)
      return entry;
  }
  return std::nullopt;
}

// The process that holds the socket with `inode` open, or -1.
pid_t holder_of(const std::string& inode) {
  const std::string target = "socket:[" + inode + "]";
  DIR* proc = opendir("/proc");
  if (proc == nullptr)
    return -1;
  pid_t found = -1;
  while (dirent* process = readdir(proc)) {
    const std::string pid = process->d_name;
    if (pid.find_first_not_of("0123456789") != std::string::npos)
      continue;
    const std::string fd_dir = "/proc/" + pid + "/fd";
    DIR* fds = opendir(fd_dir.c_str());
    if (fds == nullptr)
      continue;
    while (dirent* fd = readdir(fds)) {
      char link[256] = {};
      const std::string path = fd_dir + "/" + fd->d_name;
      ssize_t n = readlink(path.c_str(), link, sizeof link - 1);
      if (n > 0 && target == std::string(link, static_cast<std::size_t>(n)))
        found = std::stoi(pid);
    }
    closedir(fds);
    if (found > 0)
      break;
  }
  closedir(proc);
  return found;
}

// The client ports of the server sessions of `application_name` that started after
// `started_after`, once there are at least `count` of them (empty if they do not come in 30 s).
std::vector<int> session_ports(const std::string& application_name, std::size_t count,
                               const std::string& started_after = "-infinity") {
  auto watcher = test_connection();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  do {
    pqxx::nontransaction work(watcher);
    std::vector<int> ports;
    for (const auto& row : work.exec_params(
             "SELECT client_port FROM pg_stat_activity WHERE application_name = $1 AND "
             "client_port IS NOT NULL AND backend_start > $2::timestamptz",
             application_name, started_after))
      ports.push_back(row[0].as<int>());
    if (ports.size() >= count)
      return ports;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  return {};
}

// The server's side of a session's connection is the bastion's: the socket that connects to the
// server from `client_port` belongs to the SSH session process of `tunnel_user`.
void check_through_bastion(int client_port, const std::string& tunnel_user) {
  INFO("client port " << client_port);
  auto socket = tcp_socket(client_port, std::stoi(env("PGDEST_TEST_PORT")));
  REQUIRE(socket);
  CHECK(socket->uid == uid_of(tunnel_user));
}

// A failing check of each case, with the case's message and no secret in any output.
struct HopCase {
  std::string name;
  json config;
  std::string message;
};

void check_each_fails_with_its_message(const std::vector<HopCase>& cases, const Bastion& bastion) {
  for (const auto& expected : cases) {
    INFO("case: " << expected.name);
    auto start = std::chrono::steady_clock::now();
    auto outcome = run_check(expected.config);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(15));
    CHECK(outcome.status == "FAILED");
    CHECK(outcome.message == expected.message);
    auto secrets = secrets_of(bastion);
    secrets.push_back("Not-The-Tunnel-Pw-7319");
    check_no_secret(outcome.run, secrets);
  }
}

} // namespace

TEST_CASE("check succeeds through the bastion with each login", "[tunnel][check]") {
  auto sandbox = bastion();
  if (!sandbox)
    return;
  for (Login login :
       {Login::rsa_pem_key, Login::ed25519_key, Login::password, Login::keyboard_interactive}) {
    INFO("login: " << name_of(login));
    auto schema = fresh_schema("it_tunnel_check");
    auto outcome = run_check(tunnelled_config(schema, *sandbox, login));
    CHECK(outcome.status == "SUCCEEDED");
    CHECK(outcome.message.empty());
    // The bastion's host key is logged, as nobody checks it.
    bool fingerprint_logged = false;
    for (const auto& log : outcome.run.messages("LOG"))
      fingerprint_logged =
          fingerprint_logged || log["log"]["message"].get<std::string>().find(
                                    "SSH bastion " + sandbox->endpoint() +
                                    " presented host key ssh-ed25519 SHA256:") != std::string::npos;
    CHECK(fingerprint_logged);
    check_no_secret(outcome.run, secrets_of(*sandbox));
  }
}

TEST_CASE("check names a refused login to the bastion", "[tunnel][check]") {
  auto sandbox = bastion();
  if (!sandbox)
    return;
  const std::string bastion_at = sandbox->endpoint();
  std::vector<HopCase> cases;
  json wrong_key = tunnelled_config("public", *sandbox, Login::ed25519_key);
  wrong_key["tunnel_method"]["ssh_key"] = sandbox->unauthorized_key;
  cases.push_back({"a key the bastion does not know", wrong_key,
                   "The SSH bastion " + bastion_at +
                       " refused the key in tunnel_method.ssh_key for user \"" + sandbox->key_user +
                       "\". Add the key's public half to that user's authorized_keys on the "
                       "bastion, or check tunnel_method.tunnel_user."});

  // Whether the bastion asks for it as a password or by keyboard-interactive: the same words.
  for (Login login : {Login::password, Login::keyboard_interactive}) {
    json wrong_password = tunnelled_config("public", *sandbox, login);
    wrong_password["tunnel_method"]["tunnel_user_password"] = "Not-The-Tunnel-Pw-7319";
    cases.push_back({std::string("a wrong ") + name_of(login), wrong_password,
                     "The SSH bastion " + bastion_at + " refused the password for user \"" +
                         tunnel_user(*sandbox, login) +
                         "\". Check tunnel_method.tunnel_user and "
                         "tunnel_method.tunnel_user_password."});
  }

  check_each_fails_with_its_message(cases, *sandbox);
}

TEST_CASE("check names the hop that cannot be passed: the bastion, or the way to the database",
          "[tunnel][check]") {
  auto sandbox = bastion();
  if (!sandbox)
    return;
  const std::string bastion_at = sandbox->endpoint();
  std::vector<HopCase> cases;
  json closed_bastion = tunnelled_config("public", *sandbox, Login::password);
  const int no_ssh = closed_port();
  closed_bastion["tunnel_method"]["tunnel_port"] = no_ssh;
  cases.push_back({"nothing listens on the bastion's port", closed_bastion,
                   "Could not connect to the SSH bastion 127.0.0.1:" + std::to_string(no_ssh) +
                       ": the connection was refused. Check tunnel_method.tunnel_host and "
                       "tunnel_port, that the SSH server runs there, and that no firewall drops "
                       "the connection."});

  json unknown_bastion = tunnelled_config("public", *sandbox, Login::password);
  unknown_bastion["tunnel_method"]["tunnel_host"] = "no-such-bastion.invalid";
  cases.push_back({"a bastion host name that does not resolve", unknown_bastion,
                   "Could not resolve the SSH bastion host \"no-such-bastion.invalid\": no such "
                   "host is known. Check tunnel_method.tunnel_host (and the DNS settings of the "
                   "machine running the connector)."});

  json closed_database = tunnelled_config("public", *sandbox, Login::ed25519_key);
  const int no_database = closed_port();
  closed_database["port"] = no_database;
  cases.push_back(
      {"nothing listens on the database's port, seen from the bastion", closed_database,
       "The SSH bastion " + bastion_at +
           " could not connect to the database at 127.0.0.1:" + std::to_string(no_database) +
           ": connection refused. Check host and port as the bastion sees them, and that "
           "PostgreSQL runs there and accepts TCP connections from the bastion."});

  // The password user may forward to 127.0.0.1 only (PermitOpen).
  json not_permitted = tunnelled_config("public", *sandbox, Login::password);
  not_permitted["host"] = "localhost";
  cases.push_back({"a target the bastion does not forward to", not_permitted,
                   "The SSH bastion " + bastion_at + " does not forward user \"" +
                       sandbox->password_user +
                       "\"'s connections to localhost:" + env("PGDEST_TEST_PORT") +
                       " (open failed). Allow them on the bastion (AllowTcpForwarding and "
                       "PermitOpen in sshd_config)."});
  check_each_fails_with_its_message(cases, *sandbox);
}

TEST_CASE("a key with a passphrase is refused before connecting, saying why", "[tunnel][check]") {
  auto sandbox = bastion();
  if (!sandbox)
    return;
  std::string path = write_temp_file("tunnel-encrypted-key", "");
  std::remove(path.c_str());
  REQUIRE(
      std::system(("ssh-keygen -q -t ed25519 -N Key-Phrase-5521 -f '" + path + "' >/dev/null 2>&1")
                      .c_str()) == 0);
  json config = tunnelled_config("public", *sandbox, Login::ed25519_key);
  config["tunnel_method"]["ssh_key"] = read_text_file(path);
  auto outcome = run_check(config);
  CHECK(outcome.status == "FAILED");
  CHECK(outcome.message ==
        "tunnel_method.ssh_key cannot be used: it is protected by a passphrase. Paste the whole "
        "private key file, without a passphrase: one made with ssh-keygen -t rsa -m PEM or "
        "ssh-keygen -t ed25519 (ssh-keygen -p -N \"\" -f <key file> removes a passphrase).");
  auto secrets = key_lines(read_text_file(path));
  secrets.push_back("Key-Phrase-5521");
  check_no_secret(outcome.run, secrets);
}

TEST_CASE("an append_dedup write opens every connection through the bastion", "[tunnel][write]") {
  auto sandbox = bastion();
  if (!sandbox)
    return;
  for (Login login : {Login::rsa_pem_key, Login::ed25519_key, Login::password}) {
    INFO("login: " << name_of(login));
    auto schema = fresh_schema("it_tunnel_write");
    const std::string application = "it_tunnel_write_" + std::to_string(getpid());
    json config = tunnelled_config(schema, *sandbox, login);
    config["jdbc_url_params"] = "ApplicationName=" + application;
    config["max_connections"] = 3;
    auto catalog = users_catalog("append_dedup");
    ConnectorProcess connector(write_args(schema, config, catalog));
    connector.write_stdin(user_batches(1, 300, 100, 50));
    // The sync loads over three connections: all come from the bastion's session of the tunnel
    // user, not from this process.
    auto ports = session_ports(application, 3);
    REQUIRE(ports.size() == 3);
    for (int port : ports)
      check_through_bastion(port, tunnel_user(*sandbox, login));
    connector.write_stdin(complete_statuses(catalog));
    auto result = connector.wait(120);
    INFO(result.stderr_text);
    CHECK(result.exit_code == 0);
    CHECK(result.trace_errors().empty());
    check_states_committed(states(result), 1, 100, schema + ".users", 50);
    CHECK(states(result).size() == 3);
    CHECK(query_rows("SELECT count(*), count(DISTINCT id), max(seq) FROM " + schema + ".users") ==
          Rows{{"50", "50", "300"}});
    check_no_secret(result, secrets_of(*sandbox));
  }
}

TEST_CASE("a tunnel that breaks during a write is reopened and the sync completes",
          "[tunnel][write][fault]") {
  auto sandbox = bastion();
  if (!sandbox)
    return;
  auto schema = fresh_schema("it_tunnel_break");
  const std::string application = "it_tunnel_break_" + std::to_string(getpid());
  json config = tunnelled_config(schema, *sandbox, Login::ed25519_key);
  config["jdbc_url_params"] = "ApplicationName=" + application;
  // Two lanes, both with rows of each batch (split by key), so both reconnect.
  config["max_connections"] = 2;
  auto catalog = users_catalog("append_dedup");
  ConnectorProcess connector(write_args(schema, config, catalog));
  connector.write_stdin(user_batches(1, 100, 100));
  REQUIRE(connector.wait_for_line("\"cursor\":100}", 30.0));
  auto ports = session_ports(application, 2);
  REQUIRE(ports.size() == 2);
  const std::string before_break = query_rows("SELECT now()::text")[0][0];

  // Kill the bastion's process that carries every connection's tunnel: the sessions end as a
  // crashed or rebooted bastion would end them.
  for (int port : ports) {
    auto socket = tcp_socket(port, std::stoi(env("PGDEST_TEST_PORT")));
    REQUIRE(socket);
    pid_t sshd = holder_of(socket->inode);
    REQUIRE(sshd > 0);
    REQUIRE(kill(sshd, SIGKILL) == 0);
  }
  connector.write_stdin(user_batches(101, 200, 100));
  REQUIRE(connector.wait_for_line("\"cursor\":200}", 60.0));
  // Committed on new connections, through new tunnels.
  auto new_ports = session_ports(application, 2, before_break);
  CHECK(new_ports.size() == 2);
  for (int port : new_ports)
    check_through_bastion(port, sandbox->key_user);
  connector.write_stdin(complete_statuses(catalog));
  auto result = connector.wait(120);
  INFO(result.stderr_text);
  CHECK(result.exit_code == 0);
  CHECK(result.trace_errors().empty());
  check_states_committed(states(result), 1, 100, schema + ".users");
  CHECK(states(result).size() == 2);
  CHECK(query_rows("SELECT count(*), count(DISTINCT seq) FROM " + schema + ".users") ==
        Rows{{"200", "200"}});
  bool tunnel_break_logged = false;
  for (const auto& log : result.messages("LOG"))
    tunnel_break_logged = tunnel_break_logged || log["log"]["message"].get<std::string>().find(
                                                     "The SSH tunnel to") != std::string::npos;
  CHECK(tunnel_break_logged);
}

TEST_CASE("through a tunnel, verify-full still checks the database's own host name",
          "[tunnel][tls]") {
  auto sandbox = bastion();
  if (!sandbox)
    return;
  const json verify_full = {{"mode", "verify-full"},
                            {"ca_certificate", read_text_file(env("PGDEST_TEST_CA"))}};
  auto schema = fresh_schema("it_tunnel_tls");
  // The certificate is issued for "localhost": libpq checks that name, not 127.0.0.1, the
  // address of the tunnel's end it connects to.
  json named = tunnelled_config(schema, *sandbox, Login::ed25519_key);
  named["ssl_mode"] = verify_full;
  named["host"] = "localhost";
  auto passed = run_check(named);
  CHECK(passed.status == "SUCCEEDED");

  // "::ffff:127.0.0.1" is 127.0.0.1 to the bastion, but not an address the certificate holds.
  if (!v4_mapped_ipv6_works()) {
    WARN("IPv6 is off on this machine: the certificate mismatch through a tunnel is not tried.");
    return;
  }
  json other_name = named;
  other_name["host"] = "::ffff:127.0.0.1";
  auto refused = run_check(other_name);
  CHECK(refused.status == "FAILED");
  CHECK(refused.message ==
        "The server's TLS certificate does not match host \"::ffff:127.0.0.1\" (TLS mode "
        "\"verify-full\"). Use the host name the certificate was issued for, or set ssl_mode to "
        "\"verify-ca\" to skip the host name check.");
}
