// PlanMetrics: the figures dbopt derives from a Plan, computed once so every
// finding and every renderer uses the same numbers.
//
// The definitions follow pev2 (dalibo/pev2, src/services/plan-service.ts),
// so dbopt's numbers match what people see there:
//  - inclusive time = Actual Total Time x loops / (W + 1), where W is the
//    "Workers Launched" of the nearest Gather / Gather Merge above the node.
//    pev2 divides every node below the Gather, parallel-aware or not, and
//    none reached through an InitPlan, SubPlan or CTE; so does dbopt.
//  - exclusive time = inclusive - the children's inclusive times, children
//    introduced as InitPlans (CTEs among them) not subtracted, except under a
//    Result node; then each CTE's own time is taken off its CTE Scans in
//    proportion to their time, and an InitPlan's time is taken off each node
//    whose text mentions its output ("$1", "InitPlan 1"). Never negative.
//  - rows = actual rows x loops; misestimate = max(actual/planned,
//    planned/actual) on per-loop rows, with its direction.
//  - exclusive buffers = the node's counts minus its children's, children
//    introduced as InitPlan / SubPlan / CTE not subtracted (they run inside
//    the node). May come out negative where PostgreSQL's counters disagree.
// Deliberate differences from pev2: exclusive time is clamped at 0 after the
// InitPlan step too (pev2 can show it negative), and a node that never ran
// gets no misestimate (pev2 reports an infinite overestimate).
//
// Thresholds (what counts as slow or badly estimated) are not here: the
// knowledge base holds them. Pure function of the Plan; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/plan/plan.h"

namespace dbopt::plan {

enum class EstimateDirection {
  none,   // as planned
  under,  // more rows than the planner expected
  over,   // fewer rows than the planner expected
};

struct NodeMetrics {
  std::size_t id = 0;                 // pre-order index: the root is 0
  std::optional<std::size_t> parent;  // absent on the root
  std::vector<std::size_t> children;
  int depth = 0;
  std::string path;   // child positions from the root: "0", "0.1", "0.1.0"
  std::string label;  // "node 3: Seq Scan on orders o"

  // Times need EXPLAIN ANALYZE with timing; a node that never ran has 0.
  std::optional<double> inclusive_time_ms;
  std::optional<double> exclusive_time_ms;
  // exclusive / the plan's execution time (the root's time when the plan has
  // no Execution Time), 0..1.
  std::optional<double> exclusive_time_share;
  // "Workers Launched" of the Gather above, which the times were divided by.
  std::optional<std::int64_t> gather_workers_launched;

  std::optional<double> actual_rows_total;   // actual rows x loops
  std::optional<double> planned_rows_total;  // plan rows x loops (x 1 without ANALYZE)
  // Infinite when one side is 0 and the other is not.
  std::optional<double> misestimate_factor;
  EstimateDirection misestimate_direction = EstimateDirection::none;

  double rows_removed_by_filter_total = 0;
  double rows_removed_by_join_filter_total = 0;
  double rows_removed_by_index_recheck_total = 0;
  // removed / (removed + returned), both over all loops: the share of the rows
  // the node looked at that its Filter (or Join Filter) threw away.
  std::optional<double> filter_removal_share;
  std::optional<double> join_filter_removal_share;

  Buffers exclusive_buffers;
  // Planner cost of the node minus its children's (pev2's exclusive cost);
  // absent under COSTS OFF. Ranks nodes when nothing was timed.
  std::optional<double> exclusive_cost;

  double heap_fetches = 0;                 // Index Only Scan
  std::optional<double> heap_fetch_share;  // heap fetches / rows returned
  bool sort_spilled = false;               // sort went to disk
  std::optional<std::int64_t> sort_disk_kb;
  bool hash_spilled = false;       // hash table needed more than one batch
  bool hash_batches_grew = false;  // more batches than the planner planned
  bool hash_aggregate_spilled = false;
  std::optional<std::int64_t> hash_aggregate_disk_kb;
  std::optional<double> lossy_block_share;  // lossy / (exact + lossy) heap blocks
  std::optional<double> memoize_hit_rate;   // hits / (hits + misses)
  std::optional<std::int64_t> workers_planned;
  std::optional<std::int64_t> workers_launched;
  bool workers_missing = false;  // launched fewer than planned
};

struct PlanMetrics {
  // By id. nodes[i] describes plan_nodes[i].
  std::vector<NodeMetrics> nodes;
  // Pointers into the Plan that was measured: valid while it lives unchanged.
  std::vector<const PlanNode*> plan_nodes;

  // What time shares are shares of: Execution Time, else the root's time.
  std::optional<double> total_time_ms;
  std::optional<double> jit_time_ms;
  std::optional<double> jit_share;                    // JIT total / execution time
  std::optional<std::size_t> slowest_node;            // largest exclusive time
  std::optional<std::size_t> worst_misestimate_node;  // largest finite factor
  // What cost shares are shares of: the sum of the exclusive costs. Equal to
  // the root's total cost, except under a Limit, whose cost is below its
  // input's (it stops early) while its input is costed as run to the end.
  double summed_exclusive_cost = 0;
  // The nodes' own times added up; above total_time_ms when parallel workers'
  // times are summed or a pasted plan's numbers disagree (time shares are then
  // shares of this sum).
  double summed_exclusive_time_ms = 0;
};

PlanMetrics derive_metrics(const Plan& plan);
// The metrics point into the plan: measuring a temporary would leave them
// dangling, so it does not compile.
PlanMetrics derive_metrics(Plan&& plan) = delete;

}  // namespace dbopt::plan
