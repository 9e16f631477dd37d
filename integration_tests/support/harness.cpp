// Child-process runner, test-server settings and protocol validation for the integration tests.
#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <catch2/catch.hpp>

namespace pgdest::testing {
namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

std::string temp_dir() {
  static const std::string dir = [] {
    std::string templ = std::filesystem::temp_directory_path() / "pgdest-it-XXXXXX";
    if (mkdtemp(templ.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    return templ;
  }();
  return dir;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string test_conninfo(const std::string& port) {
  return "host=" + env_or("PGDEST_TEST_HOST", "127.0.0.1") + " port=" + port +
         " dbname=" + env_or("PGDEST_TEST_DATABASE", "pgdest") +
         " user=" + env_or("PGDEST_TEST_USER", "pgdest") +
         " password=" + env_or("PGDEST_TEST_PASSWORD", "pgdest") + " sslmode=disable";
}

// Runs a shell command; its output goes to `log_path`. True on exit status 0.
bool run_command(const std::string& command, const std::string& log_path) {
  return std::system((command + " > '" + log_path + "' 2>&1").c_str()) == 0;
}

std::string sandbox_script() {
  return std::string(PGDEST_SOURCE_DIR) + "/scripts/pg-sandbox";
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

// A sanitizer report in the connector's stderr fails the test that ran it, also a test that
// expects the run to fail or does not look at the exit code.
void fail_on_sanitizer_report(const std::string& stderr_text) {
  for (const char* marker : {"WARNING: ThreadSanitizer", "ERROR: AddressSanitizer",
                             "ERROR: LeakSanitizer", "SUMMARY: UndefinedBehaviorSanitizer"})
    if (stderr_text.find(marker) != std::string::npos)
      throw std::runtime_error("The connector reported a sanitizer error:\n" + stderr_text);
}

} // namespace

std::vector<nlohmann::ordered_json> RunResult::messages(const std::string& type) const {
  std::vector<nlohmann::ordered_json> found;
  for (const auto& line : stdout_lines) {
    auto message = nlohmann::ordered_json::parse(line);
    if (message.value("type", "") == type)
      found.push_back(std::move(message));
  }
  return found;
}

std::vector<nlohmann::ordered_json> RunResult::trace_errors() const {
  std::vector<nlohmann::ordered_json> found;
  for (auto& message : messages("TRACE"))
    if (message["trace"].value("type", "") == "ERROR")
      found.push_back(message["trace"]["error"]);
  return found;
}

void exec_connector(const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& extra_env) {
  for (const auto& [key, value] : extra_env)
    setenv(key.c_str(), value.c_str(), 1);
  std::vector<char*> argv;
  std::string binary = PGDEST_BINARY;
  argv.push_back(binary.data());
  std::vector<std::string> copies = args;
  for (auto& arg : copies)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  execv(binary.c_str(), argv.data());
  _exit(127);
}

RunResult run_connector(const std::vector<std::string>& args, const std::string& stdin_text,
                        const std::map<std::string, std::string>& extra_env) {
  ConnectorProcess connector(args, extra_env);
  // A connector that stops reading early (an error) closes its stdin: the rest is not needed.
  try {
    connector.write_stdin(stdin_text);
  } catch (const std::runtime_error&) {
  }
  return connector.wait();
}

struct ConnectorProcess::State {
  pid_t pid = -1;
  int stdin_fd = -1;
  std::thread reader;
  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::string out;
  std::string err;
  bool done = false;
  // The exit, once reaped.
  bool reaped = false;
  bool timed_out = false;
  int status = 0;
  rusage usage{};
  bool killed = false; // by the destructor: its output is of no interest
};

ConnectorProcess::ConnectorProcess(const std::vector<std::string>& args,
                                   const std::map<std::string, std::string>& extra_env)
    : state_(std::make_unique<State>()) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  // Close-on-exec: a process the test starts later (a server restarted by pg_ctl) must not
  // inherit the write end of stdin, or the connector would never see the end of its input.
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0 ||
      pipe2(err_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid < 0)
    throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]})
      close(fd);
    exec_connector(args, extra_env);
  }
  signal(SIGPIPE, SIG_IGN);
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  state_->pid = pid;
  state_->stdin_fd = in_pipe[1];
  int out_fd = out_pipe[0], err_fd = err_pipe[0];
  State* state = state_.get();
  state_->reader = std::thread([state, out_fd, err_fd] {
    bool out_open = true, err_open = true;
    char buffer[65536];
    while (out_open || err_open) {
      std::vector<pollfd> fds;
      if (out_open)
        fds.push_back({out_fd, POLLIN, 0});
      if (err_open)
        fds.push_back({err_fd, POLLIN, 0});
      if (poll(fds.data(), fds.size(), -1) < 0)
        continue;
      for (const auto& fd : fds) {
        if (fd.revents == 0)
          continue;
        ssize_t n = read(fd.fd, buffer, sizeof buffer);
        std::lock_guard<std::mutex> lock(state->mutex);
        if (n > 0) {
          (fd.fd == out_fd ? state->out : state->err).append(buffer, static_cast<size_t>(n));
        } else {
          (fd.fd == out_fd ? out_open : err_open) = false;
          close(fd.fd);
        }
      }
      state->changed.notify_all();
    }
    std::lock_guard<std::mutex> lock(state->mutex);
    state->done = true;
    state->changed.notify_all();
  });
}

ConnectorProcess::~ConnectorProcess() {
  if (state_->pid > 0) {
    if (!state_->reaped) {
      kill(state_->pid, SIGKILL);
      state_->killed = true;
    }
    wait();
  }
}

void ConnectorProcess::kill_now() {
  if (state_->pid > 0 && !state_->reaped)
    kill(state_->pid, SIGKILL);
}

void ConnectorProcess::write_stdin(const std::string& text) {
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = write(state_->stdin_fd, text.data() + written, text.size() - written);
    if (n <= 0)
      throw std::runtime_error("writing to the connector's stdin failed");
    written += static_cast<size_t>(n);
  }
}

void ConnectorProcess::close_stdin() {
  if (state_->stdin_fd >= 0)
    close(state_->stdin_fd);
  state_->stdin_fd = -1;
}

std::vector<std::string> ConnectorProcess::lines() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  auto all = split_lines(state_->out);
  // The last piece may be a line still being written.
  if (!state_->out.empty() && state_->out.back() != '\n' && !all.empty())
    all.pop_back();
  return all;
}

bool ConnectorProcess::wait_for_line(const std::string& needle, double seconds) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  // Output is looked at under the lock the reader takes to append it, so that a line arriving
  // between a look and the wait still wakes the wait.
  std::unique_lock<std::mutex> lock(state_->mutex);
  for (;;) {
    std::size_t end = state_->out.rfind('\n'); // a last line still being written does not count
    if (end != std::string::npos) {
      for (const auto& line : split_lines(state_->out.substr(0, end + 1)))
        if (line.find(needle) != std::string::npos)
          return true;
    }
    if (state_->done)
      return false;
    if (state_->changed.wait_until(lock, deadline) == std::cv_status::timeout)
      return false;
  }
}

bool ConnectorProcess::wait_for_exit(double seconds) {
  if (state_->pid <= 0 || state_->reaped)
    return !state_->timed_out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  for (;;) {
    pid_t done = wait4(state_->pid, &state_->status, WNOHANG, &state_->usage);
    if (done == state_->pid)
      break;
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(state_->pid, SIGKILL);
      wait4(state_->pid, &state_->status, 0, &state_->usage);
      state_->timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  state_->reaped = true;
  return !state_->timed_out;
}

RunResult ConnectorProcess::wait(double seconds) {
  close_stdin();
  RunResult result;
  if (state_->pid <= 0)
    return result;
  wait_for_exit(seconds);
  state_->pid = -1;
  if (state_->reader.joinable())
    state_->reader.join();
  int status = state_->status;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.timed_out = state_->timed_out;
  result.max_rss_kib = state_->usage.ru_maxrss;
  std::lock_guard<std::mutex> lock(state_->mutex);
  result.stdout_lines = split_lines(state_->out);
  result.stderr_text = state_->err;
  if (!state_->killed)
    fail_on_sanitizer_report(result.stderr_text);
  return result;
}

int ConnectorProcess::pid() const {
  return state_->pid;
}

nlohmann::ordered_json test_config(const std::string& schema) {
  return {{"host", env_or("PGDEST_TEST_HOST", "127.0.0.1")},
          {"port", std::stoi(env_or("PGDEST_TEST_PORT", "5432"))},
          {"database", env_or("PGDEST_TEST_DATABASE", "pgdest")},
          {"schema", schema},
          {"username", env_or("PGDEST_TEST_USER", "pgdest")},
          {"password", env_or("PGDEST_TEST_PASSWORD", "pgdest")},
          {"ssl_mode", {{"mode", "disable"}}}};
}

pqxx::connection test_connection() {
  return pqxx::connection(test_conninfo(env_or("PGDEST_TEST_PORT", "5432")));
}

void exec(const std::string& sql) {
  auto connection = test_connection();
  pqxx::nontransaction work(connection);
  work.exec(sql);
}

void terminate_sessions_of(const std::string& role) {
  pqxx::connection connection = test_connection();
  pqxx::nontransaction work(connection);
  work.exec_params("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1",
                   role);
}

void cut_off_while_running(const std::string& role, const std::string& statement_start) {
  auto watcher = test_connection();
  REQUIRE(wait_for_statement(watcher, role, statement_start, 30.0));
  terminate_sessions_of(role);
}

WriteBlocker::WriteBlocker(const std::string& table)
    : connection(test_connection()), lock(connection) {
  lock.exec0("LOCK TABLE " + table + " IN EXCLUSIVE MODE");
}

namespace {

// Polls pg_stat_activity until a backend of `user` matches `condition` (SQL, $2 its parameter).
bool wait_for_backend(pqxx::connection& connection, const std::string& user,
                      const std::string& condition, const std::string& parameter, double seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  do {
    pqxx::nontransaction work(connection);
    auto found = work.exec_params1("SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND " +
                                       condition,
                                   user, parameter);
    if (found[0].as<int>() > 0)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

} // namespace

bool wait_for_statement(pqxx::connection& connection, const std::string& user,
                        const std::string& statement_start, double seconds) {
  return wait_for_backend(connection, user, "state = 'active' AND starts_with(query, $2)",
                          statement_start, seconds);
}

bool wait_for_lock_wait(pqxx::connection& connection, const std::string& user, double seconds) {
  return wait_for_backend(connection, user, "wait_event_type = $2", "Lock", seconds);
}

SandboxProcess start_sandbox(const std::string& script, const std::string& kind,
                             const std::string& name, int first_port,
                             const std::string& settings_variable,
                             const std::vector<std::string>& settings) {
  std::string conf;
  for (const auto& line : settings)
    conf += line + "\n";
  const std::string script_path = std::string(PGDEST_SOURCE_DIR) + "/scripts/" + script;
  // Another test may take a port between the look-up and the start, so a failed start tries the
  // next free one.
  int port = first_port;
  std::string log = temp_dir() + "/" + name + "-" + kind + ".log";
  SandboxProcess started;
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::string port_file = temp_dir() + "/" + name + "-" + kind + "-port";
    if (!run_command(std::string(PGDEST_SOURCE_DIR) + "/scripts/free-port " + std::to_string(port),
                     port_file))
      throw std::runtime_error("scripts/free-port failed");
    started.port = std::stoi(read_file(port_file));
    // Not under temp_dir(): the process runs as the postgres user, which cannot enter it.
    started.dir = "/tmp/pgdest-" + kind + "-" + name + "-" + std::to_string(getpid()) + "-" +
                  std::to_string(attempt);
    std::filesystem::remove_all(started.dir);
    if (run_command(settings_variable + "='" + conf + "' " + script_path + " start '" +
                        started.dir + "' " + std::to_string(started.port),
                    log))
      return started;
    stop_sandbox(script, started);
    port = started.port + 1;
  }
  throw std::runtime_error("could not start a private " + kind + ": " + read_file(log));
}

void stop_sandbox(const std::string& script, const SandboxProcess& sandbox) {
  run_command(std::string(PGDEST_SOURCE_DIR) + "/scripts/" + script + " stop '" + sandbox.dir + "'",
              temp_dir() + "/sandbox-stop.log");
  std::error_code ignored;
  std::filesystem::remove_all(sandbox.dir, ignored);
}

PrivateServer::PrivateServer(const std::string& name, const std::vector<std::string>& settings) {
  // Beside the shared test server.
  auto started =
      start_sandbox("pg-sandbox", "server", name, std::stoi(env_or("PGDEST_TEST_PORT", "5432")) + 1,
                    "PGSANDBOX_SETTINGS", settings);
  dir_ = started.dir;
  port_ = started.port;
}

PrivateServer::~PrivateServer() {
  stop_sandbox("pg-sandbox", {dir_, port_});
}

nlohmann::ordered_json PrivateServer::config(const std::string& schema) const {
  auto config = test_config(schema);
  config["port"] = port_;
  return config;
}

std::string PrivateServer::conninfo() const {
  return test_conninfo(std::to_string(port_));
}

pqxx::connection PrivateServer::connect() const {
  return pqxx::connection(conninfo());
}

void PrivateServer::exec(const std::string& sql) const {
  auto connection = connect();
  pqxx::nontransaction work(connection);
  work.exec(sql);
}

void PrivateServer::restart() {
  std::string log = temp_dir() + "/server-restart.log";
  if (!run_command(sandbox_script() + " restart '" + dir_ + "'", log))
    throw std::runtime_error("restarting the private server failed: " + read_file(log));
}

int closed_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    throw std::runtime_error("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  bool bound = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
               getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  close(fd);
  if (!bound)
    throw std::runtime_error("could not find a free port");
  return ntohs(address.sin_port);
}

std::string fresh_schema(const std::string& name) {
  auto connection = test_connection();
  pqxx::work work(connection);
  work.exec0("DROP SCHEMA IF EXISTS " + work.quote_name(name) + " CASCADE");
  work.commit();
  return name;
}

std::string write_temp_file(const std::string& name, const std::string& content) {
  std::string path = temp_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  return path;
}

std::string read_text_file(const std::string& path) {
  return read_file(path);
}

std::string fixture_text(const std::string& name) {
  std::string text =
      read_file(std::string(PGDEST_SOURCE_DIR) + "/third_party/airbyte/fixtures/" + name);
  std::string kept;
  for (const auto& line : split_lines(text)) {
    if (line.rfind("//", 0) == 0)
      continue;
    kept += line;
    kept += '\n';
  }
  return kept;
}

nlohmann::ordered_json fixture_json(const std::string& name) {
  return nlohmann::ordered_json::parse(fixture_text(name));
}

nlohmann::ordered_json configure_catalog(const nlohmann::ordered_json& catalog,
                                         const std::string& destination_sync_mode,
                                         long generation_id, long minimum_generation_id) {
  nlohmann::ordered_json configured = {{"streams", nlohmann::ordered_json::array()}};
  for (const auto& stream : catalog["streams"]) {
    configured["streams"].push_back(
        {{"stream", stream},
         {"sync_mode", destination_sync_mode == "overwrite" ? "full_refresh" : "incremental"},
         {"destination_sync_mode", destination_sync_mode},
         {"generation_id", generation_id},
         {"minimum_generation_id", minimum_generation_id},
         {"sync_id", 42}});
  }
  return configured;
}

std::string protocol_violations(const std::vector<std::string>& lines) {
  std::string input;
  for (const auto& line : lines)
    input += line + "\n";
  std::string input_path = write_temp_file("validate-input.jsonl", input);
  std::string output_path = temp_dir() + "/validate-output.txt";
  std::string command = "/usr/bin/python3 " + std::string(PGDEST_SOURCE_DIR) +
                        "/integration_tests/support/validate_messages.py " +
                        std::string(PGDEST_SOURCE_DIR) +
                        "/third_party/airbyte/protocol/airbyte_protocol.schema.json < " +
                        input_path + " > " + output_path + " 2>&1";
  int status = std::system(command.c_str());
  std::string complaints = read_file(output_path);
  if (status != 0 && complaints.empty())
    complaints = "validator failed to run: " + command;
  return complaints;
}

std::vector<std::vector<std::string>> query_rows(const std::string& sql) {
  auto connection = test_connection();
  pqxx::nontransaction work(connection);
  std::vector<std::vector<std::string>> rows;
  for (const auto& row : work.exec(sql)) {
    std::vector<std::string> values;
    for (const auto& field : row)
      values.push_back(field.is_null() ? "NULL" : field.c_str());
    rows.push_back(std::move(values));
  }
  return rows;
}

} // namespace pgdest::testing
