#include <gtest/gtest.h>

#include <string>

#include "core/common/error.h"
#include "core/sql/query_model.h"

namespace dbopt::sql {
namespace {

constexpr const char* kMigration =
    "-- 0042: orders\n"
    "CREATE TABLE orders (id bigint PRIMARY KEY, note text DEFAULT 'a;b');\n"
    "\n"
    "CREATE INDEX CONCURRENTLY ix_orders_note ON orders (note);;\n"
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\n"
    "  UPDATE orders SET note = ';' WHERE id = 1 /* ; */";

TEST(SplitStatementsTest, SplitsOnSemicolonsOutsideStringsCommentsAndBodies) {
  const std::string script = kMigration;
  const std::vector<StatementText> statements = split_statements(script);
  ASSERT_EQ(statements.size(), 4u);
  EXPECT_EQ(statements[0].text,
            "-- 0042: orders\nCREATE TABLE orders (id bigint PRIMARY KEY, note text DEFAULT 'a;b')");
  EXPECT_EQ(statements[1].text, "CREATE INDEX CONCURRENTLY ix_orders_note ON orders (note)");
  EXPECT_EQ(statements[2].text, "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$");
  EXPECT_EQ(statements[3].text, "UPDATE orders SET note = ';' WHERE id = 1 /* ; */");
  for (const auto& statement : statements) {
    EXPECT_EQ(script.substr(statement.offset, statement.text.size()), statement.text);
  }
}

TEST(SplitStatementsTest, ThrowsWithThePositionInTheScript) {
  try {
    split_statements("SELECT 1;\nSELEC 2;");
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(error.what()).find("at position 11"), std::string::npos) << error.what();
  }
}

TEST(ParseScriptTest, ModelsEveryStatementInOrder) {
  const std::string script = kMigration;
  const std::vector<QueryModel> models = parse_script(script);
  ASSERT_EQ(models.size(), 4u);
  EXPECT_EQ(models[0].kind, StatementKind::create_table);
  EXPECT_EQ(models[1].kind, StatementKind::create_index);
  ASSERT_TRUE(models[1].index.has_value());
  EXPECT_TRUE(models[1].index->concurrently);
  EXPECT_EQ(models[2].kind, StatementKind::create_function);
  EXPECT_EQ(models[3].kind, StatementKind::update);
  EXPECT_EQ(models[3].text, "UPDATE orders SET note = ';' WHERE id = 1 /* ; */");
  EXPECT_EQ(script.substr(models[3].offset, models[3].text.size()), models[3].text);
  // Constants are read from the right place in the script, not the statement.
  ASSERT_EQ(models[3].predicates.size(), 1u);
  EXPECT_EQ(models[3].predicates[0].value.text, "1");
}

TEST(ParseScriptTest, NegativeConstantsInLaterStatementsComeFromTheScript) {
  const std::vector<QueryModel> models = parse_script("SELECT 1; SELECT * FROM t WHERE a = -42");
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[1].predicates[0].value.text, "-42");
}

TEST(ParseScriptTest, ThrowsForAnyBadStatement) {
  EXPECT_THROW(parse_script("SELECT 1; SELECT * FORM t; SELECT 3"), Error);
}

}  // namespace
}  // namespace dbopt::sql
