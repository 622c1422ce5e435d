// Shared helpers for the core/pool tests: the shipped rules and platform
// table, a design from inputs, and lookups into it.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "core/pool/platforms.h"
#include "core/pool/pool_design.h"
#include "knowledge/rule_book.h"

namespace dbopt::pool::testing {

inline const knowledge::RuleBook& shipped_rules() {
  static const knowledge::RuleBook book =
      knowledge::RuleBook::load_directory(std::string(DBOPT_SOURCE_DIR) + "/knowledge/rules");
  return book;
}

inline const PlatformTable& shipped_platforms() {
  static const PlatformTable table = PlatformTable::load(std::string(DBOPT_SOURCE_DIR) + "/knowledge/platforms.yaml");
  return table;
}

inline PoolDesign design(const PoolInputs& in, const LiveState* live = nullptr) {
  return design_pool(in, shipped_platforms(), shipped_rules(), live);
}

inline const knowledge::Finding* finding(const PoolDesign& d, const std::string& rule_id) {
  auto it = std::find_if(d.findings.begin(), d.findings.end(),
                         [&](const knowledge::Finding& f) { return f.rule_id == rule_id; });
  return it == d.findings.end() ? nullptr : &*it;
}

inline const SizingStep* step(const PoolDesign& d, const std::string& id) {
  auto it = std::find_if(d.sizing.steps.begin(), d.sizing.steps.end(), [&](const SizingStep& s) { return s.id == id; });
  return it == d.sizing.steps.end() ? nullptr : &*it;
}

inline std::string ids_of(const PoolDesign& d) {
  std::string out;
  for (const auto& f : d.findings) out += (out.empty() ? "" : ", ") + f.rule_id;
  return out;
}

}  // namespace dbopt::pool::testing
