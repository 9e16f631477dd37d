#pragma once
// The raw layout's encoder (Airbyte's legacy raw tables): a record's whole `data` object goes into
// `_airbyte_data` as it arrived, re-serialised compactly. What PostgreSQL's jsonb cannot hold is
// made storable, per top-level property, and recorded in `_airbyte_meta.changes`.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <simdjson.h>

#include "pgdest/encode/copy_buffer.hpp"
#include "pgdest/encode/row_encoder.hpp"

namespace pgdest::encode {

class RawRecordEncoder final : public RowEncoder {
public:
  RawRecordEncoder(std::int64_t generation_id, std::int64_t sync_id);
  RawRecordEncoder(RawRecordEncoder&&) noexcept = default;
  RawRecordEncoder& operator=(RawRecordEncoder&&) noexcept = default;

  // Reads and checks the whole object (throws MalformedJson).
  void fill(simdjson::ondemand::object data) override;

  void rejected_values(std::vector<RejectedValue>& out) const override;

  // The largest `_airbyte_data` text stored; a larger record loses its largest values (jsonb's
  // 255 MiB limit). Lowered by tests.
  std::size_t max_data_bytes = kMaxJsonbBytes;

private:
  // One top-level property of the current record, as positions in data_: its key (a JSON
  // string) starts at `key`, its value at `value` (after the ':'), and it ends before `end`.
  struct Member {
    std::size_t key;
    std::size_t value;
    std::size_t end;
    bool too_large;                   // the value is to be left out (null) for the record to fit
    simdjson::ondemand::value source; // where the value is in the input
  };

  // A change made to one member: the member's name as the change gives it, its value's text.
  struct Rejected {
    ChangeKind change;
    ChangeReason reason;
    std::string field;
    std::string_view original;
  };

  void read_member(simdjson::ondemand::field& field);
  void reject(Member& member, std::string_view key_json, ChangeKind change, ChangeReason reason);
  void fit_size_limit();
  void write_fields(CopyBuffer& out) const override;
  void write_changes(bool need_comma, CopyBuffer& out) const override;

  std::string data_;               // the current record's data as compact JSON
  std::vector<Member> members_;    // of the current record, in order
  std::string changes_;            // the current record's changes, comma-separated
  std::vector<Rejected> rejected_; // the same changes, one per member
};

} // namespace pgdest::encode
