// lint_migration through the tool registry (offline): its structured output,
// the markdown with the safe script, a clear error for bad SQL, and the
// session report's "Migrations" section.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/common/settings.h"
#include "knowledge/rule_book.h"
#include "tools/builtin_tools.h"
#include "tools/session_store.h"
#include "tools/tool_registry.h"

namespace dbopt::migration {
namespace {

using ::testing::HasSubstr;
using tools::Json;

struct Harness {
  Harness() : rules(knowledge::RuleBook::load_directory(std::string(DBOPT_SOURCE_DIR) + "/knowledge/rules")) {
    tools::register_builtin_tools(registry);
  }
  tools::ToolResult call(const std::string& tool, const Json& args) {
    CancellationToken cancel;
    tools::ToolContext ctx{.settings = settings, .cancel = cancel, .rules = &rules, .sessions = &sessions};
    return registry.call(tool, args, ctx);
  }
  knowledge::RuleBook rules;
  Settings settings;
  tools::ToolRegistry registry;
  tools::SessionStore sessions;
};

const char* kIssueExample = "ALTER TABLE orders ADD COLUMN x int NOT NULL DEFAULT 0;\nCREATE INDEX ON orders(status);";

TEST(LintMigrationTool, AnswersWithLocksVerdictsAndTheSafeScript) {
  Harness h;
  const auto r = h.call("lint_migration", {{"sql", kIssueExample}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  EXPECT_EQ(r.structured["counts"]["unsafe"], 1);
  EXPECT_EQ(r.structured["counts"]["needs_care"], 1);
  EXPECT_EQ(r.structured["statements"][1]["lock"], "SHARE");
  EXPECT_EQ(r.structured["statements"][1]["blocks"], "writes (reads go on)");
  EXPECT_THAT(r.markdown, HasSubstr("| 2 | `CREATE INDEX ON orders(status)` | SHARE |"));
  EXPECT_THAT(r.markdown, HasSubstr("CREATE INDEX CONCURRENTLY ON orders(status);"));
  EXPECT_THAT(r.markdown, HasSubstr("atomic = False"));
}

TEST(LintMigrationTool, SqlThatDoesNotParseIsAClearError) {
  Harness h;
  const auto r = h.call("lint_migration", {{"sql", "ALTER TABLE orders ADD COLUMN;"}});
  ASSERT_TRUE(r.is_error);
  EXPECT_THAT(r.markdown, HasSubstr("position"));
  EXPECT_EQ(r.error_code, ErrorCode::invalid_argument);
}

TEST(LintMigrationTool, RecordsIntoTheSessionAndFeedsTheReportsMigrationSection) {
  Harness h;
  const auto started = h.call("start_session", {{"title", "migration review"}});
  ASSERT_FALSE(started.is_error) << started.markdown;
  const std::string session = started.structured["session"];
  ASSERT_FALSE(h.call("lint_migration", {{"session", session}, {"sql", kIssueExample}}).is_error);
  const auto report = h.call("session_report", {{"session", session}});
  ASSERT_FALSE(report.is_error) << report.markdown;
  EXPECT_THAT(report.markdown, HasSubstr("## Migrations: locks and their zero-downtime form"));
  EXPECT_THAT(report.markdown, HasSubstr("line 2: `CREATE INDEX ON orders(status)` takes SHARE"));
  ASSERT_TRUE(report.structured.contains("migrations")) << report.structured.dump(2);
  EXPECT_EQ(report.structured["migrations"][0]["unsafe"].size(), 1u);
  EXPECT_THAT(report.structured["migrations"][0]["safe_script"].get<std::string>(),
              HasSubstr("CREATE INDEX CONCURRENTLY ON orders(status);"));
}

}  // namespace
}  // namespace dbopt::migration
