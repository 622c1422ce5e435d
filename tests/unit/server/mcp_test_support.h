// Test support: an McpServer over a registry with the built-in tools plus a few
// protocol-exercising tools, and an Exchange that records what comes back.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <map>

#include "core/common/error.h"
#include "server/mcp/mcp_server.h"

namespace dbopt::test {

using Json = nlohmann::json;

class RecordingExchange : public mcp::Exchange {
 public:
  void notify(const Json& n) override {
    std::lock_guard lock(mutex_);
    notifications.push_back(n);
  }
  void respond(const Json& r) override {
    std::lock_guard lock(mutex_);
    response = r;
    finished = true;
    done_.notify_all();
  }
  void finish_without_response() override {
    std::lock_guard lock(mutex_);
    finished = true;
    done_.notify_all();
  }
  // Waits for the end of the exchange; false on timeout.
  bool wait(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    return done_.wait_for(lock, timeout, [this] { return finished; });
  }
  std::vector<Json> notifications;
  std::optional<Json> response;
  bool finished = false;

 private:
  std::mutex mutex_;
  std::condition_variable done_;
};

// Tools that exist only to exercise the protocol: progress, cancellation, time limits, logging.
inline void add_protocol_test_tools(tools::ToolRegistry& registry) {
  tools::Tool steps;
  steps.name = "count_steps";
  steps.title = "Count steps";
  steps.description = "Reports progress for each of n steps, logs at info, returns n.";
  steps.input_schema =
      Json::parse(R"({"type":"object","properties":{"n":{"type":"integer","minimum":1}},"required":["n"]})");
  steps.output_schema =
      Json::parse(R"({"type":"object","properties":{"steps":{"type":"integer"}},"required":["steps"]})");
  steps.annotations = {.read_only = true, .destructive = false, .idempotent = true, .open_world = false};
  steps.handler = [](const Json& args, tools::ToolContext& ctx) {
    const int n = args["n"];
    for (int i = 1; i <= n; ++i) {
      ctx.progress(i, n, "step " + std::to_string(i));
      ctx.progress(i, n, "repeated progress is dropped");
    }
    ctx.log(tools::LogLevel::debug, "debug detail");
    ctx.log(tools::LogLevel::info, "counted");
    tools::ToolResult r;
    r.structured = {{"steps", n}};
    r.markdown = "counted " + std::to_string(n);
    return r;
  };
  registry.add(steps);

  tools::Tool wait;
  wait.name = "wait_for_cancel";
  wait.title = "Wait until cancelled";
  wait.description = "Loops, checking its cancellation token, until cancelled or out of time.";
  wait.input_schema = Json::parse(R"({"type":"object"})");
  wait.annotations = {.read_only = true, .destructive = false, .idempotent = true, .open_world = false};
  wait.handler = [](const Json&, tools::ToolContext& ctx) -> tools::ToolResult {
    ctx.progress(0, std::nullopt, "started");
    for (;;) {
      ctx.cancel.check();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  };
  registry.add(wait);

  tools::Tool broken;
  broken.name = "broken_output";
  broken.title = "Broken output";
  broken.description = "Returns a result that breaks its own output schema.";
  broken.input_schema = Json::parse(R"({"type":"object"})");
  broken.output_schema = Json::parse(R"({"type":"object","required":["answer"]})");
  broken.handler = [](const Json&, tools::ToolContext&) { return tools::ToolResult{}; };
  registry.add(broken);

  tools::Tool unbuilt;
  unbuilt.name = "unbuilt_tool";
  unbuilt.title = "Unbuilt";
  unbuilt.description = "Declared, not built: answers that it is not implemented yet.";
  unbuilt.input_schema = Json::parse(R"({"type":"object"})");
  unbuilt.implemented = false;
  registry.add(unbuilt);
}

struct TestServer {
  explicit TestServer(Settings s = {}) : settings(std::move(s)) {
    tools::register_builtin_tools(registry);
    add_protocol_test_tools(registry);
    prompts_text =
        "---\nname: optimize_slow_query\ntitle: Optimize\ndescription: Make a query fast.\n"
        "argument: sql (required) The SQL.\nargument: database Which database.\nargument: framework The ORM.\n"
        "complete: database @databases\ncomplete: framework django sqlalchemy rails graphql\n---\n"
        "Optimize {{sql}} on {{database}}.";
    prompts.add(server::PromptLibrary::parse(prompts_text, "test"));
    resources.add({.uri = "dbopt://server/info",
                   .name = "info",
                   .title = "Info",
                   .description = "d",
                   .mime_type = "application/json",
                   .read = [] {
                     return server::ResourceContent{"dbopt://server/info", "application/json", "{}"};
                   }});
    resources.add_template({.uri_template = "dbopt://tools/{name}",
                            .name = "tool",
                            .title = "Tool",
                            .description = "d",
                            .mime_type = "text/markdown",
                            .read =
                                [](const std::string& n) {
                                  if (n != "explain_query") throw Error(ErrorCode::not_found, "no " + n);
                                  return server::ResourceContent{"dbopt://tools/" + n, "text/markdown", "# " + n};
                                },
                            .values =
                                [] {
                                  return std::vector<std::string>{"explain_query", "suggest_indexes"};
                                }});
    workers = std::make_unique<server::WorkerPool>(settings.limits.worker_threads, settings.limits.max_queued_calls);
    server = std::make_unique<mcp::McpServer>(mcp::ServerInfo{.version = "test"}, settings, registry, prompts,
                                              resources, *workers, nullptr, nullptr);
  }

  // Sends one message and waits for the exchange to finish.
  std::shared_ptr<RecordingExchange> send(const Json& message, const std::shared_ptr<mcp::Session>& s) {
    auto exchange = std::make_shared<RecordingExchange>();
    server->handle(message, s, exchange);
    exchange->wait();
    return exchange;
  }
  Json request(const std::shared_ptr<mcp::Session>& s, const std::string& method, Json params = Json::object(),
               Json id = 1) {
    auto ex = send({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}, s);
    return ex->response.value_or(Json());
  }
  std::shared_ptr<mcp::Session> initialized_session(const std::string& version = "2025-11-25") {
    auto s = std::make_shared<mcp::Session>("test");
    request(s, "initialize",
            {{"protocolVersion", version},
             {"capabilities", Json::object()},
             {"clientInfo", {{"name", "gtest"}, {"version", "1"}}}});
    return s;
  }

  Settings settings;
  tools::ToolRegistry registry;
  std::string prompts_text;
  server::PromptLibrary prompts;
  server::ResourceCatalog resources;
  std::unique_ptr<server::WorkerPool> workers;
  std::unique_ptr<mcp::McpServer> server;
};

inline Json stateless_meta(const std::string& version = "2026-07-28") {
  return {{"_meta",
           {{"io.modelcontextprotocol/protocolVersion", version},
            {"io.modelcontextprotocol/clientCapabilities", Json::object()}}}};
}

}  // namespace dbopt::test
