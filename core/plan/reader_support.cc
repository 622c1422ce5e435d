#include "core/plan/reader_support.h"

#include <algorithm>
#include <array>
#include <utility>

#include "core/common/error.h"

namespace dbopt::plan::detail {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Hand-written trims: find_first_not_of with a set runs a memchr per
// character, which dominated reading large plans.
std::string_view trim_right(std::string_view s) {
  std::size_t end = s.size();
  while (end > 0 && is_blank(s[end - 1])) --end;
  return s.substr(0, end);
}

std::string_view trim_left(std::string_view s) {
  std::size_t start = 0;
  while (start < s.size() && is_blank(s[start])) ++start;
  return s.substr(start);
}

bool is_psql_rule(std::string_view trimmed) {
  if (trimmed.size() < 3) return false;
  for (char c : trimmed) {
    if (c != '-' && c != '+') return false;
  }
  return true;
}

// "(12 rows)", "(1 row)"; psql translates the word, so any letters pass.
bool is_psql_footer(std::string_view trimmed) {
  if (trimmed.size() < 4 || trimmed.front() != '(' || trimmed.back() != ')') return false;
  std::string_view inner = trimmed.substr(1, trimmed.size() - 2);
  std::size_t digits = 0;
  while (digits < inner.size() && inner[digits] >= '0' && inner[digits] <= '9') ++digits;
  if (digits == 0 || digits == inner.size() || inner[digits] != ' ') return false;
  for (char c : inner.substr(digits + 1)) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
  }
  return true;
}

// Only lines starting with these characters can be psql's own.
bool is_psql_line(std::string_view trimmed) {
  switch (trimmed.empty() ? '\0' : trimmed.front()) {
    case 'Q':
      return trimmed == "QUERY PLAN";
    case '-':
      return is_psql_rule(trimmed);
    case '(':
      return is_psql_footer(trimmed);
    default:
      return false;
  }
}

// Calls f(line, number) for each line of the input until f returns false.
template <typename F>
void for_each_line(std::string_view input, F&& f) {
  int number = 0;
  std::size_t start = 0;
  while (start <= input.size()) {
    std::size_t end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    if (!f(input.substr(start, end - start), ++number)) return;
    if (end == input.size()) return;
    start = end + 1;
  }
}

}  // namespace

CleanedInput strip_psql_decorations(std::string_view input) {
  CleanedInput cleaned;
  std::size_t content_lines = 0;
  std::size_t first_content = 0;
  for_each_line(input, [&](std::string_view raw, int number) {
    std::string_view line = trim_right(raw);
    const std::string_view trimmed = trim_left(line);
    if (is_psql_line(trimmed)) {
      // The line above psql's rule is its header, whatever the language.
      if (trimmed.front() == '-' && content_lines == 1) {
        cleaned.lines[first_content].text = {};
        content_lines = 0;
      }
      line = {};
      cleaned.had_decorations = true;
    } else if (!line.empty() && line.back() == '+') {
      line = trim_right(line.substr(0, line.size() - 1));
      cleaned.had_decorations = true;
    }
    if (!line.empty() && content_lines++ == 0) first_content = cleaned.lines.size();
    cleaned.lines.push_back({line, number});
    return true;
  });
  return cleaned;
}

char first_plan_character(std::string_view input) {
  char candidate = '\0';
  char found = '\0';
  for_each_line(input, [&](std::string_view raw, int) {
    const std::string_view line = trim_left(trim_right(raw));
    if (line.empty()) return true;
    if (is_psql_line(line)) {
      if (line.front() == '-') candidate = '\0';  // what came before was psql's header
      return true;
    }
    if (candidate != '\0') {
      found = candidate;
      return false;
    }
    candidate = line.front();
    return true;
  });
  return found != '\0' ? found : candidate;
}

std::string join_lines(const std::vector<SourceLine>& lines) {
  std::string out;
  std::size_t size = 0;
  for (const SourceLine& line : lines) size += line.text.size() + 1;
  out.reserve(size);
  for (const SourceLine& line : lines) {
    out.append(line.text);
    out.push_back('\n');
  }
  return out;
}

TargetKind target_kind(std::string_view node_type) {
  static constexpr std::array<std::pair<std::string_view, TargetKind>, 16> kinds{{
      {"Seq Scan", TargetKind::relation},
      {"Sample Scan", TargetKind::relation},
      {"Index Scan", TargetKind::relation},
      {"Index Only Scan", TargetKind::relation},
      {"Bitmap Heap Scan", TargetKind::relation},
      {"Tid Scan", TargetKind::relation},
      {"Tid Range Scan", TargetKind::relation},
      {"Foreign Scan", TargetKind::relation},
      {"Custom Scan", TargetKind::relation},
      {"ModifyTable", TargetKind::relation},
      {"Bitmap Index Scan", TargetKind::index},
      {"Function Scan", TargetKind::function},
      {"Table Function Scan", TargetKind::function},
      {"CTE Scan", TargetKind::cte},
      {"WorkTable Scan", TargetKind::cte},
      {"Named Tuplestore Scan", TargetKind::tuplestore},
  }};
  for (const auto& [type, kind] : kinds) {
    if (type == node_type) return kind;
  }
  if (node_type == "Subquery Scan" || node_type == "Values Scan") return TargetKind::alias_only;
  return TargetKind::none;
}

std::string quote_identifier(std::string_view name) {
  bool safe = !name.empty() && ((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_');
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '$')) safe = false;
  }
  if (safe) return std::string(name);
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

namespace {

void raise_hint(std::optional<ServerVersionHint>& hint, int major, std::string evidence) {
  if (!hint || hint->at_least_major < major) hint = ServerVersionHint{major, std::move(evidence)};
}

}  // namespace

void finish_plan(Plan& plan) {
  plan.analyzed = plan.root.actuals.has_value() || plan.root.never_executed;

  // Only features that both formats print count as evidence, so the hint is
  // the same whichever reader filled the plan.
  std::optional<ServerVersionHint> hint;
  if (plan.planning_buffers != Buffers{}) raise_hint(hint, 13, "planning buffers");
  if (plan.jit && plan.jit->deform_ms) raise_hint(hint, 17, "JIT deform timing");
  std::vector<const PlanNode*> pending{&plan.root};
  while (!pending.empty()) {
    const PlanNode* node = pending.back();
    pending.pop_back();
    if (node->node_type == "Memoize") raise_hint(hint, 14, "Memoize node");
    if (node->node_type == "Incremental Sort") raise_hint(hint, 13, "Incremental Sort node");
    if (node->hash_aggregation) raise_hint(hint, 13, "HashAggregate batches");
    if (node->wal != WalUsage{}) raise_hint(hint, 13, "WAL usage");
    if (node->buffers.temp_io_read_time_ms > 0 || node->buffers.temp_io_write_time_ms > 0) {
      raise_hint(hint, 15, "temp I/O timings");
    }
    for (const PlanNode& child : node->children) pending.push_back(&child);
  }
  plan.server_version = std::move(hint);
}

void throw_parse_error(std::string message) {
  throw Error(ErrorCode::invalid_argument, std::move(message),
              "Paste the complete output of EXPLAIN (ANALYZE, BUFFERS) or EXPLAIN (FORMAT JSON), "
              "from its first line to its last.");
}

}  // namespace dbopt::plan::detail
