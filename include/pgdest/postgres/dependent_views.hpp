#pragma once
// Views and materialized views that depend on a table, saved so that the table can change under
// them. PostgreSQL refuses to change the type of a column (or to drop a table) that a view reads;
// so, inside one transaction, the views are saved, dropped, the table is changed, and the views
// are created again as they were: definition, options, owner, privileges, comments, and what is
// attached to them (a materialized view's indexes, a view's rules and triggers). Readers see the
// old table with its views or the new one with its views, never neither.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgdest/postgres/connection.hpp"
#include "pgdest/postgres/identifier.hpp"

namespace pgdest::postgres {

// One privilege of one role on a table, view or materialized view, or on one of its columns, as
// aclexplode() lists it.
struct RelationGrant {
  std::string column;    // empty: on the view itself
  std::string grantor;   // the role that granted it
  std::string grantee;   // empty: PUBLIC
  std::string privilege; // SELECT, INSERT, UPDATE, ...
  bool with_grant_option = false;
};

// Everything needed to create a view again. The SQL parts (definition, column defaults,
// `attached`) are made by the server (pg_get_viewdef, pg_get_expr, pg_get_indexdef, ...) with
// every name qualified, and are replayed as they are.
struct SavedView {
  TableRef name{Identifier({}), Identifier({})};
  bool materialized = false;
  bool populated = true; // a materialized view: WITH DATA, or WITH NO DATA
  std::string definition;
  std::vector<std::pair<std::string, std::string>> options; // name, value
  std::string tablespace; // a materialized view's, when not the database's default
  std::string owner;
  std::optional<std::string> comment;
  std::vector<std::pair<std::string, std::string>> column_comments; // column, comment
  std::vector<std::pair<std::string, std::string>> column_defaults; // column, expression
  std::vector<RelationGrant> grants;                                // the owner's own too
  std::vector<std::string> attached; // CREATE INDEX / RULE / TRIGGER statements
  // The privileges on the view, and on its columns, each as one text to compare restored ones
  // with.
  std::pair<std::string, std::string> privileges;
};

namespace privilege_sql {

// Parameters: $1 a table, view or materialized view (regclass text). Rows: column (empty: the
// relation), grantor, grantee (empty: PUBLIC), privilege, grantable ("t"/"f"), in the order the
// access control lists hold them.
std::string select_grants();
// Parameters: $1 the relation. One row: every privilege on it, and every privilege on its
// columns, each as sorted text.
std::string select_privileges();
// Takes away every privilege `grantees` hold on the relation itself (empty name: PUBLIC).
std::string revoke_all(const TableRef& relation, const std::vector<std::string>& grantees);
// `grants` on the relation itself, or those on its columns; those its owner made first, and a
// grant made by another role made as that role. Throws SystemError on a privilege name it does
// not know.
std::vector<std::string> grant_statements(const TableRef& relation, const std::string& owner,
                                          const std::vector<RelationGrant>& grants,
                                          bool on_columns);

} // namespace privilege_sql

// The privileges on a relation and on its columns, as they are now: what restore_privileges()
// makes them again.
struct SavedPrivileges {
  std::vector<RelationGrant> grants; // the owner's own too
  // Every privilege on the relation, and every one on its columns, each as one text to compare
  // restored ones with.
  std::pair<std::string, std::string> text;
};
SavedPrivileges save_privileges(Connection& connection, const TableRef& relation);
// Makes the privileges on `relation` (a `kind`, e.g. "view", owned by `owner`) exactly `saved`:
// a new relation has its owner's default privileges (and any default privileges of the role that
// created it), which are revoked first when they differ. Throws SystemError when they could not
// be made exactly so.
void restore_privileges(Connection& connection, const TableRef& relation, std::string_view kind,
                        const std::string& owner, const SavedPrivileges& saved);

namespace view_sql {

// Parameters: $1 schema, $2 table, $3 column (empty: any column). Rows: oid, schema, name,
// relkind ("v" or "m"), populated ("t"/"f"), definition, owner, tablespace (empty: the default),
// comment (NULL: none); dependents after what they depend on.
std::string select_dependent_views();
// Parameters: $1 the view (regclass text). Rows: option name, value.
std::string select_options();
// Parameters: $1 the view. Rows: column (empty: the view), comment.
std::string select_comments();
// Parameters: $1 the view. Rows: column, default expression.
std::string select_column_defaults();
// Parameters: $1 the view. Rows: one CREATE INDEX / RULE / TRIGGER statement each.
std::string select_attached();

std::string create_view(const SavedView& view);
std::string drop_view(const SavedView& view);
// Owner, column defaults, comments and attached objects, after create_view.
std::vector<std::string> restore_statements(const SavedView& view);
// Takes away every privilege `grantees` hold on the view itself (empty name: PUBLIC).
std::string revoke_all(const SavedView& view, const std::vector<std::string>& grantees);
// The view's grants on the view itself, or those on its columns; those its owner made first, and
// a grant made by another role made as that role. Throws SystemError on a privilege name it does
// not know.
std::vector<std::string> grant_statements(const SavedView& view, bool on_columns);

} // namespace view_sql

// The views that depend on one table, saved. Use inside one transaction: save, drop, change the
// table, recreate; on any failure roll the transaction back.
class DependentViews {
public:
  // Every view and materialized view that reads `column` of `table` (any column when empty),
  // directly or through other views. Locks the table against other writers and DDL until the
  // transaction ends, and empties search_path for the rest of it, so that the saved SQL names
  // every object with its schema.
  static DependentViews save(Connection& connection, const TableRef& table,
                             const std::string& column = {});

  bool empty() const { return views_.empty(); }
  const std::vector<SavedView>& views() const { return views_; }
  // "s"."v1", "s"."v2"
  std::string names() const;

  // Drops the views, dependents first, without CASCADE: an object that was not saved (a
  // function or a rule on another table that reads a view) makes the drop fail rather than
  // vanish.
  void drop(Connection& connection) const;
  // Creates the views again, each after those it reads. Throws the server's error when one can
  // no longer be created (its SQL does not fit the table as it is now), with the view's name in
  // the message; or a SystemError when its privileges could not be restored exactly.
  void recreate(Connection& connection) const;

private:
  std::vector<SavedView> views_;
};

} // namespace pgdest::postgres
