#pragma once
// An entry of `_airbyte_meta.changes`: what the destination did to one field and why.
#include <string>
#include <string_view>

namespace pgdest::encode {

// What happened to the value (Airbyte protocol spelling).
enum class ChangeKind { NULLED, TRUNCATED };

// Why it happened (Airbyte protocol spelling).
enum class ChangeReason { DESTINATION_SERIALIZATION_ERROR, DESTINATION_FIELD_SIZE_LIMITATION };

// One change to a record field; `field` is the source property name.
struct Change {
  std::string field;
  ChangeKind change;
  ChangeReason reason;
};

// The protocol's spelling, e.g. "NULLED".
std::string_view to_wire(ChangeKind kind);
// The protocol's spelling, e.g. "DESTINATION_SERIALIZATION_ERROR".
std::string_view to_wire(ChangeReason reason);

// Appends `{"field":...,"change":...,"reason":...}` as compact JSON (the field name escaped).
void append_change_json(const Change& change, std::string& out);
// The same for a field name already written as a JSON string, quotes included.
void append_change_json(std::string_view field_json, ChangeKind kind, ChangeReason reason,
                        std::string& out);

} // namespace pgdest::encode
