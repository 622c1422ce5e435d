// App: dbopt assembled once per process — settings, the tool registry,
// prompts, resources, the worker pool and the MCP server — for every face
// (stdio, HTTP, REST, CLI) to share.
#pragma once

#include <memory>
#include <string>

#include "core/common/settings.h"
#include "core/pg/database_pool.h"
#include "knowledge/rule_book.h"
#include "server/mcp/mcp_server.h"
#include "server/prompt_library.h"
#include "server/resource_catalog.h"
#include "server/worker_pool.h"
#include "tools/session_store.h"
#include "tools/tool_registry.h"

namespace dbopt::server {

class App {
 public:
  explicit App(Settings settings);
  ~App();

  const Settings& settings() const { return settings_; }
  const tools::ToolRegistry& tools() const { return tools_; }
  const knowledge::RuleBook& rules() const { return rules_; }
  mcp::McpServer& mcp() { return *mcp_; }
  WorkerPool& workers() { return *workers_; }

  // Runs one tool on the calling thread with the configured time limit (REST, CLI).
  tools::ToolResult call_tool(const std::string& name, const tools::Json& arguments, const CancellationToken& cancel);
  std::shared_ptr<CancellationToken> new_call_token() const;

 private:
  void add_resources();
  void add_knowledge_resources();
  void add_session_resources();

  Settings settings_;
  tools::ToolRegistry tools_;
  knowledge::RuleBook rules_;
  PromptLibrary prompts_;
  ResourceCatalog resources_;
  tools::SessionStore sessions_;
  std::unique_ptr<pg::DatabasePool> databases_;  // null when no database is configured
  std::unique_ptr<WorkerPool> workers_;
  std::unique_ptr<mcp::McpServer> mcp_;
};

}  // namespace dbopt::server
