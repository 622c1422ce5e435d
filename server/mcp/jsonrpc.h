// JSON-RPC 2.0 building blocks for the MCP layer: error codes and message shapes.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace dbopt::mcp {

using Json = nlohmann::json;

namespace rpc_error {
inline constexpr int parse_error = -32700;
inline constexpr int invalid_request = -32600;
inline constexpr int method_not_found = -32601;
inline constexpr int invalid_params = -32602;
inline constexpr int internal_error = -32603;
inline constexpr int server_busy = -32000;                   // implementation-defined range
inline constexpr int session_not_found = -32001;             // as the TypeScript SDK answers it
inline constexpr int resource_not_found = -32002;            // up to 2025-11-25; -32602 from 2026-07-28
inline constexpr int header_mismatch = -32020;               // 2026-07-28
inline constexpr int unsupported_protocol_version = -32022;  // 2026-07-28
}  // namespace rpc_error

// A JSON-RPC error the dispatcher raises; the transport turns it into a message.
struct RpcError {
  int code;
  std::string message;
  Json data = nullptr;
};

Json make_result(const Json& id, Json result);
Json make_error(const Json& id, int code, const std::string& message, const Json& data = nullptr);
Json make_error(const Json& id, const RpcError& error);
Json make_notification(const std::string& method, Json params);

// One JSON text as a transport receives it. Nesting deeper than max_depth is
// refused while parsing (copies and dumps of a DOM recurse once per level,
// so a deep text would end the process later); invalid JSON gets its line,
// column and byte. `error` is empty on success and names the problem
// otherwise ("line 1, column 9 (byte 9): syntax error ...").
struct ParsedJson {
  Json value;
  std::string error;
  bool too_deep = false;  // well-formed as far as read, but deeper than max_depth
};
ParsedJson parse_json_text(std::string_view text, int max_depth);

}  // namespace dbopt::mcp
