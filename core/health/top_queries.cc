#include "core/health/top_queries.h"

#include <cstdlib>

#include "core/common/error.h"
#include "core/pg/safe_executor.h"
#include "core/sql/fingerprint.h"

namespace dbopt::health {
namespace {

constexpr const char* kEnableFix =
    "Add pg_stat_statements to shared_preload_libraries (ALTER SYSTEM SET shared_preload_libraries = "
    "'pg_stat_statements'; keep any libraries already listed there), restart PostgreSQL, then run CREATE "
    "EXTENSION pg_stat_statements; in this database. On managed platforms enable it in the console (Supabase, "
    "RDS and Cloud SQL preload it; CREATE EXTENSION is still needed).";

// Session and transaction control: frequent, cheap, and not what to optimize.
constexpr const char* kUtilityPattern =
    "^\\s*(BEGIN|START|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|SET|RESET|SHOW|DECLARE|FETCH|CLOSE|DEALLOCATE|DISCARD|"
    "LISTEN|UNLISTEN|PREPARE TRANSACTION|COMMIT PREPARED)\\M";

const char* order_column(QueryOrder order) {
  switch (order) {
    case QueryOrder::mean_time:
      return "mean_exec_time";
    case QueryOrder::calls:
      return "calls";
    case QueryOrder::shared_blks_read:
      return "shared_blks_read";
    case QueryOrder::temp_blks:
      return "temp_blks";
    case QueryOrder::total_time:
      break;
  }
  return "total_exec_time";
}

double number(const std::optional<std::string>& v) { return v ? std::strtod(v->c_str(), nullptr) : 0; }

}  // namespace

const char* to_string(QueryOrder order) {
  switch (order) {
    case QueryOrder::mean_time:
      return "mean_time";
    case QueryOrder::calls:
      return "calls";
    case QueryOrder::shared_blks_read:
      return "shared_blks_read";
    case QueryOrder::temp_blks:
      return "temp_blks";
    case QueryOrder::total_time:
      break;
  }
  return "total_time";
}

std::optional<QueryOrder> parse_query_order(const std::string& text) {
  for (QueryOrder o : {QueryOrder::total_time, QueryOrder::mean_time, QueryOrder::calls, QueryOrder::shared_blks_read,
                       QueryOrder::temp_blks})
    if (text == to_string(o)) return o;
  return std::nullopt;
}

TopQueries read_top_queries(pg::DatabasePool& databases, const std::string& database,
                            const TopQueriesOptions& options) {
  pg::SafeExecutor executor(databases);
  const pg::RunOptions plain{.cancel = options.cancel, .max_rows = 0};
  TopQueries out;
  out.database = databases.database(database).name;
  const auto ext = executor.run(database,
                                "SELECT current_database(), (SELECT extversion FROM pg_catalog.pg_extension WHERE "
                                "extname = 'pg_stat_statements')",
                                plain);
  out.database_name = ext.rows.at(0)[0].value_or("");
  if (!ext.rows.at(0)[1])
    throw Error(ErrorCode::unavailable,
                "pg_stat_statements is not installed in database " + out.database_name +
                    " (no pg_stat_statements extension), so there are no query statistics to rank.",
                kEnableFix);
  out.version = *ext.rows[0][1];

  const std::string sql = std::string(R"sql(
WITH s AS (
  SELECT s.queryid, s.query, s.calls, s.total_exec_time, s.mean_exec_time, s.rows, s.shared_blks_hit,
         s.shared_blks_read, s.temp_blks_read + s.temp_blks_written AS temp_blks, s.userid, s.dbid
  FROM pg_stat_statements s
  WHERE ($1 OR s.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()))
    AND s.calls >= $2 AND ($3 OR s.query !~* $4) AND s.query !~* 'pg_stat_statements'
)
SELECT coalesce(queryid::text, ''), query, calls, total_exec_time, mean_exec_time, rows, shared_blks_hit,
       shared_blks_read, temp_blks, sum(total_exec_time) OVER (), count(*) OVER (),
       coalesce(pg_catalog.pg_get_userbyid(userid)::text, ''),
       coalesce((SELECT datname FROM pg_catalog.pg_database d WHERE d.oid = s.dbid)::text, ''),
       coalesce((SELECT to_char(stats_reset AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"') FROM pg_stat_statements_info), '')
FROM s
ORDER BY )sql") + order_column(options.order) +
                          R"sql( DESC, queryid
LIMIT $5)sql";
  pg::QueryResult result;
  try {
    result = executor.run(database, sql,
                          {.cancel = options.cancel,
                           .max_rows = 0,
                           .params = {options.all_databases ? "true" : "false", std::to_string(options.min_calls),
                                      options.include_utility ? "true" : "false", std::string(kUtilityPattern),
                                      std::to_string(options.limit)}});
  } catch (const Error& e) {
    if (std::string(e.what()).find("shared_preload_libraries") != std::string::npos)
      throw Error(ErrorCode::unavailable,
                  "pg_stat_statements is installed in database " + out.database_name +
                      " but not loaded by the server (it must be in shared_preload_libraries).",
                  kEnableFix);
    throw;
  }
  for (const auto& r : result.rows) {
    TopQuery q;
    q.queryid = r[0].value_or("");
    q.query = r[1].value_or("");
    q.calls = number(r[2]);
    q.total_ms = number(r[3]);
    q.mean_ms = number(r[4]);
    q.rows = number(r[5]);
    q.shared_blks_hit = number(r[6]);
    q.shared_blks_read = number(r[7]);
    q.temp_blks = number(r[8]);
    out.total_ms = number(r[9]);
    out.statements = static_cast<int>(number(r[10]));
    q.user = r[11].value_or("");
    q.database = r[12].value_or("");
    out.stats_since = r[13].value_or("");
    q.share_of_total = out.total_ms > 0 ? q.total_ms / out.total_ms : 0;
    q.rows_per_call = q.calls > 0 ? q.rows / q.calls : 0;
    const double blocks = q.shared_blks_hit + q.shared_blks_read;
    if (blocks > 0) q.cache_hit_ratio = q.shared_blks_hit / blocks;
    try {
      q.fingerprint = sql::fingerprint(q.query);
    } catch (const Error&) {
      // <insufficient privilege> or a text cut at track_activity_query_size: no fingerprint
    }
    out.queries.push_back(std::move(q));
  }
  return out;
}

}  // namespace dbopt::health
