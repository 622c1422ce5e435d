#include "core/pg/safe_executor.h"

#include <chrono>

#include "core/common/error.h"
#include "core/pg/detail/connection.h"
#include "core/pg/detail/guarded_transaction.h"
#include "core/pg/detail/statements.h"

namespace dbopt::pg {
namespace {

// Row-returning statements a cursor can carry; the policy names kinds in lower case.
bool fits_a_cursor(const std::string& kind) { return kind == "select" || kind == "values"; }

// Beyond this, max_rows is no real limit (and max_rows + 1 must not overflow).
constexpr std::size_t kCursorRowLimit = 100'000'000;

void copy_rows(const pqxx::result& result, std::size_t max_rows, QueryResult& out) {
  for (pqxx::row::size_type c = 0; c < result.columns(); ++c) out.columns.emplace_back(result.column_name(c));
  const std::size_t keep = max_rows == 0 ? result.size() : std::min<std::size_t>(result.size(), max_rows);
  out.rows.reserve(keep);
  for (std::size_t r = 0; r < keep; ++r) {
    const auto row = result[static_cast<pqxx::result::size_type>(r)];
    auto& values = out.rows.emplace_back();
    values.reserve(row.size());
    for (const auto& field : row) {
      if (field.is_null())
        values.emplace_back(std::nullopt);
      else
        values.emplace_back(std::string(field.c_str(), field.size()));
    }
  }
  out.row_count = out.rows.size();
  out.truncated = result.size() > keep;
}

}  // namespace

QueryResult SafeExecutor::run(const std::string& database, std::string_view sql, const RunOptions& options) const {
  const DatabaseSettings& db = pool_.database(database);
  if (options.cancel) options.cancel->check();
  const sql::StatementVerdict verdict = detail::check_policy(sql, db, options.allow_analyze_write);
  detail::check_parameter_values(verdict, options.params.size());

  detail::GuardedTransaction tx(pool_, db.name, detail::access_mode(verdict), options.cancel);
  tx.connection().clear_notices();
  QueryResult out;
  const auto started = std::chrono::steady_clock::now();
  pqxx::result result;
  if (options.max_rows > 0 && options.max_rows < kCursorRowLimit && fits_a_cursor(verdict.statement_kind)) {
    // A cursor lets the server stop after max_rows + 1 rows (the +1 tells us there were more)
    // instead of shipping, say, all of a big table.
    tx.exec_user("DECLARE dbopt_rows NO SCROLL CURSOR FOR", sql, options.params);
    result = tx.exec_own("FETCH FORWARD " + std::to_string(options.max_rows + 1) + " FROM dbopt_rows");
  } else {
    result = tx.exec_user("", sql, options.params);
  }
  out.elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  out.notices = tx.take_notices();
  copy_rows(result, options.max_rows, out);
  return out;  // ~GuardedTransaction rolls back
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
