// The end of a refresh: the staging table swapped into the table's place, or its rows copied.
#include "pgdest/postgres/table_swap.hpp"

#include <algorithm>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pgdest/error.hpp"
#include "pgdest/postgres/error_classifier.hpp"
#include "pgdest/postgres/session.hpp"
#include "pgdest/postgres/sql_builder.hpp"
#include "pgdest/schema/table_namer.hpp"

namespace pgdest::postgres {
namespace {

std::string describe(const SwapObstacle& obstacle) {
  const std::string& name = obstacle.name;
  const std::string& kind = obstacle.kind;
  if (kind == "publication")
    return "the table is in publication " + name;
  if (kind == "foreign_key")
    return "foreign key " + name + " references the table";
  if (kind == "rule")
    return "the table has rule " + name;
  if (kind == "inheritance")
    return "the table has an inheritance " + name;
  if (kind == "not_plain")
    return "the table is " + name;
  if (kind == "storage")
    return "the table's " + name + " differs from the staging table's";
  if (kind == "owned_sequence")
    return "sequence " + name + " belongs to one of its columns";
  if (kind == "constraint")
    return "the table has constraint " + name;
  if (kind == "dependent")
    return name + " depends on the table";
  if (kind == "extension")
    return "the table belongs to " + name;
  if (kind == "security_label")
    return "the table has a security label of provider " + name;
  if (kind == "not_owner")
    return "the connector's role does not have the privileges of the table's owner " + name;
  if (kind == "toast_options")
    return "the table has TOAST options (" + name + ")";
  return kind + " " + name;
}

std::string quoted(const std::string& name) {
  return Identifier(name).quoted();
}

// Column options ("n_distinct=100, ...") are carried when they are the planner's, whose values
// are numbers as the server prints them; any other is not spliced into SQL.
bool known_column_options(const std::string& options) {
  std::size_t start = 0;
  while (start < options.size()) {
    std::size_t end = options.find(", ", start);
    if (end == std::string::npos)
      end = options.size();
    const std::string option = options.substr(start, end - start);
    const std::size_t equals = option.find('=');
    const std::string name = option.substr(0, equals);
    if (equals == std::string::npos || (name != "n_distinct" && name != "n_distinct_inherited") ||
        option.find_first_not_of("0123456789.-e+", equals + 1) != std::string::npos)
      return false;
    start = end + 2;
  }
  return true;
}

const SwapColumn* find_column(const std::vector<SwapColumn>& columns, const std::string& name) {
  auto found = std::find_if(columns.begin(), columns.end(),
                            [&](const SwapColumn& column) { return column.name == name; });
  return found == columns.end() ? nullptr : &*found;
}

// Why the staging table's `staging` column cannot stand for the table's `column` (empty: it
// can), and what makes staging's column like it (`prepare`).
std::string fit_column(const TableRef& staging, const SwapColumn& column, const SwapColumn* mine,
                       std::vector<std::string>& prepare) {
  const std::string name = quoted(column.name);
  const std::string alter = "ALTER TABLE " + staging.quoted() + " ";
  if (!column.identity.empty())
    return "column " + name + " is an identity column";
  if (!column.generated.empty())
    return "column " + name + " is a generated column";
  if (!column.options.empty() && !known_column_options(column.options))
    return "column " + name + " has options (" + column.options + ")";
  if (mine == nullptr) {
    // A column of an earlier schema: the new rows have none of it, as the copy would leave it.
    if (column.not_null && !column.default_expression)
      return "column " + name + " is NOT NULL without a default, and the stream has no such field";
    std::string add = alter + "ADD COLUMN " + name + " " + column.type;
    if (!column.collation.empty())
      add += " COLLATE " + column.collation;
    if (column.default_expression)
      add += " DEFAULT " + *column.default_expression;
    if (column.not_null)
      add += " NOT NULL";
    prepare.push_back(std::move(add));
    if (column.statistics_target >= 0)
      prepare.push_back(fmt::format("{}ALTER COLUMN {} SET STATISTICS {}", alter, name,
                                    column.statistics_target));
    if (!column.options.empty())
      prepare.push_back(alter + "ALTER COLUMN " + name + " SET (" + column.options + ")");
    return {};
  }
  if (mine->type != column.type)
    return fmt::format("column {} is {} in the table but {} in the staging table", name,
                       column.type, mine->type);
  if (mine->collation != column.collation)
    return "column " + name + " has another collation in the table";
  if (mine->storage != column.storage || mine->compression != column.compression)
    return "column " + name + " has another storage or compression in the table";
  if (column.not_null && !mine->not_null)
    return "column " + name + " is NOT NULL in the table only";
  if (!column.not_null && mine->not_null)
    prepare.push_back(alter + "ALTER COLUMN " + name + " DROP NOT NULL");
  if (column.default_expression && column.default_expression != mine->default_expression)
    prepare.push_back(alter + "ALTER COLUMN " + name + " SET DEFAULT " +
                      *column.default_expression);
  else if (!column.default_expression && mine->default_expression)
    prepare.push_back(alter + "ALTER COLUMN " + name + " DROP DEFAULT");
  if (column.statistics_target != mine->statistics_target)
    prepare.push_back(
        fmt::format("{}ALTER COLUMN {} SET STATISTICS {}", alter, name, column.statistics_target));
  if (column.options != mine->options) {
    if (!mine->options.empty())
      prepare.push_back(alter + "ALTER COLUMN " + name +
                        " RESET (n_distinct, n_distinct_inherited)");
    if (!column.options.empty())
      prepare.push_back(alter + "ALTER COLUMN " + name + " SET (" + column.options + ")");
  }
  return {};
}

// The extracted_at index, then the key index.
std::vector<std::string> own_index_names(const TableRef& table) {
  return {schema::derived_name(table.table.name(), sql::kExtractedAtIndexSuffix),
          schema::derived_name(table.table.name(), sql::kKeyIndexSuffix)};
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

const char* policy_command(const std::string& command) {
  if (command == "r")
    return "SELECT";
  if (command == "a")
    return "INSERT";
  if (command == "w")
    return "UPDATE";
  if (command == "d")
    return "DELETE";
  return "ALL";
}

std::optional<std::string> optional_text(const Row& row, std::size_t column) {
  return column < row.size() ? row[column] : std::nullopt;
}

std::string text(const Row& row, std::size_t column) {
  return optional_text(row, column).value_or("");
}

SwapColumn column_from(const Row& row) {
  SwapColumn column;
  column.name = text(row, 1);
  column.type = text(row, 2);
  column.collation = text(row, 3);
  column.not_null = text(row, 4) == "t";
  column.identity = text(row, 5);
  column.generated = text(row, 6);
  column.default_expression = optional_text(row, 7);
  const std::string target = text(row, 8);
  column.statistics_target = target.empty() ? -1 : std::stoi(target);
  column.options = text(row, 9);
  column.storage = text(row, 10);
  column.compression = text(row, 11);
  column.comment = optional_text(row, 12);
  return column;
}

SwapIndex index_from(const Row& row) {
  SwapIndex index;
  index.name = text(row, 1);
  index.unique = text(row, 2) == "t";
  index.body = text(row, 3);
  index.tablespace = text(row, 4);
  index.clustered = text(row, 5) == "t";
  index.replica_identity = text(row, 6) == "t";
  index.comment = optional_text(row, 7);
  return index;
}

} // namespace

SwapPlan plan_swap(const SwapFacts& facts, const TableRef& table, const TableRef& staging) {
  SwapPlan plan;
  if (!facts.obstacles.empty()) {
    plan.reason = describe(facts.obstacles.front());
    return plan;
  }
  for (const auto& column : facts.columns) {
    plan.reason = fit_column(staging, column, find_column(facts.staging_columns, column.name),
                             plan.prepare_staging);
    if (!plan.reason.empty())
      return plan;
  }

  // Indexes: the connector's own on staging take the table's names. Every other index of the
  // table (a user's, or the connector's on _airbyte_extracted_at, which staging is loaded
  // without) is built on staging unless staging has the same one already. The table's key index
  // is the staging table's own, for the key the rows were deduplicated by.
  const auto own_on_table = own_index_names(table);
  const auto own_on_staging = own_index_names(staging);
  auto name_after_swap = [&](const std::string& staging_index) {
    for (std::size_t i = 0; i < own_on_staging.size(); ++i)
      if (staging_index == own_on_staging[i])
        return own_on_table[i];
    return staging_index;
  };
  std::vector<std::pair<std::string, std::string>> carried; // the table's index → its successor
  for (const auto& index : facts.indexes) {
    if (index.name == own_on_table.back())
      continue;
    if (index.body.empty()) {
      plan.reason = "index " + quoted(index.name) + " cannot be built again from its definition";
      return plan;
    }
    if (!index.tablespace.empty()) {
      plan.reason = "index " + quoted(index.name) + " is in tablespace " + index.tablespace;
      return plan;
    }
    if (!contains(own_on_table, index.name))
      ++plan.indexes_carried;
    const std::string temporary_name = schema::derived_name(index.name, "_airbyte_tmp");
    auto same_as = [&](const SwapIndex& other) {
      return other.unique == index.unique && other.body == index.body;
    };
    // Built before the lock under its temporary name, or the same as one of the connector's.
    auto built = std::find_if(
        facts.staging_indexes.begin(), facts.staging_indexes.end(),
        [&](const SwapIndex& other) { return other.name == temporary_name && same_as(other); });
    if (built == facts.staging_indexes.end())
      built = std::find_if(facts.staging_indexes.begin(), facts.staging_indexes.end(), same_as);
    if (built != facts.staging_indexes.end()) {
      const bool temporary = built->name == temporary_name;
      if (temporary)
        plan.index_renames.emplace_back(temporary_name, index.name);
      carried.emplace_back(index.name, temporary ? index.name : name_after_swap(built->name));
      continue;
    }
    IndexBuild build;
    build.name = index.name;
    build.temporary_name = temporary_name;
    build.statement = fmt::format("CREATE {}INDEX {} ON {} {}", index.unique ? "UNIQUE " : "",
                                  quoted(build.temporary_name), staging.quoted(), index.body);
    plan.index_renames.emplace_back(build.temporary_name, build.name);
    plan.index_builds.push_back(std::move(build));
    carried.emplace_back(index.name, index.name);
  }
  for (const auto& index : facts.staging_indexes)
    if (name_after_swap(index.name) != index.name)
      plan.index_renames.emplace_back(index.name, name_after_swap(index.name));

  const std::string name = table.quoted();
  const std::string alter = "ALTER TABLE " + name + " ";
  auto& restore = plan.restore;
  if (facts.owner != facts.staging_owner)
    restore.push_back(alter + "OWNER TO " + quoted(facts.owner));
  if (facts.comment)
    restore.push_back("COMMENT ON TABLE " + name + " IS " + sql::literal(*facts.comment));
  for (const auto& column : facts.columns)
    if (column.comment)
      restore.push_back("COMMENT ON COLUMN " + name + "." + quoted(column.name) + " IS " +
                        sql::literal(*column.comment));
  if (!facts.options.empty()) {
    std::string options;
    for (const auto& [option, value] : facts.options)
      options += fmt::format("{}{} = {}", options.empty() ? "" : ", ", quoted(option),
                             sql::literal(value));
    restore.push_back(alter + "SET (" + options + ")");
  }
  for (const auto& index : facts.indexes) {
    auto successor = std::find_if(carried.begin(), carried.end(),
                                  [&](const auto& pair) { return pair.first == index.name; });
    if (successor == carried.end())
      continue;
    const std::string index_name = table.schema.quoted() + "." + quoted(successor->second);
    if (index.comment)
      restore.push_back("COMMENT ON INDEX " + index_name + " IS " + sql::literal(*index.comment));
    if (index.clustered)
      restore.push_back(alter + "CLUSTER ON " + quoted(successor->second));
    if (index.replica_identity && facts.replica_identity == "i")
      restore.push_back(alter + "REPLICA IDENTITY USING INDEX " + quoted(successor->second));
  }
  if (facts.replica_identity == "f")
    restore.push_back(alter + "REPLICA IDENTITY FULL");
  else if (facts.replica_identity == "n")
    restore.push_back(alter + "REPLICA IDENTITY NOTHING");
  if (facts.row_security)
    restore.push_back(alter + "ENABLE ROW LEVEL SECURITY");
  if (facts.force_row_security)
    restore.push_back(alter + "FORCE ROW LEVEL SECURITY");
  for (const auto& policy : facts.policies) {
    restore.push_back(swap_sql::create_policy(table, policy));
    if (policy.comment)
      restore.push_back("COMMENT ON POLICY " + quoted(policy.name) + " ON " + name + " IS " +
                        sql::literal(*policy.comment));
  }
  for (const auto& trigger : facts.triggers) {
    restore.push_back(trigger.definition);
    const std::string trigger_name = quoted(trigger.name);
    if (trigger.enabled == "D")
      restore.push_back(alter + "DISABLE TRIGGER " + trigger_name);
    else if (trigger.enabled == "R")
      restore.push_back(alter + "ENABLE REPLICA TRIGGER " + trigger_name);
    else if (trigger.enabled == "A")
      restore.push_back(alter + "ENABLE ALWAYS TRIGGER " + trigger_name);
    if (trigger.comment)
      restore.push_back("COMMENT ON TRIGGER " + trigger_name + " ON " + name + " IS " +
                        sql::literal(*trigger.comment));
  }
  plan.triggers_carried = facts.triggers.size();
  plan.policies_carried = facts.policies.size();
  plan.swap = true;
  return plan;
}

namespace swap_sql {

std::string select_obstacles() {
  // What PostgreSQL would drop with the table without being asked (publication membership, owned
  // sequences, statistics objects, constraints, rules), or would refuse to drop it for (foreign
  // keys, functions, policies or columns elsewhere that use it or its row type), other than what
  // the swap carries: its indexes, triggers, policies, defaults and the views on it.
  return "WITH t AS (SELECT c.* FROM pg_catalog.pg_class c WHERE c.oid = $1::pg_catalog.regclass), "
         "s AS (SELECT c.* FROM pg_catalog.pg_class c WHERE c.oid = $2::pg_catalog.regclass) "
         "SELECT 'publication', p.pubname::text FROM pg_catalog.pg_publication_tables p, t, "
         "pg_catalog.pg_namespace n WHERE n.oid = t.relnamespace AND p.schemaname = n.nspname "
         "AND p.tablename = t.relname "
         "UNION ALL SELECT 'foreign_key', pg_catalog.format('%I of %s', c.conname, "
         "c.conrelid::pg_catalog.regclass) FROM pg_catalog.pg_constraint c, t "
         "WHERE c.confrelid = t.oid AND c.contype = 'f' "
         "UNION ALL SELECT 'rule', pg_catalog.quote_ident(r.rulename) "
         "FROM pg_catalog.pg_rewrite r, t WHERE r.ev_class = t.oid "
         "UNION ALL SELECT 'inheritance', CASE WHEN i.inhparent = t.oid "
         "THEN 'child ' || i.inhrelid::pg_catalog.regclass::text "
         "ELSE 'parent ' || i.inhparent::pg_catalog.regclass::text END "
         "FROM pg_catalog.pg_inherits i, t WHERE t.oid IN (i.inhparent, i.inhrelid) "
         "UNION ALL SELECT 'not_plain', CASE WHEN t.relkind = 'p' THEN 'partitioned' "
         "WHEN t.relispartition THEN 'a partition' WHEN t.reloftype <> 0 THEN 'a typed table' "
         "ELSE 'not a plain table' END FROM t "
         "WHERE t.relkind <> 'r' OR t.relispartition OR t.reloftype <> 0 "
         "UNION ALL SELECT 'storage', v.what FROM t, s, LATERAL (VALUES "
         "(CASE WHEN t.relpersistence <> s.relpersistence THEN 'persistence' END), "
         "(CASE WHEN t.reltablespace <> s.reltablespace THEN 'tablespace' END), "
         "(CASE WHEN t.relam <> s.relam THEN 'access method' END)) v(what) "
         "WHERE v.what IS NOT NULL "
         "UNION ALL SELECT 'owned_sequence', q.oid::pg_catalog.regclass::text "
         "FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class q ON q.oid = d.objid, t "
         "WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass "
         "AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass "
         "AND d.refobjid = t.oid AND q.relkind = 'S' "
         "UNION ALL SELECT 'constraint', pg_catalog.quote_ident(c.conname) "
         "FROM pg_catalog.pg_constraint c, t WHERE c.conrelid = t.oid "
         "UNION ALL SELECT 'dependent', pg_catalog.pg_describe_object(d.classid, d.objid, "
         "d.objsubid) FROM pg_catalog.pg_depend d, t "
         "WHERE ((d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass "
         "AND d.refobjid = t.oid AND d.classid NOT IN ('pg_catalog.pg_class'::pg_catalog.regclass, "
         "'pg_catalog.pg_type'::pg_catalog.regclass, "
         "'pg_catalog.pg_constraint'::pg_catalog.regclass, "
         "'pg_catalog.pg_publication_rel'::pg_catalog.regclass)) "
         "OR (d.refclassid = 'pg_catalog.pg_type'::pg_catalog.regclass AND d.refobjid IN "
         "(t.reltype, (SELECT y.typarray FROM pg_catalog.pg_type y WHERE y.oid = t.reltype)) "
         "AND NOT (d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND d.objid IN "
         "(SELECT y.typarray FROM pg_catalog.pg_type y WHERE y.oid = t.reltype)))) "
         "AND NOT (d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND EXISTS ("
         "SELECT FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class v ON v.oid = r.ev_class "
         "WHERE r.oid = d.objid AND (v.relkind IN ('v', 'm') OR v.oid = t.oid))) "
         "AND NOT (d.classid = 'pg_catalog.pg_trigger'::pg_catalog.regclass AND EXISTS ("
         "SELECT FROM pg_catalog.pg_trigger g WHERE g.oid = d.objid AND g.tgrelid = t.oid)) "
         "AND NOT (d.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass AND EXISTS ("
         "SELECT FROM pg_catalog.pg_policy p WHERE p.oid = d.objid AND p.polrelid = t.oid)) "
         "AND NOT (d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND EXISTS ("
         "SELECT FROM pg_catalog.pg_attrdef a WHERE a.oid = d.objid AND a.adrelid = t.oid)) "
         "UNION ALL SELECT 'extension', pg_catalog.pg_describe_object(d.refclassid, d.refobjid, 0) "
         "FROM pg_catalog.pg_depend d, t WHERE d.classid = "
         "'pg_catalog.pg_class'::pg_catalog.regclass "
         "AND d.objid = t.oid AND d.deptype = 'e' "
         "UNION ALL SELECT 'security_label', l.provider FROM pg_catalog.pg_seclabel l, t "
         "WHERE l.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND l.objoid = t.oid "
         "UNION ALL SELECT 'not_owner', pg_catalog.pg_get_userbyid(t.relowner) FROM t "
         "WHERE NOT pg_catalog.pg_has_role(t.relowner, 'USAGE') "
         "UNION ALL SELECT 'toast_options', pg_catalog.array_to_string(x.reloptions, ', ') "
         "FROM t JOIN pg_catalog.pg_class x ON x.oid = t.reltoastrelid "
         "WHERE x.reloptions IS NOT NULL";
}

std::string select_table() {
  return "SELECT pg_catalog.pg_get_userbyid(t.relowner), pg_catalog.pg_get_userbyid(s.relowner), "
         "pg_catalog.obj_description(t.oid, 'pg_class'), t.relrowsecurity, "
         "t.relforcerowsecurity, t.relreplident::text "
         "FROM pg_catalog.pg_class t, pg_catalog.pg_class s "
         "WHERE t.oid = $1::pg_catalog.regclass AND s.oid = $2::pg_catalog.regclass";
}

std::string select_columns() {
  return "SELECT CASE WHEN a.attrelid = $1::pg_catalog.regclass THEN 't' ELSE 's' END, "
         "a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), "
         "CASE WHEN a.attcollation <> y.typcollation THEN pg_catalog.quote_ident(cn.nspname) || "
         "'.' || pg_catalog.quote_ident(co.collname) ELSE '' END, a.attnotnull, "
         "a.attidentity::text, a.attgenerated::text, pg_catalog.pg_get_expr(d.adbin, d.adrelid), "
         "a.attstattarget, coalesce(pg_catalog.array_to_string(ARRAY(SELECT o FROM "
         "pg_catalog.unnest(a.attoptions) o WHERE o NOT LIKE 'pg!_%' ESCAPE '!'), ', '), ''), "
         "a.attstorage::text, a.attcompression::text, "
         "pg_catalog.col_description(a.attrelid, a.attnum) "
         "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type y ON y.oid = a.atttypid "
         "LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation "
         "LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace "
         "LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
         "WHERE a.attrelid IN ($1::pg_catalog.regclass, $2::pg_catalog.regclass) "
         "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1 DESC, a.attnum";
}

std::string select_indexes() {
  // pg_get_indexdef() names the index and the table, schema-qualified, quoted as quote_ident
  // quotes: what follows is what the index is.
  return "SELECT CASE WHEN i.indrelid = $1::pg_catalog.regclass THEN 't' ELSE 's' END, "
         "x.relname, i.indisunique, "
         "CASE WHEN pg_catalog.left(parts.definition, pg_catalog.length(parts.prefix)) = "
         "parts.prefix THEN pg_catalog.substr(parts.definition, pg_catalog.length(parts.prefix) + "
         "1) ELSE '' END, coalesce(ts.spcname, ''), i.indisclustered, i.indisreplident, "
         "pg_catalog.obj_description(x.oid, 'pg_class') "
         "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class x ON x.oid = i.indexrelid "
         "JOIN pg_catalog.pg_class c ON c.oid = i.indrelid "
         "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
         "LEFT JOIN pg_catalog.pg_tablespace ts ON ts.oid = x.reltablespace, "
         "LATERAL (SELECT pg_catalog.pg_get_indexdef(x.oid) AS definition, 'CREATE ' || "
         "CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX ' || "
         "pg_catalog.quote_ident(x.relname) || ' ON ' || pg_catalog.quote_ident(n.nspname) || "
         "'.' || pg_catalog.quote_ident(c.relname) || ' ' AS prefix) parts "
         "WHERE i.indrelid IN ($1::pg_catalog.regclass, $2::pg_catalog.regclass) "
         "ORDER BY 1 DESC, x.relname";
}

std::string select_triggers() {
  return "SELECT g.tgname, pg_catalog.pg_get_triggerdef(g.oid), g.tgenabled::text, "
         "pg_catalog.obj_description(g.oid, 'pg_trigger') FROM pg_catalog.pg_trigger g "
         "WHERE g.tgrelid = $1::pg_catalog.regclass AND NOT g.tgisinternal ORDER BY g.tgname";
}

std::string select_policies() {
  return "SELECT p.polname, p.polpermissive, p.polcmd::text, coalesce((SELECT "
         "pg_catalog.string_agg(CASE WHEN u.role = 0 THEN 'PUBLIC' ELSE "
         "pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(u.role)) END, ', ' ORDER BY "
         "u.position) "
         "FROM pg_catalog.unnest(p.polroles) WITH ORDINALITY u(role, position)), 'PUBLIC'), "
         "pg_catalog.pg_get_expr(p.polqual, p.polrelid), "
         "pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), "
         "pg_catalog.obj_description(p.oid, 'pg_policy') FROM pg_catalog.pg_policy p "
         "WHERE p.polrelid = $1::pg_catalog.regclass ORDER BY p.polname";
}

std::string select_lock_holders() {
  // A prepared transaction holds its locks without a process: it counts as a holder too.
  return "SELECT coalesce('process ' || l.pid, 'a prepared transaction'), l.mode "
         "FROM pg_catalog.pg_locks l WHERE l.locktype = 'relation' AND l.granted "
         "AND l.database = (SELECT oid FROM pg_catalog.pg_database "
         "WHERE datname = pg_catalog.current_database()) "
         "AND l.relation = $1::pg_catalog.regclass "
         "AND l.pid IS DISTINCT FROM pg_catalog.pg_backend_pid() ORDER BY l.pid, l.mode";
}

std::string rename_table(const TableRef& from, const Identifier& to) {
  return "ALTER TABLE " + from.quoted() + " RENAME TO " + to.quoted();
}

std::string rename_index(const Identifier& schema, const std::string& from, const std::string& to) {
  return "ALTER INDEX " + schema.quoted() + "." + quoted(from) + " RENAME TO " + quoted(to);
}

std::string create_policy(const TableRef& table, const SwapPolicy& policy) {
  std::string statement =
      fmt::format("CREATE POLICY {} ON {} AS {} FOR {} TO {}", quoted(policy.name), table.quoted(),
                  policy.permissive ? "PERMISSIVE" : "RESTRICTIVE", policy_command(policy.command),
                  policy.roles);
  if (policy.using_expression)
    statement += " USING (" + *policy.using_expression + ")";
  if (policy.check_expression)
    statement += " WITH CHECK (" + *policy.check_expression + ")";
  return statement;
}

} // namespace swap_sql

SwapFacts read_swap_facts(Connection& connection, const TableRef& table, const TableRef& staging) {
  const std::vector<std::string> both{table.quoted(), staging.quoted()};
  const std::vector<std::string> one{table.quoted()};
  const std::string context = "reading what depends on " + table.quoted();
  SwapFacts facts;
  for (const auto& row : connection.query(swap_sql::select_obstacles(), both, context))
    facts.obstacles.push_back({text(row, 0), text(row, 1)});
  auto rows = connection.query(swap_sql::select_table(), both, context);
  if (rows.empty())
    throw SystemError("Table " + table.quoted() + " or " + staging.quoted() + " is gone.");
  facts.owner = text(rows[0], 0);
  facts.staging_owner = text(rows[0], 1);
  facts.comment = optional_text(rows[0], 2);
  facts.row_security = text(rows[0], 3) == "t";
  facts.force_row_security = text(rows[0], 4) == "t";
  facts.replica_identity = text(rows[0], 5);
  for (const auto& row : connection.query(view_sql::select_options(), one, context))
    facts.options.emplace_back(text(row, 0), text(row, 1));
  for (const auto& row : connection.query(swap_sql::select_columns(), both, context))
    (text(row, 0) == "t" ? facts.columns : facts.staging_columns).push_back(column_from(row));
  for (const auto& row : connection.query(swap_sql::select_indexes(), both, context))
    (text(row, 0) == "t" ? facts.indexes : facts.staging_indexes).push_back(index_from(row));
  for (const auto& row : connection.query(swap_sql::select_triggers(), one, context))
    facts.triggers.push_back({text(row, 0), text(row, 1), text(row, 2), optional_text(row, 3)});
  for (const auto& row : connection.query(swap_sql::select_policies(), one, context))
    facts.policies.push_back({text(row, 0), text(row, 1) == "t", text(row, 2), text(row, 3),
                              optional_text(row, 4), optional_text(row, 5), optional_text(row, 6)});
  return facts;
}

namespace {

constexpr const char* kSwapSavepoint = "pgdest_swap";

// Takes the table's exclusive lock, waiting at most lock_timeout each try; false when another
// session held it through every try. A waiting lock makes new readers of the table queue behind
// it, so no try waits long.
bool lock_with_tries(Connection& connection, const TableRef& table, const SwapOptions& options) {
  const std::string context = "locking table " + table.quoted() + " for the swap";
  auto pause = options.first_pause;
  for (int attempt = 1;; ++attempt) {
    connection.execute("SAVEPOINT pgdest_lock", context);
    try {
      // lock_timeout stays set for the rest of the swap: dropping the views on the table waits
      // for their readers no longer either.
      connection.execute(fmt::format("SET LOCAL lock_timeout = '{}ms'; {}",
                                     options.lock_timeout.count(), sql::lock_table(table)),
                         context);
      return true;
    } catch (const Error& error) {
      if (!connection.healthy() || !has_sqlstate(error, "55P03"))
        throw;
    }
    connection.execute("ROLLBACK TO SAVEPOINT pgdest_lock", context);
    if (attempt >= options.lock_tries)
      return false;
    spdlog::info("Another session holds {}; trying its lock again in {:.1f} s.", table.quoted(),
                 static_cast<double>(pause.count()) / 1000.0);
    if (options.sleep)
      options.sleep(pause);
    else
      std::this_thread::sleep_for(pause);
    pause *= 2;
  }
}

// The other sessions holding a lock on the table (every mode conflicts with the swap's), as
// "process 123: AccessShareLock, ..."; empty when there is none. Waiting for them would only
// spend the lock's tries.
std::string lock_holders(Connection& connection, const TableRef& table) {
  std::string holders;
  for (const auto& row : connection.query(swap_sql::select_lock_holders(), {table.quoted()},
                                          "looking for sessions holding " + table.quoted()))
    holders += (holders.empty() ? "" : ", ") + text(row, 0) + ": " + text(row, 1);
  return holders;
}

std::string plural(std::size_t count, const char* one, const char* many) {
  return fmt::format("{} {}", count, count == 1 ? one : many);
}

// The swap, inside the caller's savepoint; the reason it cannot be done, or nothing when done.
// `summary` says what it carried.
std::optional<std::string> swap(Connection& connection, const TableRef& table,
                                const TableRef& staging, const SwapOptions& options,
                                std::string& summary) {
  // Every name in the SQL the server makes (definitions, expressions) carries its schema.
  connection.execute("SET LOCAL search_path = ''", "qualifying the names in saved definitions");
  auto plan = plan_swap(read_swap_facts(connection, table, staging), table, staging);
  if (!plan.swap)
    return plan.reason;
  // A session holding the table now makes the swap wait in vain: known before any index is built
  // for it, and asked again once some were.
  auto held = [&]() -> std::optional<std::string> {
    if (auto holders = lock_holders(connection, table); !holders.empty())
      return "another session already holds a lock on the table (" + holders +
             "; a reader such as pg_dump holds it to its end, and the copy does not wait for it)";
    return std::nullopt;
  };
  if (auto reason = held())
    return reason;
  // Building an index reads every row: done before the lock, while readers go on.
  for (const auto& build : plan.index_builds)
    connection.execute(build.statement,
                       "building index " + quoted(build.name) + " on " + staging.quoted());
  if (!plan.index_builds.empty())
    if (auto reason = held())
      return reason;
  if (!lock_with_tries(connection, table, options))
    return fmt::format("another session held the table through {} tries of {:.1f} s (a long "
                       "reader; the copy does not wait for it)",
                       options.lock_tries,
                       static_cast<double>(options.lock_timeout.count()) / 1000.0);

  // Decided again under the lock, from what the catalog says now.
  auto facts = read_swap_facts(connection, table, staging);
  auto locked = plan_swap(facts, table, staging);
  if (!locked.swap)
    return locked.reason;
  const std::string context =
      "swapping " + staging.quoted() + " into the place of " + table.quoted();
  // An index a user added meanwhile (those built before are found on staging now).
  for (const auto& build : locked.index_builds)
    connection.execute(build.statement, context);
  for (const auto& statement : locked.prepare_staging)
    connection.execute(statement, context);
  const auto privileges = save_privileges(connection, table);
  const auto views = DependentViews::save(connection, table);
  views.drop(connection);
  // Without CASCADE: anything depending on the table that was not accounted for fails the drop.
  connection.execute(sql::drop_table(table), context);
  connection.execute(swap_sql::rename_table(staging, table.table), context);
  for (const auto& [from, to] : locked.index_renames)
    connection.execute(swap_sql::rename_index(table.schema, from, to), context);
  for (const auto& statement : locked.restore)
    connection.execute(statement, context);
  restore_privileges(connection, table, "table", facts.owner, privileges);
  views.recreate(connection);

  const auto grants =
      std::count_if(privileges.grants.begin(), privileges.grants.end(),
                    [&](const RelationGrant& grant) { return grant.grantee != facts.owner; });
  summary = fmt::format("{}, {}, {}, {}, {} carried", plural(views.views().size(), "view", "views"),
                        plural(static_cast<std::size_t>(grants), "grant", "grants"),
                        plural(locked.indexes_carried, "index", "indexes"),
                        plural(locked.triggers_carried, "trigger", "triggers"),
                        plural(locked.policies_carried, "policy", "policies"));
  return std::nullopt;
}

} // namespace

ReplaceOutcome replace_table_rows(Connection& connection, const TableRef& table,
                                  const TableRef& staging, const std::vector<std::string>& columns,
                                  const SwapOptions& options) {
  const std::string context = "replacing the rows of " + table.quoted();
  ReplaceOutcome outcome;
  std::string why_not;
  connection.execute(std::string("SAVEPOINT ") + kSwapSavepoint, context);
  try {
    std::string summary;
    if (auto reason = swap(connection, table, staging, options, summary))
      why_not = *reason;
    else
      outcome = {true, "swapped " + staging.quoted() + " into the place of " + table.quoted() +
                           " (O(1) in the rows): " + summary};
  } catch (const Error& error) {
    if (!connection.healthy())
      throw;
    why_not = has_sqlstate(error, "55P03") || has_sqlstate(error, "40P01")
                  ? std::string("another session held a view on the table")
                  : std::string("the swap failed: ") + error.what();
  }
  if (!outcome.swapped) {
    // Back to before the swap, settings included: the copy runs as it would have alone.
    connection.execute(std::string("ROLLBACK TO SAVEPOINT ") + kSwapSavepoint, context);
    connection.execute(sql::delete_all_rows(table), context);
    connection.execute(sql::insert_select(table, staging, columns), context);
    connection.execute(sql::drop_table(staging), context);
    outcome.summary = "copied the rows of " + staging.quoted() + " into " + table.quoted() +
                      " (DELETE + INSERT … SELECT), as " + why_not;
  }
  return outcome;
}

} // namespace pgdest::postgres
