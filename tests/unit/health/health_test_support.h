// Shared helpers of the health tests: the shipped rules, lookups in a report.
#pragma once

#include <algorithm>
#include <string>

#include "core/health/health_checks.h"
#include "knowledge/rule_book.h"

namespace dbopt::health::testing {

inline const knowledge::RuleBook& shipped_rules() {
  static const knowledge::RuleBook book =
      knowledge::RuleBook::load_directory(std::string(DBOPT_SOURCE_DIR) + "/knowledge/rules");
  return book;
}

inline const knowledge::Finding* finding(const HealthReport& r, const std::string& rule_id,
                                         const std::string& about = "") {
  auto it = std::find_if(r.findings.begin(), r.findings.end(), [&](const knowledge::Finding& f) {
    return f.rule_id == rule_id && (about.empty() || f.where.table == about || f.where.text == about ||
                                    f.summary.find(about) != std::string::npos);
  });
  return it == r.findings.end() ? nullptr : &*it;
}

inline std::string ids_of(const HealthReport& r) {
  std::string out;
  for (const auto& f : r.findings)
    out += (out.empty() ? "" : ", ") + f.rule_id + "(" + knowledge::to_string(f.severity) + ": " + f.where.describe() +
           ")";
  return out;
}

}  // namespace dbopt::health::testing
