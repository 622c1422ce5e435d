// EXPLAIN's default TEXT format -> Plan.
//
// The format has no delimiters, only indentation: a node line ("->  Seq Scan
// on t  (cost=...)"), its detail lines ("Filter: ...") indented under it, its
// children's "->" lines at the same indentation as the details, and the
// InitPlan / SubPlan / CTE headers above the children they introduce. The
// reader keeps a stack of open nodes keyed by indentation, so it needs no
// recursion and pastes with any uniform extra indentation (psql's leading
// space) read the same.
//
// What TEXT spells differently from JSON ("HashAggregate", "Hash Left Join",
// omitted zero counters, "(originally N)" shown only when it differs) is
// normalised here to what the JSON reader produces.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/plan/explain_reader.h"
#include "core/plan/reader_support.h"

namespace dbopt::plan {

namespace {

using detail::SourceLine;

std::string_view trim(std::string_view s) {
  std::size_t start = 0;
  std::size_t end = s.size();
  while (start < end && (s[start] == ' ' || s[start] == '\t')) ++start;
  while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t')) --end;
  return s.substr(start, end - start);
}

bool consume(std::string_view& s, std::string_view prefix) {
  if (!s.starts_with(prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

std::optional<double> to_number(std::string_view s) {
  s = trim(s);
  if (s.ends_with("kB")) s.remove_suffix(2);
  if (s.ends_with(" ms")) s.remove_suffix(3);
  double value = 0;
  const auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (error != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  // EXPLAIN prints no NaN, infinity or negative figure: such a plan was edited or corrupted.
  if (!std::isfinite(value) || value < 0) return std::nullopt;
  return value;
}

std::int64_t to_integer(double value) {
  // Out of range (or NaN) would be undefined behaviour in the cast.
  constexpr double kLimit = 9.2e18;
  if (!(value > -kLimit && value < kLimit)) return 0;
  return static_cast<std::int64_t>(value < 0 ? value - 0.5 : value + 0.5);
}

// Splits "a, b(c, d), 'e, f'" at top-level commas: the lists PostgreSQL
// prints for Sort Key, Group Key and Output.
std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> items;
  int depth = 0;
  char quote = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '(' || c == '[') {
      ++depth;
    } else if (c == ')' || c == ']') {
      --depth;
    } else if (c == ',' && depth == 0) {
      items.emplace_back(trim(s.substr(start, i - start)));
      start = i + 1;
    }
  }
  const std::string_view last = trim(s.substr(start));
  if (!last.empty() || !items.empty()) items.emplace_back(last);
  return items;
}

// "Buckets: 4096 (originally 1024)  Batches: 16  Memory Usage: 82kB": fields
// PostgreSQL separates with two spaces.
std::vector<std::pair<std::string_view, std::string_view>> split_fields(std::string_view s) {
  std::vector<std::pair<std::string_view, std::string_view>> fields;
  while (!s.empty()) {
    std::size_t end = s.find("  ");
    std::string_view part = trim(s.substr(0, end));
    const std::size_t colon = part.find(": ");
    if (colon != std::string_view::npos) fields.emplace_back(part.substr(0, colon), trim(part.substr(colon + 2)));
    if (end == std::string_view::npos) break;
    s.remove_prefix(end + 2);
  }
  return fields;
}

// "name=value name=value" -> calls f(name, number).
template <typename F>
void for_each_assignment(std::string_view s, F&& f) {
  while (!s.empty()) {
    const std::size_t end = s.find(' ');
    const std::string_view word = s.substr(0, end);
    const std::size_t eq = word.find('=');
    if (eq != std::string_view::npos) {
      if (auto value = to_number(word.substr(eq + 1))) f(word.substr(0, eq), *value);
    }
    if (end == std::string_view::npos) break;
    s.remove_prefix(end + 1);
  }
}

// Splits "scope k=v k=v, scope k=v" into (scope, assignments) groups.
template <typename F>
void for_each_scope(std::string_view s, F&& f) {
  while (!s.empty()) {
    const std::size_t end = s.find(", ");
    std::string_view group = trim(s.substr(0, end));
    std::string_view scope;
    const std::size_t space = group.find(' ');
    const std::string_view first = group.substr(0, space);
    if (first.find('=') == std::string_view::npos) {
      scope = first;
      group = space == std::string_view::npos ? std::string_view{} : group.substr(space + 1);
    }
    f(scope, group);
    if (end == std::string_view::npos) break;
    s.remove_prefix(end + 2);
  }
}

// One identifier as quote_identifier printed it: bare, or in double quotes
// with "" for a quote. Advances `s` past it.
std::optional<std::string> take_identifier(std::string_view& s) {
  if (s.empty()) return std::nullopt;
  std::string out;
  if (s.front() == '"') {
    std::size_t i = 1;
    for (; i < s.size(); ++i) {
      if (s[i] == '"') {
        if (i + 1 < s.size() && s[i + 1] == '"') {
          out.push_back('"');
          ++i;
          continue;
        }
        break;
      }
      out.push_back(s[i]);
    }
    if (i >= s.size()) return std::nullopt;
    s.remove_prefix(i + 1);
    return out;
  }
  std::size_t end = 0;
  while (end < s.size() && s[end] != ' ' && s[end] != '.') ++end;
  if (end == 0) return std::nullopt;
  out = s.substr(0, end);
  s.remove_prefix(end);
  return out;
}

struct QualifiedName {
  std::optional<std::string> schema;
  std::string name;
};

std::optional<QualifiedName> take_qualified(std::string_view& s) {
  auto first = take_identifier(s);
  if (!first) return std::nullopt;
  if (consume(s, ".")) {
    auto second = take_identifier(s);
    if (!second) return std::nullopt;
    return QualifiedName{std::move(first), std::move(*second)};
  }
  return QualifiedName{std::nullopt, std::move(*first)};
}

// TEXT node names that differ from JSON's "Node Type", longest first where
// one is a prefix of another.
struct NodeName {
  std::string_view text;
  std::string_view type;
  std::string_view strategy;
  std::string_view operation;
};
constexpr std::array<NodeName, 48> kNodeNames{{
    {"Named Tuplestore Scan", "Named Tuplestore Scan", {}, {}},
    {"Table Function Scan", "Table Function Scan", {}, {}},
    {"Bitmap Index Scan", "Bitmap Index Scan", {}, {}},
    {"Bitmap Heap Scan", "Bitmap Heap Scan", {}, {}},
    {"Incremental Sort", "Incremental Sort", {}, {}},
    {"Index Only Scan", "Index Only Scan", {}, {}},
    {"Recursive Union", "Recursive Union", {}, {}},
    {"WorkTable Scan", "WorkTable Scan", {}, {}},
    {"MixedAggregate", "Aggregate", "Mixed", {}},
    {"GroupAggregate", "Aggregate", "Sorted", {}},
    {"HashAggregate", "Aggregate", "Hashed", {}},
    {"Subquery Scan", "Subquery Scan", {}, {}},
    {"Function Scan", "Function Scan", {}, {}},
    {"Tid Range Scan", "Tid Range Scan", {}, {}},
    {"Foreign Insert", "Foreign Scan", {}, "Insert"},
    {"Foreign Update", "Foreign Scan", {}, "Update"},
    {"Foreign Delete", "Foreign Scan", {}, "Delete"},
    {"Foreign Scan", "Foreign Scan", {}, "Select"},
    {"Gather Merge", "Gather Merge", {}, {}},
    {"Merge Append", "Merge Append", {}, {}},
    {"Values Scan", "Values Scan", {}, {}},
    {"Sample Scan", "Sample Scan", {}, {}},
    {"Custom Scan", "Custom Scan", {}, {}},
    {"Materialize", "Materialize", {}, {}},
    {"Index Scan", "Index Scan", {}, {}},
    {"ProjectSet", "ProjectSet", {}, {}},
    {"Aggregate", "Aggregate", "Plain", {}},
    {"HashSetOp", "SetOp", "Hashed", {}},
    {"WindowAgg", "WindowAgg", {}, {}},
    {"BitmapAnd", "BitmapAnd", {}, {}},
    {"CTE Scan", "CTE Scan", {}, {}},
    {"Seq Scan", "Seq Scan", {}, {}},
    {"Tid Scan", "Tid Scan", {}, {}},
    {"BitmapOr", "BitmapOr", {}, {}},
    {"LockRows", "LockRows", {}, {}},
    {"Memoize", "Memoize", {}, {}},
    {"Gather", "Gather", {}, {}},
    {"Result", "Result", {}, {}},
    {"Append", "Append", {}, {}},
    {"Unique", "Unique", {}, {}},
    {"Insert", "ModifyTable", {}, "Insert"},
    {"Update", "ModifyTable", {}, "Update"},
    {"Delete", "ModifyTable", {}, "Delete"},
    {"Merge", "ModifyTable", {}, "Merge"},
    {"SetOp", "SetOp", "Sorted", {}},
    {"Limit", "Limit", {}, {}},
    {"Group", "Group", {}, {}},
    {"Sort", "Sort", {}, {}},
}};
// "Hash" is matched last: "Hash Join" and "HashAggregate" start with it.
constexpr NodeName kHashNode{"Hash", "Hash", {}, {}};

const NodeName* match_node_name(std::string_view header) {
  if (header.empty()) return nullptr;
  auto matches = [&](const NodeName& name) {
    return name.text.front() == header.front() && header.starts_with(name.text) &&
           (header.size() == name.text.size() || header[name.text.size()] == ' ');
  };
  for (const NodeName& name : kNodeNames) {
    if (matches(name)) return &name;
  }
  return matches(kHashNode) ? &kHashNode : nullptr;
}

bool is_join_type(std::string_view s) {
  return s == "Left" || s == "Right" || s == "Full" || s == "Semi" || s == "Anti" || s == "Right Anti" ||
         s == "Right Semi" || s == "Inner";
}

// "Nested Loop", "Hash Join", "Merge Left Join", "Hash Right Anti Join".
bool parse_join(std::string_view header, PlanNode& node) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 3> joins{
      {{"Nested Loop", "Nested Loop"}, {"Hash", "Hash Join"}, {"Merge", "Merge Join"}}};
  for (const auto& [prefix, type] : joins) {
    std::string_view rest = header;
    if (!consume(rest, prefix)) continue;
    std::string join_type;
    if (rest.empty() && prefix == "Nested Loop") {
      join_type = "Inner";
    } else if (rest == " Join") {
      join_type = "Inner";
    } else if (rest.starts_with(" ") && rest.ends_with(" Join") && rest.size() > 6) {
      const std::string_view middle = rest.substr(1, rest.size() - 6);
      if (!is_join_type(middle)) continue;
      join_type = middle;
    } else {
      continue;
    }
    node.node_type = type;
    node.join_type = std::move(join_type);
    return true;
  }
  return false;
}

// "Index Scan Backward using idx on public.orders o", "CTE Scan on t t_1", ...
// Returns false when the header names no node type dbopt knows.
bool parse_node_header(std::string_view header, PlanNode& node) {
  if (consume(header, "Parallel ")) node.parallel_aware = true;
  if (consume(header, "Async ")) node.async_capable = true;
  std::string_view partial;
  for (std::string_view mode : {std::string_view("Partial "), std::string_view("Finalize ")}) {
    if (header.starts_with(mode) && header.substr(mode.size()).find("Aggregate") != std::string_view::npos) {
      partial = mode.substr(0, mode.size() - 1);
      header.remove_prefix(mode.size());
    }
  }
  if (parse_join(header, node)) return true;

  const NodeName* name = match_node_name(header);
  if (name == nullptr) {
    // A node type this reader does not know (a newer PostgreSQL, an
    // extension): keep its name, up to the target if there is one.
    const std::size_t on = header.find(" on ");
    node.node_type = trim(header.substr(0, on));
    return false;
  }
  header.remove_prefix(name->text.size());
  node.node_type = name->type;
  if (!name->strategy.empty()) node.strategy = std::string(name->strategy);
  if (!name->operation.empty()) node.operation = std::string(name->operation);
  if (node.node_type == "Aggregate") node.partial_mode = partial.empty() ? "Simple" : std::string(partial);

  if (node.node_type == "SetOp") {
    for (std::string_view command : {"Intersect All", "Intersect", "Except All", "Except"}) {
      std::string_view rest = header;
      if (consume(rest, " ") && consume(rest, command) && (rest.empty() || rest.front() == ' ')) {
        node.set_operation = std::string(command);
        header = rest;
        break;
      }
    }
  }
  if (node.node_type == "Custom Scan" && consume(header, " (")) {
    const std::size_t close = header.find(')');
    node.custom_plan_provider = std::string(header.substr(0, close));
    header.remove_prefix(close == std::string_view::npos ? header.size() : close + 1);
  }
  if (node.node_type == "Index Scan" || node.node_type == "Index Only Scan") {
    if (consume(header, " Backward")) node.backward_scan = true;
    if (consume(header, " using ")) node.index_name = take_identifier(header);
  }
  if (!consume(header, " on ")) return true;

  const detail::TargetKind kind = detail::target_kind(node.node_type);
  auto object = take_qualified(header);
  if (!object) return true;
  std::optional<std::string> alias;
  if (consume(header, " ")) alias = take_identifier(header);
  switch (kind) {
    case detail::TargetKind::index:
      node.index_name = std::move(object->name);
      return true;
    case detail::TargetKind::alias_only:
      node.alias = std::move(object->name);
      return true;
    case detail::TargetKind::tuplestore:
      node.alias = alias ? std::move(alias) : std::move(object->name);
      return true;
    case detail::TargetKind::relation:
    case detail::TargetKind::none:
      node.relation_name = object->name;
      break;
    case detail::TargetKind::function:
      node.function_name = object->name;
      break;
    case detail::TargetKind::cte:
      node.cte_name = object->name;
      break;
  }
  node.schema = std::move(object->schema);
  node.alias = alias ? std::move(alias) : std::move(object->name);
  return true;
}

// A node line's figures: "(cost=0.00..35.50 rows=2550 width=4)",
// "(actual time=0.010..0.020 rows=10 loops=1)", "(actual rows=10 loops=1)",
// "(never executed)". Returns an error description, empty when fine.
std::string parse_figures(std::string_view s, PlanNode& node) {
  while (true) {
    s = trim(s);
    if (s.empty()) return {};
    if (s.front() != '(') return "unexpected text '" + std::string(s) + "' after the figures";
    const std::size_t close = s.find(')');
    if (close == std::string_view::npos) return "the figures '" + std::string(s) + "' are not closed (cut short?)";
    std::string_view group = s.substr(1, close - 1);
    const std::string_view whole = group;  // for messages: group is consumed as it is read
    s.remove_prefix(close + 1);
    if (group == "never executed") {
      node.never_executed = true;
      continue;
    }
    bool complete = false;
    if (consume(group, "cost=")) {
      Estimates e;
      const std::size_t dots = group.find("..");
      const std::size_t space = group.find(' ');
      auto startup = dots == std::string_view::npos ? std::nullopt : to_number(group.substr(0, dots));
      auto total = dots == std::string_view::npos || space == std::string_view::npos
                       ? std::nullopt
                       : to_number(group.substr(dots + 2, space - dots - 2));
      int seen = 0;
      if (space != std::string_view::npos) {
        for_each_assignment(group.substr(space + 1), [&](std::string_view key, double value) {
          if (key == "rows") e.rows = value, ++seen;
          if (key == "width") e.width = to_integer(value), ++seen;
        });
      }
      complete = startup && total && seen == 2;
      if (complete) {
        e.startup_cost = *startup;
        e.total_cost = *total;
        node.estimates = e;
      }
    } else if (consume(group, "actual ")) {
      Actuals a;
      int seen = 0;
      if (consume(group, "time=")) {
        const std::size_t dots = group.find("..");
        const std::size_t space = group.find(' ');
        if (dots != std::string_view::npos && space != std::string_view::npos) {
          a.startup_time_ms = to_number(group.substr(0, dots));
          a.total_time_ms = to_number(group.substr(dots + 2, space - dots - 2));
          group.remove_prefix(space + 1);
        }
        if (!a.startup_time_ms || !a.total_time_ms) return "unreadable actual time in '(" + std::string(group) + ")'";
      }
      for_each_assignment(group, [&](std::string_view key, double value) {
        if (key == "rows") a.rows = value, ++seen;
        if (key == "loops") a.loops = value, ++seen;
      });
      complete = seen == 2;
      if (complete) node.actuals = a;
    }
    if (!complete)
      return "unreadable figures '(" + std::string(whole) +
             ")': costs, rows, widths, times and loops are numbers of zero or more (no NaN, infinity or minus sign)";
  }
}

// Where a node's figures start: the first "(cost=", "(actual " or
// "(never executed)".
std::size_t figures_start(std::string_view content) {
  std::size_t start = std::string_view::npos;
  for (std::string_view marker : {"(cost=", "(actual ", "(never executed"}) {
    start = std::min(start, content.find(marker));
  }
  return start;
}

void add_buffers(Buffers& b, std::string_view value) {
  for_each_scope(value, [&](std::string_view scope, std::string_view assignments) {
    for_each_assignment(assignments, [&](std::string_view key, double v) {
      const std::int64_t blocks = to_integer(v);
      if (scope == "shared") {
        if (key == "hit") b.shared_hit = blocks;
        if (key == "read") b.shared_read = blocks;
        if (key == "dirtied") b.shared_dirtied = blocks;
        if (key == "written") b.shared_written = blocks;
      } else if (scope == "local") {
        if (key == "hit") b.local_hit = blocks;
        if (key == "read") b.local_read = blocks;
        if (key == "dirtied") b.local_dirtied = blocks;
        if (key == "written") b.local_written = blocks;
      } else if (scope == "temp") {
        if (key == "read") b.temp_read = blocks;
        if (key == "written") b.temp_written = blocks;
      }
    });
  });
}

// "read=1.2 write=0.3" (up to 14), "shared/local read=... , temp read=..."
// (15, 16), "shared read=..., local read=..., temp read=..." (17+).
void add_io_timings(Buffers& b, std::string_view value) {
  for_each_scope(value, [&](std::string_view scope, std::string_view assignments) {
    const bool temp = scope == "temp";
    for_each_assignment(assignments, [&](std::string_view key, double ms) {
      if (key == "read") (temp ? b.temp_io_read_time_ms : b.io_read_time_ms) += ms;
      if (key == "write") (temp ? b.temp_io_write_time_ms : b.io_write_time_ms) += ms;
    });
  });
}

// "work_mem = '64kB', search_path = '\"$user\", public'": a value runs to the
// quote that is followed by ", " or the end, since PostgreSQL does not escape.
std::map<std::string, std::string> parse_settings(std::string_view s) {
  std::map<std::string, std::string> settings;
  while (!s.empty()) {
    const std::size_t eq = s.find(" = ");
    if (eq == std::string_view::npos) break;
    const std::string name(trim(s.substr(0, eq)));
    s.remove_prefix(eq + 3);
    std::string_view value;
    if (s.starts_with("'")) {
      std::size_t end = 1;
      while (true) {
        end = s.find('\'', end);
        if (end == std::string_view::npos || end + 1 == s.size() || s.substr(end + 1).starts_with(", ")) break;
        ++end;
      }
      if (end == std::string_view::npos) end = s.size();
      value = s.substr(1, end - 1);
      s.remove_prefix(std::min(s.size(), end + 1));
    } else {
      const std::size_t comma = s.find(", ");
      value = s.substr(0, comma);
      s.remove_prefix(comma == std::string_view::npos ? s.size() : comma);
    }
    settings[name] = std::string(value);
    consume(s, ", ");
  }
  return settings;
}

class TextPlanReader {
 public:
  void read(const SourceLine& line) {
    line_number_ = line.number;
    std::string_view text = line.text;
    // pgAdmin and some spreadsheets wrap every line in double quotes.
    if (const std::string_view t = trim(text); t.size() >= 2 && t.front() == '"' && t.back() == '"') {
      text = t.substr(1, t.size() - 2);
    }
    int indent = 0;
    std::size_t i = 0;
    for (; i < text.size() && (text[i] == ' ' || text[i] == '\t'); ++i) indent += text[i] == '\t' ? 4 : 1;
    const std::string_view content = trim(text.substr(i));
    if (content.empty()) return;

    // Lines under a per-worker detail ("Worker 0:  actual time=...") or a
    // worker's "JIT:" describe that worker, not the node.
    if (skip_deeper_than_) {
      if (indent > *skip_deeper_than_ && !content.starts_with("->")) return;
      skip_deeper_than_.reset();
    }

    if (content.starts_with("->")) {
      node_line(indent, trim(content.substr(2)), true);
    } else if (!have_root_) {
      before_root(indent, content);
    } else if (is_subplan_header(content)) {
      subplan_header(indent, content);
    } else {
      detail_line(indent, content);
    }
  }

  Plan finish() {
    if (!have_root_) {
      fail(line_number_,
           "no plan node found; expected a node line such as "
           "'Seq Scan on orders  (cost=0.00..35.50 rows=2550 width=4)'");
    }
    plan_.has_buffers = saw_buffers_;
    detail::finish_plan(plan_);
    return std::move(plan_);
  }

 private:
  struct Open {
    int indent = 0;
    PlanNode* node = nullptr;
    // Set for an InitPlan / SubPlan / CTE header: the relationship and name
    // its child gets.
    std::string_view relationship;
    std::string subplan_name;
  };
  enum class Block { none, planning, jit };

  [[noreturn]] static void fail(int line, const std::string& what) {
    detail::throw_parse_error("EXPLAIN text, line " + std::to_string(line) + ": " + what + ".");
  }

  static std::string quoted(std::string_view s) {
    constexpr std::size_t kShown = 80;
    return "'" + std::string(s.substr(0, kShown)) + (s.size() > kShown ? "...'" : "'");
  }

  static bool is_subplan_header(std::string_view content) {
    if (content.find("(cost=") != std::string_view::npos || content.back() == ':') return false;
    for (std::string_view word : {"InitPlan", "SubPlan"}) {
      if (content.starts_with(word) && (content.size() == word.size() || content[word.size()] == ' ')) return true;
    }
    return content.starts_with("CTE ") && content.find(": ") == std::string_view::npos;
  }

  void before_root(int indent, std::string_view content) {
    // auto_explain's text output starts with the query.
    if (consume(content, "Query Text: ")) {
      plan_.query_text = std::string(content);
      return;
    }
    PlanNode probe;
    const std::size_t start = figures_start(content);
    const bool known = parse_node_header(trim(content.substr(0, start)), probe);
    if (start == std::string_view::npos && !known) {
      if (plan_.query_text) {
        plan_.query_text->append("\n").append(content);
        return;
      }
      fail(line_number_,
           "expected the plan's first node, such as "
           "'Seq Scan on orders  (cost=0.00..35.50 rows=2550 width=4)', found " +
               quoted(content));
    }
    node_line(indent, content, false);
  }

  void node_line(int indent, std::string_view content, bool arrow) {
    if (content.empty()) fail(line_number_, "a '->' without a node after it");
    block_ = Block::none;
    pop_to(indent);
    PlanNode* node = nullptr;
    if (open_.empty()) {
      if (have_root_) {
        fail(line_number_, std::string(arrow ? "a child node indented less than the plan's first node"
                                             : "a second plan after the first one") +
                               ": " + quoted(content) + "; paste one plan at a time");
      }
      have_root_ = true;
      node = &plan_.root;
    } else {
      if (static_cast<int>(open_.size()) >= kMaxPlanDepth) {
        fail(line_number_, "the plan is nested deeper than " + std::to_string(kMaxPlanDepth) + " levels");
      }
      Open& parent = open_.back();
      PlanNode& child = parent.node->children.emplace_back();
      if (!parent.relationship.empty()) {
        child.parent_relationship = std::string(parent.relationship);
        child.subplan_name = parent.subplan_name;
      } else {
        child.parent_relationship = ordinary_relationship(*parent.node);
      }
      node = &child;
    }
    const std::size_t start = figures_start(content);
    parse_node_header(trim(content.substr(0, start)), *node);
    if (!std::isalpha(static_cast<unsigned char>(node->node_type.empty() ? ' ' : node->node_type.front())))
      fail(line_number_, "expected a node name after '->', such as 'Seq Scan on orders', found " + quoted(content));
    if (start != std::string_view::npos) {
      const std::string problem = parse_figures(content.substr(start), *node);
      if (!problem.empty()) fail(line_number_, problem);
    }
    if (node->never_executed) node->actuals.reset();
    open_.push_back({indent, node, {}, {}});
  }

  // JSON's "Parent Relationship" for a child that no header introduced.
  static std::string ordinary_relationship(const PlanNode& parent) {
    const std::string& type = parent.node_type;
    if (type == "Append" || type == "Merge Append" || type == "BitmapAnd" || type == "BitmapOr" ||
        type == "Custom Scan") {
      return "Member";
    }
    if (type == "Subquery Scan") return "Subquery";
    const auto siblings = std::count_if(parent.children.begin(), parent.children.end() - 1, [](const PlanNode& c) {
      return c.parent_relationship != "InitPlan" && c.parent_relationship != "SubPlan";
    });
    return siblings == 0 ? "Outer" : "Inner";
  }

  void subplan_header(int indent, std::string_view content) {
    block_ = Block::none;
    pop_to(indent);
    if (open_.empty()) fail(line_number_, quoted(content) + " outside any plan node");
    Open header;
    header.indent = indent;
    header.node = open_.back().node;
    header.relationship = content.starts_with("SubPlan") ? "SubPlan" : "InitPlan";
    header.subplan_name = std::string(content);
    open_.push_back(std::move(header));
  }

  void pop_to(int indent) {
    while (!open_.empty() && open_.back().indent >= indent) open_.pop_back();
  }

  void detail_line(int indent, std::string_view content) {
    if (block_ != Block::none && indent > block_indent_) {
      block_line(content);
      return;
    }
    block_ = Block::none;
    pop_to(indent);
    const std::size_t colon = content.find(':');
    if (open_.empty()) {
      if (colon == std::string_view::npos) {
        fail(line_number_, "expected a summary line such as 'Execution Time: 1.234 ms', found " + quoted(content));
      }
      plan_line(indent, content, colon);
      return;
    }
    if (colon == std::string_view::npos) {
      // ModifyTable on a partitioned table lists its targets ("Update on p1 t_1").
      for (std::string_view verb : {"Insert on ", "Update on ", "Delete on ", "Merge on ", "Foreign "}) {
        if (content.starts_with(verb)) return;
      }
      fail(line_number_, "expected a node ('->  ...') or a detail ('Filter: ...'), found " + quoted(content));
    }
    const std::string_view key = content.substr(0, colon);
    if (key == "JIT" || (key.starts_with("Worker ") && key.size() > 7 && key[7] >= '0' && key[7] <= '9')) {
      skip_deeper_than_ = indent;
      return;
    }
    node_detail(*open_.back().node, content, colon);
  }

  void plan_line(int indent, std::string_view content, std::size_t colon) {
    const std::string_view key = content.substr(0, colon);
    const std::string_view value = trim(content.substr(colon + 1));
    // Older PostgreSQL versions wrote "Planning time" and "Execution time".
    if (key == "Planning Time" || key == "Planning time") {
      plan_.planning_time_ms = summary_time(key, value);
    } else if (key == "Execution Time" || key == "Execution time" || key == "Total runtime") {
      plan_.execution_time_ms = summary_time(key, value);
    } else if (key == "Settings") {
      plan_.settings = parse_settings(value);
    } else if (key == "Planning" && value.empty()) {
      block_ = Block::planning;
      block_indent_ = indent;
    } else if (key == "JIT" && value.empty()) {
      block_ = Block::jit;
      block_indent_ = indent;
      plan_.jit.emplace();
    } else if (key.starts_with("Trigger")) {
      trigger_line(content);
    }
    // Anything else ("Query Identifier", "Serialization", psql's "Time:") is
    // not part of the model.
  }

  double summary_time(std::string_view key, std::string_view value) const {
    const auto ms = to_number(value);
    if (!ms)
      fail(line_number_, "unreadable " + std::string(key) + " " + quoted(value) +
                             "; expected milliseconds "
                             "of zero or more, such as '1.234 ms'");
    return *ms;
  }

  // "Trigger name for constraint c on rel: time=1.234 calls=10"; the name is
  // left out for a constraint's trigger unless VERBOSE, the relation unless
  // several tables were modified.
  void trigger_line(std::string_view content) {
    const std::size_t colon = content.rfind(": ");
    if (colon == std::string_view::npos) return;
    TriggerTime trigger;
    std::string_view who = content.substr(std::string_view("Trigger").size(), colon - 7);
    for_each_assignment(content.substr(colon + 2), [&](std::string_view key, double value) {
      if (key == "time") trigger.time_ms = value;
      if (key == "calls") trigger.calls = value;
    });
    const std::size_t on = who.rfind(" on ");
    if (on != std::string_view::npos) {
      trigger.relation = std::string(who.substr(on + 4));
      who = who.substr(0, on);
    }
    const std::size_t constraint = who.find(" for constraint ");
    if (constraint != std::string_view::npos) {
      trigger.constraint_name = std::string(who.substr(constraint + 16));
      who = who.substr(0, constraint);
    }
    who = trim(who);
    if (!who.empty()) trigger.name = std::string(who);
    plan_.triggers.push_back(std::move(trigger));
  }

  void block_line(std::string_view content) {
    const std::size_t colon = content.find(": ");
    if (colon == std::string_view::npos) return;
    const std::string_view key = content.substr(0, colon);
    const std::string_view value = trim(content.substr(colon + 2));
    if (block_ == Block::planning) {
      if (key == "Buffers") {
        add_buffers(plan_.planning_buffers, value);
        saw_buffers_ = true;
      } else if (key == "I/O Timings") {
        add_io_timings(plan_.planning_buffers, value);
      }
      return;
    }
    JitSummary& jit = *plan_.jit;
    if (key == "Functions") {
      jit.functions = to_integer(to_number(value).value_or(0));
    } else if (key == "Options") {
      for (const std::string& option : split_list(value)) {
        const std::size_t space = option.find(' ');
        const std::string_view name = std::string_view(option).substr(0, space);
        const bool on = space != std::string::npos && option.substr(space + 1) == "true";
        if (name == "Inlining") jit.inlining = on;
        if (name == "Optimization") jit.optimization = on;
        if (name == "Expressions") jit.expressions = on;
        if (name == "Deforming") jit.deforming = on;
      }
    } else if (key == "Timing") {
      // "Generation 1.2 ms (Deform 0.5 ms), Inlining 0.0 ms, ..." (Deform: 17+).
      for (const std::string& part : split_list(value)) {
        std::string_view item = part;
        const std::size_t space = item.find(' ');
        const std::string_view name = item.substr(0, space);
        std::string_view figures = space == std::string_view::npos ? std::string_view{} : item.substr(space + 1);
        const std::size_t paren = figures.find(" (Deform ");
        std::optional<double> deform;
        if (paren != std::string_view::npos) {
          std::string_view inner = figures.substr(paren + 9);
          deform = to_number(inner.substr(0, inner.find(')')));
          figures = figures.substr(0, paren);
        }
        const double ms = to_number(figures).value_or(0);
        if (name == "Generation") {
          jit.generation_ms = ms;
          jit.deform_ms = deform;
        }
        if (name == "Inlining") jit.inlining_ms = ms;
        if (name == "Optimization") jit.optimization_ms = ms;
        if (name == "Emission") jit.emission_ms = ms;
        if (name == "Total") jit.total_ms = ms;
      }
    }
  }

  void node_detail(PlanNode& node, std::string_view content, std::size_t colon) {
    const std::string_view key = content.substr(0, colon);
    const std::string_view value = trim(content.substr(colon + 1));
    auto number = [&]() { return to_number(value).value_or(0); };
    auto text = [&]() { return std::optional<std::string>(std::string(value)); };

    if (key == "Filter")
      node.filter = text();
    else if (key == "Index Cond")
      node.index_cond = text();
    else if (key == "Recheck Cond")
      node.recheck_cond = text();
    else if (key == "Hash Cond")
      node.hash_cond = text();
    else if (key == "Merge Cond")
      node.merge_cond = text();
    else if (key == "Join Filter")
      node.join_filter = text();
    else if (key == "One-Time Filter")
      node.one_time_filter = text();
    else if (key == "Rows Removed by Filter")
      node.rows_removed_by_filter = number();
    else if (key == "Rows Removed by Join Filter")
      node.rows_removed_by_join_filter = number();
    else if (key == "Rows Removed by Index Recheck")
      node.rows_removed_by_index_recheck = number();
    else if (key == "Heap Fetches")
      node.heap_fetches = number();
    else if (key == "Heap Blocks") {
      for_each_assignment(value, [&](std::string_view k, double v) {
        if (k == "exact") node.exact_heap_blocks = to_integer(v);
        if (k == "lossy") node.lossy_heap_blocks = to_integer(v);
      });
    } else if (key == "Sort Key")
      node.sort_key = split_list(value);
    else if (key == "Group Key")
      node.group_key = split_list(value);
    else if (key == "Output")
      node.output = split_list(value);
    else if (key == "Cache Key")
      node.cache_key = text();
    else if (key == "Cache Mode")
      node.cache_mode = text();
    else if (key == "Workers Planned")
      node.workers_planned = to_integer(number());
    else if (key == "Workers Launched")
      node.workers_launched = to_integer(number());
    else if (key == "Buffers") {
      add_buffers(node.buffers, value);
      saw_buffers_ = true;
    } else if (key == "I/O Timings")
      add_io_timings(node.buffers, value);
    else if (key == "WAL") {
      for_each_assignment(value, [&](std::string_view k, double v) {
        if (k == "records") node.wal.records = to_integer(v);
        if (k == "fpi") node.wal.full_page_images = to_integer(v);
        if (k == "bytes") node.wal.bytes = to_integer(v);
      });
    } else if (key == "Sort Method" || key == "Buckets" || key == "Batches" || key == "Planned Partitions" ||
               key == "Hits") {
      multi_field_detail(node, content);
    }
    // Other details ("Worker 0: ...", "Inner Unique", "Presorted Key", ...)
    // are not part of the model.
  }

  static void multi_field_detail(PlanNode& node, std::string_view content) {
    std::optional<std::int64_t> buckets, original_buckets, batches, original_batches, memory, disk;
    std::optional<std::int64_t> hits, misses, evictions, overflows;
    // "4096 (originally 1024)" -> (4096, 1024)
    auto count_and_original = [](std::string_view v, std::optional<std::int64_t>& now,
                                 std::optional<std::int64_t>& original) {
      const std::size_t paren = v.find(" (originally ");
      if (auto n = to_number(v.substr(0, paren))) now = to_integer(*n);
      if (paren != std::string_view::npos) {
        std::string_view rest = v.substr(paren + 13);
        if (auto n = to_number(rest.substr(0, rest.find(')')))) original = to_integer(*n);
      }
    };
    auto integer = [](std::string_view v) -> std::optional<std::int64_t> {
      if (auto n = to_number(v)) return to_integer(*n);
      return std::nullopt;
    };
    for (const auto& [key, value] : split_fields(content)) {
      if (key == "Sort Method")
        node.sort_method = std::string(value);
      else if (key == "Memory" || key == "Disk") {
        node.sort_space_type = std::string(key);
        node.sort_space_used_kb = integer(value);
      } else if (key == "Buckets")
        count_and_original(value, buckets, original_buckets);
      else if (key == "Batches")
        count_and_original(value, batches, original_batches);
      else if (key == "Memory Usage")
        memory = integer(value);
      else if (key == "Disk Usage")
        disk = integer(value);
      else if (key == "Hits")
        hits = integer(value);
      else if (key == "Misses")
        misses = integer(value);
      else if (key == "Evictions")
        evictions = integer(value);
      else if (key == "Overflows")
        overflows = integer(value);
    }
    if (buckets) {
      node.hash_table = HashTable{*buckets, original_buckets.value_or(*buckets), batches.value_or(0),
                                  original_batches.value_or(batches.value_or(0)), memory.value_or(0)};
    } else if (batches) {
      // TEXT shows Disk Usage only once the aggregate spilled; JSON says 0.
      node.hash_aggregation = HashAggregation{*batches, memory.value_or(0), disk.value_or(0)};
    } else if (hits || misses) {
      node.memoize_cache = MemoizeCache{hits.value_or(0), misses.value_or(0), evictions.value_or(0),
                                        overflows.value_or(0), memory.value_or(0)};
    }
  }

  Plan plan_;
  bool have_root_ = false;
  bool saw_buffers_ = false;
  std::vector<Open> open_;
  Block block_ = Block::none;
  std::optional<int> skip_deeper_than_;
  int block_indent_ = 0;
  int line_number_ = 0;
};

}  // namespace

Plan parse_explain_text(std::string_view text) {
  TextPlanReader reader;
  for (const SourceLine& line : detail::strip_psql_decorations(text).lines) reader.read(line);
  return reader.finish();
}

}  // namespace dbopt::plan
