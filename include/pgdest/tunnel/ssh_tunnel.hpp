#pragma once
// SSH tunnels (`tunnel_method`): every connection to PostgreSQL travels through a direct-tcpip
// channel of its own SSH session with the bastion, made in-process with libssh. Keys and
// passwords stay in memory.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "pgdest/config/destination_config.hpp"

struct ssh_session_struct;
struct ssh_channel_struct;

namespace pgdest::tunnel {

// Which hop of a tunnelled connection failed.
enum class Hop {
  bastion_unknown,      // tunnel_host does not resolve
  bastion_unreachable,  // no TCP connection to tunnel_host:tunnel_port (refused, timed out, no
                        // route)
  handshake_failed,     // the bastion did not complete an SSH handshake
  key_unusable,         // ssh_key cannot be read (malformed, or protected by a passphrase)
  key_rejected,         // the bastion refused tunnel_user with ssh_key
  password_rejected,    // the bastion refused tunnel_user with tunnel_user_password
  forwarding_refused,   // the bastion does not forward TCP connections for tunnel_user
  database_unreachable, // the bastion could not connect to the database's host and port
};

// A hop that failed. what() is the detail (the system's or the bastion's reason), never a secret.
class TunnelError : public std::runtime_error {
public:
  TunnelError(Hop hop, const std::string& detail, bool temporary = false)
      : std::runtime_error(detail), hop_(hop), temporary_(temporary) {}
  Hop hop() const { return hop_; }
  // A failure that may pass by itself although its hop's failures usually do not (a DNS server
  // that did not answer).
  bool temporary() const { return temporary_; }

private:
  Hop hop_;
  bool temporary_;
};

// One forwarded connection: a listener on 127.0.0.1 that accepts a single client and carries its
// bytes through one direct-tcpip channel, on a thread of its own. The thread owns the SSH session
// from then on (a libssh session must only ever be used by one thread at a time). When either
// end closes, or the tunnel breaks, the other end is closed: the client sees a lost connection.
class ForwardedConnection {
public:
  ~ForwardedConnection();
  ForwardedConnection(const ForwardedConnection&) = delete;
  ForwardedConnection& operator=(const ForwardedConnection&) = delete;

  // The port on 127.0.0.1 to connect to (once).
  int local_port() const { return local_port_; }

private:
  friend class SshTunnel;
  ForwardedConnection(ssh_session_struct* session, ssh_channel_struct* channel, int listener,
                      int local_port, std::string description);
  void run() noexcept;
  void pump(int client) noexcept;
  void release_session() noexcept;

  ssh_session_struct* session_;
  ssh_channel_struct* channel_;
  int listener_;
  int local_port_;
  int bastion_socket_;
  int stop_event_;          // an eventfd: written to ask the thread to end
  std::string description_; // "db:5432 through bastion:22", for logs

  std::mutex mutex_;
  std::condition_variable finished_changed_;
  bool finished_ = false;
  bool socket_released_ = false; // the thread is closing the bastion socket: no shutdown() then

  std::thread thread_;
};

// The bastion and how to log in, and the database as the bastion sees it.
class SshTunnel {
public:
  // `target_host`/`target_port`: the database, resolved and reached by the bastion. Each step of
  // open() (TCP connect, handshake, login, channel) waits at most `timeout_seconds` (0: no limit).
  // Throws ConfigError if ssh_key cannot be read.
  SshTunnel(config::TunnelConfig config, std::string target_host, int target_port,
            int timeout_seconds);

  // A new SSH session with the bastion and a channel to the database, behind a local port.
  // Safe to call from several threads at once. Throws TunnelError naming the failing hop.
  std::unique_ptr<ForwardedConnection> open() const;

  // "host:port" of the bastion ("[v6]:port" for IPv6 addresses), for messages.
  const std::string& bastion() const { return bastion_; }
  const std::string& user() const { return config_.user; }

private:
  int connect_to_bastion() const;

  config::TunnelConfig config_;
  std::string target_host_;
  int target_port_;
  int timeout_seconds_;
  std::string bastion_;
  std::string target_;
};

} // namespace pgdest::tunnel
