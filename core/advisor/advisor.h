// The index advisor: a workload in, the index set that cuts its cost most out.
//
// Live (advise_live): reads the catalog, builds each query's candidates
// (candidates.h), costs them with HypoPG (generic plans for $n queries), then
// searches over the whole workload greedily by benefit per byte: add a
// candidate, or widen a chosen index into a longer one, under the storage
// budget, the minimum improvement and (when given) an index count, caching
// every what-if cost and stopping at the time limit with the best set so far.
// GIN candidates (jsonb, full text, trigram), which HypoPG cannot build, are
// then costed on the same scale from the final plans: the scan of their table
// that they would replace against a bitmap scan of the rows it keeps, and
// chosen by the same minimum improvement (basis "plan_model"). Drop advice
// (drop_advice) comes from the catalog, withheld while the usage counters are
// young and for any index a workload plan uses.
// Without HypoPG, or offline (advise_offline, from schema DDL), the same
// candidates come back labelled unverified.
// Never writes to the database: HypoPG's indexes live in the advisor's session.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/advisor/candidates.h"
#include "core/advisor/catalog.h"
#include "core/common/cancellation.h"
#include "knowledge/rule_book.h"

namespace dbopt::pg {
class DatabasePool;
}

namespace dbopt::advisor {

struct WorkloadQuery {
  std::string sql;
  double calls = 1;
  std::optional<double> mean_ms;
};

struct AdvisorOptions {
  double budget_bytes = 0;  // 0 = no budget
  int max_indexes = 0;      // 0 = no count limit: benefit and the budget decide
  int max_columns = 3;
  double min_improvement = 0.001;  // share of the workload cost an added index must cut
  // Below that, an index still counts when it cuts min_improvement of the cost that remains
  // and makes a statement no chosen index serves yet at least this much cheaper (after/before):
  // a hot lookup on a small table is a tiny share of the unindexed workload, a large one of the indexed.
  double sharp_cut = 0.5;
  double write_weight = 1;
  std::vector<std::string> include_tables;
  std::vector<std::string> exclude_tables;
  std::chrono::milliseconds time_limit{30'000};
  std::function<void(double done, double total, const std::string& message)> progress = [](double, double,
                                                                                           const std::string&) {};
};

struct ServedQuery {
  int query = 0;
  double cost_before = 0;
  double cost_after = 0;
};

struct WriteOverhead {
  double share = 0;            // extra write work per row written, relative to the heap (pganalyze's estimate)
  long long table_writes = 0;  // n_tup_ins + n_tup_upd + n_tup_del since stats reset
  double workload_writes = 0;  // calls of workload statements writing the table
  bool breaks_hot = false;     // a workload UPDATE sets an indexed column
  std::vector<std::string> hot_columns;
};

struct Recommendation {
  Candidate candidate;
  bool verified = false;  // its benefit was costed (HypoPG) or estimated from the plans (GIN), not guessed
  // "hypopg" (planner cost with the hypothetical index), "plan_model" (GIN, which HypoPG cannot
  // build: the plans' scans of the table against a stated model), "rule" (nothing costed).
  std::string basis = "rule";
  std::string evidence;  // how the benefit was judged
  long long size_bytes = 0;
  WriteOverhead writes;
  std::vector<ServedQuery> served;
  double benefit = 0;  // workload cost units saved (calls x cost)
};

struct DropAdvice {
  std::string index;
  std::string table;
  std::string rule_id;  // INDEX_UNUSED, INDEX_DUPLICATE, INDEX_PREFIX_REDUNDANT, INDEX_INVALID
  std::string reason;
  std::string ddl;  // DROP INDEX CONCURRENTLY ...
  long long size_bytes = 0;
};

struct SkippedQuery {
  int query = 0;
  std::string sql;
  std::string reason;
};

struct AdvisorResult {
  std::string mode;  // "hypopg" | "rule_based"
  std::string hypopg_version;
  std::vector<Recommendation> recommendations;  // chosen, costed ones first
  std::vector<Recommendation> unverified;       // GIN/trigram, or all of them without HypoPG
  std::vector<DropAdvice> drops;
  std::vector<DropAdvice> withheld_drops;   // would be dropped, but the evidence says no (reason says why)
  std::optional<double> stats_age_seconds;  // of the idx_scan counters drop advice rests on
  std::string stats_reset, server_started;
  std::vector<SkippedQuery> skipped;
  std::vector<std::string> notes;
  std::vector<std::string> unanalyzed_tables;
  int queries = 0;
  double cost_before = 0;  // sum of calls x cost
  double cost_after = 0;
  long long bytes_added = 0;
  int what_if_calls = 0;
  int cache_hits = 0;
  double elapsed_ms = 0;
  std::string stopped_by;  // "converged", "time_limit", "budget", "max_indexes"
};

AdvisorResult advise_live(pg::DatabasePool& pool, const std::string& database,
                          const std::vector<WorkloadQuery>& workload, const AdvisorOptions& options,
                          const knowledge::RuleBook* rules, const CancellationToken& cancel);

AdvisorResult advise_offline(const std::string& schema_ddl, const std::vector<WorkloadQuery>& workload,
                             const AdvisorOptions& options, const knowledge::RuleBook* rules);

// Unused, duplicate, prefix-redundant and invalid indexes of the catalog's tables.
std::vector<DropAdvice> drop_advice(const Catalog& catalog);

// B-tree size with PostgreSQL 13+ deduplication: HypoPG's estimate stores every entry whole;
// equal keys share one posting list (not with INCLUDE columns). From the keys' n_distinct.
long long deduplicated_btree_size(const Candidate& candidate, const Catalog& catalog, long long hypopg_bytes);

// pg_stat_statements' top SELECT/INSERT/UPDATE/DELETE statements of the current database by total
// time (INSERTs count as writes against the indexes of their table).
std::vector<WorkloadQuery> top_statements(pg::DatabasePool& pool, const std::string& database, int limit,
                                          const CancellationToken& cancel);

}  // namespace dbopt::advisor
