#pragma once
// UUID version 7 text (RFC 9562): time-ordered, 74 random bits, no allocation per call.
#include <array>
#include <cstddef>
#include <cstdint>

namespace pgdest::encode {

// Not thread-safe: one generator per encoder.
class UuidGenerator {
public:
  // Length of the text form, e.g. "018f3c1e-7b2a-7c4d-9e8f-0123456789ab".
  static constexpr std::size_t kTextSize = 36;

  // Seeds the PRNG (xoshiro256**) once from std::random_device.
  UuidGenerator();
  // A fixed seed, for reproducible tests; an all-zero seed is replaced by a non-zero one.
  explicit UuidGenerator(const std::array<std::uint64_t, 4>& seed);

  // Writes the 36 lower-case characters of a v7 UUID for the current time to `out`.
  void write_v7(char* out);
  // Same, with the given Unix time in milliseconds (only its low 48 bits are used).
  void write_v7(std::uint64_t unix_ms, char* out);

private:
  std::uint64_t next();

  std::array<std::uint64_t, 4> state_{};
};

} // namespace pgdest::encode
