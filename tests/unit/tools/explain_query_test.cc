// explain_query through the tool registry (argument validation, isError
// mapping, output-schema check included): offline on the real plan fixtures,
// on SQL text alone, and live against the test PostgreSQL from
// scripts/test-services (skipped when DBOPT_TEST_DATABASE_URL is not set).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/pg/database_pool.h"
#include "knowledge/rule_book.h"
#include "tests/unit/pg/pg_test_env.h"
#include "tools/builtin_tools.h"
#include "tools/tool_registry.h"

namespace dbopt::tools {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

std::string read_plan_fixture(const std::string& file) {
  std::ifstream in(std::string(DBOPT_FIXTURES_DIR) + "/plans/" + file, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + file);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const knowledge::RuleBook& rule_book() {
  static const knowledge::RuleBook book = knowledge::RuleBook::load_directory(DBOPT_SOURCE_DIR "/knowledge/rules");
  return book;
}

const ToolRegistry& registry() {
  static const ToolRegistry tools = [] {
    ToolRegistry r;
    r.add(make_explain_query_tool());
    return r;
  }();
  return tools;
}

// One call as a client makes it, with or without databases.
struct Call {
  Settings settings;
  CancellationToken cancel;
  std::vector<std::string> stages;

  ToolResult operator()(const Json& args, pg::DatabasePool* databases = nullptr) {
    ToolContext ctx{.settings = settings, .cancel = cancel, .databases = databases, .rules = &rule_book()};
    ctx.progress = [this](double, std::optional<double>, const std::string& message) { stages.push_back(message); };
    return registry().call("explain_query", args, ctx);
  }
};

ToolResult call(const Json& args, pg::DatabasePool* databases = nullptr) { return Call{}(args, databases); }

const Json* finding(const ToolResult& result, const std::string& rule_id) {
  for (const auto& f : result.structured["findings"])
    if (f["rule_id"] == rule_id) return &f;
  return nullptr;
}

std::vector<std::string> rule_ids(const ToolResult& result) {
  std::vector<std::string> ids;
  for (const auto& f : result.structured["findings"]) ids.push_back(f["rule_id"]);
  return ids;
}

// ---- the declaration ----

TEST(ExplainQueryTool, DeclaresItselfForAnAssistant) {
  const Tool* tool = registry().find("explain_query");
  ASSERT_NE(tool, nullptr);
  EXPECT_TRUE(tool->implemented);
  EXPECT_THAT(tool->description, Not(HasSubstr("NOT IMPLEMENTED")));
  EXPECT_TRUE(tool->annotations.read_only);
  EXPECT_FALSE(tool->annotations.destructive);
  EXPECT_TRUE(tool->annotations.idempotent);
  EXPECT_FALSE(tool->annotations.open_world);
  // Claude's API refuses top-level anyOf/oneOf in an input schema.
  EXPECT_FALSE(tool->input_schema.contains("anyOf"));
  EXPECT_FALSE(tool->input_schema.contains("oneOf"));
  for (const char* field :
       {"sql", "plan", "database", "analyze", "buffers", "params", "hypothetical_indexes", "schema", "analyze_writes"})
    EXPECT_TRUE(tool->input_schema["properties"].contains(field)) << field;
  EXPECT_TRUE(tool->output_schema.is_object());
}

// ---- offline: pasted plans ----

TEST(ExplainQueryOffline, SeqScanFixtureLeadsWithTheScanAndItsIndex) {
  const ToolResult result = call({{"plan", read_plan_fixture("seq_scan_filter.json")}});
  ASSERT_FALSE(result.is_error) << result.markdown;
  const Json& out = result.structured;
  EXPECT_EQ(out["mode"], "pasted_plan");
  EXPECT_EQ(out["evidence"], "measured");

  const Json* scan = finding(result, "PLAN_SEQ_SCAN_LARGE_FILTER");
  ASSERT_NE(scan, nullptr) << result.markdown;
  EXPECT_EQ((*scan)["evidence"], "measured");
  EXPECT_EQ((*scan)["numbers"]["rows_scanned"], 200000);
  EXPECT_NEAR((*scan)["numbers"]["removed_share"].get<double>(), 0.99, 0.001);
  EXPECT_EQ((*scan)["where"]["plan_node_id"], 0);
  EXPECT_EQ((*scan)["where"]["table"], "orders");
  EXPECT_THAT((*scan)["fix"].get<std::string>(),
              HasSubstr("CREATE INDEX CONCURRENTLY orders_amount_idx ON orders (amount);"));
  EXPECT_EQ(out["findings"][0]["rule_id"], "PLAN_SEQ_SCAN_LARGE_FILTER") << "the biggest saving comes first";

  const Json& summary = out["plan_summary"];
  EXPECT_EQ(summary["ranked_by"], "exclusive_time");
  EXPECT_NEAR(summary["execution_time_ms"].get<double>(), 68.238, 1e-9);
  EXPECT_NEAR(summary["planning_time_ms"].get<double>(), 0.387, 1e-9);
  EXPECT_THAT(summary["top_nodes"][0]["label"].get<std::string>(), HasSubstr("Seq Scan on orders"));
  EXPECT_GT(summary["top_nodes"][0]["share"].get<double>(), 0.9);
  EXPECT_EQ(summary["settings"]["max_parallel_workers_per_gather"], "0");

  // One screen, slowest part first, then the fix to paste, then the evidence.
  const std::string& md = result.markdown;
  const auto slowest = md.find("**Slowest part:** node 0: Seq Scan on orders");
  const auto findings = md.find("### Findings");
  const auto fix = md.find("CREATE INDEX CONCURRENTLY orders_amount_idx ON orders (amount);");
  const auto evidence = md.find("### Evidence (measured)");
  ASSERT_NE(slowest, std::string::npos) << md;
  ASSERT_NE(fix, std::string::npos) << md;
  EXPECT_LT(slowest, findings);
  EXPECT_LT(findings, fix);
  EXPECT_LT(fix, evidence);
  EXPECT_THAT(md, HasSubstr("(high, measured, `PLAN_SEQ_SCAN_LARGE_FILTER`)"));
  EXPECT_LT(std::count(md.begin(), md.end(), '\n'), 60) << md;
}

TEST(ExplainQueryOffline, SortSpillNamesTheWorkMemFromTheTextPlan) {
  const ToolResult result = call({{"plan", read_plan_fixture("sort_external.txt")}});
  ASSERT_FALSE(result.is_error) << result.markdown;
  const Json* spill = finding(result, "PLAN_SORT_SPILL");
  ASSERT_NE(spill, nullptr) << result.markdown;
  EXPECT_EQ((*spill)["facts"]["work_mem"], "16MB");
  EXPECT_EQ((*spill)["numbers"]["disk_kb"], 6688);
  EXPECT_EQ((*spill)["evidence"], "measured");
  EXPECT_THAT(result.markdown, HasSubstr("SET LOCAL work_mem = '16MB';"));
  EXPECT_THAT(result.markdown, HasSubstr("work_mem = 64kB"));
}

// Found by fuzz_tool_inputs: a pasted plan whose node times add up to more than
// its run once answered "Internal error" (a share above 1 against the schema).
TEST(ExplainQueryOffline, NodeTimesAboveTheRunAreSharedOutOfTheirSumAndSaid) {
  std::ifstream in(std::string(DBOPT_SOURCE_DIR) + "/tests/fuzz-corpus/tool_inputs/node_times_exceed_the_run");
  const std::string plan((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const ToolResult result = call({{"plan", plan}});
  ASSERT_FALSE(result.is_error) << result.markdown;
  for (const auto& node : result.structured["plan_summary"]["top_nodes"]) EXPECT_LE(node["share"].get<double>(), 1.0);
  EXPECT_THAT(result.markdown, HasSubstr("add up to 129.4 ms, more than the 18.0 ms run"));
  // The slowest part's share names the same base, not the run.
  EXPECT_THAT(result.markdown, HasSubstr("129.4 ms the nodes' own times add up to."));
  EXPECT_THAT(result.markdown, Not(HasSubstr("of the 18.0 ms run")));
  // A real parallel plan's times agree with its run: no such note.
  EXPECT_THAT(call({{"plan", read_plan_fixture("parallel_gather.txt")}}).markdown, Not(HasSubstr("add up to")));
}

TEST(ExplainQueryOffline, EstimateOnlyPlanRanksByCostAndSaysSo) {
  const ToolResult result = call({{"plan", read_plan_fixture("estimate_only_join.txt")}});
  ASSERT_FALSE(result.is_error) << result.markdown;
  EXPECT_EQ(result.structured["evidence"], "estimated");
  const Json& summary = result.structured["plan_summary"];
  EXPECT_EQ(summary["analyzed"], false);
  EXPECT_EQ(summary["ranked_by"], "exclusive_cost");
  EXPECT_FALSE(summary.contains("execution_time_ms"));
  EXPECT_NEAR(summary["total_cost"].get<double>(), 5425.55, 1e-9);
  // Own cost: the node's total cost minus its children's, so the costliest
  // node is not simply the root.
  const Json& top = summary["top_nodes"];
  ASSERT_EQ(top.size(), 5u) << top.dump();  // the Hash node adds nothing of its own
  EXPECT_THAT(top[0]["label"].get<std::string>(), HasSubstr("Index Scan using orders_created_at_idx"));
  EXPECT_NEAR(top[0]["exclusive_cost"].get<double>(), 3894.47, 1e-6);
  EXPECT_NEAR(top[0]["share"].get<double>(), 3894.47 / 5425.55, 1e-6);
  EXPECT_NEAR(top[1]["exclusive_cost"].get<double>(), 5415.46 - 4731.18, 1e-6);           // HashAggregate
  EXPECT_NEAR(top[2]["exclusive_cost"].get<double>(), 4731.18 - 3894.47 - 348.00, 1e-6);  // Hash Join
  for (const auto& f : result.structured["findings"]) EXPECT_NE(f["evidence"], "measured") << f.dump();
  EXPECT_THAT(result.markdown, HasSubstr("**Most expensive part (planner's estimate):**"));
  EXPECT_THAT(result.markdown, HasSubstr("### Evidence (planner estimates)"));
}

TEST(ExplainQueryOffline, EveryFixtureInBothFormatsGivesAValidResult) {
  for (const auto& entry : std::filesystem::directory_iterator(std::string(DBOPT_FIXTURES_DIR) + "/plans")) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".json" && entry.path().extension() != ".txt") continue;
    const ToolResult result = call({{"plan", read_plan_fixture(name)}});
    // registry().call checks the structured result against the output schema.
    ASSERT_FALSE(result.is_error) << name << ": " << result.markdown;
    EXPECT_EQ(result.structured["mode"], "pasted_plan") << name;
    EXPECT_FALSE(result.structured["plan_summary"]["top_nodes"].empty()) << name;
    EXPECT_THAT(result.markdown, HasSubstr("## explain_query: pasted plan (offline)")) << name;
  }
}

TEST(ExplainQueryOffline, InfiniteMisestimateSurvivesAsAFact) {
  // Planned 3,000 rows, got none: the factor is infinite, which JSON cannot hold.
  const ToolResult result = call(
      {{"plan",
        "Hash Join  (cost=100.00..5000.00 rows=50000 width=8) (actual time=10.000..50.000 rows=0 loops=1)\n"
        "  Hash Cond: (a.id = b.a_id)\n"
        "  ->  Seq Scan on a  (cost=0.00..3000.00 rows=100000 width=4) (actual time=0.010..20.000 rows=100000 "
        "loops=1)\n"
        "  ->  Hash  (cost=50.00..50.00 rows=3000 width=4) (actual time=5.000..5.000 rows=0 loops=1)\n"
        "        ->  Seq Scan on b  (cost=0.00..50.00 rows=3000 width=4) (actual time=0.010..4.000 rows=0 loops=1)\n"
        "              Filter: (kind = 'x'::text)\n"
        "              Rows Removed by Filter: 20000\n"
        "Planning Time: 0.100 ms\n"
        "Execution Time: 50.100 ms\n"}});
  ASSERT_FALSE(result.is_error) << result.markdown;
  const Json* misestimate = finding(result, "PLAN_ROW_MISESTIMATE");
  ASSERT_NE(misestimate, nullptr) << result.markdown;
  EXPECT_EQ((*misestimate)["facts"]["factor"], "infinite");
  EXPECT_FALSE((*misestimate)["numbers"].contains("factor"));
  EXPECT_EQ(Json::parse(result.structured.dump()), result.structured) << "no value is lost in transit";
}

TEST(ExplainQueryOffline, SqlAlongsideThePlanAddsTextFindingsMarkedInferred) {
  const ToolResult result = call({{"plan", read_plan_fixture("seq_scan_filter.json")},
                                  {"sql", "SELECT * FROM orders WHERE amount > 990 AND note IS NOT NULL"}});
  ASSERT_FALSE(result.is_error) << result.markdown;
  const Json* star = finding(result, "QUERY_SELECT_STAR");
  ASSERT_NE(star, nullptr) << result.markdown;
  EXPECT_EQ((*star)["evidence"], "inferred");
  EXPECT_EQ((*finding(result, "PLAN_SEQ_SCAN_LARGE_FILTER"))["evidence"], "measured");
  EXPECT_EQ(result.structured["query"]["tables"], Json::array({"orders"}));
  EXPECT_EQ(result.structured["query"]["fingerprint"].get<std::string>().size(), 16u);
}

// ---- offline: SQL text only ----

TEST(ExplainQueryTextOnly, WithoutADatabaseTheTextIsAnalysedAndItSaysSo) {
  Call c;
  const ToolResult result = c(
      {{"sql", "SELECT * FROM customers WHERE email LIKE '%@example.com' ORDER BY id OFFSET 50000"}, {"params", {1}}});
  ASSERT_FALSE(result.is_error) << result.markdown;
  const Json& out = result.structured;
  EXPECT_EQ(out["mode"], "text_only");
  EXPECT_EQ(out["evidence"], "inferred");
  EXPECT_FALSE(out.contains("plan_summary"));
  EXPECT_THAT(rule_ids(result), Contains("QUERY_LEADING_WILDCARD_LIKE"));
  EXPECT_THAT(rule_ids(result), Contains("QUERY_DEEP_OFFSET"));
  for (const auto& f : out["findings"]) EXPECT_EQ(f["evidence"], "inferred") << f.dump();
  EXPECT_THAT(result.markdown, HasSubstr("No database is configured"));
  EXPECT_THAT(result.markdown, HasSubstr("gin_trgm_ops"));
  EXPECT_THAT(out["notes"].dump(), HasSubstr("`params` were not used"));
  EXPECT_EQ(c.stages.front(), "parse");
  EXPECT_THAT(c.stages, Contains("analyse"));
}

TEST(ExplainQueryTextOnly, SchemaListsTheIndexesOfTheQueryTables) {
  const ToolResult result =
      call({{"sql", "SELECT o.id FROM orders o JOIN shipments s ON s.order_id = o.id WHERE o.status = 'paid'"},
            {"schema",
             "CREATE TABLE orders (id bigint PRIMARY KEY, status text);\n"
             "CREATE INDEX orders_status_idx ON orders (status);\n"
             "CREATE TABLE customers (id bigint PRIMARY KEY, email text);\n"
             "CREATE INDEX customers_email_idx ON customers (lower(email));"}});
  ASSERT_FALSE(result.is_error) << result.markdown;
  const Json& schema = result.structured["schema"];
  EXPECT_EQ(schema["statements"], 4);
  EXPECT_EQ(schema["indexes_on_query_tables"], Json::array({"CREATE INDEX orders_status_idx ON orders (status)"}));
  EXPECT_EQ(schema["query_tables_not_defined"], Json::array({"shipments"}));
  EXPECT_THAT(result.markdown, HasSubstr("`CREATE INDEX orders_status_idx ON orders (status)`"));
}

TEST(ExplainQueryOffline, AnIndexTheSchemaAlreadyHasIsNotProposedAsNew) {
  const std::string sql = "SELECT * FROM orders WHERE amount > 990 AND note IS NOT NULL";
  const ToolResult without = call({{"plan", read_plan_fixture("seq_scan_filter.json")}, {"sql", sql}});
  const Json* plain = finding(without, "PLAN_SEQ_SCAN_LARGE_FILTER");
  ASSERT_NE(plain, nullptr) << without.markdown;
  EXPECT_FALSE((*plain)["facts"].contains("existing_index"));

  const ToolResult with = call({{"plan", read_plan_fixture("seq_scan_filter.json")},
                                {"sql", sql},
                                {"schema",
                                 "CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric, note text);\n"
                                 "CREATE INDEX orders_amount_idx ON orders (amount);"}});
  const Json* scan = finding(with, "PLAN_SEQ_SCAN_LARGE_FILTER");
  ASSERT_NE(scan, nullptr) << with.markdown;
  EXPECT_EQ((*scan)["facts"]["existing_index"], "CREATE INDEX orders_amount_idx ON orders (amount)");
  EXPECT_THAT((*scan)["summary"].get<std::string>(), HasSubstr("already has orders_amount_idx"));
  EXPECT_THAT((*scan)["summary"].get<std::string>(), HasSubstr("ANALYZE orders"));

  // A partial index, or one led by another column, is not the same index.
  const ToolResult other = call({{"plan", read_plan_fixture("seq_scan_filter.json")},
                                 {"sql", sql},
                                 {"schema",
                                  "CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric, note text);\n"
                                  "CREATE INDEX orders_note_amount_idx ON orders (note, amount);\n"
                                  "CREATE INDEX orders_big_idx ON orders (amount) WHERE amount > 10000;"}});
  EXPECT_FALSE((*finding(other, "PLAN_SEQ_SCAN_LARGE_FILTER"))["facts"].contains("existing_index"));
}

// ---- bad input ----

TEST(ExplainQueryBadInput, NeitherSqlNorPlanNamesBoth) {
  const ToolResult result = call(Json::object());
  ASSERT_TRUE(result.is_error);
  EXPECT_EQ(result.error_code, ErrorCode::invalid_argument);
  EXPECT_THAT(result.markdown, HasSubstr("`sql`"));
  EXPECT_THAT(result.markdown, HasSubstr("`plan`"));
}

TEST(ExplainQueryBadInput, GarbagePlanIsAnErrorAboutThePlanField) {
  for (const char* garbage : {"hello world", "[{\"Plan\": {\"Node Type\": \"Seq Scan\"", "{}"}) {
    const ToolResult result = call({{"plan", garbage}});
    ASSERT_TRUE(result.is_error) << garbage;
    EXPECT_EQ(result.error_code, ErrorCode::invalid_argument) << garbage;
    EXPECT_THAT(result.markdown, HasSubstr("`plan`")) << garbage;
    EXPECT_THAT(result.markdown, HasSubstr("Fix: Paste the whole output of EXPLAIN")) << garbage;
  }
}

TEST(ExplainQueryBadInput, MalformedSqlNamesTheFieldAndThePosition) {
  const ToolResult result = call({{"sql", "SELECT id FROM orders WHERE"}});
  ASSERT_TRUE(result.is_error);
  EXPECT_EQ(result.error_code, ErrorCode::invalid_argument);
  EXPECT_THAT(result.markdown, HasSubstr("`sql`"));
  EXPECT_THAT(result.markdown, HasSubstr("at position 28"));

  const ToolResult two = call({{"sql", "SELECT 1; SELECT 2"}});
  ASSERT_TRUE(two.is_error);
  EXPECT_THAT(two.markdown, HasSubstr("found 2"));
}

TEST(ExplainQueryBadInput, CombinationsThatCannotWorkAreRefusedUpFront) {
  const std::string plan = read_plan_fixture("seq_scan_filter.txt");
  const ToolResult analyze = call({{"plan", plan}, {"analyze", true}});
  ASSERT_TRUE(analyze.is_error);
  EXPECT_THAT(analyze.markdown, HasSubstr("`analyze` needs dbopt to run the query"));

  const ToolResult both =
      call({{"sql", "SELECT 1"}, {"analyze", true}, {"hypothetical_indexes", {"CREATE INDEX ON t (a)"}}});
  ASSERT_TRUE(both.is_error);
  EXPECT_THAT(both.markdown, HasSubstr("HypoPG"));

  const ToolResult explain = call({{"sql", "EXPLAIN ANALYZE SELECT 1"}});
  ASSERT_TRUE(explain.is_error);
  EXPECT_THAT(explain.markdown, HasSubstr("`analyze: true`"));

  const ToolResult bad_index = call({{"sql", "SELECT 1"}, {"hypothetical_indexes", {"DROP TABLE orders"}}});
  ASSERT_TRUE(bad_index.is_error);
  EXPECT_THAT(bad_index.markdown, HasSubstr("`hypothetical_indexes[0]`"));

  const ToolResult bad_schema = call({{"sql", "SELECT 1"}, {"schema", "CREATE TABLE ("}});
  ASSERT_TRUE(bad_schema.is_error);
  EXPECT_THAT(bad_schema.markdown, HasSubstr("`schema`"));

  const ToolResult no_database = call({{"sql", "SELECT 1"}, {"analyze", true}});
  ASSERT_TRUE(no_database.is_error);
  EXPECT_THAT(no_database.markdown, HasSubstr("none is configured"));
  EXPECT_THAT(no_database.markdown, HasSubstr("DATABASE_URL"));
}

TEST(ExplainQueryBadInput, CancelledCallsGetNoAnswer) {
  Call c;
  c.cancel.cancel();
  try {
    c({{"plan", read_plan_fixture("seq_scan_filter.json")}});
    ADD_FAILURE() << "a cancelled call answered";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::cancelled);
  }
}

// ---- live, against the test PostgreSQL ----

class ExplainQueryLive : public ::testing::Test {
 protected:
  void SetUp() override {
    DBOPT_REQUIRE_TEST_DATABASE();
    settings_ = pg::testing::test_settings();
    pool_ = std::make_unique<pg::DatabasePool>(settings_);
  }

  ToolResult live(Json args) {
    Call c;
    c.settings = settings_;
    return c(args, pool_.get());
  }

  Settings settings_;
  std::unique_ptr<pg::DatabasePool> pool_;
};

TEST_F(ExplainQueryLive, ExplainShowsThePlannersEstimates) {
  const ToolResult result = live({{"sql", "SELECT id, total_cents FROM orders WHERE status = 'refunded'"}});
  ASSERT_FALSE(result.is_error) << result.markdown;
  const Json& out = result.structured;
  EXPECT_EQ(out["mode"], "explain");
  EXPECT_EQ(out["database"], "default");
  EXPECT_EQ(out["evidence"], "estimated");
  EXPECT_EQ(out["plan_summary"]["analyzed"], false);
  EXPECT_GT(out["plan_summary"]["total_cost"].get<double>(), 1000);
  EXPECT_THAT(out["plan_summary"]["top_nodes"].dump(), HasSubstr("on orders"));
  EXPECT_THAT(result.markdown, HasSubstr("## explain_query: EXPLAIN on `default`"));
}

TEST_F(ExplainQueryLive, ExplainAnalyzeMeasuresTheSeqScanAndSuggestsTheIndex) {
  const ToolResult result =
      live({{"sql", "SELECT id, total_cents FROM orders WHERE status = 'refunded'"}, {"analyze", true}});
  ASSERT_FALSE(result.is_error) << result.markdown;
  const Json& out = result.structured;
  EXPECT_EQ(out["mode"], "explain_analyze");
  EXPECT_EQ(out["evidence"], "measured");
  EXPECT_GT(out["plan_summary"]["execution_time_ms"].get<double>(), 0);
  EXPECT_EQ(out["plan_summary"]["ranked_by"], "exclusive_time");
  const Json* scan = finding(result, "PLAN_SEQ_SCAN_LARGE_FILTER");
  ASSERT_NE(scan, nullptr) << result.markdown;
  EXPECT_EQ((*scan)["evidence"], "measured");
  EXPECT_EQ((*scan)["numbers"]["rows_scanned"], 200000);
  EXPECT_THAT((*scan)["fix"].get<std::string>(), HasSubstr("ON orders (status)"));
  EXPECT_THAT(result.markdown, HasSubstr("**Slowest part:**"));
}

TEST_F(ExplainQueryLive, EstimatedPlanOfASelectiveScanIsReportedAsEstimated) {
  // No index on total_cents: the planner scans all 200,000 orders for a few rows.
  const ToolResult result = live({{"sql", "SELECT id, status FROM orders WHERE total_cents = 12345"}});
  ASSERT_FALSE(result.is_error) << result.markdown;
  const Json* scan = finding(result, "PLAN_SELECTIVE_SCAN_ESTIMATED");
  ASSERT_NE(scan, nullptr) << result.markdown;
  EXPECT_EQ((*scan)["evidence"], "estimated");
  EXPECT_NEAR((*scan)["numbers"]["table_rows"].get<double>(), 200000, 2000) << "pg_class.reltuples";
  EXPECT_GT((*scan)["numbers"]["table_pages"].get<double>(), 1000);
  EXPECT_LT((*scan)["numbers"]["rows_returned"].get<double>(), 2000);
  EXPECT_THAT((*scan)["fix"].get<std::string>(), HasSubstr("ON orders (total_cents)"));
  EXPECT_THAT(result.markdown, Not(HasSubstr("No rule fired")));

  // An indexed lookup is not a selective scan.
  const ToolResult indexed = live({{"sql", "SELECT id FROM orders WHERE customer_id = 42"}});
  ASSERT_FALSE(indexed.is_error) << indexed.markdown;
  EXPECT_EQ(finding(indexed, "PLAN_SELECTIVE_SCAN_ESTIMATED"), nullptr) << indexed.markdown;
}

TEST_F(ExplainQueryLive, ExplainAnalyzeKnowsTrackIoTimingFromTheServer) {
  // scripts/test-services turns track_io_timing on; EXPLAIN's Settings do not list it.
  const ToolResult result = live({{"sql", "SELECT count(*) FROM order_items"}, {"analyze", true}});
  ASSERT_FALSE(result.is_error) << result.markdown;
  EXPECT_EQ(result.structured["plan_summary"]["settings"]["track_io_timing"], "on");
  EXPECT_THAT(result.markdown, Not(HasSubstr("SET track_io_timing = on")));
}

TEST_F(ExplainQueryLive, PlaceholdersWithoutValuesGetAGenericPlan) {
  const ToolResult result = live({{"sql", "SELECT id FROM orders WHERE customer_id = $1 AND status = $2"}});
  ASSERT_FALSE(result.is_error) << result.markdown;
  EXPECT_EQ(result.structured["mode"], "explain");
  EXPECT_EQ(result.structured["plan_summary"]["generic_plan"], true);
  EXPECT_THAT(result.structured["plan_summary"]["top_nodes"].dump(), HasSubstr("orders_customer_id_idx"));
  EXPECT_THAT(result.markdown, HasSubstr("Generic plan"));

  const ToolResult refused = live({{"sql", "SELECT id FROM orders WHERE customer_id = $1"}, {"analyze", true}});
  ASSERT_TRUE(refused.is_error);
  EXPECT_THAT(refused.markdown, HasSubstr("`params`"));
}

TEST_F(ExplainQueryLive, ParamsRunTheQueryWithThoseValues) {
  const ToolResult result = live({{"sql", "SELECT id FROM orders WHERE customer_id = $1 AND status <> $2"},
                                  {"params", {1234, "cancelled"}},
                                  {"analyze", true}});
  ASSERT_FALSE(result.is_error) << result.markdown;
  const Json& summary = result.structured["plan_summary"];
  EXPECT_EQ(summary["generic_plan"], false);
  EXPECT_EQ(summary["analyzed"], true);
  EXPECT_THAT(summary["top_nodes"].dump(), HasSubstr("(customer_id = '1234'::bigint)"));
  const std::string expected_rows = pg::testing::superuser_scalar(
      pg::testing::database_url(), "SELECT count(*) FROM orders WHERE customer_id = 1234 AND status <> 'cancelled'");
  const auto root = std::find_if(summary["top_nodes"].begin(), summary["top_nodes"].end(),
                                 [](const Json& n) { return n["id"] == 0; });
  ASSERT_NE(root, summary["top_nodes"].end()) << summary.dump();
  EXPECT_EQ((*root)["actual_rows"].get<double>(), std::stod(expected_rows));
  EXPECT_THAT(result.markdown, HasSubstr("sent as bound parameters"));
}

TEST_F(ExplainQueryLive, HypotheticalIndexLowersTheCostBeforeAndAfter) {
  const std::string indexes_before = pg::testing::superuser_scalar(
      pg::testing::database_url(), "SELECT count(*) FROM pg_indexes WHERE tablename = 'order_items'");
  const ToolResult result = live({{"sql", "SELECT * FROM order_items WHERE product_id = 2500"},
                                  {"hypothetical_indexes", {"CREATE INDEX ON order_items (product_id)"}}});
  ASSERT_FALSE(result.is_error) << result.markdown;
  const Json& h = result.structured["hypothetical"];
  EXPECT_EQ(result.structured["mode"], "hypothetical_indexes");
  EXPECT_EQ(result.structured["evidence"], "estimated");
  const double before = h["before"]["total_cost"];
  const double after = h["after"]["total_cost"];
  EXPECT_LT(after, before / 5) << h.dump();
  EXPECT_LT(h["cost_change_share"].get<double>(), -0.8);
  ASSERT_EQ(h["indexes"].size(), 1u);
  EXPECT_EQ(h["indexes"][0]["used"], true);
  EXPECT_EQ(h["indexes"][0]["table"], "public.order_items");
  EXPECT_THAT(h["before"]["outline"].dump(), HasSubstr("Seq Scan on order_items"));
  EXPECT_THAT(h["after"]["outline"].dump(), HasSubstr("order_items_product_id"));
  EXPECT_THAT(result.markdown, HasSubstr("| | before | after |"));
  EXPECT_THAT(result.markdown, HasSubstr("**With the hypothetical indexes:** total cost"));
  EXPECT_EQ(pg::testing::superuser_scalar(pg::testing::database_url(),
                                          "SELECT count(*) FROM pg_indexes WHERE tablename = 'order_items'"),
            indexes_before)
      << "nothing was built";

  const ToolResult unknown = live({{"sql", "SELECT 1"}, {"hypothetical_indexes", {"CREATE INDEX ON nowhere (x)"}}});
  ASSERT_TRUE(unknown.is_error);
  EXPECT_THAT(unknown.markdown, HasSubstr("`hypothetical_indexes[0]`"));
}

TEST_F(ExplainQueryLive, RefusedStatementsLeaveTheTableAsItWas) {
  const std::string url = pg::testing::database_url();
  const std::string events_before = pg::testing::table_fingerprint(url, "events");

  const ToolResult delete_without_flag = live({{"sql", "DELETE FROM events WHERE id < 1000"}, {"analyze", true}});
  ASSERT_TRUE(delete_without_flag.is_error);
  EXPECT_EQ(delete_without_flag.error_code, ErrorCode::permission_denied);
  EXPECT_THAT(delete_without_flag.markdown, HasSubstr("analyze_writes"));

  // The flag alone is not enough: the config of "default" does not allow it.
  const ToolResult not_allowed =
      live({{"sql", "DELETE FROM events WHERE id < 1000"}, {"analyze", true}, {"analyze_writes", true}});
  ASSERT_TRUE(not_allowed.is_error);
  EXPECT_THAT(not_allowed.markdown, HasSubstr("allow_analyze_writes"));

  for (const char* sql : {"SELECT pg_read_file('/etc/hostname')", "SELECT * FROM pg_read_file('/etc/hostname') f",
                          "WITH gone AS (DELETE FROM events WHERE id < 1000 RETURNING id) SELECT count(*) FROM gone"}) {
    const ToolResult refused = live({{"sql", sql}, {"analyze", true}});
    ASSERT_TRUE(refused.is_error) << sql;
    EXPECT_EQ(refused.error_code, ErrorCode::permission_denied) << sql << ": " << refused.markdown;
    EXPECT_THAT(refused.markdown, HasSubstr("`sql`")) << sql;
  }
  EXPECT_THAT(live({{"sql", "SELECT pg_read_file('/etc/hostname')"}}).markdown, HasSubstr("pg_read_file"));

  // Plain EXPLAIN of a write only plans it.
  const ToolResult planned = live({{"sql", "DELETE FROM events WHERE id < 1000"}});
  ASSERT_FALSE(planned.is_error) << planned.markdown;
  EXPECT_THAT(planned.structured["plan_summary"]["top_nodes"].dump(), HasSubstr("events"));

  EXPECT_EQ(pg::testing::table_fingerprint(url, "events"), events_before);
}

TEST_F(ExplainQueryLive, AnalyzedWriteWhereTheConfigAllowsItIsRolledBack) {
  const std::string url = pg::testing::scratch_url();
  const std::string before = pg::testing::table_fingerprint(url, "events");
  const ToolResult result = live({{"sql", "DELETE FROM events WHERE id <= 500"},
                                  {"database", "scratch"},
                                  {"analyze", true},
                                  {"analyze_writes", true}});
  ASSERT_FALSE(result.is_error) << result.markdown;
  EXPECT_EQ(result.structured["mode"], "explain_analyze");
  EXPECT_EQ(result.structured["database"], "scratch");
  EXPECT_THAT(result.structured["plan_summary"]["top_nodes"].dump(), HasSubstr("\"actual_rows\":500.0"));
  EXPECT_EQ(pg::testing::table_fingerprint(url, "events"), before);
}

TEST_F(ExplainQueryLive, UnknownDatabaseNamesTheFieldAndTheChoices) {
  const ToolResult result = live({{"sql", "SELECT 1"}, {"database", "nope"}});
  ASSERT_TRUE(result.is_error);
  EXPECT_EQ(result.error_code, ErrorCode::not_found);
  EXPECT_THAT(result.markdown, HasSubstr("`database`"));
  EXPECT_THAT(result.markdown, HasSubstr("scratch"));
}

TEST_F(ExplainQueryLive, SqlThePostgresServerRejectsNamesTheSqlField) {
  const ToolResult result = live({{"sql", "SELECT no_such_column FROM orders"}});
  ASSERT_TRUE(result.is_error);
  EXPECT_EQ(result.error_code, ErrorCode::invalid_argument);
  EXPECT_THAT(result.markdown, HasSubstr("`sql`"));
  EXPECT_THAT(result.markdown, HasSubstr("no_such_column"));
}

}  // namespace
}  // namespace dbopt::tools
