// The TEXT reader on what people paste: the shapes PostgreSQL 13-17 print,
// psql's decorations, and input that is not a plan.
#include <gtest/gtest.h>

#include <string>

#include "core/common/error.h"
#include "core/plan/explain_reader.h"

namespace dbopt::plan {
namespace {

// The error's message, or "" when the text parsed.
std::string error_of(const std::string& text) {
  try {
    parse_explain_text(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_FALSE(e.fix().empty());
    return e.what();
  }
  return "";
}

TEST(TextReader, ReadsANodeLineWithCostsAndActuals) {
  const Plan plan = parse_explain_text(
      "Seq Scan on orders o  (cost=0.00..35.50 rows=2550 width=4) (actual time=0.010..0.020 rows=10 loops=3)\n");
  EXPECT_EQ(plan.root.node_type, "Seq Scan");
  EXPECT_EQ(plan.root.relation_name, "orders");
  EXPECT_EQ(plan.root.alias, "o");
  ASSERT_TRUE(plan.root.estimates);
  EXPECT_DOUBLE_EQ(plan.root.estimates->startup_cost, 0);
  EXPECT_DOUBLE_EQ(plan.root.estimates->total_cost, 35.5);
  EXPECT_DOUBLE_EQ(plan.root.estimates->rows, 2550);
  EXPECT_EQ(plan.root.estimates->width, 4);
  ASSERT_TRUE(plan.root.actuals);
  EXPECT_DOUBLE_EQ(*plan.root.actuals->startup_time_ms, 0.01);
  EXPECT_DOUBLE_EQ(*plan.root.actuals->total_time_ms, 0.02);
  EXPECT_DOUBLE_EQ(plan.root.actuals->rows, 10);
  EXPECT_DOUBLE_EQ(plan.root.actuals->loops, 3);
  EXPECT_TRUE(plan.analyzed);
  EXPECT_FALSE(plan.has_buffers);
}

TEST(TextReader, NeverExecutedNodesHaveNoActuals) {
  const Plan plan = parse_explain_text(
      "Nested Loop  (cost=0.29..16.34 rows=1 width=8) (actual time=0.011..0.011 rows=0 loops=1)\n"
      "  ->  Seq Scan on a  (cost=0.00..8.00 rows=1 width=4) (actual time=0.010..0.010 rows=0 loops=1)\n"
      "        Filter: (x = 1)\n"
      "        Rows Removed by Filter: 400\n"
      "  ->  Index Scan using b_pkey on b  (cost=0.29..8.31 rows=1 width=4) (never executed)\n"
      "        Index Cond: (id = a.id)\n");
  const PlanNode& inner = plan.root.children.at(1);
  EXPECT_TRUE(inner.never_executed);
  EXPECT_FALSE(inner.actuals);
  EXPECT_TRUE(inner.estimates);
  EXPECT_EQ(inner.index_cond, "(id = a.id)");
  EXPECT_EQ(plan.root.children.at(0).rows_removed_by_filter, 400);
}

TEST(TextReader, TimingOffAndCostsOff) {
  const Plan timing_off =
      parse_explain_text("Seq Scan on t  (cost=0.00..1.00 rows=1 width=4) (actual rows=7 loops=2)\n");
  ASSERT_TRUE(timing_off.root.actuals);
  EXPECT_FALSE(timing_off.root.actuals->total_time_ms);
  EXPECT_DOUBLE_EQ(timing_off.root.actuals->rows, 7);

  const Plan costs_off = parse_explain_text(
      "Hash Join\n"
      "  Hash Cond: (a.id = b.id)\n"
      "  ->  Seq Scan on a\n"
      "  ->  Hash\n"
      "        ->  Seq Scan on b\n");
  EXPECT_EQ(costs_off.root.node_type, "Hash Join");
  EXPECT_FALSE(costs_off.root.estimates);
  EXPECT_FALSE(costs_off.analyzed);
  EXPECT_EQ(costs_off.root.children.at(1).children.at(0).relation_name, "b");
}

TEST(TextReader, SplitsTextNodeNamesIntoJsonFields) {
  struct Case {
    const char* line;
    const char* node_type;
    std::optional<std::string> join_type, strategy, partial_mode, operation;
  };
  const Case cases[] = {
      {"Hash Left Join", "Hash Join", "Left", {}, {}, {}},
      {"Hash Join", "Hash Join", "Inner", {}, {}, {}},
      {"Merge Anti Join", "Merge Join", "Anti", {}, {}, {}},
      {"Hash Right Anti Join", "Hash Join", "Right Anti", {}, {}, {}},
      {"Nested Loop", "Nested Loop", "Inner", {}, {}, {}},
      {"Nested Loop Semi Join", "Nested Loop", "Semi", {}, {}, {}},
      {"Hash", "Hash", {}, {}, {}, {}},
      {"HashAggregate", "Aggregate", {}, "Hashed", "Simple", {}},
      {"Partial GroupAggregate", "Aggregate", {}, "Sorted", "Partial", {}},
      {"Finalize Aggregate", "Aggregate", {}, "Plain", "Finalize", {}},
      {"MixedAggregate", "Aggregate", {}, "Mixed", "Simple", {}},
      {"HashSetOp Except All", "SetOp", {}, "Hashed", {}, {}},
      {"Merge Append", "Merge Append", {}, {}, {}, {}},
      {"Merge on t", "ModifyTable", {}, {}, {}, "Merge"},
      {"Delete on t", "ModifyTable", {}, {}, {}, "Delete"},
      {"Gather Merge", "Gather Merge", {}, {}, {}, {}},
      {"Foreign Scan on ft", "Foreign Scan", {}, {}, {}, "Select"},
  };
  for (const Case& c : cases) {
    const Plan plan = parse_explain_text(std::string(c.line) + "  (cost=0.00..1.00 rows=1 width=4)\n");
    EXPECT_EQ(plan.root.node_type, c.node_type) << c.line;
    EXPECT_EQ(plan.root.join_type, c.join_type) << c.line;
    EXPECT_EQ(plan.root.strategy, c.strategy) << c.line;
    EXPECT_EQ(plan.root.partial_mode, c.partial_mode) << c.line;
    EXPECT_EQ(plan.root.operation, c.operation) << c.line;
    EXPECT_EQ(describe(plan.root), c.line);
  }
  const Plan set_op = parse_explain_text("HashSetOp Except All  (cost=0.00..1.00 rows=1 width=4)\n");
  EXPECT_EQ(set_op.root.set_operation, "Except All");
}

TEST(TextReader, ReadsScanTargets) {
  const Plan backward = parse_explain_text(
      "Index Scan Backward using \"Orders_pkey\" on \"Sales\".\"Orders\" \"O\"  (cost=0.29..8.31 rows=1 width=4)\n");
  EXPECT_EQ(backward.root.node_type, "Index Scan");
  EXPECT_TRUE(backward.root.backward_scan);
  EXPECT_EQ(backward.root.index_name, "Orders_pkey");
  EXPECT_EQ(backward.root.schema, "Sales");
  EXPECT_EQ(backward.root.relation_name, "Orders");
  EXPECT_EQ(backward.root.alias, "O");
  EXPECT_EQ(describe(backward.root), "Index Scan Backward using \"Orders_pkey\" on \"Sales\".\"Orders\" \"O\"");

  const Plan parallel = parse_explain_text("Parallel Index Only Scan using i on t  (cost=0.29..8.31 rows=1 width=4)\n");
  EXPECT_TRUE(parallel.root.parallel_aware);
  EXPECT_EQ(parallel.root.node_type, "Index Only Scan");
  EXPECT_EQ(parallel.root.index_name, "i");
  EXPECT_EQ(parallel.root.alias, "t");

  const Plan values = parse_explain_text("Values Scan on \"*VALUES*\"  (cost=0.00..0.04 rows=3 width=4)\n");
  EXPECT_EQ(values.root.alias, "*VALUES*");
  EXPECT_FALSE(values.root.relation_name);

  const Plan subquery = parse_explain_text("Subquery Scan on ss  (cost=0.00..0.04 rows=3 width=4)\n");
  EXPECT_EQ(subquery.root.alias, "ss");

  const Plan function =
      parse_explain_text("Function Scan on pg_catalog.generate_series g  (cost=0.00..10.00 rows=1000 width=4)\n");
  EXPECT_EQ(function.root.function_name, "generate_series");
  EXPECT_EQ(function.root.schema, "pg_catalog");
  EXPECT_EQ(function.root.alias, "g");

  const Plan bitmap = parse_explain_text("Bitmap Index Scan on t_a_idx  (cost=0.00..4.3 rows=10 width=0)\n");
  EXPECT_EQ(bitmap.root.index_name, "t_a_idx");
  EXPECT_FALSE(bitmap.root.alias);

  const Plan custom = parse_explain_text("Custom Scan (Citus Adaptive)  (cost=0.00..0.00 rows=0 width=0)\n");
  EXPECT_EQ(custom.root.custom_plan_provider, "Citus Adaptive");
}

TEST(TextReader, ReadsDetailLines) {
  const Plan plan = parse_explain_text(
      "Hash Join  (cost=1.00..2.00 rows=1 width=4) (actual time=1.000..2.000 rows=1 loops=1)\n"
      "  Hash Cond: (a.id = b.id)\n"
      "  Join Filter: (a.x <> b.x)\n"
      "  Rows Removed by Join Filter: 12\n"
      "  Buffers: shared hit=10 read=20 dirtied=3 written=4, local hit=5 read=6, temp read=7 written=8\n"
      "  I/O Timings: shared/local read=1.500 write=0.250, temp read=0.125 write=0.500\n"
      "  WAL: records=3 fpi=1 bytes=1234\n"
      "  ->  Sort  (cost=1.00..2.00 rows=1 width=4) (actual time=1.000..2.000 rows=1 loops=1)\n"
      "        Sort Key: a.x DESC, (lower(a.name)), a.y\n"
      "        Sort Method: external merge  Disk: 6688kB\n"
      "        ->  Bitmap Heap Scan on a  (cost=1.00..2.00 rows=1 width=4) (actual time=1.000..2.000 rows=1 loops=1)\n"
      "              Recheck Cond: (x < 5)\n"
      "              Rows Removed by Index Recheck: 108103\n"
      "              Heap Blocks: exact=792 lossy=2070\n"
      "  ->  Hash  (cost=1.00..2.00 rows=1 width=4) (actual time=1.000..2.000 rows=1 loops=1)\n"
      "        Buckets: 4096 (originally 1024)  Batches: 16 (originally 1)  Memory Usage: 82kB\n"
      "        ->  Index Only Scan using b_idx on b  (cost=1.00..2.00 rows=1 width=4) (actual time=1.000..2.000 rows=1 "
      "loops=1)\n"
      "              Heap Fetches: 540\n");
  const PlanNode& join = plan.root;
  EXPECT_EQ(join.hash_cond, "(a.id = b.id)");
  EXPECT_EQ(join.join_filter, "(a.x <> b.x)");
  EXPECT_EQ(join.rows_removed_by_join_filter, 12);
  const Buffers expected_buffers{10, 20, 3, 4, 5, 6, 0, 0, 7, 8, 1.5, 0.25, 0.125, 0.5};
  EXPECT_EQ(join.buffers, expected_buffers);
  EXPECT_EQ(join.wal, (WalUsage{3, 1, 1234}));
  EXPECT_TRUE(plan.has_buffers);

  const PlanNode& sort = join.children.at(0);
  EXPECT_EQ(sort.sort_key, (std::vector<std::string>{"a.x DESC", "(lower(a.name))", "a.y"}));
  EXPECT_EQ(sort.sort_method, "external merge");
  EXPECT_EQ(sort.sort_space_type, "Disk");
  EXPECT_EQ(sort.sort_space_used_kb, 6688);
  const PlanNode& bitmap = sort.children.at(0);
  EXPECT_EQ(bitmap.recheck_cond, "(x < 5)");
  EXPECT_EQ(bitmap.rows_removed_by_index_recheck, 108103);
  EXPECT_EQ(bitmap.exact_heap_blocks, 792);
  EXPECT_EQ(bitmap.lossy_heap_blocks, 2070);

  const PlanNode& hash = join.children.at(1);
  ASSERT_TRUE(hash.hash_table);
  EXPECT_EQ(*hash.hash_table, (HashTable{4096, 1024, 16, 1, 82}));
  EXPECT_EQ(hash.children.at(0).heap_fetches, 540);
}

TEST(TextReader, IoTimingsOfEveryVersion) {
  auto read_times = [](const std::string& timings) {
    return parse_explain_text("Seq Scan on t  (cost=0.00..1.00 rows=1 width=4)\n  I/O Timings: " + timings + "\n")
        .root.buffers;
  };
  const Buffers pg14 = read_times("read=2.000 write=1.000");
  EXPECT_DOUBLE_EQ(pg14.io_read_time_ms, 2);
  EXPECT_DOUBLE_EQ(pg14.io_write_time_ms, 1);
  const Buffers pg17 = read_times("shared read=2.000 write=1.000, local read=0.500, temp read=0.250");
  EXPECT_DOUBLE_EQ(pg17.io_read_time_ms, 2.5);
  EXPECT_DOUBLE_EQ(pg17.io_write_time_ms, 1);
  EXPECT_DOUBLE_EQ(pg17.temp_io_read_time_ms, 0.25);
}

TEST(TextReader, HashAggregateAndMemoizeLines) {
  const Plan plan = parse_explain_text(
      "HashAggregate  (cost=1.00..2.00 rows=1 width=4) (actual time=1.000..2.000 rows=1 loops=1)\n"
      "  Group Key: customer_id, status\n"
      "  Planned Partitions: 4  Batches: 85  Memory Usage: 145kB  Disk Usage: 7416kB\n"
      "  ->  Memoize  (cost=0.15..0.17 rows=1 width=14) (actual time=0.000..0.000 rows=1 loops=5000)\n"
      "        Cache Key: c.country\n"
      "        Cache Mode: logical\n"
      "        Hits: 4940  Misses: 60  Evictions: 2  Overflows: 1  Memory Usage: 7kB\n");
  ASSERT_TRUE(plan.root.hash_aggregation);
  EXPECT_EQ(*plan.root.hash_aggregation, (HashAggregation{85, 145, 7416}));
  EXPECT_EQ(plan.root.group_key, (std::vector<std::string>{"customer_id", "status"}));
  const PlanNode& memoize = plan.root.children.at(0);
  ASSERT_TRUE(memoize.memoize_cache);
  EXPECT_EQ(*memoize.memoize_cache, (MemoizeCache{4940, 60, 2, 1, 7}));

  // One batch: TEXT leaves Disk Usage out, the model says 0 as JSON does.
  const Plan in_memory = parse_explain_text(
      "HashAggregate  (cost=1.00..2.00 rows=1 width=4) (actual time=1.000..2.000 rows=1 loops=1)\n"
      "  Batches: 1  Memory Usage: 24kB\n");
  EXPECT_EQ(*in_memory.root.hash_aggregation, (HashAggregation{1, 24, 0}));
}

TEST(TextReader, SubplanHeadersAndRelationships) {
  const Plan plan = parse_explain_text(
      "Result  (cost=0.01..0.05 rows=2 width=4) (actual time=1001.083..1001.087 rows=2 loops=1)\n"
      " CTE test\n"
      "   ->  Result  (cost=0.00..0.01 rows=1 width=0) (actual time=1001.076..1001.076 rows=1 loops=1)\n"
      " InitPlan 2 (returns $1)\n"
      "   ->  Result  (cost=0.00..0.01 rows=1 width=4) (actual time=0.001..0.001 rows=1 loops=1)\n"
      " ->  Append  (cost=0.00..0.04 rows=2 width=4) (actual time=1001.082..1001.085 rows=2 loops=1)\n"
      "       ->  CTE Scan on test  (cost=0.00..0.02 rows=1 width=4) (actual time=1001.081..1001.082 rows=1 loops=1)\n"
      "       ->  CTE Scan on test test_1  (cost=0.00..0.02 rows=1 width=4) (actual time=0.001..0.002 rows=1 loops=1)\n"
      "             Filter: (x > $1)\n"
      "       SubPlan 1\n"
      "         ->  Result  (cost=0.00..0.01 rows=1 width=4) (actual time=0.001..0.001 rows=1 loops=2)\n"
      "Total runtime: 1001.133 ms\n");
  ASSERT_EQ(plan.root.children.size(), 3u);
  EXPECT_EQ(plan.root.children[0].parent_relationship, "InitPlan");
  EXPECT_EQ(plan.root.children[0].subplan_name, "CTE test");
  EXPECT_EQ(plan.root.children[1].subplan_name, "InitPlan 2 (returns $1)");
  EXPECT_EQ(plan.root.children[2].parent_relationship, "Outer");
  const PlanNode& append = plan.root.children[2];
  ASSERT_EQ(append.children.size(), 3u);
  EXPECT_EQ(append.children[0].parent_relationship, "Member");
  EXPECT_EQ(append.children[1].alias, "test_1");
  EXPECT_EQ(append.children[1].cte_name, "test");
  EXPECT_EQ(append.children[1].filter, "(x > $1)");
  EXPECT_EQ(append.children[2].parent_relationship, "SubPlan");
  EXPECT_EQ(append.children[2].subplan_name, "SubPlan 1");
  EXPECT_DOUBLE_EQ(plan.execution_time_ms.value_or(0), 1001.133);
}

TEST(TextReader, WorkerDetailsDoNotOverwriteTheNode) {
  const Plan plan = parse_explain_text(
      "Gather  (cost=66.12..421.53 rows=3333 width=0) (actual time=1.995..9.108 rows=9800 loops=10)\n"
      "  Workers Planned: 4\n"
      "  Workers Launched: 3\n"
      "  ->  Parallel Bitmap Heap Scan on public.tenk1  (cost=66.12..421.53 rows=833 width=0) (actual "
      "time=0.223..0.868 rows=1960 loops=50)\n"
      "        Recheck Cond: (tenk1.hundred > 1)\n"
      "        Heap Blocks: exact=1160\n"
      "        Buffers: shared hit=3711 read=29\n"
      "        Worker 0: actual time=0.032..0.390 rows=913 loops=10\n"
      "          Buffers: shared hit=322\n"
      "        Worker 1:  Sort Method: quicksort  Memory: 25kB\n"
      "        ->  Bitmap Index Scan on tenk1_hundred  (cost=0.00..65.28 rows=3333 width=0) (actual time=0.894..0.894 "
      "rows=9800 loops=10)\n"
      "              Index Cond: (tenk1.hundred > 1)\n");
  EXPECT_EQ(plan.root.workers_planned, 4);
  EXPECT_EQ(plan.root.workers_launched, 3);
  const PlanNode& scan = plan.root.children.at(0);
  EXPECT_EQ(scan.buffers.shared_hit, 3711);
  EXPECT_EQ(scan.buffers.shared_read, 29);
  EXPECT_FALSE(scan.sort_method);
  EXPECT_EQ(scan.children.at(0).index_cond, "(tenk1.hundred > 1)");
}

TEST(TextReader, SummaryLinesSettingsTriggersJitAndPlanning) {
  const Plan plan = parse_explain_text(
      "Insert on orders  (cost=0.00..11.25 rows=0 width=0) (actual time=3.091..3.091 rows=0 loops=1)\n"
      "  ->  Function Scan on generate_series i  (cost=0.00..11.25 rows=500 width=100) (actual time=0.051..0.131 "
      "rows=500 loops=1)\n"
      "Settings: search_path = '\"$user\", public', work_mem = '64kB', enable_seqscan = 'off'\n"
      "Planning:\n"
      "  Buffers: shared hit=116 read=3\n"
      "Planning Time: 0.090 ms\n"
      "Trigger for constraint orders_customer_id_fkey: time=3.257 calls=500\n"
      "Trigger audit on orders: calls=7\n"
      "JIT:\n"
      "  Functions: 6\n"
      "  Options: Inlining true, Optimization false, Expressions true, Deforming true\n"
      "  Timing: Generation 0.547 ms (Deform 0.100 ms), Inlining 88.763 ms, Optimization 45.613 ms, Emission 27.120 "
      "ms, Total 162.042 ms\n"
      "Execution Time: 6.412 ms\n");
  EXPECT_EQ(plan.settings.size(), 3u);
  EXPECT_EQ(plan.settings.at("search_path"), "\"$user\", public");
  EXPECT_EQ(plan.settings.at("work_mem"), "64kB");
  EXPECT_EQ(plan.settings.at("enable_seqscan"), "off");
  EXPECT_EQ(plan.planning_buffers.shared_hit, 116);
  EXPECT_EQ(plan.planning_buffers.shared_read, 3);
  EXPECT_DOUBLE_EQ(*plan.planning_time_ms, 0.09);
  EXPECT_DOUBLE_EQ(*plan.execution_time_ms, 6.412);
  ASSERT_EQ(plan.triggers.size(), 2u);
  EXPECT_EQ(plan.triggers[0].constraint_name, "orders_customer_id_fkey");
  EXPECT_FALSE(plan.triggers[0].name);
  EXPECT_DOUBLE_EQ(*plan.triggers[0].time_ms, 3.257);
  EXPECT_EQ(plan.triggers[0].calls, 500);
  EXPECT_EQ(plan.triggers[1].name, "audit");
  EXPECT_EQ(plan.triggers[1].relation, "orders");
  EXPECT_FALSE(plan.triggers[1].time_ms);
  ASSERT_TRUE(plan.jit);
  EXPECT_EQ(plan.jit->functions, 6);
  EXPECT_TRUE(plan.jit->inlining);
  EXPECT_FALSE(plan.jit->optimization);
  EXPECT_DOUBLE_EQ(plan.jit->generation_ms, 0.547);
  EXPECT_DOUBLE_EQ(plan.jit->deform_ms.value_or(0), 0.1);
  EXPECT_DOUBLE_EQ(plan.jit->total_ms, 162.042);
  ASSERT_TRUE(plan.server_version);
  EXPECT_EQ(plan.server_version->at_least_major, 17);
}

TEST(TextReader, StripsPsqlDecorationsAndIndentation) {
  const std::string pasted =
      "\n   \n"
      "                          QUERY PLAN\n"
      "--------------------------------------------------------------\n"
      "    Limit  (cost=1.00..2.00 rows=5 width=14) (actual time=1.711..1.713 rows=5 loops=1)   +\n"
      "      Buffers: shared hit=205 read=1\n"
      "      ->  Seq Scan on orders  (cost=0.42..350.17 rows=268 width=14) (actual time=0.048..1.625 rows=200 "
      "loops=1)\n"
      "    Planning Time: 0.429 ms\n"
      "    Execution Time: 1.748 ms\n"
      "(5 rows)\n"
      "\n";
  const Plan plan = parse_explain(pasted);
  EXPECT_EQ(plan.root.node_type, "Limit");
  EXPECT_EQ(plan.root.buffers.shared_read, 1);
  EXPECT_EQ(plan.root.children.at(0).relation_name, "orders");
  EXPECT_DOUBLE_EQ(*plan.execution_time_ms, 1.748);

  const Plan quoted = parse_explain_text(
      "\"Limit  (cost=1.00..2.00 rows=5 width=14)\"\n"
      "\"  ->  Seq Scan on orders  (cost=0.42..350.17 rows=268 width=14)\"\n");
  EXPECT_EQ(quoted.root.children.at(0).relation_name, "orders");

  const Plan tabs = parse_explain_text(
      "Limit  (cost=1.00..2.00 rows=5 width=14)\r\n"
      "\t->  Seq Scan on orders  (cost=0.42..350.17 rows=268 width=14)\r\n"
      "\t\tFilter: (a = 1)\r\n");
  EXPECT_EQ(tabs.root.children.at(0).filter, "(a = 1)");
}

TEST(TextReader, TranslatedPsqlHeaderIsDroppedToo) {
  const std::string pasted =
      "                 PLAN DE REQUÊTE\n"
      "-----------------------------------------------\n"
      " Seq Scan on t  (cost=0.00..35.50 rows=2550 width=4)\n"
      "(1 ligne)\n";
  EXPECT_EQ(parse_explain(pasted).root.relation_name, "t");
  const std::string json =
      " PLAN DE REQUÊTE\n"
      "-----------------\n"
      " [                                   +\n"
      "   {\"Plan\": {\"Node Type\": \"Result\"}}+\n"
      " ]\n"
      "(1 ligne)\n";
  EXPECT_EQ(parse_explain(json).root.node_type, "Result");
}

TEST(TextReader, AutoExplainQueryTextComesBeforeThePlan) {
  const Plan plan = parse_explain_text(
      "Query Text: SELECT *\n"
      "  FROM orders\n"
      "Seq Scan on orders  (cost=0.00..1.00 rows=1 width=4)\n");
  EXPECT_EQ(plan.query_text, "SELECT *\nFROM orders");
  EXPECT_EQ(plan.root.relation_name, "orders");
}

TEST(TextReader, RejectsWhatIsNotAPlan) {
  EXPECT_NE(error_of("").find("no plan node found"), std::string::npos);
  EXPECT_NE(error_of("  \n\n (0 rows)\n").find("no plan node found"), std::string::npos);
  EXPECT_NE(error_of("hello world\nthis is not a plan\n").find("line 1"), std::string::npos);
  EXPECT_NE(error_of("ERROR:  relation \"x\" does not exist\n").find("line 1"), std::string::npos);

  const std::string cut = error_of(
      "Limit  (cost=1.00..2.00 rows=5 width=14)\n"
      "  ->  Seq Scan on orders  (cost=0.42..350.17 rows=2");
  EXPECT_NE(cut.find("line 2"), std::string::npos) << cut;
  EXPECT_NE(cut.find("cut short"), std::string::npos) << cut;

  const std::string garbage_detail = error_of(
      "Limit  (cost=1.00..2.00 rows=5 width=14)\n"
      "  ->  Seq Scan on orders  (cost=0.42..350.17 rows=268 width=14)\n"
      "        what is this\n");
  EXPECT_NE(garbage_detail.find("line 3"), std::string::npos) << garbage_detail;

  const std::string two_plans = error_of(
      "Seq Scan on a  (cost=0.00..1.00 rows=1 width=4)\n"
      "Seq Scan on b  (cost=0.00..1.00 rows=1 width=4)\n");
  EXPECT_NE(two_plans.find("line 2"), std::string::npos) << two_plans;

  const std::string bad_figures = error_of("Seq Scan on a  (cost=zero..1.00 rows=1 width=4)\n");
  EXPECT_NE(bad_figures.find("line 1"), std::string::npos) << bad_figures;
}

TEST(TextReader, AbsurdNumbersDoNotOverflow) {
  const Plan plan = parse_explain_text(
      "Hash  (cost=0.00..1e308 rows=1e300 width=99999999999999999999)\n"
      "  Buckets: 99999999999999999999999  Batches: 1  Memory Usage: 1kB\n");
  ASSERT_TRUE(plan.root.hash_table);
  EXPECT_EQ(plan.root.hash_table->batches, 1);
  EXPECT_EQ(plan.root.estimates->width, 0);  // beyond int64: unreadable, not undefined
}

TEST(TextReader, RejectsPlansDeeperThanTheLimit) {
  std::string text = "Limit  (cost=0.00..1.00 rows=1 width=4)\n";
  for (int depth = 1; depth <= kMaxPlanDepth + 1; ++depth) {
    text += std::string(static_cast<std::size_t>(depth) * 2, ' ') + "->  Limit  (cost=0.00..1.00 rows=1 width=4)\n";
  }
  EXPECT_NE(error_of(text).find("deeper than"), std::string::npos);
}

}  // namespace
}  // namespace dbopt::plan
