// Wire names of failure types.
#include "pgdest/error.hpp"

namespace pgdest {

const char* to_wire(FailureType type) {
  switch (type) {
  case FailureType::config_error:
    return "config_error";
  case FailureType::transient_error:
    return "transient_error";
  case FailureType::system_error:
    return "system_error";
  }
  return "system_error";
}

} // namespace pgdest
