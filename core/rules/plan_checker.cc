#include "core/rules/plan_checker.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <set>

#include "core/common/error.h"
#include "core/rules/finding_draft.h"
#include "core/rules/plan_conditions.h"

namespace dbopt::rules {
namespace {

using detail::ConditionTerm;
using detail::FindingDraft;
using detail::IndexKey;
using detail::TermKind;
using knowledge::EvidenceSource;
using knowledge::Finding;
using knowledge::Rule;
using plan::NodeMetrics;
using plan::PlanNode;

bool is_join(const PlanNode& node) {
  return node.node_type == "Nested Loop" || node.node_type == "Hash Join" || node.node_type == "Merge Join";
}

bool is_table_scan(const PlanNode& node) {
  return node.node_type == "Seq Scan" || node.node_type == "Index Scan" || node.node_type == "Index Only Scan" ||
         node.node_type == "Bitmap Heap Scan";
}

bool runs_inside_parent(const PlanNode& node) {
  return node.parent_relationship == "InitPlan" || node.parent_relationship == "SubPlan";
}

std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// Everything a check needs to read the plan, plus the findings so far.
class PlanContext {
 public:
  PlanContext(const plan::Plan& plan, const plan::PlanMetrics& metrics, const TableSizes& tables)
      : plan_(plan), metrics_(metrics), tables_(tables) {}

  std::size_t size() const { return metrics_.nodes.size(); }
  const PlanNode& node(std::size_t id) const { return *metrics_.plan_nodes[id]; }
  const NodeMetrics& metrics(std::size_t id) const { return metrics_.nodes[id]; }
  const plan::Plan& plan() const { return plan_; }
  const plan::PlanMetrics& plan_metrics() const { return metrics_; }

  EvidenceSource source() const { return plan_.analyzed ? EvidenceSource::measured : EvidenceSource::estimated; }

  bool ran(std::size_t id) const {
    const PlanNode& n = node(id);
    return n.actuals.has_value() && !n.never_executed && n.actuals->loops > 0;
  }

  // The first child introduced as `relationship` ("Outer", "Inner").
  std::optional<std::size_t> child(std::size_t id, std::string_view relationship) const {
    for (std::size_t c : metrics(id).children) {
      if (node(c).parent_relationship == relationship) return c;
    }
    return std::nullopt;
  }

  // The first child that is part of the node's own data flow (not an InitPlan / SubPlan).
  std::optional<std::size_t> first_input(std::size_t id) const {
    for (std::size_t c : metrics(id).children) {
      if (!runs_inside_parent(node(c))) return c;
    }
    return std::nullopt;
  }

  bool any_ancestor(std::size_t id, const std::function<bool(std::size_t)>& test) const {
    for (auto p = metrics(id).parent; p; p = metrics(*p).parent) {
      if (test(*p)) return true;
    }
    return false;
  }

  // The table a node reads: itself, else the first scan in its own data flow.
  std::optional<std::size_t> relation_node(std::size_t id) const {
    if (node(id).relation_name) return id;
    for (std::size_t c : metrics(id).children) {
      if (runs_inside_parent(node(c))) continue;
      if (auto found = relation_node(c)) return found;
    }
    return std::nullopt;
  }

  std::string table_name(std::optional<std::size_t> scan, std::string fallback = "the table") const {
    if (!scan) return fallback;
    const PlanNode& n = node(*scan);
    return detail::qualified_name(n.schema.value_or(""), n.relation_name.value_or(""));
  }

  std::optional<double> inclusive_share(std::size_t id) const {
    const auto& time = metrics(id).inclusive_time_ms;
    const auto& total = metrics_.total_time_ms;
    if (!time || !total || *total <= 0) return std::nullopt;
    return std::clamp(*time / *total, 0.0, 1.0);
  }

  // The catalog's size of the table a scan reads, when the caller read it.
  std::optional<TableSize> table_size(std::size_t id) const {
    const PlanNode& n = node(id);
    if (!n.relation_name) return std::nullopt;
    for (const std::string& key : {n.schema ? *n.schema + "." + *n.relation_name : std::string(), *n.relation_name}) {
      if (const auto it = tables_.find(key); !key.empty() && it != tables_.end()) return it->second;
    }
    return std::nullopt;
  }

  // The planner's cost of the node as a share of the plan's: what an estimated fix could save.
  std::optional<double> cost_share(std::size_t id) const {
    const auto& cost = metrics(id).exclusive_cost;
    if (!cost || metrics_.summed_exclusive_cost <= 0) return std::nullopt;
    return std::clamp(*cost / metrics_.summed_exclusive_cost, 0.0, 1.0);
  }

  // track_io_timing is on: the Settings section says so (dbopt adds the live
  // SHOW to it), or the plan carries I/O timings, which only it produces.
  bool io_timing_on() const {
    if (setting("track_io_timing", "") == "on") return true;
    return std::any_of(metrics_.nodes.begin(), metrics_.nodes.end(), [](const NodeMetrics& m) {
      return m.exclusive_buffers.io_read_time_ms > 0 || m.exclusive_buffers.io_write_time_ms > 0;
    });
  }

  std::string setting(const std::string& name, std::string fallback) const {
    const auto it = plan_.settings.find(name);
    return it == plan_.settings.end() ? std::move(fallback) : it->second;
  }

  // A draft located at the node, with the values every plan template may use.
  FindingDraft draft(const Rule& rule, std::size_t id) const {
    const NodeMetrics& m = metrics(id);
    FindingDraft draft(rule, source());
    knowledge::Location where;
    where.plan_node_id = id;
    where.plan_node_label = m.label;
    if (node(id).relation_name) where.table = *node(id).relation_name;
    draft.at(where).saving(m.exclusive_time_share).text("node", plan::describe(node(id)));
    if (m.exclusive_time_ms) {
      draft.ms("time", *m.exclusive_time_ms);
    } else {
      draft.text("time", "time not measured");
    }
    if (m.exclusive_time_share) {
      draft.share("time_share", *m.exclusive_time_share);
    } else {
      draft.text("time_share", "an unmeasured share");
    }
    return draft;
  }

  // Nodes already reported as the outer side of a misestimated nested loop,
  // so the general misestimate rule does not report them twice.
  std::set<std::size_t> misestimated_outer;

 private:
  const plan::Plan& plan_;
  const plan::PlanMetrics& metrics_;
  const TableSizes& tables_;
};

// Does the term constrain the table that `scan` reads?
bool term_on(const ConditionTerm& term, const PlanNode& scan) {
  if (term.column.empty()) return false;
  return term.qualifier.empty() || term.qualifier == scan.alias.value_or("") ||
         term.qualifier == scan.relation_name.value_or("");
}

void add_key(std::vector<IndexKey>& keys, IndexKey key) {
  for (const auto& existing : keys) {
    if (existing.column == key.column && existing.expression == key.expression) return;
  }
  keys.push_back(std::move(key));
}

// Index keys for the conditions on `scan`: equality columns first, then
// ranges, then LIKE patterns (pganalyze's order); join terms (column = other
// table's column) count as equality when include_join_terms.
std::vector<IndexKey> index_keys(const std::vector<ConditionTerm>& terms, const PlanNode& scan,
                                 bool include_join_terms) {
  std::vector<IndexKey> keys;
  for (TermKind kind : {TermKind::equality, TermKind::range, TermKind::pattern}) {
    for (const auto& term : terms) {
      if (term.kind != kind || term.in_or || !term_on(term, scan)) continue;
      if (!term.other_column.empty() && !include_join_terms) continue;
      add_key(keys, {term.column, "", ""});
    }
  }
  if (keys.empty()) {
    for (const auto& term : terms) {
      if (!term_on(term, scan) || (!term.other_column.empty() && !include_join_terms)) continue;
      if (!term.expression.empty()) {
        add_key(keys, {"", "", term.expression});
      } else if (term.cast_type.empty()) {
        add_key(keys, {term.column, "", ""});
      }
    }
  }
  return keys;
}

// A scan under a top-N sort (Limit -> [Gather Merge] -> Sort -> scan) whose
// filter is all equalities: the sort's columns go after them, so the index
// returns the rows in order and the LIMIT stops early (customer_id = $1 ORDER
// BY created_at DESC LIMIT 10 -> (customer_id, created_at DESC)).
void add_top_n_sort_keys(const PlanContext& ctx, std::size_t scan, const std::vector<ConditionTerm>& terms,
                         std::vector<IndexKey>& keys) {
  if (keys.empty()) return;
  for (const auto& t : terms)
    if (t.in_or || t.kind != TermKind::equality || !t.other_column.empty()) return;
  const PlanNode* sort = nullptr;
  for (auto p = ctx.metrics(scan).parent; p; p = ctx.metrics(*p).parent) {
    const PlanNode& n = ctx.node(*p);
    if (n.node_type == "Sort" && !sort) {
      sort = &n;
    } else if (n.node_type == "Limit") {
      break;
    } else if (n.node_type != "Gather Merge" && n.node_type != "Gather") {
      return;  // a join, an aggregate, ...: the order is not the scan's
    }
    if (!ctx.metrics(*p).parent) return;  // no Limit above the sort
  }
  if (!sort) return;
  std::vector<IndexKey> order;
  for (const auto& key : sort->sort_key) {
    const std::string expr = key.substr(0, key.find(' '));
    std::string column = expr.substr(expr.rfind('.') == std::string::npos ? 0 : expr.rfind('.') + 1);
    if (column.empty() || !std::all_of(column.begin(), column.end(),
                                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }))
      return;  // an expression: leave the keys as the filter gives them
    order.push_back({column, key.find(' ') == std::string::npos ? "" : key.substr(key.find(' ') + 1), ""});
  }
  for (auto& k : order) add_key(keys, std::move(k));
}

std::vector<ConditionTerm> terms_of(const std::optional<std::string>& condition) {
  return condition ? detail::parse_condition(*condition) : std::vector<ConditionTerm>{};
}

void append(std::vector<ConditionTerm>& to, std::vector<ConditionTerm> from) {
  for (auto& term : from) to.push_back(std::move(term));
}

// Index suggestion values shared by several rules.
void add_index_advice(FindingDraft& draft, std::string_view bare_table, const std::vector<IndexKey>& keys,
                      const std::string& fallback_columns, std::string_view suffix = "idx") {
  const std::string name = detail::index_name(bare_table, keys, suffix);
  draft.text("index_name", name)
      .text("index_columns", keys.empty() ? fallback_columns : detail::index_key_list(keys))
      .text("django_index", keys.empty() ? "# list the indexed fields here" : detail::django_index(keys, name));
}

std::string bare_table(const PlanContext& ctx, std::optional<std::size_t> scan) {
  return scan ? ctx.node(*scan).relation_name.value_or("table") : "table";
}

// Columns for CREATE STATISTICS: needs two; otherwise a visible stand-in.
void add_statistics_advice(FindingDraft& draft, const PlanContext& ctx, std::optional<std::size_t> scan) {
  std::vector<std::string> columns;
  if (scan) {
    const PlanNode& n = ctx.node(*scan);
    std::vector<ConditionTerm> terms = terms_of(n.filter);
    append(terms, terms_of(n.index_cond));
    append(terms, terms_of(n.recheck_cond));
    for (const auto& term : terms) {
      if (!term_on(term, n) || !term.expression.empty() || !term.other_column.empty()) continue;
      if (std::find(columns.begin(), columns.end(), term.column) == columns.end()) columns.push_back(term.column);
    }
  }
  std::vector<IndexKey> keys;
  for (const auto& c : columns) keys.push_back({c, "", ""});
  const std::string table = bare_table(ctx, scan);
  draft.text("first_column", columns.empty() ? "<column>" : detail::quote_ident(columns.front()))
      .text("statistics_columns", columns.size() >= 2 ? detail::index_key_list(keys) : "<column_a>, <column_b>")
      .text("statistics_name", detail::index_name(table, keys, "stats"));
}

double hash_mem_multiplier(const PlanContext& ctx, const Rule& rule) {
  const std::string value = ctx.setting("hash_mem_multiplier", "");
  char* end = nullptr;
  const double parsed = value.empty() ? 0 : std::strtod(value.c_str(), &end);
  return parsed > 0 ? parsed : rule.threshold("default_hash_mem_multiplier");
}

std::string multiplier_text(double value) {
  std::string text = std::to_string(value);
  text.erase(text.find_last_not_of('0') + 1);
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

// --- the rules, one function each -------------------------------------------

void seq_scan_large_filter(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  const double min_scanned = rule.threshold("min_rows_scanned");
  const double min_share = rule.threshold("min_rows_removed_share");
  for (std::size_t id = 0; id < ctx.size(); ++id) {
    const PlanNode& n = ctx.node(id);
    const NodeMetrics& m = ctx.metrics(id);
    if (n.node_type != "Seq Scan" || !n.filter || !ctx.ran(id) || !m.filter_removal_share) continue;
    const double removed = m.rows_removed_by_filter_total;
    const double returned = m.actual_rows_total.value_or(0);
    if (removed + returned < min_scanned || *m.filter_removal_share < min_share) continue;
    const auto terms = detail::parse_condition(*n.filter);
    auto keys = index_keys(terms, n, false);
    add_top_n_sort_keys(ctx, id, terms, keys);
    FindingDraft draft = ctx.draft(rule, id);
    draft.fact("table", ctx.table_name(id))
        .fact("filter", *n.filter)
        .count("rows_scanned", removed + returned)
        .count("rows_returned", returned)
        .share("removed_share", *m.filter_removal_share);
    add_index_advice(draft, bare_table(ctx, id), keys, "<the columns in " + *n.filter + ">");
    out.push_back(draft.emit());
  }
}

// The rows a parallel-aware node's estimate stands for: EXPLAIN prints them
// per process, PostgreSQL's divisor is the workers plus the leader's share
// (1 - 0.3 per worker, parallel_leader_participation on).
double estimated_rows_all_processes(const PlanContext& ctx, std::size_t id) {
  const double rows = ctx.node(id).estimates->rows;
  if (!ctx.node(id).parallel_aware) return rows;
  for (auto p = ctx.metrics(id).parent; p; p = ctx.metrics(*p).parent) {
    if (const auto& workers = ctx.node(*p).workers_planned) {
      const double w = static_cast<double>(*workers);
      return rows * (w + std::max(0.0, 1.0 - 0.3 * w));
    }
  }
  return rows;
}

// Without ANALYZE there are no removed rows to count; the catalog says how
// big the table is, the estimate how few rows the filter keeps.
void selective_scan_estimated(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  if (ctx.plan().analyzed) return;  // PLAN_SEQ_SCAN_LARGE_FILTER reads the measured rows
  const double min_rows = rule.threshold("min_table_rows");
  const double max_share = rule.threshold("max_selected_share");
  for (std::size_t id = 0; id < ctx.size(); ++id) {
    const PlanNode& n = ctx.node(id);
    if (n.node_type != "Seq Scan" || !n.filter || !n.estimates) continue;
    const auto size = ctx.table_size(id);
    if (!size || size->rows < min_rows) continue;
    const double returned = estimated_rows_all_processes(ctx, id);
    const double share = returned / size->rows;
    if (share > max_share) continue;
    const auto terms = detail::parse_condition(*n.filter);
    auto keys = index_keys(terms, n, false);
    add_top_n_sort_keys(ctx, id, terms, keys);
    FindingDraft draft = ctx.draft(rule, id);
    draft.saving(ctx.cost_share(id))
        .fact("table", ctx.table_name(id))
        .fact("filter", *n.filter)
        .count("table_rows", size->rows)
        .count("table_pages", size->pages)
        .kb("table_size", size->pages * 8)
        .count("rows_returned", returned)
        .share("selected_share", share);
    add_index_advice(draft, bare_table(ctx, id), keys, "<the columns in " + *n.filter + ">");
    out.push_back(draft.emit());
  }
}

void index_filter_discards_rows(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  const double min_removed = rule.threshold("min_rows_removed");
  const double min_share = rule.threshold("min_rows_removed_share");
  for (std::size_t id = 0; id < ctx.size(); ++id) {
    const PlanNode& n = ctx.node(id);
    const NodeMetrics& m = ctx.metrics(id);
    const bool index_driven =
        n.node_type == "Index Scan" || n.node_type == "Index Only Scan" || n.node_type == "Bitmap Heap Scan";
    if (!index_driven || !n.filter || !ctx.ran(id) || !m.filter_removal_share) continue;
    if (m.rows_removed_by_filter_total < min_removed || *m.filter_removal_share < min_share) continue;
    const std::string index_condition = n.index_cond.value_or(n.recheck_cond.value_or("the index condition"));
    std::string current_index = n.index_name.value_or("");
    for (std::size_t c : ctx.metrics(id).children) {
      if (current_index.empty() && ctx.node(c).index_name) current_index = *ctx.node(c).index_name;
    }
    std::vector<ConditionTerm> terms = terms_of(n.index_cond ? n.index_cond : n.recheck_cond);
    auto keys = index_keys(terms, n, true);
    for (auto& key : index_keys(detail::parse_condition(*n.filter), n, false)) add_key(keys, key);
    FindingDraft draft = ctx.draft(rule, id);
    draft.fact("table", ctx.table_name(id))
        .fact("filter", *n.filter)
        .fact("index_condition", index_condition)
        .text("current_index", current_index.empty() ? "<the current index>" : detail::quote_ident(current_index))
        .count("rows_removed", m.rows_removed_by_filter_total)
        .share("removed_share", *m.filter_removal_share);
    add_index_advice(draft, bare_table(ctx, id), keys, "<index columns>, <filter columns>");
    out.push_back(draft.emit());
  }
}

void misestimate_nested_loop(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  const double min_factor = rule.threshold("min_underestimate_factor");
  const double min_outer_rows = rule.threshold("min_outer_rows");
  for (std::size_t id = 0; id < ctx.size(); ++id) {
    if (ctx.node(id).node_type != "Nested Loop" || !ctx.ran(id)) continue;
    const auto outer = ctx.child(id, "Outer");
    const auto inner = ctx.child(id, "Inner");
    if (!outer || !inner || !ctx.ran(*outer)) continue;
    const NodeMetrics& om = ctx.metrics(*outer);
    if (om.misestimate_direction != plan::EstimateDirection::under || !om.misestimate_factor) continue;
    if (*om.misestimate_factor < min_factor || om.actual_rows_total.value_or(0) < min_outer_rows) continue;
    ctx.misestimated_outer.insert(*outer);
    const auto scan = ctx.relation_node(*outer);
    const auto inner_share = ctx.inclusive_share(*inner);
    FindingDraft draft = ctx.draft(rule, id);
    draft.saving(inner_share)
        .text("outer_node", ctx.metrics(*outer).label)
        .text("inner_node", ctx.metrics(*inner).label)
        .fact("table", ctx.table_name(scan))
        .count("planned_rows", om.planned_rows_total.value_or(0))
        .count("actual_rows", om.actual_rows_total.value_or(0))
        .factor("factor", *om.misestimate_factor)
        .count("loops", ctx.node(*inner).actuals->loops);
    if (auto share = ctx.inclusive_share(id)) draft.share("time_share", *share);
    add_statistics_advice(draft, ctx, scan);
    out.push_back(draft.emit());
  }
}

void row_misestimate(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  const double min_factor = rule.threshold("min_factor");
  const double min_rows = rule.threshold("min_rows");
  static const std::set<std::string, std::less<>> kPassThrough{
      "Hash", "Materialize", "Sort", "Incremental Sort", "Memoize", "Gather", "Gather Merge", "Result"};
  for (std::size_t id = 0; id < ctx.size(); ++id) {
    const NodeMetrics& m = ctx.metrics(id);
    if (!ctx.ran(id) || !m.misestimate_factor || *m.misestimate_factor < min_factor) continue;
    if (std::max(m.actual_rows_total.value_or(0), m.planned_rows_total.value_or(0)) < min_rows) continue;
    if (ctx.misestimated_outer.contains(id)) continue;
    // Report where the error starts: inputs estimated well.
    const bool inherited = std::any_of(m.children.begin(), m.children.end(), [&](std::size_t c) {
      const auto& f = ctx.metrics(c).misestimate_factor;
      return !runs_inside_parent(ctx.node(c)) && f && *f >= min_factor;
    });
    if (inherited) continue;
    // A Limit above stops its input early: "fewer rows than planned" is expected.
    if (ctx.any_ancestor(id, [&](std::size_t a) { return ctx.node(a).node_type == "Limit"; })) continue;
    std::optional<std::size_t> join;
    for (auto p = m.parent; p; p = ctx.metrics(*p).parent) {
      if (is_join(ctx.node(*p))) join = p;
      if (!kPassThrough.contains(ctx.node(*p).node_type)) break;
    }
    if (!join) continue;
    const auto scan = ctx.relation_node(id);
    FindingDraft draft = ctx.draft(rule, id);
    draft.saving(ctx.metrics(*join).exclusive_time_share)
        .fact("direction",
              m.misestimate_direction == plan::EstimateDirection::under ? "underestimated" : "overestimated")
        .text("join_node", ctx.metrics(*join).label)
        .fact("table", ctx.table_name(scan))
        .count("planned_rows", m.planned_rows_total.value_or(0))
        .count("actual_rows", m.actual_rows_total.value_or(0))
        .factor("factor", *m.misestimate_factor);
    add_statistics_advice(draft, ctx, scan);
    out.push_back(draft.emit());
  }
}

void stale_statistics(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  const double min_factor = rule.threshold("min_factor");
  const double min_rows = rule.threshold("min_rows");
  for (std::size_t id = 0; id < ctx.size(); ++id) {
    const PlanNode& n = ctx.node(id);
    const NodeMetrics& m = ctx.metrics(id);
    if (n.node_type != "Seq Scan" || n.filter || !ctx.ran(id) || !m.misestimate_factor) continue;
    if (*m.misestimate_factor < min_factor) continue;
    if (std::max(m.actual_rows_total.value_or(0), m.planned_rows_total.value_or(0)) < min_rows) continue;
    // Nodes that may stop reading early return fewer rows than the table holds.
    const auto stops_early = [&](std::size_t a) {
      const PlanNode& above = ctx.node(a);
      return above.node_type == "Limit" || above.node_type == "Merge Join" || above.join_type == "Semi" ||
             above.join_type == "Anti" || runs_inside_parent(above);
    };
    if (runs_inside_parent(n) || ctx.any_ancestor(id, stops_early)) continue;
    FindingDraft draft = ctx.draft(rule, id);
    draft.fact("table", ctx.table_name(id))
        .count("planned_rows", m.planned_rows_total.value_or(0))
        .count("actual_rows", m.actual_rows_total.value_or(0))
        .factor("factor", *m.misestimate_factor);
    out.push_back(draft.emit());
  }
}

std::vector<IndexKey> sort_keys_as_index(const std::vector<std::string>& sort_key) {
  std::vector<IndexKey> keys;
  for (const auto& item : sort_key) {
    std::string text = item;
    std::string direction;
    for (std::string_view suffix : {" DESC NULLS LAST", " DESC NULLS FIRST", " NULLS FIRST", " NULLS LAST", " DESC"}) {
      if (text.size() > suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0) {
        direction = std::string(suffix.substr(1));
        text.resize(text.size() - suffix.size());
        break;
      }
    }
    const auto dot = text.rfind('.');
    const bool plain = text.find_first_of("() ") == std::string::npos;
    if (plain) {
      keys.push_back({dot == std::string::npos ? text : text.substr(dot + 1), direction, ""});
    } else {
      keys.push_back({"", direction, text});
    }
  }
  return keys;
}

void sort_spill(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  const double min_disk_kb = rule.threshold("min_disk_kb");
  const double factor = rule.threshold("work_mem_factor");
  for (std::size_t id = 0; id < ctx.size(); ++id) {
    const PlanNode& n = ctx.node(id);
    const NodeMetrics& m = ctx.metrics(id);
    if (!m.sort_spilled || !m.sort_disk_kb || *m.sort_disk_kb < min_disk_kb) continue;
    const auto scan = ctx.relation_node(id);
    const auto keys = sort_keys_as_index(n.sort_key);
    FindingDraft draft = ctx.draft(rule, id);
    draft.fact("table", ctx.table_name(scan))
        .fact("sort_keys", n.sort_key.empty() ? std::string("its sort key") : join_list(n.sort_key))
        .kb("disk", static_cast<double>(*m.sort_disk_kb))
        .fact("work_mem", detail::work_mem_setting(static_cast<double>(*m.sort_disk_kb) * factor))
        .fact("current_work_mem", ctx.setting("work_mem", "4MB (the default)"));
    add_index_advice(draft, bare_table(ctx, scan), keys, "<the sort columns>");
    out.push_back(draft.emit());
  }
}

void hash_batches(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  const double max_batches = rule.threshold("max_batches");
  const double factor = rule.threshold("work_mem_factor");
  for (std::size_t id = 0; id < ctx.size(); ++id) {
    const PlanNode& n = ctx.node(id);
    if (n.node_type != "Hash" || !n.hash_table || static_cast<double>(n.hash_table->batches) <= max_batches) continue;
    const auto& table = *n.hash_table;
    const double multiplier = hash_mem_multiplier(ctx, rule);
    const double table_kb = static_cast<double>(table.peak_memory_kb) * static_cast<double>(table.batches);
    const auto join = ctx.metrics(id).parent;
    FindingDraft draft = ctx.draft(rule, id);
    if (join) {
      draft.saving(ctx.metrics(*join).exclusive_time_share.value_or(0) +
                   ctx.metrics(id).exclusive_time_share.value_or(0));
    }
    draft.text("join_node", join ? ctx.metrics(*join).label : "the join")
        .fact("table", ctx.table_name(ctx.relation_node(id)))
        .count("batches", static_cast<double>(table.batches))
        .count("original_batches", static_cast<double>(table.original_batches))
        .kb("peak_memory", static_cast<double>(table.peak_memory_kb))
        .kb("table_size", table_kb)
        .text("hash_mem_multiplier", multiplier_text(multiplier))
        .fact("work_mem", detail::work_mem_setting(table_kb * factor / multiplier));
    out.push_back(draft.emit());
  }
}

void hashagg_spill(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  const double min_disk_kb = rule.threshold("min_disk_kb");
  const double factor = rule.threshold("work_mem_factor");
  for (std::size_t id = 0; id < ctx.size(); ++id) {
    const PlanNode& n = ctx.node(id);
    const NodeMetrics& m = ctx.metrics(id);
    if (!m.hash_aggregate_spilled || !n.hash_aggregation) continue;
    const double disk = static_cast<double>(m.hash_aggregate_disk_kb.value_or(n.hash_aggregation->disk_usage_kb));
    if (disk < min_disk_kb) continue;
    const double multiplier = hash_mem_multiplier(ctx, rule);
    FindingDraft draft = ctx.draft(rule, id);
    draft.fact("group_key", n.group_key.empty() ? std::string("its group key") : join_list(n.group_key))
        .count("batches", static_cast<double>(n.hash_aggregation->batches))
        .kb("disk", disk)
        .text("work_mem_factor", multiplier_text(factor))
        .text("hash_mem_multiplier", multiplier_text(multiplier))
        .fact("work_mem", detail::work_mem_setting(disk * factor / multiplier));
    out.push_back(draft.emit());
  }
}

void nested_loop_large_inner(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  const double min_inner_rows = rule.threshold("min_inner_rows");
  const double min_share = rule.threshold("min_time_share");
  for (std::size_t id = 0; id < ctx.size(); ++id) {
    if (ctx.node(id).node_type != "Nested Loop" || !ctx.ran(id)) continue;
    const auto inner = ctx.child(id, "Inner");
    const auto share = ctx.inclusive_share(id);
    if (!inner || !ctx.ran(*inner) || !share || *share < min_share) continue;
    const NodeMetrics& im = ctx.metrics(*inner);
    const double inner_rows = im.actual_rows_total.value_or(0) + im.rows_removed_by_filter_total;
    if (inner_rows < min_inner_rows) continue;
    const auto scan = ctx.relation_node(*inner);
    std::vector<IndexKey> keys;
    if (scan) {
      const PlanNode& s = ctx.node(*scan);
      std::vector<ConditionTerm> terms = terms_of(s.index_cond);
      append(terms, terms_of(s.filter));
      append(terms, terms_of(ctx.node(id).join_filter));
      // The join key first: terms comparing the inner table with another one.
      for (const auto& term : terms) {
        if (term_on(term, s) && !term.other_column.empty() && term.kind == TermKind::equality) {
          add_key(keys, {term.column, "", ""});
        }
        if (!term.other_column.empty() && term.kind == TermKind::equality &&
            (term.other_qualifier == s.alias.value_or("") || term.other_qualifier == s.relation_name.value_or(""))) {
          add_key(keys, {term.other_column, "", ""});
        }
      }
      for (auto& key : index_keys(terms, s, false)) add_key(keys, key);
    }
    FindingDraft draft = ctx.draft(rule, id);
    draft.saving(share)
        .share("time_share", *share)
        .text("inner_node", im.label)
        .fact("table", ctx.table_name(scan))
        .count("loops", ctx.node(*inner).actuals->loops)
        .count("inner_rows", inner_rows);
    add_index_advice(draft, bare_table(ctx, scan), keys, "<the join column>");
    out.push_back(draft.emit());
  }
}

void join_filter_discards_rows(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  const double min_removed = rule.threshold("min_rows_removed");
  const double min_share = rule.threshold("min_rows_removed_share");
  for (std::size_t id = 0; id < ctx.size(); ++id) {
    const PlanNode& n = ctx.node(id);
    const NodeMetrics& m = ctx.metrics(id);
    if (!n.join_filter || !ctx.ran(id) || !m.join_filter_removal_share) continue;
    if (m.rows_removed_by_join_filter_total < min_removed || *m.join_filter_removal_share < min_share) continue;
    FindingDraft draft = ctx.draft(rule, id);
    draft.fact("join_filter", *n.join_filter)
        .count("rows_removed", m.rows_removed_by_join_filter_total)
        .count("rows_examined", m.rows_removed_by_join_filter_total + m.actual_rows_total.value_or(0))
        .share("removed_share", *m.join_filter_removal_share);
    out.push_back(draft.emit());
  }
}

void bitmap_lossy(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  const double min_share = rule.threshold("min_lossy_share");
  const double bytes_per_block = rule.threshold("bytes_per_heap_block");
  const double factor = rule.threshold("work_mem_factor");
  for (std::size_t id = 0; id < ctx.size(); ++id) {
    const PlanNode& n = ctx.node(id);
    const NodeMetrics& m = ctx.metrics(id);
    if (!m.lossy_block_share || *m.lossy_block_share < min_share || n.lossy_heap_blocks <= 0) continue;
    const double blocks = static_cast<double>(n.exact_heap_blocks + n.lossy_heap_blocks);
    FindingDraft draft = ctx.draft(rule, id);
    draft.fact("table", ctx.table_name(id))
        .count("lossy_blocks", static_cast<double>(n.lossy_heap_blocks))
        .count("exact_blocks", static_cast<double>(n.exact_heap_blocks))
        .count("heap_blocks", blocks)
        .share("lossy_share", *m.lossy_block_share)
        .count("rows_rechecked", m.rows_removed_by_index_recheck_total)
        .fact("work_mem", detail::work_mem_setting(blocks * bytes_per_block * factor / 1024));
    out.push_back(draft.emit());
  }
}

void index_only_heap_fetches(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  const double min_fetches = rule.threshold("min_heap_fetches");
  const double min_share = rule.threshold("min_heap_fetch_share");
  for (std::size_t id = 0; id < ctx.size(); ++id) {
    const NodeMetrics& m = ctx.metrics(id);
    if (ctx.node(id).node_type != "Index Only Scan" || !ctx.ran(id) || !m.heap_fetch_share) continue;
    if (m.heap_fetches < min_fetches || *m.heap_fetch_share < min_share) continue;
    FindingDraft draft = ctx.draft(rule, id);
    draft.fact("table", ctx.table_name(id))
        .count("heap_fetches", m.heap_fetches)
        .count("rows", m.actual_rows_total.value_or(0))
        .share("fetch_share", *m.heap_fetch_share);
    out.push_back(draft.emit());
  }
}

void parallel_workers_not_launched(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  const double min_missing = rule.threshold("min_missing_workers");
  for (std::size_t id = 0; id < ctx.size(); ++id) {
    const NodeMetrics& m = ctx.metrics(id);
    if (!m.workers_planned || !m.workers_launched) continue;
    const double missing = static_cast<double>(*m.workers_planned - *m.workers_launched);
    if (missing < min_missing) continue;
    const auto share = ctx.inclusive_share(id);
    FindingDraft draft = ctx.draft(rule, id);
    // The missing workers' part of the work below the Gather, had they come.
    if (share) draft.saving(*share * missing / static_cast<double>(*m.workers_planned + 1));
    if (share) draft.share("time_share", *share);
    draft.count("workers_planned", static_cast<double>(*m.workers_planned))
        .count("workers_launched", static_cast<double>(*m.workers_launched));
    out.push_back(draft.emit());
  }
}

void jit_dominates(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  const auto& jit = ctx.plan().jit;
  const auto& share = ctx.plan_metrics().jit_share;
  if (!jit || !share || *share < rule.threshold("min_jit_share")) return;
  FindingDraft draft(rule, ctx.source());
  knowledge::Location where;
  where.plan_node_label = "JIT";
  draft.at(where)
      .saving(*share)
      .count("functions", static_cast<double>(jit->functions))
      .ms("jit_time", jit->total_ms)
      .ms("execution_time", ctx.plan_metrics().total_time_ms.value_or(0))
      .share("jit_share", *share)
      .ms("inlining_time", jit->inlining_ms)
      .ms("optimization_time", jit->optimization_ms)
      .ms("emission_time", jit->emission_ms)
      .fact("jit_above_cost", ctx.setting("jit_above_cost", "100000 (the default)"));
  out.push_back(draft.emit());
}

void cte_scan_filtered(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  const double min_removed = rule.threshold("min_rows_removed");
  const double min_share = rule.threshold("min_rows_removed_share");
  for (std::size_t id = 0; id < ctx.size(); ++id) {
    const PlanNode& n = ctx.node(id);
    const NodeMetrics& m = ctx.metrics(id);
    if (n.node_type != "CTE Scan" || !n.filter || !ctx.ran(id) || !m.filter_removal_share) continue;
    if (m.rows_removed_by_filter_total < min_removed || *m.filter_removal_share < min_share) continue;
    const std::string cte = n.cte_name.value_or("?");
    std::optional<std::size_t> body;
    for (std::size_t j = 0; j < ctx.size(); ++j) {
      if (ctx.node(j).subplan_name == "CTE " + cte) body = j;
    }
    FindingDraft draft = ctx.draft(rule, id);
    if (body) {
      if (auto share = ctx.inclusive_share(*body)) draft.saving(*share * *m.filter_removal_share);
    }
    const auto& body_time = body ? ctx.metrics(*body).inclusive_time_ms : std::optional<double>();
    if (body_time) {
      draft.ms("cte_time", *body_time);
    } else {
      draft.text("cte_time", "an unmeasured time");
    }
    draft.fact("cte", detail::quote_ident(cte))
        .fact("filter", *n.filter)
        .count("rows_removed", m.rows_removed_by_filter_total)
        .share("removed_share", *m.filter_removal_share);
    out.push_back(draft.emit());
  }
}

void memoize_low_hit_rate(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  const double max_hit_rate = rule.threshold("max_hit_rate");
  const double min_lookups = rule.threshold("min_lookups");
  for (std::size_t id = 0; id < ctx.size(); ++id) {
    const PlanNode& n = ctx.node(id);
    const NodeMetrics& m = ctx.metrics(id);
    if (!n.memoize_cache || !m.memoize_hit_rate) continue;
    const double lookups = static_cast<double>(n.memoize_cache->hits + n.memoize_cache->misses);
    if (lookups < min_lookups || *m.memoize_hit_rate >= max_hit_rate) continue;
    FindingDraft draft = ctx.draft(rule, id);
    draft.fact("table", ctx.table_name(ctx.relation_node(id)))
        .fact("cache_key", n.cache_key.value_or("?"))
        .share("hit_rate", *m.memoize_hit_rate)
        .count("lookups", lookups)
        .count("evictions", static_cast<double>(n.memoize_cache->evictions));
    out.push_back(draft.emit());
  }
}

void low_read_efficiency(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out,
                         const knowledge::RuleBook& book) {
  if (!ctx.plan().has_buffers) return;
  const double min_blocks = rule.threshold("min_blocks");
  const double min_per_row = rule.threshold("min_blocks_per_row");
  // A filter that discards most fetched rows is its own finding, with its own fix.
  const Rule* filter_rule = book.find("PLAN_INDEX_FILTER_DISCARDS_ROWS");
  for (std::size_t id = 0; id < ctx.size(); ++id) {
    const PlanNode& n = ctx.node(id);
    const NodeMetrics& m = ctx.metrics(id);
    if (n.node_type != "Index Scan" || !ctx.ran(id)) continue;
    if (filter_rule && m.filter_removal_share &&
        *m.filter_removal_share >= filter_rule->threshold("min_rows_removed_share")) {
      continue;
    }
    const auto& b = m.exclusive_buffers;
    const double blocks = static_cast<double>(b.shared_hit + b.shared_read + b.local_hit + b.local_read);
    const double rows = m.actual_rows_total.value_or(0);
    if (blocks < min_blocks || rows <= 0 || blocks / rows < min_per_row) continue;
    auto keys = index_keys(terms_of(n.index_cond), n, true);
    std::vector<std::string> include;
    for (const auto& column : n.output) {
      const auto dot = column.rfind('.');
      std::string bare = dot == std::string::npos ? column : column.substr(dot + 1);
      const bool keyed = std::any_of(keys.begin(), keys.end(), [&](const IndexKey& k) { return k.column == bare; });
      if (!keyed && bare.find_first_of("() ") == std::string::npos) include.push_back(detail::quote_ident(bare));
    }
    FindingDraft draft = ctx.draft(rule, id);
    draft.fact("table", ctx.table_name(id))
        .count("blocks", blocks)
        .kb("size", blocks * 8)
        .count("rows", rows)
        .factor("blocks_per_row", blocks / rows)
        .text("include_columns", include.empty() ? "<the other columns the query reads>" : join_list(include))
        .text("current_index", n.index_name ? detail::quote_ident(*n.index_name) : "<index>");
    add_index_advice(draft, bare_table(ctx, id), keys, "<the index columns>", "covering_idx");
    out.push_back(draft.emit());
  }
}

void slow_triggers(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  const double min_share = rule.threshold("min_time_share");
  const auto& total = ctx.plan_metrics().total_time_ms;
  if (!total || *total <= 0) return;
  std::string modified;
  if (ctx.plan().root.relation_name) modified = ctx.table_name(0);
  std::string statement = ctx.plan().root.operation.value_or("statement");
  std::transform(statement.begin(), statement.end(), statement.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  for (const auto& trigger : ctx.plan().triggers) {
    if (!trigger.time_ms) continue;
    const double share = *trigger.time_ms / *total;
    if (share < min_share) continue;
    const std::string name =
        trigger.constraint_name ? "for constraint " + *trigger.constraint_name : trigger.name.value_or("(unnamed)");
    FindingDraft draft(rule, ctx.source());
    knowledge::Location where;
    where.plan_node_label = "Trigger " + name;
    where.table = trigger.relation.value_or(modified);
    draft.at(where)
        .saving(std::min(share, 1.0))
        .fact("trigger", name)
        .fact("statement", statement)
        .fact("relation", trigger.relation ? detail::quote_ident(*trigger.relation)
                                           : (modified.empty() ? std::string("the modified table") : modified))
        .count("calls", trigger.calls)
        .ms("time", *trigger.time_ms)
        .share("time_share", std::min(share, 1.0));
    out.push_back(draft.emit());
  }
}

void planning_time_high(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  const auto& planning = ctx.plan().planning_time_ms;
  const auto& execution = ctx.plan().execution_time_ms;
  if (!planning || !execution) return;
  if (*planning < rule.threshold("min_planning_ms")) return;
  if (*planning < *execution * rule.threshold("min_planning_to_execution")) return;
  FindingDraft draft(rule, ctx.source());
  knowledge::Location where;
  where.plan_node_label = "Planning";
  draft.at(where)
      .saving(*planning / (*planning + *execution))
      .ms("planning_time", *planning)
      .ms("execution_time", *execution);
  out.push_back(draft.emit());
}

void implicit_cast_in_condition(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  for (std::size_t id = 0; id < ctx.size(); ++id) {
    const PlanNode& n = ctx.node(id);
    // Only a Filter: a cast in an Index Cond means an expression index serves it.
    if (!is_table_scan(n) || !n.filter) continue;
    std::set<std::string> reported;
    for (const auto& cast : detail::column_casts(*n.filter)) {
      // varchar compared with text prints as (column)::text, which indexes serve.
      if (cast.type == "text") continue;
      const bool own = cast.qualifier.empty() || cast.qualifier == n.alias.value_or("") ||
                       cast.qualifier == n.relation_name.value_or("");
      if (!own || !reported.insert(cast.column).second) continue;
      FindingDraft draft = ctx.draft(rule, id);
      draft.fact("table", ctx.table_name(id))
          .fact("condition", *n.filter)
          .fact("column", detail::quote_ident(cast.column))
          .fact("cast_type", cast.type);
      Finding finding = draft.emit();
      finding.where.column = cast.column;
      out.push_back(std::move(finding));
    }
  }
}

void subplan_per_row(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  const double min_loops = rule.threshold("min_loops");
  const double min_share = rule.threshold("min_time_share");
  for (std::size_t id = 0; id < ctx.size(); ++id) {
    const PlanNode& n = ctx.node(id);
    if (n.parent_relationship != "SubPlan" || !ctx.ran(id) || n.actuals->loops < min_loops) continue;
    const auto share = ctx.inclusive_share(id);
    if (!share || *share < min_share) continue;
    const auto scan = ctx.relation_node(id);
    const auto parent = ctx.metrics(id).parent;
    const auto outer_scan = parent ? ctx.relation_node(*parent) : std::nullopt;
    std::string inner_key = "<key>";
    std::string outer_key = "<key>";
    if (scan) {
      const PlanNode& s = ctx.node(*scan);
      std::vector<ConditionTerm> terms = terms_of(s.index_cond);
      append(terms, terms_of(s.recheck_cond));
      append(terms, terms_of(s.filter));
      for (std::size_t c : ctx.metrics(*scan).children) append(terms, terms_of(ctx.node(c).index_cond));
      for (const auto& term : terms) {
        if (!term.other_column.empty() && term_on(term, s)) {
          inner_key = detail::quote_ident(term.column);
          outer_key = detail::quote_ident(term.other_column);
          break;
        }
      }
    }
    FindingDraft draft = ctx.draft(rule, id);
    draft.saving(share)
        .share("time_share", *share)
        .fact("subplan", n.subplan_name.value_or("SubPlan"))
        .count("loops", n.actuals->loops)
        .fact("table", ctx.table_name(scan))
        .fact("outer_table", ctx.table_name(outer_scan, "the outer table"))
        .text("inner_key", inner_key)
        .text("outer_key", outer_key);
    if (auto time = ctx.metrics(id).inclusive_time_ms) draft.ms("time", *time);
    out.push_back(draft.emit());
  }
}

void io_bound(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  if (!ctx.plan().has_buffers) return;
  const double min_read = rule.threshold("min_read_blocks");
  const double min_share = rule.threshold("min_read_share");
  for (std::size_t id = 0; id < ctx.size(); ++id) {
    const auto& b = ctx.metrics(id).exclusive_buffers;
    const double read = static_cast<double>(b.shared_read);
    const double touched = static_cast<double>(b.shared_read + b.shared_hit);
    if (read < min_read || touched <= 0 || read / touched < min_share) continue;
    FindingDraft draft = ctx.draft(rule, id);
    draft.fact("table", ctx.table_name(ctx.relation_node(id)))
        .count("read_blocks", read)
        .kb("read_size", read * 8)
        .share("read_share", read / touched)
        .text("io_time", b.io_read_time_ms > 0 ? "; I/O Read Time " + detail::format_ms(b.io_read_time_ms) : "")
        .text("io_timing_step", ctx.io_timing_on()
                                    ? "-- track_io_timing is already on: I/O Read Time is the time spent reading"
                                    : "SET track_io_timing = on;         -- then EXPLAIN (ANALYZE, BUFFERS) again");
    if (b.io_read_time_ms > 0) draft.number("io_read_time_ms", b.io_read_time_ms);
    out.push_back(draft.emit());
  }
}

void sort_for_limit(PlanContext& ctx, const Rule& rule, std::vector<Finding>& out) {
  const double min_sorted = rule.threshold("min_sorted_rows");
  for (std::size_t id = 0; id < ctx.size(); ++id) {
    if (ctx.node(id).node_type != "Limit" || !ctx.ran(id)) continue;
    auto sort = ctx.first_input(id);
    if (sort && ctx.node(*sort).node_type == "Gather Merge") sort = ctx.first_input(*sort);
    if (!sort || ctx.node(*sort).node_type != "Sort" || !ctx.ran(*sort)) continue;
    const auto input = ctx.first_input(*sort);
    if (!input || !ctx.ran(*input)) continue;
    const double sorted_rows = ctx.metrics(*input).actual_rows_total.value_or(0);
    if (sorted_rows < min_sorted) continue;
    const auto scan = ctx.relation_node(*sort);
    std::vector<IndexKey> keys;
    if (scan) {
      const PlanNode& s = ctx.node(*scan);
      std::vector<ConditionTerm> terms = terms_of(s.index_cond);
      append(terms, terms_of(s.recheck_cond));
      append(terms, terms_of(s.filter));
      for (const auto& term : terms) {
        if (term.kind == TermKind::equality && !term.in_or && term.other_column.empty() && term_on(term, s)) {
          add_key(keys, {term.column, "", ""});
        }
      }
    }
    for (auto& key : sort_keys_as_index(ctx.node(*sort).sort_key)) add_key(keys, key);
    const auto share = ctx.inclusive_share(*sort);
    FindingDraft draft = ctx.draft(rule, *sort);
    draft.saving(share)
        .text("limit_node", ctx.metrics(id).label)
        .count("limit_rows", ctx.metrics(id).actual_rows_total.value_or(0))
        .count("sorted_rows", sorted_rows)
        .fact("sort_keys", join_list(ctx.node(*sort).sort_key))
        .fact("table", ctx.table_name(scan));
    if (share) draft.share("time_share", *share);
    add_index_advice(draft, bare_table(ctx, scan), keys, "<the sort columns>");
    out.push_back(draft.emit());
  }
}

using PlanCheck = std::function<void(PlanContext&, const Rule&, std::vector<Finding>&, const knowledge::RuleBook&)>;

template <typename F>
PlanCheck simple(F f) {
  return [f](PlanContext& ctx, const Rule& rule, std::vector<Finding>& out, const knowledge::RuleBook&) {
    f(ctx, rule, out);
  };
}

// In checking order: PLAN_MISESTIMATE_NESTED_LOOP runs before
// PLAN_ROW_MISESTIMATE, which skips the nodes it reported.
const std::vector<std::pair<std::string_view, PlanCheck>>& plan_checks() {
  static const std::vector<std::pair<std::string_view, PlanCheck>> checks{
      {"PLAN_SEQ_SCAN_LARGE_FILTER", simple(seq_scan_large_filter)},
      {"PLAN_SELECTIVE_SCAN_ESTIMATED", simple(selective_scan_estimated)},
      {"PLAN_INDEX_FILTER_DISCARDS_ROWS", simple(index_filter_discards_rows)},
      {"PLAN_MISESTIMATE_NESTED_LOOP", simple(misestimate_nested_loop)},
      {"PLAN_ROW_MISESTIMATE", simple(row_misestimate)},
      {"PLAN_STALE_STATISTICS", simple(stale_statistics)},
      {"PLAN_SORT_SPILL", simple(sort_spill)},
      {"PLAN_HASH_BATCHES", simple(hash_batches)},
      {"PLAN_HASHAGG_SPILL", simple(hashagg_spill)},
      {"PLAN_NESTED_LOOP_LARGE_INNER", simple(nested_loop_large_inner)},
      {"PLAN_JOIN_FILTER_DISCARDS_ROWS", simple(join_filter_discards_rows)},
      {"PLAN_BITMAP_LOSSY", simple(bitmap_lossy)},
      {"PLAN_INDEX_ONLY_HEAP_FETCHES", simple(index_only_heap_fetches)},
      {"PLAN_PARALLEL_WORKERS_NOT_LAUNCHED", simple(parallel_workers_not_launched)},
      {"PLAN_JIT_DOMINATES", simple(jit_dominates)},
      {"PLAN_CTE_SCAN_FILTERED", simple(cte_scan_filtered)},
      {"PLAN_MEMOIZE_LOW_HIT_RATE", simple(memoize_low_hit_rate)},
      {"PLAN_LOW_READ_EFFICIENCY", low_read_efficiency},
      {"PLAN_SLOW_TRIGGERS", simple(slow_triggers)},
      {"PLAN_PLANNING_TIME_HIGH", simple(planning_time_high)},
      {"PLAN_IMPLICIT_CAST_IN_CONDITION", simple(implicit_cast_in_condition)},
      {"PLAN_SUBPLAN_PER_ROW", simple(subplan_per_row)},
      {"PLAN_IO_BOUND", simple(io_bound)},
      {"PLAN_SORT_FOR_LIMIT", simple(sort_for_limit)},
  };
  return checks;
}

}  // namespace

std::vector<Finding> check_plan(const plan::Plan& plan, const plan::PlanMetrics& metrics,
                                const knowledge::RuleBook& rules, const TableSizes& tables) {
  // The checks read the plan through the metrics' node pointers.
  if (metrics.plan_nodes.empty() || metrics.plan_nodes.front() != &plan.root ||
      metrics.plan_nodes.size() != metrics.nodes.size()) {
    throw Error(ErrorCode::internal, "check_plan: the metrics were not derived from this Plan object",
                "call derive_metrics(plan) on the plan being checked, after it last moved");
  }
  PlanContext ctx(plan, metrics, tables);
  std::vector<Finding> findings;
  for (const auto& [id, check] : plan_checks()) {
    if (const Rule* rule = rules.find(id)) check(ctx, *rule, findings, rules);
  }
  knowledge::sort_by_impact(findings);
  return findings;
}

const std::vector<std::string_view>& plan_rule_ids() {
  static const std::vector<std::string_view> ids = [] {
    std::vector<std::string_view> out;
    for (const auto& [id, check] : plan_checks()) out.push_back(id);
    return out;
  }();
  return ids;
}

}  // namespace dbopt::rules
