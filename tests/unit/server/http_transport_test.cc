// The HTTP face against a real listening socket: MCP Streamable HTTP rules,
// security checks (Origin, Host, bearer token, body size) and REST.
#include "server/http/http_transport.h"

#include <httplib.h>

#include <gtest/gtest.h>

#include <thread>

namespace dbopt::test {
namespace {

using Json = nlohmann::json;

class HttpTransportTest : public ::testing::Test {
 protected:
  void start(Settings settings = {}) {
    settings.http.max_body_bytes = 64 * 1024;
    app_ = std::make_unique<server::App>(settings);
    http_ = std::make_unique<server::HttpTransport>(*app_);
    port_ = http_->bind("127.0.0.1", 0);
    thread_ = std::thread([this] { http_->listen(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(10, 0);
    for (int i = 0; i < 200 && !client_->Get("/healthz"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  void TearDown() override {
    if (http_) http_->stop();
    if (thread_.joinable()) thread_.join();
  }

  httplib::Headers mcp_headers(const std::string& session = {}) {
    httplib::Headers h = {{"Accept", "application/json, text/event-stream"}};
    if (!session.empty()) h.emplace("Mcp-Session-Id", session);
    if (!token_.empty()) h.emplace("Authorization", "Bearer " + token_);
    return h;
  }
  httplib::Result post(const Json& body, httplib::Headers headers) {
    return client_->Post("/mcp", headers, body.dump(), "application/json");
  }
  std::string initialize() {
    auto res = post({{"jsonrpc", "2.0"},
                     {"id", 1},
                     {"method", "initialize"},
                     {"params",
                      {{"protocolVersion", "2025-11-25"},
                       {"capabilities", Json::object()},
                       {"clientInfo", {{"name", "gtest"}, {"version", "1"}}}}}},
                    mcp_headers());
    EXPECT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    return res->get_header_value("Mcp-Session-Id");
  }
  bool still_serving() {
    auto res = client_->Get("/healthz");
    return res && res->status == 200;
  }

  std::unique_ptr<server::App> app_;
  std::unique_ptr<server::HttpTransport> http_;
  std::unique_ptr<httplib::Client> client_;
  std::thread thread_;
  int port_ = 0;
  std::string token_;
};

TEST_F(HttpTransportTest, SessionLifecycle) {
  start();
  const std::string session = initialize();
  ASSERT_EQ(session.size(), 32u);
  auto note = post({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}, mcp_headers(session));
  ASSERT_TRUE(note);
  EXPECT_EQ(note->status, 202);
  EXPECT_TRUE(note->body.empty());
  auto list = post({{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/list"}}, mcp_headers(session));
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200);
  EXPECT_EQ(Json::parse(list->body)["result"]["tools"].size(), app_->tools().tools().size());
  // Without the session header: 400; with an unknown one: 404.
  auto missing = post({{"jsonrpc", "2.0"}, {"id", 3}, {"method", "tools/list"}}, mcp_headers());
  EXPECT_EQ(missing->status, 400);
  auto unknown = post({{"jsonrpc", "2.0"}, {"id", 4}, {"method", "tools/list"}}, mcp_headers("0123"));
  EXPECT_EQ(unknown->status, 404);
  // DELETE ends the session.
  auto del = client_->Delete("/mcp", mcp_headers(session));
  EXPECT_EQ(del->status, 200);
  auto after = post({{"jsonrpc", "2.0"}, {"id", 5}, {"method", "tools/list"}}, mcp_headers(session));
  EXPECT_EQ(after->status, 404);
}

TEST_F(HttpTransportTest, RejectsBadRequestsWithTheRightStatus) {
  start();
  const std::string session = initialize();
  auto garbage = client_->Post("/mcp", mcp_headers(session), "{not json", "application/json");
  EXPECT_EQ(garbage->status, 400);
  EXPECT_EQ(Json::parse(garbage->body)["error"]["code"], -32700);
  auto wrong_type = client_->Post("/mcp", mcp_headers(session), "{}", "text/plain");
  EXPECT_EQ(wrong_type->status, 415);
  auto no_sse = client_->Post("/mcp", {{"Accept", "application/json"}, {"Mcp-Session-Id", session}},
                              R"({"jsonrpc":"2.0","id":1,"method":"ping"})", "application/json");
  EXPECT_EQ(no_sse->status, 406);
  httplib::Headers bad_version = mcp_headers(session);
  bad_version.emplace("MCP-Protocol-Version", "1999-01-01");
  auto unsupported = post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}}, bad_version);
  EXPECT_EQ(unsupported->status, 400);
  auto batch = post(Json::array({{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}}}), mcp_headers(session));
  EXPECT_EQ(batch->status, 400);
  EXPECT_EQ(Json::parse(batch->body)["error"]["code"], -32600);
  EXPECT_TRUE(still_serving());
}

TEST_F(HttpTransportTest, ForeignOriginAndHostAreForbidden) {
  start();
  httplib::Headers evil = mcp_headers();
  evil.emplace("Origin", "http://evil.example");
  auto res = post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}}, evil);
  EXPECT_EQ(res->status, 403);
  httplib::Headers local = mcp_headers();
  local.emplace("Origin", "http://localhost:3000");
  auto ok = post({{"jsonrpc", "2.0"},
                  {"id", 1},
                  {"method", "initialize"},
                  {"params", {{"protocolVersion", "2025-11-25"}, {"capabilities", Json::object()}}}},
                 local);
  EXPECT_EQ(ok->status, 200);
  httplib::Headers rebound = mcp_headers();
  rebound.emplace("Host", "attacker.example:80");
  auto rebinding = post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}}, rebound);
  EXPECT_EQ(rebinding->status, 403);
  EXPECT_TRUE(still_serving());
}

TEST_F(HttpTransportTest, BearerTokenIsRequiredWhenConfigured) {
  Settings settings;
  settings.http.bearer_token = "s3cret-token";
  start(settings);
  auto none = post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}}, mcp_headers());
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer");
  token_ = "wrong";
  auto wrong = post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}}, mcp_headers());
  EXPECT_EQ(wrong->status, 401);
  auto rest = client_->Get("/v1/tools");
  EXPECT_EQ(rest->status, 401);
  token_ = "s3cret-token";
  EXPECT_FALSE(initialize().empty());
  EXPECT_EQ(client_->Get("/v1/tools", mcp_headers())->status, 200);
}

TEST_F(HttpTransportTest, OversizedBodyIs413AndTheServerKeepsServing) {
  start();
  const std::string big(200 * 1024, 'x');
  auto res = client_->Post("/mcp", mcp_headers(), big, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_TRUE(still_serving());
  EXPECT_FALSE(initialize().empty());
}

TEST_F(HttpTransportTest, StatelessRequestsCheckTheirHeaders) {
  start();
  Json body = {{"jsonrpc", "2.0"},
               {"id", 1},
               {"method", "tools/call"},
               {"params",
                {{"name", "explain_query"},
                 {"arguments", {{"plan", "Seq Scan on t  (cost=0.00..35.50 rows=2550 width=4)"}}},
                 {"_meta",
                  {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                   {"io.modelcontextprotocol/clientCapabilities", Json::object()}}}}}};
  httplib::Headers headers = mcp_headers();
  auto missing = post(body, headers);
  EXPECT_EQ(missing->status, 400);
  EXPECT_EQ(Json::parse(missing->body)["error"]["code"], -32020);
  headers.emplace("MCP-Protocol-Version", "2026-07-28");
  headers.emplace("Mcp-Method", "tools/call");
  headers.emplace("Mcp-Name", "tune_pool");
  auto mismatch = post(body, headers);
  EXPECT_EQ(mismatch->status, 400);
  EXPECT_NE(mismatch->body.find("Mcp-Name"), std::string::npos);
  headers.erase("Mcp-Name");
  headers.emplace("Mcp-Name", "=?base64?ZXhwbGFpbl9xdWVyeQ==?=");  // "explain_query", encoded
  auto ok = post(body, headers);
  EXPECT_EQ(ok->status, 200);
  Json result = Json::parse(ok->body)["result"];
  EXPECT_EQ(result["resultType"], "complete");
  EXPECT_FALSE(result["isError"]) << result;
  // Unknown method on a stateless request: 404 with -32601.
  Json unknown = {{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/dance"}, {"params", body["params"]}};
  httplib::Headers h2 = mcp_headers();
  h2.emplace("MCP-Protocol-Version", "2026-07-28");
  h2.emplace("Mcp-Method", "tools/dance");
  auto not_found = post(unknown, h2);
  EXPECT_EQ(not_found->status, 404);
  EXPECT_EQ(Json::parse(not_found->body)["error"]["code"], -32601);
}

TEST_F(HttpTransportTest, RestListsAndCallsTools) {
  start();
  auto list = client_->Get("/v1/tools");
  ASSERT_EQ(list->status, 200);
  Json tools = Json::parse(list->body)["tools"];
  EXPECT_EQ(tools.size(), app_->tools().tools().size());
  auto invalid = client_->Post("/v1/tools/tune_pool", R"({"platform": ""})", "application/json");
  EXPECT_EQ(invalid->status, 400);
  EXPECT_NE(Json::parse(invalid->body)["error"].get<std::string>().find("arguments.platform"), std::string::npos);
  auto answered = client_->Post("/v1/tools/tune_pool", R"({"platform": "neon"})", "application/json");
  EXPECT_EQ(answered->status, 200) << answered->body;
  // A tool's not_found error (here: an unknown session) is a 404.
  auto no_session = client_->Post("/v1/tools/session_report", R"({"session": "s_nope"})", "application/json");
  EXPECT_EQ(no_session->status, 404) << no_session->body;
  auto unknown = client_->Post("/v1/tools/nope", "{}", "application/json");
  EXPECT_EQ(unknown->status, 404);
  auto bad_json = client_->Post("/v1/tools/tune_pool", "{", "application/json");
  EXPECT_EQ(bad_json->status, 400);
  EXPECT_EQ(client_->Get("/healthz")->status, 200);
}

}  // namespace
}  // namespace dbopt::test
