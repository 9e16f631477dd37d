// Connections straight to the server or through an SSH tunnel; a tunnel's failures through the
// failure table.
#include "pgdest/postgres/connector.hpp"

namespace pgdest::postgres {
namespace {

Error tunnel_failure(const tunnel::TunnelError& error, const FailureSubject& subject) {
  FailureDiagnosis diagnosis = diagnosis_of(cause_of(error.hop()), error.what());
  if (error.temporary())
    diagnosis.type = FailureType::transient_error;
  return Error(diagnosis.type, describe(diagnosis, subject), "ssh: " + diagnosis.server_text);
}

} // namespace

FailureCause cause_of(tunnel::Hop hop) {
  switch (hop) {
  case tunnel::Hop::bastion_unknown:
    return FailureCause::bastion_unknown;
  case tunnel::Hop::bastion_unreachable:
    return FailureCause::bastion_unreachable;
  case tunnel::Hop::handshake_failed:
    return FailureCause::bastion_handshake_failed;
  case tunnel::Hop::key_unusable:
    return FailureCause::ssh_key_unusable;
  case tunnel::Hop::key_rejected:
    return FailureCause::bastion_key_rejected;
  case tunnel::Hop::password_rejected:
    return FailureCause::bastion_password_rejected;
  case tunnel::Hop::forwarding_refused:
    return FailureCause::bastion_forwarding_refused;
  case tunnel::Hop::database_unreachable:
    return FailureCause::database_unreachable_from_bastion;
  }
  return FailureCause::other;
}

Connector::Connector(const config::DestinationConfig& config) : options_(config) {
  if (config.tunnel.method == config::TunnelMethod::none)
    return;
  subject_.endpoint = options_.endpoint();
  subject_.host = config.host;
  subject_.user = config.username;
  subject_.database = config.database;
  subject_.connect_timeout_seconds = options_.connect_timeout_seconds();
  subject_.tunnel_host = config.tunnel.host;
  subject_.tunnel_user = config.tunnel.user;
  try {
    tunnel_.emplace(config.tunnel, config.host, config.port, options_.connect_timeout_seconds());
  } catch (const tunnel::TunnelError& error) {
    throw tunnel_failure(error, subject_);
  }
  subject_.tunnel_endpoint = tunnel_->bastion();
}

std::unique_ptr<PgConnection> Connector::connect() const {
  if (!tunnel_)
    return std::make_unique<PgConnection>(options_.conninfo_with_password(), options_.endpoint());
  std::unique_ptr<tunnel::ForwardedConnection> forwarded;
  try {
    forwarded = tunnel_->open();
  } catch (const tunnel::TunnelError& error) {
    throw tunnel_failure(error, subject_);
  }
  const std::string conninfo = options_.conninfo_with_password_via(forwarded->local_port());
  return std::make_unique<PgConnection>(conninfo, options_.endpoint(), std::move(forwarded));
}

} // namespace pgdest::postgres
