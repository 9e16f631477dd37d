// The connector as a process: a stdout that cannot take a line, cancellation by SIGTERM with TLS
// material that never reaches the disk, and the memory a huge line costs.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <thread>

#include "support/harness.hpp"
#include "support/sync.hpp"

using namespace pgdest::testing;
using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kStdoutClosed =
    "destination-postgres: Could not write to stdout: Broken pipe. The platform can no longer "
    "receive this sync's messages, so it stops here.\n";
const std::string kStdoutFull =
    "destination-postgres: Could not write to stdout: No space left on device. The platform can "
    "no longer receive this sync's messages, so it stops here.\n";
const std::string kStoppedBySigterm =
    "destination-postgres: stopped by SIGTERM (sync cancelled); rows not yet committed are rolled "
    "back and no further STATE is emitted.\n";

std::string records(int from, int to) {
  std::string lines;
  for (int id = from; id <= to; ++id)
    lines +=
        R"({"type":"RECORD","record":{"stream":"users","emitted_at":1700000000000,"data":{"id":)" +
        std::to_string(id) + R"(,"name":"user )" + std::to_string(id) + "\"}}}\n";
  return lines;
}

std::string state(int cursor) {
  return R"({"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":)" +
         std::to_string(cursor) + "}}}}\n";
}

json users_catalog() {
  return configure_catalog(
      {{"streams",
        {{{"name", "users"},
          {"json_schema",
           {{"type", "object"},
            {"properties", {{"id", {{"type", "integer"}}}, {"name", {{"type", "string"}}}}}}}}}}},
      "append");
}

// `write` arguments for `config` and the users catalog, their files named after `name`.
std::vector<std::string> write_args(const std::string& name, const json& config) {
  return {"write", "--config", write_temp_file(name + "-config.json", config.dump()), "--catalog",
          write_temp_file(name + "-catalog.json", users_catalog().dump())};
}

struct Outcome {
  int exit_code = -1;
  bool ended_by_itself = false; // exited while its stdin was still open
  std::string stderr_text;
};

// Runs the connector with its stdout on `stdout_fd` and `input` on stdin, which stays open for up
// to `seconds`: only the connector's own decision can end the run before that.
Outcome run_with_stdout(const std::vector<std::string>& args, int stdout_fd,
                        const std::string& input, double seconds) {
  int in_pipe[2], err_pipe[2];
  REQUIRE(pipe(in_pipe) == 0);
  REQUIRE(pipe(err_pipe) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(stdout_fd, 1);
    dup2(err_pipe[1], 2);
    for (int fd : {in_pipe[0], in_pipe[1], err_pipe[0], err_pipe[1], stdout_fd})
      close(fd);
    exec_connector(args);
  }
  signal(SIGPIPE, SIG_IGN);
  close(in_pipe[0]);
  close(err_pipe[1]);
  std::string text;
  std::thread reader([&] {
    char buffer[4096];
    for (ssize_t n; (n = read(err_pipe[0], buffer, sizeof buffer)) > 0;)
      text.append(buffer, static_cast<std::size_t>(n));
  });
  for (std::size_t done = 0; done < input.size();) {
    ssize_t n = write(in_pipe[1], input.data() + done, input.size() - done);
    if (n <= 0)
      break; // the connector stopped reading
    done += static_cast<std::size_t>(n);
  }
  Outcome outcome;
  int status = 0;
  auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) {
      close(in_pipe[1]);
      in_pipe[1] = -1;
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  outcome.ended_by_itself = in_pipe[1] >= 0;
  if (in_pipe[1] >= 0)
    close(in_pipe[1]);
  reader.join();
  close(err_pipe[0]);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  outcome.stderr_text = text;
  return outcome;
}

// A fresh folder to give the connector as TMPDIR.
std::string private_tmpdir() {
  std::string folder =
      (std::filesystem::temp_directory_path() / "pgdest-it-tmpdir-XXXXXX").string();
  REQUIRE(mkdtemp(folder.data()) != nullptr);
  return folder;
}

// Where the connector's open file descriptors point (/proc/PID/fd).
std::vector<std::string> open_files(int pid) {
  std::vector<std::string> targets;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    std::error_code error;
    auto target = std::filesystem::read_symlink(entry.path(), error);
    if (!error)
      targets.push_back(target.string());
  }
  return targets;
}

bool any_starts_with(const std::vector<std::string>& texts, const std::string& prefix) {
  for (const auto& text : texts)
    if (text.rfind(prefix, 0) == 0)
      return true;
  return false;
}

// A client certificate and key signed by the test server's CA, when its key is readable.
std::optional<std::pair<std::string, std::string>> client_certificate() {
  auto tls = std::filesystem::path(std::getenv("PGDEST_TEST_CA")).parent_path();
  if (access((tls / "ca.key").c_str(), R_OK) != 0)
    return std::nullopt;
  auto dir = std::filesystem::path(write_temp_file("process-client.marker", "")).parent_path();
  std::string command = "cd '" + dir.string() +
                        "' && openssl req -newkey rsa:2048 -nodes -subj /CN=pgdest -keyout "
                        "process-client.key -out process-client.csr && openssl x509 -req -in "
                        "process-client.csr -CA '" +
                        (tls / "ca.crt").string() + "' -CAkey '" + (tls / "ca.key").string() +
                        "' -set_serial 4343 -days 1 -out process-client.crt >/dev/null 2>&1";
  if (std::system(("bash -c \"" + command + "\" >/dev/null 2>&1").c_str()) != 0)
    return std::nullopt;
  return std::make_pair(read_text_file((dir / "process-client.crt").string()),
                        read_text_file((dir / "process-client.key").string()));
}

// verify-full against the test CA, with a client certificate when one can be made.
json verify_full_config(const std::string& schema) {
  json config = test_config(schema);
  config["host"] = "localhost";
  config["ssl_mode"] = {{"mode", "verify-full"},
                        {"ca_certificate", read_text_file(std::getenv("PGDEST_TEST_CA"))}};
  if (auto client = client_certificate()) {
    config["ssl_mode"]["client_certificate"] = client->first;
    config["ssl_mode"]["client_key"] = client->second;
  } else {
    WARN("the test CA's key is not readable: no client certificate");
  }
  return config;
}

void check_tls_material_in_memory_only(int pid, const std::string& tmpdir, const json& config) {
  auto files = open_files(pid);
  INFO("open files: " << json(files).dump());
  CHECK(any_starts_with(files, "/memfd:pgdest-ca-certificate"));
  if (config["ssl_mode"].contains("client_key")) {
    CHECK(any_starts_with(files, "/memfd:pgdest-client-certificate"));
    CHECK(any_starts_with(files, "/memfd:pgdest-client-key"));
  }
  CHECK_FALSE(any_starts_with(files, tmpdir));
  CHECK(std::filesystem::is_empty(tmpdir));
}

// Sends SIGTERM and waits for the exit; how long it took is in `seconds`.
RunResult stop_with_sigterm(ConnectorProcess& connector, double& seconds) {
  auto start = Clock::now();
  REQUIRE(kill(connector.pid(), SIGTERM) == 0);
  RunResult result = connector.wait();
  seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

} // namespace

TEST_CASE("a write whose stdout pipe is closed stops at its first STATE, saying so on stderr",
          "[process]") {
  auto schema = fresh_schema("it_process_epipe");
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  close(fds[0]); // the platform has gone
  auto outcome = run_with_stdout(write_args(schema, test_config(schema)), fds[1],
                                 records(1, 3) + state(1) + records(4, 6) + state(2), 30);
  close(fds[1]);
  // Before, every line failed unnoticed and the sync went on to exit 0 once its input ended.
  CHECK(outcome.ended_by_itself);
  CHECK(outcome.exit_code == 1);
  CHECK(outcome.stderr_text == kStdoutClosed);
}

TEST_CASE("spec and write with stdout on a full disk fail, saying so on stderr", "[process]") {
  int full = open("/dev/full", O_WRONLY);
  REQUIRE(full >= 0);
  auto spec = run_with_stdout({"spec"}, full, "", 30);
  CHECK(spec.exit_code == 1);
  CHECK(spec.stderr_text == kStdoutFull);

  auto schema = fresh_schema("it_process_full");
  auto sync =
      run_with_stdout(write_args(schema, test_config(schema)), full, records(1, 3) + state(1), 30);
  close(full);
  CHECK(sync.ended_by_itself);
  CHECK(sync.exit_code == 1);
  CHECK(sync.stderr_text == kStdoutFull);
}

TEST_CASE("SIGTERM ends a verify-full write promptly, and its certificates and key never touch "
          "the disk, also across a reconnect",
          "[process][tls]") {
  auto schema = fresh_schema("it_process_sigterm");
  json config = verify_full_config(schema);
  config["jdbc_url_params"] = "ApplicationName=it_process_sigterm";
  std::string tmpdir = private_tmpdir();
  ConnectorProcess connector(write_args(schema, config), {{"TMPDIR", tmpdir}});
  connector.write_stdin(records(1, 3) + state(1));
  REQUIRE(connector.wait_for_line(R"("cursor":1)", 30));
  check_tls_material_in_memory_only(connector.pid(), tmpdir, config);

  // The loading thread reconnects (and so reopens the in-memory files) after a lost connection.
  query_rows("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE application_name = 'it_process_sigterm'");
  connector.write_stdin(records(4, 6) + state(2));
  REQUIRE(connector.wait_for_line(R"("cursor":2)", 60));
  CHECK(query_rows("SELECT count(*) FROM it_process_sigterm.users") ==
        std::vector<std::vector<std::string>>{{"6"}});

  connector.write_stdin(records(7, 9));
  double seconds = 0;
  RunResult result = stop_with_sigterm(connector, seconds);
  CHECK(result.exit_code == 128 + SIGTERM);
  CHECK(result.stderr_text == kStoppedBySigterm);
  CHECK(seconds < 5);
  CHECK(result.messages("STATE").size() == 2);
  CHECK(std::filesystem::is_empty(tmpdir));
  std::filesystem::remove_all(tmpdir);
}

TEST_CASE("SIGTERM ends a verify-full check waiting for the server, leaving nothing in TMPDIR",
          "[process][tls]") {
  // A server that accepts the connection and never answers: check waits in the TLS handshake.
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(listen(listener, 4) == 0);
  REQUIRE(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);

  json config = verify_full_config("it_process_check");
  config["host"] = "127.0.0.1";
  config["port"] = ntohs(address.sin_port);
  std::string tmpdir = private_tmpdir();
  ConnectorProcess connector(
      {"check", "--config", write_temp_file("process-check.json", config.dump())},
      {{"TMPDIR", tmpdir}});
  pollfd waiting{listener, POLLIN, 0};
  REQUIRE(poll(&waiting, 1, 30000) == 1);
  int accepted = accept(listener, nullptr, nullptr);
  REQUIRE(accepted >= 0);
  check_tls_material_in_memory_only(connector.pid(), tmpdir, config);

  double seconds = 0;
  RunResult result = stop_with_sigterm(connector, seconds);
  close(accepted);
  close(listener);
  CHECK(result.exit_code == 128 + SIGTERM);
  CHECK(result.stderr_text == kStoppedBySigterm);
  // Only the log of how it connects: no CONNECTION_STATUS for a check that did not finish.
  CHECK(result.messages("LOG").size() == result.stdout_lines.size());
  CHECK(result.messages("CONNECTION_STATUS").empty());
  CHECK(seconds < 5);
  CHECK(std::filesystem::is_empty(tmpdir));
  std::filesystem::remove_all(tmpdir);
}

TEST_CASE("a 100 MB value costs at most twice its line in memory", "[process][memory]") {
  // Before, the line, a scratch copy of the value and the COPY row were all held at once, and
  // libpq kept a fourth copy: 301 MiB for this record. Now: the line and the COPY row.
  auto schema = fresh_schema("it_process_memory");
  auto catalog = users_catalog();
  json config = test_config(schema);
  ConnectorProcess connector(write_args(schema, config));
  // Fed in pieces: a child's peak RSS counts what it shared with this process before exec.
  const std::size_t payload_bytes = 100'000'000;
  const std::string head =
      R"({"type":"RECORD","record":{"stream":"users","emitted_at":1700000000000,"data":{"id":1,"name":")";
  const std::string tail = "\"}}}\n";
  connector.write_stdin(head);
  const std::string piece(1'000'000, 'p');
  for (std::size_t sent = 0; sent < payload_bytes; sent += piece.size())
    connector.write_stdin(piece);
  connector.write_stdin(tail + state(1) + complete_statuses(catalog));
  RunResult result = connector.wait();
  INFO(result.stderr_text);
  REQUIRE(result.exit_code == 0);
  CHECK(query_rows("SELECT octet_length(name) FROM it_process_memory.users") ==
        std::vector<std::vector<std::string>>{{"100000000"}});
  const long line_kib = static_cast<long>((head.size() + payload_bytes + tail.size()) / 1024);
  INFO("peak RSS " << result.max_rss_kib / 1024 << " MiB for a line of " << line_kib / 1024
                   << " MiB");
#ifndef PGDEST_SANITIZED // the sanitizers' own bookkeeping and quarantine are not ours to count
  CHECK(result.max_rss_kib <= 2 * line_kib + 64 * 1024);
#endif
}
