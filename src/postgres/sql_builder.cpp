// Builds the SQL text the connector sends: DDL, COPY, dedup and catalog queries.
#include "pgdest/postgres/sql_builder.hpp"

#include <functional>

#include <fmt/format.h>

namespace pgdest::postgres::sql {
namespace {

// `part(quoted name)` for each name, joined by `separator`.
std::string joined(const std::vector<std::string>& names, const char* separator,
                   const std::function<std::string(const std::string&)>& part) {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty())
      out += separator;
    out += part(Identifier(name).quoted());
  }
  return out;
}

std::string quoted_list(const std::vector<std::string>& names) {
  return joined(names, ", ", [](const std::string& quoted) { return quoted; });
}

} // namespace

const std::vector<MetaColumn>& meta_columns() {
  static const std::vector<MetaColumn> columns = {
      {"_airbyte_raw_id", "character varying", true, nullptr},
      {"_airbyte_extracted_at", "timestamp with time zone", true, nullptr},
      {"_airbyte_meta", "jsonb", true, R"('{"changes": []}')"},
      {"_airbyte_generation_id", "bigint", true, "0"},
  };
  return columns;
}

const std::vector<MetaColumn>& layout_columns(schema::TableLayout layout) {
  static const std::vector<MetaColumn> raw = [] {
    auto columns = meta_columns();
    columns.push_back({"_airbyte_loaded_at", "timestamp with time zone", false, nullptr});
    columns.push_back({"_airbyte_data", "jsonb", true, nullptr});
    return columns;
  }();
  return layout == schema::TableLayout::raw ? raw : meta_columns();
}

std::string literal(std::string_view text) {
  const bool escaped = text.find('\\') != std::string_view::npos;
  std::string out = escaped ? "E'" : "'";
  for (char c : text) {
    if (c == '\'' || (escaped && c == '\\'))
      out += c;
    out += c;
  }
  out += '\'';
  return out;
}

std::string create_schema(const Identifier& schema) {
  return fmt::format("CREATE SCHEMA IF NOT EXISTS {}", schema.quoted());
}

std::string create_table(const TableRef& table, schema::TableLayout layout,
                         const std::vector<schema::Column>& columns) {
  std::string definitions;
  for (const auto& meta : layout_columns(layout)) {
    if (!definitions.empty())
      definitions += ", ";
    definitions += fmt::format("{} {}{}", Identifier(meta.name).quoted(), meta.type,
                               meta.not_null ? " NOT NULL" : "");
  }
  for (const auto& column : columns)
    definitions +=
        fmt::format(", {} {}", Identifier(column.name).quoted(), schema::sql_type(column.type));
  return fmt::format("CREATE TABLE {} ({})", table.quoted(), definitions);
}

std::string create_index(const Identifier& index, const TableRef& table,
                         const std::vector<std::string>& columns) {
  return fmt::format("CREATE INDEX IF NOT EXISTS {} ON {} ({})", index.quoted(), table.quoted(),
                     quoted_list(columns));
}

std::string add_column(const TableRef& table, const schema::Column& column) {
  return fmt::format("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}", table.quoted(),
                     Identifier(column.name).quoted(), schema::sql_type(column.type));
}

std::string add_meta_column(const TableRef& table, const MetaColumn& meta) {
  return fmt::format("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {} DEFAULT {}", table.quoted(),
                     Identifier(meta.name).quoted(), meta.type, meta.default_for_older_rows);
}

std::string copy_binary_from_stdin(const TableRef& table, const std::vector<std::string>& columns) {
  return fmt::format("COPY {} ({}) FROM STDIN WITH (FORMAT binary)", table.quoted(),
                     quoted_list(columns));
}

std::string delete_all_rows(const TableRef& table) {
  return "DELETE FROM " + table.quoted();
}

std::string truncate_table(const TableRef& table) {
  return "TRUNCATE TABLE " + table.quoted();
}

std::string lock_table(const TableRef& table) {
  return "LOCK TABLE " + table.quoted() + " IN ACCESS EXCLUSIVE MODE";
}

std::string analyze(const TableRef& table, const std::vector<std::string>& columns) {
  return fmt::format("ANALYZE {} ({})", table.quoted(), quoted_list(columns));
}

std::string drop_table(const TableRef& table) {
  return "DROP TABLE IF EXISTS " + table.quoted();
}

std::string drop_index(const Identifier& schema, const Identifier& index) {
  return fmt::format("DROP INDEX IF EXISTS {}.{}", schema.quoted(), index.quoted());
}

std::string insert_select(const TableRef& to, const TableRef& from,
                          const std::vector<std::string>& columns) {
  auto list = quoted_list(columns);
  return fmt::format("INSERT INTO {} ({}) SELECT {} FROM {}", to.quoted(), list, list,
                     from.quoted());
}

std::string alter_column_type(const TableRef& table, const std::string& column,
                              schema::ColumnType type, const std::string& using_expression) {
  std::string sql = fmt::format("ALTER TABLE {} ALTER COLUMN {} TYPE {}", table.quoted(),
                                Identifier(column).quoted(), schema::sql_type(type));
  if (!using_expression.empty())
    sql += " USING " + using_expression;
  return sql;
}

std::string create_keys_table(const Identifier& keys, const std::vector<schema::Column>& key) {
  // Made and dropped within one transaction, so that through a transaction pooler the COPY of the
  // keys and the DELETE reading them meet the same table, and no server connection keeps it. The
  // column types are spelled out rather than copied from the target (CREATE … AS SELECT): the
  // statement runs in every transaction that loads keys, also after a refresh swap dropped the
  // staging table it would have read.
  std::string columns;
  for (const auto& column : key)
    columns += fmt::format("{}{} {}", columns.empty() ? "" : ", ", Identifier(column.name).quoted(),
                           schema::sql_type(column.type));
  return fmt::format("DROP TABLE IF EXISTS pg_temp.{0}; CREATE TEMP TABLE {0} ({1}) ON COMMIT DROP",
                     keys.quoted(), columns);
}

namespace {

// Against a target much larger than the keys, a hash or merge join would read the whole target:
// lookups through the key index keep the cost with the keys (plain index scans: a key has a row
// or two, too few for a bitmap to pay off). Names are normalised: no quotes inside. The planner
// settings go back to their defaults for the rest of the transaction only (RESET would set them
// for the session: through a pooler, for whichever client gets it next).
std::string lookups_by_index(const std::string& table, const std::string& keys,
                             const std::string& statements) {
  return fmt::format(
      "IF pg_relation_size('{0}') > 4 * pg_relation_size('{1}') THEN SET LOCAL enable_hashjoin = "
      "off; SET LOCAL enable_mergejoin = off; SET LOCAL enable_bitmapscan = off; END IF; SET "
      "LOCAL enable_hashagg = off; {2} SET LOCAL enable_hashjoin TO DEFAULT; SET LOCAL "
      "enable_mergejoin TO DEFAULT; SET LOCAL enable_bitmapscan TO DEFAULT; SET LOCAL "
      "enable_hashagg TO DEFAULT;",
      table, keys, statements);
}

// `statement(which, match)` for every pattern of NULL key parts that the keys table holds, so that
// every lookup can use the key index: `which` selects the pattern's keys from the keys table, and
// `match` joins a row `r` to a key `k`, a NULL part with IS NULL, the others with =. NULL key parts
// match each other. For keys of more than kMaxKeyPartsByPattern parts, one NULL-safe statement
// without the index takes the keys with NULL parts.
std::string for_each_key_pattern(
    const std::vector<std::string>& key, const std::string& keys,
    const std::function<std::string(const std::string&, const std::string&)>& statement) {
  // Bit i of `pattern` set: part i is NULL.
  auto for_pattern = [&](std::size_t pattern) {
    std::string which;
    std::string match;
    for (std::size_t i = 0; i < key.size(); ++i) {
      auto column = Identifier(key[i]).quoted();
      bool null = (pattern >> i) & 1U;
      which += fmt::format("{}{} IS {}NULL", i ? " AND " : "", column, null ? "" : "NOT ");
      match += fmt::format("{}r.{}", i ? " AND " : "",
                           null ? column + " IS NULL" : fmt::format("{0} = k.{0}", column));
    }
    return std::make_pair(which, statement(which, match));
  };
  auto any_null =
      joined(key, " OR ", [](const std::string& column) { return column + " IS NULL"; });
  std::string with_nulls;
  if (key.size() <= kMaxKeyPartsByPattern) {
    for (std::size_t pattern = 1; pattern < (std::size_t{1} << key.size()); ++pattern) {
      auto [which, sql] = for_pattern(pattern);
      with_nulls +=
          fmt::format(" IF EXISTS (SELECT 1 FROM {} WHERE {}) THEN {} END IF;", keys, which, sql);
    }
  } else { // too many patterns to spell out
    with_nulls = " " + statement(any_null, joined(key, " AND ", [](const std::string& column) {
                                   return fmt::format("r.{0} IS NOT DISTINCT FROM k.{0}", column);
                                 }));
  }
  return fmt::format("{} IF EXISTS (SELECT 1 FROM {} WHERE {}) THEN{} END IF;",
                     for_pattern(0).second, keys, any_null, with_nulls);
}

// The rows' order within a key, newest last: cursor (NULL lowest), extraction time, arrival
// (_airbyte_raw_id: our UUID v7 ids order by it). `descending` reverses it. load::later_row_wins
// decides the same order from two rows' bytes where it can: keep the two in step.
std::string version_order(const std::string& alias, const std::string& cursor, bool descending) {
  const char* direction = descending ? " DESC" : "";
  std::string order;
  if (!cursor.empty())
    order += fmt::format("{}.{}{} NULLS {}, ", alias, Identifier(cursor).quoted(), direction,
                         descending ? "LAST" : "FIRST");
  return order + fmt::format("{0}.\"_airbyte_extracted_at\"{1}, {0}.\"_airbyte_raw_id\" COLLATE "
                             "\"C\"{1}",
                             alias, direction);
}

std::string is_deletion(const std::string& alias, const std::string& deleted_at) {
  return deleted_at.empty() ? "false"
                            : alias + "." + Identifier(deleted_at).quoted() + " IS NOT NULL";
}

// A DO block of `body`, quoted with a tag that does not occur inside it (a table or stream may
// be named anything).
std::string do_block(const std::string& tag, const std::string& body) {
  std::string quote = "$" + tag + "$";
  for (int n = 1; body.find(quote) != std::string::npos; ++n)
    quote = "$" + tag + std::to_string(n) + "$";
  return "DO " + quote + body + quote;
}

} // namespace

std::string delete_superseded(const DedupSpec& dedup, std::string_view then) {
  auto target = dedup.target.quoted();
  auto keys = "pg_temp." + dedup.keys.quoted();
  const auto& key = dedup.key;
  // Each DELETE adds the rows it deleted to the count `then` reads.
  const std::string count_deleted =
      then.empty() ? std::string()
                   : fmt::format(" GET DIAGNOSTICS _airbyte_rows = ROW_COUNT; {0} := {0} + "
                                 "_airbyte_rows;",
                                 kRowsDeletedVariable);
  // The keys come out of DISTINCT sorted, so the lookups walk the index in order and the rows of
  // each key arrive together (an incremental sort ranks them). Doomed rows go by their ctid.
  auto delete_where = [&](const std::string& which, const std::string& match) {
    return fmt::format(
        "DELETE FROM {0} t USING (SELECT row_id FROM (SELECT r.ctid AS row_id, {1} AS deleted, "
        "row_number() OVER (PARTITION BY {2} ORDER BY {3}) AS position FROM (SELECT DISTINCT {4} "
        "FROM {5} WHERE {6}) k JOIN {0} r ON {7}) ranked WHERE position > 1 OR deleted) doomed "
        "WHERE t.ctid = doomed.row_id;{8}",
        target, is_deletion("r", dedup.deleted_at),
        joined(key, ", ", [](const std::string& column) { return "r." + column; }),
        version_order("r", dedup.cursor, true), quoted_list(key), keys, which, match,
        count_deleted);
  };
  // With `then`: the names the block declares lose to any column of the same name in its
  // statements, and the count starts at zero.
  const std::string declarations =
      then.empty() ? std::string()
                   : fmt::format("#variable_conflict use_column DECLARE {} bigint := 0; "
                                 "_airbyte_rows bigint; ",
                                 kRowsDeletedVariable);
  return do_block(
      "dedup", " " + declarations + "BEGIN " +
                   lookups_by_index(target, keys, for_each_key_pattern(key, keys, delete_where)) +
                   (then.empty() ? std::string() : " " + std::string(then) + ";") + " END ");
}

const std::vector<std::string>& history_column_names() {
  static const std::vector<std::string> names = {"_airbyte_unique_key", "_airbyte_start_at",
                                                 "_airbyte_end_at", "_airbyte_active_row"};
  return names;
}

std::vector<schema::Column> history_columns(schema::ColumnType start_type) {
  const auto& names = history_column_names();
  return {{names[0], names[0], schema::ColumnType::varchar},
          {names[1], names[1], start_type},
          {names[2], names[2], start_type},
          {names[3], names[3], schema::ColumnType::boolean}};
}

namespace {

// The transaction's id as rows' xmin holds it: txid_current() carries an epoch above the 32-bit
// xid. Named so that no column of a stream's table is likely to shadow it.
constexpr const char* kCurrentXid = "_airbyte_xid";
const std::string kDeclareCurrentXid =
    fmt::format("{} xid := (txid_current() % 4294967296)::text::xid; ", kCurrentXid);

std::string key_columns_of(const std::string& alias, const std::vector<std::string>& key) {
  return joined(key, ", ", [&](const std::string& column) { return alias + "." + column; });
}

// Places every version of the keys `keys` selects (alias k, joined to a version r by `match`)
// in the history again, from the history's narrow columns alone, and updates only the versions
// whose end or active flag changed.
std::string place_versions_again(const DedupSpec& dedup, const TableRef& history,
                                 const std::string& keys, const std::string& match) {
  const auto& names = history_column_names();
  return fmt::format(
      "UPDATE {0} h SET {1} = p.end_at, {2} = p.active_row FROM (SELECT r.ctid AS row_id, r.{1} "
      "AS was_end_at, r.{2} AS was_active_row, lead(r.{3}) OVER w AS end_at, lead(true) OVER w "
      "IS NULL AND NOT ({4}) AS active_row FROM {5} JOIN {0} r ON {6} WINDOW w AS (PARTITION BY "
      "{7} ORDER BY {8})) p WHERE h.ctid = p.row_id AND (p.was_end_at IS DISTINCT FROM p.end_at "
      "OR p.was_active_row IS DISTINCT FROM p.active_row)",
      history.quoted(), Identifier(names[2]).quoted(), Identifier(names[3]).quoted(),
      Identifier(names[1]).quoted(), is_deletion("r", dedup.deleted_at), keys, match,
      key_columns_of("r", dedup.key), version_order("r", dedup.cursor, false));
}

// Places versions (alias `r`, from `from`) in their key's history: the rows' columns,
// _airbyte_unique_key as Airbyte's normalization made it (the MD5 of the key parts as text, NULL
// as '', joined by '-'), the start, the next version's start as the end, and whether the version is
// the key's current one: the newest, unless a deletion.
std::string placed_versions(const HistorySpec& history, const std::string& from) {
  const auto& dedup = history.dedup;
  std::string unique_key;
  for (const auto& part : dedup.key)
    unique_key += fmt::format("{}coalesce(r.{}::text, '')", unique_key.empty() ? "" : " || '-' || ",
                              Identifier(part).quoted());
  auto start =
      "r." + Identifier(dedup.cursor.empty() ? "_airbyte_extracted_at" : dedup.cursor).quoted();
  return fmt::format(
      "SELECT {0}, md5({1}), {2}, lead({2}) OVER w, lead(true) OVER w IS NULL AND NOT ({3}) FROM "
      "{4} WINDOW w AS (PARTITION BY {5} ORDER BY {6})",
      joined(history.columns, ", ", [](const std::string& column) { return "r." + column; }),
      unique_key, start, is_deletion("r", dedup.deleted_at), from, key_columns_of("r", dedup.key),
      version_order("r", dedup.cursor, false));
}

std::string history_insert_list(const HistorySpec& history) {
  auto columns = history.columns;
  columns.insert(columns.end(), history_column_names().begin(), history_column_names().end());
  return quoted_list(columns);
}

} // namespace

std::string record_history(const HistorySpec& history) {
  const auto& dedup = history.dedup;
  auto table = history.table.quoted();
  auto keys = "pg_temp." + dedup.keys.quoted();
  auto batch_keys = [&](const std::string& which) {
    return fmt::format("(SELECT DISTINCT {} FROM {} WHERE {}) k", quoted_list(dedup.key), keys,
                       which);
  };
  // The transaction's rows, found by the batch's keys in the target's key index with the
  // transaction's id as their xmin, go into the history placed among themselves.
  auto add_versions = [&](const std::string& which, const std::string& match) {
    return fmt::format(
        "INSERT INTO {} ({}) {};", table, history_insert_list(history),
        placed_versions(history,
                        fmt::format("{} JOIN {} r ON {} WHERE r.xmin = {}", batch_keys(which),
                                    dedup.target.quoted(), match, kCurrentXid)));
  };
  // Then every version of those keys, earlier ones included, is placed again. (A key the table
  // does not hold may still have versions: deleted by CDC, or by hand, and back.)
  auto place_again = [&](const std::string& which, const std::string& match) {
    return place_versions_again(dedup, history.table, batch_keys(which), match) + ";";
  };
  // The planner, without statistics of the keys table and guessing how many rows match an xmin,
  // took a scan of the whole target, each row compared with every key, for cheaper than a lookup
  // per key (11 s instead of a fraction of one for a commit of 70,000 records into 230,000 rows):
  // a sequential scan is the last resort here, for the keys table alone.
  auto statements = "SET LOCAL enable_seqscan = off; " +
                    for_each_key_pattern(dedup.key, keys, add_versions) + " " +
                    for_each_key_pattern(dedup.key, keys, place_again) +
                    " SET LOCAL enable_seqscan TO DEFAULT;";
  return do_block("history", " DECLARE " + kDeclareCurrentXid + "BEGIN " +
                                 lookups_by_index(table, keys, statements) + " END ");
}

std::string start_history(const HistorySpec& history) {
  return fmt::format("INSERT INTO {} ({}) {}", history.table.quoted(), history_insert_list(history),
                     placed_versions(history, history.dedup.target.quoted() + " r"));
}

const std::vector<OwnColumn>& rejected_values_columns() {
  static const std::vector<OwnColumn> columns = {
      {"stream_namespace", "character varying"},
      {"stream_name", "character varying NOT NULL"},
      {"table_schema", "character varying NOT NULL"},
      {"table_name", "character varying NOT NULL"},
      {"sync_id", "bigint NOT NULL"},
      {"_airbyte_raw_id", "character varying NOT NULL"},
      {"_airbyte_extracted_at", "timestamp with time zone NOT NULL"},
      {"field", "character varying NOT NULL"},
      {"change", "character varying NOT NULL"},
      {"reason", "character varying NOT NULL"},
      {"original_value", "text NOT NULL"},
      {"original_bytes", "bigint NOT NULL"},
      {"original_sha256", "bytea"},
      {"rejected_at", "timestamp with time zone NOT NULL DEFAULT now()"},
  };
  return columns;
}

std::string create_rejected_values_table(const TableRef& table, const Identifier& index) {
  std::string definitions;
  for (const auto& column : rejected_values_columns())
    definitions += fmt::format("{}{} {}", definitions.empty() ? "" : ", ",
                               Identifier(column.name).quoted(), column.definition);
  return fmt::format("CREATE TABLE IF NOT EXISTS {} ({}); {}", table.quoted(), definitions,
                     create_index(index, table, {"table_schema", "table_name", "_airbyte_raw_id"}));
}

std::string select_schema_privileges() {
  // The LEFT JOIN keeps the one row when the schema does not exist.
  return "SELECT current_user, current_database(), "
         "has_database_privilege(current_database(), 'CREATE'), n.oid IS NOT NULL, "
         "coalesce(has_schema_privilege(n.oid, 'USAGE') AND has_schema_privilege(n.oid, 'CREATE'), "
         "false) "
         "FROM (SELECT 1) AS one LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = $1";
}

std::string select_columns() {
  return "SELECT a.attname, format_type(a.atttypid, a.atttypmod) "
         "FROM pg_catalog.pg_attribute a "
         "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
         "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
         "WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped "
         "ORDER BY a.attnum";
}

std::string select_insert_privilege() {
  return "SELECT has_table_privilege(format('%I.%I', $1::text, $2::text), 'INSERT')";
}

std::string select_indexes_on_column() {
  // indkey[0] is the index's first column; an index led by the column serves our lookups.
  return "SELECT i.indexrelid::regclass::text "
         "FROM pg_catalog.pg_index i "
         "JOIN pg_catalog.pg_class c ON c.oid = i.indrelid "
         "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
         "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] "
         "WHERE n.nspname = $1 AND c.relname = $2 AND a.attname = $3";
}

std::string select_index_columns() {
  return "SELECT a.attname FROM pg_catalog.pg_index i "
         "JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
         "JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace "
         "JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position) ON true "
         "JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
         "WHERE n.nspname = $1 AND ic.relname = $2 ORDER BY k.position";
}

std::string select_any_generation(const TableRef& table) {
  return fmt::format("SELECT \"_airbyte_generation_id\"::text FROM {} LIMIT 1", table.quoted());
}

} // namespace pgdest::postgres::sql
