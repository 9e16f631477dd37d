// Stream lookup by (namespace, name), with a by-name fallback for records whose namespace comes
// late.
#include "pgdest/catalog/stream_index.hpp"

namespace pgdest::catalog {

StreamIndex::StreamIndex(const std::vector<StreamPlan>& plans) {
  for (std::size_t i = 0; i < plans.size(); ++i) {
    const auto& descriptor = plans[i].descriptor;
    by_key_[key_of(descriptor.stream_namespace.value_or(""), descriptor.name)] = i;
    auto [entry, inserted] = by_name_.emplace(descriptor.name, static_cast<long>(i));
    if (!inserted)
      entry->second = -1;
  }
}

const std::string& StreamIndex::key_of(std::string_view stream_namespace,
                                       std::string_view name) const {
  key_.assign(stream_namespace);
  key_ += '\0';
  key_ += name;
  return key_;
}

std::optional<std::size_t> StreamIndex::find(std::optional<std::string_view> stream_namespace,
                                             std::string_view name, bool namespace_known) const {
  auto found = by_key_.find(key_of(stream_namespace.value_or(""), name));
  if (found != by_key_.end())
    return found->second;
  if (namespace_known)
    return std::nullopt;
  key_.assign(name);
  auto by_name = by_name_.find(key_);
  if (by_name == by_name_.end() || by_name->second < 0)
    return std::nullopt;
  return static_cast<std::size_t>(by_name->second);
}

} // namespace pgdest::catalog
