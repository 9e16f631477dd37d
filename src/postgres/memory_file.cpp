// In-memory files (memfd_create) that hand certificates and keys to libpq by path.
#include "pgdest/postgres/memory_file.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "pgdest/error.hpp"

namespace pgdest::postgres {

MemoryFile::MemoryFile(const std::string& label, const std::string& content) {
  // Close-on-exec: a child process must not inherit a key.
  fd_ = ::memfd_create(("pgdest-" + label).c_str(), MFD_CLOEXEC);
  if (fd_ < 0)
    throw SystemError(fmt::format("Could not create an in-memory file for the {}: {}", label,
                                  std::strerror(errno)));
  path_ = fmt::format("/proc/self/fd/{}", fd_);
  // A memfd starts as 0777; libpq refuses a key that others could read.
  int failure = ::fchmod(fd_, S_IRUSR | S_IWUSR) == 0 ? 0 : errno;
  const char* data = content.data();
  std::size_t left = content.size();
  while (failure == 0 && left > 0) {
    ssize_t written = ::write(fd_, data, left);
    if (written < 0) {
      if (errno == EINTR)
        continue;
      failure = errno;
      break;
    }
    data += written;
    left -= static_cast<std::size_t>(written);
  }
  if (failure != 0) {
    close_file();
    throw SystemError(fmt::format("Could not write the {} to an in-memory file: {}", label,
                                  std::strerror(failure)));
  }
}

MemoryFile::~MemoryFile() {
  close_file();
}

MemoryFile::MemoryFile(MemoryFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::exchange(other.path_, std::string())) {}

MemoryFile& MemoryFile::operator=(MemoryFile&& other) noexcept {
  if (this != &other) {
    close_file();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::exchange(other.path_, std::string());
  }
  return *this;
}

void MemoryFile::close_file() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
  path_.clear();
}

} // namespace pgdest::postgres
