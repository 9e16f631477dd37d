#pragma once
// Which rows of an append_dedup stream the commit's DELETE must look at. Every row is copied
// straight into the table; at commit, the keys queued here are looked up in the table's key
// index and all but the newest row of each are deleted. A key needs a look only if the table may
// hold another row with it: the table had rows when the sync began, or the key came before in
// this sync, or the row is a CDC deletion to carry out.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgdest/encode/copy_buffer.hpp"
#include "pgdest/encode/record_encoder.hpp"
#include "pgdest/schema/column.hpp"

namespace pgdest::load {

// The keys seen so far in this sync, of all streams: a blocked Bloom filter of fixed size. It
// never forgets a key; it may claim to know one it never saw (with the default 16 MiB, about 1 in
// 500,000 at 1M keys, 1 in 200 at 10M, 1 in 3 at 50M), which only costs that key a lookup.
class SeenKeys {
public:
  explicit SeenKeys(std::size_t bytes = 16u << 20);
  ~SeenKeys();
  SeenKeys(const SeenKeys&) = delete;
  SeenKeys& operator=(const SeenKeys&) = delete;

  // True when `hash` may have been added before; adds it.
  bool check_and_add(std::uint64_t hash);

  // A 64-bit hash of `bytes`, continuing from `seed` (chain calls to hash several fields).
  static std::uint64_t hash(std::string_view bytes, std::uint64_t seed);

private:
  void* memory_ = nullptr;
  std::uint64_t* words_ = nullptr; // 64-byte blocks of 8 words
  std::uint64_t block_mask_ = 0;
};

// True when two values of `type` are equal in PostgreSQL exactly when their binary COPY bytes
// are (not so for numeric, where 1.0 = 1.00, or jsonb).
bool bytes_decide_equality(schema::ColumnType type);

// Where the DELETE places one row among its key's rows: by the cursor (newest first, NULL
// last), then the extraction time, then the raw id.
struct RowVersion {
  std::string_view cursor; // the cursor's binary COPY field; empty when the stream has none
  std::int64_t emitted_at_ms = 0;
};

// True when the DELETE would keep `later` rather than `earlier`, two rows of one key that this
// sync wrote in that order (so `later` has the larger raw id), and their bytes show it for
// certain: equal cursors, or cursors of a type whose binary value orders as PostgreSQL does.
// False when `earlier` wins, or when only the server can tell (text sorts by its collation).
bool later_row_wins(std::optional<schema::ColumnType> cursor_type, const RowVersion& earlier,
                    const RowVersion& later);

// One dedup stream's keys for the DELETE of the open transaction, as binary COPY rows of its
// key columns, per lane: the stream's rows are spread over `lanes` connections by key, so that
// all rows of a key go through one connection, in order.
class DedupKeys {
public:
  // `key_columns` and `deleted_at_column` index the encoder's user columns; `deleted_at_column`
  // is set when CDC deletions are carried out. `seen` is null when every key needs a look (the
  // table had rows, or its key values cannot be compared by their bytes); `stream` tells this
  // stream's keys apart from other streams' in `seen`.
  DedupKeys(std::vector<std::size_t> key_columns, std::optional<std::size_t> deleted_at_column,
            SeenKeys* seen, std::uint64_t stream, std::size_t lanes = 1);

  // After the encoder read a record (fill()): returns the lane of the record's key, and queues the
  // key there if it needs a look.
  std::size_t add(const encode::RecordEncoder& encoder);

  // The key fields of the record the encoder holds, joined (equal bytes are an equal key for the
  // DELETE, NULL parts included: it matches those too).
  void read_key(const encode::RecordEncoder& encoder, std::string& key) const;
  // Whether the record the encoder holds is a CDC deletion the DELETE carries out.
  bool is_deletion(const encode::RecordEncoder& encoder) const;

  // Takes back the key add() queued last, on `lane`: it needs no entry of its own (the row before
  // it was withdrawn unsent, and that row's entry of the same key stays queued, or it was the
  // key's first of the sync).
  void forget_last(std::size_t lane);

  encode::CopyBuffer& rows(std::size_t lane = 0) { return rows_[lane]; }
  std::uint64_t queued() const { return queued_; }
  // The bytes of the last key queued.
  std::size_t last_key_bytes() const { return last_key_bytes_; }

private:
  std::vector<std::size_t> key_columns_;
  std::optional<std::size_t> deleted_at_column_;
  SeenKeys* seen_;
  std::uint64_t seed_;
  std::vector<encode::CopyBuffer> rows_;
  std::uint64_t queued_ = 0;
  std::size_t last_key_bytes_ = 0;
};

} // namespace pgdest::load
