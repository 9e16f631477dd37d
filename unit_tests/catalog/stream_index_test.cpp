// StreamIndex: exact (namespace, name) lookups and the by-name guess for a late namespace.
#include <catch2/catch.hpp>

#include "pgdest/catalog/stream_index.hpp"

using pgdest::catalog::StreamIndex;
using pgdest::catalog::StreamPlan;

namespace {

StreamPlan plan(std::optional<std::string> stream_namespace, std::string name) {
  StreamPlan p;
  p.descriptor.stream_namespace = std::move(stream_namespace);
  p.descriptor.name = std::move(name);
  return p;
}

} // namespace

TEST_CASE("streams are found by namespace and name, absent and empty namespaces are the same",
          "[catalog]") {
  std::vector<StreamPlan> plans = {plan(std::nullopt, "users"), plan("sales", "users"),
                                   plan("", "orders")};
  StreamIndex index(plans);
  CHECK(index.find(std::nullopt, "users") == std::optional<std::size_t>(0));
  CHECK(index.find(std::string_view(""), "users") == std::optional<std::size_t>(0));
  CHECK(index.find(std::string_view("sales"), "users") == std::optional<std::size_t>(1));
  CHECK(index.find(std::nullopt, "orders") == std::optional<std::size_t>(2));
  CHECK_FALSE(index.find(std::string_view("other"), "users"));
  CHECK_FALSE(index.find(std::nullopt, "nope"));
  // A name and a namespace that only concatenate to the same text are different streams.
  CHECK_FALSE(index.find(std::string_view("sal"), "esusers"));
}

TEST_CASE("before its namespace is known, a name that only one stream has matches", "[catalog]") {
  std::vector<StreamPlan> plans = {plan("a", "shared"), plan("b", "shared"), plan("n", "unique")};
  StreamIndex index(plans);
  CHECK(index.find(std::nullopt, "unique", false) == std::optional<std::size_t>(2));
  CHECK_FALSE(index.find(std::nullopt, "unique", true));
  CHECK_FALSE(index.find(std::nullopt, "shared", false));
  CHECK(index.find(std::string_view("b"), "shared", false) == std::optional<std::size_t>(1));
}
