// Every pool rule of the shipped knowledge base has an input that makes it
// fire and one where it must stay quiet (DESIGN.md, "Findings and rules"), and
// design_pool() reports exactly the pool rules the knowledge base defines.
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "pool_test_support.h"

namespace dbopt::pool {
namespace {

using testing::design;
using testing::finding;
using testing::ids_of;
using testing::shipped_rules;

struct Case {
  std::string rule_id;
  bool fires = true;
  std::string name;
  std::function<PoolInputs()> inputs;
  std::function<LiveState()> live;  // empty: offline
};

PoolInputs fleet(const std::string& platform, int max_instances, int processes, int threads) {
  PoolInputs in;
  in.platform = platform;
  in.app.instances = 1;
  in.app.autoscale_max_instances = max_instances;
  in.app.processes_per_instance = processes;
  in.app.threads_per_process = threads;
  return in;
}
PoolInputs small_fleet_self_hosted() {  // 8 connections, 92 usable: session mode
  auto in = fleet("self_hosted", 2, 2, 2);
  in.server.max_connections = 100;
  in.server.cores = 4;
  return in;
}
// 4 x 4 x 8 = 128 connections at max > 104 - 7 - 5 = 92: transaction pooling.
PoolInputs neon_app() {
  auto in = fleet("neon", 4, 4, 8);
  in.server.compute_size = "0.25 CU";
  return in;
}
template <typename F>
std::function<PoolInputs()> with(std::function<PoolInputs()> base, F change) {
  return [base, change] {
    PoolInputs in = base();
    change(in);
    return in;
  };
}

LiveState live_server(std::function<void(ServerState&)> change) {
  LiveState live;
  ServerState s;
  s.database = "default";
  s.max_connections = 100;
  s.superuser_reserved_connections = 3;
  s.settings = {{"idle_in_transaction_session_timeout", "60000"}, {"work_mem", "4096"}};
  s.units = {{"idle_in_transaction_session_timeout", "ms"}, {"work_mem", "kB"}};
  s.activity = {{"idle", "web", "app", "app", 10}};
  s.client_connections = 10;
  change(s);
  live.server = s;
  return live;
}
LiveState live_bouncer(int waiting, int maxwait) {
  LiveState live;
  PgBouncerState b;
  PgBouncerPool p;
  p.database = "app";
  p.user = "app";
  p.columns = {{"database", "app"},
               {"user", "app"},
               {"cl_waiting", std::to_string(waiting)},
               {"maxwait", std::to_string(maxwait)},
               {"sv_active", "10"}};
  b.pools = {p};
  live.pgbouncer = b;
  return live;
}

const std::vector<Case>& cases() {
  const auto plain = [] { return PoolInputs{}; };
  const auto small = small_fleet_self_hosted;
  static const std::vector<Case> all = {
      {"POOL_LITTLE_LAW", true, "rate and time", with(plain, [](auto& in) {
         in.app.request_rate_per_s = 100;
         in.app.db_time_per_request_ms = 10;
       })},
      {"POOL_LITTLE_LAW", false, "no rate", plain},
      {"POOL_CORE_BOUND", true, "cores given", with(plain, [](auto& in) { in.server.cores = 4; })},
      {"POOL_CORE_BOUND", false, "no cores", plain},
      {"POOL_SERVER_RESERVE", true, "max_connections given", with(plain, [](auto& in) { in.server.max_connections = 50; })},
      {"POOL_SERVER_RESERVE", false, "RDS without memory: max_connections unknown",
       with(plain, [](auto& in) { in.platform = "rds"; })},
      {"POOL_PLATFORM_LIMITS", true, "Supabase Small", with(plain, [](auto& in) {
         in.platform = "supabase";
         in.server.compute_size = "Small";
       })},
      {"POOL_PLATFORM_LIMITS", false, "self-hosted", plain},
      {"POOL_UNKNOWN_PLATFORM", true, "heroku", with(plain, [](auto& in) { in.platform = "heroku"; })},
      {"POOL_UNKNOWN_PLATFORM", false, "neon", neon_app},
      {"POOL_FLEET_EXCEEDS_SERVER", true, "320 at max > 92", with(small, [](auto& in) {
         in.app.autoscale_max_instances = 10;
         in.app.processes_per_instance = 4;
         in.app.threads_per_process = 8;
       })},
      {"POOL_FLEET_EXCEEDS_SERVER", false, "8 fit in 92", small},
      {"POOL_DEMAND_EXCEEDS_CORES", true, "15 busy > 9", with(small, [](auto& in) {
         in.app.request_rate_per_s = 1000;
         in.app.db_time_per_request_ms = 10;
       })},
      {"POOL_DEMAND_EXCEEDS_CORES", false, "2 busy < 9", with(small, [](auto& in) {
         in.app.request_rate_per_s = 100;
         in.app.db_time_per_request_ms = 10;
       })},
      {"POOL_DEMAND_EXCEEDS_SERVER", true, "150 busy > 92", with(small, [](auto& in) {
         in.app.request_rate_per_s = 1000;
         in.app.db_time_per_request_ms = 100;
       })},
      {"POOL_DEMAND_EXCEEDS_SERVER", false, "15 busy < 92", with(small, [](auto& in) {
         in.app.request_rate_per_s = 1000;
         in.app.db_time_per_request_ms = 10;
       })},
      {"POOL_POOLER_CLIENT_LIMIT", true, "640 clients > Supabase Small 400", [] {
         auto in = fleet("supabase", 20, 4, 8);
         in.server.compute_size = "Small";
         return in;
       }},
      {"POOL_POOLER_CLIENT_LIMIT", true, "640 clients, 1280 during a deploy > Supabase XL 1000", [] {
         auto in = fleet("supabase", 20, 4, 8);
         in.server.compute_size = "XL";
         return in;
       }},
      {"POOL_POOLER_CLIENT_LIMIT", false, "1280 clients during a deploy < Supabase 2XL 1500", [] {
         auto in = fleet("supabase", 20, 4, 8);
         in.server.compute_size = "2XL";
         return in;
       }},
      {"POOL_AUTOSCALING", true, "Neon 0.25-4 CU", with(neon_app, [](auto& in) {
         in.server.compute_size.reset();
         in.server.autoscaling_min_cu = 0.25;
         in.server.autoscaling_max_cu = 4;
       })},
      {"POOL_AUTOSCALING", false, "Neon at a fixed size", neon_app},
      {"POOL_PGBOUNCER_SIZING", true, "platform pgbouncer", with(small, [](auto& in) { in.platform = "pgbouncer"; })},
      {"POOL_PGBOUNCER_SIZING", false, "fleet fits, direct", small},
      {"POOL_MODE_TRANSACTION", true, "Neon pooled", neon_app},
      {"POOL_MODE_TRANSACTION", false, "fleet fits", small},
      {"POOL_MODE_SESSION", true, "fleet fits", small},
      {"POOL_MODE_SESSION", false, "Neon pooled", neon_app},
      {"POOL_TXN_SET", true, "SET through Neon's pooler", with(neon_app, [](auto& in) { in.app.uses_set = true; })},
      {"POOL_TXN_SET", false, "SET on a direct connection", with(small, [](auto& in) { in.app.uses_set = true; })},
      {"POOL_TXN_LISTEN", true, "LISTEN through the pooler",
       with(neon_app, [](auto& in) { in.app.uses_listen_notify = true; })},
      {"POOL_TXN_LISTEN", false, "no LISTEN", neon_app},
      {"POOL_TXN_ADVISORY_LOCKS", true, "session state, unspecified",
       with(neon_app, [](auto& in) { in.app.uses_session_state = true; })},
      {"POOL_TXN_ADVISORY_LOCKS", false, "locks on a direct connection",
       with(small, [](auto& in) { in.app.uses_advisory_locks = true; })},
      {"POOL_TXN_TEMP_TABLES", true, "temp tables through the pooler",
       with(neon_app, [](auto& in) { in.app.uses_temp_tables = true; })},
      {"POOL_TXN_TEMP_TABLES", false, "no temp tables", neon_app},
      {"POOL_TXN_WITH_HOLD_CURSORS", true, "WITH HOLD through the pooler",
       with(neon_app, [](auto& in) { in.app.uses_with_hold_cursors = true; })},
      {"POOL_TXN_WITH_HOLD_CURSORS", false, "no WITH HOLD", neon_app},
      {"POOL_TXN_SERVER_SIDE_CURSORS", true, "Django through the pooler", neon_app},
      {"POOL_TXN_SERVER_SIDE_CURSORS", false, "generic app without cursors",
       with(neon_app, [](auto& in) { in.app.framework = Framework::generic; })},
      {"POOL_TXN_SQL_PREPARE", true, "SQL PREPARE through the pooler",
       with(neon_app, [](auto& in) { in.app.uses_sql_prepare = true; })},
      {"POOL_TXN_SQL_PREPARE", false, "SQL PREPARE on a direct connection",
       with(small, [](auto& in) { in.app.uses_sql_prepare = true; })},
      {"POOL_TXN_PROTOCOL_PREPARED", true, "PgBouncer of unknown version", with(small, [](auto& in) {
         in.platform = "pgbouncer";
         in.app.autoscale_max_instances = 40;
         in.app.uses_prepared_statements = true;
       })},
      {"POOL_TXN_PROTOCOL_PREPARED", false, "PgBouncer 1.21 tracks them", with(small, [](auto& in) {
         in.platform = "pgbouncer";
         in.app.autoscale_max_instances = 40;
         in.app.uses_prepared_statements = true;
         in.server.pgbouncer_version = "1.21.0";
       })},
      {"POOL_TXN_PROTOCOL_PREPARED", false, "Neon's pooler tracks them",
       with(neon_app, [](auto& in) { in.app.uses_prepared_statements = true; })},
      {"POOL_TXN_PROTOCOL_PREPARED", true, "Supabase port 6543", [] {
         auto in = fleet("supabase", 20, 4, 8);
         in.server.compute_size = "XL";
         in.app.uses_prepared_statements = true;
         return in;
       }},
      {"POOL_TXN_STARTUP_OPTIONS", true, "through a pooler", neon_app},
      {"POOL_TXN_STARTUP_OPTIONS", false, "direct", small},
      {"POOL_LONG_TRANSACTIONS", true, "30 s transactions",
       with(small, [](auto& in) { in.app.longest_transaction_s = 30; })},
      {"POOL_LONG_TRANSACTIONS", false, "2 s transactions", with(small, [](auto& in) { in.app.longest_transaction_s = 2; })},
      {"POOL_WORK_MEM_RISK", true, "64MB x 500 x 3 on 8 GB", with(plain, [](auto& in) {
         in.server.memory_gb = 8;
         in.server.max_connections = 500;
         in.server.work_mem_mb = 64;
       })},
      {"POOL_WORK_MEM_RISK", false, "4MB x 100 x 3 on 8 GB", with(plain, [](auto& in) {
         in.server.memory_gb = 8;
         in.server.max_connections = 100;
         in.server.work_mem_mb = 4;
       })},
      {"POOL_WORK_MEM_RISK", true, "live work_mem 512MB", with(plain, [](auto& in) { in.server.memory_gb = 8; }),
       [] { return live_server([](ServerState& s) { s.settings["work_mem"] = "524288"; }); }},
      {"POOL_PGTUNE_MEMORY", true, "memory given", with(plain, [](auto& in) { in.server.memory_gb = 16; })},
      {"POOL_PGTUNE_MEMORY", false, "Supabase manages memory", with(plain, [](auto& in) {
         in.platform = "supabase";
         in.server.compute_size = "Large";
       })},
      {"POOL_DJANGO_SETTINGS", true, "Django", plain},
      {"POOL_DJANGO_SETTINGS", false, "generic", with(plain, [](auto& in) { in.app.framework = Framework::generic; })},
      {"POOL_CONNECTION_STRING", true, "pooled and direct addresses differ", neon_app},
      {"POOL_CONNECTION_STRING", false, "one direct address", small},
      {"POOL_LIVE_NEAR_MAX_CONNECTIONS", true, "90 of 97", plain,
       [] { return live_server([](ServerState& s) { s.client_connections = 90; }); }},
      {"POOL_LIVE_NEAR_MAX_CONNECTIONS", false, "10 of 97", plain, [] { return live_server([](ServerState&) {}); }},
      {"POOL_LIVE_IDLE_IN_TRANSACTION", true, "idle in transaction for 30 s", plain,
       [] {
         return live_server([](ServerState& s) {
           s.open_transactions = {{42, "web", "app", "idle in transaction", 31, 30, "UPDATE t SET x = 1"}};
         });
       }},
      {"POOL_LIVE_IDLE_IN_TRANSACTION", false, "idle in transaction for 2 s", plain,
       [] {
         return live_server([](ServerState& s) {
           s.open_transactions = {{42, "web", "app", "idle in transaction", 3, 2, "UPDATE t SET x = 1"}};
         });
       }},
      {"POOL_LIVE_LONG_TRANSACTION", true, "open for 120 s", plain,
       [] {
         return live_server(
             [](ServerState& s) { s.open_transactions = {{7, "report", "app", "active", 120, 120, "SELECT ..."}}; });
       }},
      {"POOL_LIVE_LONG_TRANSACTION", false, "open for 5 s", plain,
       [] {
         return live_server(
             [](ServerState& s) { s.open_transactions = {{7, "report", "app", "active", 5, 5, "SELECT ..."}}; });
       }},
      {"POOL_LIVE_CLIENTS_WAITING", true, "3 waiting", plain, [] { return live_bouncer(3, 2); }},
      {"POOL_LIVE_CLIENTS_WAITING", false, "none waiting", plain, [] { return live_bouncer(0, 0); }},
      {"POOL_LIVE_PGBOUNCER_CONFIG", true, "session mode and pool 20 where the design wants transaction and 9",
       with(small, [](auto& in) { in.platform = "pgbouncer"; }),
       [] {
         LiveState live = live_bouncer(0, 0);
         live.pgbouncer->config = {{"pool_mode", "session"}, {"default_pool_size", "20"}, {"max_client_conn", "100"}};
         return live;
       }},
      {"POOL_LIVE_PGBOUNCER_CONFIG", false, "as designed", with(small, [](auto& in) { in.platform = "pgbouncer"; }),
       [] {
         LiveState live = live_bouncer(0, 0);
         // small fleet: 8 app connections, core bound 9 -> pool 9; clients ceil(8 x 1.25) = 10
         live.pgbouncer->config = {{"pool_mode", "transaction"}, {"default_pool_size", "9"}, {"max_client_conn", "100"}};
         return live;
       }},
      {"POOL_LIVE_NO_IDLE_TIMEOUT", true, "timeout 0", plain,
       [] { return live_server([](ServerState& s) { s.settings["idle_in_transaction_session_timeout"] = "0"; }); }},
      {"POOL_LIVE_NO_IDLE_TIMEOUT", false, "timeout 60 s", plain, [] { return live_server([](ServerState&) {}); }},
  };
  return all;
}

std::vector<std::string> shipped_pool_ids() {
  std::vector<std::string> ids;
  for (const auto* rule : shipped_rules().rules_in(knowledge::Category::pool)) ids.push_back(rule->id);
  return ids;
}

class EveryPoolRule : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryPoolRule, FiresOnItsCaseAndStaysQuietOnTheOther) {
  const std::string id = GetParam();
  int firing = 0, quiet = 0;
  for (const auto& c : cases()) {
    if (c.rule_id != id) continue;
    SCOPED_TRACE(c.name);
    (c.fires ? firing : quiet)++;
    std::optional<LiveState> live;
    if (c.live) live = c.live();
    const PoolDesign d = design(c.inputs(), live ? &*live : nullptr);
    const auto* hit = finding(d, id);
    EXPECT_EQ(hit != nullptr, c.fires) << "findings: " << ids_of(d);
    if (hit) {
      EXPECT_EQ(hit->summary.find("{{"), std::string::npos) << hit->summary;
      EXPECT_EQ(hit->fix.find("{{"), std::string::npos) << hit->fix;
      EXPECT_FALSE(hit->where.describe().empty());
      EXPECT_EQ(hit->title, shipped_rules().rule(id).title);
      if (id.starts_with("POOL_LIVE_")) {
        EXPECT_EQ(hit->source, knowledge::EvidenceSource::measured);
      }
    }
  }
  EXPECT_GT(firing, 0) << id << " has no case that makes it fire";
  EXPECT_GT(quiet, 0) << id << " has no case where it must stay quiet";
}

INSTANTIATE_TEST_SUITE_P(Shipped, EveryPoolRule, ::testing::ValuesIn(shipped_pool_ids()),
                         [](const auto& info) { return info.param; });

TEST(PoolRuleCoverage, DesignReportsExactlyTheShippedPoolRules) {
  const auto shipped = shipped_pool_ids();
  const std::set<std::string> shipped_set(shipped.begin(), shipped.end());
  const auto reported = pool_rule_ids();
  const std::set<std::string> reported_set(reported.begin(), reported.end());
  EXPECT_EQ(shipped_set, reported_set);
  for (const auto& c : cases()) EXPECT_TRUE(shipped_set.contains(c.rule_id)) << c.rule_id;
}

}  // namespace
}  // namespace dbopt::pool
