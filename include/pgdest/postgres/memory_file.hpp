#pragma once
// TLS material for libpq without a file on disk: an anonymous in-memory file, named by a path
// under /proc/self/fd that libpq and OpenSSL open like any other file.
#include <string>

namespace pgdest::postgres {

// An anonymous in-memory file (memfd) readable only by the current user (0600, as libpq demands
// for a key), gone when the object goes away or the process ends, however it ends.
class MemoryFile {
public:
  // Holds `content`; `label` names it in /proc/self/fd listings and in errors. Throws
  // SystemError when the kernel cannot make one.
  MemoryFile(const std::string& label, const std::string& content);
  ~MemoryFile();
  MemoryFile(MemoryFile&& other) noexcept;
  MemoryFile& operator=(MemoryFile&& other) noexcept;
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  // "/proc/self/fd/N": opening it opens the content afresh, from any thread of this process.
  const std::string& path() const { return path_; }

private:
  void close_file();

  int fd_ = -1;
  std::string path_;
};

} // namespace pgdest::postgres
