// PoolDesign: connection pool and server sizing for one application on one
// platform, with every number's arithmetic, the pool mode, what breaks under
// it, and the findings (each tied to a rule of knowledge/rules/pool.yaml).
//
// design_pool() is pure: inputs (what the caller told) + the platform table +
// the rules (+ the live readings when a database was read) in, a design out.
// Missing or contradictory numbers throw dbopt::Error(invalid_argument) whose
// message names the field (`app.db_time_per_request_ms`, `server.cores` ...)
// and the fix. An unknown platform gives generic advice and says so.
// Thread-safe; no I/O.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/pool/live_state.h"
#include "core/pool/pgtune.h"
#include "core/pool/platforms.h"
#include "knowledge/finding.h"
#include "knowledge/rule_book.h"

namespace dbopt::pool {

enum class Framework { django, generic };

struct AppSide {
  Framework framework = Framework::django;
  std::optional<int> instances;
  std::optional<int> autoscale_max_instances;
  std::optional<int> processes_per_instance;
  std::optional<int> threads_per_process;  // or concurrent tasks per async worker
  bool async_workers = false;
  std::optional<double> request_rate_per_s;  // whole fleet
  std::optional<double> db_time_per_request_ms;
  std::optional<double> p95_db_time_ms;
  std::optional<int> background_workers;  // Celery worker processes, one connection each
  std::optional<double> longest_transaction_s;
  std::optional<std::string> django_version;  // "5.1"
  bool uses_server_side_cursors = false;
  bool uses_prepared_statements = false;  // protocol-level (driver) prepared statements
  bool uses_listen_notify = false;
  bool uses_session_state = false;  // any of the below, unspecified
  bool uses_set = false;
  bool uses_advisory_locks = false;
  bool uses_temp_tables = false;
  bool uses_with_hold_cursors = false;
  bool uses_sql_prepare = false;
};

struct ServerSide {
  std::optional<double> cores;
  std::optional<double> memory_gb;
  Storage storage = Storage::ssd;
  std::optional<int> effective_spindles;
  std::optional<int> max_connections;
  std::optional<int> superuser_reserved_connections;
  std::optional<std::string> compute_size;
  Workload workload = Workload::web;
  std::optional<double> work_mem_mb;             // the current setting, to check it against memory
  std::optional<std::string> pgbouncer_version;  // "1.21"
  // Serverless autoscaling (Neon): the range in compute units, and whether
  // the compute scales to zero when idle (the platform's default when unset).
  std::optional<double> autoscaling_min_cu, autoscaling_max_cu;
  std::optional<bool> scale_to_zero;
};

struct PoolInputs {
  std::string platform = "self_hosted";
  AppSide app;
  ServerSide server;
};

// One number of the design and how it was reached.
struct SizingStep {
  std::string id;     // "littles_law", "core_bound", ...
  std::string label;  // for people
  double value = 0;
  std::string unit;        // "connections", "clients"
  std::string arithmetic;  // "200 req/s x 0.015 s = 3.0 busy; x 1.5 headroom = 4.5 -> 5"
  std::string rule_id;
  std::map<std::string, double> inputs;  // the numbers that went in, by name
};

struct Sizing {
  std::vector<SizingStep> steps;
  std::optional<int> connections_per_instance;  // app side: processes x threads
  std::optional<int> fleet_connections;         // at the current instance count
  std::optional<int> fleet_connections_at_max;  // at autoscale max
  std::optional<int> littles_law_connections;
  std::optional<int> core_bound;
  std::optional<int> server_max_connections;
  int server_reserved = 0;  // superuser + admin
  std::optional<int> server_usable_connections;
  std::optional<int> server_pool;          // server connections the app should use in all
  std::optional<int> pool_per_process;     // app-side pool per process (Django 5.1 pool max_size)
  std::optional<int> pool_per_instance;    // pool_per_process x processes
  std::optional<int> pooler_client_limit;  // Supabase / Neon pooler clients
  std::optional<int> pooler_pool_size;     // Neon: 0.9 x max_connections
  // PgBouncer (ours to configure), when one is used.
  std::optional<int> default_pool_size, reserve_pool_size, max_db_connections, max_client_conn;
};

enum class PoolMode { transaction, session };
const char* to_string(PoolMode mode);

struct PoolDesign {
  std::string platform_id;
  std::string platform_name;
  bool platform_known = true;
  std::optional<ComputeSize> compute_size;
  Topology topology = Topology::direct;  // what the app should connect through
  bool uses_pooler = false;
  bool pgbouncer_to_run = false;  // dbopt recommends running a PgBouncer (pgbouncer.ini applies)
  PoolMode mode = PoolMode::session;
  std::string mode_rule_id;
  std::string mode_reason;
  Sizing sizing;
  std::vector<TunedSetting> memory_settings;  // pgtune; empty when memory is unknown or managed
  std::string memory_settings_note;
  std::vector<knowledge::Finding> findings;  // most urgent first
  std::vector<std::string> notes;
  int cold_start_ms = 0;  // a new connection's wait while a scaled-to-zero compute resumes
};

PoolDesign design_pool(const PoolInputs& inputs, const PlatformTable& platforms, const knowledge::RuleBook& rules,
                       const LiveState* live = nullptr);

// The rule ids design_pool() can report (for the every-rule tests).
std::vector<std::string> pool_rule_ids();

}  // namespace dbopt::pool
