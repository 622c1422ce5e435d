// Statement checks and EXPLAIN plumbing shared by SafeExecutor and
// HypotheticalIndexSession (internal to core/pg).
#pragma once

#include <string>
#include <string_view>

#include "core/common/settings.h"
#include "core/pg/detail/guarded_transaction.h"
#include "core/pg/safe_executor.h"
#include "core/sql/statement_policy.h"

namespace dbopt::pg::detail {

// sql::check_statement() plus the analyzed-write gate. Returns the verdict of
// a statement that may run; throws Error(permission_denied) with the reason
// and a fix otherwise (invalid_argument when it does not parse).
sql::StatementVerdict check_policy(std::string_view sql, const DatabaseSettings& db, bool allow_analyze_write);

// Throws Error(invalid_argument) unless `given` values match the statement's $1..$n.
void check_parameter_values(const sql::StatementVerdict& verdict, std::size_t given);

// The access mode a checked statement needs.
inline AccessMode access_mode(const sql::StatementVerdict& verdict) {
  return verdict.is_analyze_of_write ? AccessMode::read_write : AccessMode::read_only;
}

// "EXPLAIN (FORMAT JSON, ...)"; with_generic_plan adds GENERIC_PLAN (PostgreSQL 16+).
std::string explain_header(const ExplainOptions& options, bool with_generic_plan = false);
// explain_header(), a newline, the statement.
std::string explain_text(std::string_view sql, const ExplainOptions& options, bool with_generic_plan = false);

// Runs a statement that check_policy() accepted (verdict) in tx: SELECT/VALUES
// through a cursor that stops after options.max_rows, the rest directly.
QueryResult run_query(GuardedTransaction& tx, std::string_view sql, const sql::StatementVerdict& verdict,
                      const RunOptions& options);

// Runs EXPLAIN of sql in tx and returns the JSON text. The caller has checked
// explain_text(sql, options) with check_policy().
// params: values for $1..$n (see RunOptions::params); not with generic_plan.
std::string run_explain(GuardedTransaction& tx, std::string_view sql, const ExplainOptions& options,
                        const std::vector<std::optional<std::string>>& params = {});

}  // namespace dbopt::pg::detail
