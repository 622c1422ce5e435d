// Every shipped rule's test cases: inputs that must make it fire and inputs
// that must not. every_rule_test.cc runs them all and fails when a rule of the
// knowledge base has no case of either kind, so a new rule cannot ship untested.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/plan/plan.h"
#include "core/plan/plan_metrics.h"
#include "core/rules/plan_checker.h"
#include "knowledge/rule_book.h"

namespace dbopt::rules::testing {

struct PlanCase {
  std::string rule_id;
  bool fires = true;
  std::string name;                      // what the case shows, for failure messages
  std::function<std::string()> explain;  // EXPLAIN output, JSON or TEXT
  TableSizes tables = {};                // the catalog's sizes, as a live EXPLAIN reads them
};

struct QueryCase {
  std::string rule_id;
  bool fires = true;
  std::string sql;
};

const std::vector<PlanCase>& plan_cases();
// A plan that read 20,000 blocks from outside shared_buffers, without and with I/O timings.
const char* cold_cache_scan();
const char* cold_cache_scan_with_io_timings();
const std::vector<QueryCase>& query_cases();

// Helpers shared by the rule tests.
const knowledge::RuleBook& shipped_rules();
std::string read_fixture(const std::string& name);  // tests/fixtures/plans/<name>
// The fixture's text with every `from` replaced by `to`; fails the test if `from` is absent.
std::string fixture_with(const std::string& name, const std::string& from, const std::string& to);

// A plan and its metrics together, since the metrics point into the plan.
struct AnalyzedPlan {
  plan::Plan plan;
  plan::PlanMetrics metrics;
};
std::unique_ptr<AnalyzedPlan> analyze(const std::string& explain_output);

}  // namespace dbopt::rules::testing
