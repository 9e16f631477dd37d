#pragma once
// Test helper: reads big-endian values and COPY fields back out of encoded bytes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pgdest::encode::testing {

// Sequential big-endian reader over a byte string; throws when reading past the end.
class BinaryReader {
public:
  explicit BinaryReader(std::string_view bytes) : bytes_(bytes) {}

  std::uint64_t read_unsigned(std::size_t size) {
    if (at_ + size > bytes_.size()) {
      throw std::out_of_range("read past the end of the buffer");
    }
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < size; ++i) {
      value = (value << 8) | static_cast<unsigned char>(bytes_[at_ + i]);
    }
    at_ += size;
    return value;
  }
  std::int16_t int16() { return static_cast<std::int16_t>(read_unsigned(2)); }
  std::int32_t int32() { return static_cast<std::int32_t>(read_unsigned(4)); }
  std::int64_t int64() { return static_cast<std::int64_t>(read_unsigned(8)); }
  std::string bytes(std::size_t size) {
    if (at_ + size > bytes_.size()) {
      throw std::out_of_range("read past the end of the buffer");
    }
    std::string out(bytes_.substr(at_, size));
    at_ += size;
    return out;
  }
  // One COPY field: nullopt for NULL, else its payload.
  std::optional<std::string> field() {
    const std::int32_t length = int32();
    if (length < 0) {
      return std::nullopt;
    }
    return bytes(static_cast<std::size_t>(length));
  }
  bool at_end() const { return at_ == bytes_.size(); }
  std::size_t position() const { return at_; }

private:
  std::string_view bytes_;
  std::size_t at_ = 0;
};

// A binary numeric payload, decoded.
struct DecodedNumeric {
  std::int16_t ndigits = 0;
  std::int16_t weight = 0;
  std::uint16_t sign = 0;
  std::int16_t dscale = 0;
  std::vector<std::int16_t> digits;
};

inline DecodedNumeric decode_numeric(std::string_view payload) {
  BinaryReader reader(payload);
  DecodedNumeric n;
  n.ndigits = reader.int16();
  n.weight = reader.int16();
  n.sign = static_cast<std::uint16_t>(reader.int16());
  n.dscale = reader.int16();
  for (int i = 0; i < n.ndigits; ++i) {
    n.digits.push_back(reader.int16());
  }
  if (!reader.at_end()) {
    throw std::runtime_error("numeric payload longer than its ndigits");
  }
  return n;
}

// Big-endian bytes of `value` in `size` bytes, for building expected payloads.
inline std::string be(std::uint64_t value, std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = size; i-- > 0;) {
    out[i] = static_cast<char>(value & 0xFF);
    value >>= 8;
  }
  return out;
}

} // namespace pgdest::encode::testing
