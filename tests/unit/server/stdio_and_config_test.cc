#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/common/error.h"
#include "server/config_loader.h"
#include "server/prompt_library.h"
#include "server/stdio_transport.h"

namespace dbopt::test {
namespace {

using Json = nlohmann::json;

std::vector<Json> run_stdio(const std::string& input) {
  server::App app{Settings{}};
  std::istringstream in(input);
  std::ostringstream out;
  server::serve_stdio(app, in, out);
  std::vector<Json> lines;
  std::istringstream written(out.str());
  for (std::string line; std::getline(written, line);) lines.push_back(Json::parse(line));
  return lines;
}

TEST(Stdio, OneMessagePerLineAndParseErrors) {
  auto out = run_stdio(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{}}})"
      "\n\n{oops\n"
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"explain_query","arguments":{"plan":"x"}}})"
      "\n");
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0]["result"]["protocolVersion"], "2025-06-18");
  EXPECT_EQ(out[1]["error"]["code"], -32700);
  EXPECT_TRUE(out[1]["id"].is_null());
  EXPECT_TRUE(out[2]["result"]["isError"]);  // answered before stdin's end is honoured
}

// A script pipes its requests in and closes stdin at once: the calls it sent
// must still be answered, not cancelled by the end of the input. The log is 400
// requests of one author query and 20 book queries with no request boundaries:
// the loop inside each request must still be found (it was taken for one outer
// loop of 400 iterations and lost, core/nplusone/detector.cc).
TEST(Stdio, CallsRunningWhenStdinClosesAreAnswered) {
  std::string log;  // a Django debug log big enough to be still in work when stdin's end is read
  for (int request = 0; request < 400; ++request) {
    log +=
        "[django.db.backends] (0.001) SELECT \"shop_author\".\"id\" FROM \"shop_author\" LIMIT 20; args=(); "
        "alias=default\n";
    for (int i = 0; i < 20; ++i) {
      const std::string id = std::to_string(request * 20 + i);
      log +=
          "[django.db.backends] (0.001) SELECT \"shop_book\".\"id\" FROM \"shop_book\" WHERE "
          "\"shop_book\".\"author_id\" = " +
          id + "; args=(" + id + ",); alias=default\n";
    }
  }
  const Json call = {{"jsonrpc", "2.0"},
                     {"id", 7},
                     {"method", "tools/call"},
                     {"params", {{"name", "detect_n_plus_one"}, {"arguments", {{"log", log}, {"format", "django"}}}}}};
  auto out = run_stdio(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{}}})"
      "\n"
      R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
      "\n" +
      call.dump() + "\n");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1]["id"], 7);
  ASSERT_TRUE(out[1].contains("result")) << out[1].dump().substr(0, 600);
  EXPECT_FALSE(out[1]["result"]["isError"].get<bool>()) << out[1].dump().substr(0, 600);
  EXPECT_FALSE(out[1]["result"]["structuredContent"]["groups"].empty());
}

TEST(Stdio, KnowledgeRulesAreResources) {
  auto out = run_stdio(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}})"
      "\n"
      R"({"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"dbopt://knowledge/rules"}})"
      "\n"
      R"({"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"dbopt://knowledge/rules/PLAN_SEQ_SCAN_LARGE_FILTER"}})"
      "\n"
      R"({"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"dbopt://knowledge/rules/NO_SUCH_RULE"}})"
      "\n");
  ASSERT_EQ(out.size(), 4u);
  Json rules = Json::parse(out[1]["result"]["contents"][0]["text"].get<std::string>())["rules"];
  EXPECT_GE(rules.size(), 40u);
  const std::string rule = out[2]["result"]["contents"][0]["text"];
  EXPECT_NE(rule.find("## Fix"), std::string::npos);
  EXPECT_NE(rule.find("min_rows_removed_share"), std::string::npos);
  EXPECT_EQ(out[3]["error"]["code"], -32002);
}

std::string write_temp(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path) << text;
  return path.string();
}

TEST(Config, FileThenEnvironmentThenDefaults) {
  const std::string path = write_temp("dbopt-config-test.json", R"({
    // comments are allowed
    "databases": {"default": {"url": "postgresql://file@db/app", "statement_timeout_ms": 5000},
                  "reporting": {"url": "postgresql://r@db/rep", "scratch": true}},
    "http": {"port": 9000},
    "limits": {"tool_timeout_ms": 30000}
  })");
  Settings s = server::load_settings(path, {{"DATABASE_URL", "postgresql://env@db/app"}, {"DBOPT_HTTP_PORT", "9100"}});
  ASSERT_NE(s.find_database("default"), nullptr);
  EXPECT_EQ(s.find_database("default")->url, "postgresql://env@db/app");  // env beats file
  EXPECT_EQ(s.find_database("default")->statement_timeout_ms, 5000);
  EXPECT_TRUE(s.find_database("reporting")->scratch);
  EXPECT_EQ(s.http.port, 9100);
  EXPECT_EQ(s.limits.tool_timeout_ms, 30000);
  EXPECT_EQ(s.http.host, "127.0.0.1");  // default
}

TEST(Config, TyposAndWrongTypesNameTheKey) {
  auto expect_error = [](const std::string& text, const std::string& mentions) {
    const std::string path = write_temp("dbopt-config-bad.json", text);
    try {
      server::load_settings(path, {});
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      EXPECT_NE(std::string(e.what()).find(mentions), std::string::npos) << e.what();
    }
  };
  expect_error(R"({"htpp": {}})", "config.htpp");
  expect_error(R"({"http": {"port": "80"}})", "config.http.port");
  expect_error(R"({"databases": {"x": {"uri": "postgresql:///x"}}})", "config.databases.x");
  expect_error("{", "not valid JSON");
  EXPECT_THROW(server::load_settings("/nonexistent/dbopt.json", {}), Error);
  EXPECT_THROW(server::load_settings("", {{"DBOPT_HTTP_PORT", "eighty"}}), Error);
}

TEST(Config, NonLoopbackBindNeedsAToken) {
  Settings s;
  s.http.host = "0.0.0.0";
  EXPECT_THROW(server::validate_settings(s), Error);
  s.http.bearer_token = "t";
  EXPECT_NO_THROW(server::validate_settings(s));
}

TEST(Config, ExampleConfigFileLoads) {
  Settings s = server::load_settings(std::string(DBOPT_SOURCE_DIR) + "/config/dbopt.example.json", {});
  EXPECT_FALSE(s.databases.empty());
}

TEST(Prompts, ShippedPromptFilesParse) {
  auto library = server::PromptLibrary::load_directory(std::string(DBOPT_SOURCE_DIR) + "/prompts");
  ASSERT_FALSE(library.prompts().empty());
  std::vector<std::string> names;
  for (const auto& p : library.prompts()) {
    names.push_back(p.name);
    EXPECT_FALSE(p.description.empty()) << p.name;
    EXPECT_FALSE(p.body.empty()) << p.name;
    // Every argument appears in the text, and every {{placeholder}} is an argument.
    std::map<std::string, std::string> values;
    for (const auto& a : p.arguments) values[a.name] = "<<" + a.name + ">>";
    const std::string text = server::PromptLibrary::render(p, values);
    for (const auto& a : p.arguments) EXPECT_NE(text.find("<<" + a.name + ">>"), std::string::npos) << p.name;
    EXPECT_EQ(text.find("{{"), std::string::npos) << p.name << ": a placeholder without an argument";
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"fix_n_plus_one", "index_strategy", "optimize_slow_query", "performance_review",
                                      "plan_for_scale", "tune_connections", "zero_downtime_migration"}));
}

TEST(Prompts, MalformedHeaderNamesTheLine) {
  try {
    server::PromptLibrary::parse("---\nname: x\nbogus line\n---\nbody", "x.md");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("x.md:3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(server::PromptLibrary::parse("no header", "y.md"), std::runtime_error);
  EXPECT_THROW(server::PromptLibrary::parse("---\nname: x\n", "z.md"), std::runtime_error);
  // complete: must name an argument declared above it.
  try {
    server::PromptLibrary::parse("---\nname: x\ndescription: d\ncomplete: db @databases\n---\nbody", "c.md");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("'db'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dbopt::test
