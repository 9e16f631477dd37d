// The rows of _airbyte_rejected_values: one per value an encoder NULLed or truncated.
#include "pgdest/encode/rejected_value_encoder.hpp"

#include <array>
#include <cstring>
#include <string_view>

#include <openssl/evp.h>

#include "pgdest/error.hpp"

namespace pgdest::encode {
namespace {

constexpr std::size_t kSha256Bytes = 32;

// A text field without NUL characters, which PostgreSQL's text cannot hold (as _airbyte_meta
// names such a field).
void put_text(std::string_view text, CopyBuffer& out) {
  if (std::memchr(text.data(), 0, text.size()) == nullptr) {
    out.put_bytes(text);
    return;
  }
  const FieldStart field = out.begin_field();
  for (const char c : text) {
    if (c != '\0') {
      out.append(std::string_view(&c, 1));
    }
  }
  out.end_field(field);
}

std::array<unsigned char, kSha256Bytes> sha256(std::string_view text) {
  std::array<unsigned char, kSha256Bytes> digest{};
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != digest.size()) {
    throw SystemError("Computing the SHA-256 of a rejected value failed (OpenSSL's libcrypto).");
  }
  return digest;
}

// The first kKeptPrefixBytes of `text` or fewer, ending on a whole UTF-8 character.
std::string_view kept_prefix(std::string_view text) {
  if (text.size() <= RejectedValueEncoder::kKeptPrefixBytes) {
    return text;
  }
  std::size_t size = RejectedValueEncoder::kKeptPrefixBytes;
  while (size > 0 && (static_cast<unsigned char>(text[size]) & 0xC0) == 0x80) {
    --size;
  }
  return text.substr(0, size);
}

void put_original(std::string_view original, std::size_t max_whole_bytes, CopyBuffer& out) {
  if (original.size() <= max_whole_bytes) {
    out.put_bytes(original);
    out.put_int64(static_cast<std::int64_t>(original.size()));
    out.put_null();
    return;
  }
  out.put_bytes(kept_prefix(original));
  out.put_int64(static_cast<std::int64_t>(original.size()));
  const auto digest = sha256(original);
  out.put_bytes(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

} // namespace

RejectedValueEncoder::RejectedValueEncoder(const RejectedValueSource& source) {
  CopyBuffer fields;
  if (source.stream_namespace && !source.stream_namespace->empty()) {
    put_text(*source.stream_namespace, fields);
  } else {
    fields.put_null();
  }
  put_text(source.stream_name, fields);
  put_text(source.table_schema, fields);
  put_text(source.table_name, fields);
  fields.put_int64(source.sync_id);
  source_fields_ = std::string(fields.view());
}

const std::vector<std::string>& RejectedValueEncoder::copy_columns() {
  static const std::vector<std::string> columns = {
      "stream_namespace", "stream_name",           "table_schema",   "table_name", "sync_id",
      "_airbyte_raw_id",  "_airbyte_extracted_at", "field",          "change",     "reason",
      "original_value",   "original_bytes",        "original_sha256"};
  return columns;
}

std::size_t RejectedValueEncoder::encode(const RowEncoder& encoder, CopyBuffer& out) {
  values_.clear();
  encoder.rejected_values(values_);
  const auto field_count = static_cast<std::int16_t>(copy_columns().size());
  for (const RejectedValue& value : values_) {
    out.begin_row(field_count);
    out.append(source_fields_);
    out.put_bytes(encoder.raw_id());
    out.put_int64(encoder.extracted_at());
    put_text(value.field, out);
    out.put_bytes(to_wire(value.change));
    out.put_bytes(to_wire(value.reason));
    put_original(value.original, max_whole_original_bytes, out);
  }
  return values_.size();
}

} // namespace pgdest::encode
