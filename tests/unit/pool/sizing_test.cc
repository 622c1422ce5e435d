// The arithmetic of design_pool() and pgtune() against hand-computed cases,
// including the Supabase and Neon tables of ../shared/REFERENCE.md and
// pgtune's formulas for a few machine shapes.
#include <gtest/gtest.h>

#include <cmath>

#include "core/common/error.h"
#include "core/pool/config_files.h"
#include "core/pool/pgtune.h"
#include "pool_test_support.h"

namespace dbopt::pool {
namespace {

using testing::design;
using testing::finding;
using testing::shipped_platforms;
using testing::shipped_rules;
using testing::step;

std::string step_of(const PoolDesign& d, const std::string& id) {
  const SizingStep* s = step(d, id);
  return s ? s->arithmetic : "(no step " + id + ")";
}

PoolInputs app_on(const std::string& platform, int instances, int max_instances, int processes, int threads) {
  PoolInputs in;
  in.platform = platform;
  in.app.instances = instances;
  in.app.autoscale_max_instances = max_instances;
  in.app.processes_per_instance = processes;
  in.app.threads_per_process = threads;
  return in;
}

TEST(Sizing, LittlesLawWithHeadroomAndP95) {
  PoolInputs in;
  in.app.request_rate_per_s = 200;
  in.app.db_time_per_request_ms = 15;  // 200 x 0.015 = 3 busy; x 1.5 = 4.5 -> 5
  auto d = design(in);
  ASSERT_TRUE(d.sizing.littles_law_connections);
  EXPECT_EQ(*d.sizing.littles_law_connections, 5);
  EXPECT_NE(step(d, "littles_law")->arithmetic.find("200 req/s x 0.015 s = 3 busy"), std::string::npos)
      << step(d, "littles_law")->arithmetic;

  in.app.p95_db_time_ms = 40;  // 200 x 0.04 = 8 > 4.5
  d = design(in);
  EXPECT_EQ(*d.sizing.littles_law_connections, 8);
}

TEST(Sizing, CoreBoundIsCoresTimesTwoPlusSpindles) {
  PoolInputs in;
  in.server.cores = 4;
  EXPECT_EQ(*design(in).sizing.core_bound, 9);  // 4 x 2 + 1
  in.server.effective_spindles = 0;
  EXPECT_EQ(*design(in).sizing.core_bound, 8);
  in.server.cores = 16;
  in.server.effective_spindles = 4;
  EXPECT_EQ(*design(in).sizing.core_bound, 36);
}

TEST(Sizing, ServerConnectionsLeaveRoomForSuperusersAndAdmins) {
  PoolInputs in;
  in.server.max_connections = 200;
  auto d = design(in);
  EXPECT_EQ(*d.sizing.server_usable_connections, 192);  // 200 - 3 - 5
  in.server.superuser_reserved_connections = 10;
  EXPECT_EQ(*design(in).sizing.server_usable_connections, 185);
}

TEST(Sizing, FleetThatFitsStaysDirectInSessionMode) {
  auto in = app_on("self_hosted", 2, 2, 4, 4);
  in.server.cores = 4;
  in.server.max_connections = 100;
  auto d = design(in);
  EXPECT_EQ(d.mode, PoolMode::session);
  EXPECT_FALSE(d.uses_pooler);
  EXPECT_EQ(*d.sizing.fleet_connections_at_max, 32);
  EXPECT_EQ(*d.sizing.pool_per_process, 4);
  EXPECT_EQ(finding(d, "POOL_FLEET_EXCEEDS_SERVER"), nullptr);
}

TEST(Sizing, FleetAtAutoscaleMaxOverflowingTheServerGetsPgBouncer) {
  // 10 x 4 x 8 = 320 app connections at max > 192 usable.
  auto in = app_on("self_hosted", 3, 10, 4, 8);
  in.server.cores = 8;
  in.server.max_connections = 200;
  auto d = design(in);
  EXPECT_EQ(*d.sizing.fleet_connections, 96);
  EXPECT_EQ(*d.sizing.fleet_connections_at_max, 320);
  EXPECT_EQ(d.mode, PoolMode::transaction);
  EXPECT_TRUE(d.pgbouncer_to_run);
  ASSERT_NE(finding(d, "POOL_FLEET_EXCEEDS_SERVER"), nullptr);
  EXPECT_EQ(finding(d, "POOL_FLEET_EXCEEDS_SERVER")->severity, knowledge::Severity::critical);
  // core bound 8 x 2 + 1 = 17; reserve ceil(17 x 0.2) = 4; clients 320 x 2 = 640 (a rolling deploy doubles them).
  EXPECT_EQ(*d.sizing.server_pool, 17);
  EXPECT_EQ(*d.sizing.default_pool_size, 17);
  EXPECT_EQ(*d.sizing.reserve_pool_size, 4);
  EXPECT_EQ(*d.sizing.max_db_connections, 21);
  EXPECT_EQ(*d.sizing.max_client_conn, 640);
  EXPECT_NE(step_of(d, "pgbouncer").find("rolling deploy"), std::string::npos) << step_of(d, "pgbouncer");
  EXPECT_EQ(*d.sizing.pool_per_process, 8);  // one client connection per thread
  EXPECT_EQ(*d.sizing.pool_per_instance, 32);
}

TEST(Sizing, FarMoreDirectConnectionsThanCoresServeGetAPoolerEvenWithinMaxConnections) {
  // Neon 2 CU: 839 max_connections, 2 vCPUs; 50 x 4 x 4 = 800 fit but 800 > 2 x 25 = 50.
  auto in = app_on("neon", 2, 50, 4, 4);
  in.server.compute_size = "2 CU";
  in.app.uses_set = true;
  auto d = design(in);
  EXPECT_EQ(d.mode, PoolMode::transaction);
  EXPECT_EQ(finding(d, "POOL_FLEET_EXCEEDS_SERVER"), nullptr);  // max_connections is not the problem
  EXPECT_NE(finding(d, "POOL_TXN_SET"), nullptr) << testing::ids_of(d);
  EXPECT_NE(d.mode_reason.find("per core = 50"), std::string::npos) << d.mode_reason;
  // Self-hosted: the same arithmetic brings in PgBouncer.
  in = app_on("self_hosted", 2, 10, 4, 5);  // 200 > 4 x 25 = 100, within 1000 max_connections
  in.server.cores = 4;
  in.server.max_connections = 1000;
  d = design(in);
  EXPECT_EQ(d.mode, PoolMode::transaction);
  EXPECT_TRUE(d.pgbouncer_to_run);
  in.app.autoscale_max_instances = 5;  // 100: direct is fine
  EXPECT_EQ(design(in).mode, PoolMode::session);
}

TEST(Sizing, ReservePoolNeverPushesPastTheServer) {
  auto in = app_on("pgbouncer", 1, 1, 2, 2);
  in.server.cores = 32;  // core bound 65 > usable 12
  in.server.max_connections = 20;
  in.app.uses_prepared_statements = false;
  auto d = design(in);
  EXPECT_EQ(*d.sizing.server_usable_connections, 12);
  EXPECT_LE(*d.sizing.max_db_connections, 12);
}

TEST(Sizing, DemandAboveCoresAndAboveServerAreWarned) {
  PoolInputs in;
  in.server.cores = 2;             // core bound 5
  in.server.max_connections = 50;  // usable 42
  in.app.request_rate_per_s = 1000;
  in.app.db_time_per_request_ms = 10;  // 10 busy x 1.5 = 15 > 5
  auto d = design(in);
  EXPECT_NE(finding(d, "POOL_DEMAND_EXCEEDS_CORES"), nullptr) << testing::ids_of(d);
  EXPECT_EQ(finding(d, "POOL_DEMAND_EXCEEDS_SERVER"), nullptr);
  in.app.db_time_per_request_ms = 40;  // 40 x 1.5 = 60 > 42
  d = design(in);
  EXPECT_NE(finding(d, "POOL_DEMAND_EXCEEDS_SERVER"), nullptr);
}

TEST(Sizing, DemandAboveTheCoreBoundIsCoveredAndTheWayOutIsNamed) {
  // Supabase Large: 2 vCPUs, core bound 5; 1500 req/s x 8 ms = 12 busy x 1.5 = 18.
  auto in = app_on("supabase", 4, 4, 4, 8);
  in.server.compute_size = "Large";
  in.app.request_rate_per_s = 1500;
  in.app.db_time_per_request_ms = 8;
  const auto d = design(in);
  EXPECT_EQ(*d.sizing.core_bound, 5);
  EXPECT_EQ(*d.sizing.littles_law_connections, 18);
  EXPECT_EQ(*d.sizing.server_pool, 18) << "a pool of 5 would queue the demand: " << step_of(d, "server_pool");
  const auto* cores = finding(d, "POOL_DEMAND_EXCEEDS_CORES");
  ASSERT_NE(cores, nullptr) << testing::ids_of(d);
  EXPECT_NE(cores->fix.find("bigger compute or the queries need to get faster"), std::string::npos) << cores->fix;
  // 2XL's 8 vCPUs bound 17 < 18; 4XL's 16 bound 33.
  EXPECT_NE(cores->fix.find("Supabase 4XL (16 vCPUs, core bound 33)"), std::string::npos) << cores->fix;
  // 5 connections / (1500 req/s x 1.5) = 2.222 ms per request.
  EXPECT_NE(cores->fix.find("2.222 ms of database time per request (now 8 ms)"), std::string::npos) << cores->fix;
  EXPECT_EQ(cores->numbers.at("cores_needed"), 9);

  // Up to the platform's limit only: Large has 152 usable connections.
  in.app.db_time_per_request_ms = 80;  // 120 busy x 1.5 = 180
  EXPECT_EQ(*design(in).sizing.server_pool, 152);
}

TEST(Sizing, NeonAutoscalingRangeSetsTheLimitTheFloorAndTheBill) {
  auto in = app_on("neon", 2, 4, 4, 8);
  in.server.autoscaling_min_cu = 0.25;
  in.server.autoscaling_max_cu = 4;
  in.app.request_rate_per_s = 200;
  in.app.db_time_per_request_ms = 10;  // 2 busy x 1.5 = 3
  auto d = design(in);
  EXPECT_EQ(*d.sizing.server_max_connections, 1678) << "max_connections is set from the maximum, 4 CU";
  EXPECT_EQ(*d.sizing.core_bound, 2) << "the cores at the floor: 0.25 x 2 + 1 = 1.5 -> 2";
  const auto* scaling = finding(d, "POOL_AUTOSCALING");
  ASSERT_NE(scaling, nullptr) << testing::ids_of(d);
  EXPECT_EQ(scaling->numbers.at("min_cu_hours_per_month"), 182.5);
  EXPECT_EQ(scaling->numbers.at("max_cu_hours_per_month"), 2920);
  EXPECT_EQ(scaling->numbers.at("cold_start_ms"), 500);
  EXPECT_NE(scaling->fix.find("raise the minimum to 1 CU"), std::string::npos) << scaling->fix;
  EXPECT_NE(scaling->fix.find("after 300 s without active queries"), std::string::npos) << scaling->fix;
  // The settings to paste wait out the cold start the advice names.
  EXPECT_NE(scaling->fix.find("connect_timeout=10"), std::string::npos) << scaling->fix;
  EXPECT_NE(django_databases(d, in, shipped_rules()).find("\"connect_timeout\": 10,"), std::string::npos);
  in.server.scale_to_zero = false;
  in.server.autoscaling_min_cu = 1;
  d = design(in);
  scaling = finding(d, "POOL_AUTOSCALING");
  ASSERT_NE(scaling, nullptr);
  EXPECT_EQ(scaling->numbers.at("cold_start_ms"), 0);
  EXPECT_NE(django_databases(d, in, shipped_rules()).find("\"connect_timeout\": 5,"), std::string::npos);
  EXPECT_NE(scaling->fix.find("covers the busy connections"), std::string::npos) << scaling->fix;
  // A range where the platform has none is refused, naming the field.
  in.platform = "supabase";
  EXPECT_THROW(design(in), Error);
}

// ../shared/REFERENCE.md: Supabase max_connections / pooler clients by compute.
struct SupabaseRow {
  const char* size;
  int max_connections;
  int pooler_clients;
};

TEST(PlatformTables, SupabaseComputeSizes) {
  const SupabaseRow rows[] = {{"Nano", 60, 200},   {"Micro", 60, 200},  {"Small", 90, 400},  {"Medium", 120, 600},
                              {"Large", 160, 800}, {"XL", 240, 1000},   {"2XL", 380, 1500},  {"4XL", 480, 3000},
                              {"8XL", 490, 6000},  {"12XL", 500, 9000}, {"16XL", 500, 12000}};
  for (const auto& row : rows) {
    SCOPED_TRACE(row.size);
    PoolInputs in;
    in.platform = "supabase";
    in.server.compute_size = row.size;
    auto d = design(in);
    EXPECT_EQ(*d.sizing.server_max_connections, row.max_connections);
    EXPECT_EQ(*d.sizing.pooler_client_limit, row.pooler_clients);
    EXPECT_EQ(*d.sizing.server_usable_connections, row.max_connections - 3 - 5);
  }
}

TEST(PlatformTables, SupabaseFleetOverThePoolerClientLimit) {
  auto in = app_on("supabase", 4, 20, 4, 8);  // 640 clients at max > Small's 400
  in.server.compute_size = "Small";
  auto d = design(in);
  EXPECT_EQ(d.mode, PoolMode::transaction);
  ASSERT_NE(finding(d, "POOL_POOLER_CLIENT_LIMIT"), nullptr);
  EXPECT_NE(finding(d, "POOL_POOLER_CLIENT_LIMIT")->summary.find("640"), std::string::npos);
  in.server.compute_size = "XL";  // 1000 clients: 640 fit, but not 1280 while a rolling deploy overlaps
  d = design(in);
  ASSERT_NE(finding(d, "POOL_POOLER_CLIENT_LIMIT"), nullptr);
  EXPECT_NE(finding(d, "POOL_POOLER_CLIENT_LIMIT")->summary.find("1280 during a rolling deploy"), std::string::npos);
  in.server.compute_size = "2XL";  // 1500 clients
  EXPECT_EQ(finding(design(in), "POOL_POOLER_CLIENT_LIMIT"), nullptr);
}

// ../shared/REFERENCE.md: Neon max_connections by compute units; the pooler's
// pool is 0.9 x max_connections; 7 reserved for the superuser.
TEST(PlatformTables, NeonComputeUnits) {
  const std::pair<const char*, int> rows[] = {{"0.25 CU", 104}, {"0.5 CU", 209}, {"1 CU", 419},  {"2 CU", 839},
                                              {"3 CU", 1258},   {"4 CU", 1678},  {"5 CU", 2098}, {"6 CU", 2517},
                                              {"7 CU", 2937},   {"8 CU", 3357},  {"9 CU", 4000}, {"16 CU", 4000}};
  for (const auto& [size, max_connections] : rows) {
    SCOPED_TRACE(size);
    PoolInputs in;
    in.platform = "neon";
    in.server.compute_size = size;
    auto d = design(in);
    EXPECT_EQ(*d.sizing.server_max_connections, max_connections);
    EXPECT_EQ(*d.sizing.pooler_pool_size, static_cast<int>(std::floor(0.9 * max_connections)));
    EXPECT_EQ(*d.sizing.pooler_client_limit, 10000);
    EXPECT_EQ(*d.sizing.server_usable_connections, max_connections - 7 - 5);
  }
  // Spellings people use.
  EXPECT_EQ(shipped_platforms().find("neon")->size("2cu").max_connections, 839);
  EXPECT_EQ(*shipped_platforms().find("neon")->size("12 CU").vcpus, 12);
}

TEST(PlatformTables, NeonMaxConnectionsIsFixedBySize) {
  PoolInputs in;
  in.platform = "neon";
  in.server.compute_size = "1 CU";
  in.server.max_connections = 1000;
  try {
    design(in);
    FAIL() << "contradiction accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("server.max_connections"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("419"), std::string::npos) << e.what();
  }
}

TEST(PlatformTables, RdsAndCloudSqlDeriveMaxConnectionsFromMemory) {
  PoolInputs in;
  in.platform = "rds";
  in.server.memory_gb = 16;  // 17179869184 / 9531392 = 1802.4
  EXPECT_EQ(*design(in).sizing.server_max_connections, 1802);
  in.server.memory_gb = 64;  // 7209.8 -> capped at 5000
  EXPECT_EQ(*design(in).sizing.server_max_connections, 5000);
  in.platform = "cloud_sql";
  in.server.memory_gb = 3.75;
  EXPECT_EQ(*design(in).sizing.server_max_connections, 100);
  in.server.memory_gb = 16;
  EXPECT_EQ(*design(in).sizing.server_max_connections, 500);
  in.server.memory_gb = 0.6;
  EXPECT_EQ(*design(in).sizing.server_max_connections, 25);
}

TEST(PlatformTables, UnknownComputeSizeListsTheKnownOnes) {
  PoolInputs in;
  in.platform = "supabase";
  in.server.compute_size = "Huge";
  try {
    design(in);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("server.compute_size"), std::string::npos);
    EXPECT_NE(e.fix().find("Small"), std::string::npos);
  }
}

TEST(PlatformTables, MalformedTableIsRefusedWithTheField) {
  EXPECT_THROW(PlatformTable::load_text("platforms: {x: {name: X, topology: direct}}", "t.yaml"), Error);
  EXPECT_THROW(PlatformTable::load_text("platforms: {x: {name: X, topology: teleport, source: s}}", "t.yaml"), Error);
  try {
    PlatformTable::load_text(
        "platforms: {x: {name: X, topology: direct, source: s, sizes: [{name: A, max_connections: -1}]}}", "t.yaml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_connections"), std::string::npos) << e.what();
  }
}

// pgtune's classic formulas, computed by hand (kB).
struct PgTuneCase {
  const char* name;
  PgTuneInput input;
  std::vector<std::pair<const char*, const char*>> expected;
};

TEST(PgTune, PublishedMachineShapes) {
  const knowledge::Rule& rule = shipped_rules().rule("POOL_PGTUNE_MEMORY");
  const PgTuneCase cases[] = {
      // web, 16 GB, 4 CPUs, 200 connections, SSD:
      // work_mem = (16777216 - 4194304) / ((200 + 4) x 3) = 20560.3
      {"web 16GB 4cpu",
       {16, 4, 200, Workload::web, Storage::ssd},
       {{"shared_buffers", "4GB"},
        {"effective_cache_size", "12GB"},
        {"maintenance_work_mem", "1GB"},
        {"wal_buffers", "16MB"},
        {"work_mem", "20560kB"},
        {"min_wal_size", "1GB"},
        {"max_wal_size", "4GB"},
        {"random_page_cost", "1.1"},
        {"effective_io_concurrency", "200"},
        {"max_parallel_workers_per_gather", "2"}}},
      // oltp, 32 GB, 8 CPUs, 300 connections: work_mem = 25165824 / 924 = 27235.7
      {"oltp 32GB 8cpu",
       {32, 8, 300, Workload::oltp, Storage::ssd},
       {{"shared_buffers", "8GB"},
        {"effective_cache_size", "24GB"},
        {"maintenance_work_mem", "2GB"},
        {"work_mem", "27235kB"},
        {"min_wal_size", "2GB"},
        {"max_wal_size", "8GB"},
        {"max_worker_processes", "8"},
        {"max_parallel_workers_per_gather", "4"},
        {"max_parallel_maintenance_workers", "4"}}},
      // dw, 64 GB, 16 CPUs, 40 connections: maintenance 8GB capped at 2GB;
      // work_mem = 50331648 / ((40 + 16) x 3) / 2 = 149796.6
      {"dw 64GB 16cpu",
       {64, 16, 40, Workload::dw, Storage::san},
       {{"shared_buffers", "16GB"},
        {"maintenance_work_mem", "2GB"},
        {"work_mem", "149796kB"},
        {"default_statistics_target", "500"},
        {"effective_io_concurrency", "300"},
        {"min_wal_size", "4GB"},
        {"max_wal_size", "16GB"},
        {"max_parallel_workers_per_gather", "8"}}},
      // desktop, 4 GB, 2 CPUs (W = 8), 20 connections, HDD:
      // shared_buffers 4GB / 16 = 256MB; wal_buffers 3% = 7864kB;
      // work_mem = (4194304 - 262144) / ((20 + 8) x 3) / 6 = 7801.9
      {"desktop 4GB 2cpu hdd",
       {4, 2, 20, Workload::desktop, Storage::hdd},
       {{"shared_buffers", "256MB"},
        {"effective_cache_size", "1GB"},
        {"maintenance_work_mem", "256MB"},
        {"wal_buffers", "7864kB"},
        {"work_mem", "7801kB"},
        {"random_page_cost", "4"},
        {"effective_io_concurrency", "2"}}},
      // mixed, 1 GB, 1 CPU, 1000 connections: (1048576 - 262144) / (1008 x 3) / 2 = 130.0
      {"mixed 1GB many connections",
       {1, 1, 1000, Workload::mixed, Storage::ssd},
       {{"shared_buffers", "256MB"}, {"work_mem", "130kB"}, {"wal_buffers", "7864kB"}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto settings = pgtune(c.input, rule);
    for (const auto& [name, value] : c.expected) {
      auto it = std::find_if(settings.begin(), settings.end(), [&](const TunedSetting& s) { return s.name == name; });
      ASSERT_NE(it, settings.end()) << name;
      EXPECT_EQ(it->value, value) << name << ": " << it->arithmetic;
    }
  }
  // Fewer than 4 CPUs: no parallel settings.
  const auto small = pgtune({4, 2, 20, Workload::web, Storage::ssd}, rule);
  EXPECT_TRUE(std::none_of(small.begin(), small.end(), [](const auto& s) { return s.name == "max_worker_processes"; }));
}

TEST(PgTune, WorkMemTimesConnectionsFitsInMemory) {
  const knowledge::Rule& rule = shipped_rules().rule("POOL_PGTUNE_MEMORY");
  for (int connections : {20, 100, 500, 2000}) {
    const auto settings = pgtune({8, 4, connections, Workload::web, Storage::ssd}, rule);
    double shared = 0, work = 0;
    for (const auto& s : settings) {
      if (s.name == "shared_buffers") shared = s.number;
      if (s.name == "work_mem") work = s.number;
    }
    EXPECT_LE(work * connections * 3 + shared, 8.0 * 1024 * 1024) << connections;
  }
}

TEST(PgTune, WorkMemHasAFloor) {
  const auto settings =
      pgtune({1, 1, 5000, Workload::desktop, Storage::ssd}, shipped_rules().rule("POOL_PGTUNE_MEMORY"));
  auto it = std::find_if(settings.begin(), settings.end(), [](const auto& s) { return s.name == "work_mem"; });
  EXPECT_EQ(it->value, "64kB");
}

}  // namespace
}  // namespace dbopt::pool

namespace dbopt::pool {
namespace {

TEST(Sizing, RdsProxyGetsItsMaxConnectionsPercent) {
  PoolInputs in;
  in.platform = "rds_proxy";
  in.server.cores = 4;      // core bound 9
  in.server.memory_gb = 2;  // 2147483648 / 9531392 = 225
  in.app.instances = 10;
  in.app.processes_per_instance = 4;
  in.app.threads_per_process = 8;  // 320 > 217
  auto d = testing::design(in);
  EXPECT_EQ(d.mode, PoolMode::transaction);
  EXPECT_EQ(*d.sizing.server_max_connections, 225);
  const SizingStep* s = testing::step(d, "rds_proxy_max_connections_percent");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->value, 4);  // ceil(100 x 9 / 225)
}

TEST(Sizing, SupabasePoolSizeIsNamed) {
  PoolInputs in;
  in.platform = "supabase";
  in.server.compute_size = "XL";  // 4 vCPUs: core bound 9
  in.app.instances = 2;
  in.app.processes_per_instance = 2;
  in.app.threads_per_process = 4;
  auto d = testing::design(in);
  EXPECT_EQ(*d.sizing.server_pool, 9);
  bool named = false;
  for (const auto& n : d.notes) named |= n.find("Pool Size") != std::string::npos && n.find(" 9:") != std::string::npos;
  EXPECT_TRUE(named);
}

}  // namespace
}  // namespace dbopt::pool
