#include "tools/explain_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "tools/byte_size.h"

namespace dbopt::tools::explain {
namespace {

// The markdown stays within one screen: what does not fit is in the
// structured content, and the markdown says so.
constexpr std::size_t kFindingsShown = 5;
constexpr std::size_t kTopNodes = 5;
constexpr std::size_t kOutlineLines = 10;

std::string printf_string(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

std::string with_thousands(std::string_view digits) {
  std::string out;
  if (!digits.empty() && digits[0] == '-') {
    out += '-';
    digits.remove_prefix(1);
  }
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string format_count(double value) { return with_thousands(printf_string("%.0f", value)); }

std::string format_cost(double value) {
  const std::string fixed = printf_string("%.2f", value);
  const std::size_t dot = fixed.find('.');
  return with_thousands(fixed.substr(0, dot)) + fixed.substr(dot);
}

std::string format_ms(double ms) {
  if (ms >= 1000) return printf_string("%.2f s", ms / 1000);
  if (ms >= 10) return printf_string("%.1f ms", ms);
  return printf_string("%.3f ms", ms);
}

std::string format_share(double share) {
  if (share > 0 && share < 0.001) return "<0.1%";
  return printf_string("%.1f%%", share * 100);
}

// Markdown table cells end at a '|' and break at a newline.
std::string cell(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string indent(const std::string& text, const std::string& prefix) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    if (!line.empty()) out += prefix;
    out.append(line);
    out += '\n';
    start = end + 1;
  }
  return out;
}

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\n");
  if (first == std::string_view::npos) return "";
  const auto last = text.find_last_not_of(" \t\n");
  return std::string(text.substr(first, last - first + 1));
}

// The part of a rule's fix a person pastes: the first SQL block, with the
// sentence that introduces it. The whole fix (Django, caveats) stays in the
// structured content.
std::string fix_excerpt(const std::string& fix) {
  const std::size_t block = fix.find("```sql");
  if (block == std::string::npos) {
    const std::size_t paragraph_end = fix.find("\n\n");
    std::string first = trim(fix.substr(0, paragraph_end));
    if (first.size() > 400) first = first.substr(0, 400) + " ...";
    return first + "\n";
  }
  std::size_t block_end = fix.find("\n```", block + 6);
  block_end = block_end == std::string::npos ? fix.size() : block_end + 4;
  std::string lead = trim(fix.substr(0, block));
  const std::size_t paragraph = lead.rfind("\n\n");
  if (paragraph != std::string::npos) lead = trim(lead.substr(paragraph));
  std::string out;
  if (!lead.empty() && lead.back() == ':' && lead.size() <= 200) out = lead + "\n\n";
  out += fix.substr(block, block_end - block) + "\n";
  return out;
}

bool timed(const AnalysedPlan& p) {
  return std::any_of(p.metrics.nodes.begin(), p.metrics.nodes.end(),
                     [](const plan::NodeMetrics& m) { return m.exclusive_time_ms.has_value(); });
}

std::optional<double> root_cost(const AnalysedPlan& p) {
  if (!p.plan->root.estimates) return std::nullopt;
  return p.plan->root.estimates->total_cost;
}

// Node ids, most expensive first: by exclusive time when the plan was timed,
// else by the planner's exclusive cost.
std::vector<std::size_t> ranked_nodes(const AnalysedPlan& p) {
  std::vector<std::size_t> ids(p.metrics.nodes.size());
  std::iota(ids.begin(), ids.end(), 0);
  const bool by_time = timed(p);
  auto weight = [&](std::size_t id) {
    return by_time ? p.metrics.nodes[id].exclusive_time_ms.value_or(0) : p.metrics.nodes[id].exclusive_cost.value_or(0);
  };
  std::stable_sort(ids.begin(), ids.end(), [&](std::size_t a, std::size_t b) { return weight(a) > weight(b); });
  while (!ids.empty() && weight(ids.back()) <= 0) ids.pop_back();
  if (ids.size() > kTopNodes) ids.resize(kTopNodes);
  return ids;
}

std::optional<double> node_share(const AnalysedPlan& p, std::size_t id) {
  if (timed(p)) return p.metrics.nodes[id].exclusive_time_share;
  const auto& cost = p.metrics.nodes[id].exclusive_cost;
  if (!cost || p.metrics.summed_exclusive_cost <= 0) return std::nullopt;
  return std::clamp(*cost / p.metrics.summed_exclusive_cost, 0.0, 1.0);
}

Json node_json(const AnalysedPlan& p, std::size_t id) {
  const plan::NodeMetrics& m = p.metrics.nodes[id];
  const plan::PlanNode& node = *p.metrics.plan_nodes[id];
  Json j = {{"id", id}, {"label", m.label}, {"node_type", node.node_type}};
  if (node.relation_name) j["relation"] = *node.relation_name;
  if (m.exclusive_time_ms) j["exclusive_time_ms"] = *m.exclusive_time_ms;
  if (m.inclusive_time_ms) j["inclusive_time_ms"] = *m.inclusive_time_ms;
  if (const auto share = node_share(p, id)) j["share"] = *share;
  if (const auto& cost = p.metrics.nodes[id].exclusive_cost) j["exclusive_cost"] = *cost;
  if (node.estimates) {
    j["total_cost"] = node.estimates->total_cost;
    j["planned_rows"] = node.estimates->rows;
  }
  if (m.actual_rows_total) j["actual_rows"] = *m.actual_rows_total;
  if (node.actuals) j["loops"] = node.actuals->loops;
  if (node.index_cond) j["index_cond"] = *node.index_cond;
  if (node.recheck_cond) j["recheck_cond"] = *node.recheck_cond;
  if (node.filter) j["filter"] = *node.filter;
  if (node.hash_cond) j["hash_cond"] = *node.hash_cond;
  if (node.join_filter) j["join_filter"] = *node.join_filter;
  return j;
}

Json plan_summary_json(const AnalysedPlan& p, bool generic_plan) {
  const plan::Plan& plan = *p.plan;
  Json j = {{"analyzed", plan.analyzed},
            {"generic_plan", generic_plan},
            {"node_count", p.metrics.nodes.size()},
            {"ranked_by", timed(p) ? "exclusive_time" : "exclusive_cost"}};
  if (const auto cost = root_cost(p)) j["total_cost"] = *cost;
  if (plan.planning_time_ms) j["planning_time_ms"] = *plan.planning_time_ms;
  if (plan.execution_time_ms) j["execution_time_ms"] = *plan.execution_time_ms;
  if (p.metrics.total_time_ms) j["total_time_ms"] = *p.metrics.total_time_ms;
  if (p.metrics.jit_time_ms) j["jit_time_ms"] = *p.metrics.jit_time_ms;
  Json top = Json::array();
  for (std::size_t id : ranked_nodes(p)) top.push_back(node_json(p, id));
  if (!top.empty()) j["slowest_part"] = top[0]["label"];
  j["top_nodes"] = std::move(top);
  Json settings = Json::object();
  for (const auto& [name, value] : plan.settings) settings[name] = value;
  j["settings"] = std::move(settings);
  return j;
}

// The plan tree as short lines, for the before/after table.
std::vector<std::string> outline(const AnalysedPlan& p) {
  std::vector<std::string> lines;
  for (std::size_t id = 0; id < p.metrics.nodes.size(); ++id) {
    if (lines.size() == kOutlineLines) {
      lines.push_back("... " + std::to_string(p.metrics.nodes.size() - id) + " more nodes");
      break;
    }
    const plan::PlanNode& node = *p.metrics.plan_nodes[id];
    std::string line(static_cast<std::size_t>(p.metrics.nodes[id].depth) * 2, ' ');
    line += plan::describe(node);
    if (node.estimates) line += " (cost " + format_cost(node.estimates->total_cost) + ")";
    lines.push_back(std::move(line));
  }
  return lines;
}

Json finding_json(const knowledge::Finding& f) {
  Json where = {{"description", f.where.describe()}};
  if (f.where.plan_node_id) where["plan_node_id"] = *f.where.plan_node_id;
  if (!f.where.plan_node_label.empty()) where["plan_node"] = f.where.plan_node_label;
  if (!f.where.clause.empty()) where["clause"] = f.where.clause;
  if (!f.where.table.empty()) where["table"] = f.where.table;
  if (!f.where.column.empty()) where["column"] = f.where.column;
  if (!f.where.text.empty()) where["text"] = f.where.text;
  Json numbers = Json::object();
  Json facts = Json::object();
  for (const auto& [name, value] : f.facts) facts[name] = value;
  for (const auto& [name, value] : f.numbers) {
    // JSON has no infinity (a misestimate against zero rows is infinite).
    if (std::isfinite(value)) {
      numbers[name] = value;
    } else if (std::isinf(value)) {
      facts[name] = value > 0 ? "infinite" : "-infinite";
    }
  }
  Json j = {{"rule_id", f.rule_id},
            {"title", f.title},
            {"severity", knowledge::to_string(f.severity)},
            {"category", knowledge::to_string(f.category)},
            {"evidence", knowledge::to_string(f.source)},
            {"where", std::move(where)},
            {"summary", f.summary},
            {"fix", f.fix},
            {"numbers", std::move(numbers)},
            {"facts", std::move(facts)},
            {"rule_resource", "dbopt://knowledge/rules/" + f.rule_id}};
  if (f.saving_share) j["saving_share"] = *f.saving_share;
  return j;
}

knowledge::EvidenceSource report_evidence(const ExplainReport& r) {
  if (r.plan == nullptr) return knowledge::EvidenceSource::inferred;
  return r.plan->plan->analyzed ? knowledge::EvidenceSource::measured : knowledge::EvidenceSource::estimated;
}

std::string quoted_database(const ExplainReport& r) { return "`" + r.database + "`"; }

std::string heading(const ExplainReport& r) {
  switch (r.mode) {
    case Mode::pasted_plan:
      return "## explain_query: pasted plan (offline)";
    case Mode::text_only:
      return "## explain_query: SQL text only";
    case Mode::live_explain:
      return "## explain_query: EXPLAIN on " + quoted_database(r);
    case Mode::live_explain_analyze:
      return "## explain_query: EXPLAIN ANALYZE on " + quoted_database(r);
    case Mode::hypothetical_indexes:
      return "## explain_query: hypothetical indexes on " + quoted_database(r);
  }
  return "## explain_query";
}

std::string mode_line(const ExplainReport& r) {
  std::string line;
  switch (r.mode) {
    case Mode::pasted_plan:
      line = r.plan->plan->analyzed
                 ? "Read the plan you pasted; nothing ran on a database. Its figures were measured by EXPLAIN ANALYZE."
                 : "Read the plan you pasted; nothing ran on a database. It has no ANALYZE figures, so every number is "
                   "the planner's estimate.";
      break;
    case Mode::text_only:
      line =
          "No database is configured and no plan was given, so dbopt read the SQL text alone: every finding is "
          "inferred from the text. For measured advice paste `EXPLAIN (ANALYZE, BUFFERS)` output as `plan`, or "
          "configure a database (DATABASE_URL).";
      break;
    case Mode::live_explain:
      line = "Planner estimates from EXPLAIN (the query did not run).";
      break;
    case Mode::live_explain_analyze:
      line = "The query ran once inside a transaction that was rolled back; the figures are measured.";
      break;
    case Mode::hypothetical_indexes:
      line =
          "HypoPG indexes exist only for the planner: nothing was built, and the costs before and after are "
          "estimates.";
      break;
  }
  if (r.generic_plan)
    line +=
        " Generic plan: the query has $1..$n placeholders and no params, so PostgreSQL planned it for any "
        "values (as a prepared statement's generic plan).";
  if (r.parameters_bound) line += " The params were sent as bound parameters; the plan is the one for their values.";
  return line;
}

std::string slowest_part_line(const ExplainReport& r) {
  if (r.plan == nullptr) return "";
  const AnalysedPlan& p = *r.plan;
  const auto ranked = ranked_nodes(p);
  if (ranked.empty()) return "";
  const std::size_t id = ranked.front();
  const plan::NodeMetrics& m = p.metrics.nodes[id];
  const auto share = node_share(p, id);
  if (timed(p)) {
    std::string line = "**Slowest part:** " + m.label + ": " + format_ms(*m.exclusive_time_ms) + " of its own";
    if (share && p.metrics.total_time_ms) {
      // Shares are of the larger of the run and the nodes' summed times (plan_metrics.cc).
      if (p.metrics.summed_exclusive_time_ms > *p.metrics.total_time_ms)
        line += ", " + format_share(*share) + " of the " + format_ms(p.metrics.summed_exclusive_time_ms) +
                " the nodes' own times add up to";
      else
        line += ", " + format_share(*share) + " of the " + format_ms(*p.metrics.total_time_ms) + " run";
    }
    return line + ".";
  }
  std::string line = "**Most expensive part (planner's estimate):** " + m.label + ": cost " +
                     format_cost(*p.metrics.nodes[id].exclusive_cost) + " of its own";
  if (share) line += ", " + format_share(*share) + " of the plan's cost";
  return line + ".";
}

void render_findings(const ExplainReport& r, std::string& md) {
  if (r.findings.empty()) {
    md += "\n### Findings\n\nNo rule fired";
    md += r.plan ? " on this plan" : " on this SQL text";
    md += r.query && r.plan ? " or its SQL text.\n" : ".\n";
    return;
  }
  md += "\n### Findings (" + std::to_string(r.findings.size()) + ")\n\n";
  for (std::size_t i = 0; i < r.findings.size() && i < kFindingsShown; ++i) {
    const knowledge::Finding& f = r.findings[i];
    md += std::to_string(i + 1) + ". **" + f.title + "** (" + knowledge::to_string(f.severity) + ", " +
          knowledge::to_string(f.source) + ", `" + f.rule_id + "`) at " + f.where.describe() + "\n";
    md += indent(f.summary, "   ");
    md += "\n" + indent(fix_excerpt(f.fix), "   ");
    md += "\n";
  }
  if (r.findings.size() > kFindingsShown)
    md += "... and " + std::to_string(r.findings.size() - kFindingsShown) +
          " more findings in the structured result (`findings`).\n";
  md +=
      "Each rule's full fix (Django, caveats, references) is in `findings[].fix` and at "
      "`dbopt://knowledge/rules/{rule_id}`.\n";
}

void render_hypothetical(const HypotheticalComparison& h, std::string& md) {
  md += "\n### Before and after (HypoPG, planner estimates)\n\n";
  const auto before = root_cost(h.before);
  const auto after = root_cost(h.after);
  md += "| | before | after |\n|---|---|---|\n";
  if (before && after) {
    std::string change = *before > 0 ? " (" + printf_string("%+.1f%%", (*after / *before - 1) * 100) + ")" : "";
    md += "| total cost | " + format_cost(*before) + " | " + format_cost(*after) + change + " |\n";
  }
  const auto lines_before = outline(h.before);
  const auto lines_after = outline(h.after);
  for (std::size_t i = 0; i < std::max(lines_before.size(), lines_after.size()); ++i) {
    auto code = [](const std::vector<std::string>& lines, std::size_t at) {
      if (at >= lines.size()) return std::string();
      // Leading blanks vanish in a table cell; non-breaking spaces keep the tree's shape.
      std::string text = lines[at];
      std::string lead;
      std::size_t blanks = 0;
      while (blanks < text.size() && text[blanks] == ' ') {
        lead += "\u00a0";
        ++blanks;
      }
      return lead + "`" + cell(text.substr(blanks)) + "`";
    };
    md += std::string("| ") + (i == 0 ? "plan" : "") + " | " + code(lines_before, i) + " | " + code(lines_after, i) +
          " |\n";
  }
  md += "\n| hypothetical index | table | estimated size | used by the plan |\n|---|---|---|---|\n";
  for (const auto& outcome : h.indexes) {
    md += "| `" + cell(outcome.index.definition.empty() ? outcome.statement : outcome.index.definition) + "` | " +
          cell(outcome.index.table) + " | " + byte_size_text(outcome.index.estimated_size_bytes) + " | " +
          (outcome.used ? "yes" : "no") + " |\n";
  }
}

void render_evidence(const ExplainReport& r, std::string& md) {
  if (r.plan == nullptr) return;
  const AnalysedPlan& p = *r.plan;
  const plan::Plan& plan = *p.plan;
  const auto ranked = ranked_nodes(p);
  md += std::string("\n### Evidence (") + (plan.analyzed ? "measured" : "planner estimates") + ")\n\n";
  if (!ranked.empty()) {
    if (timed(p)) {
      md += "| node | own time | share | rows actual / planned | loops |\n|---|---:|---:|---:|---:|\n";
      for (std::size_t id : ranked) {
        const plan::NodeMetrics& m = p.metrics.nodes[id];
        const plan::PlanNode& node = *p.metrics.plan_nodes[id];
        const auto share = node_share(p, id);
        md += "| " + cell(m.label) + " | " + format_ms(m.exclusive_time_ms.value_or(0)) + " | " +
              (share ? format_share(*share) : "") + " | " + format_count(m.actual_rows_total.value_or(0)) + " / " +
              format_count(m.planned_rows_total.value_or(0)) + " | " +
              format_count(node.actuals ? node.actuals->loops : 0) + " |\n";
      }
    } else {
      md += "| node | own cost | share of cost | planned rows |\n|---|---:|---:|---:|\n";
      for (std::size_t id : ranked) {
        const plan::PlanNode& node = *p.metrics.plan_nodes[id];
        const auto share = node_share(p, id);
        md += "| " + cell(p.metrics.nodes[id].label) + " | " +
              format_cost(p.metrics.nodes[id].exclusive_cost.value_or(0)) + " | " +
              (share ? format_share(*share) : "") + " | " + format_count(node.estimates ? node.estimates->rows : 0) +
              " |\n";
      }
    }
    md += "\n";
  }
  std::vector<std::string> facts;
  if (const auto cost = root_cost(p)) facts.push_back("total cost " + format_cost(*cost));
  if (plan.planning_time_ms) facts.push_back("planning " + format_ms(*plan.planning_time_ms));
  if (plan.execution_time_ms) facts.push_back("execution " + format_ms(*plan.execution_time_ms));
  if (p.metrics.jit_time_ms) facts.push_back("JIT " + format_ms(*p.metrics.jit_time_ms));
  facts.push_back(std::to_string(p.metrics.nodes.size()) + (p.metrics.nodes.size() == 1 ? " node" : " nodes"));
  if (!plan.settings.empty()) {
    std::string settings = "settings: ";
    bool first = true;
    for (const auto& [name, value] : plan.settings) {
      settings += (first ? "" : ", ") + name + " = " + value;
      first = false;
    }
    facts.push_back(settings);
  }
  for (std::size_t i = 0; i < facts.size(); ++i) md += (i ? " · " : "") + facts[i];
  md += "\n";
}

void render_schema(const SchemaSummary& s, std::string& md) {
  md += "\n### Schema you gave (" + std::to_string(s.statements) + " statements)\n\n";
  if (s.indexes_on_query_tables.empty()) {
    md += "No CREATE INDEX on the query's tables.\n";
  } else {
    md += "Indexes on the query's tables (compare them with the fixes above):\n\n";
    for (const auto& index : s.indexes_on_query_tables) md += "- `" + index + "`\n";
  }
  if (!s.query_tables_not_defined.empty()) {
    md += "\nNot defined in the schema: ";
    for (std::size_t i = 0; i < s.query_tables_not_defined.size(); ++i)
      md += (i ? ", " : "") + std::string("`") + s.query_tables_not_defined[i] + "`";
    md += ".\n";
  }
}

Json query_json(const ExplainReport& r) {
  Json tables = Json::array();
  for (const auto& t : r.query->tables) {
    if (t.is_cte) continue;
    const std::string name = t.schema.empty() ? t.name : t.schema + "." + t.name;
    if (std::find(tables.begin(), tables.end(), name) == tables.end()) tables.push_back(name);
  }
  return {{"kind", sql::to_string(r.query->kind)},
          {"fingerprint", r.query_fingerprint},
          {"parameter_count", r.query->parameter_count},
          {"tables", std::move(tables)}};
}

}  // namespace

const char* to_string(Mode mode) {
  switch (mode) {
    case Mode::pasted_plan:
      return "pasted_plan";
    case Mode::text_only:
      return "text_only";
    case Mode::live_explain:
      return "explain";
    case Mode::live_explain_analyze:
      return "explain_analyze";
    case Mode::hypothetical_indexes:
      return "hypothetical_indexes";
  }
  return "text_only";
}

AnalysedPlan analyse_plan(plan::Plan plan) {
  AnalysedPlan out;
  out.plan = std::make_unique<const plan::Plan>(std::move(plan));
  out.metrics = plan::derive_metrics(*out.plan);
  return out;
}

ToolResult render(const ExplainReport& r) {
  ToolResult result;
  Json& j = result.structured;
  j["mode"] = to_string(r.mode);
  if (!r.database.empty()) j["database"] = r.database;
  j["evidence"] = knowledge::to_string(report_evidence(r));
  Json findings = Json::array();
  for (const auto& f : r.findings) findings.push_back(finding_json(f));
  j["findings"] = std::move(findings);
  if (r.plan) j["plan_summary"] = plan_summary_json(*r.plan, r.generic_plan);
  if (r.query) j["query"] = query_json(r);
  if (r.hypothetical) {
    const HypotheticalComparison& h = *r.hypothetical;
    Json indexes = Json::array();
    for (const auto& o : h.indexes) {
      indexes.push_back({{"statement", o.statement},
                         {"definition", o.index.definition},
                         {"name", o.index.name},
                         {"table", o.index.table},
                         {"estimated_size_bytes", o.index.estimated_size_bytes},
                         {"used", o.used}});
    }
    Json hypothetical = {{"indexes", std::move(indexes)},
                         {"before", plan_summary_json(h.before, r.generic_plan)},
                         {"after", plan_summary_json(h.after, r.generic_plan)},
                         {"evidence", "estimated"}};
    const auto before = root_cost(h.before);
    const auto after = root_cost(h.after);
    if (before && after && *before > 0) hypothetical["cost_change_share"] = *after / *before - 1;
    hypothetical["before"]["outline"] = outline(h.before);
    hypothetical["after"]["outline"] = outline(h.after);
    j["hypothetical"] = std::move(hypothetical);
  }
  if (r.schema) {
    j["schema"] = {{"statements", r.schema->statements},
                   {"tables_defined", r.schema->tables_defined},
                   {"indexes_on_query_tables", r.schema->indexes_on_query_tables},
                   {"query_tables_not_defined", r.schema->query_tables_not_defined}};
  }
  j["notes"] = r.notes;

  std::string& md = result.markdown;
  md = heading(r) + "\n\n" + mode_line(r) + "\n";
  if (r.hypothetical) {
    const auto before = root_cost(r.hypothetical->before);
    const auto after = root_cost(r.hypothetical->after);
    if (before && after && *before > 0) {
      std::size_t used = 0;
      for (const auto& o : r.hypothetical->indexes) used += o.used ? 1 : 0;
      md += "\n**With the hypothetical indexes:** total cost " + format_cost(*before) + " -> " + format_cost(*after) +
            " (" + printf_string("%+.1f%%", (*after / *before - 1) * 100) + "); the plan uses " + std::to_string(used) +
            " of " + std::to_string(r.hypothetical->indexes.size()) + ".\n";
    }
  }
  if (const std::string slowest = slowest_part_line(r); !slowest.empty()) md += "\n" + slowest + "\n";
  render_findings(r, md);
  if (r.hypothetical) render_hypothetical(*r.hypothetical, md);
  render_evidence(r, md);
  if (r.schema) render_schema(*r.schema, md);
  if (!r.notes.empty()) {
    md += "\n";
    for (const auto& note : r.notes) md += "_Note:_ " + note + "\n";
  }
  return result;
}

static Json plan_summary_schema() {
  return Json::parse(R"json({
    "type": "object",
    "properties": {
      "analyzed": {"type": "boolean", "description": "EXPLAIN ANALYZE figures are present."},
      "generic_plan": {"type": "boolean"},
      "node_count": {"type": "integer", "minimum": 1},
      "ranked_by": {"type": "string", "enum": ["exclusive_time", "exclusive_cost"]},
      "total_cost": {"type": "number"},
      "planning_time_ms": {"type": "number"},
      "execution_time_ms": {"type": "number"},
      "total_time_ms": {"type": "number", "description": "What time shares are shares of."},
      "jit_time_ms": {"type": "number"},
      "slowest_part": {"type": "string"},
      "top_nodes": {
        "type": "array",
        "description": "Nodes by their own (exclusive) time, or by their own cost when nothing was timed.",
        "items": {
          "type": "object",
          "properties": {
            "id": {"type": "integer", "minimum": 0},
            "label": {"type": "string"},
            "node_type": {"type": "string"},
            "relation": {"type": "string"},
            "exclusive_time_ms": {"type": "number"},
            "inclusive_time_ms": {"type": "number"},
            "share": {"type": "number", "minimum": 0, "maximum": 1,
                      "description": "Of the run time when timed, else of the plan's summed own costs."},
            "exclusive_cost": {"type": "number"},
            "total_cost": {"type": "number"},
            "planned_rows": {"type": "number"},
            "actual_rows": {"type": "number"},
            "loops": {"type": "number"},
            "index_cond": {"type": "string"},
            "recheck_cond": {"type": "string"},
            "filter": {"type": "string"},
            "hash_cond": {"type": "string"},
            "join_filter": {"type": "string"}
          },
          "required": ["id", "label", "node_type"]
        }
      },
      "settings": {"type": "object", "additionalProperties": {"type": "string"}},
      "outline": {"type": "array", "items": {"type": "string"}}
    },
    "required": ["analyzed", "generic_plan", "node_count", "ranked_by", "top_nodes", "settings"]
  })json");
}

Json output_schema() {
  Json schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "mode": {"type": "string", "enum": ["pasted_plan", "text_only", "explain", "explain_analyze", "hypothetical_indexes"],
               "description": "What dbopt did: read a pasted plan, read the SQL text only, ran EXPLAIN, ran EXPLAIN ANALYZE (rolled back), or compared plans with HypoPG indexes."},
      "database": {"type": "string", "description": "The configured database the live modes used."},
      "evidence": {"type": "string", "enum": ["measured", "estimated", "inferred"],
                   "description": "What the plan figures rest on: EXPLAIN ANALYZE, the planner's estimates, or the SQL text alone."},
      "findings": {
        "type": "array",
        "description": "Most to gain first: share of run time the fix could save, then severity.",
        "items": {
          "type": "object",
          "properties": {
            "rule_id": {"type": "string"},
            "title": {"type": "string"},
            "severity": {"type": "string", "enum": ["info", "low", "medium", "high", "critical"]},
            "category": {"type": "string"},
            "evidence": {"type": "string", "enum": ["measured", "estimated", "inferred"]},
            "where": {
              "type": "object",
              "properties": {
                "description": {"type": "string"},
                "plan_node_id": {"type": "integer", "minimum": 0},
                "plan_node": {"type": "string"},
                "clause": {"type": "string"},
                "table": {"type": "string"},
                "column": {"type": "string"},
                "text": {"type": "string"}
              },
              "required": ["description"]
            },
            "summary": {"type": "string"},
            "fix": {"type": "string", "description": "Markdown with the SQL (and Django) to apply."},
            "numbers": {"type": "object", "additionalProperties": {"type": "number"}},
            "facts": {"type": "object", "additionalProperties": {"type": "string"}},
            "saving_share": {"type": "number", "minimum": 0, "maximum": 1},
            "rule_resource": {"type": "string"}
          },
          "required": ["rule_id", "title", "severity", "evidence", "where", "summary", "fix", "numbers", "facts"]
        }
      },
      "plan_summary": null,
      "query": {
        "type": "object",
        "properties": {
          "kind": {"type": "string"},
          "fingerprint": {"type": "string"},
          "parameter_count": {"type": "integer", "minimum": 0},
          "tables": {"type": "array", "items": {"type": "string"}}
        },
        "required": ["kind", "fingerprint", "parameter_count", "tables"]
      },
      "hypothetical": {
        "type": "object",
        "properties": {
          "indexes": {
            "type": "array",
            "items": {
              "type": "object",
              "properties": {
                "statement": {"type": "string"},
                "definition": {"type": "string"},
                "name": {"type": "string"},
                "table": {"type": "string"},
                "estimated_size_bytes": {"type": "integer"},
                "used": {"type": "boolean"}
              },
              "required": ["statement", "definition", "name", "table", "estimated_size_bytes", "used"]
            }
          },
          "before": null,
          "after": null,
          "cost_change_share": {"type": "number", "description": "after / before - 1: -0.9 is a 90% lower cost."},
          "evidence": {"type": "string", "enum": ["estimated"]}
        },
        "required": ["indexes", "before", "after", "evidence"]
      },
      "schema": {
        "type": "object",
        "properties": {
          "statements": {"type": "integer", "minimum": 0},
          "tables_defined": {"type": "array", "items": {"type": "string"}},
          "indexes_on_query_tables": {"type": "array", "items": {"type": "string"}},
          "query_tables_not_defined": {"type": "array", "items": {"type": "string"}}
        },
        "required": ["statements", "tables_defined", "indexes_on_query_tables", "query_tables_not_defined"]
      },
      "notes": {"type": "array", "items": {"type": "string"}}
    },
    "required": ["mode", "evidence", "findings", "notes"]
  })json");
  const Json plan_summary = plan_summary_schema();
  schema["properties"]["plan_summary"] = plan_summary;
  schema["properties"]["hypothetical"]["properties"]["before"] = plan_summary;
  schema["properties"]["hypothetical"]["properties"]["after"] = plan_summary;
  return schema;
}

}  // namespace dbopt::tools::explain
