// One forwarded connection's thread: accept the local client, then carry bytes both ways between
// it and the SSH channel until either end closes or the tunnel breaks.
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>

#include <libssh/libssh.h>
#include <spdlog/spdlog.h>

#include "pgdest/error.hpp"
#include "pgdest/tunnel/ssh_tunnel.hpp"

namespace pgdest::tunnel {
namespace {

// An SSH_MSG_IGNORE goes to the bastion after this long without traffic: it keeps NAT mappings
// open, and TCP (keepalives, TCP_USER_TIMEOUT on the socket) then notices a dead bastion.
constexpr auto kKeepaliveInterval = std::chrono::seconds(30);
// How long closing may take before the bastion socket is shut down under a stuck call.
constexpr auto kCloseGrace = std::chrono::seconds(1);

bool would_block(int error) {
  return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

} // namespace

ForwardedConnection::ForwardedConnection(ssh_session session, ssh_channel channel, int listener,
                                         int local_port, std::string description)
    : session_(session), channel_(channel), listener_(listener), local_port_(local_port),
      bastion_socket_(ssh_get_fd(session)), stop_event_(eventfd(0, EFD_CLOEXEC)),
      description_(std::move(description)) {
  if (stop_event_ < 0) {
    ::close(listener_);
    release_session();
    throw SystemError("Could not create an event for the SSH tunnel.");
  }
  thread_ = std::thread(&ForwardedConnection::run, this);
}

ForwardedConnection::~ForwardedConnection() {
  const std::uint64_t one = 1;
  ssize_t ignored = ::write(stop_event_, &one, sizeof one);
  static_cast<void>(ignored);
  {
    std::unique_lock<std::mutex> lock(mutex_);
    // A call stuck on a bastion that no longer answers would hold the join for minutes.
    if (!finished_changed_.wait_for(lock, kCloseGrace, [this] { return finished_; }) &&
        !socket_released_)
      ::shutdown(bastion_socket_, SHUT_RDWR);
  }
  thread_.join();
  ::close(stop_event_);
}

void ForwardedConnection::run() noexcept {
  // libssh's log level is per thread; this thread logs nothing either.
  ssh_set_log_level(SSH_LOG_NOLOG);
  pollfd waiting[2] = {{listener_, POLLIN, 0}, {stop_event_, POLLIN, 0}};
  int client = -1;
  while (client < 0) {
    if (::poll(waiting, 2, -1) < 0 && errno != EINTR)
      break;
    if (waiting[1].revents != 0)
      break;
    if (waiting[0].revents != 0)
      client = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  }
  // One client per forwarded connection: nobody else gets in after it.
  ::close(listener_);
  if (client >= 0) {
    pump(client);
    ::close(client);
  }
  release_session();
  std::lock_guard<std::mutex> lock(mutex_);
  finished_ = true;
  finished_changed_.notify_all();
}

void ForwardedConnection::pump(int client) noexcept {
  std::array<char, 64 * 1024> buffer{};
  std::string to_client; // from the database, not yet taken by the client
  std::size_t handed = 0;
  auto last_traffic = std::chrono::steady_clock::now();
  auto broke = [&](const char* what) {
    spdlog::warn("The SSH tunnel to {} broke ({}: {}); the connection through it is closed.",
                 description_, what, ssh_get_error(session_));
  };
  // Sends what the client wrote on to the database, as much as the channel's window takes.
  enum class Outcome { sent, nothing_yet, ended };
  auto forward_from_client = [&]() -> Outcome {
    const std::uint32_t window = ssh_channel_window_size(channel_);
    if (window == 0)
      return Outcome::nothing_yet;
    const ssize_t got =
        ::recv(client, buffer.data(), std::min<std::size_t>(buffer.size(), window), 0);
    if (got < 0 && would_block(errno))
      return Outcome::nothing_yet;
    if (got <= 0) {
      ssh_channel_send_eof(channel_);
      return Outcome::ended;
    }
    if (ssh_channel_write(channel_, buffer.data(), static_cast<std::uint32_t>(got)) != got) {
      broke("sending");
      return Outcome::ended;
    }
    last_traffic = std::chrono::steady_clock::now();
    return Outcome::sent;
  };

  for (;;) {
    bool moved = false;
    // libssh may already hold data it read during a write: look before waiting.
    if (handed == to_client.size()) {
      const int got = ssh_channel_read_nonblocking(channel_, buffer.data(),
                                                   static_cast<std::uint32_t>(buffer.size()), 0);
      if (got == SSH_EOF)
        return; // the database closed the connection
      if (got == SSH_ERROR) {
        broke("receiving");
        return;
      }
      if (got > 0) {
        to_client.assign(buffer.data(), static_cast<std::size_t>(got));
        handed = 0;
        moved = true;
        last_traffic = std::chrono::steady_clock::now();
      }
    } else if (ssh_channel_poll(channel_, 0) == SSH_ERROR) {
      // Keeps reading packets (window adjustments, a close) while the client is slow.
      broke("receiving");
      return;
    }
    if (handed < to_client.size()) {
      const ssize_t sent =
          ::send(client, to_client.data() + handed, to_client.size() - handed, MSG_NOSIGNAL);
      if (sent < 0 && !would_block(errno))
        return; // the client is gone
      if (sent > 0) {
        handed += static_cast<std::size_t>(sent);
        moved = true;
      }
    }

    const bool pending = handed < to_client.size();
    const bool window_open = ssh_channel_window_size(channel_) > 0;
    pollfd waiting[3] = {
        {client, static_cast<short>((window_open ? POLLIN : 0) | (pending ? POLLOUT : 0)), 0},
        {bastion_socket_, POLLIN, 0},
        {stop_event_, POLLIN, 0}};
    const auto idle = std::chrono::steady_clock::now() - last_traffic;
    const int timeout_ms =
        moved ? 0
              : static_cast<int>(std::max<long>(
                    0,
                    std::chrono::duration_cast<std::chrono::milliseconds>(kKeepaliveInterval - idle)
                        .count()));
    const int ready = ::poll(waiting, 3, timeout_ms);
    if (ready < 0 && errno != EINTR)
      return;
    if (waiting[2].revents != 0) {
      // Asked to end: what the client sent before it closed still goes to the database.
      while (forward_from_client() == Outcome::sent) {
      }
      return;
    }
    if (ready == 0 && !moved &&
        std::chrono::steady_clock::now() - last_traffic >= kKeepaliveInterval) {
      if (ssh_send_ignore(session_, "") != SSH_OK) {
        broke("keepalive");
        return;
      }
      last_traffic = std::chrono::steady_clock::now();
    }
    if ((waiting[0].revents & (POLLHUP | POLLERR)) != 0 && !window_open)
      return; // the client is gone, and nothing more of it could be sent on
    if ((waiting[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
        forward_from_client() == Outcome::ended)
      return;
  }
}

void ForwardedConnection::release_session() noexcept {
  if (channel_ != nullptr) {
    ssh_channel_close(channel_);
    ssh_channel_free(channel_);
    channel_ = nullptr;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    socket_released_ = true;
  }
  ssh_disconnect(session_);
  ssh_free(session_);
  session_ = nullptr;
}

} // namespace pgdest::tunnel
