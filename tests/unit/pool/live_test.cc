// Live mode against the real test PostgreSQL and its PgBouncer (transaction
// mode) under a small pgbench load: the readings tune_pool reports
// (pg_stat_activity by state and application, open transactions,
// max_connections, SHOW POOLS) match what is really there, read
// independently by the test; and the live mode changes nothing.
#include <gtest/gtest.h>

#include <memory>

#include "core/pg/database_pool.h"
#include "pool_services.h"
#include "pool_test_support.h"
#include "tools/tool_registry.h"

namespace dbopt::pool {
namespace {

using namespace testing;
using tools::Json;

constexpr int kHeld = 3;  // client transactions held open through PgBouncer

Settings live_settings() {
  Settings settings;
  settings.knowledge_dir = std::string(DBOPT_SOURCE_DIR) + "/knowledge";
  DatabaseSettings db;
  db.name = "default";
  db.url = env_or_empty("DBOPT_TEST_DATABASE_URL");
  settings.databases.push_back(db);
  return settings;
}

tools::ToolResult call_tune_pool(const Json& args, pg::DatabasePool& databases, const Settings& settings) {
  tools::ToolRegistry registry;
  tools::register_builtin_tools(registry);
  CancellationToken cancel;
  tools::ToolContext ctx{.settings = settings, .cancel = cancel, .databases = &databases, .rules = &shipped_rules()};
  return registry.call("tune_pool", args, ctx);
}

const Json* pool_row(const Json& pools, const std::string& database, const std::string& user) {
  for (const auto& p : pools)
    if (p.value("database", "") == database && p.value("user", "") == user) return &p;
  return nullptr;
}
int column(const Json& row, const char* name) { return std::stoi(row.value(name, std::string("0"))); }

TEST(LiveMode, ReadingsMatchWhatIsReallyThereUnderAPgbenchLoad) {
  DBOPT_REQUIRE_POOL_SERVICES();
  const std::string app_name = "dbopt_pool_live_" + std::to_string(getpid());
  const std::string load_name = "dbopt_pool_pgbench_" + std::to_string(getpid());
  const auto bouncer = conninfo(env_or_empty("DBOPT_TEST_PGBOUNCER_URL"));
  ServiceDirectory dir;

  // A steady pgbench load through PgBouncer: 2 clients, read-only script, 6 s.
  dir.write("load.sql", "SELECT pg_sleep(0.02);\n", 0644);
  ChildProcess load({pg_bindir() + "/pgbench", "-n", "-c", "2", "-j", "1", "-T", "6", "-f", dir.file("load.sql"), "-h",
                     bouncer.at("host"), "-p", bouncer.at("port"), "-U", bouncer.at("user"), bouncer.at("dbname")},
                    {{"PGPASSWORD", bouncer.at("password")}, {"PGAPPNAME", load_name}}, dir.file("pgbench.out"));

  // kHeld clients through PgBouncer, each inside a transaction: in transaction
  // mode each holds a server connection, idle in transaction.
  std::vector<std::unique_ptr<PgConnection>> held;
  for (int i = 0; i < kHeld; ++i) {
    held.push_back(
        std::make_unique<PgConnection>(env_or_empty("DBOPT_TEST_PGBOUNCER_URL") + "?application_name=" + app_name));
    held.back()->query("BEGIN");
    held.back()->query("SELECT 1");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));

  Settings settings = live_settings();
  pg::DatabasePool databases(settings);
  const auto result =
      call_tune_pool({{"platform", "pgbouncer"},
                      {"database", "default"},
                      {"pgbouncer_admin_url", env_or_empty("DBOPT_TEST_PGBOUNCER_ADMIN_URL")},
                      {"server", {{"cores", 2}}},
                      {"app", {{"instances", 1}, {"processes_per_instance", 2}, {"threads_per_process", 2}}}},
                     databases, settings);
  ASSERT_FALSE(result.is_error) << result.markdown;
  ASSERT_TRUE(result.structured.contains("live")) << result.structured.dump();
  const Json& server = result.structured["live"]["server"];
  const Json& pools = result.structured["live"]["pgbouncer"]["pools"];

  // Independent readings, as the superuser, right after.
  PgConnection check(env_or_empty("DBOPT_TEST_DATABASE_URL"));
  EXPECT_EQ(std::to_string(server["max_connections"].get<int>()), check.scalar("SHOW max_connections"));
  EXPECT_EQ(std::to_string(server["superuser_reserved_connections"].get<int>()),
            check.scalar("SHOW superuser_reserved_connections"));
  EXPECT_EQ(check.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + app_name +
                         "' AND state = 'idle in transaction'"),
            std::to_string(kHeld));

  int held_idle = 0, held_other = 0;
  for (const auto& g : server["activity"]) {
    if (g["application_name"] != app_name) continue;
    (g["state"] == "idle in transaction" ? held_idle : held_other) += g["count"].get<int>();
    EXPECT_EQ(g["database"], "dbopt_test");
  }
  EXPECT_EQ(held_idle, kHeld) << server["activity"].dump();
  EXPECT_EQ(held_other, 0);
  EXPECT_GE(server["idle_in_transaction"].get<int>(), kHeld);
  EXPECT_GE(server["by_state"]["idle in transaction"].get<int>(), kHeld);

  // The held transactions are listed among the open ones, with their age.
  int listed = 0;
  for (const auto& t : server["open_transactions"]) {
    if (t["application_name"] != app_name) continue;
    ++listed;
    EXPECT_GE(t["transaction_age_s"].get<double>(), 1.0) << t.dump();
    EXPECT_EQ(t["query"], "SELECT 1");
  }
  EXPECT_EQ(listed, kHeld);

  // dbopt's own reading session is not counted.
  for (const auto& g : server["activity"]) EXPECT_FALSE(g["state"] == "active" && g["application_name"] == "dbopt");

  // SHOW POOLS: the held clients and pgbench's 2 clients are connected to the
  // dbopt_test pool; each held transaction owns a server connection.
  const Json* pool = pool_row(pools, bouncer.at("dbname"), bouncer.at("user"));
  ASSERT_NE(pool, nullptr) << pools.dump();
  EXPECT_GE(column(*pool, "cl_active") + column(*pool, "cl_waiting"), kHeld + 2) << pool->dump();
  EXPECT_GE(column(*pool, "sv_active"), kHeld) << pool->dump();
  // The same pool read independently sees the same clients (the load keeps
  // them connected; other tests running in parallel may add a few).
  PgConnection admin(env_or_empty("DBOPT_TEST_PGBOUNCER_ADMIN_URL"));
  bool read_again = false;
  for (auto& row : admin.query("SHOW POOLS")) {
    if (row["database"] != bouncer.at("dbname") || row["user"] != bouncer.at("user")) continue;
    read_again = true;
    EXPECT_GE(std::stoi(row["cl_active"]) + std::stoi(row["cl_waiting"]), kHeld + 2);
    EXPECT_GE(std::stoi(row["sv_active"]), kHeld);
  }
  EXPECT_TRUE(read_again);
  EXPECT_FALSE(result.structured["live"]["pgbouncer"]["stats"].empty());
  // SHOW CONFIG and SHOW VERSION as the console says them; the test PgBouncer
  // runs default_pool_size 10 where this design (2 cores) wants 5.
  const Json& config = result.structured["live"]["pgbouncer"]["config"];
  for (auto& row : admin.query("SHOW CONFIG"))
    if (row["key"] == "default_pool_size" || row["key"] == "pool_mode") {
      EXPECT_EQ(config[row["key"]], row["value"]);
    }
  EXPECT_NE(admin.scalar("SHOW VERSION").find(result.structured["live"]["pgbouncer"]["version"].get<std::string>()),
            std::string::npos);
  bool config_finding = false;
  for (const auto& f : result.structured["findings"])
    if (f["rule_id"] == "POOL_LIVE_PGBOUNCER_CONFIG") {
      config_finding = true;
      EXPECT_NE(
          f["summary"].get<std::string>().find("default_pool_size = " + config["default_pool_size"].get<std::string>()),
          std::string::npos)
          << f.dump();
    }
  EXPECT_EQ(config_finding, config["default_pool_size"] != "5");
  EXPECT_EQ(result.structured["live"]["pgbouncer"]["address"].get<std::string>().find(
                conninfo(env_or_empty("DBOPT_TEST_PGBOUNCER_ADMIN_URL")).at("password")),
            std::string::npos)
      << "the admin password leaked into the answer";
  EXPECT_NE(result.markdown.find("## Live readings"), std::string::npos);

  held.clear();
  const int status = load.wait();
  EXPECT_EQ(status, 0) << load.output();
  EXPECT_NE(load.output().find("number of transactions actually processed"), std::string::npos) << load.output();
}

TEST(LiveMode, IdleInTransactionAndNoTimeoutAreMeasuredFindings) {
  DBOPT_REQUIRE_POOL_SERVICES();
  // A session idle in transaction past the rule's threshold, directly on PostgreSQL.
  const double min_idle = shipped_rules().threshold("POOL_LIVE_IDLE_IN_TRANSACTION", "min_idle_s");
  const std::string app_name = "dbopt_pool_idle_" + std::to_string(getpid());
  PgConnection idle(env_or_empty("DBOPT_TEST_DATABASE_URL") + "?application_name=" + app_name);
  idle.query("BEGIN");
  idle.query("SELECT 1");
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(min_idle * 1000) + 500));

  Settings settings = live_settings();
  pg::DatabasePool databases(settings);
  const auto result = call_tune_pool({{"platform", "self_hosted"}, {"database", "default"}}, databases, settings);
  ASSERT_FALSE(result.is_error) << result.markdown;
  const Json* idle_finding = nullptr;
  bool no_timeout = false;
  for (const auto& f : result.structured["findings"]) {
    if (f["rule_id"] == "POOL_LIVE_IDLE_IN_TRANSACTION") idle_finding = &f;
    no_timeout |= f["rule_id"] == "POOL_LIVE_NO_IDLE_TIMEOUT";
  }
  ASSERT_NE(idle_finding, nullptr) << result.markdown;
  EXPECT_EQ((*idle_finding)["evidence"], "measured");
  EXPECT_GE((*idle_finding)["numbers"]["longest_idle_s"].get<double>(), min_idle);
  // The test cluster keeps PostgreSQL's default idle_in_transaction_session_timeout = 0.
  PgConnection check(env_or_empty("DBOPT_TEST_DATABASE_URL"));
  EXPECT_EQ(no_timeout, check.scalar("SHOW idle_in_transaction_session_timeout") == "0");
  idle.query("ROLLBACK");
}

TEST(LiveMode, UnknownDatabaseAndUnreachablePgBouncerNameTheField) {
  DBOPT_REQUIRE_POOL_SERVICES();
  Settings settings = live_settings();
  pg::DatabasePool databases(settings);
  auto r = call_tune_pool({{"platform", "self_hosted"}, {"database", "nope"}}, databases, settings);
  ASSERT_TRUE(r.is_error);
  EXPECT_NE(r.markdown.find("database"), std::string::npos) << r.markdown;
  r = call_tune_pool(
      {{"platform", "pgbouncer"},
       {"pgbouncer_admin_url", "postgresql://u:secretpw@127.0.0.1:" + std::to_string(free_port()) + "/pgbouncer"}},
      databases, settings);
  ASSERT_TRUE(r.is_error);
  EXPECT_NE(r.markdown.find("pgbouncer_admin_url"), std::string::npos) << r.markdown;
  EXPECT_EQ(r.markdown.find("secretpw"), std::string::npos) << r.markdown;
}

}  // namespace
}  // namespace dbopt::pool
