// ScratchSession: real index builds for before/after measurements, and only
// on a database whose config says `scratch: true` (a staging copy, never the
// default). Everything happens in one READ WRITE transaction that is ALWAYS
// rolled back: the index exists only while the session lives, and other
// sessions never see it (it is uncommitted). Queries still pass the safe
// executor's policy (one SELECT/VALUES/EXPLAIN/SHOW); the only write it runs
// is the CREATE INDEX given to create_index().
//
// Errors: permission_denied when the database is not marked scratch, or for a
// statement the policy refuses; invalid_argument for text that is not one
// CREATE INDEX; the rest as SafeExecutor. Not thread-safe: one call uses it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/common/cancellation.h"
#include "core/pg/database_pool.h"
#include "core/pg/safe_executor.h"

namespace dbopt::pg {

struct IndexBuild {
  std::string statement;  // what ran (CONCURRENTLY removed: it cannot run in a transaction)
  std::string index_name;
  std::string table;
  double build_ms = 0;
  long long size_bytes = 0;
  // The table lock the build held, as pg_locks reported it inside the
  // transaction ("ShareLock": writes wait for the whole build).
  std::string lock_mode;
};

class ScratchSession {
 public:
  ScratchSession(DatabasePool& pool, const std::string& database, const CancellationToken* cancel = nullptr);
  ~ScratchSession();  // rolls back: every index built here disappears
  ScratchSession(const ScratchSession&) = delete;
  ScratchSession& operator=(const ScratchSession&) = delete;

  QueryResult run(std::string_view sql, const RunOptions& options);
  std::string explain(std::string_view sql, const ExplainOptions& explain, const RunOptions& options = {});
  IndexBuild create_index(std::string_view create_index_sql);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dbopt::pg
