// detect_n_plus_one through the tool registry (argument checks, output-schema
// check included): offline on statements and logs, and with a live database
// whose catalog's foreign keys name relations Django's conventions cannot.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <pqxx/pqxx>

#include "core/pg/database_pool.h"
#include "knowledge/rule_book.h"
#include "tests/unit/pg/pg_test_env.h"
#include "tools/builtin_tools.h"
#include "tools/tool_registry.h"

namespace dbopt::tools {
namespace {

using ::testing::HasSubstr;

const knowledge::RuleBook& rule_book() {
  static const knowledge::RuleBook book = knowledge::RuleBook::load_directory(DBOPT_SOURCE_DIR "/knowledge/rules");
  return book;
}

const ToolRegistry& registry() {
  static const ToolRegistry tools = [] {
    ToolRegistry r;
    r.add(make_detect_n_plus_one_tool());
    return r;
  }();
  return tools;
}

ToolResult call(const Json& args, pg::DatabasePool* databases = nullptr, Settings settings = {}) {
  CancellationToken cancel;
  ToolContext ctx{.settings = settings, .cancel = cancel, .databases = databases, .rules = &rule_book()};
  return registry().call("detect_n_plus_one", args, ctx);
}

// The sample call of tests/e2e/lib/suite.mjs: one request's statements, no database.
Json sample() {
  Json q = Json::array({"SELECT id, name FROM customers"});
  for (int i = 1; i <= 8; ++i) q.push_back("SELECT * FROM orders WHERE customer_id = " + std::to_string(i));
  return {{"queries", q}};
}

TEST(DetectNPlusOneTool, IsImplementedAndDescribed) {
  const Tool* tool = registry().find("detect_n_plus_one");
  ASSERT_NE(tool, nullptr);
  EXPECT_TRUE(tool->implemented);
  EXPECT_THAT(tool->description, ::testing::Not(HasSubstr("NOT IMPLEMENTED")));
  EXPECT_TRUE(tool->output_schema.is_object());
}

TEST(DetectNPlusOneTool, SampleCallFindsTheLoopOffline) {
  const ToolResult r = call(sample());
  ASSERT_FALSE(r.is_error) << r.markdown;
  const Json& s = r.structured;
  ASSERT_EQ(s["groups"].size(), 1u);
  const Json& g = s["groups"][0];
  EXPECT_EQ(g["kind"], "reverse_fk");
  EXPECT_EQ(g["n"], 8);
  EXPECT_EQ(g["rule_id"], "WORKLOAD_NPLUSONE_READ_LOOP");
  EXPECT_EQ(g["severity"], "low");
  // Plain table names, nothing naming the framework: no Django call with an invented related name.
  EXPECT_FALSE(g["fix"].contains("django")) << g["fix"].dump();
  EXPECT_EQ(s["input"]["framework"], "generic");
  EXPECT_THAT(g["fix"]["sql"].get<std::string>(), HasSubstr("customer_id = ANY($1)"));
  EXPECT_THAT(g["summary"].get<std::string>(), HasSubstr("ran 8 times"));
  EXPECT_EQ(s["input"]["timed"], false);
  EXPECT_EQ(s["thresholds"]["count_only"], true);
  EXPECT_EQ(s["thresholds"]["min_total_ms"], 0);
  EXPECT_EQ(s["top_offenders"].size(), 1u);
  EXPECT_THAT(r.markdown, HasSubstr("customer_id = ANY($1)"));
  EXPECT_THAT(r.markdown, ::testing::Not(HasSubstr("order_set")));
  EXPECT_THAT(r.markdown, HasSubstr("Count-only mode"));
  // Told it is Django, the fix is Django's, with its default names said to be defaults.
  Json django = sample();
  django["framework"] = "django";
  const ToolResult d = call(django);
  ASSERT_FALSE(d.is_error) << d.markdown;
  EXPECT_EQ(d.structured["groups"][0]["fix"]["django"], "Customer.objects.prefetch_related('order_set')");
  EXPECT_THAT(d.structured["groups"][0]["fix"]["names_from"].get<std::string>(), HasSubstr("default related names"));
}

TEST(DetectNPlusOneTool, VerboseExplainsWhatWasNotReported) {
  Json args = sample();
  args["min_repeats"] = 9;
  args["verbose"] = true;
  const ToolResult r = call(args);
  ASSERT_FALSE(r.is_error) << r.markdown;
  EXPECT_TRUE(r.structured["groups"].empty());
  ASSERT_EQ(r.structured["not_reported"].size(), 1u);
  EXPECT_THAT(r.structured["not_reported"][0]["reason"].get<std::string>(), HasSubstr("min_repeats 9"));
  EXPECT_THAT(r.markdown, HasSubstr("No N+1 loop found"));
  EXPECT_THAT(r.markdown, HasSubstr("not reported"));
}

TEST(DetectNPlusOneTool, ReadsLogTextAndFiles) {
  const std::string path = std::string(DBOPT_FIXTURES_DIR) + "/logs/stderr_pgbadger_like.log";
  const ToolResult from_file = call({{"log_path", path}});
  ASSERT_FALSE(from_file.is_error) << from_file.markdown;
  EXPECT_EQ(from_file.structured["input"]["format"], "postgres_stderr");
  EXPECT_EQ(from_file.structured["input"]["statements"], 6);
  EXPECT_EQ(from_file.structured["input"]["skipped_lines"], 2);
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const ToolResult from_text = call({{"log", text}, {"format", "postgres_stderr"}});
  ASSERT_FALSE(from_text.is_error) << from_text.markdown;
  EXPECT_EQ(from_text.structured["input"]["statements"], 6);
}

TEST(DetectNPlusOneTool, ModelsArgumentNamesTheRelations) {
  Json q = Json::array({"SELECT \"blog_post\".\"id\" FROM \"blog_post\""});
  for (int i = 1; i <= 6; ++i)
    q.push_back("SELECT \"blog_comment\".\"id\" FROM \"blog_comment\" WHERE \"blog_comment\".\"post_id\" = " +
                std::to_string(i));
  const std::string models =
      "# blog/models.py\nclass Post(models.Model):\n    title = models.CharField(max_length=9)\n\n"
      "class Comment(models.Model):\n    post = models.ForeignKey(Post, models.CASCADE, related_name='replies')\n";
  const ToolResult r = call({{"queries", q}, {"models", models}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  const Json& g = r.structured["groups"][0];
  EXPECT_EQ(g["fix"]["django"], "Post.objects.prefetch_related('replies')");
  EXPECT_EQ(g["fix"]["names_from"], "models.py");
  EXPECT_THAT(r.markdown, HasSubstr("names from models.py"));
  const ToolResult bad = call({{"queries", q}, {"models", "print('hello')"}});
  EXPECT_TRUE(bad.is_error);
  EXPECT_THAT(bad.markdown, HasSubstr("`models`"));
}

TEST(DetectNPlusOneTool, GraphqlLogShowsTheLoaderToPaste) {
  std::string log;
  log +=
      "2026-11-27 10:00:00.001 UTC [77] user=api,db=shop,app=apollo-graphql LOG:  duration: 0.120 ms  "
      "statement: SELECT id, name FROM customers LIMIT 10\n";
  for (int i = 1; i <= 10; ++i)
    log += "2026-11-27 10:00:00.0" + std::to_string(10 + i) +
           " UTC [77] user=api,db=shop,app=apollo-graphql LOG:  duration: 0.040 ms  statement: SELECT id, total "
           "FROM order_lines WHERE customer_id = " +
           std::to_string(i) + "\n";
  const ToolResult r = call({{"log", log}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  ASSERT_EQ(r.structured["groups"].size(), 1u);
  const Json& g = r.structured["groups"][0];
  EXPECT_EQ(r.structured["input"]["framework"], "graphql");
  EXPECT_FALSE(g["fix"].contains("django")) << "no lines_set-style invented name";
  EXPECT_THAT(g["fix"]["graphql"].get<std::string>(), HasSubstr("new DataLoader"));
  EXPECT_THAT(r.markdown, HasSubstr("```js"));
  EXPECT_THAT(r.markdown, HasSubstr("WHERE customer_id = ANY($1)"));
  EXPECT_THAT(r.markdown, ::testing::Not(HasSubstr("_set")));
  // The header's units and the detail's agree.
  EXPECT_EQ(r.structured["input"]["units"], 1);
  EXPECT_EQ(g["units"], 1);
  EXPECT_THAT(r.markdown, HasSubstr("in 1 unit(s) of work grouped by"));
  EXPECT_THAT(r.markdown, HasSubstr("1 loop(s) in 1 unit(s) of work"));
}

TEST(DetectNPlusOneTool, BadArgumentsNameTheFix) {
  const ToolResult none = call(Json::object());
  EXPECT_TRUE(none.is_error);
  EXPECT_EQ(none.error_code, ErrorCode::invalid_argument);
  EXPECT_THAT(none.markdown, HasSubstr("log_path"));
  const ToolResult two = call({{"log", "x"}, {"queries", {"SELECT 1"}}});
  EXPECT_TRUE(two.is_error);
  const ToolResult missing = call({{"log_path", "/nonexistent/dbopt.log"}});
  EXPECT_TRUE(missing.is_error);
  EXPECT_EQ(missing.error_code, ErrorCode::not_found);
  const ToolResult unknown = call({{"log", "hello\nworld\n"}});
  EXPECT_TRUE(unknown.is_error);
  EXPECT_EQ(unknown.error_code, ErrorCode::invalid_argument);
  const ToolResult no_db = call({{"queries", {"SELECT 1"}}, {"database", "default"}});
  EXPECT_TRUE(no_db.is_error);
  EXPECT_THAT(no_db.markdown, HasSubstr("database"));
}

// ---- live: foreign keys from the catalog ----

TEST(DetectNPlusOneToolLive, CatalogForeignKeysNameTheRelation) {
  DBOPT_REQUIRE_TEST_DATABASE();
  {
    // An own schema, created idempotently; a foreign key no naming convention explains.
    pqxx::connection conn(pg::testing::database_url());
    pqxx::work tx(conn);
    tx.exec(
        "CREATE SCHEMA IF NOT EXISTS nplusone_catalog;"
        "CREATE TABLE IF NOT EXISTS nplusone_catalog.press_writer (id int PRIMARY KEY, name text);"
        "CREATE TABLE IF NOT EXISTS nplusone_catalog.press_story (id int PRIMARY KEY, title text,"
        "  penned_by_id int REFERENCES nplusone_catalog.press_writer (id))");
    tx.commit();
  }
  Json q = Json::array({"SELECT press_story.id, press_story.title, press_story.penned_by_id FROM press_story"});
  for (int i = 1; i <= 6; ++i)
    q.push_back("SELECT press_writer.id, press_writer.name FROM press_writer WHERE press_writer.id = " +
                std::to_string(i));
  const ToolResult offline = call({{"queries", q}});
  ASSERT_FALSE(offline.is_error) << offline.markdown;
  EXPECT_EQ(offline.structured["groups"][0]["kind"], "get_in_loop");

  Settings settings = pg::testing::test_settings();
  pg::DatabasePool pool(settings);
  const ToolResult live = call({{"queries", q}, {"database", "default"}}, &pool, settings);
  ASSERT_FALSE(live.is_error) << live.markdown;
  const Json& g = live.structured["groups"][0];
  EXPECT_EQ(g["kind"], "forward_fk");
  EXPECT_EQ(g["fix"]["django"], "Story.objects.select_related('penned_by')");
  EXPECT_THAT(live.structured["input"]["relations_from"].get<std::string>(), HasSubstr("from the catalog"));
}

}  // namespace
}  // namespace dbopt::tools
