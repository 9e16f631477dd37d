// Line splitting of stdin with in-place simdjson padding and an idle timeout.
#include "pgdest/protocol/line_reader.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include <simdjson.h>

#include "pgdest/error.hpp"

namespace pgdest::protocol {

LineReader::LineReader(int fd, std::size_t chunk_bytes) : fd_(fd), chunk_bytes_(chunk_bytes) {
  resize(chunk_bytes);
}

void LineReader::resize(std::size_t capacity) {
  void* resized = std::realloc(buffer_.get(), capacity + simdjson::SIMDJSON_PADDING);
  if (resized == nullptr)
    throw std::bad_alloc();
  static_cast<void>(buffer_.release());
  buffer_.reset(static_cast<char*>(resized));
  capacity_ = capacity;
}

ReadResult LineReader::next(Line& line, std::chrono::milliseconds wait) {
  for (;;) {
    const char* start = buffer_.get() + begin_;
    std::size_t available = end_ - begin_;
    const void* newline = std::memchr(start + scanned_, '\n', available - scanned_);
    if (newline == nullptr && eof_ && available > 0)
      newline = start + available; // last line, no '\n'
    if (newline != nullptr) {
      std::size_t length = static_cast<std::size_t>(static_cast<const char*>(newline) - start);
      std::size_t consumed = length < available ? length + 1 : length;
      std::size_t text_length = length;
      if (text_length > 0 && start[text_length - 1] == '\r')
        --text_length;
      ++line_number_;
      begin_ += consumed;
      scanned_ = 0;
      line.text = std::string_view(start, text_length);
      line.number = line_number_;
      line.capacity =
          capacity_ + simdjson::SIMDJSON_PADDING - static_cast<std::size_t>(start - buffer_.get());
      return ReadResult::line;
    }
    if (eof_)
      return ReadResult::end_of_input;
    scanned_ = available;
    if (!fill(wait))
      return ReadResult::idle;
  }
}

void LineReader::make_room() {
  std::size_t available = end_ - begin_;
  if (begin_ > 0 && (available < capacity_ / 2 || end_ == capacity_)) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, available);
    begin_ = 0;
    end_ = available;
  }
  if (end_ == capacity_) { // one line longer than the buffer: grow
    resize(capacity_ * 2);
  } else if (capacity_ > chunk_bytes_ && available < chunk_bytes_ / 2 && begin_ == 0) {
    // After a huge line, give the memory back.
    resize(chunk_bytes_);
  }
}

bool LineReader::fill(std::chrono::milliseconds wait) {
  // Only lines handed out earlier point into the buffer, and the caller is done with them.
  make_room();
  pollfd fd{fd_, POLLIN, 0};
  int ready = ::poll(&fd, 1, static_cast<int>(wait.count()));
  if (ready == 0)
    return false;
  // At most a chunk per read: a grown buffer's spare room is only touched (made resident) as a
  // huge line needs it, rather than filled with the lines after it.
  const std::size_t room = std::min(capacity_ - end_, chunk_bytes_);
  for (;;) {
    ssize_t n = ::read(fd_, buffer_.get() + end_, room);
    if (n > 0) {
      end_ += static_cast<std::size_t>(n);
      bytes_read_ += static_cast<std::size_t>(n);
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return true;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN)
      return false;
    throw SystemError("Could not read the input messages from stdin", std::strerror(errno));
  }
}

} // namespace pgdest::protocol
