#include "core/pool/live_state.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <memory>

#include "core/common/error.h"
#include "core/common/settings.h"
#include "core/pg/safe_executor.h"

namespace dbopt::pool {
namespace {

// The settings tune_pool looks at; every one exists in PostgreSQL 13+.
constexpr const char* kSettingsSql = R"sql(
SELECT name, setting, coalesce(unit, '')
FROM pg_catalog.pg_settings
WHERE name IN ('max_connections', 'superuser_reserved_connections', 'shared_buffers', 'work_mem',
               'maintenance_work_mem', 'effective_cache_size', 'max_wal_size', 'min_wal_size',
               'idle_in_transaction_session_timeout', 'idle_session_timeout', 'statement_timeout',
               'max_worker_processes', 'max_parallel_workers_per_gather', 'max_prepared_transactions')
ORDER BY name)sql";

constexpr const char* kActivitySql = R"sql(
SELECT coalesce(state, 'unknown'), coalesce(application_name, ''), coalesce(datname, ''),
       coalesce(usename, ''), count(*)
FROM pg_catalog.pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_catalog.pg_backend_pid()
GROUP BY 1, 2, 3, 4
ORDER BY 5 DESC, 1, 2, 3, 4)sql";

// clock_timestamp(): now() would be the start of dbopt's own reading transaction.
// Idle-in-transaction sessions first: on a busy server, many short active
// transactions must not push the ones that hold locks for nothing off the list.
constexpr const char* kTransactionsSql = R"sql(
SELECT pid, coalesce(application_name, ''), coalesce(usename, ''), coalesce(state, 'unknown'),
       extract(epoch FROM clock_timestamp() - xact_start),
       extract(epoch FROM clock_timestamp() - coalesce(state_change, xact_start)),
       left(coalesce(query, ''), 200)
FROM pg_catalog.pg_stat_activity
WHERE backend_type = 'client backend' AND xact_start IS NOT NULL AND pid <> pg_catalog.pg_backend_pid()
ORDER BY state LIKE 'idle in transaction%' DESC, xact_start
LIMIT 50)sql";

std::string text(const std::optional<std::string>& v) { return v.value_or(""); }

int to_int(const std::string& s) { return static_cast<int>(std::strtol(s.c_str(), nullptr, 10)); }

double unit_kb(const std::string& unit) {
  if (unit == "kB") return 1;
  if (unit == "8kB") return 8;
  if (unit == "MB") return 1024;
  if (unit == "16MB") return 16 * 1024;
  if (unit == "B") return 1.0 / 1024;
  return 0;
}

struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};

}  // namespace

int ServerState::count_in_state(const std::string& state) const {
  int n = 0;
  for (const auto& g : activity)
    if (g.state == state) n += g.count;
  return n;
}

std::optional<double> ServerState::setting_kb(const std::string& name) const {
  auto s = settings.find(name);
  auto u = units.find(name);
  if (s == settings.end() || u == units.end() || unit_kb(u->second) == 0) return std::nullopt;
  return std::strtod(s->second.c_str(), nullptr) * unit_kb(u->second);
}

int PgBouncerPool::number(const std::string& column) const {
  auto it = columns.find(column);
  return it == columns.end() ? 0 : to_int(it->second);
}

ServerState read_server_state(pg::DatabasePool& databases, const std::string& database,
                              const CancellationToken* cancel) {
  pg::SafeExecutor executor(databases);
  const pg::RunOptions options{.cancel = cancel};
  ServerState state;
  state.database = databases.database(database).name;
  for (const auto& row : executor.run(database, kSettingsSql, options).rows) {
    state.settings[text(row[0])] = text(row[1]);
    state.units[text(row[0])] = text(row[2]);
  }
  state.max_connections = to_int(state.settings["max_connections"]);
  state.superuser_reserved_connections = to_int(state.settings["superuser_reserved_connections"]);
  for (const auto& row : executor.run(database, kActivitySql, options).rows) {
    ActivityGroup g{text(row[0]), text(row[1]), text(row[2]), text(row[3]), to_int(text(row[4]))};
    state.client_connections += g.count;
    if (g.state.starts_with("idle in transaction")) state.idle_in_transaction += g.count;
    state.activity.push_back(std::move(g));
  }
  for (const auto& row : executor.run(database, kTransactionsSql, options).rows) {
    state.open_transactions.push_back({to_int(text(row[0])), text(row[1]), text(row[2]), text(row[3]),
                                       std::strtod(text(row[4]).c_str(), nullptr),
                                       std::strtod(text(row[5]).c_str(), nullptr), text(row[6])});
  }
  return state;
}

PgBouncerState read_pgbouncer_state(const std::string& admin_url, int connect_timeout_s) {
  PgBouncerState state;
  state.address = redact_dsn(admin_url);
  const std::string timeout = std::to_string(connect_timeout_s);
  const char* keywords[] = {"dbname", "connect_timeout", "application_name", nullptr};
  const char* values[] = {admin_url.c_str(), timeout.c_str(), "dbopt", nullptr};
  std::unique_ptr<PGconn, PgConnDeleter> conn(PQconnectdbParams(keywords, values, 1));
  if (!conn) throw Error(ErrorCode::internal, "libpq could not allocate a connection");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn.get());
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    // libpq may quote the connection string; never echo a password.
    throw Error(ErrorCode::unavailable, "`pgbouncer_admin_url`: cannot connect to " + state.address + ": " + message,
                "Check the address (postgresql://USER:PASSWORD@HOST:PORT/pgbouncer) and that USER is in "
                "PgBouncer's admin_users or stats_users.");
  }
  // SHOW commands only: they read counters and change nothing.
  const auto show = [&](const char* command) {
    std::unique_ptr<PGresult, PgResultDeleter> result(PQexec(conn.get(), command));
    if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
      std::string message = PQerrorMessage(conn.get());
      while (!message.empty() && message.back() == '\n') message.pop_back();
      throw Error(ErrorCode::invalid_argument,
                  "`pgbouncer_admin_url`: " + std::string(command) + " failed on " + state.address + ": " + message,
                  "Point pgbouncer_admin_url at PgBouncer's admin database (dbname pgbouncer) as a user in "
                  "admin_users or stats_users.");
    }
    std::vector<std::map<std::string, std::string>> rows;
    for (int r = 0; r < PQntuples(result.get()); ++r) {
      std::map<std::string, std::string> row;
      for (int c = 0; c < PQnfields(result.get()); ++c)
        row[PQfname(result.get(), c)] = PQgetisnull(result.get(), r, c) ? "" : PQgetvalue(result.get(), r, c);
      rows.push_back(std::move(row));
    }
    return rows;
  };
  for (auto& row : show("SHOW POOLS")) {
    PgBouncerPool pool;
    pool.database = row["database"];
    pool.user = row["user"];
    pool.columns = std::move(row);
    state.pools.push_back(std::move(pool));
  }
  state.stats = show("SHOW STATS");
  for (auto& row : show("SHOW CONFIG")) state.config[row["key"]] = row["value"];
  for (auto& row : show("SHOW VERSION")) {
    // "PgBouncer 1.18.0" -> "1.18.0"
    const std::string text = row["version"];
    state.version = text.substr(text.find_last_of(' ') + 1);
  }
  return state;
}

}  // namespace dbopt::pool
