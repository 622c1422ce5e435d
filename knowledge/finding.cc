#include "knowledge/finding.h"

#include <algorithm>
#include <tuple>

namespace dbopt::knowledge {

const char* to_string(EvidenceSource source) {
  switch (source) {
    case EvidenceSource::measured:
      return "measured";
    case EvidenceSource::estimated:
      return "estimated";
    case EvidenceSource::inferred:
      return "inferred";
  }
  return "unknown";
}

std::string Location::describe() const {
  if (!plan_node_label.empty()) return plan_node_label;
  std::string out = clause;
  auto add = [&](const std::string& part) {
    if (part.empty()) return;
    if (!out.empty()) out += ", ";
    out += part;
  };
  if (!table.empty() && !column.empty()) {
    add(table + "." + column);
  } else {
    add(table);
    add(column);
  }
  if (out.empty()) out = text;
  return out;
}

void sort_by_impact(std::vector<Finding>& findings) {
  std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    const double saving_a = a.saving_share.value_or(0);
    const double saving_b = b.saving_share.value_or(0);
    if (saving_a != saving_b) return saving_a > saving_b;
    if (a.severity != b.severity) return a.severity > b.severity;
    const std::size_t node_a = a.where.plan_node_id.value_or(0);
    const std::size_t node_b = b.where.plan_node_id.value_or(0);
    return std::tie(a.rule_id, node_a, a.where.table, a.where.column, a.where.text) <
           std::tie(b.rule_id, node_b, b.where.table, b.where.column, b.where.text);
  });
}

}  // namespace dbopt::knowledge
