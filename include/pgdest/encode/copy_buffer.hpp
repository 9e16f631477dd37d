#pragma once
// Rows of PostgreSQL's binary COPY format, appended to one growable byte buffer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

namespace pgdest::encode {

// Where a field's int32 length was reserved; returned by begin_field(), passed to end_field().
struct FieldStart {
  std::size_t position;
};

// Binary COPY rows for one table (no header, no trailer). All integers are written big-endian.
// Capacity is kept across clear(), so a warm buffer does not allocate; a buffer grown past
// kMaxKeptCapacity by a huge record gives its memory back instead.
class CopyBuffer {
public:
  // Far above the 4 MiB chunks rows go out in: only a huge record grows a buffer this large.
  static constexpr std::size_t kMaxKeptCapacity = 64u << 20;

  CopyBuffer() = default;
  // A moved-from buffer is empty, with no capacity.
  CopyBuffer(CopyBuffer&& other) noexcept
      : data_(std::move(other.data_)), size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  CopyBuffer& operator=(CopyBuffer&& other) noexcept {
    data_ = std::move(other.data_);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    return *this;
  }
  CopyBuffer(const CopyBuffer&) = delete;
  CopyBuffer& operator=(const CopyBuffer&) = delete;

  // The 19-byte file header: signature, int32 flags 0, int32 header-extension length 0.
  static std::string_view header();
  // The file trailer: int16 -1.
  static std::string_view trailer();

  // Starts a row of `field_count` fields.
  void begin_row(std::int16_t field_count) { append_int16(field_count); }

  // Whole fields: the int32 length, then the value.
  void put_null() { append_int32(-1); }
  void put_int16(std::int16_t value) {
    append_int32(2);
    append_int16(value);
  }
  void put_int32(std::int32_t value) {
    append_int32(4);
    append_int32(value);
  }
  void put_int64(std::int64_t value) {
    append_int32(8);
    append_int64(value);
  }
  void put_bool(bool value) {
    append_int32(1);
    append_byte(value ? 1 : 0);
  }
  // A field holding `bytes` as is; throws std::length_error beyond an int32 length.
  void put_bytes(std::string_view bytes);

  // A field written in pieces: begin_field(), append_*(), then end_field() patches the length.
  FieldStart begin_field() {
    FieldStart start{size_};
    append_int32(0);
    return start;
  }
  // Sets the length of the field started at `start` to the bytes appended since.
  void end_field(FieldStart start);

  // Raw appends (inside a field, or a row's field count).
  void append_byte(std::uint8_t value) {
    *tail(1) = static_cast<char>(value);
    size_ += 1;
  }
  void append_int16(std::int16_t value) { store_be(static_cast<std::uint16_t>(value)); }
  void append_uint16(std::uint16_t value) { store_be(value); }
  void append_int32(std::int32_t value) { store_be(static_cast<std::uint32_t>(value)); }
  void append_int64(std::int64_t value) { store_be(static_cast<std::uint64_t>(value)); }
  void append(std::string_view bytes) {
    if (!bytes.empty()) {
      std::memcpy(tail(bytes.size()), bytes.data(), bytes.size());
      size_ += bytes.size();
    }
  }
  // Appends `count` bytes left for the caller to fill; the pointer is valid until the next append.
  char* append_uninitialized(std::size_t count) {
    char* at = tail(count);
    size_ += count;
    return at;
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const char* data() const { return data_.get(); }
  std::string_view view() const { return {data_.get(), size_}; }
  std::size_t capacity() const { return capacity_; }
  // Forgets the content; keeps the capacity up to kMaxKeptCapacity, frees a larger one.
  void clear() {
    size_ = 0;
    if (capacity_ > kMaxKeptCapacity) {
      data_.reset();
      capacity_ = 0;
    }
  }
  // Makes sure `bytes` more can be appended without reallocating.
  void reserve(std::size_t bytes) { tail(bytes); }

  // A position to return to with rollback() (e.g. to drop a partly written row).
  std::size_t mark() const { return size_; }
  // Drops everything appended after `mark`.
  void rollback(std::size_t mark);
  // Drops the bytes from `begin` up to `end` (marks), moving the bytes after them down.
  void erase(std::size_t begin, std::size_t end);

private:
  char* tail(std::size_t count) {
    if (capacity_ - size_ < count) {
      grow(count);
    }
    return data_.get() + size_;
  }
  void grow(std::size_t count);

  template <typename Unsigned> void store_be(Unsigned value) {
    char* at = tail(sizeof(Unsigned));
    for (std::size_t i = sizeof(Unsigned); i-- > 0;) {
      at[i] = static_cast<char>(value & 0xFFu);
      value = static_cast<Unsigned>(value >> 8);
    }
    size_ += sizeof(Unsigned);
  }

  struct Free {
    void operator()(char* data) const { std::free(data); }
  };

  // malloc'd so that growth is a realloc: the binary keeps blocks of 1 MiB and more in their own
  // mappings (main.cpp), which realloc moves with mremap instead of copying, so a huge row never
  // exists twice while its buffer grows.
  std::unique_ptr<char, Free> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

} // namespace pgdest::encode
