// Test helpers: the EXPLAIN fixtures captured from PostgreSQL 15 by
// tests/fixtures/plans/capture.sh, and a way to compare two plans of the same
// query captured in two runs (their timings differ, nothing else should).
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "core/plan/plan.h"

namespace dbopt::plan::testing {

inline std::string read_fixture(const std::string& file) {
  const std::string path = std::string(DBOPT_FIXTURES_DIR) + "/plans/" + file;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Clears what differs between two executions of the same plan: times, and
// the planner's buffer counts, which depend on the session's catalog cache.
inline void forget_timings(PlanNode& node) {
  if (node.actuals) {
    node.actuals->startup_time_ms.reset();
    node.actuals->total_time_ms.reset();
  }
  for (PlanNode& child : node.children) forget_timings(child);
}

// For a write: its buffers and WAL differ from run to run (page splits, the
// background writer), so they are not compared either.
inline void forget_write_effects(PlanNode& node) {
  node.buffers = Buffers{};
  node.wal = WalUsage{};
  for (PlanNode& child : node.children) forget_write_effects(child);
}

inline Plan without_timings(Plan plan) {
  forget_timings(plan.root);
  plan.planning_time_ms.reset();
  plan.execution_time_ms.reset();
  plan.planning_buffers = Buffers{};
  if (plan.jit) {
    JitSummary& jit = *plan.jit;
    jit.generation_ms = jit.inlining_ms = jit.optimization_ms = jit.emission_ms = jit.total_ms = 0;
    jit.deform_ms.reset();
  }
  for (TriggerTime& trigger : plan.triggers) trigger.time_ms.reset();
  return plan;
}

}  // namespace dbopt::plan::testing
