// Finding: one piece of advice about one query or plan, tied to the Rule that
// produced it and to the numbers that made it fire.
//
// Every analyzer (plan checks, query checks, index advice, N+1 detection)
// reports Findings, so every face (MCP, REST, CLI) renders them alike. A
// finding says where it applies (plan node, clause, table), what it rests on
// (measured by EXPLAIN ANALYZE, estimated by the planner, or inferred from the
// text) and the fix rendered for this case.
//
// Plain value type; copyable; no references into the plan or query it came from.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "knowledge/rule.h"

namespace dbopt::knowledge {

// What the finding rests on: users weigh a measurement above a guess.
enum class EvidenceSource {
  measured,   // EXPLAIN ANALYZE figures
  estimated,  // the planner's estimates (EXPLAIN without ANALYZE)
  inferred,   // the SQL text alone
};
const char* to_string(EvidenceSource source);

struct Location {
  std::optional<std::size_t> plan_node_id;  // PlanMetrics id (pre-order index)
  std::string plan_node_label;              // "node 3: Seq Scan on orders o"
  std::string clause;                       // "WHERE", "ORDER BY", "SELECT list" ...
  std::string table;
  std::string column;
  std::string text;  // the SQL fragment or plan condition the finding is about

  // One line for people: the node label, else clause, table and column.
  std::string describe() const;
  bool operator==(const Location&) const = default;
};

struct Finding {
  std::string rule_id;
  std::string title;
  Category category = Category::plan;
  Severity severity = Severity::medium;
  Location where;
  std::string summary;  // the rule's summary rendered for this case
  std::string fix;      // the rule's fix rendered for this case (markdown)
  EvidenceSource source = EvidenceSource::inferred;
  // The evidence, by name; units are in the names (time_ms, disk_kb, share).
  std::map<std::string, double> numbers;
  std::map<std::string, std::string> facts;
  // Share (0..1) of the total run time that fixing this could save at most:
  // the time of the part of the plan it is about. Absent for advice on text.
  std::optional<double> saving_share;

  bool operator==(const Finding&) const = default;
};

// Most to gain first (saving_share, absent counting as 0), then severity, then
// rule id and location, so the order is the same on every run.
void sort_by_impact(std::vector<Finding>& findings);

}  // namespace dbopt::knowledge
