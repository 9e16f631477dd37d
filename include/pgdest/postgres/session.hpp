#pragma once
// What every connection of the connector relies on, for `check` and `write` alike: the settings
// its transactions run with, and making sure the schema it writes to exists and may be written to.
#include <string>

#include "pgdest/postgres/connection.hpp"
#include "pgdest/postgres/identifier.hpp"

namespace pgdest::postgres {

// The settings every transaction of the connector runs with, as one statement to run first in it:
// UTC time zone, room to sort dedup keys in memory, no JIT. Each ends with the transaction (as
// SET LOCAL does), so they hold through a transaction pooler, where the next transaction may run
// on another server connection, and leave nothing behind on a pooled server connection.
std::string transaction_settings();

// BEGIN and transaction_settings(), as one message: a transaction with the connector's settings,
// for one round trip.
std::string begin_transaction();

// Creates `schema` unless it exists. When the user may not create it, or may not create tables in
// the existing schema, throws the ConfigError whose message ends with the GRANT statement that
// fixes it (the failure table's database_privilege_missing / schema_privilege_missing).
void ensure_schema(Connection& connection, const Identifier& schema);

} // namespace pgdest::postgres
