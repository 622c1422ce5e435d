// advise_scale on the real test PostgreSQL (scripts/test-services).
//
// The test creates a throwaway database (dbopt_scale_<pid>_<n>) as the
// superuser and plants, with real traffic: a read-heavy catalogue (many
// index reads, a few updates), a write-heavy cart (updates, inserts,
// deletes), an append-only time series (timestamptz in insert order,
// ANALYZEd so correlation is ~1) and a multi-tenant set (tenants and three
// tables with a tenant_id foreign key). It then calls the tool as dbopt
// would and checks each table's class and advice, and that nothing was
// written. pg_stat_user_tables is updated asynchronously: the fixture asks
// for a flush (pg_stat_force_next_flush) and polls until the counters show
// the traffic; no timing goes into an assertion.
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/pg/database_pool.h"
#include "scale_test_support.h"
#include "tools/session_store.h"
#include "tools/tool_registry.h"

namespace dbopt::scale {
namespace {

using namespace testing;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

#define DBOPT_REQUIRE_TEST_DATABASE()                                                                           \
  do {                                                                                                          \
    if (env_or_empty("DBOPT_TEST_DATABASE_URL").empty())                                                        \
      GTEST_SKIP() << "DBOPT_TEST_DATABASE_URL is not set: start the test services with scripts/test-services " \
                      "start, then eval \"$(scripts/test-services env)\".";                                     \
  } while (0)

std::string url_for(const std::string& database) {
  const std::string url = env_or_empty("DBOPT_TEST_DATABASE_URL");
  return url.substr(0, url.rfind('/') + 1) + database;
}

class ThrowawayDatabase {
 public:
  ThrowawayDatabase() {
    static std::atomic<int> counter{0};
    name_ = "dbopt_scale_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
    admin("CREATE DATABASE " + name_);
  }
  ~ThrowawayDatabase() {
    try {
      admin("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (const std::exception&) {
    }
  }
  std::string url() const { return url_for(name_); }
  std::string scalar(const std::string& sql) const {
    pqxx::connection c(url());
    pqxx::nontransaction tx(c);
    auto r = tx.exec(sql);
    return r.empty() || r[0][0].is_null() ? "" : r[0][0].c_str();
  }

 private:
  static void admin(const std::string& sql) {
    pqxx::connection c(env_or_empty("DBOPT_TEST_DATABASE_URL"));
    pqxx::nontransaction(c).exec(sql);
  }
  std::string name_;
};

Settings settings_for(const std::string& url) {
  Settings settings;
  settings.knowledge_dir = std::string(DBOPT_SOURCE_DIR) + "/knowledge";
  DatabaseSettings db;
  db.name = "default";
  db.url = url;
  db.connect_timeout_s = 5;
  settings.databases.push_back(db);
  return settings;
}

struct Harness {
  explicit Harness(const std::string& url) : settings(settings_for(url)), databases(settings) {
    tools::register_builtin_tools(registry);
  }
  tools::ToolResult call(const std::string& tool, const Json& args) {
    CancellationToken cancel;
    tools::ToolContext ctx{.settings = settings,
                           .cancel = cancel,
                           .databases = &databases,
                           .rules = &shipped_rules(),
                           .sessions = &sessions};
    return registry.call(tool, args, ctx);
  }
  Settings settings;
  pg::DatabasePool databases;
  tools::ToolRegistry registry;
  tools::SessionStore sessions;
};

// Plants the four kinds of table and their traffic; returns when the
// statistics collector shows it.
void plant(const ThrowawayDatabase& db) {
  pqxx::connection c(db.url());
  pqxx::nontransaction tx(c);
  tx.exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
  // Read-heavy: a catalogue, loaded, its counters reset, then read 1,500 times for 10 updates.
  tx.exec(
      "CREATE TABLE catalog (id bigint PRIMARY KEY, category int NOT NULL, name text NOT NULL, price numeric NOT "
      "NULL)");
  tx.exec("INSERT INTO catalog SELECT g, g % 20, 'item ' || g, g * 1.5 FROM generate_series(1, 2000) g");
  // Write-heavy: a cart whose rows change about as often as they are read.
  tx.exec("CREATE TABLE cart (id bigint PRIMARY KEY, qty int NOT NULL, added timestamptz NOT NULL DEFAULT now())");
  tx.exec("INSERT INTO cart SELECT g, 1 FROM generate_series(1, 300) g");
  // Multi-tenant: tenants and three tables with tenant_id referencing them.
  tx.exec("CREATE TABLE tenants (id bigint PRIMARY KEY, name text NOT NULL)");
  tx.exec("INSERT INTO tenants SELECT g, 'tenant ' || g FROM generate_series(1, 10) g");
  for (const char* t : {"projects", "tasks", "comments"})
    tx.exec(std::string("CREATE TABLE ") + t +
            " (id bigint PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES tenants (id), body text)");
  for (const char* t : {"projects", "tasks", "comments"})
    tx.exec(std::string("INSERT INTO ") + t + " SELECT g, 1 + g % 10, 'x' FROM generate_series(1, 50) g");
  tx.exec("ANALYZE");
  // The load's counters must reach shared memory before the reset, or they arrive after it.
  tx.exec("SELECT pg_stat_force_next_flush()");
  tx.exec("SELECT 1");
  for (int i = 0; i < 100 && db.scalar("SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'catalog'") != "2000";
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // Every counter of the database: a table's idx_scan is the sum of its indexes' counters, which
  // pg_stat_reset_single_table_counters on the table leaves.
  tx.exec("SELECT pg_stat_reset()");
  // Append-only time series, rows in time order (not reset: the inserts are its evidence).
  tx.exec(
      "CREATE TABLE readings (id bigserial PRIMARY KEY, ts timestamptz NOT NULL, sensor int NOT NULL, value "
      "double precision)");
  tx.exec(
      "INSERT INTO readings (ts, sensor, value) SELECT timestamptz '2026-01-01' + g * interval '1 minute', g % 50, "
      "g * 0.1 FROM generate_series(1, 30000) g");
  // Already partitioned by month: folded into its parent, not advised to partition again.
  tx.exec("CREATE TABLE metrics (ts timestamptz NOT NULL, v int) PARTITION BY RANGE (ts)");
  tx.exec("CREATE TABLE metrics_2026_01 PARTITION OF metrics FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')");
  tx.exec("CREATE TABLE metrics_2026_02 PARTITION OF metrics FOR VALUES FROM ('2026-02-01') TO ('2026-03-01')");
  tx.exec(
      "INSERT INTO metrics SELECT timestamptz '2026-01-01' + g * interval '3 minutes', g FROM generate_series(1, "
      "20000) g");
  tx.exec("ANALYZE metrics");
  tx.exec("ANALYZE catalog");
  tx.exec("ANALYZE cart");
  tx.exec("ANALYZE readings");
  tx.exec("DO $$ BEGIN FOR i IN 1..1500 LOOP PERFORM name FROM catalog WHERE id = 1 + i % 2000; END LOOP; END $$");
  tx.exec("UPDATE catalog SET price = price + 1 WHERE id <= 10");
  tx.exec("DO $$ BEGIN FOR i IN 1..1500 LOOP UPDATE cart SET qty = qty + 1 WHERE id = 1 + i % 300; END LOOP; END $$");
  tx.exec("INSERT INTO cart (id, qty) SELECT g, 1 FROM generate_series(1001, 1200) g");
  tx.exec("DELETE FROM cart WHERE id > 1100");
  for (int i = 0; i < 5; ++i)
    tx.exec(
        "SELECT count(*), avg(value) FROM readings WHERE ts >= timestamptz '2026-01-10' AND ts < timestamptz "
        "'2026-01-11'");
  tx.exec("SELECT pg_stat_force_next_flush()");
  tx.exec("SELECT 1");
  // Poll until the collector shows the traffic (it flushes asynchronously).
  for (int i = 0; i < 100; ++i) {
    const std::string ok = db.scalar(
        "SELECT (SELECT idx_scan FROM pg_stat_user_tables WHERE relname = 'catalog') >= 1500 AND "
        "(SELECT n_tup_del FROM pg_stat_user_tables WHERE relname = 'cart') >= 100 AND "
        "(SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'readings') >= 30000 AND "
        "(SELECT sum(n_tup_ins) FROM pg_stat_user_tables WHERE relname LIKE 'metrics_2026%') >= 20000");
    if (ok == "t") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL() << "pg_stat_user_tables never showed the planted traffic";
}

const Json* finding(const Json& result, const std::string& rule_id, const std::string& table = "") {
  for (const auto& f : result["findings"])
    if (f["rule_id"] == rule_id && (table.empty() || f["table"] == table)) return &f;
  return nullptr;
}

const Json* table_of(const Json& result, const std::string& table) {
  for (const auto& t : result["tables"])
    if (t["table"] == table) return &t;
  return nullptr;
}

std::string ids(const Json& result) {
  std::string out;
  for (const auto& f : result["findings"])
    out += "\n  " + f["rule_id"].get<std::string>() + " " + f["table"].get<std::string>() + ": " +
           f["summary"].get<std::string>();
  for (const auto& t : result["tables"]) out += "\n  table " + t.dump();
  return out;
}

TEST(AdviseScaleLive, ClassifiesAndAdvisesEachPlantedTableAndWritesNothing) {
  DBOPT_REQUIRE_TEST_DATABASE();
  ThrowawayDatabase db;
  ASSERT_NO_FATAL_FAILURE(plant(db));
  const char* kFootprint =
      "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = "
      "'public')::text || '/' || (SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) FROM pg_stat_user_tables)::text";
  const std::string before = db.scalar(kFootprint);
  Harness h(db.url());
  const auto r = h.call("advise_scale", Json::object());
  ASSERT_FALSE(r.is_error) << r.markdown;
  const Json& s = r.structured;
  EXPECT_TRUE(s["statements_available"].get<bool>()) << s["notes"].dump();

  // Read-heavy: a cache candidate.
  const Json* catalog = table_of(s, "public.catalog");
  ASSERT_NE(catalog, nullptr) << ids(s);
  EXPECT_THAT((*catalog)["labels"], Contains("read_heavy")) << ids(s);
  const Json* cache = finding(s, "SCALE_CACHE_TABLE", "public.catalog");
  ASSERT_NE(cache, nullptr) << ids(s);
  EXPECT_GE(cache->at("numbers")["reads"].get<double>(), 1500);
  EXPECT_THAT(cache->at("fix").get<std::string>(), HasSubstr("cache.get_or_set("));
  EXPECT_THAT(cache->at("fix").get<std::string>(), HasSubstr("sender=Catalog"));

  // Write-heavy: not a cache candidate.
  const Json* cart = table_of(s, "public.cart");
  ASSERT_NE(cart, nullptr) << ids(s);
  EXPECT_THAT((*cart)["labels"], Contains("write_heavy")) << ids(s);
  EXPECT_THAT((*cart)["labels"], Not(Contains("read_heavy"))) << ids(s);
  EXPECT_NE(finding(s, "SCALE_NOT_CACHE_WRITE_HEAVY", "public.cart"), nullptr) << ids(s);
  EXPECT_EQ(finding(s, "SCALE_CACHE_TABLE", "public.cart"), nullptr) << ids(s);

  // Time series: BRIN, and partitioning would not help at this size.
  const Json* readings = table_of(s, "public.readings");
  ASSERT_NE(readings, nullptr) << ids(s);
  EXPECT_THAT((*readings)["labels"], Contains("time_series")) << ids(s);
  EXPECT_EQ((*readings)["time_column"], "ts");
  EXPECT_GT((*readings)["correlation"].get<double>(), 0.99);
  const Json* brin = finding(s, "SCALE_TIMESERIES_BRIN", "public.readings");
  ASSERT_NE(brin, nullptr) << ids(s);
  EXPECT_THAT(brin->at("fix").get<std::string>(),
              HasSubstr("USING brin (ts) WITH (pages_per_range = 32, autosummarize = on)"));
  EXPECT_NE(finding(s, "SCALE_PARTITION_NOT_HELPFUL", "public.readings"), nullptr) << ids(s);
  EXPECT_EQ(finding(s, "SCALE_TIMESERIES_PARTITION"), nullptr) << ids(s);
  EXPECT_THAT(table_of(s, "public.catalog")->at("labels"), Not(Contains("time_series")));

  // The partitioned table: one profile for the parent, its partitions' counters summed.
  const Json* metrics = table_of(s, "public.metrics");
  ASSERT_NE(metrics, nullptr) << ids(s);
  EXPECT_EQ(table_of(s, "public.metrics_2026_01"), nullptr) << ids(s);
  EXPECT_EQ((*metrics)["writes"].get<double>(), 20000) << ids(s);
  EXPECT_THAT((*metrics)["labels"], Contains("time_series")) << ids(s);
  EXPECT_EQ(finding(s, "SCALE_TIMESERIES_BRIN", "public.metrics"), nullptr) << ids(s);
  EXPECT_THAT(s["notes"].dump(), HasSubstr("public.metrics is already partitioned (RANGE (ts), 2 partitions)"));

  // Multi-tenant: the tenant key, and no sharding at this size.
  EXPECT_EQ(s["tenant_key"], "tenant_id") << ids(s);
  for (const char* t : {"public.projects", "public.tasks", "public.comments"})
    EXPECT_THAT(table_of(s, t)->at("labels"), Contains("tenant_keyed")) << t << ids(s);
  const Json* no_shard = finding(s, "SCALE_SHARD_NOT_NEEDED");
  ASSERT_NE(no_shard, nullptr) << ids(s);
  EXPECT_EQ(no_shard->at("facts")["tenant_table"], "public.tenants");
  EXPECT_EQ(finding(s, "SCALE_SHARD_CITUS"), nullptr) << ids(s);

  // The workload writes too much for a replica to pay off.
  EXPECT_EQ(finding(s, "SCALE_READ_REPLICA"), nullptr) << ids(s);
  EXPECT_THAT(r.markdown, HasSubstr("| public.readings |"));

  // Nothing was written: the same relations, the same written-row counters, no BRIN index.
  for (int i = 0; i < 20 && db.scalar(kFootprint) != before; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(db.scalar(kFootprint), before);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM pg_indexes WHERE indexdef ILIKE '%USING brin%'"), "0");
}

TEST(AdviseScaleLive, WithoutPgStatStatementsItSaysHowToEnableItAndStillClassifies) {
  DBOPT_REQUIRE_TEST_DATABASE();
  ThrowawayDatabase db;  // from template1: no pg_stat_statements
  {
    pqxx::connection c(db.url());
    pqxx::nontransaction tx(c);
    tx.exec("CREATE TABLE log (id bigserial PRIMARY KEY, at timestamptz NOT NULL)");
    tx.exec(
        "INSERT INTO log (at) SELECT timestamptz '2026-01-01' + g * interval '1 s' FROM generate_series(1, 20000) g");
    tx.exec("ANALYZE log");
  }
  for (int i = 0; i < 100 && db.scalar("SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'log'") != "20000";
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Harness h(db.url());
  const auto r = h.call("advise_scale", {{"focus", {"time_series", "cache"}}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  EXPECT_FALSE(r.structured["statements_available"].get<bool>());
  EXPECT_THAT(r.structured["notes"].dump(), HasSubstr("CREATE EXTENSION pg_stat_statements"));
  EXPECT_NE(finding(r.structured, "SCALE_TIMESERIES_BRIN", "public.log"), nullptr) << ids(r.structured);
}

}  // namespace
}  // namespace dbopt::scale
