#pragma once
// Finds a catalog stream by the namespace and name a message gives, without allocating per
// lookup (it runs once per record).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pgdest/catalog/stream_plan.hpp"

namespace pgdest::catalog {

class StreamIndex {
public:
  explicit StreamIndex(const std::vector<StreamPlan>& plans);

  // The index of the stream with this namespace (absent and "" are the same) and name. When
  // `namespace_known` is false (a record whose namespace may still follow its data) and nothing
  // matches exactly, a name that only one stream has matches.
  std::optional<std::size_t> find(std::optional<std::string_view> stream_namespace,
                                  std::string_view name, bool namespace_known = true) const;

private:
  const std::string& key_of(std::string_view stream_namespace, std::string_view name) const;

  std::unordered_map<std::string, std::size_t> by_key_;
  std::unordered_map<std::string, long> by_name_; // -1 when several namespaces share the name
  mutable std::string key_;                       // reused lookup key
};

} // namespace pgdest::catalog
