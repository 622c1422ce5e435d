#include "core/pg/scratch_session.h"

#include <chrono>
#include <regex>

#include "core/common/error.h"
#include "core/pg/detail/guarded_transaction.h"
#include "core/pg/detail/statements.h"
#include "core/sql/query_model.h"

namespace dbopt::pg {
namespace {

const DatabaseSettings& scratch_database(DatabasePool& pool, const std::string& database) {
  const DatabaseSettings& db = pool.database(database);
  if (!db.scratch)
    throw Error(ErrorCode::permission_denied,
                "Database '" + db.name +
                    "' is not marked as a scratch database, so dbopt does not build real "
                    "indexes on it.",
                "Measure with hypothetical indexes instead (estimates), or point dbopt at a staging copy and set "
                "scratch: true for it in the config.");
  return db;
}

// CREATE INDEX CONCURRENTLY cannot run inside a transaction block; inside the
// rolled-back transaction the plain build measures the same index.
std::string without_concurrently(std::string_view statement) {
  static const std::regex concurrently(R"(^(\s*CREATE\s+(UNIQUE\s+)?INDEX\s+)CONCURRENTLY\s+)", std::regex::icase);
  return std::regex_replace(std::string(statement), concurrently, "$1", std::regex_constants::format_first_only);
}

}  // namespace

struct ScratchSession::Impl {
  const DatabaseSettings& db;
  const CancellationToken* cancel;
  detail::GuardedTransaction tx;
  Impl(DatabasePool& pool, const std::string& database, const CancellationToken* c)
      : db(scratch_database(pool, database)), cancel(c), tx(pool, db.name, detail::AccessMode::read_write, c) {}
};

ScratchSession::ScratchSession(DatabasePool& pool, const std::string& database, const CancellationToken* cancel)
    : impl_(std::make_unique<Impl>(pool, database, cancel)) {}

ScratchSession::~ScratchSession() = default;

QueryResult ScratchSession::run(std::string_view sql, const RunOptions& options) {
  if (impl_->cancel) impl_->cancel->check();
  const sql::StatementVerdict verdict = detail::check_policy(sql, impl_->db, /*allow_analyze_write=*/false);
  detail::check_parameter_values(verdict, options.params.size());
  return detail::run_query(impl_->tx, sql, verdict, options);
}

std::string ScratchSession::explain(std::string_view sql, const ExplainOptions& explain, const RunOptions& options) {
  if (impl_->cancel) impl_->cancel->check();
  const sql::StatementVerdict verdict =
      detail::check_policy(detail::explain_text(sql, explain), impl_->db, /*allow_analyze_write=*/false);
  if (!explain.generic_plan) detail::check_parameter_values(verdict, options.params.size());
  return detail::run_explain(impl_->tx, sql, explain, options.params);
}

IndexBuild ScratchSession::create_index(std::string_view create_index_sql) {
  if (impl_->cancel) impl_->cancel->check();
  IndexBuild build;
  build.statement = without_concurrently(create_index_sql);
  const std::vector<sql::QueryModel> statements = sql::parse_script(build.statement);
  if (statements.size() != 1 || statements[0].kind != sql::StatementKind::create_index || !statements[0].index ||
      statements[0].index->concurrently)
    throw Error(ErrorCode::invalid_argument, "Expected one CREATE INDEX statement, got: " + build.statement,
                "Pass a single CREATE INDEX [CONCURRENTLY] ... ON table (...) statement.");
  const sql::IndexDefinition& index = *statements[0].index;
  build.table = index.schema.empty() ? index.table : index.schema + "." + index.table;

  auto& tx = impl_->tx;
  const auto started = std::chrono::steady_clock::now();
  tx.exec_user("", build.statement);
  build.build_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  // The index this transaction made (its pg_index row carries our xid), its
  // size, and the locks our backend holds on its table.
  const auto made = tx.exec_own(
      "SELECT i.indexrelid::regclass::text, pg_relation_size(i.indexrelid), coalesce((SELECT string_agg(l.mode, ', ' "
      "ORDER BY l.mode) FROM pg_locks l WHERE l.relation = i.indrelid AND l.pid = pg_backend_pid() AND l.granted), "
      "'') FROM pg_index i WHERE i.xmin = pg_current_xact_id()::xid ORDER BY i.indexrelid DESC LIMIT 1");
  if (!made.empty()) {
    build.index_name = made[0][0].c_str();
    build.size_bytes = made[0][1].as<long long>();
    build.lock_mode = made[0][2].c_str();
  }
  return build;
}

}  // namespace dbopt::pg
