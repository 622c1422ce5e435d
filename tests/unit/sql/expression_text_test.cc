// The expression writer is internal to core/sql; its output reaches users as
// Predicate::column_expression, Operand::text and IndexKey::expression.
#include "core/sql/expression_text.h"

#include <gtest/gtest.h>

#include <string>

#include "core/sql/parse_tree.h"

namespace dbopt::sql::detail {
namespace {

using nlohmann::json;

// The tree without source positions and call-syntax markers, which differ
// between equivalent spellings.
json without_positions(const json& value) {
  if (value.is_array()) {
    json copy = json::array();
    for (const auto& item : value) copy.push_back(without_positions(item));
    return copy;
  }
  if (!value.is_object()) return value;
  json copy = json::object();
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (it.key() == "location" || it.key() == "funcformat") continue;
    copy[it.key()] = without_positions(*it);
  }
  return copy;
}

json first_target(const json& tree) {
  return tree.at("stmts")[0].at("stmt").at("SelectStmt").at("targetList")[0].at("ResTarget").at("val");
}

// Text of the expression `sql_expression`, written from its tree.
std::string written(const std::string& sql_expression, bool qualified = true) {
  const std::string sql = "SELECT " + sql_expression;
  return ExpressionText(sql).of(first_target(parse_tree(sql)), qualified);
}

class RoundTripTest : public ::testing::TestWithParam<const char*> {};

// The written text parses back to the same tree as the original.
TEST_P(RoundTripTest, TextParsesBackToTheSameTree) {
  const std::string original = GetParam();
  const std::string text = written(original);
  SCOPED_TRACE(original + "  ->  " + text);
  const json before = without_positions(first_target(parse_tree("SELECT " + original)));
  json after;
  ASSERT_NO_THROW(after = without_positions(first_target(parse_tree("SELECT " + text))));
  EXPECT_EQ(before, after);
  // Writing again gives the same text: one canonical spelling.
  EXPECT_EQ(written(text), text);
}

INSTANTIATE_TEST_SUITE_P(
    Expressions, RoundTripTest,
    ::testing::Values(
        "lower(email)", "attrs ->> 'k'", "(attrs -> 'a') ->> 'b'", "date_trunc('day', created_at)", "created_at::date",
        "CAST(a AS numeric(10,2))", "a::varchar(10)[]", "a::int::text", "a::char(3)", "a::timestamp(3) with time zone",
        "a::time with time zone", "a::double precision", "a::bit varying(5)", "a::myschema.mytype", "a + b * c",
        "(a + b) * c", "-a", "NOT a", "a AND (b OR c)", "(a AND b) OR c", "a IS NULL", "a IS NOT NULL", "a IS NOT TRUE",
        "a IS UNKNOWN", "CASE WHEN a > 1 THEN 'x' ELSE 'y' END", "CASE a WHEN 1 THEN 2 END", "COALESCE(a, b, 0)",
        "GREATEST(a, 1)", "LEAST(a, 2)", "NULLIF(a, 0)", "a IN (1, 2)", "a NOT IN (1)", "a BETWEEN 1 AND 2",
        "a NOT BETWEEN SYMMETRIC 1 AND 2", "a LIKE 'x%'", "a NOT ILIKE 'y'", "a LIKE 'x#%' ESCAPE '#'",
        "a SIMILAR TO 'z'", "a NOT SIMILAR TO 'z' ESCAPE '#'", "a IS DISTINCT FROM b", "a IS NOT DISTINCT FROM b",
        "a = ANY($1)", "a <> ALL(ARRAY[1, 2])", "arr[1]", "arr[1:2]", "arr[:2]", "(t.c).f", "(f(x)).y", "($1).f",
        "ROW(1, 2)", "(1, 2)", "ROW(1)", "ARRAY[1, 2]", "ARRAY[[1], [2]]", "count(*)", "count(DISTINCT a)",
        "string_agg(a, ',' ORDER BY a DESC)", "percentile_cont(0.5) WITHIN GROUP (ORDER BY x)",
        "sum(x) FILTER (WHERE y > 0)", "row_number() OVER (PARTITION BY a ORDER BY b DESC NULLS LAST)", "sum(x) OVER w",
        "sum(x) OVER (w ORDER BY y)", "f(a => 1)", "f(VARIADIC ARRAY[1])", "CURRENT_DATE", "CURRENT_TIMESTAMP(3)",
        "LOCALTIME", "CURRENT_USER", "x COLLATE \"C\"", "\"Mixed Case\" = 1", "\"order\" + \"user\"", "t.\"select\"",
        "'it''s'", "'line\nbreak'", "B'101'", "X'1F'", "1.5e10", "true", "false", "NULL", "$1::int", "interval '1 day'",
        "date '2024-01-01'", "pg_catalog.lower(a)", "a OPERATOR(pg_catalog.+) b", "EXISTS (SELECT 1)",
        "(SELECT max(a) FROM t)", "a IN (SELECT b FROM t)", "a = ANY (SELECT b FROM t)", "a > ALL (SELECT b FROM t)",
        "ARRAY(SELECT 1)", "sum(x) OVER (ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)", "xmlelement(name foo, 'bar')",
        "extract(day FROM ts)", "substring(a FROM 1 FOR 2)", "trim(both 'x' FROM a)", "a AT TIME ZONE 'UTC'",
        "position('a' IN b)", "a ~ '^x' AND b !~* 'y'", "a @> '{\"k\": 1}'::jsonb", "a #>> '{a,b}'", "12345678901234",
        "-2.5", "left(a, 2)", "a -> 0", "a IS TRUE = b"));

TEST(ExpressionTextTest, CanonicalSpelling) {
  EXPECT_EQ(written("LOWER(  Email )"), "lower(email)");
  EXPECT_EQ(written("attrs->>'k'"), "attrs ->> 'k'");
  EXPECT_EQ(written("(((a)))"), "a");
  EXPECT_EQ(written("a+b*c"), "a + (b * c)");
  EXPECT_EQ(written("CAST(x AS INT)"), "x::integer");
  EXPECT_EQ(written("x::timestamptz"), "x::timestamptz");
  EXPECT_EQ(written("x::timestamp with time zone"), "x::timestamp with time zone");
  EXPECT_EQ(written("x::bit varying(5)"), "x::pg_catalog.varbit(5)");
  EXPECT_EQ(written("a != b"), "a <> b");
  EXPECT_EQ(written("not a"), "NOT a");
  EXPECT_EQ(written("a like 'x'"), "a LIKE 'x'");
  EXPECT_EQ(written("a not in (1,2)"), "a NOT IN (1, 2)");
  EXPECT_EQ(written("count(*) filter (where b)"), "count(*) FILTER (WHERE b)");
  EXPECT_EQ(written("coalesce(a,0)"), "COALESCE(a, 0)");
  EXPECT_EQ(written("(x).y"), "(x).y");
}

TEST(ExpressionTextTest, ConstantsKeepTheirValue) {
  // libpg_query 15-4.0.0 writes zero and negative integers as {} in its JSON.
  EXPECT_EQ(written("-42"), "-42");
  EXPECT_EQ(written("0"), "0");
  EXPECT_EQ(written("- 7"), "-7");
  EXPECT_EQ(written("(-1)::int"), "(-1)::integer");
  EXPECT_EQ(written("-9223372036854775807"), "-9223372036854775807");
  EXPECT_EQ(written("'a''b'"), "'a''b'");
  EXPECT_EQ(written("E'tab\\there'"), "'tab\there'");
}

TEST(ExpressionTextTest, UnqualifiedDropsColumnQualifiersOnly) {
  EXPECT_EQ(written("lower(u.email)", false), "lower(email)");
  EXPECT_EQ(written("s.t.c + 1", false), "c + 1");
  EXPECT_EQ(written("pg_catalog.lower(u.email)", false), "pg_catalog.lower(email)");
  EXPECT_EQ(written("lower(u.email)", true), "lower(u.email)");
}

TEST(ExpressionTextTest, VeryDeepExpressionsFallBackToTheSourceText) {
  std::string deep = "a";
  for (int i = 0; i < 300; ++i) deep += " + a";
  const std::string text = written(deep);
  EXPECT_EQ(without_positions(first_target(parse_tree("SELECT " + text))),
            without_positions(first_target(parse_tree("SELECT " + deep))));
}

TEST(ExpressionTextTest, SubqueryTextComesFromTheSource) {
  const std::string sql = "SELECT a IN (SELECT b FROM t WHERE c = ')' /* ) */)";
  const json target = first_target(parse_tree(sql));
  EXPECT_EQ(ExpressionText(sql).subquery_text(target.at("SubLink")), "(SELECT b FROM t WHERE c = ')' /* ) */)");
}

TEST(ExpressionTextTest, IntegerValue) {
  const std::string sql = "SELECT 5, -5, 0, 'x'";
  const json targets = parse_tree(sql).at("stmts")[0].at("stmt").at("SelectStmt").at("targetList");
  const ExpressionText text(sql);
  const auto value_of = [&](int i) { return text.integer_value(targets[i].at("ResTarget").at("val").at("A_Const")); };
  EXPECT_EQ(value_of(0), 5);
  EXPECT_EQ(value_of(1), -5);
  EXPECT_EQ(value_of(2), 0);
  EXPECT_FALSE(value_of(3).has_value());
}

TEST(QuoteTest, IdentifiersAndLiterals) {
  EXPECT_EQ(quote_identifier("email"), "email");
  EXPECT_EQ(quote_identifier("_x$1"), "_x$1");
  EXPECT_EQ(quote_identifier("Email"), "\"Email\"");
  EXPECT_EQ(quote_identifier("order"), "\"order\"");
  EXPECT_EQ(quote_identifier("left"), "\"left\"");
  EXPECT_EQ(quote_identifier("1st"), "\"1st\"");
  EXPECT_EQ(quote_identifier("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(quote_identifier(""), "\"\"");
  EXPECT_EQ(quote_literal("it's"), "'it''s'");
  EXPECT_EQ(quote_literal(""), "''");
}

}  // namespace
}  // namespace dbopt::sql::detail
