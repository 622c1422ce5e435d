// The index advisor: a workload in, the index set that cuts its cost most out.
//
// Live (advise_live): reads the catalog, builds each query's candidates
// (candidates.h), costs them with HypoPG (generic plans for $n queries), then
// searches over the whole workload greedily by benefit per byte: add a
// candidate, or widen a chosen index into a longer one, under the storage
// budget, the index count and the minimum improvement, caching every what-if
// cost and stopping at the time limit with the best set so far. GIN and
// trigram candidates, which HypoPG cannot cost, are judged by rule and listed
// apart. Drop advice (drop_advice) comes from the catalog alone.
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
  int max_indexes = 10;
  int max_columns = 3;
  double min_improvement = 0.001;  // share of the workload cost an added index must cut
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
  bool verified = false;  // costed with HypoPG
  std::string evidence;   // how the benefit was judged
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

// pg_stat_statements' top SELECT/INSERT/UPDATE/DELETE statements of the current database by total
// time (INSERTs count as writes against the indexes of their table).
std::vector<WorkloadQuery> top_statements(pg::DatabasePool& pool, const std::string& database, int limit,
                                          const CancellationToken& cancel);

}  // namespace dbopt::advisor
