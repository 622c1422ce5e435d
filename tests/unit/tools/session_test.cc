// Optimization sessions: the store, the registry's recording, and a whole
// session on the test databases whose report holds that run's own numbers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/pg/database_pool.h"
#include "knowledge/rule_book.h"
#include "tests/unit/pg/pg_test_env.h"
#include "tools/builtin_tools.h"
#include "tools/session_report.h"
#include "tools/session_store.h"
#include "tools/tool_registry.h"

namespace dbopt::tools {
namespace {

using ::testing::HasSubstr;

std::string section(const std::string& md, const std::string& heading) {
  const auto start = md.find("\n## " + heading);
  if (start == std::string::npos) return "";
  const auto end = md.find("\n## ", start + 4);
  return md.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

SessionEntry entry(const std::string& tool) {
  return {.tool = tool, .arguments = {}, .structured = {}, .markdown = "", .is_error = false, .at = {}};
}

TEST(SessionStore, RecordsInOrderAndForgetsTheLeastRecentlyUsed) {
  SessionStore store({.max_sessions = 2, .max_entries = 3});
  const std::string a = store.create("a");
  const std::string b = store.create("b");
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 34u) << "s_ and 128 random bits in hex";
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(store.record(a, entry("t" + std::to_string(i))));
  const auto snap = store.snapshot(a);
  ASSERT_TRUE(snap);
  std::vector<std::string> tools;
  for (const auto& e : snap->entries) tools.push_back(e.tool);
  EXPECT_EQ(tools, (std::vector<std::string>{"t0", "t2", "t3"})) << "the first call stays, the oldest after it goes";
  EXPECT_EQ(snap->dropped_entries, 1u);
  // a was used last: a third session pushes b out.
  store.create("c");
  EXPECT_TRUE(store.exists(a));
  EXPECT_FALSE(store.exists(b));
  EXPECT_FALSE(store.record(b, entry("late")));
}

// A temporary directory for a store that outlives its SessionStore object.
struct TemporaryDirectory {
  std::filesystem::path path;
  TemporaryDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "dbopt-session-test-XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
  ~TemporaryDirectory() { std::filesystem::remove_all(path); }
};

TEST(SessionStore, SessionsAreFilesThatANewStoreReadsBack) {
  TemporaryDirectory dir;
  std::string id;
  {
    SessionStore first({.directory = dir.path});
    id = first.create("restart me");
    SessionEntry e = entry("explain_query");
    e.arguments = {{"sql", "SELECT 1"}};
    e.structured = {{"findings", Json::array()}};
    e.markdown = "## explain_query";
    ASSERT_TRUE(first.record(id, e));
  }
  EXPECT_TRUE(std::filesystem::exists(dir.path / (id + ".json"))) << "a store of its own directory leaves it";
  SessionStore second({.directory = dir.path});  // as after a server restart
  const auto snap = second.snapshot(id);
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->title, "restart me");
  ASSERT_EQ(snap->entries.size(), 1u);
  EXPECT_EQ(snap->entries[0].tool, "explain_query");
  EXPECT_EQ(snap->entries[0].arguments, Json({{"sql", "SELECT 1"}}));
  EXPECT_EQ(snap->entries[0].markdown, "## explain_query");
  EXPECT_EQ(second.ids(), std::vector<std::string>{id});
}

TEST(SessionStore, IdsThatAreNotOursNeverBecomePaths) {
  TemporaryDirectory dir;
  SessionStore store({.directory = dir.path / "sessions"});
  std::ofstream(dir.path / "secret.json") << R"({"id": "x", "entries": []})";
  for (const std::string& id :
       std::vector<std::string>{"../secret", "s_../../secret", "s_0123456789abcdef0123456789ABCDEF", "", "s_",
                                "s_" + std::string(32, '0') + "/x"}) {
    EXPECT_FALSE(SessionStore::valid_id(id)) << id;
    EXPECT_FALSE(store.exists(id)) << id;
    EXPECT_FALSE(store.snapshot(id)) << id;
    EXPECT_FALSE(store.record(id, entry("t"))) << id;
  }
  EXPECT_TRUE(SessionStore::valid_id(store.create("ok")));
}

TEST(SessionStore, AFullSessionRefusesTheCallNamingTheLimit) {
  SessionStore store({.max_bytes = 4096});
  const std::string id = store.create("small");
  SessionEntry big = entry("explain_query");
  big.markdown = std::string(5000, 'x');
  try {
    store.record(id, big);
    FAIL() << "a 5000-byte call fitted into 4096 bytes";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_THAT(e.what(), HasSubstr("sessions.max_bytes_per_session"));
    EXPECT_THAT(e.fix(), HasSubstr("start a new session"));
  }
  EXPECT_TRUE(store.snapshot(id)->entries.empty()) << "the session stays as it was";
  EXPECT_TRUE(store.record(id, entry("small call")));
}

TEST(SessionStore, ConcurrentWritersLoseNoCall) {
  TemporaryDirectory dir;
  SessionStore first({.directory = dir.path});
  SessionStore second({.directory = dir.path});  // another process's store, in effect
  const std::string id = first.create("busy");
  std::vector<std::thread> writers;
  for (int w = 0; w < 8; ++w)
    writers.emplace_back([&, w] {
      SessionStore& store = w % 2 ? first : second;
      for (int i = 0; i < 10; ++i) store.record(id, entry("w" + std::to_string(w)));
    });
  for (auto& t : writers) t.join();
  EXPECT_EQ(first.snapshot(id)->entries.size(), 80u);
}

TEST(SessionRegistry, SessionArgumentIsAddedRecordedAndHiddenFromTheHandler) {
  ToolRegistry registry;
  Tool echo;
  echo.name = "echo";
  echo.title = "Echo";
  echo.description = "Returns its arguments.";
  echo.input_schema = {
      {"type", "object"}, {"properties", {{"x", {{"type", "integer"}}}}}, {"additionalProperties", false}};
  echo.handler = [](const Json& args, ToolContext&) { return ToolResult{.structured = args, .markdown = args.dump()}; };
  registry.add(echo);
  EXPECT_TRUE(registry.find("echo")->input_schema["properties"].contains("session"));

  Settings settings;
  CancellationToken cancel;
  SessionStore store;
  ToolContext ctx{.settings = settings, .cancel = cancel, .sessions = &store};
  const std::string id = store.create("t");
  const ToolResult r = registry.call("echo", {{"x", 1}, {"session", id}}, ctx);
  ASSERT_FALSE(r.is_error) << r.markdown;
  EXPECT_EQ(r.structured, Json({{"x", 1}})) << "the handler does not see `session`";
  const auto snap = store.snapshot(id);
  ASSERT_EQ(snap->entries.size(), 1u);
  EXPECT_EQ(snap->entries[0].tool, "echo");
  EXPECT_EQ(snap->entries[0].arguments, Json({{"x", 1}}));

  const ToolResult unknown = registry.call("echo", {{"x", 1}, {"session", "s_" + std::string(32, 'a')}}, ctx);
  ASSERT_TRUE(unknown.is_error);
  EXPECT_THAT(unknown.markdown, HasSubstr("start_session"));
  const ToolResult malformed = registry.call("echo", {{"x", 1}, {"session", "../../etc/passwd"}}, ctx);
  ASSERT_TRUE(malformed.is_error);
  EXPECT_THAT(malformed.markdown, HasSubstr("is not a session id"));
  EXPECT_EQ(registry.call("echo", {{"x", 1}}, ctx).is_error, false);
  EXPECT_EQ(store.snapshot(id)->entries.size(), 1u) << "a call without `session` is not recorded";
}

class SessionLive : public ::testing::Test {
 protected:
  void SetUp() override {
    DBOPT_REQUIRE_TEST_DATABASE();
    settings_ = pg::testing::test_settings();
    settings_.knowledge_dir = DBOPT_SOURCE_DIR "/knowledge";  // tune_pool's platform table
    pool_ = std::make_unique<pg::DatabasePool>(settings_);
    register_builtin_tools(registry_);
    rules_ = knowledge::RuleBook::load_directory(DBOPT_SOURCE_DIR "/knowledge/rules");
  }
  ToolResult call(const std::string& tool, const Json& args) {
    CancellationToken cancel;
    ToolContext ctx{
        .settings = settings_, .cancel = cancel, .databases = pool_.get(), .rules = &rules_, .sessions = &sessions_};
    return registry_.call(tool, args, ctx);
  }
  Settings settings_;
  std::unique_ptr<pg::DatabasePool> pool_;
  ToolRegistry registry_;
  knowledge::RuleBook rules_;
  SessionStore sessions_;
};

std::string fixed3(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", v);
  return text;
}

TEST_F(SessionLive, ExplainMeasureReportAndFileFromOneSession) {
  const ToolResult started = call("start_session", {{"title", "Slow product lookups"}});
  ASSERT_FALSE(started.is_error) << started.markdown;
  const std::string id = started.structured["session"];
  const std::string sql = "SELECT sum(quantity) FROM order_items WHERE product_id = 17";

  const ToolResult explained =
      call("explain_query", {{"sql", sql}, {"database", "scratch"}, {"analyze", true}, {"session", id}});
  ASSERT_FALSE(explained.is_error) << explained.markdown;
  const ToolResult measured = call(
      "benchmark_query", {{"sql", sql},
                          {"database", "scratch"},
                          {"runs", 3},
                          {"candidate_indexes", {"CREATE INDEX session_items_product ON order_items (product_id)"}},
                          {"session", id}});
  ASSERT_FALSE(measured.is_error) << measured.markdown;

  const ToolResult report = call("session_report", {{"session", id}});
  ASSERT_FALSE(report.is_error) << report.markdown;
  EXPECT_EQ(report.structured["calls"], 2);
  EXPECT_EQ(report.structured["tools_used"], Json({{"benchmark_query", 1}, {"explain_query", 1}}));
  const std::string& md = report.markdown;
  EXPECT_THAT(md, HasSubstr("# Performance report: Slow product lookups"));
  EXPECT_THAT(md, HasSubstr("## Performance analysis"));
  // The measured figures of this run, as the benchmark reported them.
  EXPECT_THAT(md, HasSubstr(fixed3(measured.structured["timings_ms"]["median"]) + " ms"));
  EXPECT_THAT(md, HasSubstr(fixed3(measured.structured["after"]["timings_ms"]["median"]) + " ms"));
  char execution[32];
  std::snprintf(execution, sizeof execution, "%.2f ms measured",
                explained.structured["plan_summary"]["execution_time_ms"].get<double>());
  EXPECT_THAT(md, HasSubstr(execution));
  // The index to run in production (CONCURRENTLY, from explain_query's fix), with the benchmark's measurement.
  const std::string indexes = section(md, "Index definitions");
  EXPECT_EQ(occurrences(indexes, "CREATE INDEX"), 1u) << indexes;
  EXPECT_THAT(indexes, HasSubstr("CREATE INDEX CONCURRENTLY order_items_product_id_idx ON order_items (product_id);"));
  EXPECT_THAT(indexes, HasSubstr("built for real on the scratch database"));
  EXPECT_THAT(md, HasSubstr("FROM pg_stat_statements"));
  EXPECT_THAT(md, HasSubstr("indexrelname IN ('order_items_product_id_idx')"));
  ASSERT_FALSE(explained.structured["findings"].empty()) << explained.markdown;
  const std::string rule = explained.structured["findings"][0]["rule_id"];
  EXPECT_THAT(md, HasSubstr("`" + rule + "`"));
  const Json& bench = report.structured["benchmarks"][0];
  EXPECT_EQ(bench["evidence"], "measured");
  EXPECT_EQ(bench["before"], measured.structured["timings_ms"]["median"]);

  // The same report as a task, without Linear.
  const ToolResult task = call("create_perf_task", {{"session", id}, {"dry_run", true}});
  ASSERT_FALSE(task.is_error) << task.markdown;
  EXPECT_EQ(task.structured["title"], "Slow product lookups");
  const std::string description = task.structured["description"];
  EXPECT_THAT(description, HasSubstr(rule));
  EXPECT_THAT(description, HasSubstr("measured median before (ms)"));
  EXPECT_THAT(description, HasSubstr(sql));
  EXPECT_EQ(sessions_.snapshot(id)->entries.back().tool, "create_perf_task") << "filing is part of the session";
}

// The text of a report's section: from its "## " heading to the next one.
TEST_F(SessionLive, ReportIsAPlanByImpactWithEachIndexOnceAndTheOrmAndPoolInTheirPlaces) {
  const std::string id = call("start_session", {{"title", "Orders are slow"}}).structured["session"];
  const std::string sql = "SELECT id, total_cents FROM orders WHERE status = 'refunded'";
  ASSERT_FALSE(call("explain_query", {{"sql", sql}, {"analyze", true}, {"session", id}}).is_error);
  const ToolResult advised = call("suggest_indexes", {{"queries", {{{"sql", sql}}}}, {"session", id}});
  ASSERT_FALSE(advised.is_error) << advised.markdown;
  ASSERT_FALSE(advised.structured["recommendations"].empty()) << advised.markdown;
  Json loop = Json::array({"SELECT id, name FROM customers"});
  for (int i = 1; i <= 8; ++i) loop.push_back("SELECT * FROM orders WHERE customer_id = " + std::to_string(i));
  ASSERT_FALSE(call("detect_n_plus_one", {{"queries", loop}, {"framework", "django"}, {"session", id}}).is_error);
  const ToolResult pool = call("tune_pool", {{"platform", "supabase"},
                                             {"server", {{"compute_size", "Large"}}},
                                             {"app",
                                              {{"instances", 2},
                                               {"processes_per_instance", 4},
                                               {"threads_per_process", 4},
                                               {"request_rate_per_s", 1500},
                                               {"db_time_per_request_ms", 8}}},
                                             {"session", id}});
  ASSERT_FALSE(pool.is_error) << pool.markdown;

  const ToolResult report = call("session_report", {{"session", id}});
  ASSERT_FALSE(report.is_error) << report.markdown;
  const std::string& md = report.markdown;
  EXPECT_EQ(md.find(";;"), std::string::npos) << md;
  // The promised sections, in order.
  std::size_t last = 0;
  for (const char* heading : {"Performance analysis", "Optimization plan (by impact)", "Index definitions",
                              "Django code", "Configuration files", "Monitoring queries"}) {
    const auto at = md.find("\n## " + std::string(heading));
    ASSERT_NE(at, std::string::npos) << heading << "\n" << md;
    EXPECT_GT(at, last) << heading;
    last = at;
  }
  // explain_query and suggest_indexes both index orders(status): the advisor's workload-wide choice is the one.
  const std::string indexes = section(md, "Index definitions");
  EXPECT_EQ(occurrences(indexes, "(status)"), 1u) << indexes;
  EXPECT_THAT(indexes, HasSubstr("ON public.orders USING btree (status)"));
  EXPECT_THAT(indexes, HasSubstr("From suggest_indexes"));
  // The plan: every item has its impact; info notes and pool items are apart.
  const std::string plan = section(md, "Optimization plan (by impact)");
  const auto queries = plan.find("### Queries and indexes"), pool_part = plan.find("### Connection pool and server");
  ASSERT_NE(queries, std::string::npos) << plan;
  ASSERT_NE(pool_part, std::string::npos) << plan;
  const std::string query_tasks = plan.substr(queries, pool_part - queries);
  EXPECT_EQ(query_tasks.find("POOL_"), std::string::npos) << query_tasks;
  EXPECT_NE(query_tasks.find("WORKLOAD_NPLUSONE_READ_LOOP"), std::string::npos) << query_tasks;
  EXPECT_NE(plan.find("POOL_DEMAND_EXCEEDS_CORES"), std::string::npos) << plan;
  const auto notes = plan.find("### Notes");
  EXPECT_EQ(plan.substr(0, notes).find(", `POOL_LITTLE_LAW`"), std::string::npos) << "info is a note, not a task";
  EXPECT_EQ(occurrences(query_tasks, "\n   - Impact: "), occurrences(query_tasks, ". **")) << query_tasks;
  // The measured seq scan goes first: it has a time, the text findings do not.
  const auto seq_scan = query_tasks.find("PLAN_SEQ_SCAN_LARGE_FILTER");
  EXPECT_NE(seq_scan, std::string::npos);
  EXPECT_LT(seq_scan, query_tasks.find("WORKLOAD_NPLUSONE_READ_LOOP")) << query_tasks;
  EXPECT_NE(query_tasks.find("measured by EXPLAIN ANALYZE"), std::string::npos) << query_tasks;
  // The ORM fix of the N+1 loop, and the pool's configuration files.
  EXPECT_NE(section(md, "Django code").find("Customer.objects.prefetch_related('order_set')"), std::string::npos) << md;
  const std::string config = section(md, "Configuration files");
  EXPECT_NE(config.find("DATABASES"), std::string::npos) << config;
  EXPECT_EQ(config.find("POOL_DEMAND_EXCEEDS_CORES"), std::string::npos) << "findings are in the plan, not repeated";
}

TEST(SessionReport, CreateBeforeDropAndEachStatementOnce) {
  SessionSnapshot session;
  session.id = "s_" + std::string(32, '1');
  SessionEntry advisor = entry("suggest_indexes");
  advisor.structured = Json::parse(R"({
    "drops": [{"index": "orders_old_idx", "table": "orders", "rule_id": "INDEX_UNUSED", "reason": "never scanned",
               "ddl": "DROP INDEX CONCURRENTLY orders_old_idx;", "size_bytes": 8192}],
    "recommendations": [{"ddl": "CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);", "reason": "filter",
                         "rule_id": "INDEX_FILTER", "evidence": "estimated", "benefit": 50}],
    "workload": {"queries": 1, "cost_before": 100, "cost_after": 50, "improvement": 0.5}})");
  // An earlier call proposed only the drop: it still comes after the CREATE.
  SessionEntry drop_only = entry("suggest_indexes");
  drop_only.structured = {{"drops", advisor.structured["drops"]}};
  session.entries = {drop_only, advisor, advisor};
  const SessionReport report = render_session_report(session);
  const std::string indexes = section(report.markdown, "Index definitions");
  EXPECT_EQ(occurrences(indexes, "CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);\n"), 1u) << indexes;
  EXPECT_EQ(occurrences(indexes, "DROP INDEX CONCURRENTLY orders_old_idx;\n"), 1u) << indexes;
  EXPECT_LT(indexes.find("CREATE INDEX"), indexes.find("DROP INDEX")) << indexes;
  EXPECT_EQ(report.markdown.find(";;"), std::string::npos) << report.markdown;
  EXPECT_NE(report.markdown.find("50.0% lower, estimated"), std::string::npos) << report.markdown;
  EXPECT_NE(indexes.find("(estimated: 50% of the workload's cost)"), std::string::npos) << indexes;
}

// One problem seen by three tools (EXPLAIN, EXPLAIN ANALYZE, the advisor) and
// measured by a fourth is one task and one index: the advisor's DDL (named,
// CONCURRENTLY) with benchmark_query's measurement.
TEST(SessionReport, OneTaskAndOneIndexPerProblemAcrossTools) {
  const std::string sql = "SELECT * FROM big_orders WHERE status = 'disputed'";
  const std::string fix =
      "Index it:\n\n```sql\nCREATE INDEX CONCURRENTLY big_orders_status_idx ON big_orders (status);\n```\n\n"
      "```python\nclass Meta:\n    indexes = [models.Index(fields=[\"status\"], "
      "name=\"big_orders_status_idx\")]\n```\n";
  SessionEntry estimated = entry("explain_query");
  estimated.arguments = {{"sql", sql}};
  estimated.structured = {{"findings",
                           {{{"rule_id", "PLAN_SELECTIVE_SCAN_ESTIMATED"},
                             {"title", "Sequential scan for a few estimated rows"},
                             {"severity", "high"},
                             {"evidence", "estimated"},
                             {"where", "node 1"},
                             {"summary", "reads 2,000,000 rows for 67"},
                             {"fix", fix}}}}};
  SessionEntry measured = estimated;
  measured.structured["findings"][0]["rule_id"] = "PLAN_SEQ_SCAN_LARGE_FILTER";
  measured.structured["findings"][0]["evidence"] = "measured";
  measured.structured["findings"][0]["summary"] = "read 2,000,001 rows and kept 18";
  SessionEntry advisor = entry("suggest_indexes");
  advisor.structured = Json::parse(R"({
    "recommendations": [{"ddl": "CREATE INDEX CONCURRENTLY big_orders_status_partial_idx ON public.big_orders USING btree (status) WHERE status = 'disputed';",
                         "reason": "rare value", "rule_id": "INDEX_PARTIAL", "evidence": "estimated", "benefit": 2657562}],
    "django": "# models.py, the model on table public.big_orders:\n",
    "workload": {"queries": 1, "cost_before": 2675937, "cost_after": 18375, "improvement": 0.993}})");
  SessionEntry bench = entry("benchmark_query");
  bench.arguments = {{"sql", sql}};
  bench.structured = Json::parse(R"({"timings_ms": {"median": 94.2}, "after": {"timings_ms": {"median": 0.25}},
    "indexes_built": [{"statement": "CREATE INDEX ON big_orders(status) WHERE status = 'disputed'", "build_ms": 196}]})");
  SessionEntry managed = entry("tune_pool");
  managed.structured = {
      {"memory_settings",
       {{"rule_id", "POOL_PGTUNE_MEMORY"}, {"settings", Json::array()}, {"note", "Supabase sets them"}}}};
  SessionEntry tuned = entry("tune_pool");
  tuned.structured = {
      {"memory_settings",
       {{"rule_id", "POOL_PGTUNE_MEMORY"},
        {"settings", {{{"name", "shared_buffers"}, {"value", "4GB"}, {"arithmetic", "25% of 16 GB"}}}}}}};
  SessionSnapshot session;
  session.id = "s_" + std::string(32, '2');
  session.entries = {estimated, measured, advisor, bench, managed, tuned};
  const std::string md = render_session_report(session).markdown;

  const std::string plan = section(md, "Optimization plan");
  EXPECT_EQ(occurrences(plan, "PLAN_SEQ_SCAN_LARGE_FILTER"), 1u) << plan;
  EXPECT_EQ(occurrences(plan, "PLAN_SELECTIVE_SCAN_ESTIMATED"), 0u) << "the measured finding replaces the estimate";
  const std::string indexes = section(md, "Index definitions");
  EXPECT_EQ(occurrences(indexes, "CREATE INDEX"), 1u) << indexes;
  EXPECT_THAT(indexes, HasSubstr("CREATE INDEX CONCURRENTLY big_orders_status_partial_idx ON public.big_orders"));
  EXPECT_THAT(indexes, HasSubstr("(estimated: 99% of the workload's cost); built for real"));
  EXPECT_THAT(indexes, HasSubstr("[measured]"));
  const std::string code = section(md, "Django code");
  EXPECT_THAT(code, HasSubstr("# The index set of suggest_indexes (Django)"));
  EXPECT_EQ(code.find("big_orders_status_idx"), std::string::npos) << "the explain-only index gave way: " << code;
  const std::string config = section(md, "Configuration files");
  EXPECT_THAT(config, HasSubstr("shared_buffers = 4GB\n"));
  EXPECT_EQ(config.find("\n = \n"), std::string::npos) << config;
}

}  // namespace
}  // namespace dbopt::tools
