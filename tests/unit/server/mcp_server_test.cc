#include "server/mcp/mcp_server.h"

#include <gtest/gtest.h>

#include "tests/unit/server/mcp_test_support.h"

namespace dbopt::test {
namespace {

int error_code(const Json& response) { return response.at("error").at("code"); }

TEST(Lifecycle, InitializeEchoesASupportedVersion) {
  TestServer t;
  for (std::string version : {"2025-03-26", "2025-06-18", "2025-11-25"}) {
    auto s = std::make_shared<mcp::Session>();
    Json r = t.request(s, "initialize", {{"protocolVersion", version}, {"capabilities", Json::object()}});
    EXPECT_EQ(r["result"]["protocolVersion"], version);
    EXPECT_EQ(r["result"]["serverInfo"]["name"], "dbopt");
    EXPECT_TRUE(r["result"]["capabilities"].contains("tools"));
    EXPECT_TRUE(r["result"]["capabilities"].contains("prompts"));
    EXPECT_TRUE(r["result"]["capabilities"].contains("resources"));
    EXPECT_TRUE(r["result"]["capabilities"].contains("logging"));
    EXPECT_EQ(s->protocol_version(), version);
  }
}

TEST(Lifecycle, UnknownVersionGetsTheLatestSessionVersion) {
  TestServer t;
  auto s = std::make_shared<mcp::Session>();
  Json r = t.request(s, "initialize", {{"protocolVersion", "2024-01-01"}, {"capabilities", Json::object()}});
  EXPECT_EQ(r["result"]["protocolVersion"], "2025-11-25");
  // 2026-07-28 has no initialize: an initialize asking for it gets a session version too.
  auto s2 = std::make_shared<mcp::Session>();
  r = t.request(s2, "initialize", {{"protocolVersion", "2026-07-28"}, {"capabilities", Json::object()}});
  EXPECT_EQ(r["result"]["protocolVersion"], "2025-11-25");
}

TEST(Lifecycle, InitializeWithoutVersionIsInvalidParams) {
  TestServer t;
  auto s = std::make_shared<mcp::Session>();
  Json r = t.request(s, "initialize", {{"capabilities", Json::object()}});
  EXPECT_EQ(error_code(r), -32602);
  EXPECT_FALSE(s->initialized());
}

TEST(Lifecycle, SecondInitializeIsRejected) {
  TestServer t;
  auto s = t.initialized_session();
  Json r = t.request(s, "initialize", {{"protocolVersion", "2025-11-25"}});
  EXPECT_EQ(error_code(r), -32600);
}

TEST(Lifecycle, RequestsBeforeInitializeAreRejectedButPingWorks) {
  TestServer t;
  auto s = std::make_shared<mcp::Session>();
  Json r = t.request(s, "tools/list");
  EXPECT_EQ(error_code(r), -32600);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("initialize"), std::string::npos);
  r = t.request(s, "ping");
  EXPECT_EQ(r["result"], Json::object());
}

TEST(JsonRpc, MessageThatIsNotAnObjectIsInvalidRequest) {
  TestServer t;
  auto s = t.initialized_session();
  auto ex = t.send(Json(42), s);
  EXPECT_EQ(error_code(*ex->response), -32600);
  EXPECT_TRUE((*ex->response)["id"].is_null());
}

TEST(JsonRpc, WrongVersionMissingMethodAndBadIdsAreInvalidRequests) {
  TestServer t;
  auto s = t.initialized_session();
  EXPECT_EQ(error_code(*t.send({{"jsonrpc", "1.0"}, {"id", 1}, {"method", "ping"}}, s)->response), -32600);
  EXPECT_EQ(error_code(*t.send({{"id", 1}, {"method", "ping"}}, s)->response), -32600);
  EXPECT_EQ(error_code(*t.send({{"jsonrpc", "2.0"}, {"id", 1}}, s)->response), -32600);
  EXPECT_EQ(error_code(*t.send({{"jsonrpc", "2.0"}, {"id", 1}, {"method", 7}}, s)->response), -32600);
  EXPECT_EQ(error_code(*t.send({{"jsonrpc", "2.0"}, {"id", nullptr}, {"method", "ping"}}, s)->response), -32600);
  EXPECT_EQ(error_code(*t.send({{"jsonrpc", "2.0"}, {"id", {1, 2}}, {"method", "ping"}}, s)->response), -32600);
}

TEST(JsonRpc, ParamsMustBeAnObject) {
  TestServer t;
  auto s = t.initialized_session();
  auto ex = t.send({{"jsonrpc", "2.0"}, {"id", "a"}, {"method", "tools/list"}, {"params", {1, 2}}}, s);
  EXPECT_EQ(error_code(*ex->response), -32602);
  EXPECT_EQ((*ex->response)["id"], "a");
}

TEST(JsonRpc, UnknownMethodIsMethodNotFound) {
  TestServer t;
  auto s = t.initialized_session();
  Json r = t.request(s, "tools/frobnicate");
  EXPECT_EQ(error_code(r), -32601);
  EXPECT_EQ(error_code(t.request(s, "elicitation/create")), -32601);
}

TEST(JsonRpc, NotificationsAndClientResponsesGetNoAnswer) {
  TestServer t;
  auto s = t.initialized_session();
  auto ex = t.send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}, s);
  EXPECT_TRUE(ex->finished);
  EXPECT_FALSE(ex->response.has_value());
  ex = t.send({{"jsonrpc", "2.0"}, {"method", "notifications/unknown_thing"}}, s);
  EXPECT_FALSE(ex->response.has_value());
  ex = t.send({{"jsonrpc", "2.0"}, {"id", 5}, {"result", Json::object()}}, s);
  EXPECT_FALSE(ex->response.has_value());
}

TEST(Batches, RejectedFrom2025_06_18On) {
  TestServer t;
  for (std::string version : {"2025-06-18", "2025-11-25"}) {
    auto s = t.initialized_session(version);
    Json batch = Json::array({{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}}});
    auto ex = t.send(batch, s);
    ASSERT_TRUE(ex->response);
    EXPECT_EQ(error_code(*ex->response), -32600);
    EXPECT_NE((*ex->response)["error"]["message"].get<std::string>().find(version), std::string::npos);
  }
  auto fresh = std::make_shared<mcp::Session>();
  EXPECT_EQ(error_code(*t.send(Json::array({{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}}}), fresh)->response),
            -32600);
}

TEST(Batches, AnsweredAsAnArrayIn2025_03_26) {
  TestServer t;
  auto s = t.initialized_session("2025-03-26");
  Json batch = Json::array({{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}},
                            {{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}},
                            {{"jsonrpc", "2.0"},
                             {"id", 2},
                             {"method", "tools/call"},
                             {"params", {{"name", "count_steps"}, {"arguments", {{"n", 2}}}}}},
                            {{"jsonrpc", "2.0"}, {"id", 3}, {"method", "nope"}}});
  auto ex = t.send(batch, s);
  ASSERT_TRUE(ex->response);
  ASSERT_TRUE(ex->response->is_array());
  ASSERT_EQ(ex->response->size(), 3u);  // the notification has no answer
  std::map<int, Json> by_id;
  for (const auto& r : *ex->response) by_id[r["id"].get<int>()] = r;
  EXPECT_EQ(by_id[1]["result"], Json::object());
  EXPECT_EQ(by_id[2]["result"]["structuredContent"]["steps"], 2);
  EXPECT_EQ(error_code(by_id[3]), -32601);
  // A batch of notifications only: nothing to answer.
  auto quiet = t.send(Json::array({{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}}), s);
  EXPECT_FALSE(quiet->response.has_value());
  EXPECT_EQ(error_code(*t.send(Json::array(), s)->response), -32600);
}

TEST(Tools, ListsTheMissionToolsInNameOrderWithSchemasAndAnnotations) {
  TestServer t;
  auto s = t.initialized_session();
  Json tools = t.request(s, "tools/list")["result"]["tools"];
  std::vector<std::string> names;
  for (const auto& tool : tools) {
    names.push_back(tool["name"]);
    EXPECT_EQ(tool["inputSchema"]["type"], "object");
    EXPECT_TRUE(tool["annotations"].contains("readOnlyHint"));
    EXPECT_FALSE(tool["description"].get<std::string>().empty());
  }
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  for (const char* mission : {"explain_query", "suggest_indexes", "detect_n_plus_one", "tune_pool", "create_perf_task"})
    EXPECT_NE(std::find(names.begin(), names.end(), mission), names.end()) << mission;
}

TEST(Tools, PaginatesWithOpaqueCursors) {
  Settings settings;
  settings.limits.page_size = 3;
  TestServer t(settings);
  auto s = t.initialized_session();
  std::vector<std::string> seen;
  Json params = Json::object();
  for (int pages = 0; pages < 10; ++pages) {
    Json r = t.request(s, "tools/list", params)["result"];
    EXPECT_LE(r["tools"].size(), 3u);
    for (const auto& tool : r["tools"]) seen.push_back(tool["name"]);
    if (!r.contains("nextCursor")) break;
    params = {{"cursor", r["nextCursor"]}};
  }
  EXPECT_EQ(seen.size(), t.registry.tools().size());
  EXPECT_EQ(error_code(t.request(s, "tools/list", {{"cursor", "garbage"}})), -32602);
  EXPECT_EQ(error_code(t.request(s, "tools/list", {{"cursor", "page-999"}})), -32602);
}

TEST(Tools, UnknownToolIsInvalidParams) {
  TestServer t;
  auto s = t.initialized_session();
  Json r = t.request(s, "tools/call", {{"name", "drop_database"}});
  EXPECT_EQ(error_code(r), -32602);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("explain_query"), std::string::npos);
  EXPECT_EQ(error_code(t.request(s, "tools/call", Json::object())), -32602);
}

TEST(Tools, InvalidArgumentsAreAToolErrorNamingTheField) {
  TestServer t;
  auto s = t.initialized_session();
  Json r = t.request(s, "tools/call", {{"name", "explain_query"}, {"arguments", {{"sql", 5}}}})["result"];
  EXPECT_TRUE(r["isError"]);
  const std::string text = r["content"][0]["text"];
  EXPECT_NE(text.find("arguments.sql"), std::string::npos);
  EXPECT_NE(text.find("expected string"), std::string::npos);
  r = t.request(s, "tools/call", {{"name", "explain_query"}, {"arguments", {{"sqll", "select 1"}}}})["result"];
  EXPECT_TRUE(r["isError"]);
  EXPECT_NE(r["content"][0]["text"].get<std::string>().find("arguments.sqll"), std::string::npos);
  r = t.request(s, "tools/call", {{"name", "count_steps"}, {"arguments", "n=3"}})["result"];
  EXPECT_TRUE(r["isError"]);
}

TEST(Tools, UnbuiltToolSaysSo) {
  TestServer t;
  auto s = t.initialized_session();
  Json r = t.request(s, "tools/call", {{"name", "unbuilt_tool"}, {"arguments", Json::object()}})["result"];
  EXPECT_TRUE(r["isError"]);
  EXPECT_NE(r["content"][0]["text"].get<std::string>().find("not implemented yet"), std::string::npos);
}

TEST(Tools, ResultCarriesStructuredContentAndMarkdown) {
  TestServer t;
  auto s = t.initialized_session();
  Json r = t.request(s, "tools/call", {{"name", "count_steps"}, {"arguments", {{"n", 3}}}})["result"];
  EXPECT_FALSE(r["isError"]);
  EXPECT_EQ(r["structuredContent"]["steps"], 3);
  EXPECT_EQ(r["content"][0]["type"], "text");
  EXPECT_EQ(r["content"][0]["text"], "counted 3");
}

TEST(Tools, OutputBreakingItsSchemaIsReportedAsABug) {
  TestServer t;
  auto s = t.initialized_session();
  Json r = t.request(s, "tools/call", {{"name", "broken_output"}})["result"];
  EXPECT_TRUE(r["isError"]);
  EXPECT_NE(r["content"][0]["text"].get<std::string>().find("structuredContent.answer"), std::string::npos);
}

TEST(Progress, SentOnlyWhenRequestedAndAlwaysIncreasing) {
  TestServer t;
  auto s = t.initialized_session();
  auto ex =
      t.send({{"jsonrpc", "2.0"},
              {"id", 7},
              {"method", "tools/call"},
              {"params", {{"name", "count_steps"}, {"arguments", {{"n", 4}}}, {"_meta", {{"progressToken", "p1"}}}}}},
             s);
  std::vector<double> progress;
  for (const auto& n : ex->notifications)
    if (n["method"] == "notifications/progress") {
      EXPECT_EQ(n["params"]["progressToken"], "p1");
      EXPECT_EQ(n["params"]["total"], 4);
      progress.push_back(n["params"]["progress"]);
    }
  EXPECT_EQ(progress, (std::vector<double>{1, 2, 3, 4}));
  ex = t.send({{"jsonrpc", "2.0"},
               {"id", 8},
               {"method", "tools/call"},
               {"params", {{"name", "count_steps"}, {"arguments", {{"n", 4}}}}}},
              s);
  EXPECT_TRUE(ex->notifications.empty());
}

TEST(Cancellation, CancelledCallStopsAndGetsNoAnswer) {
  TestServer t;
  auto s = t.initialized_session();
  auto ex = std::make_shared<RecordingExchange>();
  t.server->handle({{"jsonrpc", "2.0"},
                    {"id", "slow"},
                    {"method", "tools/call"},
                    {"params", {{"name", "wait_for_cancel"}, {"_meta", {{"progressToken", 1}}}}}},
                   s, ex);
  // Wait until the tool runs (its first progress), then cancel it.
  for (int i = 0; i < 500 && ex->notifications.empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  auto note = t.send({{"jsonrpc", "2.0"},
                      {"method", "notifications/cancelled"},
                      {"params", {{"requestId", "slow"}, {"reason", "user pressed stop"}}}},
                     s);
  EXPECT_FALSE(note->response.has_value());
  ASSERT_TRUE(ex->wait(std::chrono::seconds(5)));
  EXPECT_FALSE(ex->response.has_value());
  // The server still answers afterwards, and a cancel of an unknown id is ignored.
  EXPECT_EQ(t.request(s, "ping")["result"], Json::object());
  EXPECT_FALSE(t.send({{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", 99}}}}, s)
                   ->response.has_value());
}

TEST(Cancellation, AbandonedExchangeCancelsTheCall) {
  TestServer t;
  auto s = t.initialized_session();
  auto ex = std::make_shared<RecordingExchange>();
  t.server->handle({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"}, {"params", {{"name", "wait_for_cancel"}}}},
                   s, ex);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ex->abandon();  // what HTTP does when the client goes away
  ASSERT_TRUE(ex->wait(std::chrono::seconds(5)));
  EXPECT_FALSE(ex->response.has_value());
}

TEST(TimeLimits, CallPastItsLimitEndsWithAToolErrorNamingTheSetting) {
  Settings settings;
  settings.limits.tool_timeout_ms = 150;
  TestServer t(settings);
  auto s = t.initialized_session();
  Json r = t.request(s, "tools/call", {{"name", "wait_for_cancel"}})["result"];
  EXPECT_TRUE(r["isError"]);
  EXPECT_NE(r["content"][0]["text"].get<std::string>().find("tool_timeout_ms"), std::string::npos);
}

TEST(Concurrency, PingIsAnsweredWhileEveryWorkerIsBusy) {
  Settings settings;
  settings.limits.worker_threads = 1;
  settings.limits.max_queued_calls = 1;
  TestServer t(settings);
  auto s = t.initialized_session();
  auto busy = std::make_shared<RecordingExchange>();
  t.server->handle(
      {{"jsonrpc", "2.0"}, {"id", "a"}, {"method", "tools/call"}, {"params", {{"name", "wait_for_cancel"}}}}, s, busy);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(t.request(s, "ping", Json::object(), "p")["result"], Json::object());
  // One call may wait in the queue; the next is refused as busy rather than blocking.
  auto queued = std::make_shared<RecordingExchange>();
  t.server->handle({{"jsonrpc", "2.0"},
                    {"id", "b"},
                    {"method", "tools/call"},
                    {"params", {{"name", "count_steps"}, {"arguments", {{"n", 1}}}}}},
                   s, queued);
  Json refused = t.request(s, "tools/call", {{"name", "count_steps"}, {"arguments", {{"n", 1}}}}, "c");
  EXPECT_EQ(error_code(refused), -32000);
  s->cancel_request("a");
  ASSERT_TRUE(queued->wait());
  EXPECT_EQ((*queued->response)["result"]["structuredContent"]["steps"], 1);
}

TEST(Logging, SetLevelControlsToolLogMessages) {
  TestServer t;
  auto s = t.initialized_session();
  EXPECT_EQ(error_code(t.request(s, "logging/setLevel", {{"level", "loud"}})), -32602);
  auto quiet = t.send({{"jsonrpc", "2.0"},
                       {"id", 1},
                       {"method", "tools/call"},
                       {"params", {{"name", "count_steps"}, {"arguments", {{"n", 1}}}}}},
                      s);
  EXPECT_TRUE(quiet->notifications.empty());  // no level set: no log messages
  EXPECT_EQ(t.request(s, "logging/setLevel", {{"level", "info"}})["result"], Json::object());
  auto ex = t.send({{"jsonrpc", "2.0"},
                    {"id", 2},
                    {"method", "tools/call"},
                    {"params", {{"name", "count_steps"}, {"arguments", {{"n", 1}}}}}},
                   s);
  ASSERT_EQ(ex->notifications.size(), 1u);  // info passes, debug does not
  EXPECT_EQ(ex->notifications[0]["method"], "notifications/message");
  EXPECT_EQ(ex->notifications[0]["params"]["level"], "info");
  EXPECT_EQ(ex->notifications[0]["params"]["data"], "counted");
}

TEST(Prompts, ListAndGetWithArguments) {
  TestServer t;
  auto s = t.initialized_session();
  Json prompts = t.request(s, "prompts/list")["result"]["prompts"];
  ASSERT_EQ(prompts.size(), 1u);
  EXPECT_EQ(prompts[0]["name"], "optimize_slow_query");
  EXPECT_EQ(prompts[0]["arguments"][0]["required"], true);
  Json r = t.request(s, "prompts/get", {{"name", "optimize_slow_query"}, {"arguments", {{"sql", "SELECT 1"}}}});
  EXPECT_EQ(r["result"]["messages"][0]["content"]["text"], "Optimize SELECT 1 on (not given).");
  EXPECT_EQ(error_code(t.request(s, "prompts/get", {{"name", "optimize_slow_query"}})), -32602);
  EXPECT_EQ(error_code(t.request(s, "prompts/get", {{"name", "nope"}})), -32602);
}

TEST(Completion, PromptArgumentsAndResourceTemplates) {
  Settings settings;
  settings.databases = {{.name = "orders_db", .url = "postgresql://x/orders"},
                        {.name = "analytics", .url = "postgresql://x/analytics"}};
  TestServer t(settings);
  auto s = t.initialized_session();
  auto complete = [&](Json ref, const std::string& name, const std::string& value) {
    return t.request(s, "completion/complete", {{"ref", ref}, {"argument", {{"name", name}, {"value", value}}}});
  };
  const Json prompt = {{"type", "ref/prompt"}, {"name", "optimize_slow_query"}};
  Json r = complete(prompt, "framework", "sq")["result"]["completion"];
  EXPECT_EQ(r["values"], Json::array({"sqlalchemy"}));
  EXPECT_EQ(r["total"], 1);
  EXPECT_EQ(r["hasMore"], false);
  // Prefix matches first, then matches inside the value; case does not matter.
  r = complete(prompt, "framework", "R")["result"]["completion"];
  EXPECT_EQ(r["values"], Json::array({"rails", "graphql"}));
  // @databases: the configured names.
  r = complete(prompt, "database", "")["result"]["completion"];
  EXPECT_EQ(r["values"], Json::array({"orders_db", "analytics"}));
  // No known values: an empty list, not an error.
  EXPECT_EQ(complete(prompt, "sql", "SEL")["result"]["completion"]["values"], Json::array());

  const Json tools = {{"type", "ref/resource"}, {"uri", "dbopt://tools/{name}"}};
  EXPECT_EQ(complete(tools, "name", "sug")["result"]["completion"]["values"], Json::array({"suggest_indexes"}));

  EXPECT_EQ(error_code(complete({{"type", "ref/prompt"}, {"name", "nope"}}, "x", "")), -32602);
  const Json unknown_argument = complete(prompt, "colour", "");
  EXPECT_EQ(error_code(unknown_argument), -32602);
  EXPECT_NE(unknown_argument.dump().find("sql, database, framework"), std::string::npos) << unknown_argument;
  EXPECT_EQ(error_code(complete({{"type", "ref/resource"}, {"uri", "dbopt://nope/{x}"}}, "x", "")), -32602);
  EXPECT_EQ(error_code(complete(tools, "id", "")), -32602);
  EXPECT_EQ(error_code(complete({{"type", "ref/other"}}, "x", "")), -32602);
}

TEST(Resources, ListReadTemplatesAndNotFound) {
  TestServer t;
  auto s = t.initialized_session();
  EXPECT_EQ(t.request(s, "resources/list")["result"]["resources"][0]["uri"], "dbopt://server/info");
  EXPECT_EQ(t.request(s, "resources/templates/list")["result"]["resourceTemplates"][0]["uriTemplate"],
            "dbopt://tools/{name}");
  Json r = t.request(s, "resources/read", {{"uri", "dbopt://tools/explain_query"}});
  EXPECT_EQ(r["result"]["contents"][0]["text"], "# explain_query");
  EXPECT_EQ(error_code(t.request(s, "resources/read", {{"uri", "dbopt://tools/nope"}})), -32002);
  EXPECT_EQ(error_code(t.request(s, "resources/read", {{"uri", "file:///etc/passwd"}})), -32002);
  EXPECT_EQ(error_code(t.request(s, "resources/read")), -32602);
}

TEST(Stateless2026, DiscoverAdvertisesEveryVersion) {
  TestServer t;
  auto s = std::make_shared<mcp::Session>();
  Json r = t.request(s, "server/discover", stateless_meta())["result"];
  EXPECT_EQ(r["supportedVersions"], Json({"2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"}));
  EXPECT_EQ(r["resultType"], "complete");
  EXPECT_EQ(r["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "dbopt");
  EXPECT_TRUE(r.contains("ttlMs"));
  EXPECT_TRUE(r.contains("cacheScope"));
}

TEST(Stateless2026, RequestsNeedNoInitializeAndCarryResultTypeAndCaching) {
  TestServer t;
  auto s = std::make_shared<mcp::Session>();
  Json r = t.request(s, "tools/list", stateless_meta())["result"];
  EXPECT_EQ(r["resultType"], "complete");
  EXPECT_EQ(r["cacheScope"], "public");
  EXPECT_GT(r["ttlMs"].get<int>(), 0);
  EXPECT_FALSE(r["tools"].empty());
  Json params = stateless_meta();
  params["name"] = "count_steps";
  params["arguments"] = {{"n", 2}};
  r = t.request(s, "tools/call", params)["result"];
  EXPECT_EQ(r["resultType"], "complete");
  EXPECT_EQ(r["structuredContent"]["steps"], 2);
  EXPECT_FALSE(s->initialized());
}

TEST(Stateless2026, UnsupportedVersionListsTheSupportedOnes) {
  TestServer t;
  auto s = std::make_shared<mcp::Session>();
  Json r = t.request(s, "tools/list", stateless_meta("2099-01-01"));
  EXPECT_EQ(error_code(r), -32022);
  EXPECT_EQ(r["error"]["data"]["requested"], "2099-01-01");
  EXPECT_TRUE(r["error"]["data"]["supported"].is_array());
}

TEST(Stateless2026, RemovedMethodsAreNotFound) {
  TestServer t;
  auto s = std::make_shared<mcp::Session>();
  EXPECT_EQ(error_code(t.request(s, "ping", stateless_meta())), -32601);
  Json params = stateless_meta();
  params["level"] = "info";
  EXPECT_EQ(error_code(t.request(s, "logging/setLevel", params)), -32601);
  params = stateless_meta();
  params["protocolVersion"] = "2026-07-28";
  EXPECT_EQ(error_code(t.request(s, "initialize", params)), -32601);
}

TEST(Stateless2026, ResourceNotFoundIsInvalidParams) {
  TestServer t;
  auto s = std::make_shared<mcp::Session>();
  Json params = stateless_meta();
  params["uri"] = "dbopt://nope";
  EXPECT_EQ(error_code(t.request(s, "resources/read", params)), -32602);
}

TEST(Stateless2026, LogMessagesOnlyWhenTheRequestAsks) {
  TestServer t;
  auto s = std::make_shared<mcp::Session>();
  Json params = stateless_meta();
  params["name"] = "count_steps";
  params["arguments"] = {{"n", 1}};
  auto ex = t.send({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"}, {"params", params}}, s);
  EXPECT_TRUE(ex->notifications.empty());
  params["_meta"]["io.modelcontextprotocol/logLevel"] = "debug";
  ex = t.send({{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/call"}, {"params", params}}, s);
  EXPECT_EQ(ex->notifications.size(), 2u);
}

}  // namespace
}  // namespace dbopt::test
