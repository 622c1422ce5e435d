// The catalog and statistics reads behind check_health: one set-based
// statement per category, filtered and limited in SQL so that a catalog of
// tens of thousands of relations returns only the rows worth a look.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <future>
#include <iterator>
#include <mutex>
#include <sstream>

#include "core/common/error.h"
#include "core/health/health_snapshot.h"
#include "core/pg/safe_executor.h"
#include "knowledge/rule_book.h"

namespace dbopt::health {
namespace {

using Row = std::vector<std::optional<std::string>>;

// The table bloat estimate of ioguide's pgsql-bloat-estimation (table/table_bloat.sql,
// BSD-2-Clause): the pages the live rows need (reltuples x the row width from
// pg_stats, with header, alignment and fillfactor) against relpages. Only
// tables of at least $1 pages are looked at.
constexpr const char* kTableBloatEstimateSql = R"sql(
SELECT format('%I.%I', schemaname, tblname), tblpages * bs AS table_bytes,
       greatest(tblpages - est_tblpages_ff, 0) * bs AS bloat_bytes
FROM (
  SELECT ceil(reltuples / ((bs - page_hdr) * fillfactor / (tpl_size * 100))) + ceil(toasttuples / 4) AS est_tblpages_ff,
         tblpages, bs, schemaname, tblname
  FROM (
    SELECT (4 + tpl_hdr_size + tpl_data_size + (2 * ma)
            - CASE WHEN tpl_hdr_size % ma = 0 THEN ma ELSE tpl_hdr_size % ma END
            - CASE WHEN ceil(tpl_data_size)::int % ma = 0 THEN ma ELSE ceil(tpl_data_size)::int % ma END) AS tpl_size,
           heappages + toastpages AS tblpages, reltuples, toasttuples, bs, page_hdr, schemaname, tblname, fillfactor
    FROM (
      SELECT ns.nspname AS schemaname, tbl.relname AS tblname, tbl.reltuples, tbl.relpages AS heappages,
             coalesce(toast.relpages, 0) AS toastpages, coalesce(toast.reltuples, 0) AS toasttuples,
             coalesce(substring(array_to_string(tbl.reloptions, ' ') FROM 'fillfactor=([0-9]+)')::smallint, 100) AS fillfactor,
             current_setting('block_size')::numeric AS bs, 8 AS ma, 24 AS page_hdr,
             23 + CASE WHEN st.max_null_frac > 0 THEN (7 + st.stats_columns) / 8 ELSE 0::int END AS tpl_hdr_size,
             st.tpl_data_size
      FROM pg_catalog.pg_class tbl
      JOIN pg_catalog.pg_namespace ns ON ns.oid = tbl.relnamespace
      LEFT JOIN pg_catalog.pg_class toast ON toast.oid = tbl.reltoastrelid
      -- Per table, so pg_stats is read by name through its index, never whole.
      CROSS JOIN LATERAL (
        SELECT max(coalesce(s.null_frac, 0)) AS max_null_frac, count(s.attname)::int AS stats_columns,
               sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 0)) AS tpl_data_size
        FROM pg_catalog.pg_attribute att
        LEFT JOIN pg_catalog.pg_stats s ON s.schemaname = ns.nspname AND s.tablename = tbl.relname
                                        AND s.inherited = false AND s.attname = att.attname
        WHERE att.attrelid = tbl.oid AND att.attnum > 0 AND NOT att.attisdropped
      ) st
      WHERE tbl.relkind IN ('r', 'm') AND tbl.relpages >= $1 AND tbl.reltuples > 0
        AND ns.nspname NOT IN ('pg_catalog', 'information_schema')
    ) s1
  ) s2
) s3
WHERE tblpages > 0
ORDER BY bloat_bytes DESC
LIMIT $2)sql";

// Measured with pgstattuple_approx (it skips all-visible pages), for the
// largest tables of at least $1 pages.
constexpr const char* kTableBloatMeasuredSql = R"sql(
SELECT format('%I.%I', n.nspname, c.relname), a.table_len, a.dead_tuple_len + a.approx_free_space
FROM (SELECT oid, relname, relnamespace FROM pg_catalog.pg_class
      WHERE relkind IN ('r', 'm') AND relpages >= $1 ORDER BY relpages DESC LIMIT $2) c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL pgstattuple_approx(c.oid) a
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 3 DESC)sql";

// The B-tree estimate of the same project (btree/btree_bloat.sql), simplified
// to what PostgreSQL 13+ needs: entries of (key width + tuple header,
// aligned) per page at the index's fillfactor, against relpages.
constexpr const char* kIndexBloatSql = R"sql(
SELECT format('%I.%I', nspname, idxname), format('%I.%I', nspname, tblname), relpages * bs,
       greatest(relpages - est_pages, 0) * bs
FROM (
  SELECT nspname, idxname, tblname, relpages, bs,
         1 + ceil(reltuples / floor((bs - 24 - 16) * fillfactor / (100 * (4 + tuple_width)::float))) AS est_pages
  FROM (
    SELECT n.nspname, ci.relname AS idxname, ct.relname AS tblname, ci.relpages, ci.reltuples,
           coalesce(substring(array_to_string(ci.reloptions, ' ') FROM 'fillfactor=([0-9]+)')::smallint, 90) AS fillfactor,
           current_setting('block_size')::numeric AS bs,
           8 + ceil(w.key_width / 8) * 8 + CASE WHEN w.has_nulls THEN 8 ELSE 0 END AS tuple_width
    FROM pg_catalog.pg_index i
    JOIN pg_catalog.pg_class ci ON ci.oid = i.indexrelid
    JOIN pg_catalog.pg_class ct ON ct.oid = i.indrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = ci.relnamespace
    -- Per index: key columns (expression columns are in pg_stats under the index's name).
    CROSS JOIN LATERAL (
      SELECT sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 1024)) AS key_width,
             max(coalesce(s.null_frac, 0)) > 0 AS has_nulls
      FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
      LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = CASE WHEN k.attnum = 0 THEN i.indexrelid ELSE i.indrelid END
                                         AND a.attnum = CASE WHEN k.attnum = 0 THEN k.position ELSE k.attnum END
      LEFT JOIN pg_catalog.pg_stats s ON s.schemaname = n.nspname
                                      AND s.tablename = CASE WHEN k.attnum = 0 THEN ci.relname ELSE ct.relname END
                                      AND s.attname = a.attname AND s.inherited = false
    ) w
    WHERE ci.relam = (SELECT oid FROM pg_catalog.pg_am WHERE amname = 'btree') AND ci.relpages >= $1
      AND ci.reltuples > 0 AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  ) e
) b
ORDER BY 4 DESC
LIMIT $2)sql";

// The statistics functions behind pg_stat_user_tables, called only for what
// is needed: the view computes every counter for every table.
constexpr const char* kVacuumSql = R"sql(
SELECT format('%I.%I', n.nspname, c.relname), pg_stat_get_live_tuples(c.oid), pg_stat_get_dead_tuples(c.oid),
       pg_stat_get_mod_since_analyze(c.oid),
       coalesce(greatest(pg_stat_get_last_vacuum_time(c.oid), pg_stat_get_last_autovacuum_time(c.oid))::text, ''),
       coalesce(greatest(pg_stat_get_last_analyze_time(c.oid), pg_stat_get_last_autoanalyze_time(c.oid))::text, ''),
       coalesce(c.reloptions::text ~* 'autovacuum_enabled=(false|off|no|f|0)[,}]', false)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
  AND (pg_stat_get_dead_tuples(c.oid) >= $1 OR pg_stat_get_mod_since_analyze(c.oid) >= $2
       OR coalesce(c.reloptions::text ~* 'autovacuum_enabled=(false|off|no|f|0)[,}]', false))
ORDER BY 3 DESC, 4 DESC
LIMIT $3)sql";

constexpr const char* kDatabaseAgeSql = R"sql(
SELECT datname, age(datfrozenxid), mxid_age(datminmxid),
       current_setting('autovacuum_freeze_max_age'), current_setting('autovacuum_multixact_freeze_max_age')
FROM pg_catalog.pg_database
ORDER BY 2 DESC)sql";

// The oldest tables by transaction ID age and by multixact age (a table's
// TOAST table counts with it).
constexpr const char* kTableAgeSql = R"sql(
WITH ages AS (
  SELECT format('%I.%I', n.nspname, c.relname) AS name,
         greatest(age(c.relfrozenxid), coalesce(age(t.relfrozenxid), 0)) AS xid_age,
         greatest(mxid_age(c.relminmxid), coalesce(mxid_age(t.relminmxid), 0)) AS mxid_age
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_class t ON t.oid = c.reltoastrelid
  WHERE c.relkind IN ('r', 'm')
)
(SELECT * FROM ages ORDER BY xid_age DESC LIMIT $1)
UNION
(SELECT * FROM ages ORDER BY mxid_age DESC LIMIT $1))sql";

constexpr const char* kCacheSql = R"sql(
SELECT current_database(),
       coalesce(sum(pg_stat_get_blocks_hit(c.oid)) FILTER (WHERE c.relkind IN ('r', 'm')), 0),
       coalesce(sum(pg_stat_get_blocks_fetched(c.oid) - pg_stat_get_blocks_hit(c.oid)) FILTER (WHERE c.relkind IN ('r', 'm')), 0),
       coalesce(sum(pg_stat_get_blocks_hit(c.oid)) FILTER (WHERE c.relkind = 'i'), 0),
       coalesce(sum(pg_stat_get_blocks_fetched(c.oid) - pg_stat_get_blocks_hit(c.oid)) FILTER (WHERE c.relkind = 'i'), 0)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm', 'i') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_toast')sql";

// Statistics begin at the last reset; never reset: at least since the server
// start (PostgreSQL 15 keeps them across clean restarts, so this is a lower bound).
constexpr const char* kStatsAgeSql = R"sql(
SELECT coalesce(d.stats_reset::text, ''), pg_postmaster_start_time()::text,
       extract(epoch FROM now() - coalesce(d.stats_reset, pg_postmaster_start_time())),
       to_char(coalesce(d.stats_reset, pg_postmaster_start_time()) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"')
FROM pg_catalog.pg_stat_database d WHERE d.datname = current_database())sql";

constexpr const char* kInvalidIndexSql = R"sql(
SELECT format('%I.%I', n.nspname, ci.relname), format('%I.%I', n.nspname, ct.relname),
       pg_get_indexdef(i.indexrelid), pg_relation_size(i.indexrelid)
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ci ON ci.oid = i.indexrelid
JOIN pg_catalog.pg_class ct ON ct.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = ci.relnamespace
WHERE NOT i.indisvalid
ORDER BY 1
LIMIT $1)sql";

// Not unique, primary, exclusion or behind a constraint: those enforce rules.
constexpr const char* kUnusedIndexSql = R"sql(
SELECT format('%I.%I', n.nspname, ci.relname), format('%I.%I', n.nspname, ct.relname),
       pg_get_indexdef(u.indexrelid), pg_relation_size(u.indexrelid), u.total
FROM (
  SELECT i.indexrelid, i.indrelid, c.relpages, c.relnamespace, count(*) OVER () AS total
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE pg_stat_get_numscans(i.indexrelid) = 0 AND i.indisvalid AND NOT i.indisunique AND NOT i.indisprimary
    AND NOT i.indisexclusion AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
    AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint k WHERE k.conindid = i.indexrelid)
  ORDER BY c.relpages DESC, i.indexrelid
  LIMIT $1
) u
JOIN pg_catalog.pg_class ci ON ci.oid = u.indexrelid
JOIN pg_catalog.pg_class ct ON ct.oid = u.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = u.relnamespace
ORDER BY u.relpages DESC, 1)sql";

// Same table, key columns, operator classes, collations, options, expressions
// and predicate: the same index twice.
constexpr const char* kDuplicateIndexSql = R"sql(
SELECT format('%I.%I', n.nspname, ci.relname), format('%I.%I', n.nspname, ct.relname),
       pg_get_indexdef(d.indexrelid), pg_relation_size(d.indexrelid), pg_stat_get_numscans(d.indexrelid),
       d.indisunique, d.indisprimary,
       EXISTS (SELECT FROM pg_catalog.pg_constraint k WHERE k.conindid = d.indexrelid), d.grp
FROM (
  SELECT i.*, count(*) OVER w AS copies, min(i.indexrelid) OVER w AS grp
  FROM (
    SELECT i.*, c.relam, coalesce(pg_get_expr(i.indexprs, i.indrelid), '') AS exprs,
           coalesce(pg_get_expr(i.indpred, i.indrelid), '') AS pred
    FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
    WHERE i.indisvalid
  ) i
  WINDOW w AS (PARTITION BY i.indrelid, i.relam, i.indkey::text, i.indclass::text, i.indcollation::text,
                            i.indoption::text, i.exprs, i.pred)
) d
JOIN pg_catalog.pg_class ci ON ci.oid = d.indexrelid
JOIN pg_catalog.pg_class ct ON ct.oid = d.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = ci.relnamespace
WHERE d.copies > 1 AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY d.grp, d.indisprimary DESC, d.indisunique DESC, 1
LIMIT $1)sql";

// The limit is the smaller of the sequence's maximum and its column's type.
// Reading last_value opens every sequence (a cold connection builds a
// relcache entry for each), so the sequences are read in $3 parts, by oid,
// on as many connections.
constexpr const char* kSequenceSql = R"sql(
SELECT * FROM (
  SELECT format('%I.%I', n.nspname, c.relname), format_type(q.seqtypid, NULL), v.last_value,
         least(q.seqmax, CASE a.atttypid WHEN 'int2'::regtype THEN 32767 WHEN 'int4'::regtype THEN 2147483647
                                         ELSE q.seqmax END) AS lim,
         coalesce(format('%I.%I', tn.nspname, t.relname), ''), coalesce(quote_ident(a.attname), ''),
         coalesce(format_type(a.atttypid, a.atttypmod), ''), coalesce(d.deptype = 'i', false)
  FROM pg_catalog.pg_sequence q
  JOIN pg_catalog.pg_class c ON c.oid = q.seqrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  CROSS JOIN LATERAL (SELECT CASE WHEN has_sequence_privilege(c.oid, 'SELECT,USAGE')
                                  THEN pg_sequence_last_value(c.oid) END AS last_value) v
  LEFT JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                                  AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')
  LEFT JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
  LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
  LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
  WHERE q.seqincrement > 0 AND c.oid::bigint % $3 = $4
) s
WHERE last_value IS NOT NULL AND last_value::numeric / lim >= $1
ORDER BY last_value::numeric / lim DESC
LIMIT $2)sql";
constexpr int kSequenceParts = 2;

constexpr const char* kConnectionsSql = R"sql(
SELECT current_setting('max_connections'), current_setting('superuser_reserved_connections'),
       count(*) FILTER (WHERE backend_type = 'client backend'),
       count(*) FILTER (WHERE backend_type = 'client backend' AND state = 'idle')
FROM pg_catalog.pg_stat_activity)sql";

// clock_timestamp(): now() is the start of this reading transaction.
constexpr const char* kSessionsSql = R"sql(
SELECT pid, coalesce(datname, ''), coalesce(usename, ''), coalesce(application_name, ''),
       coalesce(client_addr::text, 'local'), coalesce(state, ''), coalesce(wait_event_type, ''),
       coalesce(wait_event, ''), left(coalesce(query, ''), 300),
       coalesce(extract(epoch FROM clock_timestamp() - state_change), 0),
       coalesce(extract(epoch FROM clock_timestamp() - xact_start), 0),
       coalesce(extract(epoch FROM clock_timestamp() - query_start), 0),
       CASE WHEN wait_event_type = 'Lock' THEN array_to_string(pg_blocking_pids(pid), ',') ELSE '' END
FROM pg_catalog.pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND state IS DISTINCT FROM 'idle'
  AND ($1 OR datname = current_database())
ORDER BY xact_start NULLS LAST
LIMIT 500)sql";

constexpr const char* kSlotsSql = R"sql(
SELECT slot_name, slot_type, active,
       coalesce(pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn()
                                     ELSE pg_current_wal_lsn() END, restart_lsn), 0)
FROM pg_catalog.pg_replication_slots
ORDER BY 4 DESC)sql";

constexpr const char* kReplicasSql = R"sql(
SELECT coalesce(application_name, ''), coalesce(client_addr::text, 'local'), coalesce(state, ''),
       coalesce(pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn()
                                     ELSE pg_current_wal_lsn() END, replay_lsn), 0),
       coalesce(extract(epoch FROM replay_lag), 0)
FROM pg_catalog.pg_stat_replication)sql";

constexpr const char* kCheckpointSql = R"sql(
SELECT checkpoints_timed, checkpoints_req, buffers_checkpoint, buffers_clean, maxwritten_clean,
       buffers_backend, buffers_backend_fsync,
       coalesce(to_char(stats_reset AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'), 'the cluster was created'),
       (SELECT setting FROM pg_catalog.pg_settings WHERE name = 'max_wal_size')
FROM pg_catalog.pg_stat_bgwriter)sql";

constexpr const char* kSettingsSql = R"sql(
SELECT name, setting, coalesce(unit, '')
FROM pg_catalog.pg_settings
WHERE name IN ('fsync', 'full_page_writes', 'autovacuum', 'shared_buffers', 'work_mem', 'max_connections',
               'random_page_cost', 'seq_page_cost', 'jit', 'jit_above_cost', 'max_wal_size', 'synchronous_commit',
               'effective_cache_size', 'maintenance_work_mem', 'autovacuum_freeze_max_age'))sql";

constexpr const char* kPoliciesSql = R"sql(
SELECT format('%I.%I', schemaname, tablename), policyname, permissive = 'PERMISSIVE', cmd,
       array_to_string(roles, ','), coalesce(qual, ''), coalesce(with_check, '')
FROM pg_catalog.pg_policies
WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1, 2
LIMIT 2000)sql";

// No valid, non-partial index whose leading columns are the key's columns.
constexpr const char* kForeignKeySql = R"sql(
SELECT format('%I.%I', n.nspname, t.relname), c.conname, c.confrelid::regclass::text,
       array_to_string(ARRAY(SELECT quote_ident(a.attname) FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
                             JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
                             ORDER BY k.ord), ','),
       t.reltuples
FROM pg_catalog.pg_constraint c
JOIN pg_catalog.pg_class t ON t.oid = c.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
WHERE c.contype = 'f' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (
    SELECT FROM pg_catalog.pg_index i
    WHERE i.indrelid = c.conrelid AND i.indisvalid AND i.indpred IS NULL
      AND (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)] @> c.conkey
      AND (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)] <@ c.conkey)
ORDER BY t.reltuples DESC, 1, 2
LIMIT $1)sql";

std::string text(const std::optional<std::string>& v) { return v.value_or(""); }
double number(const std::optional<std::string>& v) { return v ? std::strtod(v->c_str(), nullptr) : 0; }
bool flag(const std::optional<std::string>& v) { return v && (*v == "t" || *v == "true"); }

std::vector<std::string> split(const std::string& s, char separator) {
  std::vector<std::string> parts;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, separator))
    if (!part.empty()) parts.push_back(part);
  return parts;
}

// Runs each category's reads on its own thread (and so on its own pooled
// connection): the categories are independent, and on a large catalog the
// slowest one, not their sum, sets the answer time.
class Reader {
 public:
  Reader(pg::DatabasePool& databases, const std::string& database, const ReadOptions& options, HealthSnapshot& snapshot)
      : executor_(databases), database_(database), options_(options), snapshot_(snapshot) {}
  ~Reader() {
    for (auto& f : running_)
      if (f.valid()) f.wait();
  }

  std::vector<Row> rows(const char* sql, std::vector<std::optional<std::string>> params = {}) const {
    pg::RunOptions run{.cancel = options_.cancel, .max_rows = 0, .params = std::move(params)};
    return executor_.run(database_, sql, run).rows;
  }

  void note(std::string text) {
    std::lock_guard lock(mutex_);
    snapshot_.notes.push_back(std::move(text));
  }

  // Starts one category's reads; a read the role may not do becomes a note.
  // Each read writes only its own part of the snapshot.
  template <typename Read>
  void category(HealthCategory category, bool wanted, Read read) {
    if (!wanted) return;
    running_.push_back(std::async(std::launch::async, [this, category, read] {
      const auto started = std::chrono::steady_clock::now();
      try {
        read();
      } catch (const Error& e) {
        if (e.code() == ErrorCode::cancelled || e.code() == ErrorCode::deadline_exceeded ||
            e.code() == ErrorCode::not_found || e.code() == ErrorCode::unavailable)
          throw;
        note(std::string(to_string(category)) + ": not checked: " + e.what());
      }
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
      std::lock_guard lock(mutex_);
      snapshot_.read_ms[to_string(category)] += ms;
    }));
  }
  bool wants(HealthCategory category) const {
    return options_.categories.empty() || options_.categories.contains(category);
  }

  // Waits for every category; rethrows the first failure (cancelled, unreachable).
  void finish() {
    std::exception_ptr first;
    for (auto& f : running_) {
      try {
        f.get();
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    }
    running_.clear();
    if (first) std::rethrow_exception(first);
  }

  std::string limit() const { return std::to_string(options_.limit_per_check); }

 private:
  pg::SafeExecutor executor_;
  const std::string& database_;
  const ReadOptions& options_;
  HealthSnapshot& snapshot_;
  std::mutex mutex_;
  std::vector<std::future<void>> running_;
};

std::string pages_for_mb(double mb) {
  return std::to_string(static_cast<long long>(std::ceil(mb * 1024 * 1024 / 8192)));
}

std::string number_text(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

IndexEntry index_entry(const Row& r) {
  IndexEntry e;
  e.index = text(r[0]);
  e.table = text(r[1]);
  e.definition = text(r[2]);
  e.bytes = number(r[3]);
  return e;
}

constexpr std::pair<HealthCategory, const char*> kCategoryNames[] = {
    {HealthCategory::bloat, "bloat"},
    {HealthCategory::vacuum, "vacuum"},
    {HealthCategory::wraparound, "wraparound"},
    {HealthCategory::cache, "cache"},
    {HealthCategory::indexes, "indexes"},
    {HealthCategory::sequences, "sequences"},
    {HealthCategory::connections, "connections"},
    {HealthCategory::activity, "activity"},
    {HealthCategory::locks, "locks"},
    {HealthCategory::replication, "replication"},
    {HealthCategory::checkpoints, "checkpoints"},
    {HealthCategory::settings, "settings"},
    {HealthCategory::policies, "policies"},
    {HealthCategory::foreign_keys, "foreign_keys"},
};

}  // namespace

const char* to_string(HealthCategory category) {
  for (const auto& [c, name] : kCategoryNames)
    if (c == category) return name;
  return "unknown";
}

std::optional<HealthCategory> parse_health_category(const std::string& text) {
  for (const auto& [c, name] : kCategoryNames)
    if (text == name) return c;
  return std::nullopt;
}

const std::vector<HealthCategory>& all_health_categories() {
  static const std::vector<HealthCategory> all = [] {
    std::vector<HealthCategory> v;
    for (const auto& [c, name] : kCategoryNames) v.push_back(c);
    return v;
  }();
  return all;
}

HealthSnapshot read_health_snapshot(pg::DatabasePool& databases, const std::string& database,
                                    const knowledge::RuleBook& rules, const ReadOptions& options) {
  HealthSnapshot snap;
  snap.database = databases.database(database).name;
  const auto threshold = [&](const char* rule, const char* name) { return rules.threshold(rule, name); };
  const bool wants_sessions = options.categories.empty() || options.categories.contains(HealthCategory::connections) ||
                              options.categories.contains(HealthCategory::activity) ||
                              options.categories.contains(HealthCategory::locks);
  std::vector<SequenceEntry> sequence_parts[kSequenceParts];
  Reader read(databases, database, options, snap);  // declared last: its destructor waits for the reads
  snap.database_name = text(read.rows("SELECT current_database()").at(0)[0]);

  // The slowest reads on a large catalog start first.
  for (int part = 0; part < kSequenceParts; ++part)
    read.category(HealthCategory::sequences, read.wants(HealthCategory::sequences), [&, part] {
      for (const auto& r :
           read.rows(kSequenceSql, {number_text(threshold("HEALTH_SEQUENCE_NEAR_LIMIT", "min_used_share")),
                                    read.limit(), std::to_string(kSequenceParts), std::to_string(part)})) {
        SequenceEntry s;
        s.sequence = text(r[0]);
        s.type = text(r[1]);
        s.last_value = number(r[2]);
        s.limit = number(r[3]);
        s.owner_table = text(r[4]);
        s.owner_column = text(r[5]);
        s.column_type = text(r[6]);
        s.owned_by_identity = flag(r[7]);
        s.owner = s.owner_table.empty() ? "" : s.owner_table + "." + s.owner_column;
        sequence_parts[part].push_back(std::move(s));
      }
    });

  read.category(HealthCategory::indexes, read.wants(HealthCategory::indexes), [&] {
    IndexReading x;
    const auto age = read.rows(kStatsAgeSql);
    if (!age.empty()) {
      x.stats_reset = text(age[0][0]);
      x.postmaster_start = text(age[0][1]);
      x.stats_age_s = number(age[0][2]);
      x.stats_since = text(age[0][3]);
    }
    for (const auto& r : read.rows(kInvalidIndexSql, {read.limit()})) x.invalid.push_back(index_entry(r));
    for (const auto& r : read.rows(kUnusedIndexSql, {read.limit()})) {
      x.unused.push_back(index_entry(r));
      x.unused_total = static_cast<int>(number(r[4]));
    }
    std::string group;
    for (const auto& r : read.rows(kDuplicateIndexSql, {std::to_string(options.limit_per_check * 3)})) {
      IndexEntry e = index_entry(r);
      e.scans = number(r[4]);
      e.unique = flag(r[5]);
      e.primary = flag(r[6]);
      e.constraint = flag(r[7]);
      if (x.duplicates.empty() || text(r[8]) != group) x.duplicates.emplace_back();
      group = text(r[8]);
      x.duplicates.back().push_back(std::move(e));
    }
    std::erase_if(x.duplicates, [](const auto& g) { return g.size() < 2; });  // a group cut by the limit
    snap.indexes = std::move(x);
  });

  read.category(HealthCategory::bloat, read.wants(HealthCategory::bloat), [&] {
    const bool pgstattuple = !read.rows("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgstattuple'").empty();
    const std::string min_pages = pages_for_mb(threshold("HEALTH_TABLE_BLOAT", "min_bloat_mb"));
    std::vector<TableBloat> tables;
    bool measured = false;
    if (pgstattuple) {
      try {
        for (const auto& r : read.rows(kTableBloatMeasuredSql, {min_pages, read.limit()}))
          tables.push_back({text(r[0]), number(r[1]), number(r[2]), true});
        measured = true;
      } catch (const Error& e) {
        if (e.code() == ErrorCode::cancelled || e.code() == ErrorCode::deadline_exceeded) throw;
        read.note(std::string("bloat: pgstattuple is installed but pgstattuple_approx failed (") + e.what() +
                  "); using the statistics estimate. Grant pg_stat_scan_tables to measure.");
      }
    }
    if (!measured)
      for (const auto& r : read.rows(kTableBloatEstimateSql, {min_pages, read.limit()}))
        tables.push_back({text(r[0]), number(r[1]), number(r[2]), false});
    snap.table_bloat = std::move(tables);
    std::vector<IndexBloat> indexes;
    for (const auto& r :
         read.rows(kIndexBloatSql, {pages_for_mb(threshold("HEALTH_INDEX_BLOAT", "min_bloat_mb")), read.limit()}))
      indexes.push_back({text(r[0]), text(r[1]), number(r[2]), number(r[3])});
    snap.index_bloat = std::move(indexes);
  });

  read.category(HealthCategory::vacuum, read.wants(HealthCategory::vacuum), [&] {
    std::vector<TableVacuum> tables;
    const double min_dead = std::min(threshold("HEALTH_DEAD_TUPLES", "min_dead_rows"),
                                     threshold("HEALTH_ANALYZE_STALE", "min_modified_rows"));
    for (const auto& r : read.rows(
             kVacuumSql, {number_text(min_dead), number_text(threshold("HEALTH_ANALYZE_STALE", "min_modified_rows")),
                          std::to_string(options.limit_per_check * 5)})) {
      tables.push_back({text(r[0]), number(r[1]), number(r[2]), number(r[3]), text(r[4]), text(r[5]), flag(r[6])});
    }
    snap.vacuum = std::move(tables);
  });

  read.category(HealthCategory::wraparound, read.wants(HealthCategory::wraparound), [&] {
    WraparoundReading w;
    for (const auto& r : read.rows(kDatabaseAgeSql)) {
      w.databases.push_back({"database " + text(r[0]), "", number(r[1]), number(r[2])});
      w.freeze_max_age = number(r[3]);
      w.multixact_freeze_max_age = number(r[4]);
    }
    for (const auto& r : read.rows(kTableAgeSql, {read.limit()}))
      w.tables.push_back({text(r[0]), text(r[0]), number(r[1]), number(r[2])});
    snap.wraparound = std::move(w);
  });

  read.category(HealthCategory::cache, read.wants(HealthCategory::cache), [&] {
    const auto r = read.rows(kCacheSql).at(0);
    snap.cache = CacheReading{text(r[0]), number(r[1]), number(r[2]), number(r[3]), number(r[4])};
  });

  read.category(HealthCategory::activity, wants_sessions, [&] {
    ActivityReading a;
    const auto c = read.rows(kConnectionsSql).at(0);
    a.max_connections = static_cast<int>(number(c[0]));
    a.superuser_reserved = static_cast<int>(number(c[1]));
    a.connections = static_cast<int>(number(c[2]));
    a.idle_connections = static_cast<int>(number(c[3]));
    for (const auto& r : read.rows(kSessionsSql, {options.all_databases ? "true" : "false"})) {
      Session s;
      s.pid = static_cast<int>(number(r[0]));
      s.database = text(r[1]);
      s.user = text(r[2]);
      s.application = text(r[3]);
      s.client = text(r[4]);
      s.state = text(r[5]);
      s.wait_event_type = text(r[6]);
      s.wait_event = text(r[7]);
      s.query = text(r[8]);
      s.state_age_s = number(r[9]);
      s.xact_age_s = number(r[10]);
      s.query_age_s = number(r[11]);
      for (const auto& pid : split(text(r[12]), ',')) s.blocked_by.push_back(std::atoi(pid.c_str()));
      a.sessions.push_back(std::move(s));
    }
    snap.activity = std::move(a);
  });

  read.category(HealthCategory::replication, read.wants(HealthCategory::replication), [&] {
    ReplicationReading x;
    for (const auto& r : read.rows(kSlotsSql)) x.slots.push_back({text(r[0]), text(r[1]), flag(r[2]), number(r[3])});
    for (const auto& r : read.rows(kReplicasSql))
      x.replicas.push_back({text(r[0]), text(r[1]), text(r[2]), number(r[3]), number(r[4])});
    snap.replication = std::move(x);
  });

  read.category(HealthCategory::checkpoints, read.wants(HealthCategory::checkpoints), [&] {
    const auto r = read.rows(kCheckpointSql).at(0);
    snap.checkpoints = CheckpointReading{number(r[0]), number(r[1]), number(r[2]), number(r[3]), number(r[5]),
                                         number(r[6]), number(r[4]), text(r[7]),   number(r[8])};
  });

  read.category(HealthCategory::settings, read.wants(HealthCategory::settings), [&] {
    std::map<std::string, SettingValue> settings;
    for (const auto& r : read.rows(kSettingsSql)) settings[text(r[0])] = {text(r[1]), text(r[2])};
    snap.settings = std::move(settings);
  });

  read.category(HealthCategory::policies, read.wants(HealthCategory::policies), [&] {
    std::vector<Policy> policies;
    for (const auto& r : read.rows(kPoliciesSql))
      policies.push_back(
          {text(r[0]), text(r[1]), text(r[3]), flag(r[2]), split(text(r[4]), ','), text(r[5]), text(r[6])});
    snap.policies = std::move(policies);
  });

  read.category(HealthCategory::foreign_keys, read.wants(HealthCategory::foreign_keys), [&] {
    std::vector<UnindexedForeignKey> keys;
    for (const auto& r : read.rows(kForeignKeySql, {read.limit()}))
      keys.push_back({text(r[0]), text(r[1]), text(r[2]), split(text(r[3]), ','), number(r[4])});
    snap.foreign_keys = std::move(keys);
  });
  read.finish();
  if (read.wants(HealthCategory::sequences)) {
    std::vector<SequenceEntry> all;
    for (auto& part : sequence_parts) std::move(part.begin(), part.end(), std::back_inserter(all));
    std::sort(all.begin(), all.end(),
              [](const auto& a, const auto& b) { return a.last_value / a.limit > b.last_value / b.limit; });
    if (all.size() > static_cast<std::size_t>(options.limit_per_check)) all.resize(options.limit_per_check);
    snap.sequences = std::move(all);
  }
  return snap;
}

}  // namespace dbopt::health
