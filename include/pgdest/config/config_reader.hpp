#pragma once
// config.json → a validated DestinationConfig (SPEC §3), with the same rules as
// resources/spec.json.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pgdest/config/destination_config.hpp"

namespace pgdest::config {

// Validates `document` (required fields, types, ranges, patterns), applies defaults and legacy
// fields, and lists unknown fields in `warnings`. Throws ConfigError naming the field and what to
// do; no message ever contains a secret value.
DestinationConfig parse_config(const nlohmann::json& document);

// Reads the file at `path` and parses it with parse_config. An unreadable file or invalid JSON
// is a ConfigError too.
DestinationConfig load_config_file(const std::string& path);

// The `pattern`s of resources/spec.json (ECMAScript syntax); parse_config enforces the same ones.
namespace patterns {
// host and tunnel_method.tunnel_host.
inline constexpr std::string_view host =
    R"(^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$|^\[?[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*(?:%[A-Za-z0-9_.-]+)?\]?$)";
// database, schema, username and tunnel_method.tunnel_user: not empty, no NUL, no leading or
// trailing white space.
inline constexpr std::string_view name = R"(^[^\s\u0000](?:[^\u0000]*[^\s\u0000])?$)";
// raw_data_schema: a name as above, or blank for the default (as Airbyte's connector reads it).
inline constexpr std::string_view optional_name =
    R"(^\s*$|^[^\s\u0000](?:[^\u0000]*[^\s\u0000])?$)";
inline constexpr std::string_view jdbc_url_params = R"(^\s*$|^[^=&]+=[^=&]*(?:&[^=&]+=[^=&]*)*&?$)";
inline constexpr std::string_view certificate =
    R"(^\s*(?:-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----\s*)+$)";
inline constexpr std::string_view private_key =
    R"(^\s*-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[A-Za-z0-9+/=:,\s-]+-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----\s*$)";
// tunnel_method.ssh_key: a private key as ssh-keygen writes it (PEM, PKCS #8 or OpenSSH form).
inline constexpr std::string_view ssh_private_key =
    R"(^\s*-----BEGIN (?:RSA |EC |DSA |OPENSSH )?PRIVATE KEY-----[A-Za-z0-9+/=:,\s-]+-----END (?:RSA |EC |DSA |OPENSSH )?PRIVATE KEY-----\s*$)";
} // namespace patterns

} // namespace pgdest::config
