#include "tools/tool_registry.h"

#include <malloc.h>

#include <algorithm>
#include <regex>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "core/common/error.h"
#include "tools/input_limits.h"
#include "tools/json_schema.h"
#include "tools/session_store.h"

namespace dbopt::tools {
namespace {

const Json kNoArguments = Json::object();

// glibc keeps the pages a large call freed (parse trees, plan models) in its
// heaps; handing them back after such a call keeps a long-running server's
// memory near its warm level (bench/README.md, "Soak").
class ReleaseFreedMemory {
 public:
  explicit ReleaseFreedMemory(std::size_t input_bytes) : large_(input_bytes >= kLargeCallBytes) {}
  ~ReleaseFreedMemory() {
    if (large_) malloc_trim(0);
  }
  ReleaseFreedMemory(const ReleaseFreedMemory&) = delete;
  ReleaseFreedMemory& operator=(const ReleaseFreedMemory&) = delete;

 private:
  static constexpr std::size_t kLargeCallBytes = 256 * 1024;
  bool large_;
};

}  // namespace

ToolResult ToolResult::error(std::string message, ErrorCode code) {
  ToolResult result;
  result.is_error = true;
  result.error_code = code;
  result.markdown = std::move(message);
  result.structured = nullptr;
  return result;
}

void write_server_log(const std::string& tool, LogLevel level, const std::string& message) {
  static const spdlog::level::level_enum levels[] = {
      spdlog::level::debug, spdlog::level::info,     spdlog::level::info,     spdlog::level::warn,
      spdlog::level::err,   spdlog::level::critical, spdlog::level::critical, spdlog::level::critical};
  spdlog::log(levels[static_cast<int>(level)], "tool={} {}", tool, message);
}

Json tool_descriptor(const Tool& tool) {
  Json j = {{"name", tool.name},
            {"title", tool.title},
            {"description", tool.description},
            {"inputSchema", tool.input_schema},
            {"annotations",
             {{"title", tool.title},
              {"readOnlyHint", tool.annotations.read_only},
              {"destructiveHint", tool.annotations.destructive},
              {"idempotentHint", tool.annotations.idempotent},
              {"openWorldHint", tool.annotations.open_world}}}};
  if (!tool.output_schema.is_null()) j["outputSchema"] = tool.output_schema;
  return j;
}

void ToolRegistry::add(Tool tool) {
  static const std::regex name_pattern("^[a-z][a-z0-9_]{0,63}$");
  if (!std::regex_match(tool.name, name_pattern))
    throw std::logic_error("tool name '" + tool.name + "' is not snake_case of at most 64 characters");
  if (find(tool.name)) throw std::logic_error("tool '" + tool.name + "' is registered twice");
  if (tool.description.empty() || tool.title.empty())
    throw std::logic_error("tool '" + tool.name + "' needs a title and a description");
  if (!tool.input_schema.is_object() || tool.input_schema.value("type", "") != "object")
    throw std::logic_error("tool '" + tool.name + "' input schema must be an object schema");
  if (tool.records_in_session && !tool.reads_session) {
    Json& properties = tool.input_schema["properties"];
    if (properties.contains("session"))
      throw std::logic_error("tool '" + tool.name + "' declares `session`: set reads_session");
    properties["session"] = {{"type", "string"},
                             {"description",
                              "Optional: the id from start_session; the call's results go into that session's "
                              "report (session_report)."}};
  }
  check_schema_supported(tool.input_schema, tool.name + ".inputSchema");
  if (!tool.output_schema.is_null()) check_schema_supported(tool.output_schema, tool.name + ".outputSchema");
  if (!tool.handler && tool.implemented) throw std::logic_error("tool '" + tool.name + "' has no handler");
  auto at = std::lower_bound(tools_.begin(), tools_.end(), tool.name,
                             [](const Tool& t, const std::string& n) { return t.name < n; });
  tools_.insert(at, std::move(tool));
}

const Tool* ToolRegistry::find(const std::string& name) const {
  auto at = std::lower_bound(tools_.begin(), tools_.end(), name,
                             [](const Tool& t, const std::string& n) { return t.name < n; });
  return at != tools_.end() && at->name == name ? &*at : nullptr;
}

ToolResult ToolRegistry::call(const std::string& name, const Json& arguments, ToolContext& context) const {
  const Tool* tool = find(name);
  if (!tool) {
    std::string known;
    for (const auto& t : tools_) known += (known.empty() ? "" : ", ") + t.name;
    throw Error(ErrorCode::not_found, "Unknown tool '" + name + "'.", "Call one of: " + known + ".");
  }
  const Json& args = arguments.is_null() ? kNoArguments : arguments;
  InputCheck input = check_input_limits(args, context.settings.limits);
  if (input.refusal) return ToolResult::error(std::move(*input.refusal), ErrorCode::invalid_argument);
  auto violations = validate_against_schema(args, tool->input_schema);
  if (!violations.empty()) {
    std::string message = "Invalid arguments for " + name + ":";
    for (const auto& v : violations) message += "\n- " + v.path + ": " + v.message;
    message += "\nSee the tool's inputSchema (tools/list) for the expected fields.";
    return ToolResult::error(message, ErrorCode::invalid_argument);
  }
  if (!tool->implemented)
    return ToolResult::error(name +
                                 " is not implemented yet in this build of dbopt; its input schema is final, "
                                 "the analysis behind it is still being built.",
                             ErrorCode::unimplemented);
  std::string session;
  if (tool->records_in_session && args.contains("session")) {
    session = args["session"];
    if (!SessionStore::valid_id(session))
      return ToolResult::error("`session`: '" + session.substr(0, 80) +
                                   "' is not a session id. Ids are s_ and 32 hex digits, as start_session returns "
                                   "them; pass that id, or drop `session`.",
                               ErrorCode::invalid_argument);
    if (!context.sessions || !context.sessions->exists(session))
      return ToolResult::error("Unknown session '" + session +
                                   "': no such session in this dbopt's session directory (another machine, another "
                                   "sessions.dir, or removed as the least recently used). Start one with "
                                   "start_session and pass its id, or drop `session`.",
                               ErrorCode::invalid_argument);
  }
  ReleaseFreedMemory release_after_large_call(input.string_bytes);
  if (session.empty()) return run_handler(*tool, args, context);
  Json handler_args = args;
  if (!tool->reads_session) handler_args.erase("session");
  ToolResult result = run_handler(*tool, handler_args, context);
  handler_args.erase("session");
  try {
    context.sessions->record(session, {.tool = name,
                                       .arguments = handler_args,
                                       .structured = result.structured,
                                       .markdown = result.markdown,
                                       .is_error = result.is_error,
                                       .at = {}});
  } catch (const Error& e) {
    return ToolResult::error(e.describe(), e.code());
  }
  return result;
}

ToolResult ToolRegistry::run_handler(const Tool& tool, const Json& args, ToolContext& context) const {
  const std::string& name = tool.name;
  try {
    ToolResult result = tool.handler(args, context);
    if (!result.is_error && !tool.output_schema.is_null()) {
      auto bad = validate_against_schema(result.structured, tool.output_schema, "structuredContent");
      if (!bad.empty()) {
        spdlog::error("tool {} produced output that breaks its schema: {}: {}", name, bad[0].path, bad[0].message);
        return ToolResult::error("Internal error: " + name + " produced an invalid result (" + bad[0].path + ": " +
                                     bad[0].message + "). This is a bug in dbopt.",
                                 ErrorCode::internal);
      }
    }
    return result;
  } catch (const Error& e) {
    if (e.code() == ErrorCode::cancelled) throw;
    return ToolResult::error(e.describe(), e.code());
  } catch (const std::exception& e) {
    spdlog::error("tool {} failed: {}", name, e.what());
    return ToolResult::error(std::string("Internal error in ") + name + ": " + e.what() + ". This is a bug in dbopt.",
                             ErrorCode::internal);
  }
}

}  // namespace dbopt::tools
