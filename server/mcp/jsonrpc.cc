#include "server/mcp/jsonrpc.h"

#include <algorithm>

namespace dbopt::mcp {
namespace {

struct TooDeep {};

// "line 2, column 5 (byte 17)" of the 1-based byte nlohmann reports.
std::string position_of(std::string_view text, std::size_t byte) {
  const std::size_t offset = std::min(byte > 0 ? byte - 1 : 0, text.size());
  const std::string_view before = text.substr(0, offset);
  const std::size_t line = static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n')) + 1;
  const std::size_t line_start = before.rfind('\n');
  const std::size_t column = line_start == std::string_view::npos ? offset + 1 : offset - line_start;
  return "line " + std::to_string(line) + ", column " + std::to_string(column) + " (byte " + std::to_string(byte) + ")";
}

}  // namespace

ParsedJson parse_json_text(std::string_view text, int max_depth) {
  ParsedJson parsed;
  try {
    parsed.value = Json::parse(text.begin(), text.end(), [max_depth](int depth, Json::parse_event_t, Json&) {
      if (depth > max_depth) throw TooDeep{};
      return true;
    });
  } catch (const TooDeep&) {
    parsed.value = nullptr;
    parsed.too_deep = true;
    parsed.error = "the JSON nests deeper than " + std::to_string(max_depth) +
                   " levels (limits.max_json_depth); flatten it or raise limits.max_json_depth";
  } catch (const Json::parse_error& e) {
    // what(): "[json.exception.parse_error.101] parse error at line 1, column 9: syntax error ..."
    const std::string what = e.what();
    const auto detail = what.find(": ", what.find("column"));
    parsed.value = nullptr;
    parsed.error = position_of(text, e.byte) + ": " + (detail == std::string::npos ? what : what.substr(detail + 2));
  }
  return parsed;
}

Json make_result(const Json& id, Json result) {
  return Json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

Json make_error(const Json& id, int code, const std::string& message, const Json& data) {
  Json error = {{"code", code}, {"message", message}};
  if (!data.is_null()) error["data"] = data;
  return Json{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}};
}

Json make_error(const Json& id, const RpcError& error) { return make_error(id, error.code, error.message, error.data); }

Json make_notification(const std::string& method, Json params) {
  return Json{{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
}

}  // namespace dbopt::mcp
