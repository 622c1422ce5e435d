// ScaleSnapshot: what advise_scale reads from one database, as plain values.
//
// read_scale_snapshot() fills it with catalog and statistics reads through
// the SafeExecutor (one statement each, READ ONLY, rolled back; nothing is
// written): per table the pg_stat_user_tables counters (scans, inserted /
// updated / deleted / HOT-updated rows, live and dead rows), its sizes, its
// columns with their types and (for date/time columns) pg_stats correlation,
// its foreign keys, BRIN indexes and partitioning; and the statements of
// pg_stat_statements (calls, total and mean time, rows) for this database.
// A missing pg_stat_statements is not an error: statements_available is
// false and statements_note says how to enable it.
//
// scale_snapshot_from_json() builds the same struct from JSON (the shape
// scale_snapshot_to_json() writes), so the advice can be computed and tested
// offline, on numbers copied from another server.
//
// Errors (dbopt::Error): not_found for an unknown database name, unavailable
// when it cannot be reached; invalid_argument naming the field for bad JSON.
// Thread-safe (no shared state).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/cancellation.h"

namespace dbopt::pg {
class DatabasePool;
}

namespace dbopt::scale {

struct ScaleColumn {
  std::string name;
  std::string type;                   // format_type(), e.g. "timestamp with time zone", "bigint"
  std::optional<double> correlation;  // pg_stats.correlation (date/time columns only), absent before ANALYZE
  bool not_null = false;
};

struct ScaleForeignKey {
  std::string constraint;
  std::vector<std::string> columns;
  std::string referenced;  // schema-qualified table
  std::vector<std::string> referenced_columns;
};

struct ScaleTable {
  std::string table;  // schema-qualified, quoted where needed ("public.orders")
  std::string schema, name;
  // pg_stat_user_tables (counters since the statistics were last reset).
  double seq_scan = 0, seq_tup_read = 0, idx_scan = 0, idx_tup_fetch = 0;
  double n_tup_ins = 0, n_tup_upd = 0, n_tup_del = 0, n_tup_hot_upd = 0;
  double n_live_tup = 0, n_dead_tup = 0;
  double total_bytes = 0;  // pg_total_relation_size (with indexes and TOAST; partitions summed for a parent)
  double table_bytes = 0;  // pg_relation_size (the heap alone)
  std::vector<ScaleColumn> columns;
  std::vector<std::string> primary_key;
  std::vector<ScaleForeignKey> foreign_keys;
  std::vector<std::string> brin_indexes;  // pg_get_indexdef of each BRIN index
  bool partitioned = false;               // relkind 'p'
  std::string partition_key;              // pg_get_partkeydef, e.g. "RANGE (created_at)"
  std::string partition_of;               // the parent, when this table is a partition
  int partitions = 0;                     // for a partitioned table
};

struct ScaleStatement {
  std::string queryid, query;  // pg_stat_statements' normalized text ($n for constants)
  double calls = 0, total_ms = 0, mean_ms = 0, rows = 0;
};

struct ScaleSnapshot {
  std::string database;       // the configured name ("" offline)
  std::string database_name;  // current_database()
  int server_version_num = 0;
  double stats_age_s = 0;   // since the statistics were reset (else the server start); 0 = unknown
  std::string stats_since;  // that time, UTC
  std::vector<ScaleTable> tables;
  bool statements_available = false;
  std::string statements_note;  // why not, and how to enable it
  std::vector<ScaleStatement> statements;
  double statements_total_ms = 0;                        // all statements of this database, not only those listed
  std::vector<std::string> extensions;                   // installed: citus, pg_partman, pg_cron ...
  std::vector<std::string> notes;                        // what could not be read, and why
  bool offline = false;                                  // built from JSON
  const ScaleTable* find(std::string_view table) const;  // by qualified or bare name
};

struct ScaleReadOptions {
  int max_tables = 500;      // the largest tables, by total size
  int max_statements = 200;  // by total time
  const CancellationToken* cancel = nullptr;
};

ScaleSnapshot read_scale_snapshot(pg::DatabasePool& databases, const std::string& database,
                                  const ScaleReadOptions& options = {});

// The JSON shape: {"database_name": "...", "stats_age_s": 86400, "tables": [{"table": "public.orders",
// "seq_scan": 10, "idx_scan": 5000, "n_tup_ins": 100, ..., "total_bytes": 1e9, "columns": [{"name":
// "created_at", "type": "timestamp with time zone", "correlation": 0.99}], "foreign_keys": [{"columns":
// ["tenant_id"], "referenced": "public.tenants"}], "brin_indexes": [], "partitioned": false}],
// "statements_available": true, "statements": [{"query": "...", "calls": 100, "total_ms": 5000,
// "mean_ms": 50, "rows": 100}], "extensions": []}. Every field but "table" is optional.
ScaleSnapshot scale_snapshot_from_json(std::string_view json_text);
std::string scale_snapshot_to_json(const ScaleSnapshot& snapshot);

}  // namespace dbopt::scale
