// HealthSnapshot: what check_health reads from one database, as plain values.
//
// read_health_snapshot() fills the parts for the requested categories with
// catalog and statistics reads through the SafeExecutor (one statement each,
// READ ONLY, rolled back; nothing is written). Every read is one set-based
// query, bounded by `limit_per_check` rows where a catalog can be large, so a
// database with tens of thousands of tables answers in a second or two. The
// analysis (health_checks.h) works on this struct only, so tests can feed it
// numbers that cannot be planted on a live server (a 1.9 billion XID age).
//
// Errors (dbopt::Error): not_found for an unknown database name, unavailable
// when it cannot be reached; a category whose view the role may not read
// comes back with a note instead of failing the whole check.
// Thread-safe (no shared state).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/common/cancellation.h"

namespace dbopt::pg {
class DatabasePool;
}
namespace dbopt::knowledge {
class RuleBook;
}

namespace dbopt::health {

// The selectable categories, in report order.
enum class HealthCategory {
  bloat,         // table and index bloat (statistics estimate, pgstattuple when installed)
  vacuum,        // dead rows, vacuum/analyze freshness, autovacuum disabled per table
  wraparound,    // transaction ID and multixact ID age
  cache,         // buffer cache and index hit ratios
  indexes,       // invalid, unused (with the statistics' age), duplicate
  sequences,     // sequences near their type's (or column's) limit
  connections,   // connections against max_connections
  activity,      // idle-in-transaction sessions, long-running queries
  locks,         // lock waits and blocking chains (pg_blocking_pids)
  replication,   // replication slots holding WAL, replica lag
  checkpoints,   // checkpoint and background writer pressure
  settings,      // settings audit
  policies,      // RLS lints: per-row function calls, several permissive policies
  foreign_keys,  // foreign keys without an index
};
const char* to_string(HealthCategory category);
std::optional<HealthCategory> parse_health_category(const std::string& text);
const std::vector<HealthCategory>& all_health_categories();

struct TableVacuum {
  std::string table;  // schema-qualified, quoted where needed
  double live_rows = 0, dead_rows = 0, modified_since_analyze = 0;
  std::string last_vacuum, last_analyze;  // the later of manual and auto; "" = never
  bool autovacuum_disabled = false;
};

struct TableBloat {
  std::string table;
  double table_bytes = 0, bloat_bytes = 0;
  bool measured = false;  // pgstattuple_approx rather than the statistics estimate
};

struct IndexBloat {
  std::string index, table;
  double index_bytes = 0, bloat_bytes = 0;
};

struct FrozenAge {
  std::string subject;  // "database x" or a table
  std::string target;   // what to VACUUM (FREEZE): a table, or "" for the database (then the oldest table)
  double xid_age = 0, mxid_age = 0;
};

struct WraparoundReading {
  std::vector<FrozenAge> databases;  // every database of the cluster
  std::vector<FrozenAge> tables;     // the oldest tables of this database, by xid age and by mxid age
  double freeze_max_age = 200000000, multixact_freeze_max_age = 400000000;
};

struct CacheReading {
  std::string database;
  double heap_hits = 0, heap_reads = 0, index_hits = 0, index_reads = 0;
};

struct IndexEntry {
  std::string index, table, definition;
  double bytes = 0, scans = 0;
  bool unique = false, primary = false, constraint = false;
};

struct IndexReading {
  std::vector<IndexEntry> invalid;
  std::vector<IndexEntry> unused;  // largest first, at most limit_per_check
  int unused_total = 0;
  std::vector<std::vector<IndexEntry>> duplicates;  // groups of two or more identical indexes
  double stats_age_s = 0;                           // since pg_stat_database.stats_reset, else the server start
  std::string stats_since;                          // that time, UTC
  std::string stats_reset, postmaster_start;
};

struct SequenceEntry {
  std::string sequence, type, owner;  // owner: "table.column" or ""
  std::string owner_table, owner_column, column_type;
  double last_value = 0, limit = 0;  // limit: the smaller of the sequence's max and the column type's
  bool owned_by_identity = false;
};

struct Session {
  int pid = 0;
  std::string database, user, application, client, state, wait_event_type, wait_event, query;
  double state_age_s = 0, xact_age_s = 0, query_age_s = 0;
  std::vector<int> blocked_by;  // pg_blocking_pids
};

struct ActivityReading {
  int max_connections = 0, superuser_reserved = 0;
  int connections = 0, idle_connections = 0;  // client backends of the whole server
  std::vector<Session> sessions;              // sessions not idle, dbopt's own excluded
};

struct ReplicationSlot {
  std::string name, type;
  bool active = false;
  double retained_bytes = 0;
};

struct Replica {
  std::string name, client, state;
  double lag_bytes = 0, replay_lag_s = 0;
};

struct ReplicationReading {
  std::vector<ReplicationSlot> slots;
  std::vector<Replica> replicas;
};

struct CheckpointReading {
  double timed = 0, requested = 0;
  double buffers_checkpoint = 0, buffers_clean = 0, buffers_backend = 0, buffers_backend_fsync = 0,
         maxwritten_clean = 0;
  std::string stats_since;
  double max_wal_size_mb = 0;
};

struct SettingValue {
  std::string setting, unit;  // pg_settings.setting and .unit
};

struct Policy {
  std::string table, name, command;  // command: ALL, SELECT, INSERT, UPDATE, DELETE
  bool permissive = true;
  std::vector<std::string> roles;
  std::string using_expression, check_expression;  // "" when absent
};

struct UnindexedForeignKey {
  std::string table, constraint, referenced;
  std::vector<std::string> columns;
  double rows = 0;
};

struct HealthSnapshot {
  std::string database;       // the configured name
  std::string database_name;  // current_database()
  std::optional<std::vector<TableVacuum>> vacuum;
  std::optional<std::vector<TableBloat>> table_bloat;
  std::optional<std::vector<IndexBloat>> index_bloat;
  std::optional<WraparoundReading> wraparound;
  std::optional<CacheReading> cache;
  std::optional<IndexReading> indexes;
  std::optional<std::vector<SequenceEntry>> sequences;
  std::optional<ActivityReading> activity;  // connections, activity and locks share it
  std::optional<ReplicationReading> replication;
  std::optional<CheckpointReading> checkpoints;
  std::optional<std::map<std::string, SettingValue>> settings;
  std::optional<std::vector<Policy>> policies;
  std::optional<std::vector<UnindexedForeignKey>> foreign_keys;
  std::vector<std::string> notes;         // what could not be read, and why
  std::map<std::string, double> read_ms;  // time of each read, by category
};

struct ReadOptions {
  std::set<HealthCategory> categories;  // empty = all
  int limit_per_check = 20;
  // Sessions of every database, not only the connected one.
  bool all_databases = false;
  const CancellationToken* cancel = nullptr;
};

// `rules` supplies the thresholds the reads filter on in SQL (a table below
// HEALTH_TABLE_BLOAT's min_bloat_mb is not read at all), so reading and
// analysis agree.
HealthSnapshot read_health_snapshot(pg::DatabasePool& databases, const std::string& database,
                                    const knowledge::RuleBook& rules, const ReadOptions& options);

}  // namespace dbopt::health
