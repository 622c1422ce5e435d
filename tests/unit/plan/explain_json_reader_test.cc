// The JSON reader: the shapes EXPLAIN (FORMAT JSON) takes in PostgreSQL 13-17
// and in the tools that pass it on, and JSON that is not a plan.
#include <gtest/gtest.h>

#include <string>

#include "core/common/error.h"
#include "core/plan/explain_reader.h"
#include "plan_fixtures.h"

namespace dbopt::plan {
namespace {

std::string error_of(const std::string& json) {
  try {
    parse_explain_json(json);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    return e.what();
  }
  return "";
}

constexpr const char* kSmallPlan = R"json({
  "Plan": {
    "Node Type": "Hash Join", "Join Type": "Left", "Parallel Aware": false, "Async Capable": false,
    "Startup Cost": 1.5, "Total Cost": 20.25, "Plan Rows": 10, "Plan Width": 8,
    "Actual Startup Time": 0.5, "Actual Total Time": 2.5, "Actual Rows": 0, "Actual Loops": 1,
    "Inner Unique": false, "Hash Cond": "(a.id = b.id)",
    "Plans": [
      {"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Relation Name": "a", "Alias": "a",
       "Startup Cost": 0, "Total Cost": 1, "Plan Rows": 1, "Plan Width": 4,
       "Actual Startup Time": 0, "Actual Total Time": 0, "Actual Rows": 0, "Actual Loops": 0,
       "Filter": "(x = 1)", "Rows Removed by Filter": 0},
      {"Node Type": "Hash", "Parent Relationship": "Inner",
       "Startup Cost": 0, "Total Cost": 1, "Plan Rows": 1, "Plan Width": 4,
       "Actual Startup Time": 0.1, "Actual Total Time": 0.1, "Actual Rows": 3, "Actual Loops": 1,
       "Peak Memory Usage": 9, "Hash Buckets": 1024, "Original Hash Buckets": 1024,
       "Hash Batches": 4, "Original Hash Batches": 1,
       "Workers": [{"Worker Number": 0, "Actual Rows": 99, "Plans": [{"Node Type": "Bogus"}]}],
       "Plans": [
         {"Node Type": "Index Scan", "Parent Relationship": "Outer", "Scan Direction": "Backward",
          "Index Name": "b_pkey", "Relation Name": "b", "Schema": "public", "Alias": "bb",
          "Sort Key": ["x", "y DESC"], "Output": ["bb.id"]}
       ]}
    ]
  },
  "Planning Time": 0.25,
  "Triggers": [],
  "Settings": {"work_mem": "64kB", "random_page_cost": "1.1"},
  "Execution Time": 3.5
})json";

TEST(JsonReader, ReadsABareObject) {
  const Plan plan = parse_explain_json(kSmallPlan);
  EXPECT_EQ(plan.root.node_type, "Hash Join");
  EXPECT_EQ(plan.root.join_type, "Left");
  EXPECT_EQ(plan.root.hash_cond, "(a.id = b.id)");
  EXPECT_EQ(*plan.root.estimates, (Estimates{1.5, 20.25, 10, 8}));
  EXPECT_DOUBLE_EQ(*plan.root.actuals->total_time_ms, 2.5);
  EXPECT_DOUBLE_EQ(*plan.planning_time_ms, 0.25);
  EXPECT_DOUBLE_EQ(*plan.execution_time_ms, 3.5);
  EXPECT_EQ(plan.settings.at("random_page_cost"), "1.1");
  EXPECT_TRUE(plan.analyzed);
  EXPECT_FALSE(plan.has_buffers);

  const PlanNode& never = plan.root.children.at(0);
  EXPECT_TRUE(never.never_executed);
  EXPECT_FALSE(never.actuals);
  EXPECT_EQ(never.parent_relationship, "Outer");

  const PlanNode& hash = plan.root.children.at(1);
  ASSERT_TRUE(hash.hash_table);
  EXPECT_EQ(*hash.hash_table, (HashTable{1024, 1024, 4, 1, 9}));
  // The per-worker "Plans" inside "Workers" are skipped, not read as children.
  ASSERT_EQ(hash.children.size(), 1u);
  const PlanNode& index = hash.children[0];
  EXPECT_TRUE(index.backward_scan);
  EXPECT_EQ(index.schema, "public");
  EXPECT_EQ(index.alias, "bb");
  EXPECT_EQ(index.sort_key, (std::vector<std::string>{"x", "y DESC"}));
  EXPECT_EQ(index.output, std::vector<std::string>{"bb.id"});
  EXPECT_EQ(describe(index), "Index Scan Backward using b_pkey on public.b bb");
}

TEST(JsonReader, OuterArrayAndWrappersReadTheSame) {
  const Plan bare = parse_explain_json(kSmallPlan);
  EXPECT_TRUE(parse_explain_json(std::string("[") + kSmallPlan + "]") == bare);
  EXPECT_TRUE(parse_explain_json(std::string("[{\"QUERY PLAN\": [") + kSmallPlan + "]}]") == bare);
  EXPECT_TRUE(parse_explain(std::string("  \n[") + kSmallPlan + "]\n") == bare);
  // Whatever follows the plan (psql's "Time: 1 ms") is not read.
  EXPECT_TRUE(parse_explain_json(std::string("[") + kSmallPlan + "]\nTime: 4.2 ms\n") == bare);
}

TEST(JsonReader, ReadsBuffersIoTimesAndTheirVersionSpelling) {
  const Plan pg15 = parse_explain_json(R"json([{"Plan": {"Node Type": "Result",
      "Shared Hit Blocks": 1, "Shared Read Blocks": 2, "Shared Dirtied Blocks": 3, "Shared Written Blocks": 4,
      "Local Hit Blocks": 5, "Local Read Blocks": 6, "Local Dirtied Blocks": 7, "Local Written Blocks": 8,
      "Temp Read Blocks": 9, "Temp Written Blocks": 10, "I/O Read Time": 1.5, "I/O Write Time": 0.5,
      "Temp I/O Read Time": 0.25, "Temp I/O Write Time": 0.125,
      "WAL Records": 3, "WAL FPI": 1, "WAL Bytes": 999},
      "Planning": {"Shared Hit Blocks": 12, "Shared Read Blocks": 0}}])json");
  EXPECT_EQ(pg15.root.buffers, (Buffers{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1.5, 0.5, 0.25, 0.125}));
  EXPECT_EQ(pg15.root.wal, (WalUsage{3, 1, 999}));
  EXPECT_EQ(pg15.planning_buffers.shared_hit, 12);
  EXPECT_TRUE(pg15.has_buffers);
  ASSERT_TRUE(pg15.server_version);
  EXPECT_EQ(pg15.server_version->at_least_major, 15);

  const Plan pg17 = parse_explain_json(R"json([{"Plan": {"Node Type": "Result",
      "Shared I/O Read Time": 1.0, "Local I/O Read Time": 0.5, "Shared I/O Write Time": 2.0}}])json");
  EXPECT_DOUBLE_EQ(pg17.root.buffers.io_read_time_ms, 1.5);
  EXPECT_DOUBLE_EQ(pg17.root.buffers.io_write_time_ms, 2.0);
}

TEST(JsonReader, JitTriggersAndPostgres17Generation) {
  const Plan plan = parse_explain_json(R"json([{"Plan": {"Node Type": "Result"},
      "Triggers": [{"Trigger Name": "RI_ConstraintTrigger_c_1", "Constraint Name": "fk", "Relation": "orders",
                    "Time": 2.5, "Calls": 500}],
      "JIT": {"Functions": 4, "Options": {"Inlining": false, "Optimization": true, "Expressions": true,
                                          "Deforming": false},
              "Timing": {"Generation": {"Deform": 0.25, "Total": 1.0}, "Inlining": 0.0, "Optimization": 2.0,
                         "Emission": 3.0, "Total": 6.0}}}])json");
  ASSERT_EQ(plan.triggers.size(), 1u);
  EXPECT_EQ(plan.triggers[0], (TriggerTime{"RI_ConstraintTrigger_c_1", "fk", "orders", 2.5, 500}));
  ASSERT_TRUE(plan.jit);
  EXPECT_EQ(*plan.jit, (JitSummary{4, false, true, true, false, 1.0, 0.25, 0.0, 2.0, 3.0, 6.0}));
  EXPECT_EQ(plan.server_version->at_least_major, 17);
}

TEST(JsonReader, AggregatesAndMemoizeKeepTheirOwnFigures) {
  const Plan plan = parse_explain_json(R"json([{"Plan": {
      "Node Type": "Aggregate", "Strategy": "Hashed", "Partial Mode": "Simple",
      "Group Key": ["a"], "Planned Partitions": 4, "HashAgg Batches": 5, "Peak Memory Usage": 145,
      "Disk Usage": 7416, "Actual Rows": 1, "Actual Loops": 1,
      "Plans": [{"Node Type": "Memoize", "Parent Relationship": "Outer", "Cache Key": "c.x", "Cache Mode": "binary",
                 "Cache Hits": 90, "Cache Misses": 10, "Cache Evictions": 1, "Cache Overflows": 0,
                 "Peak Memory Usage": 7}]}}])json");
  EXPECT_EQ(*plan.root.hash_aggregation, (HashAggregation{5, 145, 7416}));
  EXPECT_FALSE(plan.root.hash_table);
  EXPECT_EQ(describe(plan.root), "HashAggregate");
  const PlanNode& memoize = plan.root.children.at(0);
  EXPECT_EQ(*memoize.memoize_cache, (MemoizeCache{90, 10, 1, 0, 7}));
  EXPECT_EQ(memoize.cache_mode, "binary");
}

TEST(JsonReader, StripsPsqlDecorations) {
  const std::string pasted = testing::read_fixture("psql_aligned.json");
  const Plan plan = parse_explain_json(pasted);
  EXPECT_EQ(plan.root.node_type, "Limit");
  // The same text without psql's frame reads the same.
  std::string raw;
  std::size_t start = 0;
  while (start < pasted.size()) {
    std::size_t end = pasted.find('\n', start);
    if (end == std::string::npos) end = pasted.size();
    std::string line = pasted.substr(start, end - start);
    start = end + 1;
    if (line.find("QUERY PLAN") != std::string::npos || line.starts_with("---") || line.starts_with("(")) continue;
    while (!line.empty() && (line.back() == '+' || line.back() == ' ')) line.pop_back();
    raw += line + "\n";
  }
  EXPECT_TRUE(parse_explain_json(raw) == plan);
}

TEST(JsonReader, RejectsWhatIsNotAPlan) {
  EXPECT_NE(error_of("").find("empty"), std::string::npos);
  EXPECT_NE(error_of("   \n").find("empty"), std::string::npos);
  EXPECT_NE(error_of("[]").find("no \"Plan\""), std::string::npos);
  EXPECT_NE(error_of("{\"Planx\": {}}").find("no \"Plan\""), std::string::npos);
  EXPECT_NE(error_of("42").find("expected an array or an object"), std::string::npos);
  EXPECT_NE(error_of("[{\"Plan\": {\"Total Cost\": 1}}]").find("no \"Node Type\""), std::string::npos);

  const std::string wrong_type = error_of("[{\"Plan\": {\"Node Type\": \"Result\", \"Plan Rows\": \"many\"}}]");
  EXPECT_NE(wrong_type.find("\"Plan Rows\""), std::string::npos) << wrong_type;
  EXPECT_NE(wrong_type.find("number"), std::string::npos) << wrong_type;

  // Cut in the middle: the error names the line where the text stops.
  const std::string full = testing::read_fixture("nested_loop.json");
  const std::string cut = full.substr(0, full.size() / 2);
  const int lines = 1 + static_cast<int>(std::count(cut.begin(), cut.end(), '\n'));
  const std::string truncated = error_of(cut);
  EXPECT_NE(truncated.find("line " + std::to_string(lines)), std::string::npos) << truncated;
  EXPECT_NE(truncated.find("cut short"), std::string::npos) << truncated;

  const std::string garbage = error_of("[{\"Plan\": {\"Node Type\": \"Result\",\n  oops}}]");
  EXPECT_NE(garbage.find("line 2"), std::string::npos) << garbage;
}

TEST(JsonReader, RejectsPlansDeeperThanTheLimit) {
  std::string json;
  for (int depth = 0; depth <= kMaxPlanDepth; ++depth) json += R"json({"Node Type": "Limit", "Plans": [)json";
  json += R"json({"Node Type": "Result"})json";
  for (int depth = 0; depth <= kMaxPlanDepth; ++depth) json += "]}";
  EXPECT_NE(error_of("[{\"Plan\": " + json + "}]").find("deeper than"), std::string::npos);
}

TEST(JsonReader, ReadsALargePlanInOnePiece) {
  // A wide plan of ~1 MB: every node must come through, in order.
  std::string json = R"json([{"Plan": {"Node Type": "Append", "Plans": [)json";
  constexpr int kChildren = 4000;
  for (int i = 0; i < kChildren; ++i) {
    if (i) json += ",";
    json += R"json({"Node Type": "Seq Scan", "Parent Relationship": "Member", "Relation Name": "part_)json" +
            std::to_string(i) +
            R"json(", "Alias": "p", "Startup Cost": 0.0, "Total Cost": 35.5, "Plan Rows": 2550, "Plan Width": 4,
              "Actual Startup Time": 0.01, "Actual Total Time": 0.5, "Actual Rows": 10, "Actual Loops": 1,
              "Filter": "(status = 'pending'::text)", "Rows Removed by Filter": 90,
              "Shared Hit Blocks": 12, "Shared Read Blocks": 0, "Shared Dirtied Blocks": 0,
              "Shared Written Blocks": 0, "Local Hit Blocks": 0, "Local Read Blocks": 0,
              "Local Dirtied Blocks": 0, "Local Written Blocks": 0, "Temp Read Blocks": 0,
              "Temp Written Blocks": 0})json";
  }
  json += "]}, \"Execution Time\": 2000.0}]";
  ASSERT_GT(json.size(), 1'000'000u);
  const Plan plan = parse_explain_json(json);
  ASSERT_EQ(plan.root.children.size(), static_cast<std::size_t>(kChildren));
  EXPECT_EQ(plan.root.children.back().relation_name, "part_" + std::to_string(kChildren - 1));
  EXPECT_EQ(plan.root.children.back().rows_removed_by_filter, 90);
}

}  // namespace
}  // namespace dbopt::plan
