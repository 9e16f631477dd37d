#pragma once
// The `check` command's work (SPEC §2): connect, make sure the schema is usable, and round-trip a
// row through a scratch table with binary COPY, through the same client and encoder as `write`.
#include <string>

#include "pgdest/config/destination_config.hpp"

namespace pgdest::postgres {

struct CheckResult {
  bool succeeded = false;
  // Empty on success; otherwise what is wrong and what to do, in plain words (never a secret).
  std::string message;
};

// Connects with TLS per ssl_mode (PgConnection) and, in one transaction with the connector's
// transaction settings, ensures the default schema (`config.schema` normalised as the write path
// names it; in raw tables mode the raw tables' schema) exists or creates it (ensure_schema),
// creates a scratch table there, COPYs a row the record encoder made into it, reads it back and
// drops it. Messages come from the failure table `write` uses too. Every expected failure
// (unknown host, closed port, wrong password, missing database, missing privilege, TLS refused or
// certificate rejected, ...) is a FAILED result with its own message; only a bug throws.
CheckResult check_connection(const config::DestinationConfig& config);

} // namespace pgdest::postgres
