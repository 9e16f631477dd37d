// The transaction settings and the schema check shared by `check` and `write`.
#include "pgdest/postgres/session.hpp"

#include "pgdest/postgres/error_classifier.hpp"
#include "pgdest/postgres/sql_builder.hpp"

namespace pgdest::postgres {

std::string transaction_settings() {
  // Conversions between dates, timestamps and text must not depend on the server's time zone.
  // Dedup keys are sorted in memory rather than spilled to disk. JIT compiling would cost more
  // than the short statements it could speed up. temp_buffers may change only until a session
  // first uses a temporary table (and a pooled server connection may have had one from another
  // client): it is set while the session has no temporary schema yet, after which the size it
  // was set to stays for the session's life.
  return "SELECT set_config('TimeZone', 'UTC', true), set_config('work_mem', '128MB', true), "
         "set_config('jit', 'off', true), CASE WHEN pg_my_temp_schema() = 0 THEN "
         "set_config('temp_buffers', '128MB', true) END";
}

std::string begin_transaction() {
  return "BEGIN; " + transaction_settings();
}

void ensure_schema(Connection& connection, const Identifier& schema) {
  auto rows = connection.query(sql::select_schema_privileges(), {schema.name()},
                               "reading the privileges on schema " + schema.quoted());
  if (rows.size() != 1 || rows[0].size() != 5)
    throw SystemError("Reading the privileges on schema " + schema.quoted() +
                      " returned an unexpected result.");
  const Row& row = rows[0];
  auto is_true = [](const std::optional<std::string>& value) { return value == "t"; };
  FailureSubject who;
  who.user = row[0].value_or("");
  who.database = row[1].value_or("");
  bool may_create_schema = is_true(row[2]);
  bool exists = is_true(row[3]);
  bool may_create_tables = is_true(row[4]);
  // Asked before trying, so the message can name the privilege and the statement that grants it;
  // the server would only say "permission denied for database".
  if (exists && !may_create_tables) {
    FailureDiagnosis d = diagnosis_of(FailureCause::schema_privilege_missing);
    d.sqlstate = "42501";
    d.server_text = "permission denied for schema " + schema.name();
    d.schema = schema.name();
    throw to_error(d, who, "");
  }
  if (!exists && !may_create_schema) {
    FailureDiagnosis d = diagnosis_of(FailureCause::database_privilege_missing);
    d.sqlstate = "42501";
    d.server_text = "permission denied for database " + who.database;
    d.schema = schema.name();
    throw to_error(d, who, "");
  }
  if (!exists)
    connection.execute(sql::create_schema(schema), "creating schema " + schema.quoted());
}

} // namespace pgdest::postgres
