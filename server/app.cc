#include "server/app.h"

#include <spdlog/spdlog.h>

#include "core/common/error.h"
#include "tools/session_report.h"

#ifndef DBOPT_VERSION
#define DBOPT_VERSION "0.0.0"
#endif
#ifndef DBOPT_KNOWLEDGE_DIR
#define DBOPT_KNOWLEDGE_DIR "knowledge"
#endif
#ifndef DBOPT_PROMPTS_DIR
#define DBOPT_PROMPTS_DIR "prompts"
#endif

namespace dbopt::server {

namespace {

// Sessions are files under the user's state directory unless the config names one.
tools::SessionStoreOptions session_options(const SessionSettings& s) {
  return {.directory = s.dir.empty() ? tools::default_session_directory() : std::filesystem::path(s.dir),
          .max_sessions = static_cast<std::size_t>(s.max_sessions),
          .max_entries = 500,
          .max_bytes = static_cast<std::size_t>(s.max_bytes_per_session)};
}

}  // namespace

App::App(Settings settings) : settings_(std::move(settings)), sessions_(session_options(settings_.sessions)) {
  if (settings_.prompts_dir.empty()) settings_.prompts_dir = DBOPT_PROMPTS_DIR;
  if (settings_.knowledge_dir.empty()) settings_.knowledge_dir = DBOPT_KNOWLEDGE_DIR;
  rules_ = knowledge::RuleBook::load_directory(settings_.knowledge_dir + "/rules");
  tools::register_builtin_tools(tools_);
  prompts_ = PromptLibrary::load_directory(settings_.prompts_dir);
  add_resources();
  add_knowledge_resources();
  add_session_resources();
  if (!settings_.databases.empty()) {
    pg::PoolOptions pool;
    pool.max_connections_per_database = settings_.limits.worker_threads;
    databases_ = std::make_unique<pg::DatabasePool>(settings_, pool);
  }
  workers_ = std::make_unique<WorkerPool>(settings_.limits.worker_threads, settings_.limits.max_queued_calls);
  mcp::ServerInfo info;
  info.version = DBOPT_VERSION;
  info.instructions =
      "dbopt makes slow PostgreSQL applications fast. Start with explain_query for one slow query, "
      "suggest_indexes for a workload, detect_n_plus_one for ORM query logs, tune_pool for connection "
      "settings, and create_perf_task to file the result. start_session collects a workflow into one report "
      "(session_report).";
  mcp_ = std::make_unique<mcp::McpServer>(info, settings_, tools_, prompts_, resources_, *workers_, databases_.get(),
                                          &rules_, &sessions_);
  spdlog::info("dbopt {} ready: {} tools, {} prompts, {} rules, {} databases", DBOPT_VERSION, tools_.tools().size(),
               prompts_.prompts().size(), rules_.rules().size(), settings_.databases.size());
}

App::~App() {
  workers_.reset();  // finish running calls before their databases go away
  mcp_.reset();
}

std::shared_ptr<CancellationToken> App::new_call_token() const {
  return std::make_shared<CancellationToken>(CancellationToken::Clock::now() +
                                             std::chrono::milliseconds(settings_.limits.tool_timeout_ms));
}

tools::ToolResult App::call_tool(const std::string& name, const tools::Json& arguments,
                                 const CancellationToken& cancel) {
  tools::ToolContext context{
      .settings = settings_, .cancel = cancel, .databases = databases_.get(), .rules = &rules_, .sessions = &sessions_};
  context.log = [&](tools::LogLevel level, const std::string& message) {
    tools::write_server_log(name, level, message);
  };
  return tools_.call(name, arguments, context);
}

void App::add_resources() {
  resources_.add({.uri = "dbopt://server/info",
                  .name = "server-info",
                  .title = "dbopt server information",
                  .description = "Version, protocol versions, tools (and which are built), configured databases "
                                 "(passwords masked) and limits.",
                  .mime_type = "application/json",
                  .read = [this] {
                    tools::Json tools = tools::Json::array();
                    for (const auto& t : tools_.tools())
                      tools.push_back({{"name", t.name}, {"implemented", t.implemented}});
                    tools::Json databases = tools::Json::array();
                    for (const auto& d : settings_.databases)
                      databases.push_back({{"name", d.name},
                                           {"url", redact_dsn(d.url)},
                                           {"allow_analyze_writes", d.allow_analyze_writes},
                                           {"allow_apply", d.allow_apply},
                                           {"scratch", d.scratch}});
                    tools::Json info = {{"name", "dbopt"},
                                        {"version", DBOPT_VERSION},
                                        {"protocolVersions", mcp::supported_versions()},
                                        {"tools", tools},
                                        {"databases", databases},
                                        {"defaultDatabase", settings_.default_database},
                                        {"limits",
                                         {{"workerThreads", settings_.limits.worker_threads},
                                          {"toolTimeoutMs", settings_.limits.tool_timeout_ms}}}};
                    return ResourceContent{"dbopt://server/info", "application/json", info.dump(2)};
                  }});
  resources_.add_template(
      {.uri_template = "dbopt://tools/{name}",
       .name = "tool-manual",
       .title = "A tool's manual",
       .description =
           "What a dbopt tool needs and returns: its description, annotations and input schema, as markdown.",
       .mime_type = "text/markdown",
       .read =
           [this](const std::string& name) {
             const tools::Tool* tool = tools_.find(name);
             if (!tool)
               throw Error(ErrorCode::not_found, "Resource not found: dbopt://tools/" + name,
                           "Use the name of a tool from tools/list.");
             std::string text = "# " + tool->name + ": " + tool->title + "\n\n" + tool->description + "\n\n" +
                                "Read-only: " + (tool->annotations.read_only ? "yes" : "no") +
                                ". Built: " + (tool->implemented ? "yes" : "not yet") +
                                ".\n\n## Input schema\n\n```json\n" + tool->input_schema.dump(2) + "\n```\n";
             return ResourceContent{"dbopt://tools/" + name, "text/markdown", text};
           },
       .values =
           [this] {
             std::vector<std::string> names;
             for (const auto& t : tools_.tools()) names.push_back(t.name);
             return names;
           }});
}

void App::add_session_resources() {
  resources_.add_template({.uri_template = "dbopt://sessions/{id}",
                           .name = "session-report",
                           .title = "An optimization session's report",
                           .description = "The report of a session from start_session: the same markdown as "
                                          "session_report, built from that session's tool results.",
                           .mime_type = "text/markdown",
                           .read =
                               [this](const std::string& id) {
                                 const auto snapshot = sessions_.snapshot(id);
                                 if (!snapshot)
                                   throw Error(ErrorCode::not_found, "Resource not found: dbopt://sessions/" + id,
                                               "Start a session with start_session and use the id it returns.");
                                 return ResourceContent{"dbopt://sessions/" + id, "text/markdown",
                                                        tools::render_session_report(*snapshot).markdown};
                               },
                           .values = [this] { return sessions_.ids(); }});
}

void App::add_knowledge_resources() {
  resources_.add(
      {.uri = "dbopt://knowledge/rules",
       .name = "knowledge-rules",
       .title = "dbopt's rule knowledge base",
       .description = "Every curated rule behind dbopt's findings: id, title, category, severity and "
                      "thresholds. Read dbopt://knowledge/rules/{id} for why it matters and the fix.",
       .mime_type = "application/json",
       .read = [this] {
         tools::Json list = tools::Json::array();
         for (const auto& r : rules_.rules())
           list.push_back({{"id", r.id},
                           {"title", r.title},
                           {"category", knowledge::to_string(r.category)},
                           {"severity", knowledge::to_string(r.severity)},
                           {"thresholds", r.thresholds},
                           {"uri", "dbopt://knowledge/rules/" + r.id}});
         return ResourceContent{"dbopt://knowledge/rules", "application/json", tools::Json{{"rules", list}}.dump(2)};
       }});
  resources_.add_template(
      {.uri_template = "dbopt://knowledge/rules/{id}",
       .name = "knowledge-rule",
       .title = "One rule of the knowledge base",
       .description = "A rule's title, severity, thresholds, why it matters, the fix (SQL / Django) and references.",
       .mime_type = "text/markdown",
       .read =
           [this](const std::string& id) {
             const knowledge::Rule* rule = rules_.find(id);
             if (!rule)
               throw Error(ErrorCode::not_found, "Resource not found: dbopt://knowledge/rules/" + id,
                           "Read dbopt://knowledge/rules for the rule ids.");
             std::string text = "# " + rule->id + ": " + rule->title +
                                "\n\nCategory: " + knowledge::to_string(rule->category) +
                                ". Severity: " + knowledge::to_string(rule->severity) + ".\n";
             if (!rule->thresholds.empty()) {
               text += "\n## Fires when\n\n";
               for (const auto& [name, value] : rule->thresholds)
                 text += "- `" + name + "` = " + tools::Json(value).dump() + "\n";
             }
             text += "\n## Why it matters\n\n" + rule->why + "\n\n## Fix\n\n" + rule->fix + "\n";
             if (!rule->references.empty()) {
               text += "\n## References\n\n";
               for (const auto& ref : rule->references) text += "- [" + ref.title + "](" + ref.url + ")\n";
             }
             return ResourceContent{"dbopt://knowledge/rules/" + id, "text/markdown", text};
           },
       .values =
           [this] {
             std::vector<std::string> ids;
             for (const auto& r : rules_.rules()) ids.push_back(r.id);
             return ids;
           }});
}

}  // namespace dbopt::server
