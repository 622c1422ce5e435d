// The helpers behind the checkers: reading EXPLAIN condition text, and the
// numbers and names the fixes print.
#include <gtest/gtest.h>

#include "core/rules/finding_draft.h"
#include "core/rules/plan_conditions.h"

namespace dbopt::rules::detail {
namespace {

TEST(WorkMemSetting, RoundsUpToAPowerOfTwoMegabytes) {
  EXPECT_EQ(work_mem_setting(6688 * 1.5), "16MB");
  EXPECT_EQ(work_mem_setting(1), "1MB");
  EXPECT_EQ(work_mem_setting(1024), "1MB");
  EXPECT_EQ(work_mem_setting(1025), "2MB");
  EXPECT_EQ(work_mem_setting(3.0 * 1024 * 1024), "4GB");
}

TEST(Formatting, NumbersReadLikeAPersonWroteThem) {
  EXPECT_EQ(format_count(198002), "198,002");
  EXPECT_EQ(format_count(999), "999");
  EXPECT_EQ(format_count(1000), "1,000");
  EXPECT_EQ(format_share(0.99001), "99.0%");
  EXPECT_EQ(format_share(0.99999), "99.9%");  // never rounds up to a full 100%
  EXPECT_EQ(format_share(1), "100%");
  EXPECT_EQ(format_share(0.0001), "<0.1%");
  EXPECT_EQ(format_ms(0.421), "0.42 ms");
  EXPECT_EQ(format_ms(74.515), "74.5 ms");
  EXPECT_EQ(format_ms(1234), "1.23 s");
  EXPECT_EQ(format_kb(752), "752 kB");
  EXPECT_EQ(format_kb(6688), "6.5 MB");
  EXPECT_EQ(format_factor(2.46), "2.5");
  EXPECT_EQ(format_factor(1000), "1,000");
}

TEST(Identifiers, QuotedOnlyWhenSqlNeedsIt) {
  EXPECT_EQ(quote_ident("orders"), "orders");
  EXPECT_EQ(quote_ident("order"), "\"order\"");
  EXPECT_EQ(quote_ident("Users"), "\"Users\"");
  EXPECT_EQ(quote_ident("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(qualified_name("app", "user"), "app.\"user\"");
}

TEST(IndexNames, AreValidAndFitNamedatalen) {
  EXPECT_EQ(index_name("orders", {{"status", "", ""}, {"created_at", "DESC", ""}}), "orders_status_created_at_idx");
  EXPECT_EQ(index_name("users", {{"", "", "lower(email)"}}), "users_lower_email_idx");
  const std::string long_name = index_name(std::string(80, 'x'), {{"a", "", ""}});
  EXPECT_LE(long_name.size(), 63u);
  EXPECT_EQ(long_name.substr(long_name.size() - 4), "_idx");
  EXPECT_EQ(index_key_list({{"status", "", ""}, {"created_at", "DESC", ""}, {"", "", "lower(email)"}}),
            "status, created_at DESC, (lower(email))");
}

TEST(DjangoIndex, SpellsDescendingFieldsWithAMinus) {
  EXPECT_EQ(django_index({{"status", "", ""}, {"created_at", "DESC", ""}}, "i"),
            "models.Index(fields=[\"status\", \"-created_at\"], name=\"i\")");
  // An expression key cannot be spelled from here; the output is a Python comment.
  EXPECT_EQ(django_index({{"", "", "lower(email)"}}, "i").rfind("# ", 0), 0u);
}

TEST(PlanConditions, SplitsConjunctsAndClassifiesOperators) {
  const auto terms = parse_condition("((country = 'C11'::text) AND ((id)::numeric > $1))");
  ASSERT_EQ(terms.size(), 2u);
  EXPECT_EQ(terms[0].column, "country");
  EXPECT_EQ(terms[0].op, "=");
  EXPECT_EQ(terms[0].kind, TermKind::equality);
  EXPECT_EQ(terms[1].column, "id");
  EXPECT_EQ(terms[1].cast_type, "numeric");
  EXPECT_EQ(terms[1].kind, TermKind::other);  // a cast column is no index key
}

TEST(PlanConditions, RecognisesJoinTermsAndQualifiers) {
  const auto terms = parse_condition("(o.customer_id = c.id)");
  ASSERT_EQ(terms.size(), 1u);
  EXPECT_EQ(terms[0].qualifier, "o");
  EXPECT_EQ(terms[0].column, "customer_id");
  EXPECT_EQ(terms[0].other_qualifier, "c");
  EXPECT_EQ(terms[0].other_column, "id");
}

TEST(PlanConditions, MarksOrGroupsAndFunctionsAndCommutes) {
  const auto ors = parse_condition("((a = 1) OR (b = 2))");
  ASSERT_EQ(ors.size(), 2u);
  EXPECT_TRUE(ors[0].in_or);
  EXPECT_EQ(ors[1].column, "b");

  const auto function = parse_condition("(lower((email)::text) = 'x'::text)");
  ASSERT_EQ(function.size(), 1u);
  EXPECT_EQ(function[0].column, "email");
  EXPECT_EQ(function[0].expression, "lower((email)::text)");
  EXPECT_EQ(function[0].kind, TermKind::other);

  const auto commuted = parse_condition("(5 < id)");
  ASSERT_EQ(commuted.size(), 1u);
  EXPECT_EQ(commuted[0].column, "id");
  EXPECT_EQ(commuted[0].op, ">");
  EXPECT_EQ(commuted[0].other_side, "5");

  const auto nulls = parse_condition("((note IS NOT NULL) AND (status = ANY ('{a,b}'::text[])))");
  ASSERT_EQ(nulls.size(), 2u);
  EXPECT_EQ(nulls[0].kind, TermKind::not_null);
  EXPECT_EQ(nulls[1].op, "= ANY");
  EXPECT_EQ(nulls[1].kind, TermKind::equality);
}

TEST(PlanConditions, FindsColumnCastsButNotLiteralCasts) {
  const auto casts = column_casts("((created_at)::timestamp with time zone > now()) AND (amount > '990'::numeric)");
  ASSERT_EQ(casts.size(), 1u);
  EXPECT_EQ(casts[0].column, "created_at");
  EXPECT_EQ(casts[0].type, "timestamp with time zone");
  EXPECT_TRUE(column_casts("(note ~~ 'n%'::text)").empty());
}

TEST(PlanConditions, SurvivesTextItCannotRead) {
  for (const char* text : {"", "(", ")))", "'unterminated", "(SubPlan 1)", "((((a"}) {
    EXPECT_NO_THROW(parse_condition(text)) << text;
    EXPECT_NO_THROW(column_casts(text)) << text;
  }
}

}  // namespace
}  // namespace dbopt::rules::detail
