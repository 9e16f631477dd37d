#pragma once
// Replacing a table's rows with those of its staging table at the end of a refresh, in one
// transaction, by one of two paths:
//
// - the swap, O(1) in the rows: the old table is dropped and the staging table renamed in its
//   place, taking over everything users hang on the old table (views at any depth, grants, owner,
//   comments, defaults, statistics targets, options, indexes users added, triggers, row-level
//   security and its policies, replica identity). It needs the table's exclusive lock, taken with
//   a short lock_timeout and a few tries so that readers never queue behind it for long, and
//   none at all when another session already holds a lock on the table;
// - the copy: DELETE every row, INSERT … SELECT the staging rows, drop staging. It never waits for
//   readers, and a snapshot older than it keeps seeing the old rows.
//
// The copy runs when the swap cannot carry something safely (the table is in a publication, is
// referenced by a foreign key, has rules, constraints, inheritance, ...: anything PostgreSQL would
// drop with the table or refuse to drop), when a reader holds the table (already, or past the
// tries), or when the swap fails for any other reason. Everything is decided after the lock, from
// the catalog.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pgdest/postgres/connection.hpp"
#include "pgdest/postgres/dependent_views.hpp"
#include "pgdest/postgres/identifier.hpp"

namespace pgdest::postgres {

// What stands in the way of the swap: a kind (see swap_sql::select_obstacles) and what it names.
struct SwapObstacle {
  std::string kind;
  std::string name;
};

struct SwapColumn {
  std::string name;
  std::string type;      // as format_type() spells it
  std::string collation; // empty: the type's own
  bool not_null = false;
  std::string identity;  // attidentity: empty, "a" or "d"
  std::string generated; // attgenerated: empty or "s"
  std::optional<std::string> default_expression;
  int statistics_target = -1; // -1: the server's default
  std::string options;        // attoptions as "name=value, ...", without the server's own (pg_*)
  std::string storage;        // attstorage
  std::string compression;    // attcompression, empty: the default
  std::optional<std::string> comment;
};

struct SwapIndex {
  std::string name;
  bool unique = false;
  // pg_get_indexdef() from " USING ": what the index is, whatever its name and table. Empty when
  // the definition could not be split so (it is then not carried).
  std::string body;
  std::string tablespace; // empty: the database's default
  bool clustered = false;
  bool replica_identity = false;
  std::optional<std::string> comment;
};

struct SwapTrigger {
  std::string name;
  std::string definition; // pg_get_triggerdef(), naming the table
  std::string enabled;    // tgenabled: "O" (origin and local), "D", "R" or "A"
  std::optional<std::string> comment;
};

struct SwapPolicy {
  std::string name;
  bool permissive = true;
  std::string command; // polcmd: "r", "a", "w", "d" or "*"
  std::string roles;   // as SQL: quoted role names or PUBLIC, comma separated
  std::optional<std::string> using_expression;
  std::optional<std::string> check_expression;
  std::optional<std::string> comment;
};

// What the catalog says about a table and its staging table, as the swap needs it.
struct SwapFacts {
  std::vector<SwapObstacle> obstacles;
  std::string owner;         // the table's
  std::string staging_owner; // the staging table's
  std::optional<std::string> comment;
  std::vector<std::pair<std::string, std::string>> options; // reloptions: name, value
  bool row_security = false;
  bool force_row_security = false;
  std::string replica_identity = "d"; // relreplident
  std::vector<SwapColumn> columns;
  std::vector<SwapColumn> staging_columns;
  std::vector<SwapIndex> indexes;
  std::vector<SwapIndex> staging_indexes;
  std::vector<SwapTrigger> triggers;
  std::vector<SwapPolicy> policies;
};

// An index a user added to the table, built again on the staging table under a temporary name
// before the lock, and given its name back once the old table is gone.
struct IndexBuild {
  std::string statement;
  std::string temporary_name;
  std::string name;
};

// What the swap does, decided from the facts; or why it cannot be done (`reason`).
struct SwapPlan {
  bool swap = false;
  std::string reason;
  // On the staging table before the old one goes: columns the table has and staging lacks,
  // nullability, defaults, statistics targets.
  std::vector<std::string> prepare_staging;
  std::vector<IndexBuild> index_builds;
  // Staging indexes renamed after the old table is dropped: from, to.
  std::vector<std::pair<std::string, std::string>> index_renames;
  // On the table once the staging table has its name: owner, comments, options, replica
  // identity, row-level security, policies, triggers (privileges and views come after).
  std::vector<std::string> restore;
  std::size_t indexes_carried = 0;
  std::size_t triggers_carried = 0;
  std::size_t policies_carried = 0;
};

// Pure: the plan for swapping `staging` into `table`'s place, given the catalog's facts.
SwapPlan plan_swap(const SwapFacts& facts, const TableRef& table, const TableRef& staging);

namespace swap_sql {

// The queries take $1 the table and $2 the staging table, as regclass text.
// Rows: kind, name. Kinds: publication, foreign_key, rule, inheritance, not_plain, storage,
// owned_sequence, constraint, dependent, extension, security_label, not_owner, toast_options.
std::string select_obstacles();
// One row: owner, staging's owner, comment, row security, force row security ("t"/"f"), replica
// identity.
std::string select_table();
// Rows: "t" (the table) or "s" (staging), then SwapColumn's fields in order; by table, attnum.
std::string select_columns();
// Rows: "t" or "s", then SwapIndex's fields in order.
std::string select_indexes();
// Parameter $1 the table only. Rows: SwapTrigger's fields, user triggers only.
std::string select_triggers();
// Parameter $1 the table only. Rows: SwapPolicy's fields.
std::string select_policies();
// Parameter $1 the table only. Rows: who ("process 123", or "a prepared transaction") and the
// mode of every lock another session holds on the table.
std::string select_lock_holders();

std::string rename_table(const TableRef& from, const Identifier& to);
std::string rename_index(const Identifier& schema, const std::string& from, const std::string& to);
std::string create_policy(const TableRef& table, const SwapPolicy& policy);

} // namespace swap_sql

// Reads the facts, inside the caller's transaction.
SwapFacts read_swap_facts(Connection& connection, const TableRef& table, const TableRef& staging);

struct SwapOptions {
  std::chrono::milliseconds lock_timeout{2000};
  int lock_tries = 3;
  std::chrono::milliseconds first_pause{500}; // between tries, doubling
  // Waits between tries; replaceable so that unit tests do not wait.
  std::function<void(std::chrono::milliseconds)> sleep;
};

struct ReplaceOutcome {
  bool swapped = false;
  std::string summary; // which path ran and why, for the log
};

// Replaces the rows of `table` with those of `staging` and drops `staging`, inside the caller's
// transaction (begun with begin_transaction(); the caller commits it), by the swap when it can,
// else by the copy of `columns`. On failure the caller rolls back: the table keeps its rows, and
// the whole replacement can run again from the start.
ReplaceOutcome replace_table_rows(Connection& connection, const TableRef& table,
                                  const TableRef& staging, const std::vector<std::string>& columns,
                                  const SwapOptions& options = {});

} // namespace pgdest::postgres
