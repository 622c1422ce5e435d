// Input limits (tools/input_limits.h) through the one registry every face
// uses: each limit refuses with the limit and the config key named, before
// the handler runs, and normal inputs pass.
#include "tools/input_limits.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "knowledge/rule_book.h"
#include "tools/builtin_tools.h"
#include "tools/tool_registry.h"

namespace dbopt::tools {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const knowledge::RuleBook& rule_book() {
  static const knowledge::RuleBook book = knowledge::RuleBook::load_directory(DBOPT_SOURCE_DIR "/knowledge/rules");
  return book;
}

ToolResult call(const std::string& tool, const Json& args, const Settings& settings = {}) {
  static const ToolRegistry registry = [] {
    ToolRegistry r;
    register_builtin_tools(r);
    return r;
  }();
  CancellationToken cancel;
  ToolContext ctx{.settings = settings, .cancel = cancel, .rules = &rule_book()};
  return registry.call(tool, args, ctx);
}

const char* kPlan = "Seq Scan on orders  (cost=0.00..1693.00 rows=100000 width=8)";

TEST(InputLimits, OversizedSqlIsRefusedNamingTheKeyBeforeParsing) {
  Settings settings;
  settings.limits.max_sql_bytes = 4096;
  // Garbage that libpg_query would reject: the size check must come first.
  const ToolResult r = call("explain_query", {{"sql", std::string(5000, '(')}}, settings);
  ASSERT_TRUE(r.is_error);
  EXPECT_EQ(r.error_code, ErrorCode::invalid_argument);
  EXPECT_THAT(r.markdown, HasSubstr("Argument `sql` is 5000 bytes; the limit is 4096 bytes (limits.max_sql_bytes)"));
}

TEST(InputLimits, EachKindHasItsOwnLimit) {
  Settings settings;
  settings.limits.max_plan_bytes = 2048;
  settings.limits.max_log_bytes = 2048;
  settings.limits.max_text_bytes = 2048;
  const std::string big(3000, 'x');
  EXPECT_THAT(call("explain_query", {{"plan", big}}, settings).markdown, HasSubstr("limits.max_plan_bytes"));
  EXPECT_THAT(call("detect_n_plus_one", {{"log", big}}, settings).markdown, HasSubstr("limits.max_log_bytes"));
  EXPECT_THAT(call("explain_query", {{"plan", kPlan}, {"database", big}}, settings).markdown,
              HasSubstr("Argument `database` is 3000 bytes; the limit is 2048 bytes (limits.max_text_bytes)"));
  // Items of an array and fields of objects inside it take the array's kind.
  settings.limits.max_sql_bytes = 2048;
  EXPECT_THAT(call("suggest_indexes", {{"queries", {{{"sql", big}}}}}, settings).markdown,
              HasSubstr("Argument `queries[0].sql` is 3000 bytes"));
  EXPECT_THAT(
      call("explain_query", {{"plan", kPlan}, {"hypothetical_indexes", {big}}}, settings).markdown,
      HasSubstr("Argument `hypothetical_indexes[0]` is 3000 bytes; the limit is 2048 bytes (limits.max_sql_bytes)"));
}

TEST(InputLimits, StatementCountCoversTheWholeCall) {
  Settings settings;
  settings.limits.max_statements = 3;
  const ToolResult many = call("explain_query", {{"sql", "SELECT 1; SELECT 2; SELECT ';'; SELECT 4"}}, settings);
  EXPECT_THAT(many.markdown, HasSubstr("The number of SQL statements in this call (counted up to `sql`) is 4; the "
                                       "limit is 3 (limits.max_statements)"));
  const ToolResult across =
      call("suggest_indexes", {{"queries", {"SELECT 1", "SELECT 2", "SELECT 3", "SELECT 4"}}}, settings);
  EXPECT_THAT(across.markdown, HasSubstr("limits.max_statements"));
  // Semicolons in literals and comments are no statements.
  const ToolResult one = call("explain_query", {{"sql", "SELECT ';;;' -- ; ; ;\n/* ; */ FROM t"}}, settings);
  EXPECT_THAT(one.markdown, Not(HasSubstr("limits.max_statements")));
}

TEST(InputLimits, DeepExpressionsAreRefusedBeforeLibpgQuery) {
  Settings settings;
  settings.limits.max_parse_depth = 50;
  std::string chain = "SELECT 1";
  for (int i = 0; i < 60; ++i) chain += " + 1";
  const ToolResult r = call("explain_query", {{"sql", chain}}, settings);
  ASSERT_TRUE(r.is_error);
  EXPECT_THAT(r.markdown, HasSubstr("nests deeper than 50 levels"));
  EXPECT_THAT(r.markdown, HasSubstr("limits.max_parse_depth"));
  settings.limits.max_parse_depth = 1000;
  EXPECT_FALSE(call("explain_query", {{"sql", chain}}, settings).is_error);
}

TEST(InputLimits, EstimatedMemoryPerCallIsBounded) {
  Settings settings;
  settings.limits.max_call_memory_mb = 16;
  // 300 KiB of SQL needs more than 16 MiB by the measured factor.
  std::string sql = "SELECT 1 FROM t WHERE a IN (";
  while (sql.size() < 300 * 1024) sql += "1,";
  sql += "1)";
  const ToolResult r = call("explain_query", {{"sql", sql}}, settings);
  ASSERT_TRUE(r.is_error);
  EXPECT_THAT(r.markdown, HasSubstr("MiB (limits.max_call_memory_mb)"));
}

TEST(InputLimits, NulBytesAreAClearError) {
  const ToolResult r = call("explain_query", {{"plan", std::string("Seq Scan on t\0x", 15)}});
  ASSERT_TRUE(r.is_error);
  EXPECT_THAT(r.markdown, HasSubstr("Argument `plan` contains a NUL byte at byte 14"));
}

TEST(InputLimits, OrdinaryInputsPass) {
  EXPECT_FALSE(call("explain_query", {{"plan", kPlan}}).is_error);
  EXPECT_FALSE(check_input_limits({{"sql", "SELECT 1"}, {"queries", {"SELECT 2"}}}, LimitSettings{}).refusal);
}

}  // namespace
}  // namespace dbopt::tools
