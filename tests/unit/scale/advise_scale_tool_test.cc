// advise_scale through the tool registry, offline (a snapshot given as JSON):
// the structured output, the markdown, the errors, and the session report's
// "Caching and scale" section.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "scale_test_support.h"
#include "tools/session_store.h"
#include "tools/tool_registry.h"

namespace dbopt::scale {
namespace {

using namespace testing;
using ::testing::HasSubstr;

struct OfflineHarness {
  OfflineHarness() { tools::register_builtin_tools(registry); }
  tools::ToolResult call(const std::string& tool, const Json& args) {
    CancellationToken cancel;
    tools::ToolContext ctx{.settings = settings, .cancel = cancel, .rules = &shipped_rules(), .sessions = &sessions};
    return registry.call(tool, args, ctx);
  }
  Settings settings;
  tools::ToolRegistry registry;
  tools::SessionStore sessions;
};

Json shop_snapshot() {
  Json events = table("events", 10, 500, 2000000, 0, 0, 2000000, 300 * kMB);
  add_column(events, "created_at", "timestamp with time zone", 0.998);
  return snapshot({table("products", 100, 50000, 50, 20, 0, 5000, 5 * kMB),
                   table("cart_items", 10, 3000, 4000, 3000, 3500, 2000, 1 * kMB), events},
                  {statement("7", "SELECT category_id, count(*) FROM products GROUP BY category_id", 100, 50)});
}

TEST(AdviseScaleTool, AdvisesOnASnapshotWithTablesFindingsAndPasteReadyFixes) {
  OfflineHarness h;
  const auto r = h.call("advise_scale", {{"snapshot", shop_snapshot()}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  const Json& s = r.structured;
  EXPECT_EQ(s["tool"], "advise_scale");
  EXPECT_TRUE(s["offline"].get<bool>());
  EXPECT_EQ(s["tables"].size(), 3u);
  std::set<std::string> rules;
  for (const auto& f : s["findings"]) rules.insert(f["rule_id"].get<std::string>());
  EXPECT_TRUE(rules.contains("SCALE_CACHE_TABLE"));
  EXPECT_TRUE(rules.contains("SCALE_NOT_CACHE_WRITE_HEAVY"));
  EXPECT_TRUE(rules.contains("SCALE_MATERIALIZED_VIEW"));
  EXPECT_TRUE(rules.contains("SCALE_TIMESERIES_BRIN"));
  EXPECT_TRUE(rules.contains("SCALE_PARTITION_NOT_HELPFUL"));
  EXPECT_THAT(r.markdown, HasSubstr("| public.cart_items | 1.0 MB |"));
  EXPECT_THAT(r.markdown, HasSubstr("## What not to do"));
  EXPECT_THAT(r.markdown, HasSubstr("USING brin (created_at)"));
  // The snapshot comes back, so the advice can be recomputed offline.
  const auto again = h.call("advise_scale", {{"snapshot", s["snapshot"].dump()}, {"focus", {"cache"}}});
  ASSERT_FALSE(again.is_error) << again.markdown;
  for (const auto& f : again.structured["findings"])
    EXPECT_THAT(f["rule_id"].get<std::string>(),
                ::testing::AnyOf(::testing::StartsWith("SCALE_CACHE"), ::testing::StartsWith("SCALE_NOT_CACHE")));
  EXPECT_EQ(again.structured["focus"], Json::array({"cache"}));
}

TEST(AdviseScaleTool, ErrorsNameTheFieldAndTheFix) {
  OfflineHarness h;
  auto r = h.call("advise_scale", Json::object());  // no database configured
  ASSERT_TRUE(r.is_error);
  EXPECT_THAT(r.markdown, HasSubstr("`database`: no database is configured"));
  r = h.call("advise_scale", {{"snapshot", {{"tables", {{{"table", "t"}, {"seq_scan", "x"}}}}}}});
  ASSERT_TRUE(r.is_error);
  EXPECT_THAT(r.markdown, HasSubstr("tables[0].seq_scan must be a number"));
  r = h.call("advise_scale", {{"snapshot", shop_snapshot()}, {"database", "default"}});
  ASSERT_TRUE(r.is_error);
  EXPECT_THAT(r.markdown, HasSubstr("both given"));
  r = h.call("advise_scale", {{"snapshot", shop_snapshot()}, {"focus", {"everything"}}});
  ASSERT_TRUE(r.is_error);  // the schema's enum
}

TEST(AdviseScaleTool, RecordsIntoTheSessionAndFeedsTheReportsScaleSection) {
  OfflineHarness h;
  const auto started = h.call("start_session", {{"title", "scale review"}});
  ASSERT_FALSE(started.is_error) << started.markdown;
  const std::string session = started.structured["session"];
  ASSERT_FALSE(h.call("advise_scale", {{"session", session}, {"snapshot", shop_snapshot()}}).is_error);
  const auto report = h.call("session_report", {{"session", session}});
  ASSERT_FALSE(report.is_error) << report.markdown;
  EXPECT_THAT(report.markdown, HasSubstr("## Caching and scale"));
  EXPECT_THAT(report.markdown, HasSubstr("- write_heavy: public.cart_items"));
  EXPECT_THAT(report.markdown, HasSubstr("Not recommended (and why):"));
  ASSERT_TRUE(report.structured.contains("scale")) << report.structured.dump(2);
  ASSERT_EQ(report.structured["scale"].size(), 1u);
  EXPECT_EQ(report.structured["scale"][0]["classes"]["read_heavy"], Json::array({"public.products"}));
  EXPECT_FALSE(report.structured["scale"][0]["recommendations"].empty());
}

TEST(AdviseScaleTool, ItsOutputFilesAPerfTaskWithAScaleVerification) {
  OfflineHarness h;
  const auto r = h.call("advise_scale", {{"snapshot", shop_snapshot()}, {"focus", {"cache"}}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  const auto task = h.call("create_perf_task", {{"findings", r.structured}, {"dry_run", true}});
  ASSERT_FALSE(task.is_error) << task.markdown;
  EXPECT_THAT(task.markdown, HasSubstr("run advise_scale again"));
  EXPECT_THAT(task.markdown, HasSubstr("SCALE_CACHE_TABLE"));
}

}  // namespace
}  // namespace dbopt::scale
