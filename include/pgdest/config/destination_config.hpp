#pragma once
// The validated connector configuration (SPEC §3), with secrets held apart.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pgdest/config/secret.hpp"

namespace pgdest::config {

enum class SslMode { disable, allow, prefer, require, verify_ca, verify_full };

struct SslConfig {
  // ssl_mode.mode; none when the config has no ssl_mode (the connection then uses prefer, unless
  // jdbc_url_params ask for a mode).
  std::optional<SslMode> mode;
  std::string ca_certificate;     // PEM text, verify-ca / verify-full
  std::string client_certificate; // PEM text, verify-full
  Secret client_key;              // PEM text, verify-full
  Secret client_key_password;
};

enum class CdcDeletionMode { hard_delete, soft_delete };

enum class TunnelMethod { none, ssh_key, ssh_password };

// `tunnel_method`: how to reach the server through an SSH bastion.
struct TunnelConfig {
  TunnelMethod method = TunnelMethod::none;
  std::string host; // the bastion
  int port = 22;
  std::string user;
  Secret ssh_key;  // SSH_KEY_AUTH: the private key's text (PEM or OpenSSH form)
  Secret password; // SSH_PASSWORD_AUTH
};

// `max_connections`: its default, and the most it may be. Each lane is a server backend running
// COPY on about one core, fed by this process's one encoding thread, which keeps 2 to 4 of them
// busy; 4 also leaves a small pool (PgBouncer's default is 20) room for other clients.
constexpr int kDefaultMaxConnections = 4;
constexpr int kMostMaxConnections = 32;

struct DestinationConfig {
  std::string host;
  int port = 5432;
  std::string database;
  std::string schema = "public";
  std::string username;
  Secret password;
  SslConfig ssl;
  // `jdbc_url_params` split into key/value pairs, in the order given.
  std::vector<std::pair<std::string, std::string>> jdbc_url_params;
  TunnelConfig tunnel;
  CdcDeletionMode cdc_deletion_mode = CdcDeletionMode::hard_delete;
  bool drop_cascade = false;
  // `disable_type_dedupe`: Airbyte's legacy raw tables instead of typed ones (SPEC §3).
  bool raw_tables_only = false;
  // `raw_data_schema` as given (normalised where it is used); the schema of the raw tables.
  std::string raw_data_schema = "airbyte_internal";
  // `max_connections`: the most connections a sync opens at once (its lanes, see LoadSession).
  int max_connections = kDefaultMaxConnections;
  // `keep_rejected_values`: values the connector NULLs or truncates are kept, with their original
  // text, in the internal schema's `_airbyte_rejected_values`.
  bool keep_rejected_values = true;
  // `history_mode`: append_dedup streams of the typed layout also keep a `<table>_scd` history.
  bool history_mode = false;
  // Things the user should hear about (unknown fields, ignored parameters); never hold secrets.
  std::vector<std::string> warnings;
};

} // namespace pgdest::config
