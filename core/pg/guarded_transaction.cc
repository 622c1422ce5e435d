#include "core/pg/detail/guarded_transaction.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <regex>
#include <thread>

#include <spdlog/spdlog.h>
#include <pqxx/except>
#include <pqxx/prepared_statement>

#include "core/common/error.h"
#include "core/pg/detail/connection.h"

namespace dbopt::pg::detail {
namespace {

enum class Fired { no, cancelled, deadline };

// Sends a cancel request to the server when the token trips while a statement
// runs. The token has no callback, so the watcher polls it; 20 ms is far
// below anything a person notices and costs nothing measurable.
class CancelWatcher {
 public:
  CancelWatcher(pqxx::connection_base& conn, const CancellationToken* token) : conn_(conn), token_(token) {
    if (token_) thread_ = std::thread([this] { watch(); });
  }
  ~CancelWatcher() { stop(); }
  CancelWatcher(const CancelWatcher&) = delete;
  CancelWatcher& operator=(const CancelWatcher&) = delete;

  // Idempotent. After it returns the watcher never touches the connection again.
  Fired stop() {
    if (thread_.joinable()) {
      {
        std::lock_guard lock(mutex_);
        done_ = true;
      }
      wake_.notify_one();
      thread_.join();
    }
    return fired_;
  }

 private:
  void watch() {
    std::unique_lock lock(mutex_);
    while (!done_) {
      Fired why = token_->cancelled() ? Fired::cancelled : token_->expired() ? Fired::deadline : Fired::no;
      if (why != Fired::no) {
        fired_ = why;
        lock.unlock();
        try {
          // libpq's PQcancel: made for calling from another thread while the owner waits for a result.
          conn_.cancel_query();
        } catch (const std::exception& e) {
          spdlog::warn("pg: could not send a cancel request: {}", e.what());
        }
        return;
      }
      wake_.wait_for(lock, std::chrono::milliseconds(20));
    }
  }

  pqxx::connection_base& conn_;
  const CancellationToken* token_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  Fired fired_ = Fired::no;  // written by the watcher before it exits; read after join
  std::thread thread_;
};

std::string clean_message(const std::string& raw) {
  std::string text = raw;
  for (const char* prefix : {"ERROR:  ", "FATAL:  "})
    if (text.starts_with(prefix)) text.erase(0, std::string(prefix).size());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// PostgreSQL numbers error lines in the text it received; the header line is dbopt's.
std::string line_numbers_without_header(const std::string& message) {
  static const std::regex line(R"(LINE (\d+):)");
  std::string out;
  auto last = message.cbegin();
  for (std::sregex_iterator it(message.begin(), message.end(), line), end; it != end; ++it) {
    out.append(last, (*it)[0].first);
    const int n = std::stoi((*it)[1].str());
    out += "LINE " + std::to_string(n > 1 ? n - 1 : n) + ":";
    last = (*it)[0].second;
  }
  out.append(last, message.cend());
  return out;
}

bool contains(const std::string& haystack, const char* needle) { return haystack.find(needle) != std::string::npos; }

Error translate(const pqxx::sql_error& e, Fired fired, const DatabaseSettings& db, long long timeout_ms,
                bool connection_open) {
  const std::string state = e.sqlstate();
  const std::string message = clean_message(e.what());
  const std::string where = "database '" + db.name + "'";
  if (!connection_open)
    return Error(ErrorCode::unavailable, "The connection to " + where + " broke: " + message,
                 "Retry; if it keeps happening, check the server's log.");
  if (state == "57014") {  // query_canceled: our cancel, a timeout, or someone else's pg_cancel_backend
    if (fired == Fired::cancelled)
      return Error(ErrorCode::cancelled, "The request was cancelled; the running statement on " + where +
                                             " was cancelled on the server too.");
    if (fired == Fired::deadline || (contains(message, "statement timeout") &&
                                     (db.statement_timeout_ms <= 0 || timeout_ms < db.statement_timeout_ms)))
      return Error(ErrorCode::deadline_exceeded,
                   "The statement on " + where + " ran past the request's time limit and was cancelled.",
                   "Narrow the query (or drop ANALYZE), or raise limits.tool_timeout_ms in the config.");
    if (contains(message, "statement timeout"))
      return Error(ErrorCode::deadline_exceeded,
                   "The statement ran longer than the " + std::to_string(timeout_ms) + " ms statement_timeout of " +
                       where + " and was cancelled.",
                   "Make the query cheaper (try EXPLAIN without ANALYZE first), or raise statement_timeout_ms of " +
                       where + " in the config.");
    return Error(ErrorCode::cancelled, "PostgreSQL cancelled the statement on " + where + ": " + message);
  }
  if (state == "55P03")
    return Error(ErrorCode::unavailable,
                 "The statement waited longer than lock_timeout (" + std::to_string(db.lock_timeout_ms) +
                     " ms) for a lock on " + where + ": " + message,
                 "Another session holds a conflicting lock (a migration, VACUUM FULL, a long transaction); "
                 "retry later, or raise lock_timeout_ms of " +
                     where + " in the config.");
  if (state == "25006")
    return Error(ErrorCode::permission_denied,
                 "PostgreSQL refused a write on " + where + ": dbopt runs statements in a READ ONLY transaction (" +
                     message + ").",
                 "dbopt does not change your data. To measure a write, use EXPLAIN ANALYZE with "
                 "allow_analyze_write on a database whose config sets allow_analyze_writes (it is rolled back).");
  if (state == "42501")
    return Error(ErrorCode::permission_denied,
                 "The role dbopt connects as lacks a privilege on " + where + ": " + message,
                 "Grant that role SELECT on the objects involved (pg_read_all_stats or pg_monitor for "
                 "statistics views), or connect as a role that has it.");
  if (state == "08P01" && contains(message, "bind message supplies"))  // a wrong number of parameter values
    return Error(ErrorCode::invalid_argument, "PostgreSQL rejected the parameter values on " + where + ": " + message,
                 "Give exactly one value per $n placeholder of the statement.");
  const std::string cls = state.substr(0, 2);
  if (cls == "08" || cls == "53" || cls == "57" || cls == "58" || cls == "XX")
    return Error(ErrorCode::unavailable,
                 "PostgreSQL could not run the statement on " + where + ": " + message + " (SQLSTATE " + state + ")",
                 "Retry later; if it keeps happening, check the server's log.");
  return Error(ErrorCode::invalid_argument,
               "PostgreSQL rejected the statement on " + where + ": " + message +
                   (state.empty() ? "" : " (SQLSTATE " + state + ")"),
               "Fix the statement (names, types, syntax) and retry.");
}

}  // namespace

long long effective_statement_timeout(const DatabaseSettings& db, const CancellationToken* cancel) {
  long long timeout = std::max(0, db.statement_timeout_ms);  // 0: the config disabled the limit
  if (!cancel) return timeout;
  cancel->check();
  const long long left = cancel->remaining_ms();  // -1: no deadline; 0 cannot happen after check()
  if (left > 0) timeout = timeout == 0 ? left : std::min(timeout, left);
  return timeout;
}

GuardedTransaction::GuardedTransaction(DatabasePool& pool, const std::string& database, AccessMode mode,
                                       const CancellationToken* cancel)
    : cancel_(cancel) {
  for (int attempt = 0;; ++attempt) {
    lease_ = pool.acquire(database, cancel);
    try {
      begin(mode);
      return;
    } catch (const pqxx::failure& e) {
      tx_.reset();
      const bool stale = lease_.reused() && !lease_.connection().is_open();
      const std::string name = lease_.database().name;
      lease_.discard();
      lease_.release();
      // A pooled connection the server closed while it sat idle (restart, idle timeout,
      // pg_terminate_backend): try once more on a fresh one.
      if (stale && attempt == 0) continue;
      throw Error(ErrorCode::unavailable,
                  "Could not open a transaction on database '" + name + "': " + clean_message(e.what()),
                  "Retry; if it keeps happening, check the server's log.");
    }
  }
}

void GuardedTransaction::begin(AccessMode mode) {
  statement_timeout_ms_ = effective_statement_timeout(lease_.database(), cancel_);
  tx_ = std::make_unique<pqxx::nontransaction>(lease_.connection().raw());
  // One round trip. SET LOCAL ends with the transaction, so nothing leaks into the pooled session
  // (and it is safe behind PgBouncer in transaction mode).
  tx_->exec(std::string(mode == AccessMode::read_only ? "BEGIN READ ONLY" : "BEGIN READ WRITE") +
            "; SET LOCAL statement_timeout = " + std::to_string(statement_timeout_ms_) +
            "; SET LOCAL lock_timeout = " + std::to_string(std::max(0, lease_.database().lock_timeout_ms)));
}

GuardedTransaction::~GuardedTransaction() {
  if (!tx_) return;
  if (lease_.connection().is_open()) {
    try {
      tx_->exec("ROLLBACK");
    } catch (const std::exception& e) {
      // The session's state is unknown (maybe still inside the transaction): never pool it.
      spdlog::debug("pg: ROLLBACK failed, discarding the connection: {}", e.what());
      lease_.discard();
    }
  } else {
    lease_.discard();
  }
  tx_.reset();
}

void GuardedTransaction::refresh_timeout() {
  if (!cancel_ || cancel_->remaining_ms() < 0) return;
  long long timeout = effective_statement_timeout(lease_.database(), cancel_);
  if (timeout >= statement_timeout_ms_) return;
  guarded("SET LOCAL statement_timeout",
          [&] { return tx_->exec("SET LOCAL statement_timeout = " + std::to_string(timeout)); });
  statement_timeout_ms_ = timeout;
}

template <typename Run>
pqxx::result GuardedTransaction::guarded(const std::string& what, Run&& run) {
  if (cancel_) cancel_->check();
  Connection& conn = lease_.connection();
  const DatabaseSettings& db = lease_.database();
  CancelWatcher watcher(conn.raw(), cancel_);
  try {
    pqxx::result result = run();
    watcher.stop();
    return result;
  } catch (const pqxx::sql_error& e) {
    Fired fired = watcher.stop();
    if (!conn.is_open()) lease_.discard();
    throw translate(e, fired, db, statement_timeout_ms_, conn.is_open());
  } catch (const pqxx::failure& e) {  // broken_connection and friends
    watcher.stop();
    lease_.discard();
    throw Error(ErrorCode::unavailable,
                "The connection to database '" + db.name + "' broke during " + what + ": " + clean_message(e.what()),
                "Retry; if it keeps happening, check the server's log.");
  } catch (const Error&) {
    watcher.stop();
    throw;
  } catch (const std::exception& e) {
    watcher.stop();
    lease_.discard();
    throw Error(ErrorCode::internal, "Unexpected libpqxx error during " + what + ": " + e.what());
  }
}

pqxx::result GuardedTransaction::exec_own(const std::string& sql) {
  refresh_timeout();
  return guarded(sql, [&] { return tx_->exec(sql); });
}

pqxx::result GuardedTransaction::exec_user(std::string_view header, std::string_view user_sql,
                                           const std::vector<std::optional<std::string>>& params) {
  refresh_timeout();
  const std::string sql = header.empty() ? std::string(user_sql) : std::string(header) + "\n" + std::string(user_sql);
  std::vector<const char*> values;  // libpqxx sends a null pointer as SQL NULL
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  try {
    return guarded("the statement", [&] { return tx_->exec_params(sql, pqxx::prepare::make_dynamic_params(values)); });
  } catch (const Error& e) {
    if (header.empty() || e.code() != ErrorCode::invalid_argument) throw;
    throw Error(e.code(), line_numbers_without_header(e.what()), e.fix());
  }
}

pqxx::result GuardedTransaction::exec_params(const std::string& sql, const std::vector<std::string>& params) {
  refresh_timeout();
  return guarded("the statement", [&] { return tx_->exec_params(sql, pqxx::prepare::make_dynamic_params(params)); });
}

void GuardedTransaction::savepoint(const std::string& name) {
  guarded("SAVEPOINT", [&] { return tx_->exec("SAVEPOINT " + name); });
}

void GuardedTransaction::release_savepoint(const std::string& name) {
  guarded("RELEASE SAVEPOINT", [&] { return tx_->exec("RELEASE SAVEPOINT " + name); });
}

void GuardedTransaction::rollback_to_savepoint(const std::string& name) {
  guarded("ROLLBACK TO SAVEPOINT", [&] { return tx_->exec("ROLLBACK TO SAVEPOINT " + name); });
}

int GuardedTransaction::server_version() const { return lease_.connection().server_version(); }

std::vector<std::string> GuardedTransaction::take_notices() { return lease_.connection().take_notices(); }

}  // namespace dbopt::pg::detail
