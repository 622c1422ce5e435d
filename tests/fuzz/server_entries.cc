#include "tests/fuzz/fuzz_entries.h"

#include <sstream>

#include "core/common/error.h"
#include "server/app.h"
#include "server/config_loader.h"
#include "server/stdio_transport.h"
#include "tools/input_limits.h"
#include "tools/json_schema.h"

namespace dbopt::fuzz {
namespace {

using Json = nlohmann::json;

// One server for every input, as a long-running dbopt is: offline (no
// database), default limits.
server::App& app() {
  static server::App instance{Settings{}};
  return instance;
}

// Whether a client could send this text as a JSON string: every face parses
// JSON, which holds UTF-8 only, so other bytes never reach a tool.
bool sendable(std::string_view text) {
  try {
    (void)Json(std::string(text)).dump();
    return true;
  } catch (const Json::type_error&) {
    return false;
  }
}

// Runs a tool the way every face does (the registry); an internal error is a bug.
void call_tool(const std::string& name, const Json& arguments) {
  auto token = app().new_call_token();
  const tools::ToolResult result = app().call_tool(name, arguments, *token);
  if (result.is_error && result.error_code == ErrorCode::internal) throw FuzzBug(result.markdown);
}

// MCP over stdio: the bytes as lines on stdin; every line written back must
// be one JSON message, and no answer may report a bug.
void jsonrpc(std::string_view input) {
  std::istringstream in{std::string(input)};
  std::ostringstream out;
  server::serve_stdio(app(), in, out);
  std::istringstream lines(out.str());
  for (std::string line; std::getline(lines, line);) {
    if (Json::parse(line, nullptr, false).is_discarded()) throw FuzzBug("stdio wrote a line that is not JSON: " + line);
    // (A parse error may quote the input: only a report the input did not carry is a bug.)
    if (line.find("This is a bug") != std::string::npos && input.find("This is a bug") == std::string_view::npos)
      throw FuzzBug(line);
  }
}

// The JSON Schema validator with every tool's input schema, and the input
// limits, on any JSON value; then explain_query itself when the value is
// valid offline arguments for it.
void json_schema(std::string_view input) {
  const Json value = Json::parse(input, nullptr, false);
  if (value.is_discarded()) return;
  for (const auto& tool : app().tools().tools()) {
    (void)tools::validate_against_schema(value, tool.input_schema);
    (void)tools::check_input_limits(value, app().settings().limits);
  }
  const auto& explain = app().tools().find("explain_query")->input_schema;
  if (value.is_object() && !value.contains("database") && tools::validate_against_schema(value, explain).empty())
    call_tool("explain_query", value);
}

// The analyses behind the readers, through the registry: plans and SQL to
// explain_query, logs to detect_n_plus_one.
void tool_inputs(std::string_view input) {
  if (input.empty() || !sendable(input)) return;
  const std::string text(input);
  call_tool("explain_query", {{"plan", text}});
  call_tool("explain_query", {{"sql", text}});
  call_tool("detect_n_plus_one", {{"log", text}});
}

void config(std::string_view input) {
  expect_clear_errors([&] {
    Settings settings;
    server::apply_config_text(std::string(input), "fuzz.json", settings);
    server::validate_settings(settings);
  });
}

}  // namespace

const std::vector<Target>& server_targets() {
  static const std::vector<Target> all = {
      {"jsonrpc", jsonrpc},
      {"json_schema", json_schema},
      {"tool_inputs", tool_inputs},
      {"config", config},
  };
  return all;
}

}  // namespace dbopt::fuzz
