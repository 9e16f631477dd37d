#pragma once
// A stream's identity in the protocol: name plus optional namespace.
#include <functional>
#include <optional>
#include <string>

namespace pgdest::protocol {

struct StreamDescriptor {
  std::optional<std::string> stream_namespace; // absent and "" are the same
  std::string name;

  bool operator==(const StreamDescriptor& other) const {
    return name == other.name &&
           stream_namespace.value_or("") == other.stream_namespace.value_or("");
  }
  // "namespace.name", or "name" without a namespace; for messages to people.
  std::string display() const {
    return stream_namespace && !stream_namespace->empty() ? *stream_namespace + "." + name : name;
  }
};

} // namespace pgdest::protocol
