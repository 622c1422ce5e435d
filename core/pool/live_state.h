// LiveState: what a running PostgreSQL (and optionally its PgBouncer) says
// about connections right now, read without changing anything.
//
// read_server_state() runs catalog reads through the SafeExecutor (READ ONLY,
// rolled back): the settings that matter (pg_settings), client backends by
// state and application (pg_stat_activity, dbopt's own session excluded),
// idle-in-transaction sessions and the oldest open transactions.
// read_pgbouncer_state() connects to PgBouncer's admin console with plain
// libpq (it speaks only the simple query protocol) and runs SHOW POOLS,
// SHOW STATS, SHOW CONFIG and SHOW VERSION, which change nothing. Both throw dbopt::Error: not_found for an
// unknown database name, unavailable when the server cannot be reached,
// invalid_argument for a malformed admin address.
// Thread-safe (no shared state).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/common/cancellation.h"

namespace dbopt::pg {
class DatabasePool;
}

namespace dbopt::pool {

struct ActivityGroup {
  std::string state;  // "active", "idle", "idle in transaction", ...
  std::string application_name;
  std::string database;
  std::string user;
  int count = 0;
};

struct OpenTransaction {
  int pid = 0;
  std::string application_name;
  std::string user;
  std::string state;
  double transaction_age_s = 0;
  double state_age_s = 0;  // time in the current state (idle in transaction: how long idle)
  std::string query;       // the last statement, cut to 200 characters
};

struct ServerState {
  std::string database;                         // the configured name
  std::map<std::string, std::string> settings;  // name -> setting (pg_settings.setting, in its unit)
  std::map<std::string, std::string> units;     // name -> pg_settings.unit ("8kB", "kB", "ms")
  int max_connections = 0;
  int superuser_reserved_connections = 0;
  std::vector<ActivityGroup> activity;  // client backends, dbopt's own session excluded
  int client_connections = 0;           // sum of activity
  int idle_in_transaction = 0;
  std::vector<OpenTransaction> open_transactions;  // oldest first, at most 20
  int count_in_state(const std::string& state) const;
  // A memory setting in kB (pg_settings value x unit); nullopt when absent.
  std::optional<double> setting_kb(const std::string& name) const;
};

struct PgBouncerPool {
  std::string database;
  std::string user;
  std::map<std::string, std::string> columns;   // every column of SHOW POOLS, as text
  int number(const std::string& column) const;  // 0 when absent or not a number
};

struct PgBouncerState {
  std::string address;  // the admin address, password masked
  std::vector<PgBouncerPool> pools;
  std::vector<std::map<std::string, std::string>> stats;  // SHOW STATS rows
  std::map<std::string, std::string> config;              // SHOW CONFIG: key -> value
  std::string version;                                    // SHOW VERSION: "1.18.0"
};

struct LiveState {
  std::optional<ServerState> server;
  std::optional<PgBouncerState> pgbouncer;
};

ServerState read_server_state(pg::DatabasePool& databases, const std::string& database,
                              const CancellationToken* cancel = nullptr);
PgBouncerState read_pgbouncer_state(const std::string& admin_url, int connect_timeout_s = 5);

}  // namespace dbopt::pool
