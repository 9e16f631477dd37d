#pragma once
// Reads JSON lines from a file descriptor into one growing buffer, leaving simdjson's padding
// readable after every line so lines can be parsed in place.
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <string_view>

namespace pgdest::protocol {

struct Line {
  std::string_view text;    // without the newline
  std::size_t number = 0;   // 1-based line number in the input
  std::size_t capacity = 0; // readable bytes from text.data(), at least text.size() + padding
};

enum class ReadResult { line, idle, end_of_input };

class LineReader {
public:
  explicit LineReader(int fd, std::size_t chunk_bytes = 8u << 20);

  // The next line; `idle` when nothing arrived within `wait` (so the caller can act on timers).
  ReadResult next(Line& line, std::chrono::milliseconds wait);

  std::size_t bytes_read() const { return bytes_read_; }

private:
  bool fill(std::chrono::milliseconds wait); // false on idle
  void make_room();
  void resize(std::size_t capacity);

  struct Free {
    void operator()(char* data) const { std::free(data); }
  };

  int fd_;
  std::size_t chunk_bytes_;
  // malloc'd, so a huge line grows and shrinks it by realloc, which moves the binary's large
  // blocks (their own mappings, see main.cpp) with mremap: the line is never held twice.
  std::unique_ptr<char, Free> buffer_;
  std::size_t capacity_ = 0; // usable bytes, padding excluded
  std::size_t begin_ = 0;    // first unconsumed byte
  std::size_t end_ = 0;      // one past the last byte read
  std::size_t scanned_ = 0;  // bytes after begin_ known to hold no newline
  std::size_t line_number_ = 0;
  std::size_t bytes_read_ = 0;
  bool eof_ = false;
};

} // namespace pgdest::protocol
