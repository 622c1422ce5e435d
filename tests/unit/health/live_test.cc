// check_health and top_queries on the real test PostgreSQL (scripts/test-services).
//
// Each test plants its problem in a throwaway database it creates and drops
// (dbopt_health_<pid>_<n>), as the superuser, and reads it back through the
// tools as dbopt would: a bloated table, a table older than a (test-only,
// lowered) wraparound threshold, an int4 sequence at 95%, a session blocked by
// a second connection that sits idle in transaction, unused / duplicate /
// invalid indexes, RLS policies calling auth.uid() per row, bad settings per
// database (ALTER DATABASE ... SET: the cluster itself is not changed). The
// seeded dbopt_test database must get nothing above info beyond the cluster's
// own deliberate fsync/full_page_writes = off (scripts/test-services).
#include <libpq-fe.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include "core/health/health_checks.h"
#include "core/pg/database_pool.h"
#include "health_test_support.h"
#include "tools/session_store.h"
#include "tools/tool_registry.h"

namespace dbopt::health {
namespace {

using namespace testing;
using tools::Json;

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

// The test database's URL with another database name.
std::string url_for(const std::string& database) {
  const std::string url = env_or_empty("DBOPT_TEST_DATABASE_URL");
  return url.substr(0, url.rfind('/') + 1) + database;
}

// A database this test creates, fills and drops.
class ThrowawayDatabase {
 public:
  ThrowawayDatabase() {
    static std::atomic<int> counter{0};
    name_ = "dbopt_health_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
    admin("CREATE DATABASE " + name_);
  }
  ~ThrowawayDatabase() {
    try {
      admin("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (const std::exception&) {
    }
  }
  const std::string& name() const { return name_; }
  std::string url() const { return url_for(name_); }
  void exec(const std::string& sql) const {
    pqxx::connection c(url());
    pqxx::nontransaction tx(c);
    tx.exec(sql);
  }
  std::string scalar(const std::string& sql) const {
    pqxx::connection c(url());
    pqxx::nontransaction tx(c);
    auto r = tx.exec(sql);
    return r.empty() || r[0][0].is_null() ? "" : r[0][0].c_str();
  }

 private:
  static void admin(const std::string& sql) {
    pqxx::connection c(env_or_empty("DBOPT_TEST_DATABASE_URL"));
    pqxx::nontransaction tx(c);
    tx.exec(sql);
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

const Json* finding(const Json& result, const std::string& rule_id, const std::string& about = "") {
  for (const auto& f : result["findings"])
    if (f["rule_id"] == rule_id && (about.empty() || f["where"].get<std::string>().find(about) != std::string::npos ||
                                    f["summary"].get<std::string>().find(about) != std::string::npos))
      return &f;
  return nullptr;
}

std::string ids(const Json& result) {
  std::string out;
  for (const auto& f : result["findings"])
    out += "\n  " + f["rule_id"].get<std::string>() + " " + f["severity"].get<std::string>() + ": " +
           f["summary"].get<std::string>();
  return out;
}

Json check(Harness& h, const Json& args) {
  const auto r = h.call("check_health", args);
  EXPECT_FALSE(r.is_error) << r.markdown;
  return r.structured;
}

TEST(HealthLive, SeededTestDatabaseReportsNothingAboveInfoBeyondTheClustersOwnSettings) {
  DBOPT_REQUIRE_TEST_DATABASE();
  Harness h(env_or_empty("DBOPT_TEST_DATABASE_URL"));
  // Every category but checkpoints: those counters are the whole cluster's,
  // and the test suite itself requests a checkpoint with every DROP DATABASE
  // of its throwaway databases (the rule is tested on fed counters).
  Json categories = Json::array();
  for (HealthCategory c : all_health_categories())
    if (c != HealthCategory::checkpoints) categories.push_back(to_string(c));
  const Json out = check(h, {{"categories", categories}});
  EXPECT_EQ(out["categories"].size(), all_health_categories().size() - 1);
  // scripts/test-services runs the throwaway cluster with fsync and
  // full_page_writes off on purpose; they must be reported, and nothing else
  // above info.
  const std::set<std::string> cluster_settings = {"HEALTH_SETTING_FSYNC_OFF", "HEALTH_SETTING_FULL_PAGE_WRITES_OFF"};
  std::set<std::string> seen;
  for (const auto& f : out["findings"]) {
    if (f["severity"] == "info") continue;
    // Other suites plant their own problems in this database, in schemas of
    // their own (suggest_indexes' drop advice: advisor_test, with duplicate
    // indexes and autovacuum off); check_health rightly reports them. The
    // seed is schema public.
    const std::string table = f["table"];
    if (!table.empty() && !table.starts_with("public.")) continue;
    // The cache hit ratio is what the other suites' reads left in 128 MB of shared buffers.
    if (f["rule_id"] == "HEALTH_CACHE_HIT_LOW") continue;
    seen.insert(f["rule_id"]);
    EXPECT_TRUE(cluster_settings.contains(f["rule_id"])) << "healthy database reported: " << f.dump(2);
  }
  EXPECT_EQ(seen, cluster_settings) << ids(out);
  // The seed leaves order_items.product_id unindexed on purpose: info, with the index to create.
  const Json* fk = finding(out, "HEALTH_FK_UNINDEXED", "public.order_items");
  ASSERT_NE(fk, nullptr) << ids(out);
  EXPECT_EQ((*fk)["severity"], "info");
  EXPECT_NE((*fk)["fix"].get<std::string>().find("CREATE INDEX CONCURRENTLY ON public.order_items (product_id);"),
            std::string::npos);
  EXPECT_TRUE(out["overview"]["statistics"]["age_s"].get<double>() > 0);
}

TEST(HealthLive, BloatedTableWithAutovacuumOffIsReportedWithItsFixAndAHealthyOneIsNot) {
  DBOPT_REQUIRE_TEST_DATABASE();
  ThrowawayDatabase db;
  db.exec(
      "CREATE TABLE bloated (id int, payload text) WITH (autovacuum_enabled = false);"
      "INSERT INTO bloated SELECT g, repeat('x', 120) FROM generate_series(1, 200000) g;"
      "DELETE FROM bloated WHERE id % 10 <> 0;"
      "CREATE TABLE clean (id int, payload text);"
      "INSERT INTO clean SELECT g, repeat('x', 120) FROM generate_series(1, 200000) g;");
  db.exec("ANALYZE bloated; ANALYZE clean");
  Harness h(db.url());
  const Json out = check(h, {{"categories", {"bloat", "vacuum"}}});
  const Json* bloat = finding(out, "HEALTH_TABLE_BLOAT", "public.bloated");
  ASSERT_NE(bloat, nullptr) << ids(out);
  EXPECT_EQ((*bloat)["severity"], "high");  // about 90% dead or free
  EXPECT_EQ((*bloat)["evidence"], "estimated");
  EXPECT_GT((*bloat)["numbers"]["bloat_share"].get<double>(), 0.8);
  EXPECT_NE((*bloat)["fix"].get<std::string>().find("VACUUM (VERBOSE, ANALYZE) public.bloated;"), std::string::npos);
  const Json* dead = finding(out, "HEALTH_DEAD_TUPLES", "public.bloated");
  ASSERT_NE(dead, nullptr) << ids(out);
  EXPECT_GT((*dead)["numbers"]["dead_rows"].get<double>(), 100000);
  ASSERT_NE(finding(out, "HEALTH_AUTOVACUUM_DISABLED_TABLE", "public.bloated"), nullptr) << ids(out);
  EXPECT_EQ(finding(out, "HEALTH_TABLE_BLOAT", "public.clean"), nullptr) << ids(out);
  EXPECT_EQ(finding(out, "HEALTH_DEAD_TUPLES", "public.clean"), nullptr) << ids(out);
  EXPECT_EQ(finding(out, "HEALTH_AUTOVACUUM_DISABLED_TABLE", "public.clean"), nullptr) << ids(out);

  // With pgstattuple installed the bloat is measured, not estimated.
  db.exec("CREATE EXTENSION pgstattuple");
  Harness measured(db.url());
  const Json again = check(measured, {{"categories", {"bloat"}}});
  const Json* m = finding(again, "HEALTH_TABLE_BLOAT", "public.bloated");
  ASSERT_NE(m, nullptr) << ids(again);
  EXPECT_EQ((*m)["evidence"], "measured");
  EXPECT_EQ(finding(again, "HEALTH_TABLE_BLOAT", "public.clean"), nullptr) << ids(again);

  // After the fix the table is no longer reported for dead rows.
  db.exec("VACUUM (ANALYZE) bloated");
  Harness after(db.url());
  EXPECT_EQ(finding(check(after, {{"categories", {"vacuum"}}}), "HEALTH_DEAD_TUPLES", "public.bloated"), nullptr);
}

// A real XID age of hundreds of millions cannot be planted in a test; the
// planted state is real but small: transaction IDs consumed after one table's
// creation and before another's, judged against a test-only copy of the rules
// whose min_age sits between the two ages.
TEST(HealthLive, TableOlderThanTheWraparoundThresholdIsReportedAndAYoungerOneIsNot) {
  DBOPT_REQUIRE_TEST_DATABASE();
  ThrowawayDatabase db;
  db.exec("CREATE TABLE old_table (id int)");
  {
    pqxx::connection c(db.url());
    for (int i = 0; i < 300; ++i) pqxx::nontransaction(c).exec("SELECT txid_current()");
  }
  db.exec("CREATE TABLE young_table (id int)");
  const double old_age = std::stod(db.scalar("SELECT age(relfrozenxid) FROM pg_class WHERE relname = 'old_table'"));
  const double young_age = std::stod(db.scalar("SELECT age(relfrozenxid) FROM pg_class WHERE relname = 'young_table'"));
  // A new table's relfrozenxid is the oldest snapshot's xmin: another suite's long transaction
  // running at the same time can give young_table the older one, and the planted state is gone.
  if (old_age <= young_age + 250)
    GTEST_SKIP() << "a concurrent transaction's snapshot set young_table's relfrozenxid (ages " << old_age << ", "
                 << young_age << ")";

  std::ifstream in(std::string(DBOPT_SOURCE_DIR) + "/knowledge/rules/health.yaml");
  std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string threshold = std::to_string(static_cast<long long>((old_age + young_age) / 2));
  yaml = std::regex_replace(yaml, std::regex("min_age: 500000000"), "min_age: " + threshold);
  const knowledge::RuleBook lowered = knowledge::RuleBook::load_text(yaml, "health.yaml (min_age lowered)");

  Settings settings = settings_for(db.url());
  pg::DatabasePool databases(settings);
  const HealthSnapshot snapshot = read_health_snapshot(
      databases, "", lowered, {.categories = {HealthCategory::wraparound}, .limit_per_check = 500});
  const HealthReport report = check_health(snapshot, lowered, {}, 500);
  const auto* old_finding = testing::finding(report, "HEALTH_XID_WRAPAROUND", "public.old_table");
  ASSERT_NE(old_finding, nullptr) << ids_of(report);
  EXPECT_NE(old_finding->fix.find("VACUUM (FREEZE, VERBOSE) public.old_table;"), std::string::npos);
  EXPECT_GE(old_finding->numbers.at("age"), old_age);
  EXPECT_EQ(testing::finding(report, "HEALTH_XID_WRAPAROUND", "public.young_table"), nullptr) << ids_of(report);
  // The shipped thresholds see nothing on a young cluster.
  EXPECT_EQ(testing::finding(check_health(snapshot, shipped_rules()), "HEALTH_XID_WRAPAROUND"), nullptr);
}

TEST(HealthLive, Int4SequenceAt95PercentIsReportedWithTheBigintFix) {
  DBOPT_REQUIRE_TEST_DATABASE();
  ThrowawayDatabase db;
  db.exec(
      "CREATE TABLE tickets (id serial PRIMARY KEY, note text);"
      "SELECT setval('tickets_id_seq', 2040109466);"  // 95% of 2,147,483,647
      "CREATE TABLE quiet (id serial PRIMARY KEY);"
      "SELECT setval('quiet_id_seq', 1000);");
  Harness h(db.url());
  const Json out = check(h, {{"categories", {"sequences"}}});
  const Json* seq = finding(out, "HEALTH_SEQUENCE_NEAR_LIMIT", "public.tickets_id_seq");
  ASSERT_NE(seq, nullptr) << ids(out);
  EXPECT_EQ((*seq)["severity"], "high");
  EXPECT_NEAR((*seq)["numbers"]["used_share"].get<double>(), 0.95, 0.001);
  const std::string fix = (*seq)["fix"];
  EXPECT_NE(fix.find("ALTER TABLE public.tickets ALTER COLUMN id TYPE bigint;"), std::string::npos) << fix;
  EXPECT_NE(fix.find("ALTER SEQUENCE public.tickets_id_seq AS bigint;"), std::string::npos) << fix;
  EXPECT_EQ(finding(out, "HEALTH_SEQUENCE_NEAR_LIMIT", "quiet_id_seq"), nullptr) << ids(out);
}

TEST(HealthLive, BlockedSessionAndTheIdleInTransactionBlockerAreReportedWithTheBlockersPid) {
  DBOPT_REQUIRE_TEST_DATABASE();
  ThrowawayDatabase db;
  db.exec("CREATE TABLE accounts (id int PRIMARY KEY, balance int); INSERT INTO accounts VALUES (1, 100), (2, 100)");
  // The blocker: updates a row and sits idle in transaction.
  pqxx::connection blocker(db.url());
  pqxx::work holding(blocker);
  holding.exec("UPDATE accounts SET balance = balance - 1 WHERE id = 1");
  const int blocker_pid = blocker.backendpid();
  // The blocked session: the same row, sent asynchronously so it can wait.
  PGconn* waiter = PQconnectdb(db.url().c_str());
  ASSERT_EQ(PQstatus(waiter), CONNECTION_OK);
  const int waiter_pid = PQbackendPID(waiter);
  ASSERT_EQ(PQsendQuery(waiter, "UPDATE accounts SET balance = balance + 1 WHERE id = 1"), 1);
  // An unrelated open transaction that blocks nobody and has been idle only briefly.
  pqxx::connection bystander(db.url());
  std::this_thread::sleep_for(std::chrono::milliseconds(6000));  // past min_idle_s (5) and min_wait_s (1)
  pqxx::work short_lived(bystander);
  short_lived.exec("SELECT balance FROM accounts WHERE id = 2");

  Harness h(db.url());
  const Json out = check(h, {{"categories", {"locks", "activity"}}});
  const Json* blocked = finding(out, "HEALTH_LOCK_BLOCKING", "pid " + std::to_string(waiter_pid));
  ASSERT_NE(blocked, nullptr) << ids(out);
  EXPECT_EQ((*blocked)["numbers"]["blocking_pid"].get<int>(), blocker_pid);
  EXPECT_NE(
      (*blocked)["fix"].get<std::string>().find("SELECT pg_terminate_backend(" + std::to_string(blocker_pid) + ");"),
      std::string::npos);
  const Json* idle = finding(out, "HEALTH_IDLE_IN_TRANSACTION", "pid " + std::to_string(blocker_pid));
  ASSERT_NE(idle, nullptr) << ids(out);
  EXPECT_GE((*idle)["numbers"]["idle_s"].get<double>(), 5.0);
  EXPECT_NE((*idle)["fix"].get<std::string>().find("idle_in_transaction_session_timeout"), std::string::npos);
  // The bystander's transaction is seconds old and blocks nobody.
  const std::string bystander_pid = "pid " + std::to_string(bystander.backendpid());
  EXPECT_EQ(finding(out, "HEALTH_IDLE_IN_TRANSACTION", bystander_pid), nullptr) << ids(out);
  EXPECT_EQ(finding(out, "HEALTH_LOCK_BLOCKING", bystander_pid), nullptr) << ids(out);

  short_lived.abort();
  holding.abort();
  while (PGresult* r = PQgetResult(waiter)) PQclear(r);
  PQfinish(waiter);
}

TEST(HealthLive, UnusedDuplicateAndInvalidIndexesAreReportedWithTheStatisticsAge) {
  DBOPT_REQUIRE_TEST_DATABASE();
  ThrowawayDatabase db;
  db.exec(
      "CREATE TABLE items (id int PRIMARY KEY, sku int, color text);"
      "INSERT INTO items SELECT g, g % 1000, 'c' || (g % 7) FROM generate_series(1, 20000) g;"
      "CREATE INDEX items_sku_idx ON items (sku);"
      "CREATE INDEX items_color_idx ON items (color);"
      "ANALYZE items;");
  {  // Scan items_sku_idx, then disconnect so the backend's statistics are flushed.
    pqxx::connection c(db.url());
    pqxx::nontransaction tx(c);
    tx.exec("SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT count(*) FROM items WHERE sku = 5");
  }
  db.exec("CREATE INDEX items_sku_copy_idx ON items (sku)");  // the copy comes after: never scanned
  // A unique index over duplicate values: CREATE INDEX CONCURRENTLY fails and leaves it invalid.
  EXPECT_THROW(db.exec("CREATE UNIQUE INDEX CONCURRENTLY items_color_key ON items (color)"), pqxx::sql_error);

  Harness h(db.url());
  const Json out = check(h, {{"categories", {"indexes"}}});
  const Json* unused = finding(out, "HEALTH_INDEX_UNUSED", "public.items_color_idx");
  ASSERT_NE(unused, nullptr) << ids(out);
  EXPECT_EQ((*unused)["severity"], "info");  // the statistics are minutes old
  EXPECT_NE((*unused)["summary"].get<std::string>().find("since"), std::string::npos);
  EXPECT_NE((*unused)["fix"].get<std::string>().find("DROP INDEX CONCURRENTLY public.items_color_idx;"),
            std::string::npos);
  EXPECT_EQ(finding(out, "HEALTH_INDEX_UNUSED", "public.items_sku_idx"), nullptr) << "it was scanned" << ids(out);
  EXPECT_EQ(finding(out, "HEALTH_INDEX_UNUSED", "public.items_pkey"), nullptr) << "primary keys stay" << ids(out);
  const Json* duplicate = finding(out, "HEALTH_INDEX_DUPLICATE", "public.items_sku_copy_idx");
  ASSERT_NE(duplicate, nullptr) << ids(out);
  EXPECT_NE((*duplicate)["summary"].get<std::string>().find("duplicates public.items_sku_idx"), std::string::npos);
  EXPECT_EQ(finding(out, "HEALTH_INDEX_DUPLICATE", "public.items_color_idx"), nullptr) << ids(out);
  const Json* invalid = finding(out, "HEALTH_INDEX_INVALID", "public.items_color_key");
  ASSERT_NE(invalid, nullptr) << ids(out);
  EXPECT_EQ(finding(out, "HEALTH_INDEX_INVALID", "public.items_sku_idx"), nullptr) << ids(out);
  EXPECT_GT(out["overview"]["statistics"]["age_s"].get<double>(), 0);
}

TEST(HealthLive, RlsPolicyCallingAuthUidPerRowIsReportedAndItsFixApplies) {
  DBOPT_REQUIRE_TEST_DATABASE();
  ThrowawayDatabase db;
  db.exec(
      "CREATE SCHEMA auth;"
      "CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS "
      "$$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;"
      "CREATE TABLE profiles (id uuid PRIMARY KEY, user_id uuid, public boolean);"
      "ALTER TABLE profiles ENABLE ROW LEVEL SECURITY;"
      "CREATE POLICY own_rows ON profiles FOR SELECT USING (user_id = auth.uid());"
      "CREATE POLICY public_rows ON profiles FOR SELECT USING (public);"
      "CREATE POLICY own_updates ON profiles FOR UPDATE USING (user_id = (select auth.uid()));");
  Harness h(db.url());
  const Json out = check(h, {{"categories", {"policies"}}});
  const Json* initplan = finding(out, "HEALTH_RLS_INITPLAN", "own_rows");
  ASSERT_NE(initplan, nullptr) << ids(out);
  EXPECT_NE((*initplan)["summary"].get<std::string>().find("auth.uid()"), std::string::npos);
  EXPECT_EQ(finding(out, "HEALTH_RLS_INITPLAN", "own_updates"), nullptr) << ids(out);
  const Json* permissive = finding(out, "HEALTH_RLS_MULTIPLE_PERMISSIVE", "public.profiles");
  ASSERT_NE(permissive, nullptr) << ids(out);
  EXPECT_NE((*permissive)["summary"].get<std::string>().find("SELECT"), std::string::npos);
  EXPECT_EQ((*permissive)["summary"].get<std::string>().find("UPDATE"), std::string::npos) << "one UPDATE policy only";

  // The fix is pasteable: run it, and the policy is no longer reported.
  const std::string fix = (*initplan)["fix"];
  const auto start = fix.find("ALTER POLICY");
  ASSERT_NE(start, std::string::npos) << fix;
  db.exec(fix.substr(start, fix.find(';', start) - start + 1));
  Harness fixed(db.url());
  EXPECT_EQ(finding(check(fixed, {{"categories", {"policies"}}}), "HEALTH_RLS_INITPLAN", "own_rows"), nullptr);
}

TEST(HealthLive, BadPerDatabaseSettingsAreAuditedAndTheSeededDatabasesAreNot) {
  DBOPT_REQUIRE_TEST_DATABASE();
  ThrowawayDatabase db;
  db.exec("ALTER DATABASE " + db.name() + " SET work_mem = '1GB'");
  db.exec("ALTER DATABASE " + db.name() + " SET random_page_cost = 4");
  db.exec("ALTER DATABASE " + db.name() + " SET jit = on");
  const Json server = {{"storage", "ssd"}, {"workload", "oltp"}};
  Harness bad(db.url());
  const Json out = check(bad, {{"categories", {"settings"}}, {"server", server}});
  const Json* work_mem = finding(out, "HEALTH_SETTING_WORK_MEM_TOTAL");
  ASSERT_NE(work_mem, nullptr) << ids(out);
  EXPECT_NE((*work_mem)["summary"].get<std::string>().find("1GB"), std::string::npos);
  ASSERT_NE(finding(out, "HEALTH_SETTING_RANDOM_PAGE_COST_SSD"), nullptr) << ids(out);
  EXPECT_NE(
      (*finding(out, "HEALTH_SETTING_RANDOM_PAGE_COST_SSD"))["fix"].get<std::string>().find("random_page_cost = 1.1"),
      std::string::npos);
  ASSERT_NE(finding(out, "HEALTH_SETTING_JIT_OLTP"), nullptr) << ids(out);

  Harness seeded(env_or_empty("DBOPT_TEST_DATABASE_URL"));
  const Json quiet =
      check(seeded, {{"categories", {"settings"}}, {"server", {{"storage", "hdd"}, {"workload", "dw"}}}});
  for (const char* id :
       {"HEALTH_SETTING_WORK_MEM_TOTAL", "HEALTH_SETTING_RANDOM_PAGE_COST_SSD", "HEALTH_SETTING_JIT_OLTP"})
    EXPECT_EQ(finding(quiet, id), nullptr) << id << ids(quiet);
}

TEST(HealthLive, SettingsAuditRunsOfflineOnGivenSettings) {
  tools::ToolRegistry registry;
  tools::register_builtin_tools(registry);
  Settings settings;
  CancellationToken cancel;
  tools::ToolContext ctx{.settings = settings, .cancel = cancel, .rules = &shipped_rules()};
  const auto r = registry.call(
      "check_health",
      {{"settings",
        {{"shared_buffers", "128MB"}, {"work_mem", "64MB"}, {"max_connections", "500"}, {"autovacuum", "off"}}},
       {"server", {{"memory_gb", 16}}}},
      ctx);
  ASSERT_FALSE(r.is_error) << r.markdown;
  EXPECT_NE(finding(r.structured, "HEALTH_SETTING_SHARED_BUFFERS"), nullptr) << ids(r.structured);
  EXPECT_NE(finding(r.structured, "HEALTH_SETTING_WORK_MEM_TOTAL"), nullptr) << ids(r.structured);
  EXPECT_NE(finding(r.structured, "HEALTH_SETTING_AUTOVACUUM_OFF"), nullptr) << ids(r.structured);
  EXPECT_EQ(r.structured["categories"], Json::array({"settings"}));
  const auto neither = registry.call("check_health", Json::object(), ctx);
  EXPECT_TRUE(neither.is_error);
  EXPECT_NE(neither.markdown.find("`settings`"), std::string::npos) << neither.markdown;
}

TEST(TopQueriesLive, RanksThisDatabasesStatementsAndHandsThemToExplainQuery) {
  DBOPT_REQUIRE_TEST_DATABASE();
  ThrowawayDatabase db;
  db.exec(
      "CREATE EXTENSION pg_stat_statements; CREATE TABLE t (id int PRIMARY KEY, v int);"
      "INSERT INTO t SELECT g, g % 100 FROM generate_series(1, 10000) g");
  {
    pqxx::connection c(db.url());
    for (int i = 0; i < 40; ++i) pqxx::nontransaction(c).exec("SELECT count(*) FROM t WHERE v = " + std::to_string(i));
    pqxx::nontransaction(c).exec("SELECT pg_sleep(0.3), count(*) FROM t");
  }
  Harness h(db.url());
  const auto by_total = h.call("top_queries", Json::object());
  ASSERT_FALSE(by_total.is_error) << by_total.markdown;
  const Json& queries = by_total.structured["queries"];
  ASSERT_GE(queries.size(), 2u) << by_total.markdown;
  EXPECT_NE(queries[0]["query"].get<std::string>().find("pg_sleep"), std::string::npos) << by_total.markdown;
  double share = 0;
  for (const auto& q : queries) {
    EXPECT_EQ(q["database"], db.name()) << "only the connected database's statements";
    share += q["share_of_total"].get<double>();
  }
  EXPECT_LE(share, 1.0 + 1e-9);
  const auto by_calls = h.call("top_queries", {{"order_by", "calls"}, {"limit", 1}});
  ASSERT_FALSE(by_calls.is_error) << by_calls.markdown;
  const Json& top = by_calls.structured["queries"][0];
  EXPECT_EQ(top["query"], "SELECT count(*) FROM t WHERE v = $1");
  EXPECT_EQ(top["calls"].get<double>(), 40);
  EXPECT_NEAR(top["rows_per_call"].get<double>(), 1.0, 1e-9);
  EXPECT_FALSE(top["queryid"].get<std::string>().empty());
  EXPECT_EQ(top["fingerprint"].get<std::string>().size(), 16u);
  // The handed-on arguments work as they are.
  const auto explained = h.call("explain_query", top["next_calls"]["explain_query"]);
  EXPECT_FALSE(explained.is_error) << explained.markdown;
  Json task_args = top["next_calls"]["create_perf_task"];
  task_args["dry_run"] = true;
  const auto task = h.call("create_perf_task", task_args);
  EXPECT_FALSE(task.is_error) << task.markdown;
}

TEST(TopQueriesLive, MissingPgStatStatementsSaysHowToEnableIt) {
  DBOPT_REQUIRE_TEST_DATABASE();
  ThrowawayDatabase db;  // created from template1: no pg_stat_statements extension
  Harness h(db.url());
  const auto r = h.call("top_queries", Json::object());
  ASSERT_TRUE(r.is_error);
  EXPECT_NE(r.markdown.find("pg_stat_statements is not installed"), std::string::npos) << r.markdown;
  EXPECT_NE(r.markdown.find("shared_preload_libraries"), std::string::npos) << r.markdown;
  EXPECT_NE(r.markdown.find("CREATE EXTENSION pg_stat_statements"), std::string::npos) << r.markdown;
}

TEST(HealthLive, BothToolsRecordIntoTheSessionAndFeedTheReportsMonitoringSection) {
  DBOPT_REQUIRE_TEST_DATABASE();
  Harness h(env_or_empty("DBOPT_TEST_DATABASE_URL"));
  const auto started = h.call("start_session", {{"title", "health review"}});
  ASSERT_FALSE(started.is_error) << started.markdown;
  const std::string session = started.structured["session"];
  ASSERT_FALSE(h.call("check_health", {{"session", session}, {"categories", {"settings", "foreign_keys"}}}).is_error);
  ASSERT_FALSE(h.call("top_queries", {{"session", session}, {"all_databases", true}}).is_error);
  const auto report = h.call("session_report", {{"session", session}});
  ASSERT_FALSE(report.is_error) << report.markdown;
  EXPECT_NE(report.markdown.find("## Monitoring: health and top queries"), std::string::npos) << report.markdown;
  EXPECT_NE(report.markdown.find("HEALTH_SETTING_FSYNC_OFF"), std::string::npos) << report.markdown;
  ASSERT_TRUE(report.structured.contains("monitoring")) << report.structured.dump(2);
  EXPECT_EQ(report.structured["monitoring"]["health"].size(), 1u);
  EXPECT_EQ(report.structured["monitoring"]["top_queries"].size(), 1u);
}

}  // namespace
}  // namespace dbopt::health
