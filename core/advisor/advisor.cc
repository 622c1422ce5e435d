#include "core/advisor/advisor.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/common/error.h"
#include "core/pg/hypothetical_indexes.h"
#include "core/pg/safe_executor.h"
#include "core/plan/explain_reader.h"
#include "core/sql/query_model.h"

namespace dbopt::advisor {
namespace {

using Clock = std::chrono::steady_clock;

struct Prepared {
  int index = 0;
  std::string sql;
  double calls = 1;
  sql::QueryModel model;
  bool costable = false;  // SELECT / UPDATE / DELETE: EXPLAIN-able without running
  bool generic = false;
  std::set<std::string> tables;  // qualified catalog names
  double base_cost = 0;
  double current_cost = 0;
};

double rule_threshold(const knowledge::RuleBook* rules, const char* rule, const char* name, double fallback) {
  if (!rules) return fallback;
  const auto* r = rules->find(rule);
  return r && r->thresholds.contains(name) ? r->threshold(name) : fallback;
}

bool table_selected(const std::string& schema, const std::string& name, const AdvisorOptions& o) {
  auto matches = [&](const std::string& pattern) { return pattern == name || pattern == schema + "." + name; };
  if (!o.include_tables.empty() && std::none_of(o.include_tables.begin(), o.include_tables.end(), matches))
    return false;
  return std::none_of(o.exclude_tables.begin(), o.exclude_tables.end(), matches);
}

// Parses the workload; what cannot be analysed goes to result.skipped with its reason.
std::vector<Prepared> prepare(const std::vector<WorkloadQuery>& workload, const Catalog& catalog, bool check_tables,
                              const AdvisorOptions& options, AdvisorResult& result) {
  std::vector<Prepared> out;
  for (std::size_t i = 0; i < workload.size(); ++i) {
    const int index = static_cast<int>(i);
    Prepared p;
    p.index = index;
    p.sql = workload[i].sql;
    p.calls = workload[i].calls;
    try {
      p.model = sql::parse_query(p.sql);
    } catch (const Error& e) {
      result.skipped.push_back({index, p.sql, std::string("does not parse: ") + e.what()});
      continue;
    }
    using K = sql::StatementKind;
    const K kind = p.model.kind;
    if (kind != K::select && kind != K::update && kind != K::delete_ && kind != K::insert) {
      result.skipped.push_back(
          {index, p.sql, std::string("a ") + sql::to_string(kind) + " statement has no plan an index could change"});
      continue;
    }
    p.costable = kind != K::insert;
    p.generic = p.model.parameter_count > 0;
    std::string unknown;
    bool excluded = false;
    for (const auto& t : p.model.tables) {
      if (t.is_cte || (t.role != sql::TableRole::read && t.role != sql::TableRole::written)) continue;
      const TableInfo* info = catalog.find(t.schema, t.name);
      if (!info) {
        if (check_tables)
          unknown += (unknown.empty() ? "" : ", ") + (t.schema.empty() ? t.name : t.schema + "." + t.name);
        continue;
      }
      if (!table_selected(info->schema, info->name, options)) excluded = true;
      p.tables.insert(info->qualified());
    }
    if (!unknown.empty()) {
      result.skipped.push_back({index, p.sql, "names unknown table(s): " + unknown});
      continue;
    }
    if (excluded && !options.include_tables.empty() && p.tables.empty()) {
      result.skipped.push_back({index, p.sql, "reads no table of include_tables"});
      continue;
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<Candidate> workload_candidates(const std::vector<Prepared>& queries, const Catalog& catalog,
                                           const CandidateLimits& limits, const AdvisorOptions& options) {
  std::vector<Candidate> all;
  for (const auto& q : queries) {
    if (q.model.kind == sql::StatementKind::insert) continue;
    auto mine = candidates_for(q.model, q.index, catalog, limits);
    std::erase_if(mine, [&](const Candidate& c) { return !table_selected(c.schema, c.table, options); });
    merge_candidates(all, std::move(mine));
  }
  // Foreign keys of the workload's tables without an index that starts with their columns.
  std::set<std::string> touched;
  for (const auto& q : queries) touched.insert(q.tables.begin(), q.tables.end());
  for (const auto& t : catalog.tables) {
    if (!touched.contains(t.qualified()) || !table_selected(t.schema, t.name, options)) continue;
    for (const auto& fk : t.foreign_keys) {
      Candidate c;
      c.kind = "foreign_key";
      c.rule_id = "INDEX_FK_UNINDEXED";
      c.schema = t.schema;
      c.table = t.name;
      for (const auto& col : fk.columns) c.keys.push_back(quote_ident(col));
      c.reason = "foreign key " + fk.name + " references " + fk.referenced_table +
                 ": joins and ON DELETE/UPDATE on the referenced table scan this table without it";
      if (served_by_existing(c, t)) continue;
      merge_candidates(all, {std::move(c)});
    }
  }
  return all;
}

WriteOverhead write_overhead(const Candidate& c, const Catalog& catalog, const std::vector<Prepared>& queries) {
  WriteOverhead w;
  const TableInfo* info = catalog.find(c.schema, c.table);
  int width = 8;
  std::vector<std::string> indexed = c.key_columns();
  if (info) {
    w.table_writes = info->inserts + info->updates + info->deletes;
    for (const auto& col : indexed)
      if (const auto* s = info->column(col)) width += s->avg_width;
    if (info->row_width > 0) w.share = (8.0 + width) / (27.0 + info->row_width);
  }
  // Expression keys and a partial predicate name columns too: any of them changing breaks HOT.
  std::string all_text = c.identity();
  for (const auto& q : queries) {
    const auto kind = q.model.kind;
    if (!sql::changes_rows(kind)) continue;
    bool writes_table = false;
    for (const auto& t : q.model.tables)
      if (t.role == sql::TableRole::written && t.name == c.table) writes_table = true;
    if (!writes_table) continue;
    w.workload_writes += q.calls;
    if (kind != sql::StatementKind::update) continue;
    for (const auto& u : q.model.columns) {
      if (u.clause != sql::Clause::set) continue;
      const std::string name = u.column.name;
      const bool in_index = std::find(indexed.begin(), indexed.end(), quote_ident(name)) != indexed.end() ||
                            std::find(indexed.begin(), indexed.end(), name) != indexed.end() ||
                            all_text.find(name) != std::string::npos;
      if (in_index && std::find(w.hot_columns.begin(), w.hot_columns.end(), name) == w.hot_columns.end()) {
        w.hot_columns.push_back(name);
        w.breaks_hot = true;
      }
    }
  }
  return w;
}

std::string gin_evidence(const Candidate& c, const Catalog& catalog) {
  std::string type;
  if (const TableInfo* info = catalog.find(c.schema, c.table))
    if (!c.keys.empty())
      if (const auto* s = info->column(c.keys[0].substr(0, c.keys[0].find(' ')))) type = s->type;
  std::string out =
      "HypoPG cannot cost GIN indexes, so this was judged by rule: the query's operator is in the operator class of "
      "the index (" +
      (c.kind == "trigram" ? std::string("gin_trgm_ops serves LIKE/ILIKE with wildcards anywhere")
                           : std::string("the default GIN operator class serves @>, ?, &&, @@")) +
      ")" + (type.empty() ? "" : ", column type " + type) +
      ". Verify on a scratch copy: build it there and compare explain_query with analyze before and after.";
  if (!c.extension.empty()) out += " Needs the " + c.extension + " extension: CREATE EXTENSION " + c.extension + ";";
  return out;
}

// "public.orders_status_idx" or "\"Odd\".\"My Index\"" -> the bare relation name a plan prints.
std::string bare_index_name(const std::string& qualified) {
  std::string part;
  bool quoted = false;
  for (std::size_t i = 0; i < qualified.size(); ++i) {
    const char c = qualified[i];
    if (c == '"') {
      if (quoted && i + 1 < qualified.size() && qualified[i + 1] == '"') {
        part += '"';
        ++i;
      } else {
        quoted = !quoted;
      }
    } else if (c == '.' && !quoted) {
      part.clear();
    } else {
      part += c;
    }
  }
  return part;
}

std::string duration_text(double seconds) {
  if (seconds < 3600) return std::to_string(static_cast<long long>(seconds / 60)) + " minutes";
  if (seconds < 2 * 86400) return std::to_string(static_cast<long long>(seconds / 3600)) + " hours";
  return std::to_string(static_cast<long long>(seconds / 86400)) + " days";
}

// Moves to result.withheld_drops what the evidence does not support: an index a workload plan
// uses, and an unused index whose usage counters are too young to show its use.
void withhold_drops(AdvisorResult& result, const std::map<std::string, int>& used_by, double min_age_days) {
  std::vector<DropAdvice> kept;
  for (auto& d : result.drops) {
    if (const auto it = used_by.find(bare_index_name(d.index)); it != used_by.end()) {
      d.reason = "not proposed: the plan of workload statement " + std::to_string(it->second + 1) + " uses it (" +
                 d.reason + ")";
      result.withheld_drops.push_back(std::move(d));
    } else if (d.rule_id == "INDEX_UNUSED" &&
               (!result.stats_age_seconds || *result.stats_age_seconds < min_age_days * 86400)) {
      d.reason = "not proposed: idx_scan = 0, but the usage counters are only " +
                 (result.stats_age_seconds ? duration_text(*result.stats_age_seconds) : std::string("of unknown age")) +
                 " old, under the " + std::to_string(static_cast<int>(min_age_days)) +
                 " days that show a monthly job's use; check again later, and on every replica";
      result.withheld_drops.push_back(std::move(d));
    } else {
      kept.push_back(std::move(d));
    }
  }
  result.drops = std::move(kept);
}

// The model for GIN candidates, which HypoPG cannot build (thresholds in knowledge/rules/index.yaml).
struct GinModel {
  double cost_per_matching_row = 4;  // a bitmap heap fetch per row the indexed condition keeps
  double trigram_bytes_per_value_byte = 1.6;
  double jsonb_path_bytes_per_value_byte = 0.2;
  double fulltext_bytes_per_value_byte = 0.35;

  static GinModel from_rules(const knowledge::RuleBook* rules) {
    GinModel m;
    m.cost_per_matching_row =
        rule_threshold(rules, "INDEX_GIN_JSONB", "cost_per_matching_row", m.cost_per_matching_row);
    m.trigram_bytes_per_value_byte =
        rule_threshold(rules, "INDEX_TRGM", "size_bytes_per_value_byte", m.trigram_bytes_per_value_byte);
    m.jsonb_path_bytes_per_value_byte =
        rule_threshold(rules, "INDEX_GIN_JSONB", "size_bytes_per_value_byte", m.jsonb_path_bytes_per_value_byte);
    m.fulltext_bytes_per_value_byte =
        rule_threshold(rules, "INDEX_GIN_FULLTEXT", "size_bytes_per_value_byte", m.fulltext_bytes_per_value_byte);
    return m;
  }

  // Rows x the indexed value's average width x bytes of index per byte of value.
  long long size(const Candidate& c, const Catalog& catalog) const {
    const TableInfo* info = catalog.find(c.schema, c.table);
    if (!info || c.keys.empty()) return 8192;
    // The indexed column, or for an expression ("(to_tsvector('english', body))") the widest column it names.
    const ColumnStats* s = nullptr;
    for (const auto& [name, stats] : info->columns)
      if (c.keys[0].find(name) != std::string::npos && (!s || stats.avg_width > s->avg_width)) s = &stats;
    const double width = s ? s->avg_width : 32;
    const double factor = c.kind == "trigram"                 ? trigram_bytes_per_value_byte
                          : c.rule_id == "INDEX_GIN_FULLTEXT" ? fulltext_bytes_per_value_byte
                                                              : jsonb_path_bytes_per_value_byte;
    return std::max<long long>(8192, static_cast<long long>(std::max(info->rows, 1.0) * width * factor));
  }
};

// HypoPG's hypothetical BRIN has no block-range map, and the planner then prices its Bitmap
// Heap Scan as if the matching rows were spread over the table (on events(ts), 18,000 where a
// real BRIN costs some 500). On a column in storage order the rows a range condition keeps lie
// in adjacent block ranges: this reprices each such scan as those ranges read in order and
// their rows rechecked, and returns the plan's total cost with that correction.
double cost_with_brin_correction(const plan::Plan& plan, const Catalog& catalog) {
  double total = plan.root.estimates ? plan.root.estimates->total_cost : 0;
  constexpr double kPagesPerRange = 128, kSeqPageCost = 1, kRecheckCostPerRow = 0.0125;
  for (const auto* node : plan::preorder(plan)) {
    if (node->node_type != "Bitmap Heap Scan" || !node->relation_name || !node->estimates ||
        node->children.size() != 1 || !node->children[0].index_name ||
        node->children[0].index_name->find(">brin_") == std::string::npos)
      continue;
    const TableInfo* info = catalog.find(node->schema.value_or(""), *node->relation_name);
    const auto& index_scan = node->children[0].estimates;
    if (!info || info->rows < 1 || info->pages < 1 || !index_scan) continue;
    // The rows the index condition keeps (the Bitmap Index Scan's estimate), not the heap scan's
    // output: its Filter may narrow further, but only after the block ranges were read.
    const double share = std::min(1.0, index_scan->rows / info->rows);
    const double pages = std::min(info->pages, (std::ceil(share * info->pages / kPagesPerRange) + 1) * kPagesPerRange);
    const double repriced = pages * kSeqPageCost + pages * (info->rows / info->pages) * kRecheckCostPerRow;
    if (repriced < node->estimates->total_cost) total -= node->estimates->total_cost - repriced;
  }
  return std::max(total, 0.0);
}

// A Seq Scan, or a bitmap scan through a BRIN (block ranges, not rows): what a GIN index could
// replace. A B-tree scan has already narrowed the rows, and its row estimate counts both
// conditions, not the GIN condition alone.
bool reads_most_of_the_table(const plan::PlanNode& node) {
  if (node.node_type == "Seq Scan") return true;
  return node.node_type == "Bitmap Heap Scan" && node.children.size() == 1 && node.children[0].index_name &&
         node.children[0].index_name->find("brin") != std::string::npos;
}

// GIN candidates on the search's scale, from each served statement's plan with the chosen set:
// the scan of their table that reads most of it is what they replace, and a bitmap scan through them costs
// cost_per_matching_row per row that scan keeps. A Limit above the scan is not credited (a
// condition that keeps few rows rarely stops a scan early). Chosen by the same minimum gain
// and budget as every other index; one GIN per statement and table.
void choose_gin(std::vector<Candidate>& gin, const std::vector<Prepared*>& costed,
                const std::map<int, plan::Plan>& plans, const Catalog& catalog, const std::vector<Prepared>& queries,
                const AdvisorOptions& options, const knowledge::RuleBook* rules, double min_gain, long long& bytes,
                AdvisorResult& result) {
  const GinModel model = GinModel::from_rules(rules);
  const double write_cost = rule_threshold(rules, "INDEX_WRITE_OVERHEAD", "cost_per_written_row", 10);
  std::set<std::pair<int, std::string>> served_tables;
  for (auto& c : gin) {
    Recommendation r;
    r.candidate = std::move(c);
    r.writes = write_overhead(r.candidate, catalog, queries);
    r.size_bytes = model.size(r.candidate, catalog);
    double benefit = 0;
    std::string scans;
    for (auto* q : costed) {
      if (!r.candidate.queries.contains(q->index) || served_tables.contains({q->index, r.candidate.table})) continue;
      const auto plan = plans.find(q->index);
      if (plan == plans.end()) continue;
      double scan_cost = 0, rows = 0;
      for (const auto* node : plan::preorder(plan->second))
        if (node->relation_name == r.candidate.table && node->estimates && reads_most_of_the_table(*node)) {
          scan_cost += node->estimates->total_cost;  // a Bitmap Heap Scan's cost includes its index scan
          rows += node->estimates->rows;
        }
      if (scan_cost <= 0) continue;  // an index already narrows the rows
      const double through_index = rows * model.cost_per_matching_row;
      scans += (scans.empty() ? "" : "; ") + std::string("statement ") + std::to_string(q->index + 1) +
               ": scan of the table costs " + std::to_string(static_cast<long long>(scan_cost)) + " for " +
               std::to_string(static_cast<long long>(rows)) + " estimated rows, through the index about " +
               std::to_string(static_cast<long long>(through_index));
      if (scan_cost <= through_index) continue;
      r.served.push_back({q->index, q->current_cost, std::min(q->current_cost, through_index)});
      benefit += q->calls * (scan_cost - through_index);
    }
    const double penalty = options.write_weight * r.writes.workload_writes * write_cost * (1 + r.writes.share);
    const double net = benefit - penalty;
    const bool fits = options.budget_bytes <= 0 || static_cast<double>(bytes + r.size_bytes) <= options.budget_bytes;
    if (r.served.empty() || net <= 0 || net < min_gain || !fits) {
      r.served.clear();
      r.evidence =
          gin_evidence(r.candidate, catalog) +
          (scans.empty() ? "" : " Estimated from the plans: " + scans + "; not enough to pass the minimum gain.");
      result.unverified.push_back(std::move(r));
      continue;
    }
    r.verified = true;
    r.basis = "plan_model";
    r.benefit = net;
    r.evidence = "Estimated from the plans (HypoPG cannot build GIN indexes): " + scans +
                 "; a bitmap scan through this index "
                 "costs about " +
                 std::to_string(static_cast<int>(model.cost_per_matching_row)) +
                 " per row it keeps, and a LIMIT above the scan is not credited. Size from the column's average width. "
                 "Measure it on a scratch copy (benchmark_query with candidate_indexes) before relying on the figure." +
                 (r.candidate.extension.empty() ? ""
                                                : " Needs the " + r.candidate.extension +
                                                      " extension: CREATE EXTENSION " + r.candidate.extension + ";");
    for (const auto& served : r.served) {
      served_tables.insert({served.query, r.candidate.table});
      for (auto* q : costed)
        if (q->index == served.query) {
          result.cost_after -= q->calls * (q->current_cost - served.cost_after);
          q->current_cost = served.cost_after;
        }
    }
    bytes += r.size_bytes;
    result.bytes_added += r.size_bytes;
    result.recommendations.push_back(std::move(r));
  }
}

}  // namespace

long long deduplicated_btree_size(const Candidate& c, const Catalog& catalog, long long hypopg_bytes) {
  const TableInfo* info = catalog.find(c.schema, c.table);
  if (!info || c.method != "btree" || !c.include.empty() || info->rows < 1) return hypopg_bytes;
  double groups = 1, width = 0;
  for (const auto& key : c.keys) {
    std::string column = key.substr(0, key.find(' '));
    if (column.size() > 1 && column.front() == '"') column = column.substr(1, column.size() - 2);
    const ColumnStats* s = key.starts_with("(") ? nullptr : info->column(column);
    if (!s) return hypopg_bytes;  // an expression: no statistics to go by
    groups *= std::max(1.0, s->distinct_count(info->rows));
    width += s->avg_width;
  }
  // A posting list holds at most about a third of a page: some 400 heap pointers.
  groups = std::clamp(groups, info->rows / 400, info->rows);
  const double tuple = std::ceil((8 + width) / 8) * 8 + 4;  // MAXALIGNed index tuple + line pointer
  const double whole = info->rows * tuple;
  const double deduplicated = groups * tuple + (info->rows - groups) * 6;  // 6 bytes per extra heap pointer
  return std::max<long long>(8192, static_cast<long long>(static_cast<double>(hypopg_bytes) * deduplicated / whole));
}

std::vector<DropAdvice> drop_advice(const Catalog& catalog) {
  std::vector<DropAdvice> out;
  auto drop = [](const std::string& name) { return "DROP INDEX CONCURRENTLY " + name + ";"; };
  for (const auto& t : catalog.tables) {
    std::set<std::string> done;
    for (const auto& a : t.indexes) {
      if (!a.valid) {
        out.push_back(
            {a.name, t.qualified(), "INDEX_INVALID",
             "invalid (a failed CREATE INDEX CONCURRENTLY): the planner never uses it, writes still maintain it",
             drop(a.name), a.size_bytes});
        done.insert(a.name);
      }
    }
    for (std::size_t i = 0; i < t.indexes.size(); ++i) {
      const auto& a = t.indexes[i];
      if (done.contains(a.name) || a.primary || a.constraint) continue;
      for (std::size_t j = 0; j < t.indexes.size(); ++j) {
        const auto& b = t.indexes[j];
        if (i == j || !b.valid || done.contains(b.name) || a.method != b.method || a.predicate != b.predicate) continue;
        const bool same = a.keys == b.keys && a.include == b.include && a.unique == b.unique;
        if (same && (b.primary || b.constraint || j < i)) {
          out.push_back(
              {a.name, t.qualified(), "INDEX_DUPLICATE", "same definition as " + b.name, drop(a.name), a.size_bytes});
          done.insert(a.name);
          break;
        }
        const bool prefix = !a.unique && a.method == "btree" && a.keys.size() < b.keys.size() &&
                            std::equal(a.keys.begin(), a.keys.end(), b.keys.begin()) && a.include.empty();
        if (prefix) {
          out.push_back({a.name, t.qualified(), "INDEX_PREFIX_REDUNDANT",
                         "its columns are the leading columns of " + b.name + ", which serves the same lookups",
                         drop(a.name), a.size_bytes});
          done.insert(a.name);
          break;
        }
      }
    }
    for (const auto& a : t.indexes) {
      if (done.contains(a.name) || a.unique || a.primary || a.constraint || !a.scans || *a.scans != 0) continue;
      out.push_back({a.name, t.qualified(), "INDEX_UNUSED",
                     "idx_scan = 0 since statistics were last reset; it is maintained on every write but never read",
                     drop(a.name), a.size_bytes});
    }
  }
  return out;
}

std::vector<WorkloadQuery> top_statements(pg::DatabasePool& pool, const std::string& database, int limit,
                                          const CancellationToken& cancel) {
  pg::SafeExecutor executor(pool);
  const pg::RunOptions run{.cancel = &cancel, .max_rows = 1000};
  const auto ext = executor.run(database, "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'", run);
  if (ext.rows.empty())
    throw Error(ErrorCode::unavailable,
                "pg_stat_statements is not installed in this database, so there is no workload to read.",
                "Pass the workload as `queries`, or add pg_stat_statements to shared_preload_libraries and run "
                "CREATE EXTENSION pg_stat_statements;");
  const auto r = executor.run(
      database,
      "SELECT s.query, s.calls, s.mean_exec_time FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
      "WHERE d.datname = current_database() AND s.query ~* '^\\s*(select|with|update|delete|insert)\\M' "
      "AND s.query !~* '(pg_catalog|pg_stat|hypopg|pg_class|pg_extension|information_schema)' "
      "ORDER BY s.total_exec_time DESC LIMIT " +
          std::to_string(limit),
      run);
  std::vector<WorkloadQuery> out;
  for (const auto& row : r.rows) {
    WorkloadQuery q;
    q.sql = row[0].value_or("");
    q.calls = std::max(1.0, std::stod(row[1].value_or("1")));
    q.mean_ms = std::stod(row[2].value_or("0"));
    out.push_back(std::move(q));
  }
  return out;
}

AdvisorResult advise_offline(const std::string& schema_ddl, const std::vector<WorkloadQuery>& workload,
                             const AdvisorOptions& options, const knowledge::RuleBook* rules) {
  AdvisorResult result;
  result.mode = "rule_based";
  Catalog catalog;
  if (!schema_ddl.empty()) catalog = catalog_from_ddl(schema_ddl);
  auto queries = prepare(workload, catalog, !catalog.tables.empty(), options, result);
  result.queries = static_cast<int>(workload.size());
  const auto limits = CandidateLimits::from_rules(rules, options.max_columns);
  for (auto& c : workload_candidates(queries, catalog, limits, options)) {
    Recommendation r;
    r.candidate = std::move(c);
    r.evidence =
        r.candidate.costable
            ? "Unverified: inferred from the SQL text and the schema only (no database, so nothing was costed)."
            : gin_evidence(r.candidate, catalog);
    r.writes = write_overhead(r.candidate, catalog, queries);
    result.unverified.push_back(std::move(r));
  }
  result.drops = drop_advice(catalog);
  result.notes.push_back(
      "Rule-based advice: no database was used, so the candidates are unverified and ordered as found. Configure a "
      "database with HypoPG (CREATE EXTENSION hypopg) to have each one costed over the whole workload.");
  if (schema_ddl.empty())
    result.notes.push_back("No `schema_ddl` was given, so existing indexes could not be taken into account.");
  result.stopped_by = "converged";
  return result;
}

AdvisorResult advise_live(pg::DatabasePool& pool, const std::string& database,
                          const std::vector<WorkloadQuery>& workload, const AdvisorOptions& options,
                          const knowledge::RuleBook* rules, const CancellationToken& cancel) {
  const auto started = Clock::now();
  const auto deadline = started + options.time_limit;
  AdvisorResult result;
  result.queries = static_cast<int>(workload.size());
  options.progress(0, 5, "reading the catalog");

  std::vector<std::string> names;
  for (const auto& q : workload) {
    try {
      for (const auto& t : sql::parse_query(q.sql).tables) names.push_back(t.name);
    } catch (const Error&) {
      // prepare() reports it
    }
  }
  const Catalog catalog = read_catalog(pool, database, names, &cancel);
  auto queries = prepare(workload, catalog, true, options, result);
  std::set<std::string> touched;
  for (const auto& q : queries) touched.insert(q.tables.begin(), q.tables.end());
  for (const auto& t : catalog.tables)
    if (touched.contains(t.qualified()) && !t.analyzed) result.unanalyzed_tables.push_back(t.qualified());
  if (!result.unanalyzed_tables.empty())
    result.notes.push_back("Never analyzed: " + [&] {
      std::string s;
      for (const auto& t : result.unanalyzed_tables) s += (s.empty() ? "" : ", ") + t;
      return s;
    }() + ". The planner's estimates (and these costs) are guesses until you run ANALYZE on them.");
  result.drops = drop_advice(catalog);
  result.stats_age_seconds = catalog.stats_age_seconds;
  result.stats_reset = catalog.stats_reset;
  result.server_started = catalog.server_started;
  std::erase_if(result.drops, [&](const DropAdvice& d) {
    const auto dot = d.table.find('.');
    return !table_selected(d.table.substr(0, dot), d.table.substr(dot + 1), options);
  });

  const auto limits = CandidateLimits::from_rules(rules, options.max_columns);
  auto candidates = workload_candidates(queries, catalog, limits, options);
  cancel.check();

  options.progress(1, 5, "opening a HypoPG session");
  std::optional<pg::HypotheticalIndexSession> session;
  try {
    session.emplace(pool, database, &cancel);
    result.hypopg_version = session->hypopg_version();
    result.mode = "hypopg";
  } catch (const Error& e) {
    if (e.code() != ErrorCode::unavailable || std::string_view(e.what()).find("HypoPG") == std::string_view::npos)
      throw;
    result.mode = "rule_based";
    result.notes.push_back(std::string(e.what()) +
                           " The candidates below are rule-based and unverified. To have them costed: CREATE EXTENSION "
                           "hypopg; (packaged as postgresql-<version>-hypopg; offered on Amazon RDS and Aurora, Google "
                           "Cloud SQL, Azure Database for PostgreSQL, Supabase, Neon, Crunchy Bridge).");
    for (auto& c : candidates) {
      Recommendation r;
      r.candidate = std::move(c);
      r.evidence = r.candidate.costable ? "Unverified: rule-based (HypoPG is not installed)."
                                        : gin_evidence(r.candidate, catalog);
      r.writes = write_overhead(r.candidate, catalog, queries);
      result.unverified.push_back(std::move(r));
    }
    withhold_drops(result, {}, rule_threshold(rules, "INDEX_UNUSED", "min_stats_age_days", 30));
    result.stopped_by = "converged";
    result.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    return result;
  }

  // Baseline costs; a query PostgreSQL cannot plan is reported and left out.
  options.progress(2, 5, "costing the workload");
  std::vector<Prepared*> costed;
  std::map<std::string, int> used_by;  // index a workload plan uses today -> the first such statement
  for (auto& q : queries) {
    if (!q.costable) continue;
    try {
      const auto plan = plan::parse_explain_json(session->explain_json(q.sql, q.generic));
      q.base_cost = q.current_cost = plan.root.estimates ? plan.root.estimates->total_cost : 0;
      for (const auto* node : plan::preorder(plan))
        if (node->index_name) used_by.emplace(*node->index_name, q.index);
      ++result.what_if_calls;
      costed.push_back(&q);
    } catch (const Error& e) {
      if (e.code() == ErrorCode::cancelled || e.code() == ErrorCode::unavailable) throw;
      result.skipped.push_back({q.index, q.sql, std::string("EXPLAIN failed: ") + e.what()});
    }
  }
  for (const auto* q : costed) result.cost_before += q->calls * q->base_cost;
  withhold_drops(result, used_by, rule_threshold(rules, "INDEX_UNUSED", "min_stats_age_days", 30));

  // Each costable candidate alone: its size and whether any plan uses it.
  struct Live {
    Candidate c;
    long long size = 0;
    double bound = 0;  // benefit per byte when last evaluated (lazy greedy upper bound)
    double penalty = 0;
    WriteOverhead writes;
    std::uint32_t oid = 0;  // while part of the configuration
  };
  std::vector<Live> pool_;
  std::map<std::string, double> cache;  // query index + configuration of its tables -> cost
  std::vector<int> chosen;
  int creates = 0;
  const double write_cost = rule_threshold(rules, "INDEX_WRITE_OVERHEAD", "cost_per_written_row", 10);
  const double hot_cost = rule_threshold(rules, "INDEX_WRITE_OVERHEAD", "hot_breakage_cost_per_update", 40);
  const double brin_write_share = rule_threshold(rules, "INDEX_BRIN", "write_cost_share", 0.05);

  auto config_key = [&](const Prepared& q, const std::vector<int>& config) {
    std::vector<std::string> ids;
    for (int k : config)
      if (q.tables.contains(pool_[static_cast<std::size_t>(k)].c.qualified_table()))
        ids.push_back(pool_[static_cast<std::size_t>(k)].c.identity());
    std::sort(ids.begin(), ids.end());
    std::string key = std::to_string(q.index);
    for (const auto& i : ids) key += "|" + i;
    return key;
  };
  // Cost of q with `config` (whose hypothetical indexes exist in the session right now).
  auto cost_of = [&](const Prepared& q, const std::vector<int>& config) {
    const std::string key = config_key(q, config);
    if (const auto it = cache.find(key); it != cache.end()) {
      ++result.cache_hits;
      return it->second;
    }
    ++result.what_if_calls;
    const double cost =
        cost_with_brin_correction(plan::parse_explain_json(session->explain_json(q.sql, q.generic)), catalog);
    cache.emplace(key, cost);
    return cost;
  };
  auto create = [&](Live& l) {
    if (++creates > 2000) {  // HypoPG slows down past a few thousand indexes per session
      session->reset();
      creates = 1;
      for (int k : chosen)
        pool_[static_cast<std::size_t>(k)].oid =
            session->create_index(pool_[static_cast<std::size_t>(k)].c.ddl(false)).oid;
    }
    l.oid = session->create_index(l.c.ddl(false)).oid;
  };

  options.progress(3, 5, "costing candidates");
  std::vector<Candidate> gin;  // costed from the final plans (GinModel), after the search
  for (auto& c : candidates) {
    if (!c.costable) {
      gin.push_back(std::move(c));
      continue;
    }
    if (Clock::now() > deadline) break;
    cancel.check();
    Live l;
    l.c = std::move(c);
    try {
      const auto h = session->create_index(l.c.ddl(false));
      ++creates;
      l.size = deduplicated_btree_size(l.c, catalog, std::max<long long>(h.estimated_size_bytes, 8192));
      l.oid = h.oid;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::invalid_argument) throw;
      result.notes.push_back("Candidate " + l.c.identity() + " was not tried: " + e.what());
      continue;
    }
    l.writes = write_overhead(l.c, catalog, queries);
    // A BRIN is not touched per row: an insert into a summarized range updates nothing, the
    // range is summarized later, so its write cost is a small share of a B-tree's.
    const double per_row = l.c.method == "brin" ? write_cost * brin_write_share : write_cost * (1 + l.writes.share);
    l.penalty = options.write_weight * l.writes.workload_writes * per_row +
                (l.writes.breaks_hot ? options.write_weight * hot_cost * l.writes.workload_writes : 0);
    pool_.push_back(std::move(l));
    Live& added = pool_.back();
    const int self = static_cast<int>(pool_.size()) - 1;
    double benefit = 0;
    try {
      for (auto* q : costed)
        if (q->tables.contains(added.c.qualified_table())) benefit += q->calls * (q->base_cost - cost_of(*q, {self}));
    } catch (...) {
      session->drop_index(added.oid);
      throw;
    }
    session->drop_index(added.oid);
    added.oid = 0;
    added.bound = (benefit - added.penalty) / static_cast<double>(added.size);
  }

  // Greedy over the workload: add the candidate (or widen a chosen index) with the most benefit per byte.
  options.progress(4, 5, "searching the workload");
  long long bytes = 0;
  result.stopped_by = "converged";
  const double min_gain = options.min_improvement * result.cost_before;
  std::set<int> rejected;
  for (std::size_t k = 0; k < pool_.size(); ++k)
    if (pool_[k].bound <= 0) rejected.insert(static_cast<int>(k));
  while (true) {
    if (Clock::now() > deadline) {
      result.stopped_by = "time_limit";
      break;
    }
    cancel.check();
    struct Move {
      int add = -1;
      int replace = -1;  // chosen index widened by `add`
      double benefit = 0;
      double ratio = 0;
      long long delta = 0;
    } best;
    std::vector<int> order;
    for (std::size_t k = 0; k < pool_.size(); ++k)
      if (!rejected.contains(static_cast<int>(k)) &&
          std::find(chosen.begin(), chosen.end(), static_cast<int>(k)) == chosen.end())
        order.push_back(static_cast<int>(k));
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      return pool_[static_cast<std::size_t>(a)].bound > pool_[static_cast<std::size_t>(b)].bound;
    });
    bool timed_out = false;
    double remaining = 0;  // the workload's cost with the indexes chosen so far
    for (auto* q : costed) remaining += q->calls * q->current_cost;
    for (int k : order) {
      Live& l = pool_[static_cast<std::size_t>(k)];
      if (best.add >= 0 && l.bound <= best.ratio) break;  // lazy greedy: bounds only fall as the set grows
      if (Clock::now() > deadline) {
        timed_out = true;
        break;
      }
      // Widening: a chosen B-tree whose keys lead this candidate's keys.
      int replace = -1;
      for (int j : chosen) {
        const auto& cj = pool_[static_cast<std::size_t>(j)].c;
        if (cj.qualified_table() == l.c.qualified_table() && cj.method == l.c.method && cj.where == l.c.where &&
            cj.keys.size() <= l.c.keys.size() && std::equal(cj.keys.begin(), cj.keys.end(), l.c.keys.begin()) &&
            (cj.keys.size() < l.c.keys.size() || (cj.include.empty() && !l.c.include.empty())))
          replace = j;
      }
      std::vector<int> config;
      for (int j : chosen)
        if (j != replace) config.push_back(j);
      config.push_back(k);
      if (replace >= 0) {
        session->drop_index(pool_[static_cast<std::size_t>(replace)].oid);
      }
      create(l);
      double benefit = 0;
      double sharpest = 1;  // the lowest after/base cost ratio of a statement no chosen index serves yet
      for (auto* q : costed)
        if (q->tables.contains(l.c.qualified_table())) {
          const double after = cost_of(*q, config);
          benefit += q->calls * (q->current_cost - after);
          if (q->current_cost >= q->base_cost && q->base_cost > 0) sharpest = std::min(sharpest, after / q->base_cost);
        }
      session->drop_index(l.oid);
      l.oid = 0;
      if (replace >= 0) create(pool_[static_cast<std::size_t>(replace)]);
      const long long delta = l.size - (replace >= 0 ? pool_[static_cast<std::size_t>(replace)].size : 0);
      const double net = benefit - l.penalty + (replace >= 0 ? pool_[static_cast<std::size_t>(replace)].penalty : 0);
      l.bound = net / static_cast<double>(std::max<long long>(delta, 8192));
      // The planner has no statistics for an expression until the index exists (it guesses 0.5% of
      // the rows match), so it underrates the scan an expression index replaces: any gain counts.
      const bool expression_key =
          std::any_of(l.c.keys.begin(), l.c.keys.end(), [](const std::string& k) { return k.starts_with("("); });
      if (net <= 0) {
        rejected.insert(k);
        continue;
      }
      if (net < min_gain && !expression_key) {
        // Small against the unindexed workload: still worth it when it is a real share of what
        // remains and gives a statement no chosen index serves its first sharp cut (a hot lookup
        // on a small table), not for a better variant of a served one (a wider, covering index
        // over a statement already indexed: that bloated the shop set to 149%). Not rejected for
        // good: what remains shrinks.
        if (net < options.min_improvement * remaining || sharpest > options.sharp_cut) continue;
      }
      if (options.budget_bytes > 0 && static_cast<double>(bytes + delta) > options.budget_bytes) continue;
      if (replace < 0 && options.max_indexes > 0 && static_cast<int>(chosen.size()) >= options.max_indexes) continue;
      if (best.add < 0 || l.bound > best.ratio) best = {k, replace, net, l.bound, delta};
    }
    if (best.add < 0) {
      if (timed_out)
        result.stopped_by = "time_limit";
      else if (options.max_indexes > 0 && static_cast<int>(chosen.size()) >= options.max_indexes)
        result.stopped_by = "max_indexes";
      else if (options.budget_bytes > 0 && !order.empty() && rejected.size() + chosen.size() < pool_.size())
        result.stopped_by = "budget";
      break;
    }
    if (best.replace >= 0) {
      session->drop_index(pool_[static_cast<std::size_t>(best.replace)].oid);
      pool_[static_cast<std::size_t>(best.replace)].oid = 0;
      std::erase(chosen, best.replace);
      rejected.insert(best.replace);
      pool_[static_cast<std::size_t>(best.add)].c.widens = pool_[static_cast<std::size_t>(best.replace)].c.widens;
    }
    chosen.push_back(best.add);
    create(pool_[static_cast<std::size_t>(best.add)]);
    bytes += best.delta;
    for (auto* q : costed) q->current_cost = cost_of(*q, chosen);
    options.progress(4, 5, "chose " + std::to_string(chosen.size()) + " index(es)");
  }

  // Prune: an index no final plan uses (another chosen index took its queries over) is dropped.
  // The costed statements whose plan uses index k (the hypothetical index's name in the plan).
  auto queries_using = [&](int k, bool first_only) {
    std::vector<decltype(costed)::value_type> using_k;
    std::map<std::uint32_t, std::string> names;
    for (const auto& h : session->list()) names[h.oid] = h.name;
    const auto name = names.find(pool_[static_cast<std::size_t>(k)].oid);
    if (name == names.end()) return using_k;
    for (auto* q : costed) {
      if (!q->tables.contains(pool_[static_cast<std::size_t>(k)].c.qualified_table())) continue;
      try {
        if (session->explain_json(q->sql, q->generic).find(name->second) != std::string::npos) {
          using_k.push_back(q);
          if (first_only) break;
        }
      } catch (const Error&) {
      }
    }
    return using_k;
  };
  auto plan_uses = [&](int k) { return !queries_using(k, true).empty(); };
  // A larger index chosen later can take a smaller one's queries over for a gain within the
  // estimates' error: the planner cannot see how the query's conditions correlate (every open order
  // has a note, so a partial index WHERE status = 'open' AND note IS NULL is empty), and prices the
  // smaller index as if it held the independent product of their shares. When the smaller one then
  // serves those queries and the larger one cuts under min_takeover_gain of their unindexed cost,
  // keep the smaller one and drop the larger.
  const double min_takeover_gain = rule_threshold(rules, "INDEX_PARTIAL", "min_takeover_gain", 0.01);
  for (int j : std::vector<int>(chosen)) {
    Live& small = pool_[static_cast<std::size_t>(j)];
    if (std::find(chosen.begin(), chosen.end(), j) == chosen.end() || plan_uses(j)) continue;
    for (int k : std::vector<int>(chosen)) {
      Live& large = pool_[static_cast<std::size_t>(k)];
      if (k == j || large.c.qualified_table() != small.c.qualified_table() || large.size <= small.size) continue;
      const auto served = queries_using(k, false);
      if (served.empty()) continue;
      std::vector<int> without = chosen;
      std::erase(without, k);
      session->drop_index(large.oid);
      double loss = 0, unindexed = 0;
      for (auto* q : served) {
        loss += q->calls * (cost_of(*q, without) - q->current_cost);
        unindexed += q->calls * q->base_cost;
      }
      if (loss <= min_takeover_gain * unindexed && plan_uses(j)) {
        large.oid = 0;
        bytes -= large.size;
        chosen = without;
        for (auto* q : costed) q->current_cost = cost_of(*q, chosen);
        break;
      }
      create(large);
    }
  }
  for (std::size_t i = 0; i < chosen.size();) {
    const int k = chosen[i];
    if (plan_uses(k)) {
      ++i;
      continue;
    }
    session->drop_index(pool_[static_cast<std::size_t>(k)].oid);
    pool_[static_cast<std::size_t>(k)].oid = 0;
    bytes -= pool_[static_cast<std::size_t>(k)].size;
    chosen.erase(chosen.begin() + static_cast<std::ptrdiff_t>(i));
  }

  // Final configuration: which index each query's plan uses, and its cost.
  options.progress(5, 5, "reporting");
  std::map<int, Recommendation> by_candidate;
  for (int k : chosen) {
    Recommendation r;
    const Live& l = pool_[static_cast<std::size_t>(k)];
    r.candidate = l.c;
    r.verified = true;
    r.basis = "hypopg";
    r.size_bytes = l.size;
    r.writes = l.writes;
    r.evidence =
        "Estimated with HypoPG: planner cost of each served query with and without this index set"
        " (EXPLAIN" +
        std::string(std::any_of(costed.begin(), costed.end(), [](const Prepared* q) { return q->generic; })
                        ? ", generic plans for $n queries"
                        : "") +
        ").";
    by_candidate[k] = std::move(r);
  }
  std::map<std::uint32_t, std::string> hypothetical_names;
  for (const auto& h : session->list()) hypothetical_names[h.oid] = h.name;
  std::map<int, plan::Plan> chosen_plans;  // each statement's plan with the chosen set
  for (auto* q : costed) {
    std::string plan;
    try {
      plan = session->explain_json(q->sql, q->generic);
      chosen_plans[q->index] = plan::parse_explain_json(plan);
    } catch (const Error&) {
      continue;
    }
    q->current_cost = cost_of(*q, chosen);
    result.cost_after += q->calls * q->current_cost;
    for (int k : chosen) {
      const auto name = hypothetical_names.find(pool_[static_cast<std::size_t>(k)].oid);
      if (name == hypothetical_names.end() || plan.find(name->second) == std::string::npos) continue;
      auto& r = by_candidate[k];
      r.served.push_back({q->index, q->base_cost, q->current_cost});
      r.benefit += q->calls * (q->base_cost - q->current_cost);
    }
  }
  choose_gin(gin, costed, chosen_plans, catalog, queries, options, rules, min_gain, bytes, result);
  for (int k : chosen) {
    auto& r = by_candidate[k];
    result.bytes_added += r.size_bytes - [&] {
      long long replaced = 0;
      if (const TableInfo* t = catalog.find(r.candidate.schema, r.candidate.table))
        for (const auto& i : t->indexes)
          if (i.name == r.candidate.widens) replaced = i.size_bytes;
      return replaced;
    }();
    result.recommendations.push_back(std::move(r));
  }
  // An index a recommendation widens is dropped as part of it, not listed twice.
  std::erase_if(result.drops, [&](const DropAdvice& d) {
    return std::any_of(result.recommendations.begin(), result.recommendations.end(),
                       [&](const Recommendation& r) { return r.candidate.widens == d.index; });
  });
  std::sort(result.recommendations.begin(), result.recommendations.end(),
            [](const Recommendation& a, const Recommendation& b) { return a.benefit > b.benefit; });
  // Unindexed foreign keys the workload gains nothing from are still worth knowing.
  for (std::size_t k = 0; k < pool_.size(); ++k) {
    if (pool_[k].c.kind != "foreign_key" ||
        std::find(chosen.begin(), chosen.end(), static_cast<int>(k)) != chosen.end())
      continue;
    Recommendation r;
    r.candidate = pool_[k].c;
    r.size_bytes = pool_[k].size;
    r.writes = pool_[k].writes;
    r.evidence =
        "Not chosen for this workload's reads; it serves ON DELETE/UPDATE of the referenced table and joins "
        "from it, which the workload may not show.";
    result.unverified.push_back(std::move(r));
  }
  if (result.stopped_by == "time_limit")
    result.notes.push_back("The time limit ended the search; this is the best index set found so far.");
  result.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  return result;
}

}  // namespace dbopt::advisor
