// UUID v7 from the wall clock and a xoshiro256** stream.
#include "pgdest/encode/uuid_generator.hpp"

#include <chrono>
#include <random>

namespace pgdest::encode {

namespace {

std::uint64_t rotate_left(std::uint64_t value, int bits) {
  return (value << bits) | (value >> (64 - bits));
}

// splitmix64: spreads a seed over the xoshiro state.
std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Writes `value`'s low `digits` nibbles as lower-case hex, most significant first.
void write_hex(std::uint64_t value, int digits, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) {
    out[i] = kHex[value & 0x0F];
    value >>= 4;
  }
}

} // namespace

UuidGenerator::UuidGenerator() {
  std::random_device device;
  std::uint64_t seed = 0;
  for (auto& word : state_) {
    seed = (static_cast<std::uint64_t>(device()) << 32) ^ device() ^ seed;
    word = splitmix64(seed);
  }
}

UuidGenerator::UuidGenerator(const std::array<std::uint64_t, 4>& seed) : state_(seed) {
  if (state_[0] == 0 && state_[1] == 0 && state_[2] == 0 && state_[3] == 0) {
    std::uint64_t fallback = 1;
    for (auto& word : state_) {
      word = splitmix64(fallback);
    }
  }
}

std::uint64_t UuidGenerator::next() {
  const std::uint64_t result = rotate_left(state_[1] * 5, 7) * 9;
  const std::uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotate_left(state_[3], 45);
  return result;
}

void UuidGenerator::write_v7(char* out) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
  write_v7(static_cast<std::uint64_t>(ms), out);
}

void UuidGenerator::advance(std::uint64_t unix_ms) {
  constexpr std::uint64_t kTimeMask = (1ULL << 48) - 1;
  constexpr std::uint64_t kRandBLimit = 1ULL << 62;
  unix_ms &= kTimeMask;
  if (!started_ || unix_ms > last_ms_) {
    started_ = true;
    last_ms_ = unix_ms;
    // The top bit of rand_a starts clear: room for 2^73 more ids within this millisecond.
    rand_a_ = next() >> 53;
    rand_b_ = next() >> 2;
    return;
  }
  if (++rand_b_ == kRandBLimit) {
    rand_b_ = 0;
    if (++rand_a_ == 0x1000) { // 2^74 ids in one millisecond: borrow the next one
      rand_a_ = 0;
      last_ms_ = (last_ms_ + 1) & kTimeMask;
    }
  }
}

void UuidGenerator::write_v7(std::uint64_t unix_ms, char* out) {
  advance(unix_ms);
  const std::uint64_t variant_and_b = 0x8000000000000000ULL | rand_b_; // "10" + 62 bits
  write_hex(last_ms_ >> 16, 8, out);
  out[8] = '-';
  write_hex(last_ms_ & 0xFFFF, 4, out + 9);
  out[13] = '-';
  write_hex(0x7000 | rand_a_, 4, out + 14);
  out[18] = '-';
  write_hex(variant_and_b >> 48, 4, out + 19);
  out[23] = '-';
  write_hex(variant_and_b & 0xFFFFFFFFFFFFULL, 12, out + 24);
}

} // namespace pgdest::encode
