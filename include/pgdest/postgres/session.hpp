#pragma once
// What every connection of the connector relies on, for `check` and `write` alike: the settings
// its transactions run with, and making sure the schema it writes to exists and may be written to.
#include <optional>
#include <string>
#include <vector>

#include "pgdest/config/destination_config.hpp"
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

// What the connecting user may do with a schema.
struct SchemaPrivileges {
  std::string user;
  std::string database;
  bool exists = false;
  bool may_create_schema = false; // CREATE on the database
  bool may_create_tables = false; // USAGE and CREATE on the schema, when it exists
  // Whether ensure_schema would succeed.
  bool usable() const { return exists ? may_create_tables : may_create_schema; }
};
SchemaPrivileges read_schema_privileges(Connection& connection, const Identifier& schema);

// Creates `schema` unless it exists. When the user may not create it, or may not create tables in
// the existing schema, throws the ConfigError whose message ends with the GRANT statement that
// fixes it (the failure table's database_privilege_missing / schema_privilege_missing).
void ensure_schema(Connection& connection, const Identifier& schema);

// Where the connector keeps tables of its own (values it rejected, the sync log).
struct InternalSchema {
  Identifier schema;
  // Why the first candidate was passed over (ensure_schema's message, naming the GRANT that would
  // allow it); empty when it is the one used.
  std::string passed_over;
};

// Where the connector's own tables may go, in order of preference: `raw_data_schema`, the config's
// `schema`, then `stream_schemas` (the schemas the sync writes to anyway); each once.
std::vector<Identifier> internal_schema_candidates(const config::DestinationConfig& config,
                                                   const std::vector<Identifier>& stream_schemas);

// The first of `candidates` (in order of preference: `raw_data_schema`, then schemas the sync
// writes to anyway) that exists and takes new tables from the user, or that the user may create;
// made sure to exist. None if no candidate can be used: the connector's own tables must never
// make a sync fail that would run without them.
std::optional<InternalSchema> choose_internal_schema(Connection& connection,
                                                     const std::vector<Identifier>& candidates);

// Says where the connector's own tables go, and why not to the first candidate when so (INFO);
// or that there is no such place and what is not kept then (WARN).
void log_internal_schema(const std::optional<InternalSchema>& chosen,
                         const std::vector<Identifier>& candidates);

} // namespace pgdest::postgres
