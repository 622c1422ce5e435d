// check_plan: the knowledge base's plan rules applied to one EXPLAIN plan.
//
// Each rule of category "plan" that the RuleBook holds is checked once, with
// its thresholds read from the book by name; a rule the book lacks is skipped
// (a deployment may ship a subset), a threshold a present rule lacks throws
// dbopt::Error(not_found). Findings come back sorted by the share of the run
// time they could save (pgMustard's ordering), then severity; each carries
// the numbers it rests on, "measured" under EXPLAIN ANALYZE and "estimated"
// without, and a fix rendered for the node (tables, columns, the work_mem
// that fits a spill).
//
// `tables` (optional) holds the catalog's size of the plan's tables, keyed by
// the relation name as the plan prints it (schema.name under VERBOSE): with
// it, a plan without ANALYZE still shows a scan that reads a whole table for a
// few estimated rows (PLAN_SELECTIVE_SCAN_ESTIMATED).
//
// `metrics` must be derive_metrics(plan) of this very Plan object (its node
// pointers are read); otherwise dbopt::Error(internal). Pure function of its
// inputs; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/plan/plan.h"
#include "core/plan/plan_metrics.h"
#include "knowledge/finding.h"
#include "knowledge/rule_book.h"

namespace dbopt::rules {

// pg_class.reltuples / relpages of one table.
struct TableSize {
  double rows = 0;
  double pages = 0;
};
using TableSizes = std::map<std::string, TableSize>;

std::vector<knowledge::Finding> check_plan(const plan::Plan& plan, const plan::PlanMetrics& metrics,
                                           const knowledge::RuleBook& rules, const TableSizes& tables = {});

// The ids of the plan rules this checker implements, in checking order.
const std::vector<std::string_view>& plan_rule_ids();

}  // namespace dbopt::rules
