#pragma once
// UUID version 7 text (RFC 9562): time-ordered, 74 random bits, no allocation per call.
// Monotonic per generator (RFC 9562 §6.2, method 2): within a millisecond, or if the clock steps
// back, the 74 bits count up from the last value, so a stream's ids sort in arrival order.
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
  // Same, with the given Unix time in milliseconds (only its low 48 bits are used); a time before
  // the last one used is taken as the last one.
  void write_v7(std::uint64_t unix_ms, char* out);

private:
  std::uint64_t next();
  void advance(std::uint64_t unix_ms);

  std::array<std::uint64_t, 4> state_{};
  // The last UUID's fields: 48-bit time, 12-bit rand_a, 62-bit rand_b.
  std::uint64_t last_ms_ = 0;
  std::uint64_t rand_a_ = 0;
  std::uint64_t rand_b_ = 0;
  bool started_ = false;
};

} // namespace pgdest::encode
