// The task text and its fingerprint (linear/perf_task.h), and create_perf_task's
// dry run on real explain_query output: pure, no Linear needed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/common/error.h"
#include "knowledge/rule_book.h"
#include "linear/perf_task.h"
#include "tools/builtin_tools.h"
#include "tools/tool_registry.h"

namespace dbopt::linear {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TaskFinding seq_scan() {
  TaskFinding f;
  f.rule_id = "PLAN_SEQ_SCAN_LARGE_FILTER";
  f.title = "Sequential scan discards most rows";
  f.severity = "high";
  f.summary = "Seq Scan on orders reads 100000 rows and keeps 12.";
  f.where = "node 1: Seq Scan on orders";
  f.subject = "orders.customer_id";
  f.evidence_source = "measured";
  f.fix = "```sql\nCREATE INDEX CONCURRENTLY ON orders (customer_id);\n```";
  f.evidence = {{"rows_removed", "99988"}, {"time_ms", "41.2"}};
  return f;
}

TaskFinding sort_spill() {
  TaskFinding f;
  f.rule_id = "PLAN_SORT_SPILL";
  f.title = "Sort spills to disk";
  f.severity = "medium";
  f.summary = "The sort wrote 2 MB to disk.";
  f.fix = "SET work_mem = '8MB';";
  f.evidence = {{"disk_kb", "2048"}};
  return f;
}

TaskInput explain_input() {
  TaskInput in;
  in.source_tool = "explain_query";
  in.query_fingerprint = "5c3e0f6b2b1a9d07";
  in.sql = "SELECT * FROM orders WHERE customer_id = $1";
  in.findings = {seq_scan(), sort_spill()};
  in.context = {{"plan execution_time_ms", "45.1"}};
  return in;
}

TEST(PerfTaskFingerprint, IsSixteenHexDigitsAndStableAcrossRuns) {
  const std::string a = task_fingerprint(explain_input());
  EXPECT_THAT(a, ::testing::MatchesRegex("[0-9a-f]{16}"));
  // Another run: other timings, findings in another order.
  TaskInput again = explain_input();
  std::swap(again.findings[0], again.findings[1]);
  again.findings[1].evidence = {{"rows_removed", "99990"}, {"time_ms", "38.0"}};
  again.context = {{"plan execution_time_ms", "39.9"}};
  EXPECT_EQ(task_fingerprint(again), a);
}

TEST(PerfTaskFingerprint, DependsOnTheQueryAndTheMainRule) {
  const std::string base = task_fingerprint(explain_input());
  TaskInput other_query = explain_input();
  other_query.query_fingerprint = "0000000000000001";
  EXPECT_NE(task_fingerprint(other_query), base);
  TaskInput other_rule = explain_input();
  other_rule.findings[0].rule_id = "PLAN_ROW_MISESTIMATE";
  EXPECT_NE(task_fingerprint(other_rule), base);
  // Lesser advice coming and going does not make it another problem.
  TaskInput fewer = explain_input();
  fewer.findings.pop_back();
  EXPECT_EQ(task_fingerprint(fewer), base);
}

TEST(PerfTaskFingerprint, WithoutAQueryUsesWhatTheFindingsAreAbout) {
  TaskInput a;
  a.findings = {seq_scan()};
  TaskInput b = a;
  b.findings[0].subject = "invoices.customer_id";
  EXPECT_NE(task_fingerprint(a), task_fingerprint(b));
}

TEST(PerfTaskFingerprint, FreeTextIgnoresCaseSpacingAndNumbers) {
  TaskInput a;
  a.free_text = "Seq Scan on orders filters 99% of rows";
  TaskInput b;
  b.free_text = "  seq scan on ORDERS  filters 97%   of rows\n";
  TaskInput c;
  c.free_text = "Seq Scan on invoices filters 99% of rows";
  EXPECT_EQ(task_fingerprint(a), task_fingerprint(b));
  EXPECT_NE(task_fingerprint(a), task_fingerprint(c));
}

TEST(PerfTaskText, DescriptionHasProblemEvidenceFixRulesVerificationAndFingerprint) {
  const PerfTask task = compose_task(explain_input());
  const std::string& d = task.description;
  EXPECT_THAT(d, HasSubstr("### Problem\nSeq Scan on orders reads 100000 rows and keeps 12."));
  EXPECT_THAT(d, HasSubstr("```sql\nSELECT * FROM orders WHERE customer_id = $1\n```"));
  EXPECT_THAT(d, HasSubstr("Query fingerprint (pg_query): `5c3e0f6b2b1a9d07`"));
  EXPECT_THAT(d, HasSubstr("- plan execution_time_ms: 45.1"));
  EXPECT_THAT(d, HasSubstr("- rows_removed: 99988"));
  EXPECT_THAT(d, HasSubstr("CREATE INDEX CONCURRENTLY ON orders (customer_id);"));
  EXPECT_THAT(d, HasSubstr("SET work_mem = '8MB';"));
  EXPECT_THAT(d, HasSubstr("### How to verify"));
  EXPECT_THAT(d, HasSubstr("EXPLAIN (ANALYZE, BUFFERS)"));
  EXPECT_THAT(d, HasSubstr("- `PLAN_SEQ_SCAN_LARGE_FILTER` (dbopt://knowledge/rules/PLAN_SEQ_SCAN_LARGE_FILTER)"));
  EXPECT_THAT(d, HasSubstr("- `PLAN_SORT_SPILL`"));
  // The most severe finding comes first.
  EXPECT_LT(d.find("Sequential scan discards most rows"), d.find("Sort spills to disk"));
  // The fingerprint line closes the description and reads back.
  EXPECT_THAT(d, ::testing::EndsWith(task.fingerprint_line + "\n"));
  EXPECT_EQ(fingerprint_in(d), task.fingerprint);
  EXPECT_EQ(task.rule_ids, (std::vector<std::string>{"PLAN_SEQ_SCAN_LARGE_FILTER", "PLAN_SORT_SPILL"}));
}

TEST(PerfTaskText, TitleAndPriorityComeFromTheMostSevereFinding) {
  const PerfTask task = compose_task(explain_input());
  EXPECT_EQ(task.title, "Sequential scan discards most rows — node 1: Seq Scan on orders (+1 more)");
  EXPECT_EQ(task.severity, "high");
  EXPECT_EQ(task.priority, 2);
  TaskInput given = explain_input();
  given.title = "Orders page is slow";
  given.priority = 1;
  const PerfTask mine = compose_task(given);
  EXPECT_EQ(mine.title, "Orders page is slow");
  EXPECT_EQ(mine.priority, 1);
}

TEST(PerfTaskText, PriorityFollowsSeverity) {
  EXPECT_EQ(priority_for_severity("critical"), 1);
  EXPECT_EQ(priority_for_severity("high"), 2);
  EXPECT_EQ(priority_for_severity("medium"), 3);
  EXPECT_EQ(priority_for_severity("low"), 4);
  EXPECT_EQ(priority_for_severity("info"), 4);
  EXPECT_EQ(priority_for_severity(""), 3);
}

TEST(PerfTaskText, VerificationFitsTheTool) {
  TaskInput n1;
  n1.source_tool = "detect_n_plus_one";
  n1.findings = {seq_scan()};
  EXPECT_THAT(compose_task(n1).description, HasSubstr("once per row"));
  TaskInput pool;
  pool.source_tool = "tune_pool";
  pool.findings = {sort_spill()};
  EXPECT_THAT(compose_task(pool).description, HasSubstr("cl_waiting"));
}

TEST(PerfTaskText, FreeTextBecomesTheProblemAndTheTitle) {
  TaskInput in;
  in.free_text = "Checkout takes 3 s: the orders query scans the whole table.\nSeen in production since Monday.";
  const PerfTask task = compose_task(in);
  EXPECT_EQ(task.title, "Checkout takes 3 s: the orders query scans the whole table.");
  EXPECT_THAT(task.description, HasSubstr("Seen in production since Monday."));
  EXPECT_EQ(task.priority, 3);
  EXPECT_THAT(task.description, Not(HasSubstr("### Rules")));
}

TEST(PerfTaskText, LongTitlesAreCutAtAWord) {
  TaskInput in;
  in.free_text = std::string(200, 'x') + " tail";
  EXPECT_LE(compose_task(in).title.size(), 123u);  // 120 bytes and the ellipsis
}

TEST(PerfTaskText, NothingToFileIsAClearError) {
  TaskInput empty;
  empty.free_text = "   ";
  try {
    compose_task(empty);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_THAT(e.what(), HasSubstr("findings"));
  }
}

TEST(PerfTaskText, CommentCarriesTheNewEvidence) {
  const TaskInput in = explain_input();
  const std::string c = evidence_comment(compose_task(in), in);
  EXPECT_THAT(c, HasSubstr("found this problem again"));
  EXPECT_THAT(c, HasSubstr("rows_removed: 99988"));
  EXPECT_THAT(c, HasSubstr("plan execution_time_ms: 45.1"));
}

// ---- create_perf_task dry run through the registry, on explain_query's real output.

const knowledge::RuleBook& rule_book() {
  static const knowledge::RuleBook book = knowledge::RuleBook::load_directory(DBOPT_SOURCE_DIR "/knowledge/rules");
  return book;
}

tools::ToolResult call(const std::string& tool, const tools::Json& args, const Settings& settings = {}) {
  static const tools::ToolRegistry registry = [] {
    tools::ToolRegistry r;
    tools::register_builtin_tools(r);
    return r;
  }();
  CancellationToken cancel;
  tools::ToolContext ctx{.settings = settings, .cancel = cancel, .rules = &rule_book()};
  return registry.call(tool, args, ctx);
}

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(DBOPT_FIXTURES_DIR) + "/plans/" + name);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(CreatePerfTaskDryRun, FilesExplainQueryOutputWithoutLinear) {
  const auto explained = call("explain_query", {{"plan", fixture("seq_scan_filter.json")},
                                                {"sql", "SELECT * FROM orders WHERE customer_id = 42"}});
  ASSERT_FALSE(explained.is_error) << explained.markdown;
  ASSERT_FALSE(explained.structured["findings"].empty());
  const auto first = call("create_perf_task", {{"findings", explained.structured}, {"dry_run", true}});
  ASSERT_FALSE(first.is_error) << first.markdown;
  const auto& out = first.structured;
  EXPECT_EQ(out["action"], "dry_run");
  EXPECT_EQ(out["team"], "PERF");
  EXPECT_THAT(out["fingerprint"].get<std::string>(), ::testing::MatchesRegex("[0-9a-f]{16}"));
  const std::string description = out["description"];
  EXPECT_THAT(description, HasSubstr(explained.structured["query"]["fingerprint"].get<std::string>()));
  for (const auto& f : explained.structured["findings"])
    EXPECT_THAT(description, HasSubstr("`" + f["rule_id"].get<std::string>() + "`"));
  EXPECT_THAT(description, HasSubstr("plan execution_time_ms"));
  EXPECT_THAT(first.markdown, HasSubstr(out["title"].get<std::string>()));
  EXPECT_THAT(first.markdown, HasSubstr(description));
  // No key configured: the dry run says how to configure one.
  EXPECT_THAT(out["notes"].dump(), HasSubstr("LINEAR_API_KEY"));
  // Same input, same text: what a dry run shows is what a real run files.
  const auto second = call("create_perf_task", {{"findings", explained.structured}, {"dry_run", true}});
  EXPECT_EQ(second.structured["description"], description);
}

TEST(CreatePerfTaskDryRun, AcceptsOtherToolsFindingsTolerantly) {
  const tools::Json n_plus_one = {{"findings",
                                   {{{"rule_id", "NPLUSONE_LOOP"},
                                     {"severity", "critical"},
                                     {"title", "N+1: one query per order"},
                                     {"evidence", {{"n", 200}, {"total_ms", 812.5}}},
                                     {"fix", {{"django", "Order.objects.select_related('customer')"}}},
                                     {"where", {{"table", "customers"}}}}}},
                                  {"requests", 12}};
  const auto r = call("create_perf_task", {{"findings", n_plus_one}, {"tool", "detect_n_plus_one"}, {"dry_run", true}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  const std::string d = r.structured["description"];
  EXPECT_THAT(d, HasSubstr("- n: 200"));
  EXPECT_THAT(d, HasSubstr("- total_ms: 812.5"));
  EXPECT_THAT(d, HasSubstr("```python\nOrder.objects.select_related('customer')\n```"));
  EXPECT_THAT(d, HasSubstr("- requests: 12"));
  EXPECT_EQ(r.structured["priority"], 1);
  EXPECT_EQ(r.structured["title"], "N+1: one query per order — customers");
}

TEST(CreatePerfTaskDryRun, FreeTextWorks) {
  const auto r = call("create_perf_task", {{"findings", "Seq Scan on orders filters 99% of rows: add an index."},
                                           {"dry_run", true},
                                           {"priority", 4},
                                           {"team", "ENG"}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  EXPECT_EQ(r.structured["priority"], 4);
  EXPECT_EQ(r.structured["team"], "ENG");
  EXPECT_EQ(r.structured["title"], "Seq Scan on orders filters 99% of rows: add an index.");
}

TEST(CreatePerfTaskDryRun, BadFindingsNameTheField) {
  const auto r = call("create_perf_task", {{"findings", {{"findings", {{{"severity", "high"}}}}}}, {"dry_run", true}});
  ASSERT_TRUE(r.is_error);
  EXPECT_THAT(r.markdown, HasSubstr("findings[0]"));
  const auto none = call("create_perf_task", {{"findings", {{"mode", "x"}}}, {"dry_run", true}});
  ASSERT_TRUE(none.is_error);
  EXPECT_THAT(none.markdown, HasSubstr("findings"));
}

TEST(CreatePerfTaskWithoutKey, SaysHowToConfigureOne) {
  const auto r = call("create_perf_task", {{"findings", "slow"}});
  ASSERT_TRUE(r.is_error);
  EXPECT_THAT(r.markdown, HasSubstr("LINEAR_API_KEY"));
  EXPECT_THAT(r.markdown, HasSubstr("dry_run"));
  const auto f = call("find_perf_tasks", {{"query", "orders"}});
  ASSERT_FALSE(f.is_error) << f.markdown;
  EXPECT_EQ(f.structured["configured"], false);
  EXPECT_TRUE(f.structured["tasks"].empty());
  EXPECT_THAT(f.markdown, HasSubstr("not configured"));
  EXPECT_THAT(f.markdown, HasSubstr("LINEAR_API_KEY"));
}

}  // namespace
}  // namespace dbopt::linear
