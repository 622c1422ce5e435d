// Derived metrics. The time figures are checked against pev2's own test
// plans and expected values (dalibo/pev2, src/services/__tests__), so dbopt
// and pev2 show the same numbers for the same plan; the rest against the
// PostgreSQL 15 fixtures.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/plan/explain_reader.h"
#include "core/plan/plan_metrics.h"
#include "plan_fixtures.h"

namespace dbopt::plan {
namespace {

using testing::read_fixture;

// The id of the first node (pre-order) whose label contains `text`.
std::size_t find(const PlanMetrics& metrics, const std::string& text) {
  for (const NodeMetrics& m : metrics.nodes) {
    if (m.label.find(text) != std::string::npos) return m.id;
  }
  ADD_FAILURE() << "no node labelled " << text;
  return 0;
}

// pev2 02-actual-duration-loops.
TEST(Pev2Parity, TimeIsMultipliedByLoops) {
  const Plan plan = parse_explain(R"(
 Nested Loop  (cost=0.00..611.27 rows=13400 width=8) (actual time=0.025..10.198 rows=34956 loops=1)
   Join Filter: (t1.c1 > t2.c2)
   Rows Removed by Join Filter: 5244
   ->  Seq Scan on t1  (cost=0.00..6.02 rows=402 width=4) (actual time=0.013..0.058 rows=402 loops=1)
   ->  Materialize  (cost=0.00..2.50 rows=100 width=4) (actual time=0.000..0.008 rows=100 loops=402)
         ->  Seq Scan on t2  (cost=0.00..2.00 rows=100 width=4) (actual time=0.005..0.015 rows=100 loops=1)
 Planning Time: 0.083 ms
 Execution Time: 12.035 ms
)");
  const PlanMetrics metrics = derive_metrics(plan);
  const double materialize = 0.008 * 402 - 0.015;
  EXPECT_DOUBLE_EQ(*metrics.nodes[2].exclusive_time_ms, materialize);
  EXPECT_NEAR(*metrics.nodes[0].exclusive_time_ms, 10.198 - (materialize + 0.015) - 0.058, 1e-12);
  EXPECT_DOUBLE_EQ(*metrics.nodes[2].actual_rows_total, 100 * 402);
  EXPECT_DOUBLE_EQ(metrics.nodes[0].rows_removed_by_join_filter_total, 5244);
  EXPECT_DOUBLE_EQ(*metrics.nodes[0].join_filter_removal_share, 5244.0 / (5244 + 34956));
  EXPECT_DOUBLE_EQ(*metrics.total_time_ms, 12.035);
  EXPECT_DOUBLE_EQ(*metrics.nodes[2].exclusive_time_share, materialize / 12.035);
}

// pev2's exclusive cost: the node's total cost minus its children's; shares
// are of the sum, which is the root's total cost when no Limit stops early.
TEST(Pev2Parity, ExclusiveCostIsTheNodesOwnCost) {
  const Plan plan = parse_explain(read_fixture("estimate_only_join.txt"));
  const PlanMetrics metrics = derive_metrics(plan);
  EXPECT_NEAR(*metrics.nodes[find(metrics, "Index Scan")].exclusive_cost, 3894.47, 1e-9);
  EXPECT_NEAR(*metrics.nodes[find(metrics, "Hash Join")].exclusive_cost, 4731.18 - 3894.47 - 348.00, 1e-9);
  EXPECT_NEAR(metrics.summed_exclusive_cost, 5425.55, 1e-9);

  const Plan limited = parse_explain(R"(
Limit  (cost=0.00..0.35 rows=10 width=8)
  ->  Seq Scan on t  (cost=0.00..35.50 rows=1000 width=8)
)");
  const PlanMetrics stopped = derive_metrics(limited);
  EXPECT_EQ(*stopped.nodes[0].exclusive_cost, 0) << "a Limit costs less than its input: never negative";
  EXPECT_NEAR(stopped.summed_exclusive_cost, 35.50, 1e-9);

  const Plan costs_off = parse_explain("Seq Scan on t\n");
  EXPECT_FALSE(derive_metrics(costs_off).nodes[0].exclusive_cost.has_value());
}

// pev2 03-actual-duration-cte: the CTE's time is not the root's.
TEST(Pev2Parity, CteTimeIsNotCountedInTheNodeAbove) {
  const Plan plan = parse_explain(R"(
Result  (cost=0.01..0.05 rows=2 width=4) (actual time=1001.083..1001.087 rows=2 loops=1)
 CTE test
   ->  Result  (cost=0.00..0.01 rows=1 width=0) (actual time=1001.076..1001.076 rows=1 loops=1)
 ->  Append  (cost=0.00..0.04 rows=2 width=4) (actual time=1001.082..1001.085 rows=2 loops=1)
       ->  CTE Scan on test  (cost=0.00..0.02 rows=1 width=4) (actual time=1001.081..1001.082 rows=1 loops=1)
       ->  CTE Scan on test  (cost=0.00..0.02 rows=1 width=4) (actual time=0.001..0.002 rows=1 loops=1)
Total runtime: 1001.133 ms
(7 rows)
)");
  const PlanMetrics metrics = derive_metrics(plan);
  EXPECT_LT(*metrics.nodes[0].exclusive_time_ms, 0.002 + 1e-9);
  // The CTE's 1001.076 ms are taken off its scans in proportion to their
  // time: the first scan keeps almost nothing of its 1001.082 ms.
  const double first = 1001.082;
  const double second = 0.002;
  EXPECT_NEAR(*metrics.nodes[3].exclusive_time_ms, first - 1001.076 * first / (first + second), 1e-9);
  EXPECT_NEAR(*metrics.nodes[4].exclusive_time_ms, second - 1001.076 * second / (first + second), 1e-9);
  EXPECT_EQ(metrics.slowest_node, 1u);  // the CTE's own Result
}

// pev2 05-parallel-gather-children: a node below Gather without worker
// information still has its loops divided among the processes.
TEST(Pev2Parity, EveryNodeBelowGatherIsDividedByTheProcesses) {
  const Plan plan = parse_explain(R"(
Limit  (cost=220725.07..220759.59 rows=1 width=27) (actual time=1621.743..1626.219 rows=1 loops=1)
  ->  Finalize GroupAggregate  (cost=220725.07..220966.73 rows=7 width=27) (actual time=1621.740..1621.740 rows=1 loops=1)
        Group Key: lineitem.l_shipmode
        ->  Gather Merge  (cost=220725.07..220966.55 rows=14 width=27) (actual time=1620.648..1626.206 rows=4 loops=1)
              Workers Planned: 2
              Workers Launched: 2
              ->  Partial GroupAggregate  (cost=219725.04..219964.91 rows=7 width=27) (actual time=1616.481..1617.546 rows=2 loops=3)
                    Group Key: lineitem.l_shipmode
                    ->  Sort  (cost=219725.04..219755.02 rows=11990 width=27) (actual time=1615.387..1615.753 rows=10409 loops=3)
                          Sort Key: lineitem.l_shipmode
                          Sort Method: quicksort  Memory: 1198kB
                          Worker 0:  Sort Method: quicksort  Memory: 1195kB
                          Worker 1:  Sort Method: quicksort  Memory: 1200kB
                          ->  Parallel Hash Join  (cost=177956.54..218912.75 rows=11990 width=27) (actual time=1497.271..1613.187 rows=10409 loops=3)
                                Hash Cond: (orders.o_orderkey = lineitem.l_orderkey)
                                ->  Parallel Seq Scan on orders  (cost=0.00..33875.00 rows=625000 width=20) (actual time=0.007..55.525 rows=500000 loops=3)
                                ->  Parallel Hash  (cost=177806.66..177806.66 rows=11990 width=19) (actual time=1496.967..1496.967 rows=10409 loops=3)
                                      Buckets: 32768  Batches: 1  Memory Usage: 2016kB
                                      ->  Parallel Seq Scan on lineitem  (cost=0.00..177806.66 rows=11990 width=19) (actual time=0.361..1490.221 rows=10409 loops=3)
                                            Filter: ((l_shipmode = ANY ('{MAIL,AIR}'::bpchar[])) AND (l_commitdate < l_receiptdate) AND (l_shipdate < l_commitdate) AND (l_receiptdate >= '1996-01-01'::date) AND (l_receiptdate < '1997-01-01 00:00:00'::timestamp without time zone))
                                            Rows Removed by Filter: 1989996
Planning Time: 3.634 ms
Execution Time: 1626.725 ms
)");
  const PlanMetrics metrics = derive_metrics(plan);
  const NodeMetrics& partial = metrics.nodes[3];
  EXPECT_LT(1.79 - *partial.exclusive_time_ms, 0.01);
  EXPECT_EQ(partial.gather_workers_launched, 2);
  EXPECT_FALSE(metrics.nodes[2].gather_workers_launched);  // the Gather itself is not divided
  EXPECT_DOUBLE_EQ(*metrics.nodes[2].inclusive_time_ms, 1626.206);
  // Rows are summed over the processes, not divided.
  EXPECT_DOUBLE_EQ(*metrics.nodes[6].actual_rows_total, 1500000);
  const NodeMetrics& lineitem = metrics.nodes[find(metrics, "Seq Scan on lineitem")];
  EXPECT_NEAR(*lineitem.filter_removal_share, 1989996.0 / (1989996 + 10409), 1e-12);
}

// pev2 05-parallel-children-loops: node #12 (pev2 counts from 1).
TEST(Pev2Parity, LoopsAndWorkersBothCount) {
  const Plan plan = parse_explain(R"(
Gather  (cost=1782.55..53030.40 rows=3 width=72) (actual time=70.029..383125.490 rows=367315 loops=1)
    Workers Planned: 3
    Workers Launched: 3
    Buffers: shared hit=98726455 read=6541
  ->  Nested Loop Left Join  (cost=782.55..52030.10 rows=1 width=72) (actual time=58.605..382365.760 rows=91829 loops=4)
          Buffers: shared hit=98726455 read=6541
        ->  Nested Loop Left Join  (cost=782.12..52029.37 rows=1 width=80) (actual time=58.549..381876.868 rows=91829 loops=4)
                Buffers: shared hit=97812665 read=6515
              ->  Nested Loop Left Join  (cost=781.70..52026.27 rows=1 width=87) (actual time=58.065..379978.059 rows=30628 loops=4)
                      Buffers: shared hit=93548935 read=6514
                    ->  Nested Loop  (cost=781.14..52023.56 rows=1 width=83) (actual time=58.016..378991.611 rows=30628 loops=4)
                            Buffers: shared hit=93447031 read=2149
                          ->  Nested Loop  (cost=0.85..51196.65 rows=1 width=58) (actual time=3.238..465.487 rows=20339 loops=4)
                                  Buffers: shared hit=331905 read=934
                                ->  Parallel Index Scan using bravo_papa_tango on victor_sierra  (cost=0.43..51194.00 rows=1 width=50) (actual time=3.162..122.561 rows=20339 loops=4)
                                        Index Cond: (whiskey = 'sierra_five'::date)
                                        Rows Removed by Filter: 56141
                                        Buffers: shared hit=6215 read=840
                                ->  Index Scan using yankee on tango  (cost=0.42..2.65 rows=1 width=20) (actual time=0.013..0.013 rows=1 loops=81357)
                                        Index Cond: ((whiskey = 'sierra_five'::date) AND (hotel = victor_sierra.hotel))
                                        Buffers: shared hit=325690 read=94
                          ->  Bitmap Heap Scan on golf  (cost=780.29..826.90 rows=1 width=37) (actual time=17.007..18.601 rows=2 loops=81357)
                                  Recheck Cond: ((whiskey = 'sierra_five'::date) AND (hotel = tango.hotel))
                                  Filter: (tango.victor_victor = victor_victor)
                                  Rows Removed by Filter: 14960
                                  Heap Blocks: exact=6061175
                                  Buffers: shared hit=93115126 read=1215
                                ->  BitmapAnd  (cost=780.29..780.29 rows=1583 width=0) (actual time=15.192..15.192 rows=0 loops=81357)
                                        Buffers: shared hit=68910227 read=927
                                      ->  Bitmap Index Scan on echo  (cost=0.00..254.44 rows=15129 width=0) (actual time=1.009..1.009 rows=16719 loops=81357)
                                              Index Cond: ((whiskey = 'sierra_five'::date) AND (india = 1))
                                              Buffers: shared hit=5450856 read=66
                                      ->  Bitmap Index Scan on mike_uniform  (cost=0.00..523.24 rows=52187 width=0) (actual time=14.023..14.023 rows=284399 loops=81357)
                                              Index Cond: ((hotel = tango.hotel) AND (hotel = ANY ('november_zulu'::integer[])))
                                              Buffers: shared hit=63459359 read=861
Planning time: 22.371 ms
Execution time: 383161.073 ms
)");
  const PlanMetrics metrics = derive_metrics(plan);
  ASSERT_EQ(metrics.nodes.size(), 12u);
  EXPECT_EQ(metrics.nodes[11].label, "node 11: Bitmap Index Scan on mike_uniform");
  EXPECT_DOUBLE_EQ(*metrics.nodes[11].exclusive_time_ms, 285217.30275);
  EXPECT_EQ(metrics.nodes[9].parent, 8u);
  EXPECT_EQ(metrics.nodes[9].children, (std::vector<std::size_t>{10, 11}));
  EXPECT_EQ(metrics.nodes[11].path, "0.0.0.0.0.1.0.1");
  EXPECT_EQ(metrics.nodes[11].depth, 7);
  // Exclusive buffers: the Bitmap Heap Scan minus its BitmapAnd.
  const NodeMetrics& golf = metrics.nodes[8];
  EXPECT_EQ(golf.exclusive_buffers.shared_hit, 93115126 - 68910227);
  EXPECT_EQ(golf.exclusive_buffers.shared_read, 1215 - 927);
  EXPECT_DOUBLE_EQ(golf.rows_removed_by_filter_total, 14960.0 * 81357);
  // The misestimate is on per-loop rows: 284399 found where 52187 planned.
  EXPECT_EQ(metrics.nodes[11].misestimate_direction, EstimateDirection::under);
  EXPECT_DOUBLE_EQ(*metrics.nodes[11].misestimate_factor, 284399.0 / 52187);
  EXPECT_EQ(metrics.nodes[10].misestimate_direction, EstimateDirection::under);
  EXPECT_EQ(metrics.nodes[0].misestimate_direction, EstimateDirection::under);
}

// pev2 05-parallel-launched-workers: divide by the workers launched, not planned.
TEST(Pev2Parity, OnlyLaunchedWorkersCount) {
  const Plan plan = parse_explain(R"(
 Finalize Aggregate  (cost=105660.73..105660.74 rows=1 width=8) (actual time=1092.605..1094.361 rows=1 loops=1)
   ->  Gather  (cost=105658.26..105660.67 rows=24 width=8) (actual time=1076.814..1094.352 rows=8 loops=1)
         Workers Planned: 24
         Workers Launched: 7
         ->  Partial Aggregate  (cost=104658.26..104658.27 rows=1 width=8) (actual time=1080.614..1080.614 rows=1 loops=8)
               Worker 0:  actual time=1086.259..1086.260 rows=1 loops=1
               ->  Nested Loop  (cost=0.26..83824.92 rows=4166667 width=8) (actual time=0.454..1072.781 rows=125000 loops=8)
                     ->  Parallel Seq Scan on public.blah  (cost=0.00..484.67 rows=4167 width=4) (actual time=0.007..1.455 rows=12500 loops=8)
                     ->  Function Scan on pg_catalog.generate_series j  (cost=0.26..10.26 rows=1000 width=4) (actual time=0.084..0.084 rows=10 loops=100000)
                           Function Call: generate_series(1, expensive(((blah.i + 10) - blah.i)))
 Planning Time: 0.333 ms
 Execution Time: 1094.777 ms
)");
  const PlanMetrics metrics = derive_metrics(plan);
  EXPECT_DOUBLE_EQ(*metrics.nodes[5].exclusive_time_ms, 1050);
  EXPECT_TRUE(metrics.nodes[1].workers_missing);
  EXPECT_EQ(metrics.nodes[1].workers_planned, 24);
  EXPECT_EQ(metrics.nodes[1].workers_launched, 7);
}

// pev2 does not pass the Gather's workers through a SubPlan.
TEST(PlanMetrics, SubPlansBelowGatherAreNotDivided) {
  const Plan plan = parse_explain(
      "Gather  (cost=0.00..1.00 rows=10 width=4) (actual time=0.100..10.000 rows=10 loops=1)\n"
      "  Workers Planned: 2\n"
      "  Workers Launched: 2\n"
      "  ->  Parallel Seq Scan on t  (cost=0.00..1.00 rows=4 width=4) (actual time=0.010..9.000 rows=3 loops=3)\n"
      "        Filter: (SubPlan 1)\n"
      "        SubPlan 1\n"
      "          ->  Result  (cost=0.00..0.01 rows=1 width=4) (actual time=0.001..0.002 rows=1 loops=30)\n");
  const PlanMetrics metrics = derive_metrics(plan);
  EXPECT_EQ(metrics.nodes[1].gather_workers_launched, 2);
  EXPECT_FALSE(metrics.nodes[2].gather_workers_launched);
  EXPECT_DOUBLE_EQ(*metrics.nodes[1].inclusive_time_ms, 9.0 * 3 / 3);
  EXPECT_DOUBLE_EQ(*metrics.nodes[2].inclusive_time_ms, 0.002 * 30);
  EXPECT_NEAR(*metrics.nodes[1].exclusive_time_ms, 9.0 - 0.06, 1e-9);
}

TEST(PlanMetrics, InitPlanTimeIsTakenOffTheNodeThatUsesIt) {
  const Plan plan = parse_explain_json(read_fixture("initplan_subplan.json"));
  const PlanMetrics metrics = derive_metrics(plan);
  const NodeMetrics& root = metrics.nodes[0];
  const NodeMetrics& init = metrics.nodes[1];
  ASSERT_EQ(*metrics.plan_nodes[1]->subplan_name, "InitPlan 2 (returns $1)");
  const std::size_t subplan = 3;
  ASSERT_EQ(*metrics.plan_nodes[subplan]->subplan_name, "SubPlan 1");
  // The SubPlan is subtracted as a child; the InitPlan because the Filter
  // mentions $1.
  const double expected = *root.inclusive_time_ms - *metrics.nodes[subplan].inclusive_time_ms - *init.inclusive_time_ms;
  EXPECT_NEAR(*root.exclusive_time_ms, std::max(0.0, expected), 1e-9);
  // The SubPlan ran 167 times: its time is per loop x loops.
  const PlanNode& sub = *metrics.plan_nodes[subplan];
  EXPECT_DOUBLE_EQ(*metrics.nodes[subplan].inclusive_time_ms, *sub.actuals->total_time_ms * 167);
  // Buffers of InitPlans and SubPlans stay in the node they run in.
  EXPECT_EQ(root.exclusive_buffers, metrics.plan_nodes[0]->buffers);
  EXPECT_DOUBLE_EQ(*root.filter_removal_share, 19833.0 / (19833 + 167));
}

TEST(PlanMetrics, InitPlanRulesForResultNodesAndPostgres17Names) {
  // Under a Result, pev2 subtracts InitPlans like any child.
  const Plan under_result = parse_explain(
      "Result  (cost=0.01..0.02 rows=1 width=4) (actual time=0.010..5.020 rows=1 loops=1)\n"
      "  InitPlan 1 (returns $0)\n"
      "    ->  Limit  (cost=0.00..0.01 rows=1 width=4) (actual time=0.005..5.000 rows=1 loops=1)\n"
      "          ->  Seq Scan on t  (cost=0.00..35.50 rows=2550 width=4) (actual time=0.004..4.990 rows=1 loops=1)\n");
  const PlanMetrics result = derive_metrics(under_result);
  EXPECT_NEAR(*result.nodes[0].exclusive_time_ms, 0.02, 1e-9);

  // PostgreSQL 17 names the output "(InitPlan 1).col1"; the InitPlan's time
  // comes off the node whose filter uses it, and only that node.
  const Plan pg17 = parse_explain(
      "Nested Loop  (cost=0.01..0.02 rows=1 width=4) (actual time=0.010..9.000 rows=1 loops=1)\n"
      "  ->  Seq Scan on a  (cost=0.00..35.50 rows=1 width=4) (actual time=0.004..7.000 rows=1 loops=1)\n"
      "        Filter: (x > (InitPlan 1).col1)\n"
      "        InitPlan 1\n"
      "          ->  Seq Scan on b  (cost=0.00..35.50 rows=1 width=4) (actual time=0.004..5.000 rows=1 loops=1)\n"
      "  ->  Seq Scan on c  (cost=0.00..35.50 rows=1 width=4) (actual time=0.004..1.000 rows=1 loops=1)\n");
  const PlanMetrics metrics = derive_metrics(pg17);
  ASSERT_EQ(metrics.plan_nodes[2]->subplan_name, "InitPlan 1");
  EXPECT_NEAR(*metrics.nodes[1].exclusive_time_ms, 7.0 - 5.0, 1e-9);
  EXPECT_NEAR(*metrics.nodes[3].exclusive_time_ms, 1.0, 1e-9);
  EXPECT_NEAR(*metrics.nodes[0].exclusive_time_ms, 9.0 - 7.0 - 1.0, 1e-9);
}

TEST(PlanMetrics, CteTimeIsSharedAmongItsScans) {
  const Plan plan = parse_explain_json(read_fixture("cte_scan.json"));
  const PlanMetrics metrics = derive_metrics(plan);
  const double cte = *metrics.nodes[1].inclusive_time_ms;
  const std::size_t scan1 = find(metrics, "CTE Scan on totals");
  const std::size_t scan2 = find(metrics, "CTE Scan on totals totals_1");
  ASSERT_NE(scan1, scan2);
  const double t1 = *metrics.nodes[scan1].inclusive_time_ms;
  const double t2 = *metrics.nodes[scan2].inclusive_time_ms;
  EXPECT_NEAR(*metrics.nodes[scan1].exclusive_time_ms, std::max(0.0, t1 - cte * t1 / (t1 + t2)), 1e-9);
  EXPECT_NEAR(*metrics.nodes[scan2].exclusive_time_ms, std::max(0.0, t2 - cte * t2 / (t1 + t2)), 1e-9);
  // The Append does not lose the CTE's time a second time.
  EXPECT_NEAR(*metrics.nodes[0].exclusive_time_ms, *metrics.nodes[0].inclusive_time_ms - t1 - t2, 1e-9);
  EXPECT_EQ(metrics.slowest_node, 1u);  // the HashAggregate inside the CTE
  EXPECT_TRUE(metrics.nodes[1].hash_aggregate_spilled);
  EXPECT_DOUBLE_EQ(*metrics.nodes[scan1].filter_removal_share, 1.0);
}

TEST(PlanMetrics, SpillsAndCaches) {
  const Plan hash_plan = parse_explain_json(read_fixture("hash_join_batches.json"));
  const PlanMetrics hash = derive_metrics(hash_plan);
  const std::size_t hash_id = 3;
  ASSERT_EQ(hash.plan_nodes[hash_id]->node_type, "Hash");
  EXPECT_TRUE(hash.nodes[hash_id].hash_spilled);
  EXPECT_EQ(hash_plan.root.children[0].children[1].hash_table->original_batches, 16);
  // The planner foresaw the 16 batches: spilled, but as planned.
  EXPECT_FALSE(hash.nodes[hash_id].hash_batches_grew);
  EXPECT_FALSE(hash.nodes[0].hash_aggregate_spilled);
  // The Hash wrote its batches; the Seq Scan below it wrote nothing.
  EXPECT_GT(hash.nodes[hash_id].exclusive_buffers.temp_written, 0);
  EXPECT_EQ(hash.nodes[hash_id].exclusive_buffers.shared_hit, 0);

  const Plan sort_plan = parse_explain_text(read_fixture("sort_external.txt"));
  const PlanMetrics sort = derive_metrics(sort_plan);
  EXPECT_TRUE(sort.nodes[0].sort_spilled);
  EXPECT_GT(sort.nodes[0].sort_disk_kb.value_or(0), 0);
  EXPECT_FALSE(sort.nodes[1].sort_spilled);

  const Plan bitmap_plan = parse_explain_text(read_fixture("bitmap_lossy.txt"));
  const PlanMetrics bitmap = derive_metrics(bitmap_plan);
  const PlanNode& heap = *bitmap.plan_nodes[1];
  EXPECT_DOUBLE_EQ(*bitmap.nodes[1].lossy_block_share,
                   static_cast<double>(heap.lossy_heap_blocks) / (heap.exact_heap_blocks + heap.lossy_heap_blocks));
  EXPECT_FALSE(bitmap.nodes[2].lossy_block_share);

  const Plan memoize_plan = parse_explain_json(read_fixture("memoize.json"));
  const PlanMetrics memoize = derive_metrics(memoize_plan);
  EXPECT_DOUBLE_EQ(*memoize.nodes[find(memoize, "Memoize")].memoize_hit_rate, 4940.0 / 5000);

  const Plan index_only_plan = parse_explain_json(read_fixture("index_only_heap_fetches.json"));
  const PlanMetrics index_only = derive_metrics(index_only_plan);
  const PlanNode& scan = *index_only.plan_nodes[0];
  EXPECT_DOUBLE_EQ(index_only.nodes[0].heap_fetches, scan.heap_fetches);
  EXPECT_DOUBLE_EQ(*index_only.nodes[0].heap_fetch_share, scan.heap_fetches / scan.actuals->rows);
}

TEST(PlanMetrics, ParallelFixtureDividesBelowTheGatherOnly) {
  const Plan plan = parse_explain_json(read_fixture("parallel_gather.json"));
  const PlanMetrics metrics = derive_metrics(plan);
  const std::size_t scan = find(metrics, "Parallel Seq Scan on orders");
  const PlanNode& node = *metrics.plan_nodes[scan];
  EXPECT_EQ(metrics.nodes[scan].gather_workers_launched, 2);
  EXPECT_DOUBLE_EQ(*metrics.nodes[scan].inclusive_time_ms, *node.actuals->total_time_ms * 3 / 3);
  EXPECT_DOUBLE_EQ(*metrics.nodes[scan].actual_rows_total, node.actuals->rows * 3);
  EXPECT_FALSE(metrics.nodes[1].workers_missing);
  EXPECT_FALSE(metrics.nodes[0].gather_workers_launched);
}

TEST(PlanMetrics, JitShareOfExecution) {
  const Plan plan = parse_explain_json(read_fixture("jit_aggregate.json"));
  const PlanMetrics metrics = derive_metrics(plan);
  EXPECT_DOUBLE_EQ(*metrics.jit_time_ms, plan.jit->total_ms);
  EXPECT_DOUBLE_EQ(*metrics.jit_share, plan.jit->total_ms / *plan.execution_time_ms);
  EXPECT_GT(*metrics.jit_share, 0.1);
}

TEST(PlanMetrics, TimeSharesAddUpToTheWholePlan) {
  for (const std::string name :
       {"seq_scan_filter", "nested_loop", "hash_join_batches", "sort_external", "bitmap_lossy", "hashagg_spill"}) {
    const Plan plan = parse_explain_json(read_fixture(name + ".json"));
    const PlanMetrics metrics = derive_metrics(plan);
    double exclusive = 0;
    for (const NodeMetrics& m : metrics.nodes) exclusive += m.exclusive_time_ms.value_or(0);
    // Without InitPlans or CTEs the exclusive times partition the root's
    // (not quite under Memoize, whose per-loop time rounds to 0.000 ms).
    EXPECT_NEAR(exclusive, *metrics.nodes[0].inclusive_time_ms, 1e-6) << name;
    EXPECT_LE(exclusive, *plan.execution_time_ms) << name;
  }
}

TEST(PlanMetrics, MisestimatesAndPlansWithoutAnalyze) {
  const Plan plan = parse_explain(
      "Hash Join  (cost=1.00..2.00 rows=100 width=4) (actual time=1.000..2.000 rows=1 loops=1)\n"
      "  ->  Seq Scan on a  (cost=0.00..1.00 rows=10 width=4) (actual time=0.100..0.200 rows=10 loops=1)\n"
      "  ->  Hash  (cost=1.00..1.00 rows=1 width=4) (actual time=0.100..0.200 rows=0 loops=1)\n"
      "        ->  Seq Scan on b  (cost=0.00..1.00 rows=1 width=4) (never executed)\n");
  const PlanMetrics metrics = derive_metrics(plan);
  EXPECT_EQ(metrics.nodes[0].misestimate_direction, EstimateDirection::over);
  EXPECT_DOUBLE_EQ(*metrics.nodes[0].misestimate_factor, 100);
  EXPECT_EQ(metrics.nodes[1].misestimate_direction, EstimateDirection::none);
  EXPECT_DOUBLE_EQ(*metrics.nodes[1].misestimate_factor, 1);
  EXPECT_TRUE(std::isinf(*metrics.nodes[2].misestimate_factor));
  EXPECT_EQ(metrics.worst_misestimate_node, 0u);
  // Never executed: no misestimate, no time of its own, zero rows.
  EXPECT_FALSE(metrics.nodes[3].misestimate_factor);
  EXPECT_DOUBLE_EQ(*metrics.nodes[3].inclusive_time_ms, 0);
  EXPECT_DOUBLE_EQ(*metrics.nodes[3].actual_rows_total, 0);
  EXPECT_DOUBLE_EQ(*metrics.total_time_ms, 2.0);  // no Execution Time: the root's

  const Plan estimate_only = parse_explain_json(read_fixture("estimate_only_join.json"));
  const PlanMetrics estimated = derive_metrics(estimate_only);
  for (const NodeMetrics& m : estimated.nodes) {
    EXPECT_FALSE(m.inclusive_time_ms);
    EXPECT_FALSE(m.exclusive_time_ms);
    EXPECT_FALSE(m.misestimate_factor);
    EXPECT_FALSE(m.actual_rows_total);
    EXPECT_TRUE(m.planned_rows_total);
  }
  EXPECT_FALSE(estimated.slowest_node);
  EXPECT_FALSE(estimated.total_time_ms);
}

TEST(PlanMetrics, IdsFollowPreorderAndLabelsNameTheNode) {
  const Plan plan = parse_explain_json(read_fixture("nested_loop.json"));
  const PlanMetrics metrics = derive_metrics(plan);
  const auto nodes = preorder(plan);
  ASSERT_EQ(metrics.nodes.size(), nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    EXPECT_EQ(metrics.plan_nodes[i], nodes[i]);
    EXPECT_EQ(metrics.nodes[i].id, i);
  }
  EXPECT_EQ(metrics.nodes[1].label, "node 1: Seq Scan on customers c");
  EXPECT_EQ(metrics.nodes[2].label, "node 2: Index Scan using orders_customer_id_idx on orders o");
  EXPECT_EQ(metrics.nodes[2].path, "0.1");
  EXPECT_EQ(metrics.nodes[0].children, (std::vector<std::size_t>{1, 2}));
  // 333 loops of the index scan: rows are totals over loops.
  const PlanNode& index_scan = *nodes[2];
  EXPECT_DOUBLE_EQ(*metrics.nodes[2].actual_rows_total, index_scan.actuals->rows * 333);
  EXPECT_DOUBLE_EQ(*metrics.nodes[2].planned_rows_total, index_scan.estimates->rows * 333);
}

}  // namespace
}  // namespace dbopt::plan
