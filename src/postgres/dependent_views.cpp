// Saving the views that depend on a table, dropping them, and creating them again as they were.
#include "pgdest/postgres/dependent_views.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include <fmt/format.h>

#include "pgdest/error.hpp"
#include "pgdest/postgres/sql_builder.hpp"

namespace pgdest::postgres {
namespace privilege_sql {
namespace {

// The privilege names GRANT accepts on a table-like object; anything else is refused rather than
// spliced into SQL.
bool known_privilege(std::string_view privilege) {
  static constexpr std::array<std::string_view, 8> kPrivileges = {
      "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"};
  return std::find(kPrivileges.begin(), kPrivileges.end(), privilege) != kPrivileges.end();
}

std::string grantee_sql(const std::string& grantee) {
  return grantee.empty() ? "PUBLIC" : Identifier(grantee).quoted();
}

} // namespace

std::string select_grants() {
  // A view without an access control list has the owner's default privileges: acldefault()
  // spells them out, so that they are restored like any other.
  return "SELECT column_name, pg_catalog.pg_get_userbyid(grantor), "
         "CASE WHEN grantee = 0 THEN '' ELSE pg_catalog.pg_get_userbyid(grantee) END, "
         "privilege_type, is_grantable FROM ("
         "SELECT '' AS column_name, 0 AS attnum, g.* FROM pg_catalog.pg_class c, "
         "pg_catalog.aclexplode(coalesce(c.relacl, pg_catalog.acldefault('r', c.relowner))) "
         "WITH ORDINALITY g(grantor, grantee, privilege_type, is_grantable, position) "
         "WHERE c.oid = $1::pg_catalog.regclass "
         "UNION ALL SELECT a.attname::text, a.attnum, g.* FROM pg_catalog.pg_attribute a, "
         "pg_catalog.aclexplode(a.attacl) "
         "WITH ORDINALITY g(grantor, grantee, privilege_type, is_grantable, position) "
         "WHERE a.attrelid = $1::pg_catalog.regclass AND a.attnum > 0 AND NOT a.attisdropped"
         ") grants ORDER BY attnum, position";
}

std::string select_privileges() {
  return "SELECT coalesce((SELECT pg_catalog.string_agg(item::text, ' ' ORDER BY item::text) "
         "FROM pg_catalog.unnest(coalesce(c.relacl, pg_catalog.acldefault('r', c.relowner))) "
         "item), ''), coalesce((SELECT pg_catalog.string_agg("
         "pg_catalog.quote_ident(a.attname) || '=' || item::text, ' ' "
         "ORDER BY a.attname, item::text) "
         "FROM pg_catalog.pg_attribute a, pg_catalog.unnest(a.attacl) item "
         "WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') "
         "FROM pg_catalog.pg_class c WHERE c.oid = $1::pg_catalog.regclass";
}

std::string revoke_all(const TableRef& relation, const std::vector<std::string>& grantees) {
  std::string from;
  for (const auto& grantee : grantees)
    from += (from.empty() ? "" : ", ") + grantee_sql(grantee);
  return fmt::format("REVOKE ALL ON {} FROM {}", relation.quoted(), from);
}

std::vector<std::string> grant_statements(const TableRef& relation, const std::string& owner,
                                          const std::vector<RelationGrant>& grants_to_make,
                                          bool on_columns) {
  // One GRANT per (column, grantor, grantee, grant option), listing its privileges.
  struct Grant {
    const RelationGrant* first;
    std::string privileges;
  };
  std::vector<Grant> grants;
  for (const auto& grant : grants_to_make) {
    if (grant.column.empty() == on_columns)
      continue;
    if (!known_privilege(grant.privilege))
      throw SystemError(fmt::format("{} has a privilege \"{}\" that cannot be restored.",
                                    relation.quoted(), grant.privilege));
    auto same = std::find_if(grants.begin(), grants.end(), [&](const Grant& other) {
      return other.first->column == grant.column && other.first->grantor == grant.grantor &&
             other.first->grantee == grant.grantee &&
             other.first->with_grant_option == grant.with_grant_option;
    });
    std::string privilege = grant.privilege;
    if (!grant.column.empty())
      privilege += " (" + Identifier(grant.column).quoted() + ")";
    if (same == grants.end())
      grants.push_back({&grant, privilege});
    else
      same->privileges += ", " + privilege;
  }
  // The owner's grants first: a role that grants onward needs its grant option before.
  std::stable_partition(grants.begin(), grants.end(),
                        [&](const Grant& grant) { return grant.first->grantor == owner; });
  std::vector<std::string> statements;
  for (const auto& grant : grants) {
    std::string statement = fmt::format("GRANT {} ON {} TO {}{}", grant.privileges,
                                        relation.quoted(), grantee_sql(grant.first->grantee),
                                        grant.first->with_grant_option ? " WITH GRANT OPTION" : "");
    // GRANT records the role that runs it (a superuser or a member of the owner's role runs it
    // as the owner), so another grantor's grant is made as that role.
    if (grant.first->grantor != owner)
      statement = fmt::format("SET LOCAL ROLE {}; {}; RESET ROLE",
                              Identifier(grant.first->grantor).quoted(), statement);
    statements.push_back(std::move(statement));
  }
  return statements;
}

} // namespace privilege_sql

namespace view_sql {
namespace {

const char* kind(const SavedView& view) {
  return view.materialized ? "MATERIALIZED VIEW" : "VIEW";
}

// pg_get_viewdef() ends the query with a semicolon, which cannot stand before WITH DATA.
std::string_view without_final_semicolon(std::string_view definition) {
  while (!definition.empty() &&
         (definition.back() == ';' || definition.back() == ' ' || definition.back() == '\n'))
    definition.remove_suffix(1);
  return definition;
}

} // namespace

std::string select_dependent_views() {
  // A view reads a column through its _RETURN rule, which pg_depend links to the column; a view
  // on that view links to the first view. The recursion follows those links through views and
  // materialized views only (a rule on a table that reads a view is not ours to drop: the DROP
  // then fails). A view's depth is its longest path from the table, so creating in order of depth
  // creates every view after those it reads.
  return "WITH RECURSIVE dependents(view_oid, depth, path) AS ("
         "SELECT r.ev_class, 1, ARRAY[r.ev_class] "
         "FROM pg_catalog.pg_depend d "
         "JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid "
         "JOIN pg_catalog.pg_class v ON v.oid = r.ev_class AND v.relkind IN ('v', 'm') "
         "JOIN pg_catalog.pg_class t ON t.oid = d.refobjid "
         "JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace "
         "WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass "
         "AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass "
         "AND n.nspname = $1 AND t.relname = $2 AND r.ev_class <> t.oid "
         "AND ($3 = '' OR d.refobjsubid = (SELECT a.attnum FROM pg_catalog.pg_attribute a "
         "WHERE a.attrelid = t.oid AND a.attname = $3)) "
         "UNION "
         "SELECT r.ev_class, dependents.depth + 1, dependents.path || r.ev_class "
         "FROM dependents "
         "JOIN pg_catalog.pg_depend d ON d.refobjid = dependents.view_oid "
         "JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid "
         "JOIN pg_catalog.pg_class v ON v.oid = r.ev_class AND v.relkind IN ('v', 'm') "
         "WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass "
         "AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass "
         "AND r.ev_class <> ALL (dependents.path)) "
         "SELECT n.nspname, c.relname, c.relkind, c.relispopulated, "
         "pg_catalog.pg_get_viewdef(c.oid), pg_catalog.pg_get_userbyid(c.relowner), "
         "coalesce(ts.spcname, '') "
         "FROM (SELECT view_oid, max(depth) AS depth FROM dependents GROUP BY view_oid) found "
         "JOIN pg_catalog.pg_class c ON c.oid = found.view_oid "
         "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
         "LEFT JOIN pg_catalog.pg_tablespace ts ON ts.oid = c.reltablespace "
         "ORDER BY found.depth, c.oid";
}

std::string select_options() {
  return "SELECT o.option_name, o.option_value FROM pg_catalog.pg_class c, "
         "pg_catalog.pg_options_to_table(c.reloptions) o "
         "WHERE c.oid = $1::pg_catalog.regclass";
}

std::string select_comments() {
  return "SELECT coalesce(a.attname::text, ''), d.description FROM pg_catalog.pg_description d "
         "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = d.objoid AND a.attnum = d.objsubid "
         "WHERE d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass "
         "AND d.objoid = $1::pg_catalog.regclass ORDER BY d.objsubid";
}

std::string select_column_defaults() {
  return "SELECT a.attname, pg_catalog.pg_get_expr(d.adbin, d.adrelid) "
         "FROM pg_catalog.pg_attrdef d "
         "JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
         "WHERE d.adrelid = $1::pg_catalog.regclass ORDER BY d.adnum";
}

std::string select_attached() {
  return "SELECT statement FROM ("
         "SELECT 1 AS kind, i.indexrelid AS oid, pg_catalog.pg_get_indexdef(i.indexrelid) "
         "AS statement FROM pg_catalog.pg_index i WHERE i.indrelid = $1::pg_catalog.regclass "
         "UNION ALL SELECT 2, r.oid, pg_catalog.pg_get_ruledef(r.oid) FROM pg_catalog.pg_rewrite r "
         "WHERE r.ev_class = $1::pg_catalog.regclass AND r.rulename <> '_RETURN' "
         "UNION ALL SELECT 3, t.oid, pg_catalog.pg_get_triggerdef(t.oid) "
         "FROM pg_catalog.pg_trigger t "
         "WHERE t.tgrelid = $1::pg_catalog.regclass AND NOT t.tgisinternal) attached "
         "ORDER BY kind, oid";
}

std::string create_view(const SavedView& view) {
  std::string sql = fmt::format("CREATE {} {}", kind(view), view.name.quoted());
  if (!view.options.empty()) {
    std::string options;
    for (const auto& [name, value] : view.options)
      options += fmt::format("{}{} = {}", options.empty() ? "" : ", ", Identifier(name).quoted(),
                             sql::literal(value));
    sql += " WITH (" + options + ")";
  }
  if (view.materialized && !view.tablespace.empty())
    sql += " TABLESPACE " + Identifier(view.tablespace).quoted();
  sql += " AS ";
  sql += without_final_semicolon(view.definition);
  if (view.materialized)
    sql += view.populated ? " WITH DATA" : " WITH NO DATA";
  return sql;
}

std::string drop_view(const SavedView& view) {
  return fmt::format("DROP {} {}", kind(view), view.name.quoted());
}

std::vector<std::string> restore_statements(const SavedView& view) {
  const std::string name = view.name.quoted();
  std::vector<std::string> statements;
  statements.push_back(
      fmt::format("ALTER {} {} OWNER TO {}", kind(view), name, Identifier(view.owner).quoted()));
  for (const auto& [column, expression] : view.column_defaults)
    statements.push_back(fmt::format("ALTER {} {} ALTER COLUMN {} SET DEFAULT {}", kind(view), name,
                                     Identifier(column).quoted(), expression));
  if (view.comment)
    statements.push_back(
        fmt::format("COMMENT ON {} {} IS {}", kind(view), name, sql::literal(*view.comment)));
  for (const auto& [column, comment] : view.column_comments)
    statements.push_back(fmt::format("COMMENT ON COLUMN {}.{} IS {}", name,
                                     Identifier(column).quoted(), sql::literal(comment)));
  for (const auto& statement : view.attached)
    statements.push_back(statement);
  return statements;
}

std::string revoke_all(const SavedView& view, const std::vector<std::string>& grantees) {
  return privilege_sql::revoke_all(view.name, grantees);
}

std::vector<std::string> grant_statements(const SavedView& view, bool on_columns) {
  return privilege_sql::grant_statements(view.name, view.owner, view.grants, on_columns);
}

} // namespace view_sql

namespace {

std::vector<std::pair<std::string, std::string>> pairs(const std::vector<Row>& rows) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& row : rows)
    out.emplace_back(row[0].value_or(""), row[1].value_or(""));
  return out;
}

std::pair<std::string, std::string> privileges_of(Connection& connection,
                                                  const TableRef& relation) {
  auto rows = connection.query(privilege_sql::select_privileges(), {relation.quoted()},
                               "reading the privileges on " + relation.quoted());
  if (rows.empty())
    return {};
  return {rows[0][0].value_or(""), rows[0][1].value_or("")};
}

std::vector<RelationGrant> grants_of(Connection& connection, const TableRef& relation) {
  std::vector<RelationGrant> grants;
  for (const auto& row : connection.query(privilege_sql::select_grants(), {relation.quoted()},
                                          "reading the grants on " + relation.quoted()))
    grants.push_back({row[0].value_or(""), row[1].value_or(""), row[2].value_or(""),
                      row[3].value_or(""), row[4] == "t"});
  return grants;
}

} // namespace

SavedPrivileges save_privileges(Connection& connection, const TableRef& relation) {
  SavedPrivileges saved;
  saved.grants = grants_of(connection, relation);
  saved.text = privileges_of(connection, relation);
  return saved;
}

void restore_privileges(Connection& connection, const TableRef& relation, std::string_view kind,
                        const std::string& owner, const SavedPrivileges& saved) {
  // A new relation has no privileges on its columns.
  const auto current = privileges_of(connection, relation);
  if (current == saved.text)
    return;
  const std::string context =
      fmt::format("restoring the privileges on {} {}", kind, relation.quoted());
  if (current.first != saved.text.first) {
    std::vector<std::string> holders;
    for (const auto& grant : grants_of(connection, relation))
      if (grant.column.empty() &&
          std::find(holders.begin(), holders.end(), grant.grantee) == holders.end())
        holders.push_back(grant.grantee);
    if (!holders.empty())
      connection.execute(privilege_sql::revoke_all(relation, holders), context);
    for (const auto& statement :
         privilege_sql::grant_statements(relation, owner, saved.grants, false))
      connection.execute(statement, context);
  }
  if (current.second != saved.text.second)
    for (const auto& statement :
         privilege_sql::grant_statements(relation, owner, saved.grants, true))
      connection.execute(statement, context);
  const auto restored = privileges_of(connection, relation);
  if (restored != saved.text)
    throw SystemError(fmt::format(
        "The privileges on {} {} could not be restored as they were (they were \"{}\" on the "
        "{} and \"{}\" on its columns; they would be \"{}\" and \"{}\").",
        kind, relation.quoted(), saved.text.first, kind, saved.text.second, restored.first,
        restored.second));
}

DependentViews DependentViews::save(Connection& connection, const TableRef& table,
                                    const std::string& column) {
  connection.execute("SET LOCAL search_path = ''", "qualifying the names in saved views");
  connection.execute(sql::lock_table(table), "locking table " + table.quoted());
  DependentViews saved;
  for (const auto& row : connection.query(view_sql::select_dependent_views(),
                                          {table.schema.name(), table.table.name(), column},
                                          "reading the views that depend on " + table.quoted())) {
    SavedView view;
    view.name = {Identifier(row[0].value_or("")), Identifier(row[1].value_or(""))};
    view.materialized = row[2] == "m";
    view.populated = row[3] == "t";
    view.definition = row[4].value_or("");
    view.owner = row[5].value_or("");
    view.tablespace = row[6].value_or("");
    const std::vector<std::string> name{view.name.quoted()};
    const std::string context = "reading view " + view.name.quoted();
    view.options = pairs(connection.query(view_sql::select_options(), name, context));
    for (auto& [target, text] : pairs(connection.query(view_sql::select_comments(), name, context)))
      if (target.empty())
        view.comment = std::move(text);
      else
        view.column_comments.emplace_back(std::move(target), std::move(text));
    view.column_defaults =
        pairs(connection.query(view_sql::select_column_defaults(), name, context));
    for (const auto& statement : connection.query(view_sql::select_attached(), name, context))
      view.attached.push_back(statement[0].value_or(""));
    auto privileges = save_privileges(connection, view.name);
    view.grants = std::move(privileges.grants);
    view.privileges = std::move(privileges.text);
    saved.views_.push_back(std::move(view));
  }
  return saved;
}

std::string DependentViews::names() const {
  std::string out;
  for (const auto& view : views_)
    out += (out.empty() ? "" : ", ") + view.name.quoted();
  return out;
}

void DependentViews::drop(Connection& connection) const {
  for (auto view = views_.rbegin(); view != views_.rend(); ++view)
    connection.execute(view_sql::drop_view(*view), "dropping view " + view->name.quoted());
}

void DependentViews::recreate(Connection& connection) const {
  for (const auto& view : views_) {
    connection.execute(view_sql::create_view(view),
                       "creating view " + view.name.quoted() + " again");
    for (const auto& statement : view_sql::restore_statements(view))
      connection.execute(statement, "restoring view " + view.name.quoted());
    restore_privileges(connection, view.name, "view", view.owner, {view.grants, view.privileges});
  }
}

} // namespace pgdest::postgres
