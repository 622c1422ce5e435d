#include "core/pg/safe_executor.h"

#include "core/common/error.h"
#include "core/pg/detail/guarded_transaction.h"
#include "core/pg/detail/statements.h"

namespace dbopt::pg {

QueryResult SafeExecutor::run(const std::string& database, std::string_view sql, const RunOptions& options) const {
  const DatabaseSettings& db = pool_.database(database);
  if (options.cancel) options.cancel->check();
  const sql::StatementVerdict verdict = detail::check_policy(sql, db, options.allow_analyze_write);
  detail::check_parameter_values(verdict, options.params.size());

  detail::GuardedTransaction tx(pool_, db.name, detail::access_mode(verdict), options.cancel);
  return detail::run_query(tx, sql, verdict, options);  // ~GuardedTransaction rolls back
}

std::string SafeExecutor::explain(const std::string& database, std::string_view sql, const ExplainOptions& explain,
                                  const RunOptions& options) const {
  const DatabaseSettings& db = pool_.database(database);
  if (options.cancel) options.cancel->check();
  // The policy sees the whole EXPLAIN, so an analyzed write is recognised as one.
  const sql::StatementVerdict verdict =
      detail::check_policy(detail::explain_text(sql, explain), db, options.allow_analyze_write);
  if (!explain.generic_plan) detail::check_parameter_values(verdict, options.params.size());
  detail::GuardedTransaction tx(pool_, db.name, detail::access_mode(verdict), options.cancel);
  return detail::run_explain(tx, sql, explain, options.params);
}

}  // namespace dbopt::pg
