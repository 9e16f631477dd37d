#pragma once
// The one error type of the project: its kind matches the protocol's failure_type.
#include <stdexcept>
#include <string>

namespace pgdest {

enum class FailureType { config_error, transient_error, system_error };

// The protocol's spelling of a failure type.
const char* to_wire(FailureType type);

// `what()` is the message for a person; `internal_message()` carries SQLSTATE and server text.
// Neither ever contains a secret.
class Error : public std::runtime_error {
public:
  Error(FailureType type, const std::string& message, std::string internal_message = {})
      : std::runtime_error(message), type_(type), internal_message_(std::move(internal_message)) {}

  FailureType failure_type() const { return type_; }
  const std::string& internal_message() const { return internal_message_; }

private:
  FailureType type_;
  std::string internal_message_;
};

class ConfigError : public Error {
public:
  explicit ConfigError(const std::string& message, std::string internal_message = {})
      : Error(FailureType::config_error, message, std::move(internal_message)) {}
};

class TransientError : public Error {
public:
  explicit TransientError(const std::string& message, std::string internal_message = {})
      : Error(FailureType::transient_error, message, std::move(internal_message)) {}
};

class SystemError : public Error {
public:
  explicit SystemError(const std::string& message, std::string internal_message = {})
      : Error(FailureType::system_error, message, std::move(internal_message)) {}
};

} // namespace pgdest
