// Encodes one record's whole data object into `_airbyte_data` (the raw layout).
#include "pgdest/encode/raw_record_encoder.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <string_view>
#include <utility>

#include "pgdest/encode/change.hpp"
#include "pgdest/encode/json_writer.hpp"

namespace pgdest::encode {

namespace ondemand = simdjson::ondemand;

namespace {

constexpr std::string_view kNull = "null";

} // namespace

RawRecordEncoder::RawRecordEncoder(std::int64_t generation_id, std::int64_t sync_id)
    : RowEncoder({"_airbyte_data"}, generation_id, sync_id) {}

void RawRecordEncoder::fill(ondemand::object data) {
  if (data_.capacity() > CopyBuffer::kMaxKeptCapacity) {
    data_ = std::string(); // a huge record's memory goes, rather than staying for small ones
  }
  data_.clear();
  members_.clear();
  changes_.clear();
  rejected_.clear();
  has_rejected_ = false;
  data_ += '{';
  for (auto field_result : data) {
    ondemand::field field;
    if (const auto error = std::move(field_result).get(field)) {
      throw_malformed(error);
    }
    if (!members_.empty()) {
      data_ += ',';
    }
    read_member(field);
  }
  data_ += '}';
  if (data_.size() > max_data_bytes) {
    fit_size_limit();
  }
}

// Written as it came, but for what jsonb cannot hold: a NUL is dropped from a key or string
// (TRUNCATED), and a value with a lone surrogate or a number beyond numeric's range becomes null
// (NULLED), as in a typed jsonb column.
void RawRecordEncoder::read_member(ondemand::field& field) {
  Member member{data_.size(), 0, 0, false, field.value()};
  const JsonWriteResult key = write_json_key(field, data_);
  if (key.malformed) {
    throw_malformed(key);
  }
  data_ += ':';
  member.value = data_.size();
  const JsonWriteResult value = write_json(member.source, data_);
  if (value.malformed) {
    throw_malformed(value);
  }
  const std::string_view key_json(data_.data() + member.key, member.value - 1 - member.key);
  if (value.lone_surrogate || value.number_beyond_numeric) {
    reject(member, key_json, ChangeKind::NULLED,
           value.lone_surrogate ? ChangeReason::DESTINATION_SERIALIZATION_ERROR
                                : ChangeReason::DESTINATION_FIELD_SIZE_LIMITATION);
    data_.resize(member.value);
    data_ += kNull;
  } else if (key.nul_removed || key.lone_surrogate || value.nul_removed) {
    reject(member, key_json, ChangeKind::TRUNCATED, ChangeReason::DESTINATION_SERIALIZATION_ERROR);
  }
  member.end = data_.size();
  members_.push_back(member);
}

void RawRecordEncoder::reject(Member& member, std::string_view key_json, ChangeKind change,
                              ChangeReason reason) {
  if (!changes_.empty()) {
    changes_ += ',';
  }
  // The value is read through already: its text is found from where it starts.
  const std::string_view original = written_json(member.source);
  if (original.empty()) {
    throw_malformed(simdjson::TAPE_ERROR);
  }
  append_change_json(key_json, change, reason, changes_);
  rejected_.push_back({change, reason,
                       unescape_json_string(key_json.substr(1, key_json.size() - 2)), original});
  has_rejected_ = true;
}

// A record too large for one jsonb value keeps its keys; its largest values become null until
// it fits, each recorded as NULLED for its size.
void RawRecordEncoder::fit_size_limit() {
  std::vector<std::size_t> largest_first(members_.size());
  std::iota(largest_first.begin(), largest_first.end(), 0);
  std::stable_sort(largest_first.begin(), largest_first.end(), [this](auto a, auto b) {
    return members_[a].end - members_[a].value > members_[b].end - members_[b].value;
  });
  std::size_t size = data_.size();
  for (const std::size_t index : largest_first) {
    Member& member = members_[index];
    const std::size_t value_size = member.end - member.value;
    if (size <= max_data_bytes || value_size <= kNull.size()) {
      break;
    }
    size -= value_size - kNull.size();
    member.too_large = true;
    reject(member, std::string_view(data_).substr(member.key, member.value - 1 - member.key),
           ChangeKind::NULLED, ChangeReason::DESTINATION_FIELD_SIZE_LIMITATION);
  }
  if (size > max_data_bytes) {
    throw MalformedJson("record data has so many properties that their names alone exceed the " +
                        std::to_string(max_data_bytes) +
                        " bytes a jsonb value holds; split such records at the source");
  }
  // Every member moves left or stays, so the text is rewritten in place, front to back.
  char* text = data_.data();
  std::size_t at = 1; // after '{'
  for (std::size_t i = 0; i < members_.size(); ++i) {
    const Member& member = members_[i];
    if (i > 0) {
      text[at++] = ',';
    }
    const std::size_t kept = (member.too_large ? member.value : member.end) - member.key;
    std::memmove(text + at, text + member.key, kept);
    at += kept;
    if (member.too_large) {
      std::memcpy(text + at, kNull.data(), kNull.size());
      at += kNull.size();
    }
  }
  text[at++] = '}';
  data_.resize(at);
}

void RawRecordEncoder::rejected_values(std::vector<RejectedValue>& out) const {
  for (const Rejected& rejected : rejected_) {
    out.push_back({rejected.field, rejected.change, rejected.reason, rejected.original});
  }
}

void RawRecordEncoder::write_fields(CopyBuffer& out) const {
  out.append_int32(static_cast<std::int32_t>(1 + data_.size()));
  out.append_byte(kJsonbVersion);
  out.append(data_);
}

void RawRecordEncoder::write_changes(bool need_comma, CopyBuffer& out) const {
  if (changes_.empty()) {
    return;
  }
  if (need_comma) {
    out.append(",");
  }
  out.append(changes_);
}

} // namespace pgdest::encode
