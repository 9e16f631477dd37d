// Reads config.json into a DestinationConfig, enforcing the rules of resources/spec.json.
#include "pgdest/config/config_reader.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "pgdest/config/json_nesting.hpp"
#include "pgdest/error.hpp"

namespace pgdest::config {
namespace {

using nlohmann::json;

constexpr size_t max_host_length = 253;
constexpr size_t max_name_bytes = 63; // PostgreSQL's NAMEDATALEN - 1
constexpr size_t max_shown_value = 80;

const char* const ssl_modes_list = "disable, allow, prefer, require, verify-ca, verify-full";

// A non-secret value quoted for a message, cut short when long.
std::string shown(const std::string& value) {
  std::string cut =
      value.size() > max_shown_value ? value.substr(0, max_shown_value) + "..." : value;
  return json(cut).dump(-1, ' ', false, json::error_handler_t::replace);
}

bool is_absent(const json& document, const char* field) {
  auto it = document.find(field);
  return it == document.end() || it->is_null();
}

bool matches(const std::string& value, std::string_view pattern) {
  static thread_local std::map<std::string_view, std::regex> compiled;
  auto it = compiled.find(pattern);
  if (it == compiled.end())
    it = compiled.emplace(pattern, std::regex(pattern.begin(), pattern.end())).first;
  return std::regex_search(value, it->second);
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_space(text.back()))
    text.remove_suffix(1);
  return text;
}

// Same language as patterns::certificate, without std::regex's recursion on long input.
bool is_pem_certificate(const std::string& value) {
  static constexpr std::string_view begin = "-----BEGIN CERTIFICATE-----";
  static constexpr std::string_view end = "-----END CERTIFICATE-----";
  std::string_view rest = trim(value);
  if (rest.empty())
    return false;
  while (!rest.empty()) {
    if (!starts_with(rest, begin))
      return false;
    rest.remove_prefix(begin.size());
    size_t body = 0;
    while (body < rest.size() &&
           (std::isalnum(static_cast<unsigned char>(rest[body])) != 0 || rest[body] == '+' ||
            rest[body] == '/' || rest[body] == '=' || is_space(rest[body])))
      ++body;
    if (body == 0)
      return false;
    rest.remove_prefix(body);
    if (!starts_with(rest, end))
      return false;
    rest.remove_prefix(end.size());
    rest = trim(rest);
  }
  return true;
}

// Same language as patterns::private_key (with `kinds` "", "RSA ", "EC ", "ENCRYPTED ") and
// patterns::ssh_private_key (its kinds).
bool is_pem_private_key_of(const std::string& value,
                           std::initializer_list<std::string_view> kinds) {
  std::string_view text = trim(value);
  size_t body_start = std::string_view::npos;
  for (auto kind : kinds) {
    std::string marker = fmt::format("-----BEGIN {}PRIVATE KEY-----", kind);
    if (starts_with(text, marker))
      body_start = marker.size();
  }
  if (body_start == std::string_view::npos)
    return false;
  size_t end_start = text.rfind("-----END ");
  if (end_start == std::string_view::npos || end_start <= body_start)
    return false;
  bool end_ok = false;
  for (auto kind : kinds)
    end_ok = end_ok || text.substr(end_start) == fmt::format("-----END {}PRIVATE KEY-----", kind);
  if (!end_ok)
    return false;
  for (size_t i = body_start; i < end_start; ++i) {
    char c = text[i];
    bool allowed = std::isalnum(static_cast<unsigned char>(c)) != 0 || is_space(c) || c == '+' ||
                   c == '/' || c == '=' || c == ':' || c == ',' || c == '-';
    if (!allowed)
      return false;
  }
  return true;
}

bool is_pem_private_key(const std::string& value) {
  return is_pem_private_key_of(value, {"", "RSA ", "EC ", "ENCRYPTED "});
}

bool is_ssh_private_key(const std::string& value) {
  return is_pem_private_key_of(value, {"", "RSA ", "EC ", "DSA ", "OPENSSH "});
}

// `field` of `object`, which the messages call `path` ("host", "tunnel_method.tunnel_user").
std::string required_string(const json& object, const char* field, const std::string& path,
                            const char* what) {
  if (is_absent(object, field))
    throw ConfigError(fmt::format("Missing required field \"{}\": set it to {}.", path, what));
  const json& value = object.at(field);
  if (!value.is_string())
    throw ConfigError(fmt::format("Field \"{}\" must be a string: {}.", path, what));
  return value.get<std::string>();
}

std::string required_string(const json& document, const char* field, const char* what) {
  return required_string(document, field, field, what);
}

std::string parse_host(const json& object, const char* field, const std::string& path,
                       const char* what, const char* example) {
  std::string host = required_string(object, field, path, what);
  if (host.size() > max_host_length || !matches(host, patterns::host))
    throw ConfigError(fmt::format("Field \"{}\" must be a host name or IP address, without "
                                  "scheme, port or spaces (e.g. \"{}\"); got {}.",
                                  path, example, shown(host)));
  // libpq and getaddrinfo want IPv6 addresses without the brackets URLs put around them.
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return host;
}

int parse_port(const json& object, const char* field, const std::string& path, int fallback,
               const char* default_of) {
  const std::string message =
      fmt::format("Field \"{}\" must be a whole number between 1 and 65535 ({} default is {})",
                  path, default_of, fallback);
  if (is_absent(object, field))
    return fallback;
  const json& value = object.at(field);
  long long port = 0;
  if (value.is_number_integer()) {
    port = value.get<long long>();
  } else if (value.is_string()) {
    // Old configs sometimes carry the port as a string, which Airbyte's Jackson accepted.
    std::string text = value.get<std::string>();
    if (text.empty() || text.size() > 6 ||
        text.find_first_not_of("0123456789") != std::string::npos)
      throw ConfigError(fmt::format("{}; got {}.", message, shown(text)));
    port = std::stoll(text);
  } else {
    throw ConfigError(fmt::format("{}; got {}.", message, value.dump()));
  }
  if (port < 1 || port > 65535)
    throw ConfigError(fmt::format("{}; got {}.", message, port));
  return static_cast<int>(port);
}

std::string check_name(const char* field, std::string value, const char* what) {
  if (value.size() > max_name_bytes || !matches(value, patterns::name))
    throw ConfigError(fmt::format(
        "Field \"{}\" must be {}: not empty, at most 63 bytes, without leading or trailing "
        "spaces; got {}.",
        field, what, shown(value)));
  return value;
}

Secret optional_secret(const json& object, const char* field, const std::string& path) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null())
    return Secret();
  if (!it->is_string())
    throw ConfigError(fmt::format("Field \"{}\" must be a string.", path));
  return Secret(it->get<std::string>());
}

bool optional_bool(const json& document, const char* field, bool fallback) {
  if (is_absent(document, field))
    return fallback;
  const json& value = document.at(field);
  if (!value.is_boolean())
    throw ConfigError(
        fmt::format("Field \"{}\" must be true or false; got {}.", field,
                    value.is_string() ? shown(value.get<std::string>()) : value.dump()));
  return value.get<bool>();
}

SslMode ssl_mode_from_name(const std::string& name) {
  if (name == "disable")
    return SslMode::disable;
  if (name == "allow")
    return SslMode::allow;
  if (name == "prefer")
    return SslMode::prefer;
  if (name == "require")
    return SslMode::require;
  if (name == "verify-ca")
    return SslMode::verify_ca;
  if (name == "verify-full")
    return SslMode::verify_full;
  throw ConfigError(fmt::format("Field \"ssl_mode.mode\" must be one of {}; got {}.",
                                ssl_modes_list, shown(name)));
}

std::string pem_field(const json& ssl_mode, const char* field, const std::string& mode,
                      bool required, bool (*valid)(const std::string&), const char* what) {
  std::string path = fmt::format("ssl_mode.{}", field);
  auto it = ssl_mode.find(field);
  if (it == ssl_mode.end() || it->is_null() ||
      (it->is_string() && trim(it->get_ref<const std::string&>()).empty())) {
    if (!required)
      return {};
    throw ConfigError(fmt::format("ssl_mode \"{}\" needs \"{}\": paste {}.", mode, path, what));
  }
  // Secret fields: the messages never show their content.
  if (!it->is_string() || !valid(it->get<std::string>()))
    throw ConfigError(fmt::format("Field \"{}\" must be {} in PEM form (the text between and "
                                  "including the -----BEGIN ...----- and -----END ...----- lines).",
                                  path, what));
  return it->get<std::string>();
}

SslConfig parse_ssl(const json& document, std::vector<std::string>& warnings) {
  SslConfig ssl;
  bool legacy_ssl = optional_bool(document, "ssl", true);
  if (is_absent(document, "ssl_mode")) {
    // Airbyte's 3.x connector passes no TLS setting without ssl_mode, whatever `ssl` says, so
    // the driver's default applies: prefer (see postgres/tls_settings.hpp).
    return ssl;
  }
  const json& ssl_mode = document.at("ssl_mode");
  if (!ssl_mode.is_object())
    throw ConfigError("Field \"ssl_mode\" must be an object such as {\"mode\": \"require\"}.");
  if (is_absent(ssl_mode, "mode"))
    throw ConfigError(fmt::format("Missing required field \"ssl_mode.mode\": set it to one of {}.",
                                  ssl_modes_list));
  if (!ssl_mode.at("mode").is_string())
    throw ConfigError(
        fmt::format("Field \"ssl_mode.mode\" must be a string, one of {}.", ssl_modes_list));
  std::string mode = ssl_mode.at("mode").get<std::string>();
  ssl.mode = ssl_mode_from_name(mode);

  std::set<std::string> used = {"mode"};
  if (ssl.mode == SslMode::verify_ca || ssl.mode == SslMode::verify_full) {
    ssl.ca_certificate =
        pem_field(ssl_mode, "ca_certificate", mode, true, is_pem_certificate,
                  "the certificate of the CA that signed the server's certificate");
    ssl.client_key_password =
        optional_secret(ssl_mode, "client_key_password", "ssl_mode.client_key_password");
    used.insert({"ca_certificate", "client_key_password"});
  }
  if (ssl.mode == SslMode::verify_full) {
    ssl.client_certificate = pem_field(ssl_mode, "client_certificate", mode, false,
                                       is_pem_certificate, "the client certificate");
    ssl.client_key = Secret(pem_field(ssl_mode, "client_key", mode, false, is_pem_private_key,
                                      "the client certificate's private key"));
    used.insert({"client_certificate", "client_key"});
    if (ssl.client_certificate.empty() != ssl.client_key.empty())
      throw ConfigError(
          "ssl_mode \"verify-full\" needs both \"ssl_mode.client_certificate\" and "
          "\"ssl_mode.client_key\", or neither: give the client key together with its "
          "certificate.");
  }
  for (const auto& [key, value] : ssl_mode.items()) {
    if (used.count(key) != 0 || value.is_null())
      continue;
    warnings.push_back(
        fmt::format("Ignoring field \"ssl_mode.{}\": ssl_mode \"{}\" does not use it.", key, mode));
  }
  // Airbyte's connector drops ssl_mode when `ssl` is false; doing so would give a weaker
  // connection than ssl_mode asks for.
  if (!legacy_ssl && ssl.mode != SslMode::disable)
    warnings.push_back(
        fmt::format("Field \"ssl\" is false, but ssl_mode \"{}\" is set: ssl_mode wins.", mode));
  return ssl;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// %XX sequences decoded; a '%' not followed by two hex digits stays as it is.
std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
        hex_value(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_jdbc_url_params(const json& document) {
  static const char* const message =
      "Field \"jdbc_url_params\" must be key=value pairs separated by \"&\" (e.g. "
      "\"connectTimeout=5&ApplicationName=airbyte\"); write \"&\", \"=\" and \"%\" inside a "
      "value as %26, %3D and %25.";
  std::vector<std::pair<std::string, std::string>> pairs;
  if (is_absent(document, "jdbc_url_params"))
    return pairs;
  const json& value = document.at("jdbc_url_params");
  // The value may hold credentials, so the messages never show it.
  if (!value.is_string())
    throw ConfigError(message);
  const std::string& text = value.get_ref<const std::string&>();
  if (trim(text).empty())
    return pairs;
  std::string_view rest = text;
  if (!rest.empty() && rest.back() == '&')
    rest.remove_suffix(1);
  while (true) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    size_t eq = pair.find('=');
    if (eq == 0 || eq == std::string_view::npos || pair.find('=', eq + 1) != std::string_view::npos)
      throw ConfigError(message);
    pairs.emplace_back(percent_decode(pair.substr(0, eq)), percent_decode(pair.substr(eq + 1)));
    if (amp == std::string_view::npos)
      break;
    rest.remove_prefix(amp + 1);
  }
  return pairs;
}

const char* const tunnel_methods_list = "NO_TUNNEL, SSH_KEY_AUTH or SSH_PASSWORD_AUTH";

TunnelConfig parse_tunnel(const json& document, std::vector<std::string>& warnings) {
  TunnelConfig tunnel;
  if (is_absent(document, "tunnel_method"))
    return tunnel;
  const json& object = document.at("tunnel_method");
  if (!object.is_object())
    throw ConfigError(
        "Field \"tunnel_method\" must be an object such as {\"tunnel_method\": \"NO_TUNNEL\"}.");
  std::string method = required_string(object, "tunnel_method", "tunnel_method.tunnel_method",
                                       fmt::format("one of {}", tunnel_methods_list).c_str());
  std::set<std::string> used = {"tunnel_method"};
  if (method == "NO_TUNNEL") {
    tunnel.method = TunnelMethod::none;
  } else if (method == "SSH_KEY_AUTH" || method == "SSH_PASSWORD_AUTH") {
    tunnel.method = method == "SSH_KEY_AUTH" ? TunnelMethod::ssh_key : TunnelMethod::ssh_password;
    tunnel.host =
        parse_host(object, "tunnel_host", "tunnel_method.tunnel_host",
                   "the host name or IP address of the SSH bastion", "bastion.example.com");
    tunnel.port = parse_port(object, "tunnel_port", "tunnel_method.tunnel_port", 22, "SSH's");
    tunnel.user = required_string(object, "tunnel_user", "tunnel_method.tunnel_user",
                                  "the user to log in to the SSH bastion as");
    if (!matches(tunnel.user, patterns::name))
      throw ConfigError(fmt::format("Field \"tunnel_method.tunnel_user\" must be a user name: not "
                                    "empty, without leading or trailing spaces; got {}.",
                                    shown(tunnel.user)));
    used.insert({"tunnel_host", "tunnel_port", "tunnel_user"});
  } else {
    throw ConfigError(
        fmt::format("Field \"tunnel_method.tunnel_method\" must be one of {}; got {}.",
                    tunnel_methods_list, shown(method)));
  }
  // Secret fields: the messages never show their content.
  if (tunnel.method == TunnelMethod::ssh_key) {
    std::string key = required_string(
        object, "ssh_key", "tunnel_method.ssh_key",
        "the private key of tunnel_user, in PEM or OpenSSH form (the whole text of the key file)");
    if (!is_ssh_private_key(key))
      throw ConfigError(
          "Field \"tunnel_method.ssh_key\" must be a private key in PEM or OpenSSH form: the whole "
          "text of the key file, from its -----BEGIN ... PRIVATE KEY----- line to its "
          "-----END ... PRIVATE KEY----- line (e.g. made with ssh-keygen -t rsa -m PEM, or "
          "ssh-keygen -t ed25519).");
    tunnel.ssh_key = Secret(std::move(key));
    used.insert("ssh_key");
  }
  if (tunnel.method == TunnelMethod::ssh_password) {
    tunnel.password =
        Secret(required_string(object, "tunnel_user_password", "tunnel_method.tunnel_user_password",
                               "the password of tunnel_user on the SSH bastion"));
    if (tunnel.password.empty())
      throw ConfigError("Field \"tunnel_method.tunnel_user_password\" is empty: set it to the "
                        "password of tunnel_user on the SSH bastion.");
    used.insert("tunnel_user_password");
  }
  for (const auto& [key, value] : object.items()) {
    if (used.count(key) != 0 || value.is_null())
      continue;
    warnings.push_back(fmt::format(
        "Ignoring field \"tunnel_method.{}\": tunnel_method \"{}\" does not use it.", key, method));
  }
  return tunnel;
}

CdcDeletionMode parse_cdc_deletion_mode(const json& document) {
  static const char* const message =
      "Field \"cdc_deletion_mode\" must be \"Hard delete\" or \"Soft delete\"";
  if (is_absent(document, "cdc_deletion_mode"))
    return CdcDeletionMode::hard_delete;
  const json& value = document.at("cdc_deletion_mode");
  if (!value.is_string())
    throw ConfigError(fmt::format("{}; got {}.", message, value.dump()));
  const auto& text = value.get_ref<const std::string&>();
  if (text == "Hard delete")
    return CdcDeletionMode::hard_delete;
  if (text == "Soft delete")
    return CdcDeletionMode::soft_delete;
  throw ConfigError(fmt::format("{}; got {}.", message, shown(text)));
}

// Raw tables mode. As in Airbyte, a blank `raw_data_schema` means the default; any other name is
// normalised as Airbyte does, so only its outer spaces are refused (the spec's pattern).
void parse_raw_tables(const json& document, DestinationConfig& config) {
  config.raw_tables_only = optional_bool(document, "disable_type_dedupe", false);
  if (is_absent(document, "raw_data_schema"))
    return;
  const json& value = document.at("raw_data_schema");
  if (!value.is_string())
    throw ConfigError("Field \"raw_data_schema\" must be a string.");
  const auto& text = value.get_ref<const std::string&>();
  if (!matches(text, patterns::optional_name))
    throw ConfigError(fmt::format("Field \"raw_data_schema\" must be a schema name without "
                                  "leading or trailing spaces, or empty for the default; got {}.",
                                  shown(text)));
  if (!trim(text).empty())
    config.raw_data_schema = text;
}

int parse_max_connections(const json& document) {
  if (is_absent(document, "max_connections"))
    return kDefaultMaxConnections;
  const json& value = document.at("max_connections");
  const std::string message = fmt::format(
      "Field \"max_connections\" must be a whole number between 1 and {} (the most connections "
      "a sync may open; default {})",
      kMostMaxConnections, kDefaultMaxConnections);
  if (!value.is_number_integer())
    throw ConfigError(fmt::format("{}; got {}.", message, value.dump()));
  const auto connections = value.get<long long>();
  if (connections < 1 || connections > kMostMaxConnections)
    throw ConfigError(fmt::format("{}; got {}.", message, connections));
  return static_cast<int>(connections);
}

// A legacy field of Airbyte 2.x configs: accepted, checked for type, otherwise without effect.
void check_legacy_fields(const json& document) {
  optional_bool(document, "unconstrained_number", false);
}

const std::set<std::string>& known_fields() {
  static const std::set<std::string> fields = {"host",
                                               "port",
                                               "database",
                                               "schema",
                                               "username",
                                               "password",
                                               "ssl_mode",
                                               "jdbc_url_params",
                                               "tunnel_method",
                                               "cdc_deletion_mode",
                                               "drop_cascade",
                                               "ssl",
                                               "raw_data_schema",
                                               "disable_type_dedupe",
                                               "unconstrained_number",
                                               "max_connections",
                                               "keep_rejected_values",
                                               "history_mode"};
  return fields;
}

// 1-based line and column of byte `offset` in `text`.
std::pair<size_t, size_t> line_and_column(const std::string& text, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

} // namespace

DestinationConfig parse_config(const nlohmann::json& document) {
  if (!document.is_object())
    throw ConfigError("The configuration must be a JSON object with the fields of the connector "
                      "spec (host, port, database, schema, username, password, ...).");
  DestinationConfig config;
  config.host =
      parse_host(document, "host", "host", "the host name or IP address of the PostgreSQL server",
                 "db.example.com");
  config.port = parse_port(document, "port", "port", 5432, "PostgreSQL's");
  config.database = check_name(
      "database", required_string(document, "database", "the name of the database to write into"),
      "a database name");
  if (!is_absent(document, "schema"))
    config.schema =
        check_name("schema",
                   required_string(document, "schema",
                                   "the schema to write into when a stream has no namespace"),
                   "a schema name");
  config.username = check_name(
      "username", required_string(document, "username", "the PostgreSQL user to connect as"),
      "a user name");
  config.password = optional_secret(document, "password", "password");
  config.ssl = parse_ssl(document, config.warnings);
  config.jdbc_url_params = parse_jdbc_url_params(document);
  config.tunnel = parse_tunnel(document, config.warnings);
  config.cdc_deletion_mode = parse_cdc_deletion_mode(document);
  config.drop_cascade = optional_bool(document, "drop_cascade", false);
  parse_raw_tables(document, config);
  config.max_connections = parse_max_connections(document);
  config.keep_rejected_values = optional_bool(document, "keep_rejected_values", true);
  config.history_mode = optional_bool(document, "history_mode", false);
  check_legacy_fields(document);
  for (const auto& item : document.items())
    if (known_fields().count(item.key()) == 0)
      config.warnings.push_back(
          fmt::format("Ignoring unknown configuration field {}.", shown(item.key())));
  return config;
}

DestinationConfig load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw ConfigError(
        fmt::format("Cannot read the config file {}: {}.", shown(path), std::strerror(errno)));
  std::ostringstream content;
  content << in.rdbuf();
  std::string text = content.str();
  if (nests_deeper_than(text, kMaxFileNesting))
    throw ConfigError(fmt::format("The config file {} nests arrays and objects more than {} levels "
                                  "deep; a config is a flat object of settings.",
                                  shown(path), kMaxFileNesting));
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& error) {
    // The parser's own message quotes the text it read, which may be a password: give the
    // position only.
    auto [line, column] = line_and_column(text, error.byte == 0 ? 0 : error.byte - 1);
    throw ConfigError(fmt::format("The config file {} is not valid JSON (error at line {}, "
                                  "column {}).",
                                  shown(path), line, column));
  } catch (const nlohmann::json::out_of_range&) {
    // Valid JSON, but a number beyond a double (1e999) that the parser cannot hold.
    throw ConfigError(
        fmt::format("The config file {} holds a number too large to read.", shown(path)));
  }
  return parse_config(document);
}

} // namespace pgdest::config
