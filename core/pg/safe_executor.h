// SafeExecutor: the only way tools run SQL on a user's database.
//
// run() promises, for every statement:
//   1. sql::check_statement() accepts it (one SELECT / VALUES / EXPLAIN / SHOW,
//      no data-modifying CTE, locking clause or dangerous function); otherwise
//      Error(permission_denied) with the policy's reason and a fix.
//   2. EXPLAIN ANALYZE of a write runs only when the caller asks
//      (allow_analyze_write) AND the database's config allows it
//      (allow_analyze_writes); otherwise permission_denied.
//   3. It runs inside `BEGIN READ ONLY` (READ WRITE only for such an allowed
//      analyzed write) with SET LOCAL statement_timeout (the database's
//      setting, lowered to the token's remaining time) and lock_timeout, over
//      the extended protocol (the server refuses a smuggled second statement),
//      and the transaction is ALWAYS rolled back. A write the policy misses
//      (say, inside a user function) fails on the READ ONLY transaction.
//   4. Cancelling the token while the statement runs cancels it on the server:
//      Error(cancelled). A statement_timeout hit: Error(deadline_exceeded).
// Other errors: not_found (unknown database), unavailable (cannot connect,
// lock_timeout), invalid_argument (SQL that does not parse or that PostgreSQL
// rejects). Defence in depth still matters: point dbopt at a role with SELECT
// only (pg_read_all_stats for statistics), since a function could write
// through a side channel (dblink to itself) that no transaction mode stops.
//
// Thread-safe: holds no state beyond the pool; cheap to construct per call.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/cancellation.h"
#include "core/pg/database_pool.h"

namespace dbopt::pg {

struct RunOptions {
  // Run EXPLAIN ANALYZE of INSERT/UPDATE/DELETE/MERGE (rolled back); the
  // database's allow_analyze_writes must be true as well.
  bool allow_analyze_write = false;
  const CancellationToken* cancel = nullptr;
  // Rows returned at most (SELECTs are read through a cursor, so a huge
  // result is never fetched whole); 0 = no limit.
  std::size_t max_rows = 1000;
  // Values for the statement's $1..$n, sent as bound parameters of unknown
  // type (PostgreSQL infers each from its context, as for a driver's query);
  // nullopt is NULL. Empty: the statement has no placeholders.
  std::vector<std::optional<std::string>> params;
};

struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;  // text values; nullopt = NULL
  std::size_t row_count = 0;                                  // rows returned (== rows.size())
  bool truncated = false;                                     // the statement had more rows than max_rows
  double elapsed_ms = 0;                                      // time in the database for the statement itself
  std::vector<std::string> notices;                           // NOTICE / WARNING messages the statement raised
};

struct ExplainOptions {
  bool analyze = false;  // really runs the statement (still rolled back)
  bool buffers = false;
  bool settings = false;  // non-default planner settings
  bool verbose = false;
  // Plan a statement with $1..$n placeholders (as pg_stat_statements shows
  // them) without values: EXPLAIN (GENERIC_PLAN) on PostgreSQL 16+, a
  // PREPARE + EXPLAIN EXECUTE with plan_cache_mode=force_generic_plan before.
  // Not with analyze.
  bool generic_plan = false;
};

class SafeExecutor {
 public:
  explicit SafeExecutor(DatabasePool& pool) : pool_(pool) {}

  // database "" = the default one.
  QueryResult run(const std::string& database, std::string_view sql, const RunOptions& options = {}) const;

  // EXPLAIN (FORMAT JSON, ...) of the statement; returns PostgreSQL's JSON
  // text unchanged. The whole EXPLAIN goes through the same checks as run().
  std::string explain(const std::string& database, std::string_view sql, const ExplainOptions& explain,
                      const RunOptions& options = {}) const;

 private:
  DatabasePool& pool_;
};

}  // namespace dbopt::pg
