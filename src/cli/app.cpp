// CLI11 app with the three protocol commands; turns any error into a TRACE message and exit 1.
#include "pgdest/cli/app.hpp"

#include <unistd.h>

#include <csignal>
#include <cstring>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "pgdest/catalog/catalog_reader.hpp"
#include "pgdest/config/config_reader.hpp"
#include "pgdest/error.hpp"
#include "pgdest/postgres/connection_checker.hpp"
#include "pgdest/protocol/log_sink.hpp"
#include "pgdest/protocol/message_writer.hpp"
#include "pgdest/resources.hpp"
#include "pgdest/write/encode_run.hpp"
#include "pgdest/write/write_run.hpp"

namespace pgdest::cli {
namespace {

// The platform cancels a sync with SIGTERM (SIGKILL after a grace period); SIGINT is Ctrl-C.
// Leaving at once is safe: nothing is committed without its COMMIT, the server rolls back the
// open transaction when the connection closes, no STATE follows, and TLS material never touched
// the disk. Only async-signal-safe calls here: another thread may hold any lock.
extern "C" void stop_on_signal(int signal_number) {
  const char* text = signal_number == SIGTERM
                         ? "destination-postgres: stopped by SIGTERM (sync cancelled); rows not "
                           "yet committed are rolled back and no further STATE is emitted.\n"
                         : "destination-postgres: stopped by SIGINT; rows not yet committed are "
                           "rolled back and no further STATE is emitted.\n";
  ssize_t ignored = ::write(STDERR_FILENO, text, std::strlen(text));
  static_cast<void>(ignored);
  _exit(128 + signal_number);
}

void install_signal_handlers() {
  // A closed stdout must surface as EPIPE from the MessageWriter, not kill the process silently.
  std::signal(SIGPIPE, SIG_IGN);
  struct sigaction action {};
  action.sa_handler = stop_on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}

// The command's error as a TRACE message; on stderr when stdout itself is what failed.
void report(const Error& error, protocol::MessageWriter& out) {
  if (!out.failure()) {
    try {
      out.trace_error(error);
      return;
    } catch (const Error&) {
      // stdout failed on this very line: say it on stderr below.
    }
  }
  std::cerr << "destination-postgres: " << error.what() << '\n';
  if (!error.internal_message().empty())
    std::cerr << "destination-postgres: " << error.internal_message() << '\n';
  auto failure = out.failure();
  if (failure && std::strcmp(failure->what(), error.what()) != 0)
    std::cerr << "destination-postgres: " << failure->what() << '\n';
}

void check_command(const std::string& config_path, protocol::MessageWriter& out) {
  config::DestinationConfig config;
  try {
    config = config::load_config_file(config_path);
  } catch (const ConfigError& error) {
    out.connection_status(false, error.what());
    return;
  }
  for (const auto& warning : config.warnings)
    spdlog::warn("{}", warning);
  auto result = postgres::check_connection(config);
  out.connection_status(result.succeeded, result.message);
}

void encode_command(const std::string& catalog_path, bool raw_tables, bool parse_only,
                    protocol::MessageWriter& out) {
  schema::TableNaming naming{"public", std::nullopt};
  if (raw_tables)
    naming.raw_schema = "airbyte_internal";
  write::encode_only(catalog::load_catalog_file(catalog_path, naming), STDIN_FILENO, out,
                     parse_only);
}

void write_command(const std::string& config_path, const std::string& catalog_path,
                   protocol::MessageWriter& out) {
  auto config = config::load_config_file(config_path);
  schema::TableNaming naming{config.schema, std::nullopt, config.history_mode};
  if (config.raw_tables_only)
    naming.raw_schema = config.raw_data_schema;
  auto plans = catalog::load_catalog_file(catalog_path, naming);
  write::WriteRun run(config, std::move(plans), out);
  run.run(STDIN_FILENO);
}

} // namespace

int run(int argc, char** argv) {
  install_signal_handlers();
  auto& out = protocol::MessageWriter::stdout_writer();
  protocol::install_protocol_logger(out);

  CLI::App app{"destination-postgres: an Airbyte destination for PostgreSQL"};
  app.set_version_flag("--version", std::string(PGDEST_VERSION));
  app.require_subcommand(1);
  std::string config_path;
  std::string catalog_path;
  auto* spec = app.add_subcommand("spec", "Print the connector specification");
  auto* check =
      app.add_subcommand("check", "Check that the destination can be reached and written to");
  check->add_option("--config", config_path, "config.json")->required();
  auto* write = app.add_subcommand("write", "Load the messages on stdin");
  // Not part of the protocol: parse and encode stdin as `write` would, without a database.
  auto* encode =
      app.add_subcommand("encode", "Parse and encode the messages on stdin without loading them "
                                   "(measures the client side of write)");
  encode->add_option("--catalog", catalog_path, "configured_catalog.json")->required();
  bool parse_only = false;
  encode->add_flag("--parse-only", parse_only, "Only parse every value; encode nothing");
  bool raw_tables = false;
  encode->add_flag("--raw", raw_tables, "Encode for raw tables, as with disable_type_dedupe");
  write->add_option("--config", config_path, "config.json")->required();
  write->add_option("--catalog", catalog_path, "configured_catalog.json")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // Usage and help go to stderr: stdout belongs to the protocol.
    int code = app.exit(error, std::cerr, std::cerr);
    return error.get_exit_code() == 0 ? 0 : (code == 0 ? 0 : 2);
  }

  try {
    if (*spec)
      out.spec(resources::spec_json());
    else if (*check)
      check_command(config_path, out);
    else if (*write)
      write_command(config_path, catalog_path, out);
    else if (*encode)
      encode_command(catalog_path, raw_tables, parse_only, out);
    // A LOG line that could not be written was swallowed by spdlog: it fails the command too.
    out.throw_if_failed();
    return 0;
  } catch (const Error& error) {
    report(error, out);
  } catch (const std::exception& error) {
    report(SystemError("destination-postgres failed unexpectedly.", error.what()), out);
  } catch (...) {
    report(SystemError("destination-postgres failed unexpectedly."), out);
  }
  return 1;
}

} // namespace pgdest::cli
