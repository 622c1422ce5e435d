// Tool: one capability of dbopt, served the same way over MCP, REST and the CLI.
//
// A tool declares what an assistant needs to choose and call it (name, title,
// description, JSON Schemas for input and output, annotations) and a handler.
// The registry validates arguments against input_schema before the handler
// runs, so a handler may rely on required fields and types being right.
// Handlers throw dbopt::Error for problems the user can fix (bad SQL, unknown
// database): the registry turns them into isError results naming the fix.
// Handlers may run concurrently on several threads: they must not keep mutable
// state outside what the ToolContext gives them.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/common/cancellation.h"
#include "core/common/error.h"
#include "core/common/settings.h"

namespace dbopt::pg {
class DatabasePool;  // core/pg: connections to the configured databases
}
namespace dbopt::knowledge {
class RuleBook;  // knowledge/: the curated rules and their thresholds
}

namespace dbopt::tools {

using Json = nlohmann::json;
class SessionStore;  // tools/session_store.h

// MCP tool annotations; the defaults are the spec's (assume the worst).
struct ToolAnnotations {
  bool read_only = false;
  bool destructive = true;
  bool idempotent = false;
  bool open_world = true;
};

enum class LogLevel { debug, info, notice, warning, error, critical, alert, emergency };

// What a running tool may use. Everything here is safe to call from the
// handler's thread; progress and log go to the calling client when it asked.
struct ToolContext {
  const Settings& settings;
  const CancellationToken& cancel;
  pg::DatabasePool* databases = nullptr;       // null when no database is configured
  const knowledge::RuleBook* rules = nullptr;  // loaded at start; null only in narrow unit tests
  SessionStore* sessions = nullptr;            // optimization sessions; null only in narrow unit tests
  // progress: work done so far; total when known; message for people.
  std::function<void(double progress, std::optional<double> total, const std::string& message)> progress =
      [](double, std::optional<double>, const std::string&) {};
  std::function<void(LogLevel, const std::string& message)> log = [](LogLevel, const std::string&) {};
};

// One answer: structured content (matches the output schema) and markdown for people.
struct ToolResult {
  Json structured = Json::object();
  std::string markdown;
  bool is_error = false;
  ErrorCode error_code = ErrorCode::internal;  // what kind of error, when is_error (REST maps it to a status)

  static ToolResult error(std::string message, ErrorCode code);
};

struct Tool {
  std::string name;         // snake_case, stable
  std::string title;        // for people
  std::string description;  // what it needs, what it returns, when to use it
  Json input_schema;
  Json output_schema;  // null when the tool returns no structured content
  ToolAnnotations annotations;
  bool implemented = true;  // false: the handler answers "not implemented yet"
  // Sessions (start_session): a call that passes `session` is recorded in it.
  // The registry adds that argument to the input schema and takes it out
  // before the handler runs, unless the handler reads it itself.
  bool records_in_session = true;
  bool reads_session = false;
  std::function<ToolResult(const Json& arguments, ToolContext& context)> handler;
};

// Writes a tool's log line to dbopt's own log (stderr) at the matching level.
void write_server_log(const std::string& tool, LogLevel level, const std::string& message);

// The tool as clients list it (MCP tools/list, REST GET /v1/tools, `dbopt tools --json`).
Json tool_descriptor(const Tool& tool);

}  // namespace dbopt::tools
