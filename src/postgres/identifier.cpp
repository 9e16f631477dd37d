// Double-quoting of identifiers.
#include "pgdest/postgres/identifier.hpp"

namespace pgdest::postgres {

std::string Identifier::quoted() const {
  std::string out;
  out.reserve(name_.size() + 2);
  out += '"';
  for (char c : name_) {
    if (c == '"')
      out += '"';
    out += c;
  }
  out += '"';
  return out;
}

} // namespace pgdest::postgres
