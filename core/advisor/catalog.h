// Catalog: what the index advisor knows about the tables a workload reads.
//
// Live, read_catalog() fills it from pg_class, pg_stats, pg_stat_user_tables,
// pg_index / pg_stat_user_indexes and pg_constraint through the SafeExecutor
// (read-only, rolled back). Offline, catalog_from_ddl() fills what CREATE
// TABLE / CREATE INDEX text says (tables, indexes; no statistics).
// Plain value types; thread-safe to share once built.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/common/cancellation.h"

namespace dbopt::pg {
class DatabasePool;
}

namespace dbopt::advisor {

struct ColumnStats {
  double null_frac = 0;
  double n_distinct = 0;  // pg_stats: > 0 a count, < 0 a share of the rows
  std::vector<std::string> common_values;
  std::vector<double> common_freqs;
  std::optional<double> correlation;
  int avg_width = 8;
  std::string type;  // format_type(): "jsonb", "text[]", ...

  // Estimated share of rows with this value (MCV when listed, else the rest spread evenly).
  double value_share(const std::string& value, double rows) const;
  double distinct_count(double rows) const;
};

struct ExistingIndex {
  std::string name;  // schema-qualified when live
  std::string definition;
  std::string method = "btree";
  std::vector<std::string> keys;  // column names or expression text, with " DESC" when descending
  std::vector<std::string> include;
  std::string predicate;  // partial index WHERE, empty when none
  bool unique = false;
  bool primary = false;
  bool constraint = false;  // backs a constraint (PK, UNIQUE, EXCLUDE)
  bool valid = true;
  std::optional<long long> scans;  // idx_scan since stats reset; absent offline
  long long size_bytes = 0;
};

struct ForeignKey {
  std::string name;
  std::vector<std::string> columns;  // on the referencing table
  std::string referenced_table;
};

struct TableInfo {
  std::string schema;
  std::string name;
  bool visible = true;  // on the search path
  double rows = 0;      // reltuples
  double pages = 0;     // relpages
  bool analyzed = false;
  bool has_stats = false;  // live: pg_stat_user_tables read
  long long inserts = 0, updates = 0, deletes = 0, hot_updates = 0;
  int row_width = 0;  // sum of avg_width
  std::map<std::string, ColumnStats> columns;
  std::vector<ExistingIndex> indexes;
  std::vector<ForeignKey> foreign_keys;

  std::string qualified() const { return schema.empty() ? name : schema + "." + name; }
  const ColumnStats* column(const std::string& name) const;
};

struct Catalog {
  bool live = false;
  std::vector<TableInfo> tables;
  std::vector<std::string> extensions;  // installed: "hypopg", "pg_trgm", ...
  std::string current_database;
  // The age of the usage statistics (idx_scan) that unused-index advice rests on: live only.
  std::optional<double> stats_age_seconds;
  std::string stats_reset;     // pg_stat_database.stats_reset, empty when never reset
  std::string server_started;  // pg_postmaster_start_time()

  // By name as a query writes it: schema-qualified, or the visible table, or the only one with that name.
  const TableInfo* find(const std::string& schema, const std::string& name) const;
  bool has_extension(const std::string& name) const;
};

// Reads the catalog for the named tables (unqualified or schema.name) from the database.
Catalog read_catalog(pg::DatabasePool& pool, const std::string& database, const std::vector<std::string>& table_names,
                     const CancellationToken* cancel);

// Tables and indexes declared in DDL text; throws Error(invalid_argument) when it does not parse.
Catalog catalog_from_ddl(const std::string& ddl);

// SQL helpers.
std::string quote_literal(const std::string& text);
std::string quote_ident(const std::string& name);  // only when needed

}  // namespace dbopt::advisor
