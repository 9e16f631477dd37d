// Builds the libpq connection string from the config and keeps TLS material in memory files.
#include "pgdest/postgres/connection_options.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>

#include <fmt/format.h>
#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include "pgdest/error.hpp"
#include "pgdest/postgres/tls_settings.hpp"

namespace pgdest::postgres {
namespace {

constexpr const char* redacted = "****";

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// libpq's `options` splits on white space; a backslash keeps the next character literal.
std::string escape_option_value(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || std::isspace(static_cast<unsigned char>(c)) != 0)
      out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// The words of libpq's `options` value (split on white space, backslash escapes undone), without
// the "-c" and "--" switches.
std::vector<std::string> option_tokens(const std::string& options) {
  std::vector<std::string> tokens;
  std::string token;
  bool escaped = false;
  auto flush = [&] {
    if (!token.empty() && token != "-c" && token != "--")
      tokens.push_back(token);
    token.clear();
  };
  for (char c : options) {
    if (escaped) {
      token.push_back(c);
      escaped = false;
    } else if (c == '\\') {
      escaped = true;
    } else if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      flush();
    } else {
      token.push_back(c);
    }
  }
  flush();
  return tokens;
}

bool is_word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// `text` with every occurrence of `value` that is not part of a longer word replaced by ****.
std::string replace_standalone(std::string text, const std::string& value) {
  if (value.empty())
    return text;
  for (size_t at = text.find(value); at != std::string::npos; at = text.find(value, at)) {
    size_t end = at + value.size();
    bool starts_word = at == 0 || !is_word_char(text[at - 1]) || !is_word_char(value.front());
    bool ends_word = end == text.size() || !is_word_char(text[end]) || !is_word_char(value.back());
    if (starts_word && ends_word) {
      text.replace(at, value.size(), redacted);
      at += std::strlen(redacted);
    } else {
      at += 1;
    }
  }
  return text;
}

// The libpq keyword for a pgJDBC value out of `choices`, or a ConfigError naming the key.
std::string map_choice(const std::string& key, const std::string& value,
                       const std::vector<std::pair<std::string, std::string>>& choices) {
  std::string wanted = lower(value);
  std::string allowed;
  for (const auto& [jdbc, libpq] : choices) {
    if (lower(jdbc) == wanted)
      return libpq;
    allowed += allowed.empty() ? jdbc : ", " + jdbc;
  }
  throw ConfigError(fmt::format("jdbc_url_params \"{}\" must be one of {}.", key, allowed));
}

class Parameters {
public:
  void set(const std::string& key, const std::string& value, bool secret = false) {
    for (auto& entry : entries_) {
      if (entry.key == key) {
        entry.value = value;
        entry.secret = secret;
        return;
      }
    }
    entries_.push_back({key, value, secret});
  }

  std::string conninfo(bool redact) const {
    std::string out;
    for (const auto& entry : entries_) {
      if (!out.empty())
        out.push_back(' ');
      out += entry.key;
      out.push_back('=');
      out += entry.secret && redact ? std::string(redacted) : quote_conninfo_value(entry.value);
    }
    return out;
  }

  std::vector<std::pair<std::string, std::string>> redacted_list() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& entry : entries_)
      out.emplace_back(entry.key, entry.secret ? std::string(redacted) : entry.value);
    return out;
  }

private:
  struct Entry {
    std::string key;
    std::string value;
    bool secret;
  };
  std::vector<Entry> entries_;
};

// Without a hook, OpenSSL asks for an encrypted key's pass phrase on the terminal whenever
// sslpassword is empty, which would hang an unattended run. libpq's default hook answers with
// sslpassword (or nothing), so a wrong or missing password fails instead.
void never_prompt_for_key_passwords() {
  static std::once_flag once;
  std::call_once(once, [] { PQsetSSLKeyPassHook_OpenSSL(PQdefaultSSLKeyPassHook_OpenSSL); });
}

// A file named in jdbc_url_params, checked now: otherwise its absence would surface as a TLS
// handshake failure, far from its cause. Messages name the key, never the path (a value).
std::string readable_file(const char* key, const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0 || access(path.c_str(), R_OK) != 0)
    throw ConfigError(fmt::format(
        "jdbc_url_params \"{}\" names a file that cannot be read ({}). Give the path of a file "
        "the connector can read where it runs, or paste the certificates into ssl_mode instead.",
        key, std::strerror(errno)));
  if (!S_ISREG(info.st_mode))
    throw ConfigError(fmt::format("jdbc_url_params \"{}\" must name a file, not a directory or "
                                  "device.",
                                  key));
  return path;
}

// sslrootcert, sslcert, sslkey and sslpassword: ssl_mode's own certificates (in memory files)
// where it has them, else the files jdbc_url_params names. A jdbc_url_params value is never used
// together with ssl_mode's counterpart, as Airbyte's connector lets ssl_mode win.
void add_certificates(const config::SslConfig& ssl, const JdbcTlsParams& jdbc,
                      Parameters& parameters, std::vector<MemoryFile>& files,
                      std::vector<std::string>& warnings) {
  bool ca_from_ssl_mode =
      ssl.mode == config::SslMode::verify_ca || ssl.mode == config::SslMode::verify_full;
  if (ca_from_ssl_mode) {
    files.emplace_back("ca-certificate", ssl.ca_certificate);
    parameters.set("sslrootcert", files.back().path());
    if (!jdbc.root_certificate_file.empty())
      warnings.push_back("jdbc_url_params \"sslrootcert\" is ignored: ssl_mode.ca_certificate is "
                         "used.");
  } else if (!jdbc.root_certificate_file.empty()) {
    parameters.set("sslrootcert", readable_file("sslrootcert", jdbc.root_certificate_file));
  }

  if (ssl.mode == config::SslMode::verify_full && !ssl.client_certificate.empty()) {
    files.emplace_back("client-certificate", ssl.client_certificate);
    parameters.set("sslcert", files.back().path());
    files.emplace_back("client-key", ssl.client_key.reveal());
    parameters.set("sslkey", files.back().path());
    if (!ssl.client_key_password.empty())
      parameters.set("sslpassword", ssl.client_key_password.reveal(), true);
    if (!jdbc.client_certificate_file.empty() || !jdbc.client_key_file.empty() || jdbc.key_password)
      warnings.push_back("jdbc_url_params \"sslcert\", \"sslkey\" and \"sslpassword\" are "
                         "ignored: ssl_mode's client certificate and key are used.");
    return;
  }
  if (!jdbc.client_certificate_file.empty())
    parameters.set("sslcert", readable_file("sslcert", jdbc.client_certificate_file));
  if (!jdbc.client_key_file.empty())
    parameters.set("sslkey", readable_file("sslkey", jdbc.client_key_file));
  if (jdbc.key_password && !jdbc.key_password->empty())
    parameters.set("sslpassword", jdbc.key_password->reveal(), true);
}

} // namespace

std::string quote_conninfo_value(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'')
      out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string redact_setting_values(std::string text, const std::string& conninfo) {
  std::vector<std::string> values;
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &error);
  if (parsed == nullptr) {
    PQfreemem(error);
    return text;
  }
  for (PQconninfoOption* option = parsed; option->keyword != nullptr; ++option) {
    if (option->val == nullptr || option->val[0] == '\0')
      continue;
    std::string keyword = option->keyword;
    if (keyword == "password" || keyword == "sslpassword" || keyword == "application_name")
      values.emplace_back(option->val);
    if (keyword == "options") {
      values.emplace_back(option->val);
      for (const auto& token : option_tokens(option->val)) {
        values.push_back(token);
        // "-cname=value" and "--name=value" carry a setting too.
        if (token.rfind("-c", 0) == 0 || token.rfind("--", 0) == 0)
          values.push_back(token.substr(2));
        size_t equals = token.find('=');
        if (equals != std::string::npos && equals + 1 < token.size())
          values.push_back(token.substr(equals + 1));
      }
    }
  }
  PQconninfoFree(parsed);
  // Longest first, so that a value containing another is replaced whole.
  std::sort(values.begin(), values.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const auto& value : values)
    text = replace_standalone(std::move(text), value);
  return text;
}

ConnectionOptions::ConnectionOptions(const config::DestinationConfig& config) {
  never_prompt_for_key_passwords();
  Parameters parameters;
  parameters.set("dbname", config.database);
  parameters.set("user", config.username);
  if (!config.password.empty())
    parameters.set("password", config.password.reveal(), true);

  JdbcTlsParams jdbc_tls = read_jdbc_tls_params(config.jdbc_url_params, warnings_);
  TlsDecision tls = decide_tls_mode(config.ssl, jdbc_tls);
  parameters.set("sslmode", sslmode_name(tls.mode));
  if (tls.disagreement)
    warnings_.push_back(*tls.disagreement);
  tls_summary_ = tls.summary;
  add_certificates(config.ssl, jdbc_tls, parameters, files_, warnings_);

  std::string application_name = "destination-postgres";
  bool application_name_from_jdbc = false;
  std::vector<std::string> options;
  std::string keepalives = "1";
  for (const auto& [key, value] : config.jdbc_url_params) {
    if (key == "connectTimeout" || key == "loginTimeout") {
      if (value.empty() || value.size() > 6 ||
          value.find_first_not_of("0123456789") != std::string::npos)
        throw ConfigError(
            fmt::format("jdbc_url_params \"{}\" must be a whole number of seconds.", key));
      connect_timeout_seconds_ = std::stoi(value);
    } else if (key == "ApplicationName") {
      application_name = value;
      application_name_from_jdbc = true;
    } else if (key == "options") {
      options.push_back(value);
    } else if (key == "currentSchema") {
      options.push_back("-c search_path=" + escape_option_value(value));
    } else if (key == "tcpKeepAlive") {
      keepalives = map_choice(key, value, {{"true", "1"}, {"false", "0"}});
    } else if (key == "targetServerType") {
      parameters.set("target_session_attrs", map_choice(key, value,
                                                        {{"any", "any"},
                                                         {"primary", "primary"},
                                                         {"master", "primary"},
                                                         {"secondary", "standby"},
                                                         {"standby", "standby"},
                                                         {"preferSecondary", "prefer-standby"},
                                                         {"preferStandby", "prefer-standby"}}));
    } else if (key == "gssEncMode") {
      parameters.set("gssencmode", map_choice(key, value,
                                              {{"disable", "disable"},
                                               {"allow", "prefer"},
                                               {"prefer", "prefer"},
                                               {"require", "require"}}));
    } else if (key == "channelBinding") {
      parameters.set(
          "channel_binding",
          map_choice(key, value,
                     {{"disable", "disable"}, {"prefer", "prefer"}, {"require", "require"}}));
    } else if (is_jdbc_tls_key(key)) {
      // Read above, with the other TLS settings.
    } else if (key == "user" || key == "password") {
      warnings_.push_back(fmt::format(
          "jdbc_url_params \"{}\" is ignored: use the username and password fields.", key));
    } else {
      warnings_.push_back(
          fmt::format("jdbc_url_params \"{}\" has no libpq equivalent and is ignored.", key));
    }
  }
  parameters.set("connect_timeout", std::to_string(connect_timeout_seconds_));
  // jdbc_url_params values may be credentials (SPEC §2): redacted like the password.
  parameters.set("application_name", application_name, application_name_from_jdbc);
  parameters.set("client_encoding", "UTF8");
  parameters.set("keepalives", keepalives);
  if (keepalives == "1") {
    // Notice a dead server or a dropped NAT mapping within about two minutes.
    parameters.set("keepalives_idle", "60");
    parameters.set("keepalives_interval", "10");
    parameters.set("keepalives_count", "6");
  }
  if (!options.empty()) {
    std::string joined;
    for (const auto& option : options)
      joined += (joined.empty() ? "" : " ") + option;
    parameters.set("options", joined, true);
  }

  host_ = config.host;
  Parameters address;
  address.set("host", config.host);
  address.set("port", std::to_string(config.port));
  settings_with_password_ = parameters.conninfo(false);
  conninfo_with_password_ = address.conninfo(false) + " " + settings_with_password_;
  redacted_conninfo_ = address.conninfo(true) + " " + parameters.conninfo(true);
  redacted_parameters_ = address.redacted_list();
  for (auto& parameter : parameters.redacted_list())
    redacted_parameters_.push_back(std::move(parameter));
  endpoint_ = config.host.find(':') != std::string::npos
                  ? fmt::format("[{}]:{}", config.host, config.port)
                  : fmt::format("{}:{}", config.host, config.port);
}

std::string ConnectionOptions::conninfo_with_password_via(int local_port) const {
  Parameters address;
  address.set("host", host_);
  address.set("hostaddr", "127.0.0.1");
  address.set("port", std::to_string(local_port));
  return address.conninfo(false) + " " + settings_with_password_;
}

std::vector<std::string> ConnectionOptions::private_file_paths() const {
  std::vector<std::string> paths;
  for (const auto& file : files_)
    paths.push_back(file.path());
  return paths;
}

void log_connection_settings(const ConnectionOptions& options) {
  for (const auto& warning : options.warnings())
    spdlog::warn("{}", warning);
  spdlog::info("{}", options.tls_summary());
}

} // namespace pgdest::postgres
