#pragma once
// Identifiers travel as this type and are quoted in exactly one place.
#include <string>
#include <utility>

namespace pgdest::postgres {

class Identifier {
public:
  explicit Identifier(std::string name) : name_(std::move(name)) {}
  const std::string& name() const { return name_; }
  // "name" with embedded double quotes doubled: safe to splice into SQL text.
  std::string quoted() const;

private:
  std::string name_;
};

struct TableRef {
  Identifier schema;
  Identifier table;
  std::string quoted() const { return schema.quoted() + "." + table.quoted(); }
};

} // namespace pgdest::postgres
