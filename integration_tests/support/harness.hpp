#pragma once
// What every integration test needs: the real binary run as a child process, the test server's
// settings, a database connection for assertions, and protocol validation of every output line.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

namespace pgdest::testing {

struct RunResult {
  int exit_code = -1;
  bool timed_out = false; // killed because it did not exit in time
  long max_rss_kib = 0;   // the child's peak resident memory
  std::vector<std::string> stdout_lines;
  std::string stderr_text;

  // Parsed stdout lines of the given AirbyteMessage type ("STATE", "TRACE", "LOG", ...).
  std::vector<nlohmann::ordered_json> messages(const std::string& type) const;
  // The TRACE error messages.
  std::vector<nlohmann::ordered_json> trace_errors() const;
};

// Runs build/destination-postgres with `args`, feeding `stdin_text`; waits for it to exit.
RunResult run_connector(const std::vector<std::string>& args, const std::string& stdin_text = {},
                        const std::map<std::string, std::string>& extra_env = {});

// In a forked child, with its standard streams set up: becomes build/destination-postgres with
// `args`. Never returns.
[[noreturn]] void exec_connector(const std::vector<std::string>& args,
                                 const std::map<std::string, std::string>& extra_env = {});

// The connector running in the background, for tests that act while it runs.
class ConnectorProcess {
public:
  explicit ConnectorProcess(const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& extra_env = {});
  ~ConnectorProcess();
  ConnectorProcess(const ConnectorProcess&) = delete;
  ConnectorProcess& operator=(const ConnectorProcess&) = delete;

  void write_stdin(const std::string& text);
  void close_stdin();
  // stdout lines so far.
  std::vector<std::string> lines() const;
  // Waits up to `seconds` for a stdout line containing `needle`; true if one came.
  bool wait_for_line(const std::string& needle, double seconds) const;
  // Waits up to `seconds` for the exit, without closing stdin (a thread may still be feeding it);
  // past that, kills it. True if it exited by itself.
  bool wait_for_exit(double seconds);
  // Closes stdin and waits for the exit (killing it after `seconds`: a hang fails the test
  // instead of blocking it); the result holds everything printed.
  RunResult wait(double seconds = 300);
  // Kills it at once with SIGKILL, as an out-of-memory kill or a lost machine would.
  void kill_now();
  // The process id while it runs (to signal it or look at /proc), else -1.
  int pid() const;

private:
  struct State;
  std::unique_ptr<State> state_;
};

// A config for the test server (PGDEST_TEST_* environment, see scripts/pg-sandbox), writing into
// `schema`.
nlohmann::ordered_json test_config(const std::string& schema);

// A connection to the test server as the superuser test role.
pqxx::connection test_connection();

// Runs SQL on the test server, outside a transaction block.
void exec(const std::string& sql);
// Cuts off every session of `role` on the test server, as a lost connection would.
void terminate_sessions_of(const std::string& role);
// Requires that within 30 s a session of `role` runs a statement starting with `statement_start`
// (held there, e.g., by a WriteBlocker), then cuts off every session of `role`.
void cut_off_while_running(const std::string& role, const std::string& statement_start);

// Holds a table's EXCLUSIVE lock from construction until commit() (or the end of the object):
// reads pass, writes wait.
struct WriteBlocker {
  explicit WriteBlocker(const std::string& table);
  void commit() { lock.commit(); }

  pqxx::connection connection;
  pqxx::work lock;
};

// Waits up to `seconds` until a backend of `user` is running (state active) a statement that
// starts with `statement_start`, e.g. "COPY " for a load in flight; true if one was seen.
bool wait_for_statement(pqxx::connection& connection, const std::string& user,
                        const std::string& statement_start, double seconds);
// Waits up to `seconds` until a backend of `user` waits for a lock; true if one was seen.
bool wait_for_lock_wait(pqxx::connection& connection, const std::string& user, double seconds);

// A server the test starts for itself with a sandbox script (scripts/pg-sandbox,
// scripts/pgbouncer-sandbox): its folder and port.
struct SandboxProcess {
  std::string dir;
  int port = 0;
};
// Runs `scripts/<script> start DIR PORT` on the first free port from `first_port`, with
// `settings` (lines) in the environment variable `settings_variable`; `kind` and `name` name its
// folder and log. Throws when it cannot start.
SandboxProcess start_sandbox(const std::string& script, const std::string& kind,
                             const std::string& name, int first_port,
                             const std::string& settings_variable,
                             const std::vector<std::string>& settings);
// `scripts/<script> stop DIR`, then deletes the folder.
void stop_sandbox(const std::string& script, const SandboxProcess& sandbox);

// A PostgreSQL server of the test's own (scripts/pg-sandbox on a free port), for tests that
// restart or reconfigure the server: tests running beside them keep the shared one. Stopped and
// deleted with the object, also when the test fails.
class PrivateServer {
public:
  // `settings`: postgresql.conf lines, e.g. "max_connections = 5".
  explicit PrivateServer(const std::string& name, const std::vector<std::string>& settings = {});
  ~PrivateServer();
  PrivateServer(const PrivateServer&) = delete;
  PrivateServer& operator=(const PrivateServer&) = delete;

  // test_config and test_connection, for this server.
  nlohmann::ordered_json config(const std::string& schema) const;
  std::string conninfo() const;
  pqxx::connection connect() const;
  // Runs SQL on this server, outside a transaction block.
  void exec(const std::string& sql) const;
  // pg_ctl restart -m fast: every session is cut off; waits until the server is back.
  void restart();

private:
  std::string dir_;
  int port_ = 0;
};

// A TCP port on 127.0.0.1 with nothing listening on it.
int closed_port();

// A fresh, empty schema for one test (dropped first if a previous run left it).
std::string fresh_schema(const std::string& name);

// Writes `content` to a new file under the test's temp folder; returns its path.
std::string write_temp_file(const std::string& name, const std::string& content);

// The whole content of a file.
std::string read_text_file(const std::string& path);

// A file of third_party/airbyte/fixtures, with `//` comment lines dropped.
std::string fixture_text(const std::string& name);
nlohmann::ordered_json fixture_json(const std::string& name);

// Wraps a plain catalog's streams into a configured catalog.
nlohmann::ordered_json configure_catalog(const nlohmann::ordered_json& catalog,
                                         const std::string& destination_sync_mode,
                                         long generation_id = 0, long minimum_generation_id = 0);

// Checks every line against third_party/airbyte/protocol/airbyte_protocol.schema.json; returns the
// validator's complaints, empty when all lines are valid AirbyteMessages.
std::string protocol_violations(const std::vector<std::string>& lines);

// Rows of a query as text (NULL as "NULL"), for compact assertions.
std::vector<std::vector<std::string>> query_rows(const std::string& sql);

} // namespace pgdest::testing
