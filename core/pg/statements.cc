#include "core/pg/detail/statements.h"

#include <algorithm>
#include <atomic>
#include <chrono>

#include "core/common/error.h"
#include "core/pg/detail/connection.h"

namespace dbopt::pg::detail {

sql::StatementVerdict check_policy(std::string_view sql, const DatabaseSettings& db, bool allow_analyze_write) {
  sql::StatementVerdict verdict = sql::check_statement(sql);
  // The policy's contract: an analyzed write comes back with allowed == false and
  // is_analyze_of_write == true only when that is the sole objection; any other
  // objection clears is_analyze_of_write. Whether it may run is decided here.
  if (!verdict.allowed && !verdict.is_analyze_of_write)
    throw Error(ErrorCode::permission_denied, "dbopt refused to run this statement: " + verdict.reason,
                "dbopt runs only single read-only statements (SELECT, EXPLAIN, SHOW) on your database. Remove the "
                "refused part, or run the statement yourself outside dbopt.");
  if (verdict.is_analyze_of_write) {
    const std::string kind = verdict.statement_kind.empty() ? "write" : verdict.statement_kind;
    if (!allow_analyze_write)
      throw Error(ErrorCode::permission_denied,
                  "EXPLAIN ANALYZE would really run this " + kind +
                      "; dbopt runs writes (always rolled back) only when the call asks for it.",
                  "Use EXPLAIN without ANALYZE for the plan, or pass allow_analyze_write on a database whose config "
                  "sets allow_analyze_writes = true.");
    if (!db.allow_analyze_writes)
      throw Error(ErrorCode::permission_denied,
                  "EXPLAIN ANALYZE would really run this " + kind + " on database '" + db.name +
                      "', and its config does not allow analyzed writes.",
                  "Use a scratch or staging copy whose config sets allow_analyze_writes = true, or EXPLAIN without "
                  "ANALYZE.");
  }
  return verdict;
}

void check_parameter_values(const sql::StatementVerdict& verdict, std::size_t given) {
  if (static_cast<int>(given) == verdict.parameter_count) return;
  throw Error(ErrorCode::invalid_argument,
              "The statement uses placeholders up to $" + std::to_string(verdict.parameter_count) + ", but " +
                  std::to_string(given) + " parameter value(s) were given.",
              "Give exactly one value per placeholder, in order: the first for $1, the second for $2, ...");
}

std::string explain_header(const ExplainOptions& options, bool with_generic_plan) {
  std::string text = "EXPLAIN (FORMAT JSON";
  if (options.analyze) text += ", ANALYZE";
  if (options.buffers) text += ", BUFFERS";
  if (options.settings) text += ", SETTINGS";
  if (options.verbose) text += ", VERBOSE";
  if (with_generic_plan) text += ", GENERIC_PLAN";
  return text + ")";
}

// A newline, not a space: the statement may open with a -- comment.
std::string explain_text(std::string_view sql, const ExplainOptions& options, bool with_generic_plan) {
  return explain_header(options, with_generic_plan) + "\n" + std::string(sql);
}

namespace {

std::string single_value(const pqxx::result& result) {
  if (result.empty() || result.columns() == 0 || result[0][0].is_null())
    throw Error(ErrorCode::internal, "EXPLAIN returned no plan.");
  return result[0][0].c_str();
}

// PostgreSQL 15 and older have no EXPLAIN (GENERIC_PLAN): prepare the statement
// (parameter types inferred), force the generic plan and explain its EXECUTE
// with NULLs. Prepared statements outlive transactions, so it is deallocated
// whatever happens, or the connection is dropped.
std::string explain_generic_via_prepare(GuardedTransaction& tx, std::string_view sql, const ExplainOptions& options) {
  static std::atomic<unsigned long long> counter{0};
  const std::string name = "dbopt_generic_" + std::to_string(++counter);
  const std::string savepoint = "dbopt_generic_plan";
  tx.savepoint(savepoint);
  try {
    tx.exec_user("PREPARE " + name + " AS", sql);
  } catch (...) {
    try {
      tx.rollback_to_savepoint(savepoint);
    } catch (...) {
      tx.discard();
    }
    throw;
  }
  std::string json;
  try {
    auto count = tx.exec_own(
        "SELECT coalesce(cardinality(parameter_types), 0) FROM pg_prepared_statements "
        "WHERE name = '" +
        name + "'");
    const int params = count.empty() ? 0 : count[0][0].as<int>();
    tx.exec_own("SET LOCAL plan_cache_mode = force_generic_plan");
    std::string execute = "EXECUTE " + name;
    for (int i = 0; i < params; ++i) execute += i == 0 ? "(NULL" : ", NULL";
    if (params > 0) execute += ")";
    ExplainOptions plan_only = options;
    plan_only.generic_plan = false;
    json = single_value(tx.exec_own(explain_text(execute, plan_only)));
  } catch (...) {
    try {
      tx.rollback_to_savepoint(savepoint);
      tx.exec_own("DEALLOCATE " + name);
    } catch (...) {
      tx.discard();
    }
    throw;
  }
  try {
    tx.exec_own("DEALLOCATE " + name);
    tx.release_savepoint(savepoint);
  } catch (...) {
    tx.discard();
    throw;
  }
  return json;
}

}  // namespace

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

QueryResult run_query(GuardedTransaction& tx, std::string_view sql, const sql::StatementVerdict& verdict,
                      const RunOptions& options) {
  tx.connection().clear_notices();
  QueryResult out;
  const auto started = std::chrono::steady_clock::now();
  pqxx::result result;
  if (options.max_rows > 0 && options.max_rows < kCursorRowLimit && fits_a_cursor(verdict.statement_kind)) {
    // A cursor lets the server stop after max_rows + 1 rows (the +1 tells us there were more)
    // instead of shipping, say, all of a big table. It is closed so the
    // transaction can run more statements (ScratchSession does).
    tx.exec_user("DECLARE dbopt_rows NO SCROLL CURSOR FOR", sql, options.params);
    result = tx.exec_own("FETCH FORWARD " + std::to_string(options.max_rows + 1) + " FROM dbopt_rows");
    tx.exec_own("CLOSE dbopt_rows");
  } else {
    result = tx.exec_user("", sql, options.params);
  }
  out.elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  out.notices = tx.take_notices();
  copy_rows(result, options.max_rows, out);
  return out;
}

std::string run_explain(GuardedTransaction& tx, std::string_view sql, const ExplainOptions& options,
                        const std::vector<std::optional<std::string>>& params) {
  if (options.generic_plan && (options.analyze || !params.empty()))
    throw Error(ErrorCode::invalid_argument,
                "A generic plan cannot be combined with ANALYZE or parameter values: it plans without values.",
                "Drop generic_plan to explain the statement with its values.");
  if (!options.generic_plan) return single_value(tx.exec_user(explain_header(options), sql, params));
  if (tx.server_version() >= 160000) return single_value(tx.exec_user(explain_header(options, true), sql));
  return explain_generic_via_prepare(tx, sql, options);
}

}  // namespace dbopt::pg::detail
