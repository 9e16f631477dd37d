// The transaction settings and the schema check shared by `check` and `write`.
#include "pgdest/postgres/session.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "pgdest/schema/identifier_normalizer.hpp"
#include "pgdest/schema/table_namer.hpp"

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

SchemaPrivileges read_schema_privileges(Connection& connection, const Identifier& schema) {
  auto rows = connection.query(sql::select_schema_privileges(), {schema.name()},
                               "reading the privileges on schema " + schema.quoted());
  if (rows.size() != 1 || rows[0].size() != 5)
    throw SystemError("Reading the privileges on schema " + schema.quoted() +
                      " returned an unexpected result.");
  const Row& row = rows[0];
  auto is_true = [](const std::optional<std::string>& value) { return value == "t"; };
  SchemaPrivileges privileges;
  privileges.user = row[0].value_or("");
  privileges.database = row[1].value_or("");
  privileges.may_create_schema = is_true(row[2]);
  privileges.exists = is_true(row[3]);
  privileges.may_create_tables = is_true(row[4]);
  return privileges;
}

namespace {

std::vector<std::string> quoted_names(const std::vector<Identifier>& schemas) {
  std::vector<std::string> names;
  for (const auto& schema : schemas)
    names.push_back(schema.quoted());
  return names;
}

// Why `schema` cannot take the user's tables, as the failure table says it (naming the GRANT
// that fixes it); none if it can. Asked before trying, so the message can name the privilege and
// the statement that grants it: the server would only say "permission denied for database".
std::optional<Error> schema_refusal(const SchemaPrivileges& privileges, const Identifier& schema) {
  if (privileges.usable())
    return std::nullopt;
  FailureSubject who;
  who.user = privileges.user;
  who.database = privileges.database;
  FailureDiagnosis d = diagnosis_of(privileges.exists ? FailureCause::schema_privilege_missing
                                                      : FailureCause::database_privilege_missing);
  d.sqlstate = "42501";
  d.server_text = privileges.exists ? "permission denied for schema " + schema.name()
                                    : "permission denied for database " + who.database;
  d.schema = schema.name();
  return to_error(d, who, "");
}

} // namespace

void ensure_schema(Connection& connection, const Identifier& schema) {
  const SchemaPrivileges privileges = read_schema_privileges(connection, schema);
  if (auto refusal = schema_refusal(privileges, schema))
    throw *refusal;
  if (!privileges.exists)
    connection.execute(sql::create_schema(schema), "creating schema " + schema.quoted());
}

std::vector<Identifier> internal_schema_candidates(const config::DestinationConfig& config,
                                                   const std::vector<Identifier>& stream_schemas) {
  std::vector<Identifier> candidates{Identifier(schema::raw_schema_name(config.raw_data_schema)),
                                     Identifier(schema::normalize_identifier(config.schema))};
  candidates.insert(candidates.end(), stream_schemas.begin(), stream_schemas.end());
  std::vector<Identifier> unique;
  for (auto& candidate : candidates) {
    const bool seen = std::any_of(unique.begin(), unique.end(), [&](const Identifier& other) {
      return other.name() == candidate.name();
    });
    if (!seen)
      unique.push_back(std::move(candidate));
  }
  return unique;
}

std::optional<InternalSchema> choose_internal_schema(Connection& connection,
                                                     const std::vector<Identifier>& candidates) {
  std::string passed_over;
  for (const auto& schema : candidates) {
    const SchemaPrivileges privileges = read_schema_privileges(connection, schema);
    auto refusal = schema_refusal(privileges, schema);
    if (!refusal) {
      if (!privileges.exists)
        connection.execute(sql::create_schema(schema), "creating schema " + schema.quoted());
      return InternalSchema{schema, passed_over};
    }
    if (passed_over.empty())
      passed_over = refusal->what();
  }
  return std::nullopt;
}

void log_internal_schema(const std::optional<InternalSchema>& chosen,
                         const std::vector<Identifier>& candidates) {
  if (!chosen) {
    spdlog::warn("No schema takes the connector's own tables (tried {}): rejected values and the "
                 "sync log are not kept; the rows load as usual, with their changes in "
                 "_airbyte_meta. Let the user create tables in {} to keep them.",
                 fmt::join(quoted_names(candidates), ", "), candidates.front().quoted());
    return;
  }
  if (chosen->passed_over.empty())
    spdlog::info("The connector's own tables (rejected values, the sync log) go to schema {}.",
                 chosen->schema.quoted());
  else
    spdlog::info("The connector's own tables (rejected values, the sync log) go to schema {}, "
                 "not {}: {}",
                 chosen->schema.quoted(), candidates.front().quoted(), chosen->passed_over);
}

} // namespace pgdest::postgres
