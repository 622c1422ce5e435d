// suggest_indexes: the smallest index set that cuts a workload's cost most, and the indexes to drop.
//
// A composition: core/advisor reads the catalog, builds candidates from each
// query's model, costs them with HypoPG and searches the workload; this file
// reads the arguments, picks live or offline, applies (only when asked and
// allowed) and renders markdown and structured content.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "core/advisor/advisor.h"
#include "core/advisor/django_index.h"
#include "core/advisor/verification.h"
#include "core/pg/database_pool.h"
#include "core/pg/index_apply.h"
#include "core/workload/log_reader.h"
#include "core/workload/shape_cache.h"
#include "knowledge/rule_book.h"
#include "tools/builtin_tools.h"

namespace dbopt::tools {
namespace {

using advisor::AdvisorResult;
using advisor::Recommendation;

std::string fixed(double v, int digits = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string bytes_text(long long b) {
  if (b >= 1 << 30) return fixed(static_cast<double>(b) / (1 << 30)) + " GB";
  if (b >= 1 << 20) return fixed(static_cast<double>(b) / (1 << 20)) + " MB";
  if (b >= 1 << 10) return fixed(static_cast<double>(b) / (1 << 10)) + " kB";
  return std::to_string(b) + " B";
}

std::string one_line(std::string sql, std::size_t max = 100) {
  for (auto& c : sql)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (sql.size() > max) sql = sql.substr(0, max - 3) + "...";
  return sql;
}

knowledge::TemplateValues values_for(const Recommendation& r) {
  return {{"table", r.candidate.qualified_table()}, {"ddl", r.candidate.ddl() + ";"}, {"reason", r.candidate.reason}};
}

Json recommendation_json(const Recommendation& r, const knowledge::RuleBook* rules) {
  Json j = {
      {"ddl", r.candidate.ddl() + ";"},
      {"table", r.candidate.qualified_table()},
      {"kind", r.candidate.kind},
      {"method", r.candidate.method},
      {"keys", r.candidate.keys},
      {"include", r.candidate.include},
      {"where", r.candidate.where},
      {"rule_id", r.candidate.rule_id},
      {"reason", r.candidate.reason},
      {"verified", r.verified},
      {"basis", r.basis},
      {"evidence", r.evidence},
      {"estimated_size_bytes", r.size_bytes},
      {"benefit", r.benefit},
      {"write_overhead",
       {{"share", r.writes.share},
        {"table_writes", r.writes.table_writes},
        {"workload_writes", r.writes.workload_writes},
        {"breaks_hot", r.writes.breaks_hot},
        {"hot_columns", r.writes.hot_columns}}},
      {"served_queries", Json::array()},
      {"workload_queries", std::vector<int>(r.candidate.queries.begin(), r.candidate.queries.end())},
  };
  if (!r.candidate.widens.empty()) {
    j["widens"] = r.candidate.widens;
    j["then_drop"] = "DROP INDEX CONCURRENTLY " + r.candidate.widens + ";";
  }
  if (!r.candidate.extension.empty()) j["requires_extension"] = r.candidate.extension;
  for (const auto& s : r.served)
    j["served_queries"].push_back({{"query", s.query}, {"cost_before", s.cost_before}, {"cost_after", s.cost_after}});
  if (rules)
    if (const auto* rule = rules->find(r.candidate.rule_id)) j["summary"] = rule->render_summary(values_for(r));
  return j;
}

void render_recommendation(std::string& md, int n, const Recommendation& r,
                           const std::vector<advisor::WorkloadQuery>& workload, const knowledge::RuleBook* rules) {
  const auto* rule = rules ? rules->find(r.candidate.rule_id) : nullptr;
  md += "### " + std::to_string(n) + ". " + (rule ? rule->title : r.candidate.kind) + " (`" + r.candidate.rule_id +
        "`)\n\n";
  if (!r.candidate.extension.empty())
    md +=
        "Needs the **" + r.candidate.extension + "** extension: `CREATE EXTENSION " + r.candidate.extension + ";`\n\n";
  md += "```sql\n" + r.candidate.ddl() + ";\n";
  if (!r.candidate.widens.empty())
    md += "-- widens the existing index; once built:\nDROP INDEX CONCURRENTLY " + r.candidate.widens + ";\n";
  md += "```\n\n";
  if (rule) md += rule->render_summary(values_for(r)) + "\n\n";
  static const std::map<std::string, std::string> basis_text = {
      {"hypopg", "estimated: planner cost with a HypoPG hypothetical index"},
      {"plan_model", "estimated: the plans' scans against a stated model (HypoPG cannot build it)"},
      {"rule", "not costed: judged by rule"}};
  md += "- Benefit: " + basis_text.at(r.basis) + "\n";
  if (r.size_bytes > 0)
    md += "- Estimated size: " + bytes_text(r.size_bytes) +
          (r.basis == "hypopg" && r.candidate.method == "btree" && r.candidate.include.empty()
               ? " (hypopg_relation_size scaled for B-tree deduplication from the keys' n_distinct)"
               : "") +
          "\n";
  std::string writes = "- Write overhead: ";
  if (r.writes.share > 0) writes += "~" + fixed(r.writes.share * 100, 0) + "% more write work per row written; ";
  writes += std::to_string(r.writes.table_writes) + " rows written since stats reset";
  if (r.writes.workload_writes > 0) writes += ", " + fixed(r.writes.workload_writes, 0) + " workload writes";
  if (r.writes.breaks_hot) {
    writes += "; **breaks HOT updates** of ";
    for (std::size_t i = 0; i < r.writes.hot_columns.size(); ++i) writes += (i ? ", " : "") + r.writes.hot_columns[i];
  }
  md += writes + "\n";
  md += "- Evidence: " + r.evidence + "\n";
  for (const auto& s : r.served) {
    const double cut = s.cost_before > 0 ? 100 * (1 - s.cost_after / s.cost_before) : 0;
    md += "- Query " + std::to_string(s.query + 1) + ": cost " + fixed(s.cost_before) + " → " + fixed(s.cost_after) +
          " (−" + fixed(cut, 0) + "%) `" + one_line(workload[static_cast<std::size_t>(s.query)].sql) + "`\n";
  }
  if (r.served.empty() && !r.candidate.queries.empty()) {
    md += "- For queries:";
    for (int q : r.candidate.queries) md += " " + std::to_string(q + 1);
    md += "\n";
  }
  md += "\n";
}

Json verification_json(const advisor::Verification& v) {
  Json j = {{"complete", v.complete},       {"before_ms", v.before_ms},
            {"after_ms", v.after_ms},       {"improvement", v.before_ms > 0 ? 1 - v.after_ms / v.before_ms : 0.0},
            {"index_bytes", v.index_bytes}, {"statements", Json::array()},
            {"built", Json::array()}};
  for (const auto& t : v.statements) {
    Json s = {{"query", t.query}};
    if (t.not_measured.empty()) {
      s["before_ms"] = t.before_ms;
      s["after_ms"] = t.after_ms;
    } else {
      s["not_measured"] = t.not_measured;
    }
    j["statements"].push_back(std::move(s));
  }
  for (const auto& b : v.built)
    j["built"].push_back({{"statement", b.statement}, {"build_ms", b.build_ms}, {"size_bytes", b.size_bytes}});
  return j;
}

std::string render_verification(const Json& v, const std::vector<advisor::WorkloadQuery>& workload) {
  std::string md =
      "## Measured on the scratch database\n\nThe chosen indexes were built for real inside a "
      "transaction that was rolled back (" +
      std::to_string(v["built"].size()) + " built, " + bytes_text(v["index_bytes"].get<long long>()) +
      " real size). Σ calls × median EXPLAIN ANALYZE execution time: " + fixed(v["before_ms"].get<double>() / 1000, 2) +
      " s → " + fixed(v["after_ms"].get<double>() / 1000, 2) + " s (−" +
      fixed(100 * v["improvement"].get<double>(), 1) + "%)" +
      (v["complete"].get<bool>() ? "" : "; cut short by verify_time_limit_s") + ".\n\n";
  md += "| query | before ms | after ms | statement |\n|---|---|---|---|\n";
  for (const auto& s : v["statements"]) {
    const int q = s["query"];
    const std::string text = one_line(workload[static_cast<std::size_t>(q)].sql, 70);
    if (s.contains("not_measured"))
      md += "| " + std::to_string(q + 1) + " | | | `" + text + "`: " + s["not_measured"].get<std::string>() + " |\n";
    else
      md += "| " + std::to_string(q + 1) + " | " + fixed(s["before_ms"].get<double>(), 2) + " | " +
            fixed(s["after_ms"].get<double>(), 2) + " | `" + text + "` |\n";
  }
  return md + "\n";
}

ToolResult render(const AdvisorResult& a, const std::vector<advisor::WorkloadQuery>& workload,
                  const std::string& database, const std::string& source, const Json& applied,
                  const knowledge::RuleBook* rules) {
  ToolResult out;
  Json& s = out.structured;
  s["mode"] = a.mode;
  s["source"] = source;
  if (!database.empty()) s["database"] = database;
  if (!a.hypopg_version.empty()) s["hypopg_version"] = a.hypopg_version;
  s["workload"] = {{"queries", a.queries},
                   {"cost_before", a.cost_before},
                   {"cost_after", a.cost_after},
                   {"improvement", a.cost_before > 0 ? 1 - a.cost_after / a.cost_before : 0.0},
                   {"index_bytes_added", a.bytes_added}};
  s["recommendations"] = Json::array();
  for (const auto& r : a.recommendations) s["recommendations"].push_back(recommendation_json(r, rules));
  std::vector<advisor::Candidate> chosen;
  for (const auto& r : a.recommendations) chosen.push_back(r.candidate);
  s["django"] = advisor::django_code(chosen);
  s["unverified"] = Json::array();
  for (const auto& r : a.unverified) s["unverified"].push_back(recommendation_json(r, rules));
  s["drops"] = Json::array();
  for (const auto& d : a.drops)
    s["drops"].push_back({{"index", d.index},
                          {"table", d.table},
                          {"rule_id", d.rule_id},
                          {"reason", d.reason},
                          {"ddl", d.ddl},
                          {"size_bytes", d.size_bytes}});
  s["withheld_drops"] = Json::array();
  for (const auto& d : a.withheld_drops)
    s["withheld_drops"].push_back({{"index", d.index},
                                   {"table", d.table},
                                   {"rule_id", d.rule_id},
                                   {"reason", d.reason},
                                   {"size_bytes", d.size_bytes}});
  s["statistics"] = {{"stats_reset", a.stats_reset}, {"server_started", a.server_started}};
  if (a.stats_age_seconds) s["statistics"]["age_seconds"] = *a.stats_age_seconds;
  s["skipped_queries"] = Json::array();
  for (const auto& k : a.skipped)
    s["skipped_queries"].push_back({{"query", k.query}, {"sql", k.sql}, {"reason", k.reason}});
  s["unanalyzed_tables"] = a.unanalyzed_tables;
  s["notes"] = a.notes;
  s["search"] = {{"what_if_calls", a.what_if_calls},
                 {"cache_hits", a.cache_hits},
                 {"elapsed_ms", a.elapsed_ms},
                 {"stopped_by", a.stopped_by}};
  if (!applied.is_null()) s["applied"] = applied;

  std::string& md = out.markdown;
  md = "# Index advice\n\n";
  if (a.mode == "hypopg") {
    md += "Workload of " + std::to_string(a.queries) + " queries" + (database.empty() ? "" : " on `" + database + "`") +
          ": estimated cost " + fixed(a.cost_before) + " → " + fixed(a.cost_after) + " (−" +
          fixed(a.cost_before > 0 ? 100 * (1 - a.cost_after / a.cost_before) : 0, 1) + "%), " +
          std::to_string(a.recommendations.size()) + " index(es), " + bytes_text(a.bytes_added) +
          " added. Costs are the " + "planner's estimates with HypoPG hypothetical indexes (HypoPG " +
          a.hypopg_version + "); verify with real timings.\n\n";
  } else {
    md += "**Rule-based, unverified** advice for " + std::to_string(a.queries) + " queries: nothing was costed.\n\n";
  }
  for (const auto& n : a.notes) md += "> " + n + "\n\n";
  int n = 0;
  if (!a.recommendations.empty()) {
    md += "## Recommended indexes\n\n";
    for (const auto& r : a.recommendations) render_recommendation(md, ++n, r, workload, rules);
  } else if (a.mode == "hypopg") {
    md += "No new B-tree or BRIN index cuts the workload's estimated cost by the minimum improvement.\n\n";
  }
  if (!out.structured["django"].get<std::string>().empty())  // a JSON string is never .empty()
    md += "## Django\n\nThe same indexes in the models and a migration that builds them concurrently:\n\n```python\n" +
          out.structured["django"].get<std::string>() + "```\n\n";
  if (!a.unverified.empty()) {
    md += a.mode == "hypopg" ? "## Not chosen, or judged by rule only\n\n" : "## Candidate indexes (unverified)\n\n";
    for (const auto& r : a.unverified) render_recommendation(md, ++n, r, workload, rules);
  }
  if (!a.drops.empty() || !a.withheld_drops.empty()) {
    md += "## Drop advice (separate from the recommendations above: review before running)\n\n";
    if (a.stats_age_seconds)
      md +=
          "Usage counters (idx_scan) counting for " + fixed(*a.stats_age_seconds / 86400, 1) + " days (" +
          (a.stats_reset.empty() ? "never reset; server started " + a.server_started : "last reset " + a.stats_reset) +
          "). They are this server's only: reads on replicas are not in them.\n\n";
    for (const auto& d : a.drops)
      md += "- `" + d.ddl + "` (" + d.rule_id + ", " + bytes_text(d.size_bytes) + "): " + d.reason + "\n";
    for (const auto& d : a.withheld_drops)
      md += "- Kept `" + d.index + "` (" + d.rule_id + ", " + bytes_text(d.size_bytes) + "): " + d.reason + "\n";
    md += "\n";
  }
  if (!a.skipped.empty()) {
    md += "## Queries not analysed\n\n";
    for (const auto& k : a.skipped)
      md += "- Query " + std::to_string(k.query + 1) + " `" + one_line(k.sql) + "`: " + k.reason + "\n";
    md += "\n";
  }
  if (!applied.is_null()) {
    md += "## Applied\n\n";
    for (const auto& st : applied) md += "- `" + st.get<std::string>() + "`\n";
    md += "\n";
  }
  if (a.mode == "hypopg")
    md += "Search: " + std::to_string(a.what_if_calls) + " what-if EXPLAINs, " + std::to_string(a.cache_hits) +
          " cache hits, " + fixed(a.elapsed_ms / 1000, 2) + " s, stopped: " + a.stopped_by + ".\n";
  return out;
}

// The workload of a query log (`log` text or `log_path`), read by detect_n_plus_one's
// streaming readers: statements grouped by shape, the busiest `top_n` by total
// time (by count when the log has no durations), each costed with its first
// statement as logged.
std::vector<advisor::WorkloadQuery> workload_from_log(const Json& args, ToolContext& ctx,
                                                      std::vector<std::string>& notes) {
  workload::ReadOptions read;
  try {
    read.format = workload::parse_log_format(args.value("format", "auto"));
  } catch (const Error& e) {
    throw Error(e.code(), std::string("`format`: ") + e.what(), e.fix());
  }
  read.log_line_prefix = args.value("log_line_prefix", "");
  std::ifstream file;
  std::istringstream text;
  std::istream* in = &text;
  if (args.contains("log_path")) {
    const std::string path = args["log_path"];
    file.open(path, std::ios::binary);
    if (!file)
      throw Error(ErrorCode::not_found, "`log_path`: cannot open '" + path + "' for reading.",
                  "Give a path the dbopt server can read, or pass the log text as `log`.");
    in = &file;
  } else {
    text.str(args.value("log", ""));
  }
  struct Totals {
    double calls = 0, total_ms = 0;
    bool timed = false;
  };
  workload::ShapeCache shapes;
  std::map<std::uint32_t, Totals> by_shape;
  const workload::ReadStats stats = workload::read_log(
      *in, read,
      [&](workload::LogRecord& r) {
        if (r.kind != workload::LogRecord::Kind::statement) return;
        Totals& t = by_shape[shapes.intern(r.event.sql).shape];
        ++t.calls;
        if (r.event.duration_ms) {
          t.total_ms += *r.event.duration_ms;
          t.timed = true;
        }
      },
      &ctx.cancel);
  std::vector<std::pair<std::uint32_t, Totals>> ranked;
  for (const auto& [id, t] : by_shape) {
    const workload::Shape& shape = shapes.shape(id);
    if (!shape.model) continue;
    const sql::StatementKind kind = shape.model->kind;
    if (kind == sql::StatementKind::select || sql::changes_rows(kind)) ranked.emplace_back(id, t);
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return std::tie(a.second.total_ms, a.second.calls) > std::tie(b.second.total_ms, b.second.calls);
  });
  const std::size_t top = static_cast<std::size_t>(args.value("top_n", 20));
  if (ranked.size() > top) ranked.resize(top);
  std::vector<advisor::WorkloadQuery> out;
  for (const auto& [id, t] : ranked) {
    advisor::WorkloadQuery w;
    w.sql = shapes.shape(id).example;
    w.calls = t.calls;
    if (t.timed) w.mean_ms = t.total_ms / t.calls;
    out.push_back(std::move(w));
  }
  notes.push_back("Workload read from a " + std::string(workload::to_string(stats.format)) +
                  " log: " + std::to_string(stats.statements) + " statements of " + std::to_string(shapes.size()) +
                  " shapes (" + std::to_string(stats.skipped_lines) + " unreadable lines skipped); the " +
                  std::to_string(out.size()) + " busiest SELECT/INSERT/UPDATE/DELETE shapes by " +
                  (std::any_of(ranked.begin(), ranked.end(), [](const auto& r) { return r.second.timed; })
                       ? "total time"
                       : "count (the log has no durations)") +
                  ", each costed with its first statement as logged.");
  if (out.empty())
    throw Error(ErrorCode::invalid_argument,
                "The log holds no SELECT/INSERT/UPDATE/DELETE statement dbopt could read (" +
                    std::to_string(stats.lines) + " lines, " + std::to_string(stats.skipped_lines) + " skipped).",
                "Check `format` (and `log_line_prefix` for a PostgreSQL stderr log), or pass `queries`.");
  return out;
}

ToolResult run_suggest_indexes(const Json& args, ToolContext& ctx) {
  advisor::AdvisorOptions options;
  if (args.contains("budget_mb")) options.budget_bytes = args["budget_mb"].get<double>() * 1024 * 1024;
  options.max_indexes = args.value("max_indexes", 0);
  options.max_columns = args.value("max_columns", 3);
  options.min_improvement = args.value("min_improvement", 0.001);
  options.write_weight = args.value("write_weight", 1.0);
  if (args.contains("include_tables")) options.include_tables = args["include_tables"].get<std::vector<std::string>>();
  if (args.contains("exclude_tables")) options.exclude_tables = args["exclude_tables"].get<std::vector<std::string>>();
  options.time_limit = std::chrono::milliseconds(static_cast<long long>(args.value("time_limit_s", 30.0) * 1000));
  options.progress = [&](double done, double total, const std::string& message) { ctx.progress(done, total, message); };
  const bool apply = args.value("apply", false);
  const std::string database = args.value("database", "");
  const std::string schema_ddl = args.value("schema_ddl", "");

  std::string source = args.value("source", "");
  if (source.empty())
    source = args.contains("queries")                            ? "queries"
             : args.contains("log") || args.contains("log_path") ? "log"
                                                                 : "pg_stat_statements";
  std::vector<std::string> source_notes;
  if (source == "queries" && !args.contains("queries"))
    throw Error(ErrorCode::invalid_argument, "`source` is \"queries\" but no `queries` were given.",
                "Pass `queries`: [{\"sql\": \"...\", \"calls\": 100}], or set source to pg_stat_statements.");
  std::vector<advisor::WorkloadQuery> workload;
  if (args.contains("queries"))
    for (const auto& q : args["queries"]) {
      advisor::WorkloadQuery w;
      w.sql = q["sql"].get<std::string>();
      w.calls = q.value("calls", 1.0);
      if (q.contains("mean_ms")) w.mean_ms = q["mean_ms"].get<double>();
      workload.push_back(std::move(w));
    }
  if (source == "log") {
    if (!args.contains("log") && !args.contains("log_path"))
      throw Error(ErrorCode::invalid_argument, "`source` is \"log\" but neither `log` nor `log_path` was given.",
                  "Pass the log text as `log` or a file the server can read as `log_path`.");
    workload = workload_from_log(args, ctx, source_notes);
  }

  const bool offline = !ctx.databases || (!schema_ddl.empty() && !args.contains("database"));
  if (offline) {
    if (source == "pg_stat_statements")
      throw Error(ErrorCode::invalid_argument, "pg_stat_statements needs a database, and none is configured.",
                  "Pass `queries` (with `schema_ddl` for offline advice), or configure a database (DATABASE_URL).");
    if (apply)
      throw Error(ErrorCode::invalid_argument, "`apply` needs a database, and this call is offline.",
                  "Configure the database and name it in `database`; set allow_apply: true for it in the config.");
    if (args.contains("database") && !ctx.databases)
      throw Error(
          ErrorCode::invalid_argument, "`database` was given, but no database is configured.",
          "Set DATABASE_URL or add databases to the config; or drop `database` for offline advice from `schema_ddl`.");
    AdvisorResult result;
    try {
      result = advisor::advise_offline(schema_ddl, workload, options, ctx.rules);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::invalid_argument) throw;
      throw Error(e.code(), std::string("`schema_ddl`: ") + e.what(),
                  "Pass DDL that PostgreSQL 15 parses (pg_dump --schema-only works).");
    }
    result.notes.insert(result.notes.begin(), source_notes.begin(), source_notes.end());
    return render(result, workload, "", source, Json(), ctx.rules);
  }

  std::string db_name;
  try {
    db_name = ctx.databases->database(database).name;
  } catch (const Error& e) {
    throw Error(e.code(), std::string("`database`: ") + e.what(), e.fix());
  }
  const bool verify = args.value("verify", false);
  if (verify && !ctx.databases->database(database).scratch)
    throw Error(
        ErrorCode::permission_denied,
        "`verify`: database `" + db_name + "` is not marked scratch, and verifying builds the indexes for real.",
        "Run it against a staging copy whose config sets scratch: true (the builds are rolled back), or drop "
        "`verify` for the estimates.");
  if (apply && !ctx.databases->database(database).allow_apply)
    throw Error(ErrorCode::permission_denied,
                "`apply`: the config of database `" + db_name + "` does not allow creating indexes.",
                "Drop `apply` to get the advice only, or set allow_apply: true for this database in the config.");
  if (source == "pg_stat_statements") {
    workload = advisor::top_statements(*ctx.databases, database, args.value("top_n", 20), ctx.cancel);
    if (workload.empty())
      throw Error(ErrorCode::not_found,
                  "pg_stat_statements has no SELECT/INSERT/UPDATE/DELETE statements for this database yet.",
                  "Let the application run for a while, or pass the workload as `queries`.");
  }
  const auto started = std::chrono::steady_clock::now();
  AdvisorResult result = advisor::advise_live(*ctx.databases, database, workload, options, ctx.rules, ctx.cancel);
  Json verification;
  if (verify && !result.recommendations.empty()) {
    ctx.progress(5, 6, "verifying on the scratch database: building the chosen indexes for real (rolled back)");
    std::vector<std::string> statements;
    for (const auto& r : result.recommendations)
      if (r.candidate.extension.empty()) statements.push_back(r.candidate.ddl());  // no CREATE EXTENSION on scratch
    const auto v = advisor::verify_on_scratch(
        *ctx.databases, database, workload, statements, 3,
        started + std::chrono::milliseconds(static_cast<long long>(args.value("verify_time_limit_s", 120.0) * 1000)),
        ctx.cancel);
    verification = verification_json(v);
  }
  Json applied;
  if (apply) {
    applied = Json::array();
    for (const auto& r : result.recommendations) {
      const std::string create = r.candidate.ddl();
      pg::apply_index_statement(*ctx.databases, database, create, &ctx.cancel);
      applied.push_back(create);
      if (!r.candidate.widens.empty()) {
        const std::string drop = "DROP INDEX CONCURRENTLY " + r.candidate.widens;
        pg::apply_index_statement(*ctx.databases, database, drop, &ctx.cancel);
        applied.push_back(drop);
      }
    }
  }
  result.notes.insert(result.notes.begin(), source_notes.begin(), source_notes.end());
  ToolResult out = render(result, workload, db_name, source, applied, ctx.rules);
  if (!verification.is_null()) {
    out.structured["verification"] = verification;
    out.markdown += render_verification(verification, workload);
  }
  return out;
}

Json index_schema() {
  return Json::parse(R"json({
        "type": "object",
        "properties": {
          "ddl": {"type": "string"}, "table": {"type": "string"}, "kind": {"type": "string"}, "method": {"type": "string"},
          "keys": {"type": "array", "items": {"type": "string"}}, "include": {"type": "array", "items": {"type": "string"}},
          "where": {"type": "string"}, "rule_id": {"type": "string"}, "reason": {"type": "string"}, "summary": {"type": "string"},
          "verified": {"type": "boolean"}, "evidence": {"type": "string"},
          "basis": {"type": "string", "enum": ["hypopg", "plan_model", "rule"], "description": "How the benefit was judged: HypoPG planner cost, the plans against a stated model (GIN), or by rule only."},
          "estimated_size_bytes": {"type": "integer"}, "benefit": {"type": "number"},
          "write_overhead": {"type": "object"},
          "served_queries": {"type": "array", "items": {"type": "object", "properties": {"query": {"type": "integer"}, "cost_before": {"type": "number"}, "cost_after": {"type": "number"}}}},
          "workload_queries": {"type": "array", "items": {"type": "integer"}},
          "widens": {"type": "string"}, "then_drop": {"type": "string"}, "requires_extension": {"type": "string"}
        },
        "required": ["ddl", "table", "kind", "method", "rule_id", "verified", "evidence"]
  })json");
}

Json output_schema() {
  Json schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "mode": {"type": "string", "enum": ["hypopg", "rule_based"], "description": "hypopg: costed with hypothetical indexes; rule_based: unverified candidates (offline or without HypoPG)."},
      "source": {"type": "string", "enum": ["queries", "pg_stat_statements", "log"]},
      "database": {"type": "string"},
      "hypopg_version": {"type": "string"},
      "workload": {
        "type": "object",
        "properties": {
          "queries": {"type": "integer"},
          "cost_before": {"type": "number", "description": "Sum over queries of calls x estimated cost, before."},
          "cost_after": {"type": "number", "description": "The same with the recommended indexes."},
          "improvement": {"type": "number"},
          "index_bytes_added": {"type": "integer"}
        },
        "required": ["queries", "cost_before", "cost_after", "improvement", "index_bytes_added"]
      },
      "recommendations": {"type": "array", "description": "Chosen indexes, costed with HypoPG, most benefit first.", "items": {}},
      "django": {"type": "string", "description": "The recommendations as Django Meta.indexes entries and an AddIndexConcurrently migration (RunSQL where Django's index API cannot express one); empty without recommendations."},
      "unverified": {"type": "array", "description": "Candidates not chosen: GIN whose estimated gain from the plans is too small, everything offline or without HypoPG, unindexed foreign keys the workload did not need.", "items": {}},
      "drops": {
        "type": "array",
        "items": {
          "type": "object",
          "properties": {
            "index": {"type": "string"}, "table": {"type": "string"},
            "rule_id": {"type": "string", "enum": ["INDEX_UNUSED", "INDEX_DUPLICATE", "INDEX_PREFIX_REDUNDANT", "INDEX_INVALID"]},
            "reason": {"type": "string"}, "ddl": {"type": "string"}, "size_bytes": {"type": "integer"}
          },
          "required": ["index", "table", "rule_id", "reason", "ddl"]
        }
      },
      "withheld_drops": {"type": "array", "description": "Indexes a drop rule matched but the evidence does not support dropping: a workload plan uses them, or the usage counters are too young.", "items": {"type": "object", "properties": {"index": {"type": "string"}, "table": {"type": "string"}, "rule_id": {"type": "string"}, "reason": {"type": "string"}, "size_bytes": {"type": "integer"}}, "required": ["index", "rule_id", "reason"]}},
      "statistics": {"type": "object", "description": "Age of the usage counters drop advice rests on.", "properties": {"stats_reset": {"type": "string"}, "server_started": {"type": "string"}, "age_seconds": {"type": "number"}}},
      "skipped_queries": {"type": "array", "items": {"type": "object", "properties": {"query": {"type": "integer"}, "sql": {"type": "string"}, "reason": {"type": "string"}}, "required": ["query", "reason"]}},
      "unanalyzed_tables": {"type": "array", "items": {"type": "string"}},
      "notes": {"type": "array", "items": {"type": "string"}},
      "search": {"type": "object", "properties": {"what_if_calls": {"type": "integer"}, "cache_hits": {"type": "integer"}, "elapsed_ms": {"type": "number"}, "stopped_by": {"type": "string"}}},
      "applied": {"type": "array", "items": {"type": "string"}, "description": "Statements run because apply was true."},
      "verification": {"type": "object", "description": "verify: measured times per statement before and after the chosen indexes, built for real on a scratch database and rolled back."}
    },
    "required": ["mode", "workload", "recommendations", "unverified", "drops", "skipped_queries", "notes"]
  })json");
  schema["properties"]["recommendations"]["items"] = index_schema();
  schema["properties"]["unverified"]["items"] = index_schema();
  return schema;
}

}  // namespace

Tool make_suggest_indexes_tool() {
  Tool tool;
  tool.name = "suggest_indexes";
  tool.title = "Recommend indexes for a workload";
  tool.description =
      "Recommends the smallest set of indexes that cuts a workload's cost most, and lists indexes to drop. Candidates "
      "come from each query's shape: B-tree with equality columns first then the range or ORDER BY ... LIMIT columns "
      "(with DESC), join columns, covering (INCLUDE), partial indexes for rare constants (from pg_stats), expression "
      "indexes (lower(), ->>), unindexed foreign keys, BRIN for large append-only ordered tables; GIN for jsonb/array/"
      "full text and pg_trgm for LIKE '%x%'. On a database with HypoPG every B-tree/BRIN candidate is costed with "
      "hypothetical indexes (generic plans for $n queries) and a greedy workload-wide search picks the set by benefit "
      "per byte under `budget_mb` and `min_improvement` (no index count limit unless `max_indexes`), within "
      "`time_limit_s`; GIN candidates, which HypoPG cannot build, are then costed on the same scale from the final "
      "plans (basis plan_model) and chosen by the same rule. Each recommendation says its basis. The "
      "workload is `queries` (with calls), the top `top_n` statements of pg_stat_statements, or the busiest statement "
      "shapes of a query log (`log` or `log_path`: Django SQL log, PostgreSQL stderr/csvlog/jsonlog, JSON Lines). With "
      "`schema_ddl` and "
      "no database, or without HypoPG, it gives rule-based candidates labelled unverified. Returns CREATE INDEX "
      "CONCURRENTLY statements, per-query cost before/after, the workload total, estimated size, write overhead "
      "(HOT breakage), the rule id; a separate drop section: DROP INDEX CONCURRENTLY for unused, duplicate, "
      "prefix-redundant and invalid indexes, with the usage counters' age, never for an index a workload plan uses. "
      "Builds nothing unless `apply` is true and the database's config sets allow_apply.";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "queries": {
        "type": "array", "minItems": 1, "maxItems": 1000,
        "items": {
          "type": "object",
          "properties": {
            "sql": {"type": "string", "minLength": 1},
            "calls": {"type": "number", "exclusiveMinimum": 0, "description": "How often the query runs (weight)."},
            "mean_ms": {"type": "number", "minimum": 0}
          },
          "required": ["sql"],
          "additionalProperties": false
        }
      },
      "source": {"type": "string", "enum": ["queries", "pg_stat_statements", "log"], "description": "Where the workload comes from; `queries` when given, else pg_stat_statements of the database."},
      "top_n": {"type": "integer", "minimum": 1, "maximum": 200, "default": 20, "description": "pg_stat_statements or a log: how many statements (shapes) by total time."},
      "log": {"type": "string", "minLength": 1, "description": "A query log as text (Django SQL log, PostgreSQL stderr/csvlog/jsonlog, JSON Lines): the busiest `top_n` statement shapes become the workload."},
      "log_path": {"type": "string", "minLength": 1, "description": "Path of such a log, readable by the dbopt server (streamed)."},
      "format": {"type": "string", "description": "The log's format (with `log` or `log_path`).", "enum": ["auto", "django", "postgres_stderr", "postgres_csv", "postgres_json", "jsonl"], "default": "auto"},
      "log_line_prefix": {"type": "string", "description": "The server's log_line_prefix, when a stderr log's prefix is not detected."},
      "schema_ddl": {"type": "string", "description": "CREATE TABLE / CREATE INDEX statements for offline advice (used when no `database` is named)."},
      "database": {"type": "string", "description": "Configured database name; the default one when absent."},
      "budget_mb": {"type": "number", "exclusiveMinimum": 0, "description": "Storage budget for new indexes."},
      "max_indexes": {"type": "integer", "minimum": 1, "maximum": 500, "description": "At most this many new indexes; no count limit by default (the minimum improvement and the budget decide)."},
      "max_columns": {"type": "integer", "minimum": 1, "maximum": 8, "default": 3},
      "min_improvement": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.001, "description": "Minimum share of the workload's cost an index must cut to be added (0.1 = 10%)."},
      "write_weight": {"type": "number", "minimum": 0, "default": 1, "description": "How much index write overhead (workload writes, HOT breakage) counts against benefit."},
      "include_tables": {"type": "array", "items": {"type": "string"}},
      "exclude_tables": {"type": "array", "items": {"type": "string"}},
      "verify": {"type": "boolean", "default": false, "description": "On a database the config marks scratch: true, build the chosen indexes for real inside a rolled-back transaction and measure every read statement before and after (EXPLAIN ANALYZE), reported under verification."},
      "verify_time_limit_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600, "default": 120, "description": "Time for the advice and its verification together; verification stops there with what it measured."},
      "time_limit_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 600, "default": 30, "description": "The search stops here and returns the best set so far."},
      "apply": {"type": "boolean", "default": false, "description": "Build the recommended indexes (CREATE INDEX CONCURRENTLY); only where the config sets allow_apply for the database."}
    },
    "additionalProperties": false
  })json");
  tool.output_schema = output_schema();
  tool.annotations = {.read_only = false, .destructive = false, .idempotent = false, .open_world = false};
  tool.handler = run_suggest_indexes;
  return tool;
}

}  // namespace dbopt::tools
