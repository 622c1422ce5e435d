// The catalog and statistics reads behind advise_scale, and the JSON form of
// their result. Each read is one set-based statement through the
// SafeExecutor; per-table details (columns, keys, BRIN indexes) are read for
// the tables of the first read only, by oid.
#include "core/scale/scale_snapshot.h"

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/common/error.h"
#include "core/pg/safe_executor.h"

namespace dbopt::scale {
namespace {

using Row = std::vector<std::optional<std::string>>;
using Json = nlohmann::json;

constexpr const char* kEnableStatements =
    "pg_stat_statements is what shows which queries are expensive and how often they run. Enable it: add it to "
    "shared_preload_libraries (ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'; keep any libraries "
    "already listed), restart PostgreSQL, then CREATE EXTENSION pg_stat_statements; in this database (managed "
    "platforms preload it; CREATE EXTENSION is still needed). Without it the advice rests on table counters only: "
    "no query-level cache candidates, no materialized views, no check of which queries filter on a partition key.";

// Tables and partitioned tables of user schemas, largest first; extension
// members (pg_partman's configuration, Citus's metadata) are left out. A
// partitioned table's sizes are the sums of its direct partitions'.
constexpr const char* kTablesSql = R"sql(
SELECT c.oid, n.nspname, c.relname, format('%I.%I', n.nspname, c.relname),
       coalesce(s.seq_scan, 0), coalesce(s.seq_tup_read, 0), coalesce(s.idx_scan, 0), coalesce(s.idx_tup_fetch, 0),
       coalesce(s.n_tup_ins, 0), coalesce(s.n_tup_upd, 0), coalesce(s.n_tup_del, 0), coalesce(s.n_tup_hot_upd, 0),
       coalesce(s.n_live_tup, 0), coalesce(s.n_dead_tup, 0),
       CASE WHEN c.relkind = 'p' THEN coalesce((SELECT sum(pg_total_relation_size(i.inhrelid)) FROM pg_catalog.pg_inherits i
                                                WHERE i.inhparent = c.oid), 0)
            ELSE pg_total_relation_size(c.oid) END AS total_bytes,
       CASE WHEN c.relkind = 'p' THEN coalesce((SELECT sum(pg_relation_size(i.inhrelid)) FROM pg_catalog.pg_inherits i
                                                WHERE i.inhparent = c.oid), 0)
            ELSE pg_relation_size(c.oid) END,
       c.relkind = 'p', CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) ELSE '' END,
       coalesce((SELECT format('%I.%I', pn.nspname, pc.relname) FROM pg_catalog.pg_inherits i
                 JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent
                 JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
                 WHERE i.inhrelid = c.oid AND c.relispartition LIMIT 1), ''),
       (SELECT count(*) FROM pg_catalog.pg_inherits i WHERE i.inhparent = c.oid)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_stat_user_tables s ON s.relid = c.oid
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY total_bytes DESC, 4
LIMIT $1)sql";

// Columns with their types; correlation for date/time columns only (the
// time-series check needs nothing else, and pg_stats is read per column).
constexpr const char* kColumnsSql = R"sql(
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       CASE WHEN a.atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) THEN
         (SELECT st.correlation FROM pg_catalog.pg_stats st
          WHERE st.schemaname = n.nspname AND st.tablename = c.relname AND st.attname = a.attname
          ORDER BY st.inherited LIMIT 1)
       END
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum)sql";

// Primary and foreign keys, column names joined by a unit separator.
constexpr const char* kKeysSql = R"sql(
SELECT k.conrelid, k.contype, k.conname,
       (SELECT string_agg(a.attname, chr(31) ORDER BY x.n) FROM unnest(k.conkey) WITH ORDINALITY x(attnum, n)
        JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = x.attnum),
       CASE WHEN rc.oid IS NULL THEN '' ELSE format('%I.%I', rn.nspname, rc.relname) END,
       coalesce((SELECT string_agg(a.attname, chr(31) ORDER BY x.n) FROM unnest(k.confkey) WITH ORDINALITY x(attnum, n)
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = x.attnum), '')
FROM pg_catalog.pg_constraint k
LEFT JOIN pg_catalog.pg_class rc ON rc.oid = k.confrelid
LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
WHERE k.conrelid = ANY($1::oid[]) AND k.contype IN ('p', 'f') AND k.conparentid = 0
ORDER BY k.conrelid, k.conname)sql";

constexpr const char* kBrinSql = R"sql(
SELECT i.indrelid, pg_get_indexdef(i.indexrelid)
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ci ON ci.oid = i.indexrelid
JOIN pg_catalog.pg_am am ON am.oid = ci.relam
WHERE am.amname = 'brin' AND i.indrelid = ANY($1::oid[])
ORDER BY 1, 2)sql";

constexpr const char* kServerSql = R"sql(
SELECT current_database(), current_setting('server_version_num'),
       extract(epoch FROM now() - coalesce(d.stats_reset, pg_postmaster_start_time())),
       to_char(coalesce(d.stats_reset, pg_postmaster_start_time()) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'),
       (SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_catalog.pg_extension)
FROM pg_catalog.pg_stat_database d WHERE d.datname = current_database())sql";

// This database's statements by total time; dbopt's own catalog reads and
// utility statements are left out.
constexpr const char* kStatementsSql = R"sql(
WITH s AS (
  SELECT s.queryid, s.query, s.calls, s.total_exec_time, s.mean_exec_time, s.rows
  FROM pg_stat_statements s
  WHERE s.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
    AND s.query ~* '^\s*(select|with|insert|update|delete|merge|table|values)\M'
    AND s.query !~* 'pg_stat_statements|pg_catalog\.|information_schema\.'
)
SELECT coalesce(queryid::text, ''), query, calls, total_exec_time, mean_exec_time, rows, sum(total_exec_time) OVER ()
FROM s
ORDER BY total_exec_time DESC, queryid
LIMIT $1)sql";

std::string text(const std::optional<std::string>& v) { return v.value_or(""); }
double number(const std::optional<std::string>& v) { return v ? std::strtod(v->c_str(), nullptr) : 0; }

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) out.push_back(part);
  return out;
}

std::string bare_name(std::string_view qualified) {
  const auto dot = qualified.rfind('.');
  std::string name(dot == std::string_view::npos ? qualified : qualified.substr(dot + 1));
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
  return name;
}

// JSON reading helpers: a wrong type names the field.
double num(const Json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return 0;
  if (!j[key].is_number())
    throw Error(ErrorCode::invalid_argument, "`snapshot`: " + where + "." + key + " must be a number.",
                "Give counters and sizes as plain numbers, as scale_snapshot_to_json writes them.");
  return j[key].get<double>();
}
std::string str(const Json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return "";
  if (!j[key].is_string())
    throw Error(ErrorCode::invalid_argument, "`snapshot`: " + where + "." + key + " must be a string.", "");
  return j[key].get<std::string>();
}
std::vector<std::string> strings(const Json& j, const char* key, const std::string& where) {
  std::vector<std::string> out;
  if (!j.contains(key) || j[key].is_null()) return out;
  if (!j[key].is_array())
    throw Error(ErrorCode::invalid_argument, "`snapshot`: " + where + "." + key + " must be an array of strings.", "");
  for (const auto& v : j[key]) {
    if (!v.is_string())
      throw Error(ErrorCode::invalid_argument, "`snapshot`: " + where + "." + key + " must be an array of strings.",
                  "");
    out.push_back(v.get<std::string>());
  }
  return out;
}
const Json& array_field(const Json& j, const char* key, const std::string& where) {
  static const Json empty = Json::array();
  if (!j.contains(key) || j[key].is_null()) return empty;
  if (!j[key].is_array())
    throw Error(ErrorCode::invalid_argument, "`snapshot`: " + where + "." + key + " must be an array.", "");
  return j[key];
}

}  // namespace

const ScaleTable* ScaleSnapshot::find(std::string_view table) const {
  for (const auto& t : tables)
    if (t.table == table) return &t;
  for (const auto& t : tables)
    if (t.name == table) return &t;
  return nullptr;
}

ScaleSnapshot read_scale_snapshot(pg::DatabasePool& databases, const std::string& database,
                                  const ScaleReadOptions& options) {
  pg::SafeExecutor executor(databases);
  const auto rows = [&](const char* sql, std::vector<std::optional<std::string>> params = {}) {
    return executor.run(database, sql, {.cancel = options.cancel, .max_rows = 0, .params = std::move(params)}).rows;
  };
  ScaleSnapshot snap;
  snap.database = databases.database(database).name;
  const auto server = rows(kServerSql);
  if (!server.empty()) {
    snap.database_name = text(server[0][0]);
    snap.server_version_num = static_cast<int>(number(server[0][1]));
    snap.stats_age_s = number(server[0][2]);
    snap.stats_since = text(server[0][3]);
    snap.extensions = split(text(server[0][4]), ',');
  }

  std::map<std::string, std::size_t> by_oid;
  std::string oids = "{";
  for (const auto& r : rows(kTablesSql, {std::to_string(options.max_tables)})) {
    ScaleTable t;
    t.schema = text(r[1]);
    t.name = text(r[2]);
    t.table = text(r[3]);
    t.seq_scan = number(r[4]);
    t.seq_tup_read = number(r[5]);
    t.idx_scan = number(r[6]);
    t.idx_tup_fetch = number(r[7]);
    t.n_tup_ins = number(r[8]);
    t.n_tup_upd = number(r[9]);
    t.n_tup_del = number(r[10]);
    t.n_tup_hot_upd = number(r[11]);
    t.n_live_tup = number(r[12]);
    t.n_dead_tup = number(r[13]);
    t.total_bytes = number(r[14]);
    t.table_bytes = number(r[15]);
    t.partitioned = text(r[16]) == "t";
    t.partition_key = text(r[17]);
    t.partition_of = text(r[18]);
    t.partitions = static_cast<int>(number(r[19]));
    by_oid[text(r[0])] = snap.tables.size();
    oids += (oids.size() > 1 ? "," : "") + text(r[0]);
    snap.tables.push_back(std::move(t));
  }
  oids += "}";
  if (!snap.tables.empty()) {
    for (const auto& r : rows(kColumnsSql, {oids})) {
      auto it = by_oid.find(text(r[0]));
      if (it == by_oid.end()) continue;
      ScaleColumn c{.name = text(r[1]), .type = text(r[2]), .not_null = text(r[3]) == "t"};
      if (r[4]) c.correlation = number(r[4]);
      snap.tables[it->second].columns.push_back(std::move(c));
    }
    for (const auto& r : rows(kKeysSql, {oids})) {
      auto it = by_oid.find(text(r[0]));
      if (it == by_oid.end()) continue;
      ScaleTable& t = snap.tables[it->second];
      if (text(r[1]) == "p") {
        t.primary_key = split(text(r[3]), '\x1f');
      } else {
        t.foreign_keys.push_back({.constraint = text(r[2]),
                                  .columns = split(text(r[3]), '\x1f'),
                                  .referenced = text(r[4]),
                                  .referenced_columns = split(text(r[5]), '\x1f')});
      }
    }
    for (const auto& r : rows(kBrinSql, {oids})) {
      auto it = by_oid.find(text(r[0]));
      if (it != by_oid.end()) snap.tables[it->second].brin_indexes.push_back(text(r[1]));
    }
  }

  const bool has_statements =
      std::find(snap.extensions.begin(), snap.extensions.end(), "pg_stat_statements") != snap.extensions.end();
  if (!has_statements) {
    snap.statements_note =
        "pg_stat_statements is not installed in database " + snap.database_name + ". " + kEnableStatements;
  } else {
    try {
      for (const auto& r : rows(kStatementsSql, {std::to_string(options.max_statements)})) {
        snap.statements.push_back({.queryid = text(r[0]),
                                   .query = text(r[1]),
                                   .calls = number(r[2]),
                                   .total_ms = number(r[3]),
                                   .mean_ms = number(r[4]),
                                   .rows = number(r[5])});
        snap.statements_total_ms = number(r[6]);
      }
      snap.statements_available = true;
    } catch (const Error& e) {
      if (e.code() == ErrorCode::cancelled || e.code() == ErrorCode::deadline_exceeded ||
          e.code() == ErrorCode::unavailable)
        throw;
      snap.statements_note =
          std::string("pg_stat_statements could not be read (") + e.what() + "). " + kEnableStatements;
    }
  }
  return snap;
}

ScaleSnapshot scale_snapshot_from_json(std::string_view json_text) {
  Json j;
  try {
    j = Json::parse(json_text);
  } catch (const Json::parse_error& e) {
    throw Error(ErrorCode::invalid_argument, std::string("`snapshot` is not valid JSON: ") + e.what(),
                "Pass the object advise_scale returns as `snapshot` in its structured output, or one of that shape.");
  }
  if (!j.is_object())
    throw Error(ErrorCode::invalid_argument, "`snapshot` must be a JSON object with a `tables` array.", "");
  ScaleSnapshot snap;
  snap.offline = true;
  snap.database = str(j, "database", "snapshot");
  snap.database_name = str(j, "database_name", "snapshot");
  snap.server_version_num = static_cast<int>(num(j, "server_version_num", "snapshot"));
  snap.stats_age_s = num(j, "stats_age_s", "snapshot");
  snap.stats_since = str(j, "stats_since", "snapshot");
  snap.extensions = strings(j, "extensions", "snapshot");
  int i = 0;
  for (const auto& t : array_field(j, "tables", "snapshot")) {
    const std::string where = "tables[" + std::to_string(i++) + "]";
    if (!t.is_object() || str(t, "table", where).empty())
      throw Error(ErrorCode::invalid_argument, "`snapshot`: " + where + " needs a `table` name.",
                  "Each table is an object such as {\"table\": \"public.orders\", \"idx_scan\": 5000}.");
    ScaleTable x;
    x.table = str(t, "table", where);
    const auto dot = x.table.rfind('.');
    x.schema = str(t, "schema", where);
    if (x.schema.empty()) x.schema = dot == std::string::npos ? "public" : x.table.substr(0, dot);
    x.name = str(t, "name", where);
    if (x.name.empty()) x.name = bare_name(x.table);
    if (dot == std::string::npos) x.table = x.schema + "." + x.table;
    x.seq_scan = num(t, "seq_scan", where);
    x.seq_tup_read = num(t, "seq_tup_read", where);
    x.idx_scan = num(t, "idx_scan", where);
    x.idx_tup_fetch = num(t, "idx_tup_fetch", where);
    x.n_tup_ins = num(t, "n_tup_ins", where);
    x.n_tup_upd = num(t, "n_tup_upd", where);
    x.n_tup_del = num(t, "n_tup_del", where);
    x.n_tup_hot_upd = num(t, "n_tup_hot_upd", where);
    x.n_live_tup = num(t, "n_live_tup", where);
    x.n_dead_tup = num(t, "n_dead_tup", where);
    x.total_bytes = num(t, "total_bytes", where);
    x.table_bytes = num(t, "table_bytes", where);
    if (x.table_bytes == 0) x.table_bytes = x.total_bytes;
    int k = 0;
    for (const auto& c : array_field(t, "columns", where)) {
      const std::string cw = where + ".columns[" + std::to_string(k++) + "]";
      ScaleColumn col{.name = str(c, "name", cw), .type = str(c, "type", cw)};
      if (c.contains("correlation") && !c["correlation"].is_null()) col.correlation = num(c, "correlation", cw);
      col.not_null = c.value("not_null", false);
      x.columns.push_back(std::move(col));
    }
    x.primary_key = strings(t, "primary_key", where);
    k = 0;
    for (const auto& f : array_field(t, "foreign_keys", where)) {
      const std::string fw = where + ".foreign_keys[" + std::to_string(k++) + "]";
      x.foreign_keys.push_back({.constraint = str(f, "constraint", fw),
                                .columns = strings(f, "columns", fw),
                                .referenced = str(f, "referenced", fw),
                                .referenced_columns = strings(f, "referenced_columns", fw)});
      if (x.foreign_keys.back().referenced.find('.') == std::string::npos && !x.foreign_keys.back().referenced.empty())
        x.foreign_keys.back().referenced = "public." + x.foreign_keys.back().referenced;
    }
    x.brin_indexes = strings(t, "brin_indexes", where);
    x.partitioned = t.value("partitioned", false);
    x.partition_key = str(t, "partition_key", where);
    x.partition_of = str(t, "partition_of", where);
    x.partitions = static_cast<int>(num(t, "partitions", where));
    snap.tables.push_back(std::move(x));
  }
  snap.statements_available = j.value("statements_available", j.contains("statements"));
  snap.statements_note = str(j, "statements_note", "snapshot");
  if (!snap.statements_available && snap.statements_note.empty())
    snap.statements_note = std::string("The snapshot has no pg_stat_statements figures. ") + kEnableStatements;
  i = 0;
  for (const auto& s : array_field(j, "statements", "snapshot")) {
    const std::string where = "statements[" + std::to_string(i++) + "]";
    ScaleStatement x{.queryid = str(s, "queryid", where),
                     .query = str(s, "query", where),
                     .calls = num(s, "calls", where),
                     .total_ms = num(s, "total_ms", where),
                     .mean_ms = num(s, "mean_ms", where),
                     .rows = num(s, "rows", where)};
    if (x.mean_ms == 0 && x.calls > 0) x.mean_ms = x.total_ms / x.calls;
    if (x.total_ms == 0) x.total_ms = x.mean_ms * x.calls;
    snap.statements_total_ms += x.total_ms;
    snap.statements.push_back(std::move(x));
  }
  if (j.contains("statements_total_ms"))
    snap.statements_total_ms = std::max(snap.statements_total_ms, num(j, "statements_total_ms", "snapshot"));
  return snap;
}

std::string scale_snapshot_to_json(const ScaleSnapshot& s) {
  Json tables = Json::array();
  for (const auto& t : s.tables) {
    Json columns = Json::array();
    for (const auto& c : t.columns) {
      Json col = {{"name", c.name}, {"type", c.type}, {"not_null", c.not_null}};
      if (c.correlation) col["correlation"] = *c.correlation;
      columns.push_back(col);
    }
    Json fks = Json::array();
    for (const auto& f : t.foreign_keys)
      fks.push_back({{"constraint", f.constraint},
                     {"columns", f.columns},
                     {"referenced", f.referenced},
                     {"referenced_columns", f.referenced_columns}});
    tables.push_back({{"table", t.table},
                      {"schema", t.schema},
                      {"name", t.name},
                      {"seq_scan", t.seq_scan},
                      {"seq_tup_read", t.seq_tup_read},
                      {"idx_scan", t.idx_scan},
                      {"idx_tup_fetch", t.idx_tup_fetch},
                      {"n_tup_ins", t.n_tup_ins},
                      {"n_tup_upd", t.n_tup_upd},
                      {"n_tup_del", t.n_tup_del},
                      {"n_tup_hot_upd", t.n_tup_hot_upd},
                      {"n_live_tup", t.n_live_tup},
                      {"n_dead_tup", t.n_dead_tup},
                      {"total_bytes", t.total_bytes},
                      {"table_bytes", t.table_bytes},
                      {"columns", columns},
                      {"primary_key", t.primary_key},
                      {"foreign_keys", fks},
                      {"brin_indexes", t.brin_indexes},
                      {"partitioned", t.partitioned},
                      {"partition_key", t.partition_key},
                      {"partition_of", t.partition_of},
                      {"partitions", t.partitions}});
  }
  Json statements = Json::array();
  for (const auto& q : s.statements)
    statements.push_back({{"queryid", q.queryid},
                          {"query", q.query},
                          {"calls", q.calls},
                          {"total_ms", q.total_ms},
                          {"mean_ms", q.mean_ms},
                          {"rows", q.rows}});
  Json out = {{"database", s.database},
              {"database_name", s.database_name},
              {"server_version_num", s.server_version_num},
              {"stats_age_s", s.stats_age_s},
              {"stats_since", s.stats_since},
              {"extensions", s.extensions},
              {"tables", tables},
              {"statements_available", s.statements_available},
              {"statements_note", s.statements_note},
              {"statements", statements},
              {"statements_total_ms", s.statements_total_ms}};
  return out.dump();
}

}  // namespace dbopt::scale
