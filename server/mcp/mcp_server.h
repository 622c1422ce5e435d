// McpServer: the Model Context Protocol, independent of any transport.
//
// Transports parse bytes into JSON and hand each message here with the
// Session it belongs to and an Exchange for the answer. The server speaks the
// session-based versions 2025-03-26, 2025-06-18 and 2025-11-25 (initialize,
// then requests) and the stateless 2026-07-28 (every request carries its
// version in _meta; server/discover) side by side. Tool calls run on the
// WorkerPool so a long analysis never blocks a ping; everything else is
// answered on the calling thread. Thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/common/settings.h"
#include "server/mcp/exchange.h"
#include "server/mcp/jsonrpc.h"
#include "server/mcp/session.h"
#include "server/prompt_library.h"
#include "server/resource_catalog.h"
#include "server/worker_pool.h"
#include "tools/tool_registry.h"

namespace dbopt::mcp {

inline constexpr const char* kStatelessVersion = "2026-07-28";
inline constexpr const char* kLatestSessionVersion = "2025-11-25";
// Every version this server speaks, oldest first.
const std::vector<std::string>& supported_versions();
bool is_session_version(const std::string& version);
bool is_supported_version(const std::string& version);

// The _meta key that marks a stateless (2026-07-28) request.
inline constexpr const char* kMetaProtocolVersion = "io.modelcontextprotocol/protocolVersion";

struct ServerInfo {
  std::string name = "dbopt";
  std::string title = "dbopt PostgreSQL performance optimizer";
  std::string version;
  std::string instructions;
};

class McpServer {
 public:
  McpServer(ServerInfo info, const Settings& settings, const tools::ToolRegistry& tools,
            const server::PromptLibrary& prompts, const server::ResourceCatalog& resources, server::WorkerPool& workers,
            pg::DatabasePool* databases, const knowledge::RuleBook* rules, tools::SessionStore* sessions = nullptr);

  // One JSON-RPC message (request, notification or client response) or, for
  // sessions on 2025-03-26, a batch array. Requests are answered through the
  // exchange (possibly later, from a worker thread); notifications finish the
  // exchange without a response.
  void handle(const Json& message, const std::shared_ptr<Session>& session, const std::shared_ptr<Exchange>& exchange);

  // The protocol version a message asks for statelessly (2026-07-28 style), if any.
  static std::optional<std::string> stateless_version_of(const Json& message);

  const ServerInfo& info() const { return info_; }

 private:
  struct Call;  // one request being dispatched
  void handle_single(const Json& message, const std::shared_ptr<Session>& session,
                     const std::shared_ptr<Exchange>& exchange);
  void handle_batch(const Json& batch, const std::shared_ptr<Session>& session,
                    const std::shared_ptr<Exchange>& exchange);
  void handle_notification(const std::string& method, const Json& params, Session& session);
  Json dispatch(Call& call);  // throws RpcError
  void start_tool_call(Call& call);

  Json initialize(Call& call);
  Json discover(Call& call);
  Json list_tools(Call& call);
  Json list_prompts(Call& call);
  Json get_prompt(Call& call);
  Json list_resources(Call& call);
  Json list_resource_templates(Call& call);
  Json read_resource(Call& call);
  Json complete(Call& call);
  Json set_log_level(Call& call);
  Json capabilities() const;
  void finish_result(Call& call, Json& result, bool cacheable, const char* cache_scope) const;

  ServerInfo info_;
  const Settings& settings_;
  const tools::ToolRegistry& tools_;
  const server::PromptLibrary& prompts_;
  const server::ResourceCatalog& resources_;
  server::WorkerPool& workers_;
  pg::DatabasePool* databases_;
  const knowledge::RuleBook* rules_;
  tools::SessionStore* sessions_;
  std::vector<Json> tool_descriptors_;  // tools/list items, built once: the registry never changes
};

}  // namespace dbopt::mcp
