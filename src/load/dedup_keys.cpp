// Keys of dedup rows that the commit's DELETE must look up, and the filter of keys seen before.
#include "pgdest/load/dedup_keys.hpp"

#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace pgdest::load {
namespace {

constexpr std::size_t kBlockBytes = 64; // one cache line: a lookup touches one line
constexpr std::size_t kWordsPerBlock = kBlockBytes / sizeof(std::uint64_t);
constexpr int kBitsPerKey = 4;

std::uint64_t mix(std::uint64_t value) {
  value ^= value >> 32;
  value *= 0xD6E8FEB86659FD93ULL;
  value ^= value >> 32;
  value *= 0xD6E8FEB86659FD93ULL;
  value ^= value >> 32;
  return value;
}

// The signed big-endian integer of a binary COPY field of `bytes` bytes (its length first).
std::int64_t field_integer(std::string_view field, std::size_t bytes) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < bytes; ++i)
    value = value << 8 | static_cast<unsigned char>(field[4 + i]);
  const std::uint64_t sign = std::uint64_t{1} << (8 * bytes - 1);
  return static_cast<std::int64_t>((value ^ sign) - sign);
}

// The width of a cursor type whose binary value is one signed integer ordered as PostgreSQL
// orders the type; 0 for the others.
std::size_t ordered_integer_bytes(schema::ColumnType type) {
  switch (type) {
  case schema::ColumnType::bigint:
  case schema::ColumnType::timestamptz:
  case schema::ColumnType::timestamp:
  case schema::ColumnType::time:
    return 8;
  case schema::ColumnType::date:
    return 4;
  case schema::ColumnType::boolean:
    return 1;
  default:
    return 0;
  }
}

bool is_null_field(std::string_view field) {
  return field.size() == 4 && field == std::string_view("\xFF\xFF\xFF\xFF", 4);
}

} // namespace

bool later_row_wins(std::optional<schema::ColumnType> cursor_type, const RowVersion& earlier,
                    const RowVersion& later) {
  if (cursor_type && earlier.cursor != later.cursor) {
    const bool earlier_null = is_null_field(earlier.cursor);
    const bool later_null = is_null_field(later.cursor);
    if (earlier_null || later_null)
      return earlier_null; // NULL sorts last
    const std::size_t bytes = ordered_integer_bytes(*cursor_type);
    if (bytes == 0 || earlier.cursor.size() != 4 + bytes || later.cursor.size() != 4 + bytes)
      return false;
    return field_integer(later.cursor, bytes) > field_integer(earlier.cursor, bytes);
  }
  return later.emitted_at_ms >= earlier.emitted_at_ms; // a tie goes to the larger raw id
}

SeenKeys::SeenKeys(std::size_t bytes) {
  std::size_t blocks = 1;
  while (blocks * 2 * kBlockBytes <= bytes)
    blocks *= 2;
  // calloc: pages stay untouched, and out of the resident set, until a key lands in them.
  memory_ = std::calloc(blocks * kBlockBytes + kBlockBytes, 1);
  if (memory_ == nullptr)
    throw std::bad_alloc();
  auto address = reinterpret_cast<std::uintptr_t>(memory_);
  address = (address + kBlockBytes - 1) & ~static_cast<std::uintptr_t>(kBlockBytes - 1);
  words_ = reinterpret_cast<std::uint64_t*>(address);
  block_mask_ = blocks - 1;
}

SeenKeys::~SeenKeys() {
  std::free(memory_);
}

bool SeenKeys::check_and_add(std::uint64_t hash) {
  // The high bits pick the block, the low bits the bits within it.
  std::uint64_t* block = words_ + ((hash >> 40) & block_mask_) * kWordsPerBlock;
  bool seen = true;
  for (int i = 0; i < kBitsPerKey; ++i) {
    const auto bit = static_cast<unsigned>((hash >> (9 * i)) & 511u);
    const std::uint64_t mask = 1ULL << (bit & 63u);
    std::uint64_t& word = block[bit >> 6];
    seen = seen && (word & mask) != 0;
    word |= mask;
  }
  return seen;
}

std::uint64_t SeenKeys::hash(std::string_view bytes, std::uint64_t seed) {
  std::uint64_t state = mix(seed ^ (bytes.size() * 0x9E3779B97F4A7C15ULL));
  std::size_t at = 0;
  for (; at + 8 <= bytes.size(); at += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, bytes.data() + at, 8);
    state = mix(state ^ word) + 0x9E3779B97F4A7C15ULL;
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, bytes.data() + at, bytes.size() - at);
  return mix(state ^ tail ^ 0xA0761D6478BD642FULL);
}

bool bytes_decide_equality(schema::ColumnType type) {
  switch (type) {
  case schema::ColumnType::numeric:
  case schema::ColumnType::jsonb:
    return false;
  default:
    return true;
  }
}

DedupKeys::DedupKeys(std::vector<std::size_t> key_columns,
                     std::optional<std::size_t> deleted_at_column, SeenKeys* seen,
                     std::uint64_t stream, std::size_t lanes)
    : key_columns_(std::move(key_columns)), deleted_at_column_(deleted_at_column), seen_(seen),
      seed_(mix(stream + 1)), rows_(lanes) {}

std::size_t DedupKeys::add(const encode::RecordEncoder& encoder) {
  std::uint64_t hash = seed_;
  for (std::size_t column : key_columns_)
    hash = SeenKeys::hash(encoder.field(column), hash);
  // Bits 36-39 are not among those SeenKeys uses.
  const std::size_t lane = ((hash >> 36) & 0xF) % rows_.size();
  // A key is added to `seen` even for a CDC deletion: a later row with it must still look.
  const bool look = seen_ == nullptr || seen_->check_and_add(hash) || is_deletion(encoder);
  if (look) {
    auto& rows = rows_[lane];
    const std::size_t before = rows.size();
    rows.begin_row(static_cast<std::int16_t>(key_columns_.size()));
    for (std::size_t column : key_columns_)
      rows.append(encoder.field(column));
    last_key_bytes_ = rows.size() - before;
    ++queued_;
  }
  return lane;
}

void DedupKeys::read_key(const encode::RecordEncoder& encoder, std::string& key) const {
  key.clear();
  for (std::size_t column : key_columns_)
    key.append(encoder.field(column));
}

bool DedupKeys::is_deletion(const encode::RecordEncoder& encoder) const {
  return deleted_at_column_ && !is_null_field(encoder.field(*deleted_at_column_));
}

void DedupKeys::forget_last(std::size_t lane) {
  auto& rows = rows_[lane];
  rows.rollback(rows.size() - last_key_bytes_);
  --queued_;
}

} // namespace pgdest::load
