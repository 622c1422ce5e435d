#include "core/pool/pool_design.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/common/error.h"
#include "core/pool/config_files.h"

namespace dbopt::pool {
namespace {

// How many open transactions are at least min_s old by `age` (only the idle
// ones when idle_only), and the oldest of them (null when none).
std::pair<int, const OpenTransaction*> longest_past(const std::vector<OpenTransaction>& all, double min_s,
                                                    double OpenTransaction::*age, bool idle_only) {
  int count = 0;
  const OpenTransaction* longest = nullptr;
  for (const auto& t : all) {
    if ((idle_only && !t.state.starts_with("idle in transaction")) || t.*age < min_s) continue;
    ++count;
    if (!longest || t.*age > longest->*age) longest = &t;
  }
  return {count, longest};
}

using knowledge::EvidenceSource;
using knowledge::Finding;
using knowledge::TemplateValues;

// Numbers as people write them: 3, 2.5, 0.015 (no trailing zeros).
std::string num(double v) {
  if (std::fabs(v - std::round(v)) < 1e-9) return std::to_string(static_cast<long long>(std::llround(v)));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

int ceil_int(double v) { return static_cast<int>(std::ceil(v - 1e-9)); }

[[noreturn]] void bad(const std::string& field, const std::string& problem, const std::string& fix) {
  throw Error(ErrorCode::invalid_argument, "`" + field + "` " + problem, fix);
}

void require_positive(const std::optional<double>& v, const std::string& field, const std::string& fix) {
  if (v && !(*v > 0)) bad(field, "must be above 0 (got " + num(*v) + ").", fix);
}
void require_non_negative(const std::optional<double>& v, const std::string& field) {
  if (v && *v < 0) bad(field, "cannot be negative (got " + num(*v) + ").", "Give a value of 0 or more.");
}
std::optional<double> as_double(const std::optional<int>& v) { return v ? std::optional<double>(*v) : std::nullopt; }

void validate(const PoolInputs& in) {
  const AppSide& a = in.app;
  const ServerSide& s = in.server;
  require_positive(as_double(a.instances), "app.instances",
                   "Give the number of app instances (containers, dynos, VMs), 1 or more.");
  require_positive(as_double(a.autoscale_max_instances), "app.autoscale_max_instances",
                   "Give the autoscaling maximum, 1 or more.");
  require_positive(as_double(a.processes_per_instance), "app.processes_per_instance",
                   "Give the worker processes per instance (gunicorn --workers), 1 or more.");
  require_positive(as_double(a.threads_per_process), "app.threads_per_process",
                   "Give the threads per process (gunicorn --threads), 1 or more.");
  require_non_negative(a.request_rate_per_s, "app.request_rate_per_s");
  require_non_negative(a.db_time_per_request_ms, "app.db_time_per_request_ms");
  require_non_negative(a.p95_db_time_ms, "app.p95_db_time_ms");
  require_non_negative(as_double(a.background_workers), "app.background_workers");
  require_non_negative(a.longest_transaction_s, "app.longest_transaction_s");
  require_positive(s.cores, "server.cores", "Give the server's CPU cores (vCPUs), e.g. 4.");
  require_positive(s.memory_gb, "server.memory_gb", "Give the server's memory in GB, e.g. 16.");
  require_positive(as_double(s.max_connections), "server.max_connections", "Give SHOW max_connections of the server.");
  require_non_negative(as_double(s.superuser_reserved_connections), "server.superuser_reserved_connections");
  require_non_negative(as_double(s.effective_spindles), "server.effective_spindles");
  require_positive(s.work_mem_mb, "server.work_mem_mb", "Give SHOW work_mem in MB, e.g. 4.");
  require_positive(s.autoscaling_min_cu, "server.autoscaling_min_cu", "Give the autoscaling minimum in CU, e.g. 0.5.");
  require_positive(s.autoscaling_max_cu, "server.autoscaling_max_cu", "Give the autoscaling maximum in CU, e.g. 4.");
  if (a.instances && a.autoscale_max_instances && *a.autoscale_max_instances < *a.instances)
    bad("app.autoscale_max_instances",
        "(" + std::to_string(*a.autoscale_max_instances) + ") is below `app.instances` (" +
            std::to_string(*a.instances) + "): the autoscaling maximum cannot be smaller than the running fleet.",
        "Give the largest instance count autoscaling may reach, at least app.instances.");
  if (a.request_rate_per_s && !a.db_time_per_request_ms && !a.p95_db_time_ms)
    bad("app.db_time_per_request_ms", "is missing: Little's law needs the database time per request with the rate.",
        "Give the mean database time per request in ms (pg_stat_statements or your APM), or drop request_rate_per_s.");
  if ((a.db_time_per_request_ms || a.p95_db_time_ms) && !a.request_rate_per_s)
    bad("app.request_rate_per_s", "is missing: Little's law needs the request rate with the database time.",
        "Give the fleet's requests per second at peak, or drop the database time.");
  if (a.db_time_per_request_ms && a.p95_db_time_ms && *a.p95_db_time_ms < *a.db_time_per_request_ms)
    bad("app.p95_db_time_ms",
        "(" + num(*a.p95_db_time_ms) + " ms) is below the mean `app.db_time_per_request_ms` (" +
            num(*a.db_time_per_request_ms) + " ms): a 95th percentile cannot be below the mean of a skewed latency.",
        "Check the two numbers; give the p95 from the same measurement as the mean.");
}

class Reporter {
 public:
  Reporter(const knowledge::RuleBook& rules, std::vector<Finding>& out) : rules_(rules), out_(out) {}

  Finding& add(const std::string& id, const TemplateValues& values, std::string clause,
               std::map<std::string, double> numbers = {}, EvidenceSource source = EvidenceSource::inferred) {
    const knowledge::Rule& rule = rules_.rule(id);
    Finding f;
    f.rule_id = id;
    f.title = rule.title;
    f.category = rule.category;
    f.severity = rule.severity;
    f.where.clause = std::move(clause);
    f.summary = rule.render_summary(values);
    f.fix = rule.render_fix(values);
    f.source = source;
    f.numbers = std::move(numbers);
    out_.push_back(std::move(f));
    return out_.back();
  }
  double threshold(const std::string& id, const std::string& name) const { return rules_.threshold(id, name); }
  const knowledge::Rule& rule(const std::string& id) const { return rules_.rule(id); }

 private:
  const knowledge::RuleBook& rules_;
  std::vector<Finding>& out_;
};

bool session_features(const AppSide& a) {
  return a.uses_listen_notify || a.uses_session_state || a.uses_set || a.uses_advisory_locks || a.uses_temp_tables ||
         a.uses_with_hold_cursors || a.uses_sql_prepare;
}

// "1.21.0" >= 1.21?
bool version_at_least(const std::string& version, int major, int minor) {
  int ma = 0, mi = 0;
  if (std::sscanf(version.c_str(), "%d.%d", &ma, &mi) < 1) return false;
  return ma > major || (ma == major && mi >= minor);
}

std::string pooler_name(const PoolDesign& d) {
  switch (d.topology) {
    case Topology::supavisor:
      return "Supabase's pooler (Supavisor, transaction mode, port 6543)";
    case Topology::neon_pooler:
      return "Neon's pooler (PgBouncer in transaction mode, the -pooler host)";
    case Topology::rds_proxy:
      return "RDS Proxy";
    case Topology::pgbouncer:
      return "PgBouncer";
    case Topology::direct:
      break;
  }
  return "a pooler";
}

std::string direct_address(const PoolDesign& d) {
  switch (d.topology) {
    case Topology::supavisor:
      return "Supabase's direct connection or session mode, port 5432";
    case Topology::neon_pooler:
      return "Neon's direct host, without -pooler";
    case Topology::rds_proxy:
      return "the instance endpoint, not the proxy";
    default:
      return "PostgreSQL's own port, not PgBouncer's";
  }
}

std::string step_arithmetic(const Sizing& z, const std::string& id) {
  for (const auto& s : z.steps)
    if (s.id == id) return s.arithmetic;
  return "";
}

}  // namespace

namespace {

// The smallest compute size of the platform whose core bound covers `needed`.
std::optional<ComputeSize> size_for(const Platform& platform, int needed, double per_core, double spindles) {
  for (const auto& size : platform.sizes)
    if (size.vcpus && ceil_int(*size.vcpus * per_core + spindles) >= needed) return size;
  return std::nullopt;
}

// Little's law asks for more busy connections than the cores serve: the pool
// covers the demand, and the way out is a bigger server or faster queries,
// each with its number.
void demand_exceeds_cores(Reporter& report, const Sizing& z, const AppSide& app, const Platform& platform,
                          bool autoscaling, std::optional<int> pool) {
  const double per_core = report.threshold("POOL_CORE_BOUND", "connections_per_core");
  const double spindles = report.threshold("POOL_CORE_BOUND", "default_effective_spindles");
  const double headroom = report.threshold("POOL_LITTLE_LAW", "headroom_factor");
  const int needed = *z.littles_law_connections;
  const double rate = *app.request_rate_per_s;
  const double db_time_ms = app.db_time_per_request_ms.value_or(app.p95_db_time_ms.value_or(0));
  // The database time per request at which the core bound carries this traffic.
  const double fitting_ms = 1000.0 * *z.core_bound / (rate * headroom);
  const int cores_needed = std::max(1, ceil_int((needed - spindles) / per_core));
  std::string bigger = "a server with at least " + std::to_string(cores_needed) + " cores";
  if (const auto size = size_for(platform, needed, per_core, spindles))
    bigger = std::string(autoscaling ? "an autoscaling minimum of " : "") + platform.name + " " + size->name + " (" +
             num(*size->vcpus) + " vCPUs, core bound " + std::to_string(ceil_int(*size->vcpus * per_core + spindles)) +
             ")";
  report.add("POOL_DEMAND_EXCEEDS_CORES",
             {{"needed", std::to_string(needed)},
              {"core_bound", std::to_string(*z.core_bound)},
              {"pool", pool ? std::to_string(*pool) : std::to_string(needed)},
              {"per_core", num(per_core)},
              {"bigger", bigger},
              {"rate", num(rate)},
              {"db_time", num(db_time_ms)},
              {"fitting_db_time", num(fitting_ms)}},
             "sizing",
             {{"needed_connections", needed},
              {"core_bound", *z.core_bound},
              {"cores_needed", cores_needed},
              {"fitting_db_time_ms", fitting_ms}});
}

// Autoscaling and scale to zero (Neon): what the range means for the
// connection limit, the cores, the pool and the bill. Returns the cold start
// (ms) a new connection may wait, 0 without scale to zero.
int autoscaling_advice(Reporter& report, const Sizing& z, const Platform& platform, const ComputeSize& floor,
                       const ComputeSize& ceiling, const ServerSide& server) {
  const Autoscaling& a = *platform.autoscaling;
  const double per_core = report.threshold("POOL_CORE_BOUND", "connections_per_core");
  const double spindles = report.threshold("POOL_CORE_BOUND", "default_effective_spindles");
  const double low = floor.compute_units.value_or(0), high = ceiling.compute_units.value_or(0);
  const int floor_bound = ceil_int(floor.vcpus.value_or(0) * per_core + spindles);
  const int ceiling_bound = ceil_int(ceiling.vcpus.value_or(0) * per_core + spindles);
  const ComputeSize& limit_size = a.max_connections_from_max ? ceiling : floor;
  const bool to_zero = server.scale_to_zero.value_or(a.scale_to_zero_after_s > 0);
  std::string floor_advice;
  if (z.littles_law_connections && *z.littles_law_connections > floor_bound) {
    const auto size = size_for(platform, *z.littles_law_connections, per_core, spindles);
    floor_advice = "The " + std::to_string(*z.littles_law_connections) +
                   " busy connections the traffic needs are above " + num(low) + " CU's core bound of " +
                   std::to_string(floor_bound) +
                   ": a burst queues until autoscaling catches up, so raise the minimum to " +
                   (size ? size->name : num(high) + " CU") + ".";
  } else {
    floor_advice = "The minimum's core bound (" + std::to_string(floor_bound) +
                   ") covers the busy connections the traffic needs, so the floor serves a burst while the compute "
                   "scales up.";
  }
  std::string zero_advice =
      to_zero
          ? "Scale to zero is on: after " + std::to_string(a.scale_to_zero_after_s) +
                " s without active queries the compute suspends, and the next connection waits about " +
                std::to_string(a.cold_start_ms) +
                " ms while it resumes (then reads a cold cache). Set the app's connect timeout well above that "
                "(connect_timeout=" +
                num(report.threshold("POOL_DJANGO_SETTINGS", "cold_start_connect_timeout_s")) +
                ", as the settings below do), do not run keep-alive queries from the pool (they keep the compute awake "
                "and billed), and turn scale to zero off for a production database that is never idle for " +
                std::to_string(a.scale_to_zero_after_s / 60) + " minutes (the cold start would only hit users)."
          : "Scale to zero is off: the compute is billed every hour, at least at the minimum size.";
  report.add("POOL_AUTOSCALING",
             {{"platform", platform.name},
              {"low", num(low)},
              {"high", num(high)},
              {"max_connections", std::to_string(limit_size.max_connections)},
              {"limit_end", a.max_connections_from_max ? "maximum" : "minimum"},
              {"floor_bound", std::to_string(floor_bound)},
              {"ceiling_bound", std::to_string(ceiling_bound)},
              {"floor_cu_hours", num(low * a.hours_per_month)},
              {"ceiling_cu_hours", num(high * a.hours_per_month)},
              {"floor_advice", floor_advice},
              {"zero_advice", zero_advice}},
             "autoscaling",
             {{"min_cu", low},
              {"max_cu", high},
              {"max_connections", limit_size.max_connections},
              {"min_cu_core_bound", floor_bound},
              {"max_cu_core_bound", ceiling_bound},
              {"min_cu_hours_per_month", low * a.hours_per_month},
              {"max_cu_hours_per_month", high * a.hours_per_month},
              {"cold_start_ms", to_zero ? a.cold_start_ms : 0}});
  return to_zero ? a.cold_start_ms : 0;
}

}  // namespace

const char* to_string(PoolMode mode) { return mode == PoolMode::transaction ? "transaction" : "session"; }

std::vector<std::string> pool_rule_ids() {
  return {"POOL_LITTLE_LAW",
          "POOL_CORE_BOUND",
          "POOL_SERVER_RESERVE",
          "POOL_PLATFORM_LIMITS",
          "POOL_UNKNOWN_PLATFORM",
          "POOL_FLEET_EXCEEDS_SERVER",
          "POOL_DEMAND_EXCEEDS_CORES",
          "POOL_DEMAND_EXCEEDS_SERVER",
          "POOL_AUTOSCALING",
          "POOL_POOLER_CLIENT_LIMIT",
          "POOL_PGBOUNCER_SIZING",
          "POOL_MODE_TRANSACTION",
          "POOL_MODE_SESSION",
          "POOL_TXN_SET",
          "POOL_TXN_LISTEN",
          "POOL_TXN_ADVISORY_LOCKS",
          "POOL_TXN_TEMP_TABLES",
          "POOL_TXN_WITH_HOLD_CURSORS",
          "POOL_TXN_SERVER_SIDE_CURSORS",
          "POOL_TXN_SQL_PREPARE",
          "POOL_TXN_PROTOCOL_PREPARED",
          "POOL_TXN_STARTUP_OPTIONS",
          "POOL_LONG_TRANSACTIONS",
          "POOL_WORK_MEM_RISK",
          "POOL_PGTUNE_MEMORY",
          "POOL_DJANGO_SETTINGS",
          "POOL_CONNECTION_STRING",
          "POOL_LIVE_NEAR_MAX_CONNECTIONS",
          "POOL_LIVE_IDLE_IN_TRANSACTION",
          "POOL_LIVE_LONG_TRANSACTION",
          "POOL_LIVE_CLIENTS_WAITING",
          "POOL_LIVE_NO_IDLE_TIMEOUT",
          "POOL_LIVE_PGBOUNCER_CONFIG"};
}

PoolDesign design_pool(const PoolInputs& in, const PlatformTable& platforms, const knowledge::RuleBook& rules,
                       const LiveState* live) {
  validate(in);
  PoolDesign d;
  Reporter report(rules, d.findings);
  Sizing& z = d.sizing;
  const AppSide& app = in.app;
  const ServerSide& server = in.server;
  const ServerState* live_server = live && live->server ? &*live->server : nullptr;

  // The platform, or generic advice that says so.
  d.platform_id = in.platform;
  const Platform* platform = platforms.find(in.platform);
  if (!platform) {
    d.platform_known = false;
    d.platform_name = in.platform;
    std::string known;
    for (const auto& id : platforms.ids()) known += (known.empty() ? "" : ", ") + id;
    report.add("POOL_UNKNOWN_PLATFORM", {{"platform", in.platform}, {"known", known}}, "platform");
    platform = platforms.find("self_hosted");
    if (!platform) throw Error(ErrorCode::internal, "the platform table has no self_hosted entry");
  } else {
    d.platform_name = platform->name;
  }
  d.topology = platform->topology;
  if (server.compute_size) d.compute_size = platform->size(*server.compute_size);
  // An autoscaling range: max_connections is set from one end when the
  // compute starts; the cores at the floor are what a burst meets first.
  std::optional<ComputeSize> floor_size, ceiling_size;
  if (server.autoscaling_min_cu || server.autoscaling_max_cu) {
    if (!platform->autoscaling)
      bad("server.autoscaling_min_cu",
          "applies to platforms whose compute autoscales (neon); " + platform->name + " does not.",
          "Drop server.autoscaling_min_cu / autoscaling_max_cu and give server.compute_size.");
    const Autoscaling& a = *platform->autoscaling;
    const double low = server.autoscaling_min_cu.value_or(server.autoscaling_max_cu.value_or(a.smallest_cu));
    const double high = server.autoscaling_max_cu.value_or(low);
    if (low < a.smallest_cu || high > a.largest_cu || low > high)
      bad("server.autoscaling_min_cu",
          "/ autoscaling_max_cu (" + num(low) + " - " + num(high) + " CU) is not a " + platform->name +
              " autoscaling range.",
          "Give a range within " + num(a.smallest_cu) + " - " + num(a.largest_cu) + " CU, minimum first.");
    floor_size = platform->size(num(low) + " CU");
    ceiling_size = platform->size(num(high) + " CU");
    if (!server.compute_size) d.compute_size = a.max_connections_from_max ? *ceiling_size : *floor_size;
  }

  // Server facts: what the caller said, the size table, the live server.
  const std::optional<double> cores = server.cores     ? server.cores
                                      : floor_size     ? floor_size->vcpus
                                      : d.compute_size ? d.compute_size->vcpus
                                                       : std::nullopt;
  // 0: not known (a plain double: gcc mistakes an optional here for uninitialized).
  const double memory_gb = server.memory_gb                              ? *server.memory_gb
                           : d.compute_size && d.compute_size->memory_gb ? *d.compute_size->memory_gb
                                                                         : 0.0;
  std::optional<int> max_connections;
  std::string max_connections_source;
  if (d.compute_size) {
    if (server.max_connections && platform->max_connections_fixed &&
        *server.max_connections != d.compute_size->max_connections)
      bad("server.max_connections",
          "(" + std::to_string(*server.max_connections) + ") contradicts " + platform->name + " " +
              d.compute_size->name + ", whose max_connections is fixed at " +
              std::to_string(d.compute_size->max_connections) + ".",
          "Drop server.max_connections, or give the compute size that matches it.");
    max_connections = server.max_connections.value_or(d.compute_size->max_connections);
    max_connections_source = server.max_connections ? "given" : platform->name + " " + d.compute_size->name;
  } else if (server.max_connections) {
    max_connections = server.max_connections;
    max_connections_source = "given";
  } else if (memory_gb > 0 && platform->max_connections_for_memory(memory_gb)) {
    max_connections = platform->max_connections_for_memory(memory_gb);
    max_connections_source = platform->max_connections_formula_text(memory_gb);
  }
  if (live_server && live_server->max_connections > 0) {
    if (max_connections && *max_connections != live_server->max_connections)
      d.notes.push_back("max_connections is " + std::to_string(live_server->max_connections) + " on the live server (" +
                        max_connections_source + " said " + std::to_string(*max_connections) +
                        "); the live value is used.");
    max_connections = live_server->max_connections;
    max_connections_source = "SHOW max_connections on " + live_server->database;
  }
  if (!max_connections && platform->id == "self_hosted") {
    max_connections = 100;
    max_connections_source = "PostgreSQL's default (not given)";
    d.notes.push_back("server.max_connections was not given: PostgreSQL's default of 100 is assumed.");
  }
  const int superuser_reserved = server.superuser_reserved_connections.value_or(
      live_server ? live_server->superuser_reserved_connections : platform->superuser_reserved_connections);

  // Platform limits.
  if (d.platform_known && (d.compute_size || !platform->memory_tiers.empty() || platform->memory_bytes_per_connection ||
                           platform->pooler_max_clients)) {
    std::string limits;
    if (max_connections) limits = "max_connections " + std::to_string(*max_connections);
    if (d.compute_size && d.compute_size->pooler_max_clients) {
      z.pooler_client_limit = d.compute_size->pooler_max_clients;
      limits += ", pooler clients " + std::to_string(*z.pooler_client_limit);
    } else if (platform->pooler_max_clients) {
      z.pooler_client_limit = platform->pooler_max_clients;
      limits += ", pooler clients " + std::to_string(*z.pooler_client_limit);
    }
    if (platform->pooler_pool_share && max_connections) {
      z.pooler_pool_size = static_cast<int>(std::floor(*platform->pooler_pool_share * *max_connections));
      limits += ", pooler pool per user and database " + num(*platform->pooler_pool_share) + " x " +
                std::to_string(*max_connections) + " = " + std::to_string(*z.pooler_pool_size);
    }
    if (platform->transaction_port)
      limits += ", transaction-mode port " + std::to_string(*platform->transaction_port) + ", session/direct port " +
                std::to_string(platform->session_port.value_or(5432));
    if (limits.empty()) limits = "max_connections derived from memory (give server.memory_gb or compute_size)";
    report.add(
        "POOL_PLATFORM_LIMITS",
        {{"platform", platform->name},
         {"size", d.compute_size ? " " + d.compute_size->name : std::string()},
         {"limits", limits},
         {"source", platform->source}},
        "platform",
        {{"max_connections", max_connections.value_or(0)}, {"pooler_max_clients", z.pooler_client_limit.value_or(0)}});
  }

  // Step 1: the app side.
  if (app.processes_per_instance || app.threads_per_process) {
    const int processes = app.processes_per_instance.value_or(1);
    const int threads = app.threads_per_process.value_or(1);
    const int instances = app.instances.value_or(1);
    const int max_instances = app.autoscale_max_instances.value_or(instances);
    const int background = app.background_workers.value_or(0);
    z.connections_per_instance = processes * threads;
    z.fleet_connections = instances * processes * threads + background;
    z.fleet_connections_at_max = max_instances * processes * threads + background;
    const std::string unit = app.async_workers ? " concurrent tasks" : " threads";
    z.steps.push_back(
        {"app_connections",
         "App connections now",
         static_cast<double>(*z.fleet_connections),
         "connections",
         std::to_string(instances) + " instances x " + std::to_string(processes) + " processes x " +
             std::to_string(threads) + unit + " + " + std::to_string(background) +
             " background workers = " + std::to_string(*z.fleet_connections),
         "POOL_FLEET_EXCEEDS_SERVER",
         {{"instances", instances}, {"processes", processes}, {"threads", threads}, {"background", background}}});
    z.steps.push_back(
        {"app_connections_at_max",
         "App connections at autoscaling max",
         static_cast<double>(*z.fleet_connections_at_max),
         "connections",
         std::to_string(max_instances) + " instances x " + std::to_string(processes) + " x " + std::to_string(threads) +
             " + " + std::to_string(background) + " = " + std::to_string(*z.fleet_connections_at_max),
         "POOL_FLEET_EXCEEDS_SERVER",
         {{"instances", max_instances}, {"processes", processes}, {"threads", threads}, {"background", background}}});
  } else if (app.instances || app.autoscale_max_instances) {
    d.notes.push_back(
        "app.processes_per_instance / app.threads_per_process were not given, so the fleet's connections are "
        "unknown; give them to check the fleet against the server.");
  }

  // Step 2: Little's law.
  if (app.request_rate_per_s) {
    const double headroom = report.threshold("POOL_LITTLE_LAW", "headroom_factor");
    const double rate = *app.request_rate_per_s;
    const double mean_s = app.db_time_per_request_ms.value_or(*app.p95_db_time_ms) / 1000.0;
    const double busy = rate * mean_s;
    std::string arithmetic = num(rate) + " req/s x " + num(mean_s) + " s = " + num(busy) + " busy; x " + num(headroom) +
                             " headroom = " + num(busy * headroom);
    double needed = busy * headroom;
    if (app.p95_db_time_ms) {
      const double busy_p95 = rate * *app.p95_db_time_ms / 1000.0;
      arithmetic += "; at p95 " + num(rate) + " x " + num(*app.p95_db_time_ms / 1000.0) + " s = " + num(busy_p95);
      needed = std::max(needed, busy_p95);
    }
    z.littles_law_connections = std::max(1, ceil_int(needed));
    arithmetic += " -> " + std::to_string(*z.littles_law_connections);
    z.steps.push_back({"littles_law",
                       "Busy connections by Little's law",
                       static_cast<double>(*z.littles_law_connections),
                       "connections",
                       arithmetic,
                       "POOL_LITTLE_LAW",
                       {{"request_rate_per_s", rate}, {"db_time_s", mean_s}, {"headroom_factor", headroom}}});
    report.add("POOL_LITTLE_LAW",
               {{"busy", num(busy)},
                {"needed", std::to_string(*z.littles_law_connections)},
                {"arithmetic", arithmetic},
                {"rate", num(rate)}},
               "sizing", {{"busy_connections", busy}, {"needed_connections", *z.littles_law_connections}});
  }

  // Step 3: the core bound.
  if (cores) {
    const double per_core = report.threshold("POOL_CORE_BOUND", "connections_per_core");
    const double spindles = server.effective_spindles
                                ? *server.effective_spindles
                                : report.threshold("POOL_CORE_BOUND", "default_effective_spindles");
    z.core_bound = std::max(1, ceil_int(*cores * per_core + spindles));
    const std::string arithmetic =
        "(" + num(*cores) + " cores x " + num(per_core) + ") + " + num(spindles) + " effective spindle" +
        (spindles == 1 ? "" : "s") + " = " + num(*cores * per_core + spindles) +
        (*cores * per_core + spindles != *z.core_bound ? " -> " + std::to_string(*z.core_bound) : "");
    z.steps.push_back({"core_bound",
                       "Core bound (HikariCP)",
                       static_cast<double>(*z.core_bound),
                       "connections",
                       arithmetic,
                       "POOL_CORE_BOUND",
                       {{"cores", *cores}, {"effective_spindles", spindles}}});
    report.add("POOL_CORE_BOUND", {{"core_bound", std::to_string(*z.core_bound)}, {"arithmetic", arithmetic}}, "sizing",
               {{"core_bound", *z.core_bound}});
  }

  // Step 4: the server's connections for the app.
  if (max_connections) {
    const int admin = static_cast<int>(report.threshold("POOL_SERVER_RESERVE", "admin_connections"));
    z.server_max_connections = max_connections;
    z.server_reserved = superuser_reserved + admin;
    const int usable = *max_connections - z.server_reserved;
    if (usable < 1)
      bad("server.max_connections",
          "(" + std::to_string(*max_connections) + ") leaves no connection for the application after " +
              std::to_string(superuser_reserved) + " superuser-reserved and " + std::to_string(admin) +
              " admin connections.",
          "Give the server's real max_connections (SHOW max_connections); it must exceed " +
              std::to_string(z.server_reserved) + ".");
    z.server_usable_connections = usable;
    const std::string arithmetic = "max_connections " + std::to_string(*max_connections) + " (" +
                                   max_connections_source + ") - " + std::to_string(superuser_reserved) +
                                   " superuser_reserved - " + std::to_string(admin) +
                                   " for admin/migrations = " + std::to_string(usable);
    z.steps.push_back({"server_usable",
                       "Server connections for the app",
                       static_cast<double>(usable),
                       "connections",
                       arithmetic,
                       "POOL_SERVER_RESERVE",
                       {{"max_connections", *max_connections},
                        {"superuser_reserved_connections", superuser_reserved},
                        {"admin_connections", admin}}});
    report.add("POOL_SERVER_RESERVE",
               {{"usable", std::to_string(usable)},
                {"max_connections", std::to_string(*max_connections)},
                {"arithmetic", arithmetic}},
               "sizing", {{"usable_connections", usable}, {"max_connections", *max_connections}});
  } else {
    d.notes.push_back(
        "The server's max_connections is unknown: give server.max_connections, server.compute_size or "
        "server.memory_gb (or a database to read it from) to check the fleet against it.");
  }

  // Pool mode: transaction pooling when the fleet outgrows the server or the
  // platform's app address is a pooler; session (direct) when it fits and the app needs sessions.
  const bool fleet_overflows = z.fleet_connections_at_max && z.server_usable_connections &&
                               *z.fleet_connections_at_max > *z.server_usable_connections;
  // Within max_connections, but far more backends than the cores can serve:
  // each idle backend still holds memory, and bursts make them all active.
  std::optional<int> direct_limit;
  if (cores)
    direct_limit = std::max(
        1, static_cast<int>(
               std::floor(*cores * report.threshold("POOL_MODE_TRANSACTION", "max_direct_connections_per_core"))));
  const bool too_many_direct =
      !fleet_overflows && z.fleet_connections_at_max && direct_limit && *z.fleet_connections_at_max > *direct_limit;
  const bool needs_session = session_features(app);
  const bool pooler_platform = d.topology != Topology::direct;
  const bool fits = z.fleet_connections_at_max && z.server_usable_connections && !fleet_overflows && !too_many_direct;
  const std::string too_many_text =
      too_many_direct ? "the fleet's " + std::to_string(*z.fleet_connections_at_max) +
                            " connections at autoscaling max fit in max_connections but are far more than " +
                            num(*cores) + " cores serve (more than " +
                            num(report.threshold("POOL_MODE_TRANSACTION", "max_direct_connections_per_core")) +
                            " per core = " + std::to_string(*direct_limit) +
                            "); each backend holds memory and competes for the CPU."
                      : std::string();
  std::string reason;
  if (pooler_platform && !(fits && needs_session)) {
    d.mode = PoolMode::transaction;
    d.uses_pooler = true;
    reason = "Transaction pooling through " + pooler_name(d) + ": " +
             (fleet_overflows ? "the fleet's " + std::to_string(*z.fleet_connections_at_max) +
                                    " connections at autoscaling max share " +
                                    std::to_string(*z.server_usable_connections) + " server connections."
              : too_many_direct ? too_many_text
                                : std::string("app connections share a few server connections, and scale-out adds "
                                              "no server connections."));
  } else if (fleet_overflows || too_many_direct) {
    d.mode = PoolMode::transaction;
    d.uses_pooler = true;
    d.topology = Topology::pgbouncer;
    d.pgbouncer_to_run = true;
    reason = fleet_overflows
                 ? "Transaction pooling with PgBouncer: the fleet's " + std::to_string(*z.fleet_connections_at_max) +
                       " connections at autoscaling max do not fit in the " +
                       std::to_string(*z.server_usable_connections) +
                       " server connections; PgBouncer lets them share a small server pool."
                 : "Transaction pooling with PgBouncer: " + too_many_text;
  } else {
    d.mode = PoolMode::session;
    if (d.topology == Topology::supavisor || d.topology == Topology::neon_pooler || d.topology == Topology::rds_proxy)
      d.topology = Topology::direct;
    d.uses_pooler = d.topology == Topology::pgbouncer;
    d.pgbouncer_to_run = d.topology == Topology::pgbouncer;
    reason = fits ? "Session pooling / direct connections: the fleet's " + std::to_string(*z.fleet_connections_at_max) +
                        " connections at autoscaling max fit in the " + std::to_string(*z.server_usable_connections) +
                        " server connections" + (needs_session ? ", and the app uses session features." : ".")
                  : "Direct connections: give app.* and the server's limits to check whether the fleet fits; a "
                    "transaction pooler is needed once it does not.";
  }
  if (platform->topology == Topology::pgbouncer) d.pgbouncer_to_run = true;
  d.mode_rule_id = d.mode == PoolMode::transaction ? "POOL_MODE_TRANSACTION" : "POOL_MODE_SESSION";
  d.mode_reason = reason;
  report.add(d.mode_rule_id, {{"reason", reason}, {"pooler", pooler_name(d)}}, "pool mode");

  if (fleet_overflows)
    report.add(
        "POOL_FLEET_EXCEEDS_SERVER",
        {{"instances", std::to_string(app.autoscale_max_instances.value_or(app.instances.value_or(1)))},
         {"fleet", std::to_string(*z.fleet_connections_at_max)},
         {"arithmetic", step_arithmetic(z, "app_connections_at_max")},
         {"usable", std::to_string(*z.server_usable_connections)},
         {"pool", std::to_string(std::min(*z.server_usable_connections,
                                          z.core_bound ? std::max(*z.core_bound, z.littles_law_connections.value_or(0))
                                                       : *z.server_usable_connections))},
         {"pooler", pooler_name(d)}},
        "sizing",
        {{"fleet_connections_at_max", *z.fleet_connections_at_max},
         {"usable_connections", *z.server_usable_connections}});

  // Step 5: the server-side pool: the core bound within the usable connections.
  if (z.server_usable_connections) {
    int cap = *z.server_usable_connections;
    std::string arithmetic;
    if (z.pooler_pool_size && d.mode == PoolMode::transaction && d.topology == Topology::neon_pooler) {
      cap = std::min(cap, *z.pooler_pool_size);
      arithmetic = "min(" + std::to_string(*z.server_usable_connections) + " usable, Neon pooler pool " +
                   std::to_string(*z.pooler_pool_size) + ")";
    } else {
      arithmetic = std::to_string(cap) + " usable";
    }
    int pool = cap;
    const bool demand_above_cores =
        z.core_bound && z.littles_law_connections && *z.littles_law_connections > *z.core_bound;
    if (demand_above_cores) {
      // A pool at the core bound would queue the demand in the app; the pool
      // covers it and the finding says the server or the queries must change.
      pool = std::min(cap, *z.littles_law_connections);
      arithmetic = "min(" + arithmetic + ", Little's law " + std::to_string(*z.littles_law_connections) +
                   " (above the core bound " + std::to_string(*z.core_bound) + "))";
    } else if (z.core_bound) {
      pool = std::min(cap, *z.core_bound);
      arithmetic = "min(" + arithmetic + ", core bound " + std::to_string(*z.core_bound) + ")";
    } else if (z.littles_law_connections) {
      pool = std::min(cap, *z.littles_law_connections);
      arithmetic = "min(" + arithmetic + ", Little's law " + std::to_string(*z.littles_law_connections) + ")";
    }
    if (d.mode == PoolMode::session && z.fleet_connections_at_max) {
      // Every session holds a server connection: the pool is the fleet.
      pool = std::min(cap, *z.fleet_connections_at_max);
      arithmetic = "session mode: every app connection holds a server connection = min(" + std::to_string(cap) +
                   ", fleet " + std::to_string(*z.fleet_connections_at_max) + ")";
    }
    z.server_pool = pool;
    if (d.topology == Topology::rds_proxy && d.mode == PoolMode::transaction && z.server_max_connections) {
      // RDS Proxy sizes its pool as a percentage of max_connections.
      const int percent = std::min(100, ceil_int(100.0 * pool / *z.server_max_connections));
      z.steps.push_back({"rds_proxy_max_connections_percent",
                         "RDS Proxy MaxConnectionsPercent",
                         static_cast<double>(percent),
                         "percent",
                         "ceil(100 x " + std::to_string(pool) + " / max_connections " +
                             std::to_string(*z.server_max_connections) + ") = " + std::to_string(percent) +
                             " (the default " +
                             std::to_string(platform->max_connections_percent_default.value_or(100)) +
                             " lets the proxy take every connection)",
                         "POOL_CORE_BOUND",
                         {{"server_pool", pool}, {"max_connections", *z.server_max_connections}}});
    }
    if (d.topology == Topology::supavisor && d.mode == PoolMode::transaction)
      d.notes.push_back("Set the Pool Size of Supabase's pooler (Database settings, connection pooling) to " +
                        std::to_string(pool) + ": it is the server-side pool of transaction mode.");
    z.steps.push_back({"server_pool",
                       "Server connections for the app's pool",
                       static_cast<double>(pool),
                       "connections",
                       arithmetic + " = " + std::to_string(pool),
                       d.mode == PoolMode::session ? d.mode_rule_id
                       : demand_above_cores        ? "POOL_DEMAND_EXCEEDS_CORES"
                       : z.core_bound              ? "POOL_CORE_BOUND"
                                                   : "POOL_SERVER_RESERVE",
                       {{"cap", cap}}});

    if (z.littles_law_connections && *z.littles_law_connections > *z.server_usable_connections) {
      report.add("POOL_DEMAND_EXCEEDS_SERVER",
                 {{"needed", std::to_string(*z.littles_law_connections)},
                  {"usable", std::to_string(*z.server_usable_connections)}},
                 "sizing", {{"needed_connections", *z.littles_law_connections}});
    } else if (z.littles_law_connections && z.core_bound && *z.littles_law_connections > *z.core_bound) {
      demand_exceeds_cores(report, z, app, *platform, floor_size.has_value(), pool);
    }
  } else if (z.littles_law_connections && z.core_bound && *z.littles_law_connections > *z.core_bound) {
    demand_exceeds_cores(report, z, app, *platform, floor_size.has_value(), std::nullopt);
  }

  if (floor_size && ceiling_size)
    d.cold_start_ms = autoscaling_advice(report, z, *platform, *floor_size, *ceiling_size, server);

  // Step 6: the app-side pool per process.
  if (z.connections_per_instance) {
    const int threads = app.threads_per_process.value_or(1);
    const int processes = app.processes_per_instance.value_or(1);
    const int max_instances = app.autoscale_max_instances.value_or(app.instances.value_or(1));
    if (d.uses_pooler || !z.server_pool) {
      z.pool_per_process = threads;
      z.steps.push_back({"pool_per_process",
                         "App pool per process",
                         static_cast<double>(threads),
                         "connections",
                         d.uses_pooler ? "one client connection per thread (" + std::to_string(threads) +
                                             "); the pooler shares the server connections"
                                       : "one connection per thread (" + std::to_string(threads) + ")",
                         d.mode_rule_id,
                         {{"threads", threads}}});
    } else {
      const int share = *z.server_pool / (max_instances * processes);
      z.pool_per_process = std::max(1, std::min(threads, share));
      z.steps.push_back({"pool_per_process",
                         "App pool per process",
                         static_cast<double>(*z.pool_per_process),
                         "connections",
                         "min(" + std::to_string(threads) + " threads, " + std::to_string(*z.server_pool) + " / (" +
                             std::to_string(max_instances) + " instances x " + std::to_string(processes) +
                             " processes) = " + std::to_string(share) + ") = " + std::to_string(*z.pool_per_process),
                         "POOL_FLEET_EXCEEDS_SERVER",
                         {{"threads", threads}, {"share", share}}});
    }
  }

  if (z.pool_per_process) {
    const int processes = app.processes_per_instance.value_or(1);
    z.pool_per_instance = *z.pool_per_process * processes;
    z.steps.push_back({"pool_per_instance",
                       "App connections per instance",
                       static_cast<double>(*z.pool_per_instance),
                       "connections",
                       std::to_string(*z.pool_per_process) + " per process x " + std::to_string(processes) +
                           " processes = " + std::to_string(*z.pool_per_instance),
                       d.mode_rule_id,
                       {{"pool_per_process", *z.pool_per_process}, {"processes", processes}}});
  }

  // Step 7: PgBouncer's own numbers.
  if (d.pgbouncer_to_run && z.server_pool && z.server_usable_connections) {
    const double share = report.threshold("POOL_PGBOUNCER_SIZING", "reserve_pool_share");
    const double headroom = report.threshold("POOL_PGBOUNCER_SIZING", "client_headroom_factor");
    z.default_pool_size = *z.server_pool;
    z.reserve_pool_size =
        std::max(0, std::min(ceil_int(*z.server_pool * share), *z.server_usable_connections - *z.server_pool));
    z.max_db_connections = *z.default_pool_size + *z.reserve_pool_size;
    std::string clients_text;
    if (z.fleet_connections_at_max) {
      // A rolling deploy runs the old and the new instances side by side.
      const double overlap = report.threshold("POOL_PGBOUNCER_SIZING", "deploy_overlap_factor");
      const double factor = std::max(headroom, overlap);
      z.max_client_conn = ceil_int(*z.fleet_connections_at_max * factor);
      clients_text = "max_client_conn = " + std::to_string(*z.fleet_connections_at_max) + " x " + num(factor) +
                     (factor == overlap ? " (old and new instances overlap during a rolling deploy)" : "") + " = " +
                     std::to_string(*z.max_client_conn);
    } else {
      z.max_client_conn = 100;
      clients_text = "max_client_conn = PgBouncer's default 100 (give app.* to size it)";
    }
    const std::string arithmetic =
        "default_pool_size = server pool " + std::to_string(*z.default_pool_size) + "; reserve_pool_size = min(ceil(" +
        std::to_string(*z.default_pool_size) + " x " + num(share) + "), " +
        std::to_string(*z.server_usable_connections) + " - " + std::to_string(*z.default_pool_size) +
        ") = " + std::to_string(*z.reserve_pool_size) +
        "; max_db_connections = " + std::to_string(*z.max_db_connections) + "; " + clients_text;
    z.steps.push_back({"pgbouncer",
                       "PgBouncer pool",
                       static_cast<double>(*z.default_pool_size),
                       "connections",
                       arithmetic,
                       "POOL_PGBOUNCER_SIZING",
                       {{"default_pool_size", *z.default_pool_size},
                        {"reserve_pool_size", *z.reserve_pool_size},
                        {"max_db_connections", *z.max_db_connections},
                        {"max_client_conn", *z.max_client_conn}}});
    report.add("POOL_PGBOUNCER_SIZING",
               {{"pool", std::to_string(*z.default_pool_size)},
                {"reserve", std::to_string(*z.reserve_pool_size)},
                {"max_db", std::to_string(*z.max_db_connections)},
                {"max_client", std::to_string(*z.max_client_conn)},
                {"arithmetic", arithmetic}},
               "pgbouncer.ini", {{"default_pool_size", *z.default_pool_size}, {"max_client_conn", *z.max_client_conn}});
  }

  // The pooler's client limit (Supabase, Neon), during a rolling deploy too.
  const double deploy_overlap = report.threshold("POOL_PGBOUNCER_SIZING", "deploy_overlap_factor");
  const int deploy_clients = z.fleet_connections_at_max ? ceil_int(*z.fleet_connections_at_max * deploy_overlap) : 0;
  if (d.uses_pooler && z.pooler_client_limit && z.fleet_connections_at_max && deploy_clients > *z.pooler_client_limit)
    report.add("POOL_POOLER_CLIENT_LIMIT",
               {{"instances", std::to_string(app.autoscale_max_instances.value_or(app.instances.value_or(1)))},
                {"fleet", std::to_string(*z.fleet_connections_at_max)},
                {"deploy", std::to_string(deploy_clients)},
                {"overlap", num(deploy_overlap)},
                {"platform", platform->name},
                {"limit", std::to_string(*z.pooler_client_limit)}},
               "sizing",
               {{"fleet_connections_at_max", *z.fleet_connections_at_max}, {"limit", *z.pooler_client_limit}});

  // The PgBouncer version: as given, else as the live admin console says.
  std::optional<std::string> pgbouncer_version = server.pgbouncer_version;
  if (!pgbouncer_version && live && live->pgbouncer && !live->pgbouncer->version.empty())
    pgbouncer_version = live->pgbouncer->version;

  // What breaks under transaction pooling, for this app.
  if (d.mode == PoolMode::transaction) {
    const TemplateValues where{{"direct", direct_address(d)}, {"pooler", pooler_name(d)}};
    const bool any = app.uses_session_state;
    if (app.uses_set || any) report.add("POOL_TXN_SET", where, "transaction pooling");
    if (app.uses_listen_notify) report.add("POOL_TXN_LISTEN", where, "transaction pooling");
    if (app.uses_advisory_locks || any) report.add("POOL_TXN_ADVISORY_LOCKS", where, "transaction pooling");
    if (app.uses_temp_tables || any) report.add("POOL_TXN_TEMP_TABLES", where, "transaction pooling");
    if (app.uses_with_hold_cursors || any) report.add("POOL_TXN_WITH_HOLD_CURSORS", where, "transaction pooling");
    if (app.framework == Framework::django || app.uses_server_side_cursors)
      report.add("POOL_TXN_SERVER_SIDE_CURSORS", where, "transaction pooling");
    if (app.uses_sql_prepare) report.add("POOL_TXN_SQL_PREPARE", where, "transaction pooling");
    if (app.uses_prepared_statements) {
      std::string state, fix;
      bool fires = true;
      if (d.topology == Topology::neon_pooler) {
        fires = false;  // Neon's PgBouncer tracks protocol-level prepared statements
      } else if (d.topology == Topology::pgbouncer) {
        if (pgbouncer_version && version_at_least(*pgbouncer_version, 1, 21)) {
          fires = false;  // the generated pgbouncer.ini sets max_prepared_statements
        } else {
          state = pgbouncer_version ? "PgBouncer " + *pgbouncer_version + " cannot track them (1.21+ can)"
                                    : "PgBouncer tracks them only from 1.21 with max_prepared_statements > 0 "
                                      "(server.pgbouncer_version was not given)";
          fix =
              "Upgrade PgBouncer to 1.21 or later and set `max_prepared_statements = 200` (the pgbouncer.ini below "
              "has it, commented out until you upgrade); until then turn them off in the driver (psycopg 3: "
              "`\"OPTIONS\": {\"prepare_threshold\": None}`; JDBC: `prepareThreshold=0`).";
        }
      } else if (d.topology == Topology::supavisor) {
        state = "Supabase's transaction-mode pooler (port 6543) does not support them";
        fix =
            "Turn prepared statements off for connections on port 6543 (psycopg 3: `\"OPTIONS\": "
            "{\"prepare_threshold\": None}`; Prisma: `?pgbouncer=true`; JDBC: `prepareThreshold=0`), or use the "
            "session port 5432 for the code that needs them.";
      } else {
        state = pooler_name(d) +
                " pins each client that prepares statements to its connection, which undoes the "
                "pooling";
        fix =
            "Turn driver-side prepared statements off for pooled connections (psycopg 3: `\"OPTIONS\": "
            "{\"prepare_threshold\": None}`; JDBC: `prepareThreshold=0`).";
      }
      if (fires) report.add("POOL_TXN_PROTOCOL_PREPARED", {{"pooler", state}, {"fix", fix}}, "transaction pooling");
    }
    report.add("POOL_TXN_STARTUP_OPTIONS", where, "connection options");
  }

  // Long transactions hold server connections.
  if (app.longest_transaction_s &&
      *app.longest_transaction_s >= report.threshold("POOL_LONG_TRANSACTIONS", "long_transaction_s")) {
    std::string arithmetic = "each holds one server connection for " + num(*app.longest_transaction_s) + " s";
    if (app.db_time_per_request_ms && *app.db_time_per_request_ms > 0)
      arithmetic += ", the time of " + num(*app.longest_transaction_s * 1000.0 / *app.db_time_per_request_ms) +
                    " requests of " + num(*app.db_time_per_request_ms) + " ms";
    report.add("POOL_LONG_TRANSACTIONS", {{"seconds", num(*app.longest_transaction_s)}, {"arithmetic", arithmetic}},
               "transactions", {{"longest_transaction_s", *app.longest_transaction_s}});
  }

  // Memory settings by connection count (pgtune), where the memory is ours to set.
  const bool managed_memory = d.platform_known && (platform->id == "supabase" || platform->id == "neon");
  if (memory_gb > 0 && !managed_memory) {
    const knowledge::Rule& tune_rule = report.rule("POOL_PGTUNE_MEMORY");
    PgTuneInput tune{.memory_gb = memory_gb,
                     .cpus = cores,
                     .max_connections = max_connections.value_or(100),
                     .workload = server.workload,
                     .storage = server.storage};
    d.memory_settings = pgtune(tune, tune_rule);
    if (!max_connections)
      d.notes.push_back("The memory settings assume max_connections 100 (not known): give server.max_connections.");
    const auto setting = [&](const std::string& name) {
      for (const auto& s : d.memory_settings)
        if (s.name == name) return s;
      return TunedSetting{};
    };
    report.add("POOL_PGTUNE_MEMORY",
               {{"memory", num(tune.memory_gb) + " GB"},
                {"cpus", cores ? num(*cores) : std::string("unknown")},
                {"max_connections", std::to_string(tune.max_connections)},
                {"workload", to_string(server.workload)},
                {"shared_buffers", setting("shared_buffers").value},
                {"work_mem", setting("work_mem").value}},
               "postgresql.conf", {{"work_mem_kb", setting("work_mem").number}});
    // The current work_mem against the memory left after shared_buffers.
    double work_mem_kb = server.work_mem_mb.value_or(0) * 1024;  // 0: not known
    std::optional<double> shared_kb;
    EvidenceSource source = EvidenceSource::inferred;
    if (live_server) {
      if (work_mem_kb <= 0 && live_server->setting_kb("work_mem")) {
        work_mem_kb = *live_server->setting_kb("work_mem");
        source = EvidenceSource::measured;
      }
      shared_kb = live_server->setting_kb("shared_buffers");
    }
    if (!shared_kb) shared_kb = setting("shared_buffers").number;
    if (work_mem_kb > 0) {
      const double ops = report.threshold("POOL_WORK_MEM_RISK", "operations_per_connection");
      const double total = work_mem_kb * tune.max_connections * ops;
      const double available = tune.memory_gb * 1024 * 1024 - shared_kb.value_or(0);
      if (total > available)
        report.add("POOL_WORK_MEM_RISK",
                   {{"work_mem", format_kb(std::llround(work_mem_kb))},
                    {"connections", std::to_string(tune.max_connections)},
                    {"operations", num(ops)},
                    {"total", format_kb(std::llround(total))},
                    {"available", format_kb(std::llround(available))},
                    {"safe_work_mem", setting("work_mem").value}},
                   "postgresql.conf", {{"work_mem_kb", work_mem_kb}, {"total_kb", total}, {"available_kb", available}},
                   source);
    }
  } else if (managed_memory) {
    d.memory_settings_note = platform->name + " sets shared_buffers and work_mem for each compute size.";
  } else {
    d.memory_settings_note = "Give server.memory_gb (and cores, storage, workload) for the memory settings.";
  }

  // Live readings.
  if (live_server) {
    const int available = live_server->max_connections - live_server->superuser_reserved_connections;
    const double used_share = available > 0 ? static_cast<double>(live_server->client_connections + 1) / available : 0;
    if (available > 0 && used_share >= report.threshold("POOL_LIVE_NEAR_MAX_CONNECTIONS", "used_share"))
      report.add("POOL_LIVE_NEAR_MAX_CONNECTIONS",
                 {{"used", std::to_string(live_server->client_connections + 1)},
                  {"available", std::to_string(available)},
                  {"max_connections", std::to_string(live_server->max_connections)},
                  {"reserved", std::to_string(live_server->superuser_reserved_connections)},
                  {"share", num(std::round(used_share * 100)) + "%"}},
                 "pg_stat_activity", {{"used_share", used_share}}, EvidenceSource::measured);
    const double min_idle = report.threshold("POOL_LIVE_IDLE_IN_TRANSACTION", "min_idle_s");
    const auto [idle_count, longest_idle] =
        longest_past(live_server->open_transactions, min_idle, &OpenTransaction::state_age_s, true);
    if (longest_idle)
      report.add("POOL_LIVE_IDLE_IN_TRANSACTION",
                 {{"count", std::to_string(idle_count)},
                  {"min_idle", num(min_idle)},
                  {"longest", num(std::round(longest_idle->state_age_s))},
                  {"application", longest_idle->application_name.empty() ? "(none)" : longest_idle->application_name}},
                 "pg_stat_activity", {{"count", idle_count}, {"longest_idle_s", longest_idle->state_age_s}},
                 EvidenceSource::measured);
    const double min_age = report.threshold("POOL_LIVE_LONG_TRANSACTION", "min_age_s");
    const auto [long_count, oldest] =
        longest_past(live_server->open_transactions, min_age, &OpenTransaction::transaction_age_s, false);
    if (oldest)
      report.add("POOL_LIVE_LONG_TRANSACTION",
                 {{"count", std::to_string(long_count)},
                  {"min_age", num(min_age)},
                  {"oldest", num(std::round(oldest->transaction_age_s))},
                  {"pid", std::to_string(oldest->pid)},
                  {"application", oldest->application_name.empty() ? "(none)" : oldest->application_name}},
                 "pg_stat_activity", {{"count", long_count}, {"oldest_s", oldest->transaction_age_s}},
                 EvidenceSource::measured);
    auto timeout = live_server->settings.find("idle_in_transaction_session_timeout");
    if (timeout != live_server->settings.end() && timeout->second == "0")
      report.add("POOL_LIVE_NO_IDLE_TIMEOUT", {{"database", live_server->database}}, "pg_settings", {},
                 EvidenceSource::measured);
  }
  // The running PgBouncer against the design.
  if (live && live->pgbouncer && d.pgbouncer_to_run && !live->pgbouncer->config.empty()) {
    const auto& config = live->pgbouncer->config;
    const auto value = [&](const char* key) {
      auto it = config.find(key);
      return it == config.end() ? std::string() : it->second;
    };
    std::string differences, wanted;
    const auto differ = [&](const std::string& key, const std::string& live_value, const std::string& design_value) {
      differences += (differences.empty() ? "" : ", ") + key + " = " + live_value;
      wanted += (wanted.empty() ? "" : ", ") + key + " = " + design_value;
    };
    if (!value("pool_mode").empty() && value("pool_mode") != to_string(d.mode))
      differ("pool_mode", value("pool_mode"), to_string(d.mode));
    if (z.default_pool_size && !value("default_pool_size").empty() &&
        value("default_pool_size") != std::to_string(*z.default_pool_size))
      differ("default_pool_size", value("default_pool_size"), std::to_string(*z.default_pool_size));
    if (z.max_client_conn && !value("max_client_conn").empty() &&
        std::atoi(value("max_client_conn").c_str()) < *z.max_client_conn)
      differ("max_client_conn", value("max_client_conn"), std::to_string(*z.max_client_conn));
    if (!differences.empty())
      report.add("POOL_LIVE_PGBOUNCER_CONFIG",
                 {{"differences", differences}, {"wanted", wanted}, {"address", live->pgbouncer->address}},
                 "SHOW CONFIG", {}, EvidenceSource::measured);
  }
  if (live && live->pgbouncer) {
    const double max_wait = report.threshold("POOL_LIVE_CLIENTS_WAITING", "max_wait_s");
    for (const auto& p : live->pgbouncer->pools) {
      if (p.database == "pgbouncer") continue;  // the admin console itself
      const int waiting = p.number("cl_waiting");
      const double wait_s = p.number("maxwait") + p.number("maxwait_us") / 1e6;
      if (waiting > 0 || wait_s >= max_wait)
        report.add("POOL_LIVE_CLIENTS_WAITING",
                   {{"pool", p.database + "/" + p.user},
                    {"waiting", std::to_string(waiting)},
                    {"maxwait", num(wait_s)},
                    {"active", std::to_string(p.number("sv_active"))}},
                   "SHOW POOLS", {{"cl_waiting", waiting}, {"maxwait_s", wait_s}}, EvidenceSource::measured);
    }
  }

  // Only when there is a choice of address: pooled for the app, direct for sessions.
  if (const ConnectionStrings strings = connection_strings(d); strings.pooled != strings.direct) {
    report.add("POOL_CONNECTION_STRING", {{"via", strings.via}, {"pooled", strings.pooled}, {"direct", strings.direct}},
               "connection string");
  }

  if (app.framework == Framework::django) {
    std::string summary, advice;
    if (d.uses_pooler && d.mode == PoolMode::transaction) {
      summary = "persistent client connections to " + pooler_name(d) +
                " (CONN_MAX_AGE 600, CONN_HEALTH_CHECKS), DISABLE_SERVER_SIDE_CURSORS, timeouts on the role";
      advice =
          "Do not combine Django 5.1's pool with a transaction pooler: the pooler already shares server "
          "connections. Keep ATOMIC_REQUESTS off unless every view is short: under transaction pooling it holds a "
          "server connection for the whole view.";
    } else {
      summary =
          "persistent direct connections (CONN_MAX_AGE 600, CONN_HEALTH_CHECKS), or Django 5.1's pool with "
          "max_size " +
          std::to_string(z.pool_per_process.value_or(app.threads_per_process.value_or(1))) + " per process";
      advice =
          "With Django 5.1+ and psycopg 3, the OPTIONS pool shown in the comment replaces CONN_MAX_AGE (which must "
          "then be 0). ATOMIC_REQUESTS is a consistency/latency trade-off: it holds one transaction per view.";
    }
    if (app.async_workers)
      advice +=
          " Under ASGI, Django does not reuse connections across async requests: CONN_MAX_AGE is 0 in the "
          "block below, and the pooler (or Django 5.1's pool) does the reuse.";
    report.add("POOL_DJANGO_SETTINGS", {{"summary", summary}, {"advice", advice}}, "Django settings");
  }

  knowledge::sort_by_impact(d.findings);
  return d;
}

}  // namespace dbopt::pool
