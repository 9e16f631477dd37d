#pragma once
// The fuzz input as a file: the readers under test take a file descriptor or a path, as they do
// in the binary, so the input is written to an anonymous in-memory file.
#include <cstddef>
#include <cstdint>
#include <string>

namespace pgdest::fuzz {

class MemoryFile {
public:
  MemoryFile();
  ~MemoryFile();
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  // Replaces the content with `size` bytes of `data`; the descriptor reads from the start again.
  void assign(const std::uint8_t* data, std::size_t size);

  int fd() const { return fd_; }
  // A path that opens the same content (/proc/self/fd/N).
  const std::string& path() const { return path_; }

private:
  int fd_;
  std::string path_;
};

} // namespace pgdest::fuzz
