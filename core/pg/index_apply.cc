#include "core/pg/index_apply.h"

#include <pg_query.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <pqxx/nontransaction>

#include "core/common/error.h"
#include "core/pg/detail/connection.h"

namespace dbopt::pg {
namespace {

// True for exactly one CREATE INDEX CONCURRENTLY or DROP INDEX CONCURRENTLY.
bool concurrent_index_statement(const std::string& text) {
  PgQueryParseResult parsed = pg_query_parse(text.c_str());
  std::unique_ptr<PgQueryParseResult, void (*)(PgQueryParseResult*)> guard(
      &parsed, [](PgQueryParseResult* p) { pg_query_free_parse_result(*p); });
  if (parsed.error) return false;
  const auto tree = nlohmann::json::parse(parsed.parse_tree, nullptr, false);
  if (!tree.is_object() || !tree.contains("stmts") || tree["stmts"].size() != 1) return false;
  const auto& stmt = tree["stmts"][0].value("stmt", nlohmann::json::object());
  if (stmt.contains("IndexStmt")) return stmt["IndexStmt"].value("concurrent", false);
  if (stmt.contains("DropStmt"))
    return stmt["DropStmt"].value("concurrent", false) && stmt["DropStmt"].value("removeType", "") == "OBJECT_INDEX";
  return false;
}

}  // namespace

void apply_index_statement(DatabasePool& pool, const std::string& database, std::string_view statement,
                           const CancellationToken* cancel) {
  const auto& db = pool.database(database);
  if (!db.allow_apply)
    throw Error(ErrorCode::permission_denied,
                "The config of database `" + db.name + "` does not allow creating or dropping indexes.",
                "Set allow_apply: true for this database in the config, or run the statement yourself.");
  const std::string text(statement);
  if (!concurrent_index_statement(text))
    throw Error(ErrorCode::permission_denied,
                "Only one CREATE INDEX CONCURRENTLY or DROP INDEX CONCURRENTLY statement can be applied.",
                "Give a single CONCURRENTLY index statement.");
  if (cancel) cancel->check();
  auto lease = pool.acquire(database, cancel);
  // The session's lock_timeout is changed for this statement: the connection
  // is not given back to the pool afterwards.
  lease.discard();
  try {
    pqxx::nontransaction tx(lease.connection().raw());
    // No statement_timeout (a real build may take long), but no endless queue
    // behind another session's lock either: every write to the table would
    // wait behind the queued build.
    tx.exec("SET lock_timeout = " + std::to_string(std::max(db.lock_timeout_ms, 1)));
    tx.exec(text);
  } catch (const pqxx::broken_connection& e) {
    throw Error(ErrorCode::unavailable, std::string("The connection broke while applying: ") + e.what());
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() == "55P03")
      throw Error(ErrorCode::unavailable,
                  "`" + text + "` waited longer than lock_timeout (" + std::to_string(db.lock_timeout_ms) +
                      " ms) for a lock on database '" + db.name +
                      "': another session holds one (a long "
                      "transaction, a migration); nothing was changed.",
                  "Retry when the other session is done (pg_stat_activity shows it), or raise lock_timeout_ms of "
                  "this database in the config.");
    // A failed CONCURRENTLY build leaves an invalid index behind; say so.
    throw Error(ErrorCode::invalid_argument, std::string("PostgreSQL refused `") + text + "`: " + e.what(),
                "Check for an INVALID index left behind (suggest_indexes lists it under drops) and retry.");
  }
}

}  // namespace dbopt::pg
