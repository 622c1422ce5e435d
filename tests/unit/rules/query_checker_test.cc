// check_query on SQL text: fixes use the query's own tables and columns, and
// findings say they are inferred from text.
#include "core/rules/query_checker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "rule_cases.h"

namespace dbopt::rules {
namespace {

using knowledge::Finding;
using ::testing::HasSubstr;
using testing::shipped_rules;

std::vector<Finding> check(const std::string& sql) { return check_query(sql::parse_query(sql), shipped_rules()); }

Finding only(const std::vector<Finding>& findings, const std::string& id) {
  const auto count = std::count_if(findings.begin(), findings.end(), [&](const Finding& f) { return f.rule_id == id; });
  EXPECT_EQ(count, 1) << id;
  const auto it = std::find_if(findings.begin(), findings.end(), [&](const Finding& f) { return f.rule_id == id; });
  return it == findings.end() ? Finding{} : *it;
}

TEST(QueryChecker, DeepOffsetRewritesToKeysetOnTheSortKey) {
  const Finding offset =
      only(check("SELECT id FROM orders ORDER BY created_at DESC LIMIT 20 OFFSET 10000"), "QUERY_DEEP_OFFSET");
  EXPECT_EQ(offset.numbers.at("offset"), 10000);
  EXPECT_THAT(offset.fix, HasSubstr("WHERE (created_at, id) < (:last_created_at, :last_id)"));
  EXPECT_THAT(offset.fix, HasSubstr("ORDER BY created_at DESC, id DESC"));
  EXPECT_THAT(offset.fix, HasSubstr("LIMIT 20;"));
  EXPECT_THAT(offset.fix, HasSubstr("ON orders (created_at DESC, id DESC);"));

  const Finding ascending = only(check("SELECT id FROM orders ORDER BY id LIMIT 50 OFFSET 5000"), "QUERY_DEEP_OFFSET");
  EXPECT_THAT(ascending.fix, HasSubstr("WHERE id > :last_id"));
}

TEST(QueryChecker, NotInRewriteUsesTheSubquerysTableAndColumn) {
  const Finding not_in = only(check("SELECT id FROM orders WHERE customer_id NOT IN (SELECT customer_id FROM blocked)"),
                              "QUERY_NOT_IN_SUBQUERY");
  EXPECT_THAT(not_in.fix, HasSubstr("SELECT 1 FROM blocked s"));
  EXPECT_THAT(not_in.fix, HasSubstr("WHERE s.customer_id = orders.customer_id"));
  EXPECT_EQ(not_in.where.table, "orders");
  EXPECT_EQ(not_in.where.column, "customer_id");
  EXPECT_EQ(not_in.where.clause, "WHERE");
}

TEST(QueryChecker, TrigramIndexMatchesTheExpressionTheQueryTests) {
  // Django's icontains: UPPER(col::text) LIKE UPPER(...).
  const Finding icontains = only(
      check(R"(SELECT "app_user"."id" FROM "app_user" WHERE UPPER("app_user"."name"::text) LIKE UPPER('%smith%'))"),
      "QUERY_LEADING_WILDCARD_LIKE");
  EXPECT_THAT(icontains.fix, HasSubstr("USING gin ((upper(name::text)) gin_trgm_ops);"));
  EXPECT_THAT(icontains.fix, HasSubstr(R"(GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"))"));

  // Django's contains: col::text LIKE '%...%' is served by an index on the column.
  const Finding contains =
      only(check(R"(SELECT "t"."id" FROM "t" WHERE "t"."name"::text LIKE '%smith%')"), "QUERY_LEADING_WILDCARD_LIKE");
  EXPECT_THAT(contains.fix, HasSubstr("CREATE INDEX CONCURRENTLY t_name_trgm_idx ON t USING gin (name gin_trgm_ops);"));
  EXPECT_THAT(contains.fix,
              HasSubstr(R"(GinIndex(fields=["name"], name="t_name_trgm_idx", opclasses=["gin_trgm_ops"]))"));
  EXPECT_EQ(contains.facts.at("pattern"), "%smith%");
}

TEST(QueryChecker, ExpressionIndexSpellsTheExpression) {
  const Finding f = only(check("SELECT id FROM users u WHERE lower(u.email) = $1"), "QUERY_FUNCTION_ON_COLUMN");
  EXPECT_THAT(f.fix, HasSubstr("CREATE INDEX CONCURRENTLY users_lower_email_idx ON users ((lower(email)));"));
  EXPECT_EQ(f.facts.at("expression"), "lower(email)");
}

TEST(QueryChecker, DateCastAdviceIsAHalfOpenRange) {
  const Finding f = only(check("SELECT id FROM events WHERE created_at::date = '2024-05-01'"), "QUERY_CAST_ON_COLUMN");
  EXPECT_EQ(f.facts.at("cast_type"), "date");
  EXPECT_THAT(f.fix, HasSubstr("created_at >= '2024-05-01'::date"));
  EXPECT_THAT(f.fix, HasSubstr("created_at <  '2024-05-01'::date + 1"));
}

TEST(QueryChecker, CorrelatedSubqueryRewriteJoinsOnTheCorrelation) {
  const Finding f = only(check("SELECT c.id, (SELECT max(o.amount) FROM orders o WHERE o.customer_id = c.id) "
                               "FROM customers c"),
                         "QUERY_CORRELATED_SUBQUERY");
  EXPECT_EQ(f.facts.at("outer_table"), "customers");
  EXPECT_EQ(f.facts.at("table"), "orders");
  EXPECT_THAT(f.fix, HasSubstr("GROUP BY customer_id) s"));
  EXPECT_THAT(f.fix, HasSubstr("ON s.customer_id = t.id;"));
}

TEST(QueryChecker, CartesianJoinNamesBothTables) {
  const Finding f =
      only(check("SELECT 1 FROM customers c, orders o, regions r WHERE o.customer_id = c.id"), "QUERY_CARTESIAN_JOIN");
  EXPECT_EQ(f.facts.at("table"), "regions");
  EXPECT_EQ(f.facts.at("other_tables"), "customers, orders");
}

TEST(QueryChecker, MissingLimitIgnoresFiltersThatAreNotPlainPredicates) {
  // The WHERE clause is a subquery comparison: the query is filtered.
  const auto findings =
      check("SELECT c.id FROM customers c WHERE (SELECT max(o.amount) FROM orders o WHERE o.customer_id = c.id) > 10");
  EXPECT_TRUE(std::none_of(findings.begin(), findings.end(),
                           [](const Finding& f) { return f.rule_id == "QUERY_MISSING_LIMIT"; }));
}

TEST(QueryChecker, ExplainIsJudgedByTheExplainedStatement) {
  const auto findings = check("EXPLAIN ANALYZE SELECT * FROM users");
  EXPECT_TRUE(
      std::any_of(findings.begin(), findings.end(), [](const Finding& f) { return f.rule_id == "QUERY_SELECT_STAR"; }));
  const auto write = check("EXPLAIN DELETE FROM sessions");
  EXPECT_TRUE(
      std::any_of(write.begin(), write.end(), [](const Finding& f) { return f.rule_id == "QUERY_UNFILTERED_WRITE"; }));
}

TEST(QueryChecker, RulesInsideCtesAndSubqueriesAreChecked) {
  const auto findings =
      check("WITH hits AS (SELECT id FROM pages WHERE url LIKE '%/blog/%') SELECT count(*) FROM hits WHERE id > 5");
  const Finding f = only(findings, "QUERY_LEADING_WILDCARD_LIKE");
  EXPECT_EQ(f.where.table, "pages");
}

TEST(QueryChecker, FindingsAreOrderedBySeverity) {
  const auto findings = check("SELECT * FROM users WHERE deleted_at = NULL OR lower(email) = $1");
  ASSERT_GE(findings.size(), 3u);
  for (std::size_t i = 1; i < findings.size(); ++i) {
    EXPECT_GE(findings[i - 1].severity, findings[i].severity)
        << findings[i - 1].rule_id << " / " << findings[i].rule_id;
  }
  EXPECT_EQ(findings.front().rule_id, "QUERY_EQUALS_NULL");
}

TEST(QueryChecker, StatementsWithoutQueriesGiveNoFindings) {
  EXPECT_TRUE(check("SET work_mem = '64MB'").empty());
  EXPECT_TRUE(check("CREATE INDEX CONCURRENTLY ON orders (customer_id)").empty());
  EXPECT_TRUE(check("SELECT 1").empty());
}

}  // namespace
}  // namespace dbopt::rules
