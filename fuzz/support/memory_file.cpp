// An anonymous in-memory file (memfd) that holds the current fuzz input.
#include "memory_file.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace pgdest::fuzz {
namespace {

[[noreturn]] void fail(const char* what) {
  std::perror(what);
  std::abort();
}

} // namespace

MemoryFile::MemoryFile()
    : fd_(memfd_create("fuzz-input", MFD_CLOEXEC)), path_("/proc/self/fd/" + std::to_string(fd_)) {
  if (fd_ < 0)
    fail("memfd_create");
}

MemoryFile::~MemoryFile() {
  close(fd_);
}

void MemoryFile::assign(const std::uint8_t* data, std::size_t size) {
  if (ftruncate(fd_, 0) != 0)
    fail("ftruncate");
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
    if (n <= 0)
      fail("pwrite");
    done += static_cast<std::size_t>(n);
  }
  if (lseek(fd_, 0, SEEK_SET) != 0)
    fail("lseek");
}

} // namespace pgdest::fuzz
