// Real plans from PostgreSQL 15 (tests/fixtures/plans/capture.sh), read in
// both formats: the two readers must agree, and each plan must say what the
// query made PostgreSQL do.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/plan/explain_reader.h"
#include "core/plan/plan.h"
#include "plan_fixtures.h"

namespace dbopt::plan {
namespace {

using testing::read_fixture;
using testing::without_timings;

// Names the first node and field where two plans differ, so a failure says
// where to look instead of "the plans differ".
std::string first_difference(const Plan& a, const Plan& b) {
  const auto left = preorder(a);
  const auto right = preorder(b);
  if (left.size() != right.size()) {
    return "node count " + std::to_string(left.size()) + " vs " + std::to_string(right.size());
  }
  for (std::size_t i = 0; i < left.size(); ++i) {
    const PlanNode& x = *left[i];
    const PlanNode& y = *right[i];
    const std::vector<std::pair<const char*, std::function<bool()>>> fields{
        {"identity",
         [&] {
           return x.node_type == y.node_type && x.relation_name == y.relation_name && x.schema == y.schema &&
                  x.alias == y.alias && x.index_name == y.index_name && x.cte_name == y.cte_name &&
                  x.function_name == y.function_name && x.join_type == y.join_type && x.strategy == y.strategy &&
                  x.partial_mode == y.partial_mode && x.operation == y.operation &&
                  x.parallel_aware == y.parallel_aware && x.async_capable == y.async_capable &&
                  x.backward_scan == y.backward_scan;
         }},
        {"parent relationship", [&] { return x.parent_relationship == y.parent_relationship; }},
        {"subplan name", [&] { return x.subplan_name == y.subplan_name; }},
        {"estimates", [&] { return x.estimates == y.estimates; }},
        {"actuals", [&] { return x.actuals == y.actuals && x.never_executed == y.never_executed; }},
        {"conditions",
         [&] {
           return x.filter == y.filter && x.index_cond == y.index_cond && x.recheck_cond == y.recheck_cond &&
                  x.hash_cond == y.hash_cond && x.merge_cond == y.merge_cond && x.join_filter == y.join_filter &&
                  x.one_time_filter == y.one_time_filter;
         }},
        {"rows removed",
         [&] {
           return x.rows_removed_by_filter == y.rows_removed_by_filter &&
                  x.rows_removed_by_join_filter == y.rows_removed_by_join_filter &&
                  x.rows_removed_by_index_recheck == y.rows_removed_by_index_recheck;
         }},
        {"heap",
         [&] {
           return x.heap_fetches == y.heap_fetches && x.exact_heap_blocks == y.exact_heap_blocks &&
                  x.lossy_heap_blocks == y.lossy_heap_blocks;
         }},
        {"sort",
         [&] {
           return x.sort_key == y.sort_key && x.sort_method == y.sort_method &&
                  x.sort_space_type == y.sort_space_type && x.sort_space_used_kb == y.sort_space_used_kb;
         }},
        {"grouping and hashing",
         [&] {
           return x.group_key == y.group_key && x.hash_table == y.hash_table &&
                  x.hash_aggregation == y.hash_aggregation;
         }},
        {"memoize",
         [&] {
           return x.cache_key == y.cache_key && x.cache_mode == y.cache_mode && x.memoize_cache == y.memoize_cache;
         }},
        {"workers", [&] { return x.workers_planned == y.workers_planned && x.workers_launched == y.workers_launched; }},
        {"buffers", [&] { return x.buffers == y.buffers; }},
        {"wal", [&] { return x.wal == y.wal; }},
        {"output", [&] { return x.output == y.output; }},
    };
    for (const auto& [name, same] : fields) {
      if (!same()) return "node " + std::to_string(i) + " (" + describe(x) + "): " + name;
    }
  }
  if (a.settings != b.settings) return "settings";
  if (a.planning_buffers != b.planning_buffers) return "planning buffers";
  if (a.triggers != b.triggers) return "triggers";
  if (a.jit != b.jit) return "jit";
  if (a.analyzed != b.analyzed || a.has_buffers != b.has_buffers) return "analyzed / has_buffers";
  if (a.server_version != b.server_version) return "server version hint";
  if (a != b) return "some other field";
  return "";
}

class BothFormats : public ::testing::TestWithParam<std::string> {};

TEST_P(BothFormats, JsonAndTextReadersGiveTheSameModel) {
  Plan from_json = parse_explain_json(read_fixture(GetParam() + ".json"));
  Plan from_text = parse_explain_text(read_fixture(GetParam() + ".txt"));
  // TEXT names neither a constraint's trigger nor, with one target table,
  // its relation; everything else must match.
  for (std::size_t i = 0; i < from_json.triggers.size() && i < from_text.triggers.size(); ++i) {
    if (!from_text.triggers[i].name) from_json.triggers[i].name.reset();
    if (!from_text.triggers[i].relation) from_json.triggers[i].relation.reset();
  }
  if (from_json.root.node_type == "ModifyTable") {
    testing::forget_write_effects(from_json.root);
    testing::forget_write_effects(from_text.root);
  }
  const Plan json = without_timings(from_json);
  const Plan text = without_timings(from_text);
  EXPECT_EQ(first_difference(json, text), "");
  EXPECT_TRUE(json == text);
}

TEST_P(BothFormats, DescribeRebuildsTheTextNodeLines) {
  const std::string text = read_fixture(GetParam() + ".txt");
  const Plan plan = parse_explain_text(text);
  for (const PlanNode* node : preorder(plan)) {
    const std::string name = describe(*node);
    EXPECT_NE(text.find(name + "  ("), std::string::npos) << name;
  }
}

TEST_P(BothFormats, ParseExplainDetectsEachFormat) {
  const std::string json = read_fixture(GetParam() + ".json");
  const std::string text = read_fixture(GetParam() + ".txt");
  EXPECT_TRUE(parse_explain(json) == parse_explain_json(json));
  EXPECT_TRUE(parse_explain(text) == parse_explain_text(text));
}

// Any prefix of a real plan, and the plan with its bytes scrambled, either
// reads or fails with dbopt::Error: never a crash, never another exception.
TEST_P(BothFormats, DamagedInputFailsCleanly) {
  for (const std::string extension : {".json", ".txt"}) {
    const std::string full = read_fixture(GetParam() + extension);
    const std::size_t step = std::max<std::size_t>(1, full.size() / 97);
    for (std::size_t cut = 0; cut < full.size(); cut += step) {
      std::string damaged = full.substr(0, cut);
      try {
        parse_explain(damaged);
      } catch (const Error&) {
      }
      damaged = full;
      constexpr std::string_view kNoise = "(){}[]\":,+- \n0x";
      for (std::size_t i = cut % 7; i < damaged.size(); i += 13) damaged[i] = kNoise[(i + cut) % kNoise.size()];
      try {
        parse_explain(damaged);
      } catch (const Error&) {
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(PostgreSql15, BothFormats,
                         ::testing::Values("seq_scan_filter", "nested_loop", "hash_join_batches", "sort_external",
                                           "bitmap_lossy", "index_only_heap_fetches", "parallel_gather",
                                           "initplan_subplan", "cte_scan", "memoize", "hashagg_spill", "jit_aggregate",
                                           "insert_fk_trigger", "estimate_only_join", "estimate_only_verbose",
                                           "psql_aligned"));

// Plain EXPLAIN runs the planner only: both captures are the same plan, so
// every field must agree without forgetting anything.
TEST(BothFormats, EstimateOnlyPlansAgreeInFull) {
  for (const std::string name : {"estimate_only_join", "estimate_only_verbose"}) {
    const Plan json = parse_explain_json(read_fixture(name + ".json"));
    const Plan text = parse_explain_text(read_fixture(name + ".txt"));
    EXPECT_EQ(first_difference(json, text), "") << name;
    EXPECT_FALSE(json.analyzed) << name;
  }
}

class Fixture : public ::testing::Test {
 protected:
  static Plan both(const std::string& name) {
    Plan plan = parse_explain_json(read_fixture(name + ".json"));
    EXPECT_TRUE(without_timings(plan) == without_timings(parse_explain_text(read_fixture(name + ".txt"))));
    return plan;
  }
};

TEST_F(Fixture, SeqScanWithABigFilter) {
  const Plan plan = both("seq_scan_filter");
  const PlanNode& scan = plan.root;
  EXPECT_EQ(scan.node_type, "Seq Scan");
  EXPECT_EQ(scan.relation_name, "orders");
  EXPECT_EQ(scan.alias, "orders");
  EXPECT_EQ(scan.filter, "((note IS NOT NULL) AND (amount > '990'::numeric))");
  EXPECT_EQ(scan.rows_removed_by_filter, 198002);
  ASSERT_TRUE(scan.actuals);
  EXPECT_EQ(scan.actuals->rows, 1998);
  EXPECT_EQ(scan.actuals->loops, 1);
  EXPECT_GT(scan.buffers.shared_hit, 2000);
  EXPECT_TRUE(plan.analyzed);
  EXPECT_TRUE(plan.has_buffers);
  EXPECT_EQ(plan.settings.at("max_parallel_workers_per_gather"), "0");
  EXPECT_TRUE(plan.planning_time_ms && plan.execution_time_ms);
  EXPECT_GT(*plan.execution_time_ms, 0);
}

TEST_F(Fixture, NestedLoopWithManyLoops) {
  const Plan plan = both("nested_loop");
  ASSERT_EQ(plan.root.node_type, "Nested Loop");
  EXPECT_EQ(plan.root.join_type, "Inner");
  ASSERT_EQ(plan.root.children.size(), 2u);
  const PlanNode& inner = plan.root.children[1];
  EXPECT_EQ(inner.parent_relationship, "Inner");
  EXPECT_EQ(inner.node_type, "Index Scan");
  EXPECT_EQ(inner.index_name, "orders_customer_id_idx");
  EXPECT_EQ(inner.alias, "o");
  EXPECT_EQ(inner.index_cond, "(customer_id = c.id)");
  ASSERT_TRUE(inner.actuals);
  EXPECT_EQ(inner.actuals->loops, 333);
  EXPECT_EQ(plan.root.children[0].parent_relationship, "Outer");
}

TEST_F(Fixture, HashJoinThatSpilledIntoBatches) {
  const Plan plan = both("hash_join_batches");
  const PlanNode& join = plan.root.children.at(0);
  EXPECT_EQ(join.node_type, "Hash Join");
  EXPECT_EQ(join.hash_cond, "(o.customer_id = c.id)");
  const PlanNode& hash = join.children.at(1);
  ASSERT_EQ(hash.node_type, "Hash");
  ASSERT_TRUE(hash.hash_table);
  EXPECT_GT(hash.hash_table->batches, 1);
  EXPECT_GT(hash.buffers.temp_written, 0);
  EXPECT_EQ(plan.settings.at("work_mem"), "64kB");
  ASSERT_TRUE(plan.root.hash_aggregation);
  EXPECT_EQ(plan.root.hash_aggregation->batches, 1);
  EXPECT_EQ(plan.root.hash_aggregation->disk_usage_kb, 0);
}

TEST_F(Fixture, SortThatWentToDisk) {
  const Plan plan = both("sort_external");
  EXPECT_EQ(plan.root.node_type, "Sort");
  EXPECT_EQ(plan.root.sort_key, (std::vector<std::string>{"amount DESC", "created_at"}));
  EXPECT_EQ(plan.root.sort_method, "external merge");
  EXPECT_EQ(plan.root.sort_space_type, "Disk");
  EXPECT_GT(plan.root.sort_space_used_kb.value_or(0), 1000);
  EXPECT_GT(plan.root.buffers.temp_written, 0);
}

TEST_F(Fixture, BitmapScanWithLossyBlocks) {
  const Plan plan = both("bitmap_lossy");
  const PlanNode& heap = plan.root.children.at(0);
  EXPECT_EQ(heap.node_type, "Bitmap Heap Scan");
  EXPECT_GT(heap.lossy_heap_blocks, 0);
  EXPECT_GT(heap.exact_heap_blocks, 0);
  EXPECT_GT(heap.rows_removed_by_index_recheck, 0);
  const PlanNode& index = heap.children.at(0);
  EXPECT_EQ(index.node_type, "Bitmap Index Scan");
  EXPECT_EQ(index.index_name, "orders_customer_id_idx");
  EXPECT_FALSE(index.alias);
}

TEST_F(Fixture, IndexOnlyScanWithHeapFetches) {
  const Plan plan = both("index_only_heap_fetches");
  EXPECT_EQ(plan.root.node_type, "Index Only Scan");
  EXPECT_GT(plan.root.heap_fetches, 0);
  EXPECT_EQ(plan.root.index_cond, "((customer_id >= 100) AND (customer_id <= 400))");
}

TEST_F(Fixture, ParallelGatherWithWorkers) {
  const Plan plan = both("parallel_gather");
  EXPECT_EQ(plan.root.node_type, "Aggregate");
  EXPECT_EQ(plan.root.strategy, "Sorted");
  EXPECT_EQ(plan.root.partial_mode, "Finalize");
  const PlanNode& gather = plan.root.children.at(0);
  EXPECT_EQ(gather.node_type, "Gather Merge");
  EXPECT_EQ(gather.workers_planned, 2);
  EXPECT_EQ(gather.workers_launched, 2);
  const PlanNode& partial = gather.children.at(0).children.at(0);
  EXPECT_EQ(partial.partial_mode, "Partial");
  EXPECT_EQ(partial.strategy, "Hashed");
  const PlanNode& scan = partial.children.at(0);
  EXPECT_EQ(scan.node_type, "Seq Scan");
  EXPECT_TRUE(scan.parallel_aware);
  EXPECT_EQ(scan.actuals->loops, 3);
}

TEST_F(Fixture, InitPlanAndSubPlan) {
  const Plan plan = both("initplan_subplan");
  ASSERT_EQ(plan.root.children.size(), 2u);
  const PlanNode& init = plan.root.children[0];
  EXPECT_EQ(init.parent_relationship, "InitPlan");
  EXPECT_EQ(init.subplan_name, "InitPlan 2 (returns $1)");
  const PlanNode& sub = plan.root.children[1];
  EXPECT_EQ(sub.parent_relationship, "SubPlan");
  EXPECT_EQ(sub.subplan_name, "SubPlan 1");
  EXPECT_EQ(sub.actuals->loops, 167);
  // Below a header the nodes are ordinary children again.
  EXPECT_EQ(sub.children.at(0).parent_relationship, "Outer");
  EXPECT_FALSE(sub.children.at(0).subplan_name);
}

TEST_F(Fixture, CteScannedTwice) {
  const Plan plan = both("cte_scan");
  EXPECT_EQ(plan.root.node_type, "Append");
  ASSERT_EQ(plan.root.children.size(), 3u);
  EXPECT_EQ(plan.root.children[0].subplan_name, "CTE totals");
  EXPECT_EQ(plan.root.children[0].parent_relationship, "InitPlan");
  for (int i : {1, 2}) {
    const PlanNode& scan = plan.root.children[i];
    EXPECT_EQ(scan.node_type, "CTE Scan");
    EXPECT_EQ(scan.cte_name, "totals");
    EXPECT_EQ(scan.parent_relationship, "Member");
  }
  EXPECT_EQ(plan.root.children[2].alias, "totals_1");
}

TEST_F(Fixture, MemoizeCache) {
  const Plan plan = both("memoize");
  const PlanNode& memoize = plan.root.children.at(1);
  ASSERT_EQ(memoize.node_type, "Memoize");
  EXPECT_EQ(memoize.cache_key, "c.country");
  EXPECT_EQ(memoize.cache_mode, "logical");
  ASSERT_TRUE(memoize.memoize_cache);
  EXPECT_EQ(memoize.memoize_cache->hits, 4940);
  EXPECT_EQ(memoize.memoize_cache->misses, 60);
  ASSERT_TRUE(plan.server_version);
  EXPECT_EQ(plan.server_version->at_least_major, 14);
}

TEST_F(Fixture, HashAggregateThatSpilled) {
  const Plan plan = both("hashagg_spill");
  ASSERT_TRUE(plan.root.hash_aggregation);
  EXPECT_GT(plan.root.hash_aggregation->batches, 1);
  EXPECT_GT(plan.root.hash_aggregation->disk_usage_kb, 0);
  EXPECT_EQ(plan.root.group_key, std::vector<std::string>{"customer_id"});
}

TEST_F(Fixture, JitSummary) {
  const Plan plan = both("jit_aggregate");
  ASSERT_TRUE(plan.jit);
  EXPECT_GT(plan.jit->functions, 0);
  EXPECT_TRUE(plan.jit->inlining);
  EXPECT_TRUE(plan.jit->deforming);
  EXPECT_GT(plan.jit->total_ms, 0);
  const Plan text = parse_explain_text(read_fixture("jit_aggregate.txt"));
  EXPECT_GT(text.jit->total_ms, text.jit->emission_ms);
}

TEST_F(Fixture, InsertWithForeignKeyTriggerAndWal) {
  const Plan json = parse_explain_json(read_fixture("insert_fk_trigger.json"));
  const Plan text = parse_explain_text(read_fixture("insert_fk_trigger.txt"));
  EXPECT_EQ(json.root.node_type, "ModifyTable");
  EXPECT_EQ(json.root.operation, "Insert");
  EXPECT_EQ(describe(json.root), "Insert on orders");
  EXPECT_GT(json.root.wal.records, 0);
  EXPECT_GT(json.root.wal.bytes, 0);
  // Writes are not repeatable, so only the shape is checked here (the
  // figures' parsing has exact tests of its own).
  EXPECT_GT(text.root.buffers.shared_hit, 0);
  EXPECT_GT(text.root.buffers.shared_dirtied, 0);
  EXPECT_GT(text.root.wal.records, 0);
  EXPECT_GT(text.root.wal.bytes, 0);
  ASSERT_EQ(json.triggers.size(), 1u);
  ASSERT_EQ(text.triggers.size(), 1u);
  EXPECT_EQ(json.triggers[0].constraint_name, "orders_customer_id_fkey");
  EXPECT_EQ(text.triggers[0].constraint_name, "orders_customer_id_fkey");
  EXPECT_EQ(json.triggers[0].relation, "orders");
  EXPECT_TRUE(json.triggers[0].name);
  EXPECT_FALSE(text.triggers[0].name);
  EXPECT_EQ(json.triggers[0].calls, 500);
  EXPECT_EQ(text.triggers[0].calls, 500);
  EXPECT_GT(text.triggers[0].time_ms.value_or(0), 0);
  const PlanNode& function = json.root.children.at(0);
  EXPECT_EQ(function.function_name, "generate_series");
  EXPECT_EQ(function.alias, "i");
}

TEST_F(Fixture, VerbosePlanKeepsSchemaAndOutput) {
  const Plan plan = both("estimate_only_verbose");
  const PlanNode& scan = plan.root.children.at(0).children.at(0);
  EXPECT_EQ(scan.schema, "public");
  EXPECT_EQ(scan.relation_name, "orders");
  EXPECT_EQ(scan.alias, "o");
  EXPECT_EQ(scan.output.size(), 6u);
  EXPECT_EQ(plan.root.output, (std::vector<std::string>{"o.id", "c.name"}));
  EXPECT_FALSE(plan.root.actuals);
  EXPECT_TRUE(plan.root.estimates);
}

TEST_F(Fixture, PsqlAlignedPastesReadLikeRawOutput) {
  const std::string text = read_fixture("psql_aligned.txt");
  const std::string json = read_fixture("psql_aligned.json");
  ASSERT_NE(text.find("QUERY PLAN"), std::string::npos);
  ASSERT_NE(json.find("+\n"), std::string::npos);
  const Plan plan = parse_explain(text);
  EXPECT_EQ(plan.root.node_type, "Limit");
  EXPECT_EQ(plan.root.children.at(0).sort_method, "top-N heapsort");
  EXPECT_TRUE(without_timings(parse_explain(json)) == without_timings(plan));
}

}  // namespace
}  // namespace dbopt::plan
