// Rule templates, severity and category names, and the ordering of findings.
#include "knowledge/rule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/common/error.h"
#include "knowledge/finding.h"

namespace dbopt::knowledge {
namespace {

using ::testing::HasSubstr;

TEST(Templates, FillEveryPlaceholder) {
  EXPECT_EQ(render_template("SET LOCAL work_mem = '{{work_mem}}'; -- {{work_mem}}", {{"work_mem", "16MB"}}, "R"),
            "SET LOCAL work_mem = '16MB'; -- 16MB");
  // Braces that are not placeholders are SQL or JSON and stay as written.
  EXPECT_EQ(render_template("'{1,2}'::int[] and {{ not one }}", {}, "R"), "'{1,2}'::int[] and {{ not one }}");
}

TEST(Templates, MissingValueIsACheckerBugNamingRuleAndPlaceholder) {
  Rule rule;
  rule.id = "PLAN_X";
  rule.fix = "CREATE INDEX ON {{table}} ({{columns}});";
  try {
    rule.render_fix({{"table", "orders"}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::internal);
    EXPECT_THAT(e.what(), HasSubstr("PLAN_X"));
    EXPECT_THAT(e.what(), HasSubstr("{{columns}}"));
  }
}

TEST(Templates, ListPlaceholdersOnceInOrder) {
  EXPECT_EQ(template_placeholders("{{b}} {{a}} {{b}} {x}"), (std::vector<std::string>{"b", "a"}));
}

TEST(Names, RoundTrip) {
  for (Severity s : {Severity::info, Severity::low, Severity::medium, Severity::high, Severity::critical}) {
    EXPECT_EQ(parse_severity(to_string(s)), s);
  }
  for (Category c : {Category::plan, Category::query, Category::index, Category::schema, Category::workload,
                     Category::pool, Category::migration, Category::health, Category::scale}) {
    EXPECT_EQ(parse_category(to_string(c)), c);
  }
  EXPECT_FALSE(parse_severity("High").has_value());
  EXPECT_FALSE(parse_category("").has_value());
  EXPECT_STREQ(to_string(EvidenceSource::measured), "measured");
}

Finding finding(std::string id, Severity severity, std::optional<double> saving) {
  Finding f;
  f.rule_id = std::move(id);
  f.severity = severity;
  f.saving_share = saving;
  return f;
}

TEST(SortByImpact, SavingFirstThenSeverityThenId) {
  std::vector<Finding> findings{
      finding("QUERY_B", Severity::low, std::nullopt),  finding("PLAN_SMALL", Severity::critical, 0.05),
      finding("QUERY_A", Severity::high, std::nullopt), finding("PLAN_BIG", Severity::low, 0.8),
      finding("QUERY_C", Severity::high, std::nullopt),
  };
  sort_by_impact(findings);
  std::vector<std::string> order;
  for (const auto& f : findings) order.push_back(f.rule_id);
  EXPECT_EQ(order, (std::vector<std::string>{"PLAN_BIG", "PLAN_SMALL", "QUERY_A", "QUERY_C", "QUERY_B"}));
}

TEST(Location, DescribesTheMostSpecificPlace) {
  Location node;
  node.plan_node_id = 3;
  node.plan_node_label = "node 3: Seq Scan on orders";
  node.table = "orders";
  EXPECT_EQ(node.describe(), "node 3: Seq Scan on orders");

  Location clause;
  clause.clause = "WHERE";
  clause.table = "users";
  clause.column = "email";
  EXPECT_EQ(clause.describe(), "WHERE, users.email");

  Location text_only;
  text_only.text = "count(*) > 0";
  EXPECT_EQ(text_only.describe(), "count(*) > 0");
}

}  // namespace
}  // namespace dbopt::knowledge
