// Opening a tunnelled connection hop by hop: TCP to the bastion, SSH handshake, login, channel.
#include "pgdest/tunnel/ssh_tunnel.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#include <fmt/format.h>
#include <libssh/libssh.h>
#include <spdlog/spdlog.h>

#include "pgdest/error.hpp"

namespace pgdest::tunnel {
namespace {

// Blocking libssh calls while data flows (a write that waits for the bastion) give up after
// this long; TCP gives up on unacknowledged data after the same time.
constexpr long kDataTimeoutSeconds = 120;
// With no limit asked for (timeout 0), a step still ends some day.
constexpr long kNoLimitSeconds = 24 * 60 * 60;
// Keyboard-interactive logins asking more rounds than this are not password logins.
constexpr int kMaxPromptRounds = 8;

struct SessionDeleter {
  void operator()(ssh_session session) const {
    ssh_disconnect(session);
    ssh_free(session);
  }
};
using Session = std::unique_ptr<std::remove_pointer_t<ssh_session>, SessionDeleter>;

struct ChannelDeleter {
  void operator()(ssh_channel channel) const { ssh_channel_free(channel); }
};
using Channel = std::unique_ptr<std::remove_pointer_t<ssh_channel>, ChannelDeleter>;

struct KeyDeleter {
  void operator()(ssh_key key) const { ssh_key_free(key); }
};
using Key = std::unique_ptr<std::remove_pointer_t<ssh_key>, KeyDeleter>;

class FileDescriptor {
public:
  explicit FileDescriptor(int fd = -1) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

private:
  int fd_;
};

std::string system_text(int error) {
  return std::error_code(error, std::generic_category()).message();
}

std::string lower_first(std::string text) {
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z' &&
      (text.size() < 2 || !(text[1] >= 'A' && text[1] <= 'Z')))
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  return text;
}

// "host:port", or "[v6]:port" for an IPv6 address.
std::string endpoint(const std::string& host, int port) {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                             : fmt::format("{}:{}", host, port);
}

std::string no_answer(int timeout_seconds) {
  return timeout_seconds > 0 ? fmt::format("no answer within {} seconds", timeout_seconds)
                             : std::string("no answer");
}

std::string connect_failure(int error, int timeout_seconds) {
  switch (error) {
  case ECONNREFUSED:
    return "the connection was refused";
  case ETIMEDOUT:
    return no_answer(timeout_seconds);
  case EHOSTUNREACH:
  case ENETUNREACH:
    return "the host is unreachable";
  default:
    return lower_first(system_text(error));
  }
}

// The same keepalives libpq's connections get, so a dead bastion or a dropped NAT mapping is
// noticed within about two minutes; TCP_USER_TIMEOUT also ends a write nobody acknowledges.
// Best effort: a kernel without one of these options still tunnels.
void tune_socket(int fd) {
  const int on = 1, idle = 60, interval = 10, count = 6;
  const unsigned user_timeout_ms = kDataTimeoutSeconds * 1000;
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
  setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

// Waits for a non-blocking connect() to finish; 0 on success, else the errno it failed with.
int finish_connect(int fd, int timeout_seconds) {
  pollfd waiting{fd, POLLOUT, 0};
  const int timeout_ms = timeout_seconds > 0 ? timeout_seconds * 1000 : -1;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
  for (;;) {
    int left = timeout_ms;
    if (timeout_ms >= 0)
      left =
          static_cast<int>(std::max<long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 deadline - std::chrono::steady_clock::now())
                                                 .count()));
    int ready = ::poll(&waiting, 1, left);
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready < 0)
      return errno;
    if (ready == 0)
      return ETIMEDOUT;
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
      return errno;
    return error;
  }
}

// Password login, or keyboard-interactive answered with the password when the bastion offers only
// that (as bastions that check passwords through PAM often do). A hidden prompt asks for the
// password; a visible one (a one-time code, say) cannot be answered.
int log_in_with_password(ssh_session session, const std::string& password) {
  int rc = ssh_userauth_none(session, nullptr);
  if (rc != SSH_AUTH_DENIED)
    return rc;
  const auto methods = static_cast<unsigned>(ssh_userauth_list(session, nullptr));
  if ((methods & static_cast<unsigned>(SSH_AUTH_METHOD_PASSWORD)) != 0)
    return ssh_userauth_password(session, nullptr, password.c_str());
  if ((methods & static_cast<unsigned>(SSH_AUTH_METHOD_INTERACTIVE)) == 0)
    return SSH_AUTH_DENIED;
  rc = ssh_userauth_kbdint(session, nullptr, nullptr);
  for (int round = 0; rc == SSH_AUTH_INFO && round < kMaxPromptRounds; ++round) {
    const int prompts = ssh_userauth_kbdint_getnprompts(session);
    for (int i = 0; i < prompts; ++i) {
      char echo = 1;
      ssh_userauth_kbdint_getprompt(session, static_cast<unsigned>(i), &echo);
      if (echo != 0)
        return SSH_AUTH_DENIED;
      if (ssh_userauth_kbdint_setanswer(session, static_cast<unsigned>(i), password.c_str()) < 0)
        return SSH_AUTH_ERROR;
    }
    rc = ssh_userauth_kbdint(session, nullptr, nullptr);
  }
  return rc == SSH_AUTH_INFO ? SSH_AUTH_DENIED : rc;
}

// libssh asks for a pass phrase only when the key has one: there is none to give.
int refuse_passphrase(const char*, char*, size_t, int, int, void* asked) {
  *static_cast<bool*>(asked) = true;
  return -1;
}

// The key as libssh reads it best: no surrounding white space, LF line ends.
std::string normalised_key(const std::string& text) {
  std::string out;
  out.reserve(text.size() + 1);
  for (char c : text)
    if (c != '\r')
      out.push_back(c);
  const auto first = out.find_first_not_of(" \t\n");
  const auto last = out.find_last_not_of(" \t\n");
  out = first == std::string::npos ? std::string() : out.substr(first, last - first + 1);
  out.push_back('\n');
  return out;
}

Key import_key(const config::Secret& text) {
  ssh_key key = nullptr;
  bool asked = false;
  const std::string pem = normalised_key(text.reveal());
  const int rc =
      ssh_pki_import_privkey_base64(pem.c_str(), nullptr, refuse_passphrase, &asked, &key);
  if (rc != SSH_OK || key == nullptr)
    throw TunnelError(Hop::key_unusable, asked || pem.find("ENCRYPTED") != std::string::npos
                                             ? "it is protected by a passphrase"
                                             : "it is not a private key libssh can read");
  return Key(key);
}

// "SHA256:..." and the key type of the bastion's host key, for the log.
std::string host_key_fingerprint(ssh_session session) {
  ssh_key raw = nullptr;
  if (ssh_get_server_publickey(session, &raw) != SSH_OK || raw == nullptr)
    return "unknown";
  Key key(raw);
  unsigned char* hash = nullptr;
  size_t length = 0;
  if (ssh_get_publickey_hash(key.get(), SSH_PUBLICKEY_HASH_SHA256, &hash, &length) != 0)
    return "unknown";
  char* text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, length);
  ssh_clean_pubkey_hash(&hash);
  std::string fingerprint = fmt::format("{} {}", ssh_key_type_to_char(ssh_key_type(key.get())),
                                        text != nullptr ? text : "unknown");
  ssh_string_free_char(text);
  return fingerprint;
}

// libssh reports a refused channel as "Channel opening failure: channel N error (C) reason".
TunnelError channel_failure(ssh_session session, int rc, int timeout_seconds) {
  const std::string text = ssh_get_error(session);
  const std::string marker = "error (";
  const auto at = text.find(marker);
  if (text.rfind("Channel opening failure", 0) == 0 && at != std::string::npos) {
    const auto close = text.find(") ", at);
    const std::string code = text.substr(at + marker.size(), close - at - marker.size());
    std::string reason = close == std::string::npos ? "" : lower_first(text.substr(close + 2));
    // RFC 4254: 1 administratively prohibited, 2 connect failed.
    if (code == "1")
      return TunnelError(Hop::forwarding_refused,
                         reason.empty() ? "administratively prohibited" : reason);
    return TunnelError(Hop::database_unreachable, reason.empty() ? "connect failed" : reason);
  }
  if (rc == SSH_AGAIN)
    return TunnelError(Hop::database_unreachable, no_answer(timeout_seconds));
  return TunnelError(Hop::handshake_failed, lower_first(text));
}

} // namespace

SshTunnel::SshTunnel(config::TunnelConfig config, std::string target_host, int target_port,
                     int timeout_seconds)
    : config_(std::move(config)), target_host_(std::move(target_host)), target_port_(target_port),
      timeout_seconds_(timeout_seconds) {
  bastion_ = endpoint(config_.host, config_.port);
  target_ = endpoint(target_host_, target_port_);
  // A key that cannot be read fails here, before any connection is tried.
  if (config_.method == config::TunnelMethod::ssh_key)
    import_key(config_.ssh_key);
}

int SshTunnel::connect_to_bastion() const {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc =
      getaddrinfo(config_.host.c_str(), std::to_string(config_.port).c_str(), &hints, &found);
  if (rc == EAI_AGAIN)
    throw TunnelError(Hop::bastion_unknown, "the name server did not answer", true);
  if (rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_FAIL)
    throw TunnelError(Hop::bastion_unknown, "no such host is known");
  if (rc != 0)
    throw TunnelError(Hop::bastion_unknown,
                      rc == EAI_SYSTEM ? system_text(errno) : lower_first(gai_strerror(rc)));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found, freeaddrinfo);

  int last_error = EHOSTUNREACH;
  for (const addrinfo* address = found; address != nullptr; address = address->ai_next) {
    FileDescriptor socket(::socket(address->ai_family,
                                   address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                                   address->ai_protocol));
    if (socket.get() < 0) {
      last_error = errno;
      continue;
    }
    int error = 0;
    if (::connect(socket.get(), address->ai_addr, address->ai_addrlen) != 0)
      error = errno == EINPROGRESS ? finish_connect(socket.get(), timeout_seconds_) : errno;
    if (error == 0) {
      tune_socket(socket.get());
      return socket.release();
    }
    last_error = error;
  }
  throw TunnelError(Hop::bastion_unreachable, connect_failure(last_error, timeout_seconds_));
}

std::unique_ptr<ForwardedConnection> SshTunnel::open() const {
  FileDescriptor bastion_socket(connect_to_bastion());

  Session session(ssh_new());
  if (!session)
    throw SystemError("Could not allocate an SSH session.");
  const int no_log = SSH_LOG_NOLOG;
  const bool no = false;
  long timeout = timeout_seconds_ > 0 ? timeout_seconds_ : kNoLimitSeconds;
  int fd = bastion_socket.get();
  ssh_options_set(session.get(), SSH_OPTIONS_LOG_VERBOSITY, &no_log);
  // Nothing from ~/.ssh or /etc/ssh: the config alone says how to connect.
  ssh_options_set(session.get(), SSH_OPTIONS_PROCESS_CONFIG, &no);
  ssh_options_set(session.get(), SSH_OPTIONS_SSH_DIR, "/dev/null");
  ssh_options_set(session.get(), SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
  ssh_options_set(session.get(), SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
  ssh_options_set(session.get(), SSH_OPTIONS_HOST, config_.host.c_str()); // names it in errors
  if (ssh_options_set(session.get(), SSH_OPTIONS_USER, config_.user.c_str()) != SSH_OK ||
      ssh_options_set(session.get(), SSH_OPTIONS_TIMEOUT, &timeout) != SSH_OK ||
      ssh_options_set(session.get(), SSH_OPTIONS_FD, &fd) != SSH_OK)
    throw SystemError("Could not set up an SSH session.", ssh_get_error(session.get()));
  // From ssh_connect on, the session closes the socket.
  bastion_socket.release();
  if (ssh_connect(session.get()) != SSH_OK) {
    std::string text = ssh_get_error(session.get());
    throw TunnelError(Hop::handshake_failed, text.find("Timeout connecting") != std::string::npos
                                                 ? no_answer(timeout_seconds_)
                                                 : lower_first(text));
  }
  spdlog::info("SSH bastion {} presented host key {}; accepted without a known-hosts check.",
               bastion_, host_key_fingerprint(session.get()));

  int login = SSH_AUTH_DENIED;
  if (config_.method == config::TunnelMethod::ssh_key) {
    Key key = import_key(config_.ssh_key);
    login = ssh_userauth_publickey(session.get(), nullptr, key.get());
  } else {
    login = log_in_with_password(session.get(), config_.password.reveal());
  }
  if (login == SSH_AUTH_DENIED || login == SSH_AUTH_PARTIAL) {
    const bool by_key = config_.method == config::TunnelMethod::ssh_key;
    throw TunnelError(by_key ? Hop::key_rejected : Hop::password_rejected,
                      login == SSH_AUTH_PARTIAL
                          ? "the bastion asks for a further authentication method"
                          : (by_key ? "the key was refused" : "the password was refused"));
  }
  if (login != SSH_AUTH_SUCCESS)
    throw TunnelError(Hop::handshake_failed, lower_first(ssh_get_error(session.get())));

  Channel channel(ssh_channel_new(session.get()));
  if (!channel)
    throw SystemError("Could not allocate an SSH channel.", ssh_get_error(session.get()));
  const int opened =
      ssh_channel_open_forward(channel.get(), target_host_.c_str(), target_port_, "127.0.0.1", 0);
  if (opened != SSH_OK)
    throw channel_failure(session.get(), opened, timeout_seconds_);

  FileDescriptor listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (listener.get() < 0 ||
      ::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener.get(), 1) != 0 ||
      ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw SystemError("Could not listen on 127.0.0.1 for the SSH tunnel.", system_text(errno));

  long data_timeout = kDataTimeoutSeconds;
  ssh_options_set(session.get(), SSH_OPTIONS_TIMEOUT, &data_timeout);
  return std::unique_ptr<ForwardedConnection>(new ForwardedConnection(
      session.release(), channel.release(), listener.release(), ntohs(address.sin_port),
      fmt::format("{} through {}", target_, bastion_)));
}

} // namespace pgdest::tunnel
