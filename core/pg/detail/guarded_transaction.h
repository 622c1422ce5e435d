// GuardedTransaction: the one way core/pg runs statements on a user's database
// (internal: includes pqxx; only core/pg .cc files include this header).
//
// It borrows a pooled connection, opens `BEGIN READ ONLY` (or READ WRITE when
// the caller has established that an analyzed write is allowed) with SET LOCAL
// statement_timeout and lock_timeout, and ROLLS BACK when destroyed, whatever
// happened. While a statement runs, a watcher thread sends a cancel request
// to the server when the CancellationToken trips. libpqxx and server errors
// come out as dbopt::Error (see translate()). A connection whose state is
// unknown after a failure is discarded instead of returned to the pool.
//
// It does NOT check statements against the policy: callers (SafeExecutor,
// HypotheticalIndexSession) do that first. Not thread-safe: one thread uses it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/nontransaction>
#include <pqxx/result>

#include "core/common/cancellation.h"
#include "core/common/settings.h"
#include "core/pg/database_pool.h"

namespace dbopt::pg::detail {

class Connection;

enum class AccessMode { read_only, read_write };

class GuardedTransaction {
 public:
  // Throws not_found / unavailable / cancelled / deadline_exceeded.
  GuardedTransaction(DatabasePool& pool, const std::string& database, AccessMode mode, const CancellationToken* cancel);
  ~GuardedTransaction();
  GuardedTransaction(const GuardedTransaction&) = delete;
  GuardedTransaction& operator=(const GuardedTransaction&) = delete;

  // Runs one statement of dbopt's own (trusted text, simple protocol).
  pqxx::result exec_own(const std::string& sql);
  // Runs one statement that contains user text over the extended protocol,
  // where the server itself refuses a second statement: `header` (one line of
  // dbopt's own, such as "EXPLAIN (FORMAT JSON)", or empty), a newline, then
  // the user's text. Error positions ("LINE n:") are given in the user's text.
  // Parameters ($1..$n) are sent as untyped text values (nullopt = NULL),
  // never spliced into the SQL.
  pqxx::result exec_user(std::string_view header, std::string_view user_sql,
                         const std::vector<std::optional<std::string>>& params = {});
  pqxx::result exec_params(const std::string& sql, const std::vector<std::string>& params);

  // Savepoint helpers: a failed statement inside a long session (HypoPG) must
  // not abort the whole transaction.
  void savepoint(const std::string& name);
  void release_savepoint(const std::string& name);
  void rollback_to_savepoint(const std::string& name);

  const DatabaseSettings& database() const { return lease_.database(); }
  Connection& connection() const { return lease_.connection(); }
  int server_version() const;
  std::vector<std::string> take_notices();
  long long statement_timeout_ms() const { return statement_timeout_ms_; }
  // Mark the session as unusable: it is closed instead of being pooled.
  void discard() { lease_.discard(); }

 private:
  template <typename Run>
  pqxx::result guarded(const std::string& what, Run&& run);
  void begin(AccessMode mode);
  void refresh_timeout();

  DatabasePool::Lease lease_;  // before tx_: destroyed after it
  std::unique_ptr<pqxx::nontransaction> tx_;
  const CancellationToken* cancel_ = nullptr;
  long long statement_timeout_ms_ = 0;
};

// statement_timeout for the next statement: the database's setting, lowered
// to what is left of the token's deadline. Throws deadline_exceeded when
// nothing is left, cancelled when the token is cancelled.
long long effective_statement_timeout(const DatabaseSettings& db, const CancellationToken* cancel);

}  // namespace dbopt::pg::detail
