// Bad input of every kind must end in dbopt::Error(invalid_argument) with a
// useful message, never in a crash, for every entry point of core/sql.
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/sql/fingerprint.h"
#include "core/sql/query_model.h"
#include "core/sql/statement_policy.h"

namespace dbopt::sql {
namespace {

struct EntryPoint {
  const char* name;
  std::function<void(const std::string&)> call;
};

std::vector<EntryPoint> entry_points() {
  return {
      {"parse_query", [](const std::string& sql) { parse_query(sql); }},
      {"parse_script", [](const std::string& sql) { parse_script(sql); }},
      {"split_statements", [](const std::string& sql) { split_statements(sql); }},
      {"fingerprint", [](const std::string& sql) { fingerprint(sql); }},
      {"normalize", [](const std::string& sql) { normalize(sql); }},
      {"check_statement", [](const std::string& sql) { check_statement(sql); }},
  };
}

// The error every entry point throws for `sql` (all must throw).
std::vector<Error> errors_for(const std::string& sql) {
  std::vector<Error> errors;
  for (const auto& entry : entry_points()) {
    try {
      entry.call(sql);
      ADD_FAILURE() << entry.name << " accepted bad input";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::invalid_argument) << entry.name << ": " << error.what();
      EXPECT_FALSE(error.fix().empty()) << entry.name;
      errors.push_back(error);
    }
  }
  return errors;
}

// Every entry point either succeeds or throws dbopt::Error; nothing else.
void expect_no_crash(const std::string& sql) {
  for (const auto& entry : entry_points()) {
    try {
      entry.call(sql);
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::invalid_argument) << entry.name << ": " << error.what();
    }
  }
}

TEST(ParseErrorsTest, SyntaxErrorNamesTextPositionAndSurroundings) {
  try {
    parse_query("SELECT * FORM t");
    FAIL();
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "syntax error at or near \"FORM\" at position 10: SELECT * FORM t");
    EXPECT_NE(error.fix().find("position"), std::string::npos);
    EXPECT_NE(error.describe().find("Fix:"), std::string::npos);
  }
  for (const Error& error : errors_for("SELECT * FORM t")) {
    EXPECT_NE(std::string(error.what()).find("at position 10"), std::string::npos) << error.what();
  }
}

TEST(ParseErrorsTest, PositionCountsCharactersNotBytes) {
  // 'é' is two bytes: a byte count would say 18.
  try {
    parse_query("SELECT 'é' AS a b");
    FAIL();
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "syntax error at or near \"b\" at position 17: SELECT 'é' AS a b");
  }
  // The window before a late position starts on a whole character.
  std::string accents;
  for (int i = 0; i < 60; ++i) accents += "é";
  try {
    parse_query("SELECT '" + accents + "' AS a b");
    FAIL();
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("at position 76: ...é"), std::string::npos) << message;
    EXPECT_EQ(message.substr(message.size() - 8), "' AS a b") << message;
  }
}

TEST(ParseErrorsTest, LongStatementsShowOnlyTheTextAroundThePosition) {
  const std::string sql = "SELECT " + std::string(200, 'a') + " FROM WHERE " + std::string(200, 'b') + " = 1";
  try {
    parse_query(sql);
    FAIL();
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_LT(message.size(), 200u) << message;
    EXPECT_EQ(message.rfind("syntax error at or near \"WHERE\" at position 214: ...aaaa", 0), 0u) << message;
    EXPECT_NE(message.find("aaaa FROM WHERE bbbb"), std::string::npos) << message;
    EXPECT_EQ(message.substr(message.size() - 3), "...");
  }
}

TEST(ParseErrorsTest, MultiLineStatementsShowOneLine) {
  try {
    parse_query("SELECT a,\n       b\nFROM t\nWHER a = 1");
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(std::string(error.what()).find('\n'), std::string::npos) << error.what();
  }
}

TEST(ParseErrorsTest, UnterminatedQuotesAndComments) {
  for (const char* sql : {"SELECT 'abc", "SELECT \"abc", "SELECT $$abc", "SELECT 1 /* never closed"}) {
    const std::vector<Error> errors = errors_for(sql);
    ASSERT_FALSE(errors.empty());
    EXPECT_NE(std::string(errors[0].what()).find("unterminated"), std::string::npos) << errors[0].what();
  }
}

TEST(ParseErrorsTest, EmptyTextParsesToNothingButIsNotAQuery) {
  EXPECT_THROW(parse_query(""), Error);
  EXPECT_THROW(check_statement("   \n\t "), Error);
  EXPECT_TRUE(parse_script("").empty());
  EXPECT_TRUE(parse_script("-- only a comment").empty());
  EXPECT_TRUE(split_statements("").empty());
  EXPECT_NO_THROW(fingerprint(""));
  EXPECT_EQ(normalize(""), "");
}

TEST(ParseErrorsTest, NulBytesAreRefusedEverywhere) {
  const std::string sql("SELECT 1\0 FROM t", 16);
  for (const Error& error : errors_for(sql)) {
    EXPECT_NE(std::string(error.what()).find("NUL byte at byte 9"), std::string::npos) << error.what();
  }
}

TEST(ParseErrorsTest, InvalidUtf8IsRefusedByTheParser) {
  const std::string sql = "SELECT '\xff\xfe' FROM t";
  try {
    parse_query(sql);
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(error.what()).find("not valid UTF-8 at byte 9"), std::string::npos) << error.what();
  }
  EXPECT_THROW(check_statement(sql), Error);
  EXPECT_THROW(parse_query("SELECT '\xc3'"), Error);          // truncated sequence
  EXPECT_THROW(parse_query("SELECT '\xed\xa0\x80'"), Error);  // UTF-16 surrogate
  EXPECT_NO_THROW(parse_query("SELECT 'ünïcødé ✓ 𝄞'"));
}

TEST(ParseErrorsTest, BinaryGarbageNeverCrashes) {
  std::mt19937 random(20240601);
  std::uniform_int_distribution<int> byte(1, 255);
  for (int round = 0; round < 200; ++round) {
    std::string garbage;
    const int length = 1 + round * 3;
    for (int i = 0; i < length; ++i) garbage += static_cast<char>(byte(random));
    expect_no_crash(garbage);
    expect_no_crash("SELECT " + garbage);
  }
}

TEST(ParseErrorsTest, TruncatedStatementsNeverCrash) {
  const std::string sql =
      "WITH x AS (SELECT a, count(*) FROM t WHERE b = 'q''s' AND c @> '{\"k\": 1}' GROUP BY a) "
      "SELECT * FROM x JOIN u ON u.id = x.a WHERE EXISTS (SELECT 1 FROM v WHERE v.id = $1) ORDER BY 2 DESC";
  for (std::size_t length = 0; length <= sql.size(); ++length) expect_no_crash(sql.substr(0, length));
}

TEST(ParseErrorsTest, VeryLongButFlatInputIsFine) {
  std::string in_list = "SELECT * FROM t WHERE id IN (";
  for (int i = 0; i < 50000; ++i) in_list += (i ? ", " : "") + std::to_string(-i);
  in_list += ")";
  const QueryModel model = parse_query(in_list);
  ASSERT_EQ(model.predicates.size(), 1u);
  EXPECT_EQ(model.predicates[0].value.items.size(), 50000u);
  EXPECT_EQ(model.predicates[0].value.items[49999].text, "-49999");
  EXPECT_TRUE(check_statement(in_list).allowed);

  std::string conjunction = "SELECT * FROM t WHERE a = 0";
  for (int i = 1; i < 5000; ++i) conjunction += " AND a" + std::to_string(i) + " = " + std::to_string(i);
  EXPECT_EQ(parse_query(conjunction).predicates.size(), 5000u);
  EXPECT_EQ(fingerprint(conjunction).size(), 16u);
}

TEST(ParseErrorsTest, DeepOperatorChainsAreRefusedNotCrashed) {
  // libpg_query recurses once per link and would overflow the stack on these.
  std::string chain = "SELECT 1";
  for (int i = 0; i < 100000; ++i) chain += " + 1";
  for (const Error& error : errors_for(chain)) {
    EXPECT_NE(std::string(error.what()).find("nests too deeply"), std::string::npos) << error.what();
  }
  std::string unions = "SELECT 1";
  for (int i = 0; i < 20000; ++i) unions += " UNION SELECT 1";
  EXPECT_EQ(errors_for(unions).size(), 6u);
  std::string joins = "SELECT 1 FROM t";
  for (int i = 0; i < 20000; ++i) joins += " JOIN t t" + std::to_string(i) + " ON true";
  EXPECT_EQ(errors_for(joins).size(), 6u);
}

TEST(ParseErrorsTest, ChainsBelowTheLimitParse) {
  std::string chain = "SELECT * FROM t WHERE a";
  for (int i = 0; i < 500; ++i) chain += " || a";
  chain += " = 'x'";
  const QueryModel model = parse_query(chain);
  ASSERT_EQ(model.predicates.size(), 1u);
  EXPECT_EQ(model.predicates[0].column.name, "a");
  EXPECT_FALSE(model.predicates[0].column_expression.empty());
  EXPECT_TRUE(check_statement(chain).allowed);
  EXPECT_EQ(fingerprint(chain).size(), 16u);

  // Operators inside string literals and comments are not chain links.
  std::string literal = "SELECT '" + std::string(30000, '+') + "' /* " + std::string(30000, '-') + " */";
  EXPECT_NO_THROW(parse_query(literal));
}

TEST(ParseErrorsTest, DeepParenthesesAreRefusedOrReportedNeverCrashed) {
  std::string nested = "SELECT ";
  for (int i = 0; i < 100000; ++i) nested += "(";
  nested += "1";
  for (int i = 0; i < 100000; ++i) nested += ")";
  EXPECT_EQ(errors_for(nested).size(), 6u);
  std::string calls = "SELECT ";
  for (int i = 0; i < 20000; ++i) calls += "f(";
  calls += "1";
  for (int i = 0; i < 20000; ++i) calls += ")";
  EXPECT_EQ(errors_for(calls).size(), 6u);
}

}  // namespace
}  // namespace dbopt::sql
