// ExplainReport: what explain_query found, and its two renderings (structured
// content matching explain_report_output_schema(), and markdown a person
// reads in one screen: the slowest part first, then the findings with the SQL
// of their fix, then the evidence).
//
// The report only formats: plans arrive analysed (AnalysedPlan) and findings
// come from core/rules. Internal to the explain_query tool.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/pg/hypothetical_indexes.h"
#include "core/plan/plan.h"
#include "core/plan/plan_metrics.h"
#include "core/sql/query_model.h"
#include "knowledge/finding.h"
#include "tools/tool.h"

namespace dbopt::tools::explain {

// A plan and its metrics. The metrics point into the plan, which therefore
// lives on the heap and never moves.
struct AnalysedPlan {
  std::unique_ptr<const plan::Plan> plan;
  plan::PlanMetrics metrics;
};
AnalysedPlan analyse_plan(plan::Plan plan);

struct HypotheticalIndexOutcome {
  std::string statement;  // as the caller wrote it
  pg::HypotheticalIndex index;
  bool used = false;  // the "after" plan scans it
};

struct HypotheticalComparison {
  AnalysedPlan before;
  AnalysedPlan after;
  std::vector<HypotheticalIndexOutcome> indexes;
};

// What the DDL in `schema` says about the query's tables.
struct SchemaSummary {
  int statements = 0;
  std::vector<std::string> tables_defined;
  std::vector<std::string> indexes_on_query_tables;     // CREATE INDEX texts
  std::vector<sql::IndexDefinition> index_definitions;  // the same, parsed
  std::vector<std::string> query_tables_not_defined;
};

enum class Mode { pasted_plan, text_only, live_explain, live_explain_analyze, hypothetical_indexes };
const char* to_string(Mode mode);

struct ExplainReport {
  Mode mode = Mode::text_only;
  std::string database;                    // live modes: the database's configured name
  const sql::QueryModel* query = nullptr;  // when SQL text was analysed
  std::string query_fingerprint;
  const AnalysedPlan* plan = nullptr;        // the plan the plan findings are about
  bool generic_plan = false;                 // planned for $n placeholders without values
  bool parameters_bound = false;             // params were sent as bound parameters
  std::vector<knowledge::Finding> findings;  // sorted, plan and query findings together
  const HypotheticalComparison* hypothetical = nullptr;
  std::optional<SchemaSummary> schema;
  std::vector<std::string> notes;  // what was done or left out, and why
};

// ToolResult with structured content and markdown.
ToolResult render(const ExplainReport& report);

Json output_schema();

}  // namespace dbopt::tools::explain
