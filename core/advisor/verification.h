// Verification of an index set on a scratch database: measured, not estimated.
//
// verify_on_scratch() builds the given CREATE INDEX statements for real inside
// one pg::ScratchSession (a transaction that is always rolled back, on a
// database the config marks `scratch: true`), and times every read statement
// of the workload before and after with EXPLAIN ANALYZE ("Execution Time", the
// median of `runs` after a warm-up run). Statements with $n placeholders and
// writes are not run; each says why. Stops at the deadline with what it has
// measured. No ANALYZE runs in the session, so an expression index has no
// statistics of its own yet: after a real build and ANALYZE its plans can
// only be as good or better.
// Errors as pg::ScratchSession (permission_denied when the database is not
// marked scratch). Not thread-safe: one call uses one session.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/advisor/advisor.h"

namespace dbopt::advisor {

struct StatementTiming {
  int query = 0;
  double before_ms = 0;
  double after_ms = 0;
  std::string not_measured;  // why it was not run, empty when measured
};

struct BuiltIndex {
  std::string statement;
  double build_ms = 0;
  long long size_bytes = 0;  // pg_relation_size of the real index
};

struct Verification {
  std::vector<StatementTiming> statements;
  std::vector<BuiltIndex> built;
  double before_ms = 0;  // Σ calls × median over the measured statements
  double after_ms = 0;
  long long index_bytes = 0;
  bool complete = true;  // false when the deadline cut it short
};

Verification verify_on_scratch(pg::DatabasePool& pool, const std::string& database,
                               const std::vector<WorkloadQuery>& workload, const std::vector<std::string>& create_index,
                               int runs, std::chrono::steady_clock::time_point deadline,
                               const CancellationToken& cancel);

}  // namespace dbopt::advisor
