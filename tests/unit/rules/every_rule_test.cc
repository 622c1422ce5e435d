// Every rule of the shipped knowledge base has an input that makes it fire and
// one that must not (DESIGN.md, "Findings and rules"), and every checker
// implements exactly the rules the knowledge base defines.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "core/rules/plan_checker.h"
#include "core/rules/query_checker.h"
#include "core/sql/query_model.h"
#include "rule_cases.h"

namespace dbopt::rules {
namespace {

using knowledge::Category;
using knowledge::Finding;
using testing::plan_cases;
using testing::query_cases;
using testing::shipped_rules;

// The plan and query rules, which core/rules' checkers run; the rules of the
// other categories are tested with their tools (tests/unit/pool, advisor, nplusone).
std::vector<std::string> shipped_ids() {
  std::vector<std::string> ids;
  try {
    for (const auto& rule : shipped_rules().rules())
      if (rule.category == Category::plan || rule.category == Category::query) ids.push_back(rule.id);
  } catch (const std::exception&) {
    // RuleBookLoads below reports the reason; an empty list fails instantiation.
  }
  return ids;
}

std::string ids_of(const std::vector<Finding>& findings) {
  std::string out;
  for (const auto& f : findings) out += (out.empty() ? "" : ", ") + f.rule_id;
  return out.empty() ? "(none)" : out;
}

// A fired finding must be usable as it stands: its templates fully rendered.
void expect_complete(const Finding& finding) {
  EXPECT_FALSE(finding.summary.empty()) << finding.rule_id;
  EXPECT_FALSE(finding.fix.empty()) << finding.rule_id;
  EXPECT_EQ(finding.summary.find("{{"), std::string::npos) << finding.summary;
  EXPECT_EQ(finding.fix.find("{{"), std::string::npos) << finding.fix;
  EXPECT_EQ(finding.title, shipped_rules().rule(finding.rule_id).title);
  EXPECT_FALSE(finding.where.describe().empty()) << finding.rule_id << " has no location";
}

TEST(RuleBookLoads, ShippedRulesLoad) { EXPECT_NO_THROW(shipped_rules()); }

class EveryRule : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryRule, FiresOnItsCaseAndStaysQuietOnTheOther) {
  const std::string id = GetParam();
  const auto& rule = shipped_rules().rule(id);
  int firing = 0;
  int quiet = 0;
  if (rule.category == Category::plan) {
    for (const auto& c : plan_cases()) {
      if (c.rule_id != id) continue;
      SCOPED_TRACE(c.name);
      (c.fires ? firing : quiet)++;
      const auto analyzed = testing::analyze(c.explain());
      const auto findings = check_plan(analyzed->plan, analyzed->metrics, shipped_rules(), c.tables);
      const auto hit =
          std::find_if(findings.begin(), findings.end(), [&](const Finding& f) { return f.rule_id == id; });
      EXPECT_EQ(hit != findings.end(), c.fires) << "findings: " << ids_of(findings);
      if (hit != findings.end()) expect_complete(*hit);
    }
  } else if (rule.category == Category::query) {
    for (const auto& c : query_cases()) {
      if (c.rule_id != id) continue;
      SCOPED_TRACE(c.sql);
      (c.fires ? firing : quiet)++;
      const auto findings = check_query(sql::parse_query(c.sql), shipped_rules());
      const auto hit =
          std::find_if(findings.begin(), findings.end(), [&](const Finding& f) { return f.rule_id == id; });
      EXPECT_EQ(hit != findings.end(), c.fires) << "findings: " << ids_of(findings);
      if (hit != findings.end()) {
        expect_complete(*hit);
        EXPECT_EQ(hit->source, knowledge::EvidenceSource::inferred);
      }
    }
  } else {
    FAIL() << id << " is in category " << to_string(rule.category) << ", which no checker here runs";
  }
  EXPECT_GT(firing, 0) << id << " has no case that makes it fire (tests/unit/rules/rule_cases.cc)";
  EXPECT_GT(quiet, 0) << id << " has no case where it must stay quiet (tests/unit/rules/rule_cases.cc)";
}

INSTANTIATE_TEST_SUITE_P(Shipped, EveryRule, ::testing::ValuesIn(shipped_ids()),
                         [](const auto& info) { return info.param; });

TEST(RuleCoverage, CheckersImplementExactlyTheShippedRules) {
  std::set<std::string> implemented;
  for (auto id : plan_rule_ids()) implemented.emplace(id);
  for (auto id : query_rule_ids()) implemented.emplace(id);
  std::set<std::string> shipped;
  for (const auto& rule : shipped_rules().rules()) {
    if (rule.category == Category::plan || rule.category == Category::query) shipped.insert(rule.id);
  }
  for (const auto& id : shipped) EXPECT_TRUE(implemented.contains(id)) << id << " has no checker";
  for (const auto& id : implemented)
    EXPECT_TRUE(shipped.contains(id)) << id << " is checked but not in knowledge/rules";
  for (auto id : plan_rule_ids()) EXPECT_EQ(shipped_rules().rule(id).category, Category::plan) << id;
  for (auto id : query_rule_ids()) EXPECT_EQ(shipped_rules().rule(id).category, Category::query) << id;
}

TEST(RuleCoverage, EveryCaseNamesAShippedRule) {
  for (const auto& c : plan_cases()) EXPECT_TRUE(shipped_rules().contains(c.rule_id)) << c.rule_id;
  for (const auto& c : query_cases()) EXPECT_TRUE(shipped_rules().contains(c.rule_id)) << c.rule_id;
}

}  // namespace
}  // namespace dbopt::rules
