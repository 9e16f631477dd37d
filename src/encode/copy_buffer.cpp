// Growth, length patching and the fixed header/trailer of binary COPY data.
#include "pgdest/encode/copy_buffer.hpp"

#include <limits>
#include <new>
#include <stdexcept>

namespace pgdest::encode {

namespace {

constexpr std::size_t kInitialCapacity = 64 * 1024;
constexpr std::size_t kMaxFieldBytes =
    static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max());

constexpr char kHeader[] = {'P',  'G', 'C', 'O', 'P', 'Y', '\n', '\xFF', '\r', '\n',
                            '\0', 0,   0,   0,   0,   0,   0,    0,      0};
constexpr char kTrailer[] = {'\xFF', '\xFF'};

} // namespace

std::string_view CopyBuffer::header() {
  return {kHeader, sizeof kHeader};
}

std::string_view CopyBuffer::trailer() {
  return {kTrailer, sizeof kTrailer};
}

void CopyBuffer::put_bytes(std::string_view bytes) {
  if (bytes.size() > kMaxFieldBytes) {
    throw std::length_error("COPY field longer than 2 GiB");
  }
  append_int32(static_cast<std::int32_t>(bytes.size()));
  append(bytes);
}

void CopyBuffer::end_field(FieldStart start) {
  const std::size_t length = size_ - start.position - 4;
  if (length > kMaxFieldBytes) {
    throw std::length_error("COPY field longer than 2 GiB");
  }
  const auto value = static_cast<std::uint32_t>(length);
  char* at = data_.get() + start.position;
  at[0] = static_cast<char>(value >> 24);
  at[1] = static_cast<char>((value >> 16) & 0xFFu);
  at[2] = static_cast<char>((value >> 8) & 0xFFu);
  at[3] = static_cast<char>(value & 0xFFu);
}

void CopyBuffer::rollback(std::size_t mark) {
  if (mark < size_) {
    size_ = mark;
  }
}

void CopyBuffer::erase(std::size_t begin, std::size_t end) {
  if (begin >= end || end > size_) {
    return;
  }
  std::memmove(data_.get() + begin, data_.get() + end, size_ - end);
  size_ -= end - begin;
}

void CopyBuffer::grow(std::size_t count) {
  std::size_t wanted = capacity_ == 0 ? kInitialCapacity : capacity_ * 2;
  while (wanted - size_ < count) {
    wanted *= 2;
  }
  void* bigger = std::realloc(data_.get(), wanted);
  if (bigger == nullptr) {
    throw std::bad_alloc();
  }
  static_cast<void>(data_.release());
  data_.reset(static_cast<char*>(bigger));
  capacity_ = wanted;
}

} // namespace pgdest::encode
