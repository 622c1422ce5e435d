#include "core/plan/plan_metrics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string_view>

namespace dbopt::plan {

namespace {

bool is_cte(const PlanNode& node) {
  return node.parent_relationship == "InitPlan" && node.subplan_name && node.subplan_name->starts_with("CTE");
}

// pev2 passes a Gather's worker count down to every descendant except those
// reached through an InitPlan, a SubPlan or a CTE, which run in the leader.
bool inherits_gather_workers(const PlanNode& child) {
  return !is_cte(child) && child.parent_relationship != "InitPlan" && child.parent_relationship != "SubPlan";
}

double loops_or_one(const PlanNode& node) { return node.actuals && node.actuals->loops > 0 ? node.actuals->loops : 1; }

double round3(double value) { return std::round(value * 1000) / 1000; }

void add(Buffers& a, const Buffers& b) {
  a.shared_hit += b.shared_hit;
  a.shared_read += b.shared_read;
  a.shared_dirtied += b.shared_dirtied;
  a.shared_written += b.shared_written;
  a.local_hit += b.local_hit;
  a.local_read += b.local_read;
  a.local_dirtied += b.local_dirtied;
  a.local_written += b.local_written;
  a.temp_read += b.temp_read;
  a.temp_written += b.temp_written;
  a.io_read_time_ms += b.io_read_time_ms;
  a.io_write_time_ms += b.io_write_time_ms;
  a.temp_io_read_time_ms += b.temp_io_read_time_ms;
  a.temp_io_write_time_ms += b.temp_io_write_time_ms;
}

// pev2 rounds the I/O times to microseconds, which keeps float noise out.
Buffers minus(Buffers a, const Buffers& b) {
  a.shared_hit -= b.shared_hit;
  a.shared_read -= b.shared_read;
  a.shared_dirtied -= b.shared_dirtied;
  a.shared_written -= b.shared_written;
  a.local_hit -= b.local_hit;
  a.local_read -= b.local_read;
  a.local_dirtied -= b.local_dirtied;
  a.local_written -= b.local_written;
  a.temp_read -= b.temp_read;
  a.temp_written -= b.temp_written;
  a.io_read_time_ms = round3(a.io_read_time_ms - b.io_read_time_ms);
  a.io_write_time_ms = round3(a.io_write_time_ms - b.io_write_time_ms);
  a.temp_io_read_time_ms = round3(a.temp_io_read_time_ms - b.temp_io_read_time_ms);
  a.temp_io_write_time_ms = round3(a.temp_io_write_time_ms - b.temp_io_write_time_ms);
  return a;
}

std::optional<double> share(double part, double whole) {
  if (whole <= 0) return std::nullopt;
  return part / whole;
}

// pev2's calculatePlannerEstimate, on per-loop rows.
void set_misestimate(const PlanNode& node, NodeMetrics& m) {
  if (!node.actuals || !node.estimates) return;
  const double actual = node.actuals->rows;
  const double planned = node.estimates->rows;
  if (actual > planned) {
    m.misestimate_direction = EstimateDirection::under;
    m.misestimate_factor = planned > 0 ? actual / planned : std::numeric_limits<double>::infinity();
  } else if (actual < planned) {
    m.misestimate_direction = EstimateDirection::over;
    m.misestimate_factor = actual > 0 ? planned / actual : std::numeric_limits<double>::infinity();
  } else {
    m.misestimate_factor = 1;
  }
}

void set_node_figures(const PlanNode& node, bool timed, NodeMetrics& m) {
  if (node.actuals && node.actuals->total_time_ms) {
    const double workers = static_cast<double>(m.gather_workers_launched.value_or(0));
    m.inclusive_time_ms = *node.actuals->total_time_ms * node.actuals->loops / (workers + 1);
  } else if (node.never_executed && timed) {
    m.inclusive_time_ms = 0;
  }

  const double loops = loops_or_one(node);
  if (node.actuals) m.actual_rows_total = node.actuals->rows * loops;
  if (node.never_executed) m.actual_rows_total = 0;
  if (node.estimates) m.planned_rows_total = node.estimates->rows * loops;
  set_misestimate(node, m);

  m.rows_removed_by_filter_total = node.rows_removed_by_filter * loops;
  m.rows_removed_by_join_filter_total = node.rows_removed_by_join_filter * loops;
  m.rows_removed_by_index_recheck_total = node.rows_removed_by_index_recheck * loops;
  if (node.actuals) {
    const double returned = *m.actual_rows_total;
    if (node.filter || node.rows_removed_by_filter > 0) {
      m.filter_removal_share = share(m.rows_removed_by_filter_total, m.rows_removed_by_filter_total + returned);
    }
    if (node.join_filter || node.rows_removed_by_join_filter > 0) {
      m.join_filter_removal_share =
          share(m.rows_removed_by_join_filter_total, m.rows_removed_by_join_filter_total + returned);
    }
    if (node.node_type == "Index Only Scan") m.heap_fetch_share = share(node.heap_fetches, returned);
  }
  m.heap_fetches = node.heap_fetches;

  if (node.sort_space_type == "Disk") {
    m.sort_spilled = true;
    m.sort_disk_kb = node.sort_space_used_kb;
  }
  if (node.hash_table) {
    m.hash_spilled = node.hash_table->batches > 1;
    m.hash_batches_grew = node.hash_table->batches > node.hash_table->original_batches;
  }
  if (node.hash_aggregation) {
    m.hash_aggregate_spilled = node.hash_aggregation->batches > 1 || node.hash_aggregation->disk_usage_kb > 0;
    m.hash_aggregate_disk_kb = node.hash_aggregation->disk_usage_kb;
  }
  m.lossy_block_share = share(static_cast<double>(node.lossy_heap_blocks),
                              static_cast<double>(node.exact_heap_blocks + node.lossy_heap_blocks));
  if (node.memoize_cache) {
    m.memoize_hit_rate = share(static_cast<double>(node.memoize_cache->hits),
                               static_cast<double>(node.memoize_cache->hits + node.memoize_cache->misses));
  }
  m.workers_planned = node.workers_planned;
  m.workers_launched = node.workers_launched;
  m.workers_missing = node.workers_planned && node.workers_launched && *node.workers_launched < *node.workers_planned;
}

// pev2's childrenDuration: InitPlans run once for the whole plan, so they
// are not part of the node they hang under, except under a Result.
void set_exclusive_time(const PlanMetrics& metrics, std::size_t id, NodeMetrics& m) {
  if (!m.inclusive_time_ms) return;
  const PlanNode& node = *metrics.plan_nodes[id];
  double children = 0;
  for (std::size_t child_id : m.children) {
    const PlanNode& child = *metrics.plan_nodes[child_id];
    if (is_cte(child)) continue;
    if (child.parent_relationship == "InitPlan" && node.node_type != "Result") continue;
    children += metrics.nodes[child_id].inclusive_time_ms.value_or(0);
  }
  m.exclusive_time_ms = std::max(0.0, *m.inclusive_time_ms - children);
}

// pev2's fixCteScansDuration: a CTE runs as its scans pull rows, so its time
// sits inside their times; take it off in proportion to each scan's time.
void share_cte_time(PlanMetrics& metrics) {
  for (std::size_t cte_id = 0; cte_id < metrics.nodes.size(); ++cte_id) {
    const PlanNode& cte = *metrics.plan_nodes[cte_id];
    if (!is_cte(cte)) continue;
    const double cte_time = metrics.nodes[cte_id].inclusive_time_ms.value_or(0);
    std::vector<std::size_t> scans;
    double scans_time = 0;
    for (std::size_t id = 0; id < metrics.nodes.size(); ++id) {
      const PlanNode& node = *metrics.plan_nodes[id];
      if (node.cte_name && "CTE " + *node.cte_name == *cte.subplan_name) {
        scans.push_back(id);
        scans_time += metrics.nodes[id].exclusive_time_ms.value_or(0);
      }
    }
    if (scans_time <= 0) continue;
    for (std::size_t id : scans) {
      NodeMetrics& scan = metrics.nodes[id];
      if (!scan.exclusive_time_ms) continue;
      scan.exclusive_time_ms =
          std::max(0.0, *scan.exclusive_time_ms - cte_time * scan.inclusive_time_ms.value_or(0) / scans_time);
    }
  }
}

// The texts pev2 searches for an InitPlan's output: every string-valued
// property of the node (lists such as Output and Sort Key are not searched).
std::vector<std::string_view> searchable_texts(const PlanNode& node) {
  std::vector<std::string_view> texts{node.node_type};
  for (const std::optional<std::string>* field :
       {&node.relation_name,       &node.schema,          &node.alias,
        &node.index_name,          &node.cte_name,        &node.function_name,
        &node.join_type,           &node.strategy,        &node.partial_mode,
        &node.operation,           &node.set_operation,   &node.custom_plan_provider,
        &node.parent_relationship, &node.subplan_name,    &node.filter,
        &node.index_cond,          &node.recheck_cond,    &node.hash_cond,
        &node.merge_cond,          &node.join_filter,     &node.one_time_filter,
        &node.sort_method,         &node.sort_space_type, &node.cache_key,
        &node.cache_mode}) {
    if (*field) texts.push_back(**field);
  }
  return texts;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The name pev2 looks for, by its pattern
//   /(InitPlan\s+[1-9]+)(?:\s+\(returns (\$[0-9]+)\))*/
// matched by hand: "$1" when the header says "(returns $1)", else
// "InitPlan 2" (PostgreSQL 17+ headers). Empty when the pattern fails.
std::string init_plan_reference(std::string_view name) {
  for (std::size_t at = name.find("InitPlan"); at != std::string_view::npos; at = name.find("InitPlan", at + 1)) {
    std::size_t i = at + 8;
    const std::size_t spaces = i;
    while (i < name.size() && is_space(name[i])) ++i;
    const std::size_t digits = i;
    while (i < name.size() && name[i] >= '1' && name[i] <= '9') ++i;
    if (digits == spaces || i == digits) continue;
    std::string reference(name.substr(at, i - at));
    // Each "(returns $N)" that follows; the last one wins, as in the regex.
    while (true) {
      std::size_t j = i;
      while (j < name.size() && is_space(name[j])) ++j;
      if (j == i || name.substr(j, 10) != "(returns $") break;
      std::size_t k = j + 10;
      while (k < name.size() && name[k] >= '0' && name[k] <= '9') ++k;
      if (k == j + 10 || k >= name.size() || name[k] != ')') break;
      reference = std::string(name.substr(j + 9, k - j - 9));
      i = k + 1;
    }
    return reference;
  }
  return {};
}

// pev2's fixInitPlanUsageDuration: an InitPlan runs when a node first needs
// its value, inside that node's time; take it off the nodes that mention it.
void take_init_plans_off_users(PlanMetrics& metrics) {
  for (std::size_t init_id = 0; init_id < metrics.nodes.size(); ++init_id) {
    const PlanNode& init_plan = *metrics.plan_nodes[init_id];
    if (init_plan.parent_relationship != "InitPlan" || !init_plan.subplan_name) continue;
    const std::string name = init_plan_reference(*init_plan.subplan_name);
    if (name.empty()) continue;
    const double init_time = metrics.nodes[init_id].inclusive_time_ms.value_or(0);
    for (std::size_t id = 0; id < metrics.nodes.size(); ++id) {
      const PlanNode& node = *metrics.plan_nodes[id];
      NodeMetrics& m = metrics.nodes[id];
      if (node.parent_relationship == "InitPlan" || !m.exclusive_time_ms || *m.exclusive_time_ms == 0) continue;
      const auto texts = searchable_texts(node);
      if (std::any_of(texts.begin(), texts.end(),
                      [&](std::string_view text) { return text.find(name) != std::string_view::npos; })) {
        *m.exclusive_time_ms -= init_time;
      }
    }
  }
}

}  // namespace

PlanMetrics derive_metrics(const Plan& plan) {
  PlanMetrics metrics;
  const bool timed = plan.root.actuals && plan.root.actuals->total_time_ms;

  // Pre-order walk with an explicit stack; ids are positions in this order.
  struct Pending {
    const PlanNode* node;
    std::optional<std::size_t> parent;
    int depth;
    std::string path;
    std::optional<std::int64_t> gather_workers;
  };
  std::vector<Pending> pending;
  pending.push_back({&plan.root, std::nullopt, 0, "0", std::nullopt});
  while (!pending.empty()) {
    Pending item = std::move(pending.back());
    pending.pop_back();
    const std::size_t id = metrics.nodes.size();
    NodeMetrics& m = metrics.nodes.emplace_back();
    metrics.plan_nodes.push_back(item.node);
    m.id = id;
    m.parent = item.parent;
    m.depth = item.depth;
    m.label = "node " + std::to_string(id) + ": " + describe(*item.node);
    m.gather_workers_launched = item.gather_workers;
    if (item.parent) metrics.nodes[*item.parent].children.push_back(id);
    set_node_figures(*item.node, timed, m);

    const PlanNode& node = *item.node;
    std::optional<std::int64_t> below = item.gather_workers;
    if (node.workers_launched && *node.workers_launched != 0) below = node.workers_launched;
    for (std::size_t i = node.children.size(); i-- > 0;) {
      const PlanNode& child = node.children[i];
      pending.push_back({&child, id, item.depth + 1, item.path + "." + std::to_string(i),
                         inherits_gather_workers(child) ? below : std::nullopt});
    }
    m.path = std::move(item.path);
  }

  for (std::size_t id = 0; id < metrics.nodes.size(); ++id) {
    NodeMetrics& m = metrics.nodes[id];
    set_exclusive_time(metrics, id, m);
    Buffers children;
    for (std::size_t child_id : m.children) {
      const PlanNode& child = *metrics.plan_nodes[child_id];
      // InitPlans, SubPlans and CTEs run inside the node: pev2 leaves their
      // buffers in it.
      if (!child.subplan_name) add(children, child.buffers);
    }
    m.exclusive_buffers = minus(metrics.plan_nodes[id]->buffers, children);
    if (const auto& estimates = metrics.plan_nodes[id]->estimates) {
      double own = estimates->total_cost;
      for (std::size_t child_id : m.children)
        if (const auto& e = metrics.plan_nodes[child_id]->estimates) own -= e->total_cost;
      m.exclusive_cost = std::max(0.0, own);
      metrics.summed_exclusive_cost += *m.exclusive_cost;
    }
  }
  if (plan.analyzed) {
    share_cte_time(metrics);
    take_init_plans_off_users(metrics);
  }

  metrics.total_time_ms = plan.execution_time_ms;
  if (!metrics.total_time_ms || *metrics.total_time_ms <= 0) metrics.total_time_ms = metrics.nodes[0].inclusive_time_ms;
  if (plan.jit) {
    metrics.jit_time_ms = plan.jit->total_ms;
    if (plan.execution_time_ms) metrics.jit_share = share(plan.jit->total_ms, *plan.execution_time_ms);
  }

  // Node times that add up to more than the run (parallel workers' summed
  // times, or a pasted plan whose numbers do not agree) are shared out of
  // their sum instead, so no share exceeds 1 and the ranking stays.
  for (NodeMetrics& m : metrics.nodes)
    if (m.exclusive_time_ms) metrics.summed_exclusive_time_ms += std::max(0.0, *m.exclusive_time_ms);
  const double share_of =
      metrics.total_time_ms ? std::max(*metrics.total_time_ms, metrics.summed_exclusive_time_ms) : 0.0;
  double slowest = -1;
  double worst = 0;
  for (NodeMetrics& m : metrics.nodes) {
    if (m.exclusive_time_ms) {
      m.exclusive_time_ms = std::max(0.0, *m.exclusive_time_ms);
      if (metrics.total_time_ms) m.exclusive_time_share = share(*m.exclusive_time_ms, share_of);
      if (*m.exclusive_time_ms > slowest) {
        slowest = *m.exclusive_time_ms;
        metrics.slowest_node = m.id;
      }
    }
    if (m.misestimate_factor && std::isfinite(*m.misestimate_factor) && *m.misestimate_factor > worst) {
      worst = *m.misestimate_factor;
      metrics.worst_misestimate_node = m.id;
    }
  }
  return metrics;
}

}  // namespace dbopt::plan
