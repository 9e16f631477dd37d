#pragma once
// What every session of the connector does, for `check` and `write` alike: the session settings,
// and making sure the schema it writes to exists and may be written to.
#include "pgdest/postgres/connection.hpp"
#include "pgdest/postgres/identifier.hpp"

namespace pgdest::postgres {

// The settings every connection of the connector runs with: UTC time zone, room to sort dedup
// keys in memory, no JIT.
void set_up_session(Connection& connection);

// Creates `schema` unless it exists. When the user may not create it, or may not create tables in
// the existing schema, throws the ConfigError whose message ends with the GRANT statement that
// fixes it (the failure table's database_privilege_missing / schema_privilege_missing).
void ensure_schema(Connection& connection, const Identifier& schema);

} // namespace pgdest::postgres
