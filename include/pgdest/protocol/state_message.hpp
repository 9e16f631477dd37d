#pragma once
// A STATE message as the reader hands it over and the state tracker keeps it until it may leave.
#include <cstddef>
#include <optional>
#include <string>

#include "pgdest/protocol/stream_descriptor.hpp"

namespace pgdest::protocol {

enum class StateType { STREAM, GLOBAL, LEGACY };

struct StateMessage {
  StateType type = StateType::LEGACY;
  std::optional<StreamDescriptor> stream; // STREAM states only
  // The compact state object text without its closing brace and without destinationStats.
  std::string fields;
  std::size_t line_number = 0;
};

} // namespace pgdest::protocol
