#include "core/sql/row_constant_calls.h"

#include <algorithm>

#include "core/sql/parse_tree.h"

namespace dbopt::sql {
namespace {

using detail::as_node;
using nlohmann::json;

constexpr std::string_view kPrefix = "SELECT ";

bool mentions_column(const json& value) {
  if (value.is_array()) return std::any_of(value.begin(), value.end(), mentions_column);
  if (!value.is_object()) return false;
  if (value.contains("ColumnRef")) return true;
  for (auto it = value.begin(); it != value.end(); ++it)
    if (it->is_structured() && mentions_column(*it)) return true;
  return false;
}

// End of the call starting at `from`: past the parenthesis that closes its
// argument list (quotes and comments skipped).
std::size_t call_end(std::string_view text, std::size_t from) {
  std::size_t i = from;
  int depth = 0;
  while (i < text.size()) {
    const std::size_t skipped = detail::skip_literal_or_comment(text, i);
    if (skipped != i) {
      i = skipped;
      continue;
    }
    if (text[i] == '(') ++depth;
    if (text[i] == ')' && --depth == 0) return i + 1;
    ++i;
  }
  return text.size();
}

void collect(const json& value, std::string_view source, std::vector<CallSpan>& out) {
  if (value.is_array()) {
    for (const auto& item : value) collect(item, source, out);
    return;
  }
  if (!value.is_object()) return;
  const detail::Node node = as_node(value);
  if (node && node.type == "SubLink") return;  // already computed once (an InitPlan)
  if (node && node.type == "FuncCall" && !node.body->contains("over") && !mentions_column(*node.body)) {
    const int location = detail::location_of(*node.body);
    if (location >= static_cast<int>(kPrefix.size())) {
      const std::size_t start = static_cast<std::size_t>(location);
      const std::size_t end = call_end(source, start);
      out.push_back({start - kPrefix.size(), end - start, std::string(source.substr(start, end - start))});
      return;
    }
  }
  for (auto it = value.begin(); it != value.end(); ++it)
    if (it->is_structured()) collect(*it, source, out);
}

}  // namespace

std::vector<CallSpan> row_constant_calls(std::string_view expression) {
  const std::string source = std::string(kPrefix) + std::string(expression);
  const json tree = detail::parse_tree(source);
  std::vector<CallSpan> calls;
  collect(tree.at("stmts"), source, calls);
  std::sort(calls.begin(), calls.end(), [](const CallSpan& a, const CallSpan& b) { return a.offset < b.offset; });
  return calls;
}

std::string wrap_in_select(std::string_view expression, const std::vector<CallSpan>& calls) {
  std::string out;
  std::size_t done = 0;
  for (const auto& call : calls) {
    if (call.offset < done || call.offset + call.length > expression.size()) continue;
    out.append(expression.substr(done, call.offset - done));
    out += "(select " + std::string(expression.substr(call.offset, call.length)) + ")";
    done = call.offset + call.length;
  }
  out.append(expression.substr(done));
  return out;
}

}  // namespace dbopt::sql
