// tune_pool through the tool registry, offline: every platform answers with
// structured content that matches the output schema (the registry checks it)
// and markdown; bad input names the field; an unknown platform says so.
#include <gtest/gtest.h>

#include "core/common/settings.h"
#include "knowledge/rule_book.h"
#include "pool_test_support.h"
#include "tools/tool_registry.h"

namespace dbopt::tools {
namespace {

const ToolRegistry& registry() {
  static const ToolRegistry r = [] {
    ToolRegistry reg;
    register_builtin_tools(reg);
    return reg;
  }();
  return r;
}

ToolResult call(const Json& args) {
  Settings settings;
  settings.knowledge_dir = std::string(DBOPT_SOURCE_DIR) + "/knowledge";
  CancellationToken cancel;
  ToolContext ctx{.settings = settings, .cancel = cancel, .rules = &pool::testing::shipped_rules()};
  return registry().call("tune_pool", args, ctx);
}

const Json kApp = {{"instances", 3},           {"autoscale_max_instances", 12}, {"processes_per_instance", 4},
                   {"threads_per_process", 4}, {"request_rate_per_s", 400},     {"db_time_per_request_ms", 12}};

TEST(TunePoolTool, IsImplementedAndReadOnly) {
  const Tool* tool = registry().find("tune_pool");
  ASSERT_NE(tool, nullptr);
  EXPECT_TRUE(tool->implemented);
  EXPECT_TRUE(tool->annotations.read_only);
  EXPECT_FALSE(tool->output_schema.is_null());
}

TEST(TunePoolTool, EveryPlatformAnswersOffline) {
  const std::vector<Json> servers = {
      {{"platform", "self_hosted"}, {"server", {{"cores", 8}, {"memory_gb", 32}, {"max_connections", 200}}}},
      {{"platform", "pgbouncer"}, {"server", {{"cores", 8}, {"memory_gb", 32}, {"max_connections", 200}}}},
      {{"platform", "supabase"}, {"server", {{"compute_size", "Large"}}}},
      {{"platform", "neon"}, {"server", {{"compute_size", "2 CU"}}}},
      {{"platform", "rds"}, {"server", {{"cores", 4}, {"memory_gb", 16}}}},
      {{"platform", "rds_proxy"}, {"server", {{"cores", 4}, {"memory_gb", 16}}}},
      {{"platform", "aurora"}, {"server", {{"cores", 8}, {"memory_gb", 64}}}},
      {{"platform", "cloud_sql"}, {"server", {{"cores", 4}, {"memory_gb", 15}}}},
  };
  for (Json args : servers) {
    SCOPED_TRACE(args.dump());
    args["app"] = kApp;
    const ToolResult r = call(args);
    ASSERT_FALSE(r.is_error) << r.markdown;
    const Json& s = r.structured;
    EXPECT_TRUE(s["platform"]["known"]);
    EXPECT_FALSE(s["sizing"]["steps"].empty());
    EXPECT_EQ(s["sizing"]["numbers"]["fleet_connections_at_max"], 12 * 4 * 4);
    EXPECT_EQ(s["sizing"]["numbers"]["littles_law_connections"], 8);  // 400 x 0.012 = 4.8 x 1.5 = 7.2 -> 8
    for (const auto& step : s["sizing"]["steps"]) {
      EXPECT_FALSE(step["arithmetic"].get<std::string>().empty()) << step.dump();
      EXPECT_TRUE(pool::testing::shipped_rules().contains(step["rule_id"].get<std::string>())) << step.dump();
    }
    for (const auto& f : s["findings"])
      EXPECT_TRUE(pool::testing::shipped_rules().contains(f["rule_id"].get<std::string>()));
    EXPECT_TRUE(s["config"].contains("django_settings"));
    EXPECT_NE(r.markdown.find("## Sizing"), std::string::npos);
    EXPECT_NE(r.markdown.find("Little's law"), std::string::npos);
  }
}

TEST(TunePoolTool, PlatformConnectionStrings) {
  Json args = {{"platform", "supabase"}, {"server", {{"compute_size", "Small"}}}, {"app", kApp}};
  Json cs = call(args).structured["config"]["connection_strings"];
  EXPECT_NE(cs["pooled"].get<std::string>().find(":6543/"), std::string::npos) << cs.dump();
  EXPECT_NE(cs["direct"].get<std::string>().find(":5432/"), std::string::npos) << cs.dump();
  args = {{"platform", "neon"}, {"server", {{"compute_size", "0.25 CU"}}}, {"app", kApp}};
  cs = call(args).structured["config"]["connection_strings"];
  EXPECT_NE(cs["pooled"].get<std::string>().find("-pooler."), std::string::npos) << cs.dump();
  EXPECT_EQ(cs["direct"].get<std::string>().find("-pooler"), std::string::npos) << cs.dump();
}

TEST(TunePoolTool, PgBouncerIniOnlyWhenOneIsToRun) {
  Json args = {{"platform", "pgbouncer"}, {"server", {{"cores", 4}, {"max_connections", 100}}}, {"app", kApp}};
  Json s = call(args).structured;
  ASSERT_TRUE(s["config"].contains("pgbouncer_ini"));
  const std::string ini = s["config"]["pgbouncer_ini"]["text"];
  EXPECT_NE(ini.find("pool_mode = transaction"), std::string::npos);
  EXPECT_NE(ini.find("default_pool_size = 9"), std::string::npos) << ini;  // 4 x 2 + 1
  EXPECT_NE(ini.find("max_client_conn = 384"), std::string::npos)
      << ini;  // 192 x 2: a rolling deploy overlaps old and new
  args["platform"] = "neon";
  args["server"] = {{"compute_size", "1 CU"}};
  EXPECT_FALSE(call(args).structured["config"].contains("pgbouncer_ini"));
}

TEST(TunePoolTool, UnknownPlatformGetsGenericAdviceThatSaysSo) {
  const ToolResult r = call({{"platform", "heroku"}, {"server", {{"max_connections", 120}}}, {"app", kApp}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  EXPECT_FALSE(r.structured["platform"]["known"]);
  EXPECT_NE(r.markdown.find("not in dbopt's platform table"), std::string::npos);
  EXPECT_NE(r.markdown.find("generic"), std::string::npos);
}

TEST(TunePoolTool, BadInputNamesTheField) {
  const std::vector<std::pair<Json, std::string>> cases = {
      {{{"platform", "self_hosted"}, {"server", {{"cores", 0}}}}, "server.cores"},
      {{{"platform", "self_hosted"}, {"app", {{"request_rate_per_s", -5}}}}, "app.request_rate_per_s"},
      {{{"platform", "self_hosted"}, {"app", {{"request_rate_per_s", 50}}}}, "app.db_time_per_request_ms"},
      {{{"platform", "self_hosted"}, {"app", {{"instances", 5}, {"autoscale_max_instances", 2}}}},
       "app.autoscale_max_instances"},
      {{{"platform", "self_hosted"},
        {"app", {{"request_rate_per_s", 50}, {"db_time_per_request_ms", 20}, {"p95_db_time_ms", 5}}}},
       "app.p95_db_time_ms"},
      {{{"platform", "neon"}, {"server", {{"compute_size", "1 CU"}, {"max_connections", 2000}}}},
       "server.max_connections"},
      {{{"platform", "supabase"}, {"server", {{"compute_size", "Gigantic"}}}}, "server.compute_size"},
      {{{"platform", "self_hosted"}, {"server", {{"max_connections", 6}}}}, "server.max_connections"},
      {{{"platform", "self_hosted"}, {"database", "default"}}, "database"},
  };
  for (const auto& [args, field] : cases) {
    SCOPED_TRACE(args.dump());
    const ToolResult r = call(args);
    ASSERT_TRUE(r.is_error) << r.markdown;
    EXPECT_EQ(r.error_code, ErrorCode::invalid_argument);
    EXPECT_NE(r.markdown.find(field), std::string::npos) << r.markdown;
  }
}

TEST(TunePoolTool, WarnsWhenTheFleetAtAutoscaleMaxExceedsTheServer) {
  Json app = kApp;
  app["autoscale_max_instances"] = 40;  // 640 connections
  const ToolResult r = call({{"platform", "rds"}, {"server", {{"cores", 2}, {"memory_gb", 4}}}, {"app", app}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  bool warned = false;
  for (const auto& f : r.structured["findings"]) warned |= f["rule_id"] == "POOL_FLEET_EXCEEDS_SERVER";
  EXPECT_TRUE(warned);
  EXPECT_EQ(r.structured["mode"]["mode"], "transaction");
  EXPECT_TRUE(r.structured["config"].contains("pgbouncer_ini"));
  EXPECT_NE(r.markdown.find("640"), std::string::npos);
}

TEST(TunePoolTool, GenericFrameworkGetsAnAppPoolBlock) {
  // Direct on 100 connections: 92 usable, core bound 9; 2 x 2 x 8 = 32 fit.
  const ToolResult r = call({{"platform", "self_hosted"},
                             {"framework", "generic"},
                             {"server", {{"cores", 4}, {"max_connections", 100}}},
                             {"app", {{"instances", 2}, {"processes_per_instance", 2}, {"threads_per_process", 8}}}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  const Json& config = r.structured["config"];
  EXPECT_FALSE(config.contains("django_settings"));
  ASSERT_TRUE(config.contains("generic_pool"));
  EXPECT_NE(config["generic_pool"]["text"].get<std::string>().find("max_pool_size = 8"), std::string::npos)
      << config["generic_pool"]["text"];
}

TEST(TunePoolTool, AsyncDjangoDoesNotKeepPersistentConnections) {
  const ToolResult r =
      call({{"platform", "neon"},
            {"server", {{"compute_size", "0.25 CU"}}},
            {"app",
             {{"instances", 4}, {"processes_per_instance", 4}, {"threads_per_process", 8}, {"async_workers", true}}}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  const std::string django = r.structured["config"]["django_settings"]["text"];
  EXPECT_NE(django.find("\"CONN_MAX_AGE\": 0,"), std::string::npos) << django;
  EXPECT_EQ(django.find("\"CONN_MAX_AGE\": 600"), std::string::npos) << django;
}

}  // namespace
}  // namespace dbopt::tools
