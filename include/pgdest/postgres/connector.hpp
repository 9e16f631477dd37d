#pragma once
// Opens the connections of `check` and `write` as the config says: straight to host:port, or each
// through a channel of its own SSH session with the bastion (tunnel_method).
#include <memory>
#include <optional>

#include "pgdest/config/destination_config.hpp"
#include "pgdest/postgres/connection_options.hpp"
#include "pgdest/postgres/error_classifier.hpp"
#include "pgdest/postgres/pg_connection.hpp"
#include "pgdest/tunnel/ssh_tunnel.hpp"

namespace pgdest::postgres {

class Connector {
public:
  // Throws ConfigError for a jdbc_url_params value libpq cannot use or an ssh_key that cannot be
  // read, SystemError when a certificate's in-memory file cannot be made.
  explicit Connector(const config::DestinationConfig& config);

  // A new connection. Safe to call from several threads at once. A failure throws the Error the
  // failure table gives; with a tunnel, it names the hop that failed (the bastion, the login, the
  // database as the bastion sees it).
  std::unique_ptr<PgConnection> connect() const;

  const ConnectionOptions& options() const { return options_; }

private:
  ConnectionOptions options_;
  std::optional<tunnel::SshTunnel> tunnel_;
  FailureSubject subject_; // for the messages of a tunnel's failures
};

// The failure table's cause for a tunnel's failing hop.
FailureCause cause_of(tunnel::Hop hop);

} // namespace pgdest::postgres
