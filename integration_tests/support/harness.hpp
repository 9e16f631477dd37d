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
  long max_rss_kib = 0; // the child's peak resident memory
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
  // Waits for the exit; the result holds everything printed.
  RunResult wait();
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
