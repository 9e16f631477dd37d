// Wire spelling and JSON form of `_airbyte_meta` changes.
#include "pgdest/encode/change.hpp"

#include "pgdest/encode/json_writer.hpp"

namespace pgdest::encode {

std::string_view to_wire(ChangeKind kind) {
  switch (kind) {
  case ChangeKind::NULLED:
    return "NULLED";
  case ChangeKind::TRUNCATED:
    return "TRUNCATED";
  }
  return "NULLED";
}

std::string_view to_wire(ChangeReason reason) {
  switch (reason) {
  case ChangeReason::DESTINATION_SERIALIZATION_ERROR:
    return "DESTINATION_SERIALIZATION_ERROR";
  case ChangeReason::DESTINATION_FIELD_SIZE_LIMITATION:
    return "DESTINATION_FIELD_SIZE_LIMITATION";
  }
  return "DESTINATION_SERIALIZATION_ERROR";
}

void append_change_json(const Change& change, std::string& out) {
  std::string field_json;
  append_json_string(change.field, field_json);
  append_change_json(field_json, change.change, change.reason, out);
}

void append_change_json(std::string_view field_json, ChangeKind kind, ChangeReason reason,
                        std::string& out) {
  out += "{\"field\":";
  out += field_json;
  out += ",\"change\":\"";
  out += to_wire(kind);
  out += "\",\"reason\":\"";
  out += to_wire(reason);
  out += "\"}";
}

} // namespace pgdest::encode
