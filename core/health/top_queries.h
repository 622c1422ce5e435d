// TopQueries: the busiest statements of one database from pg_stat_statements.
//
// read_top_queries() reads pg_stat_statements through the SafeExecutor
// (read-only, rolled back), for the connected database by default (its dbid),
// ranked by total time, mean time, calls, shared blocks read or temp blocks.
// Each statement keeps pg_stat_statements' normalized text ($n for
// constants), its queryid, libpg_query's fingerprint, its share of the total
// time, rows per call and cache hit ratio. Transaction control and session
// statements (BEGIN, SET, SHOW, FETCH ...) are left out unless asked for.
//
// Errors (dbopt::Error): unavailable, with how to enable it, when
// pg_stat_statements is not installed or not preloaded; not_found /
// unavailable for the database itself. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/common/cancellation.h"

namespace dbopt::pg {
class DatabasePool;
}

namespace dbopt::health {

enum class QueryOrder { total_time, mean_time, calls, shared_blks_read, temp_blks };
const char* to_string(QueryOrder order);
std::optional<QueryOrder> parse_query_order(const std::string& text);

struct TopQueriesOptions {
  QueryOrder order = QueryOrder::total_time;
  int limit = 10;
  long long min_calls = 1;
  bool all_databases = false;  // every database's statements, not only the connected one's
  bool include_utility = false;
  const CancellationToken* cancel = nullptr;
};

struct TopQuery {
  std::string queryid, query, fingerprint, user, database;
  double calls = 0, total_ms = 0, mean_ms = 0, rows = 0, shared_blks_hit = 0, shared_blks_read = 0, temp_blks = 0;
  double share_of_total = 0;  // of the total execution time of the statements considered
  double rows_per_call = 0;
  std::optional<double> cache_hit_ratio;  // absent when the statement touched no shared blocks
};

struct TopQueries {
  std::string database;       // configured name
  std::string database_name;  // current_database()
  std::vector<TopQuery> queries;
  double total_ms = 0;      // all statements considered (not only those listed)
  int statements = 0;       // how many statements pg_stat_statements holds for the filter
  std::string stats_since;  // pg_stat_statements_info.stats_reset, UTC
  std::string version;      // the extension's version
};

TopQueries read_top_queries(pg::DatabasePool& databases, const std::string& database, const TopQueriesOptions& options);

}  // namespace dbopt::health
