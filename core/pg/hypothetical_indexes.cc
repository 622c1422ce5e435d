#include "core/pg/hypothetical_indexes.h"

#include <pg_query.h>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/pg/detail/connection.h"
#include "core/pg/detail/guarded_transaction.h"
#include "core/pg/detail/statements.h"

namespace dbopt::pg {

void require_single_create_index(std::string_view sql) {
  const std::string text(sql);
  PgQueryParseResult parsed = pg_query_parse(text.c_str());
  std::unique_ptr<PgQueryParseResult, void (*)(PgQueryParseResult*)> guard(
      &parsed, [](PgQueryParseResult* p) { pg_query_free_parse_result(*p); });
  if (parsed.error)
    throw Error(ErrorCode::invalid_argument,
                std::string("The index definition does not parse: ") + parsed.error->message,
                "Give one CREATE INDEX statement, e.g. CREATE INDEX ON orders (status).");
  const auto tree = nlohmann::json::parse(parsed.parse_tree, nullptr, /*allow_exceptions=*/false);
  const auto stmts = tree.is_object() ? tree.value("stmts", nlohmann::json::array()) : nlohmann::json::array();
  if (stmts.size() != 1 || !stmts[0].contains("stmt") || !stmts[0]["stmt"].contains("IndexStmt"))
    throw Error(ErrorCode::invalid_argument,
                "Only a single CREATE INDEX statement can become a hypothetical index; got " +
                    (stmts.size() == 1 ? std::string("another kind of statement")
                                       : std::to_string(stmts.size()) + " statements") +
                    ".",
                "Give one CREATE INDEX statement, e.g. CREATE INDEX ON orders (status).");
}

struct HypotheticalIndexSession::Impl {
  std::unique_ptr<detail::GuardedTransaction> tx;
  std::string version;
  std::string schema;  // where HypoPG's functions live, quoted

  // A failed statement would abort the whole transaction; a savepoint keeps the session usable.
  template <typename F>
  auto in_savepoint(F&& f) {
    static const std::string kSavepoint = "dbopt_hypopg";
    tx->savepoint(kSavepoint);
    try {
      auto out = f();
      tx->release_savepoint(kSavepoint);
      return out;
    } catch (...) {
      try {
        tx->rollback_to_savepoint(kSavepoint);
      } catch (...) {
        tx->discard();
      }
      throw;
    }
  }

  HypotheticalIndex describe(std::uint32_t oid) {
    const auto r = tx->exec_params("SELECT h.index_name, coalesce(h.schema_name || '.', '') || h.table_name, " +
                                       schema + ".hypopg_relation_size(h.indexrelid), " + schema +
                                       ".hypopg_get_indexdef(h.indexrelid) FROM " + schema +
                                       ".hypopg_list_indexes h WHERE h.indexrelid = $1",
                                   {std::to_string(oid)});
    if (r.empty()) throw Error(ErrorCode::not_found, "No hypothetical index with oid " + std::to_string(oid) + ".");
    HypotheticalIndex index;
    index.oid = oid;
    index.name = r[0][0].c_str();
    index.table = r[0][1].c_str();
    index.estimated_size_bytes = r[0][2].as<long long>(0);
    index.definition = r[0][3].is_null() ? "" : r[0][3].c_str();
    return index;
  }
};

HypotheticalIndexSession::HypotheticalIndexSession(DatabasePool& pool, const std::string& database,
                                                   const CancellationToken* cancel)
    : impl_(std::make_unique<Impl>()) {
  impl_->tx = std::make_unique<detail::GuardedTransaction>(pool, database, detail::AccessMode::read_only, cancel);
  auto& tx = *impl_->tx;
  const auto r = tx.exec_own(
      "SELECT e.extversion, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
      "WHERE e.extname = 'hypopg'");
  if (r.empty())
    throw Error(ErrorCode::unavailable,
                "The HypoPG extension is not installed in database '" + tx.database().name +
                    "', so indexes cannot be tried hypothetically there.",
                "Run CREATE EXTENSION hypopg; in that database as a privileged user (the server needs the HypoPG "
                "package, e.g. postgresql-15-hypopg). dbopt never creates extensions itself.");
  impl_->version = r[0][0].c_str();
  impl_->schema = tx.connection().raw().quote_name(r[0][1].c_str());
  // Whatever an earlier user of this backend left behind is not ours to cost with.
  tx.exec_own("SELECT " + impl_->schema + ".hypopg_reset()");
}

HypotheticalIndexSession::~HypotheticalIndexSession() {
  if (!impl_ || !impl_->tx) return;
  try {
    impl_->tx->exec_own("SELECT " + impl_->schema + ".hypopg_reset()");
  } catch (...) {
    // Closing the connection ends the backend, and its hypothetical indexes with it.
    impl_->tx->discard();
  }
  impl_->tx.reset();  // ROLLBACK, then back to the pool
}

HypotheticalIndex HypotheticalIndexSession::create_index(std::string_view create_index_sql) {
  require_single_create_index(create_index_sql);
  try {
    return impl_->in_savepoint([&] {
      // The text travels as a parameter: HypoPG parses it and acts only on CREATE INDEX.
      const auto r = impl_->tx->exec_params("SELECT indexrelid FROM " + impl_->schema + ".hypopg_create_index($1)",
                                            {std::string(create_index_sql)});
      if (r.empty())
        throw Error(ErrorCode::invalid_argument, "HypoPG created no index from: " + std::string(create_index_sql));
      return impl_->describe(r[0][0].as<std::uint32_t>());
    });
  } catch (const Error& e) {
    // HypoPG reports a bad definition (unknown column, unsupported access method) with a bare
    // elog(ERROR), SQLSTATE XX000, which reads as a server fault; it is the caller's input.
    if (e.code() == ErrorCode::unavailable && std::string_view(e.what()).find("hypopg:") != std::string_view::npos)
      throw Error(ErrorCode::invalid_argument, e.what(),
                  "Check the table, columns and access method of the CREATE INDEX statement.");
    throw;
  }
}

void HypotheticalIndexSession::drop_index(std::uint32_t oid) {
  impl_->in_savepoint([&] {
    return impl_->tx->exec_params("SELECT " + impl_->schema + ".hypopg_drop_index($1)", {std::to_string(oid)});
  });
}

std::vector<HypotheticalIndex> HypotheticalIndexSession::list() {
  return impl_->in_savepoint([&] {
    const auto r =
        impl_->tx->exec_own("SELECT indexrelid FROM " + impl_->schema + ".hypopg_list_indexes ORDER BY indexrelid");
    std::vector<HypotheticalIndex> out;
    for (const auto& row : r) out.push_back(impl_->describe(row[0].as<std::uint32_t>()));
    return out;
  });
}

void HypotheticalIndexSession::reset() {
  impl_->in_savepoint([&] { return impl_->tx->exec_own("SELECT " + impl_->schema + ".hypopg_reset()"); });
}

std::string HypotheticalIndexSession::explain_json(std::string_view sql, bool generic_plan,
                                                   const std::vector<std::optional<std::string>>& params) {
  ExplainOptions options;
  options.generic_plan = generic_plan;
  const sql::StatementVerdict verdict =
      detail::check_policy(detail::explain_text(sql, options), impl_->tx->database(), /*allow_analyze_write=*/false);
  if (!generic_plan) detail::check_parameter_values(verdict, params.size());
  return impl_->in_savepoint([&] { return detail::run_explain(*impl_->tx, sql, options, params); });
}

double HypotheticalIndexSession::explain_total_cost(std::string_view sql, bool generic_plan) {
  const auto plan = nlohmann::json::parse(explain_json(sql, generic_plan), nullptr, /*allow_exceptions=*/false);
  if (!plan.is_array() || plan.empty() || !plan[0].contains("Plan") || !plan[0]["Plan"].contains("Total Cost"))
    throw Error(ErrorCode::internal, "EXPLAIN (FORMAT JSON) returned a plan without \"Total Cost\".");
  return plan[0]["Plan"]["Total Cost"].get<double>();
}

std::string HypotheticalIndexSession::hypopg_version() const { return impl_->version; }

}  // namespace dbopt::pg
