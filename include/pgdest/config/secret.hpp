#pragma once
// A value that must never be printed: formatting it gives "****".
#include <ostream>
#include <string>

namespace pgdest::config {

class Secret {
public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}

  // The only way to the real value; call it only where the value goes to libpq or a 0600 file.
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }

  friend std::ostream& operator<<(std::ostream& out, const Secret&) { return out << "****"; }

private:
  std::string value_;
};

} // namespace pgdest::config
