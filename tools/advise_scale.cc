// advise_scale: caching, materialized views, time-series layout, read
// replicas and sharding, from a database's own statistics.
//
// A composition: core/scale reads the statistics and catalogs (read-only,
// through the safe executor) or takes a snapshot given as JSON, and applies
// the rules of knowledge/rules/scale.yaml; this file reads the arguments and
// renders an evidence table per table and the findings with what to paste.
#include <chrono>
#include <cstdio>
#include <sstream>

#include "core/scale/scale_advice.h"
#include "knowledge/rule_book.h"
#include "tools/builtin_tools.h"
#include "tools/finding_json.h"

namespace dbopt::tools {
namespace {

using scale::ScaleFocus;

constexpr std::size_t kMaxSnapshotBytes = 4 * 1024 * 1024;

Json table_json(const scale::TableProfile& t) {
  Json j = {{"table", t.table},
            {"labels", t.labels},
            {"reads", t.reads},
            {"fk_check_reads", t.fk_check_reads},
            {"writes", t.writes},
            {"read_write_ratio", t.read_write_ratio ? Json(*t.read_write_ratio) : Json(nullptr)},
            {"total_bytes", t.total_bytes},
            {"live_rows", t.live_rows}};
  if (!t.time_column.empty()) j["time_column"] = t.time_column;
  if (t.correlation) j["correlation"] = *t.correlation;
  return j;
}

std::string number(double v) {
  char buf[48];
  if (v >= 1e6)
    std::snprintf(buf, sizeof buf, "%.1fM", v / 1e6);
  else if (v >= 1e4)
    std::snprintf(buf, sizeof buf, "%.0fk", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::string size(double b) {
  char buf[48];
  if (b >= 1024.0 * 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f GB", b / (1024.0 * 1024 * 1024));
  else if (b >= 1024.0 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f MB", b / (1024.0 * 1024));
  else
    std::snprintf(buf, sizeof buf, "%.0f kB", b / 1024);
  return buf;
}

std::string render_markdown(const Json& out) {
  std::ostringstream o;
  const std::string db = out["database_name"].get<std::string>();
  o << "# Caching and scale: " << (db.empty() ? std::string("the given snapshot") : "`" + db + "`") << "\n\n";
  std::string focus;
  for (const auto& f : out["focus"]) focus += (focus.empty() ? "" : ", ") + f.get<std::string>();
  o << "Looked at: " << focus << ". Evidence: " << (out["offline"].get<bool>() ? "the snapshot given" : "measured")
    << " (pg_stat_user_tables counters" << (out["statements_available"].get<bool>() ? ", pg_stat_statements" : "")
    << ", pg_stats correlation, sizes, foreign keys); reads = seq_scan + idx_scan less the foreign-key checks "
       "(estimated: rows inserted into referencing tables), writes = rows inserted + updated + deleted.";
  if (!out["tenant_key"].get<std::string>().empty())
    o << " Tenant key: `" << out["tenant_key"].get<std::string>() << "`.";
  o << "\n\n## Tables\n\n| table | size | rows | reads | writes | reads/write | class "
       "|\n|---|---|---|---|---|---|---|\n";
  int shown = 0, hidden = 0;
  for (const auto& t : out["tables"]) {
    if (shown >= 40) {
      ++hidden;
      continue;
    }
    ++shown;
    std::string labels;
    for (const auto& l : t["labels"]) labels += (labels.empty() ? "" : ", ") + l.get<std::string>();
    if (t.contains("time_column"))
      labels += " (" + t["time_column"].get<std::string>() +
                (t.contains("correlation") ? ", corr " + std::to_string(t["correlation"].get<double>()).substr(0, 5)
                                           : std::string()) +
                ")";
    char ratio[32] = "no writes";
    if (!t["read_write_ratio"].is_null())
      std::snprintf(ratio, sizeof ratio, "%.1f", t["read_write_ratio"].get<double>());
    o << "| " << t["table"].get<std::string>() << " | " << size(t["total_bytes"].get<double>()) << " | "
      << number(t["live_rows"].get<double>()) << " | " << number(t["reads"].get<double>()) << " | "
      << number(t["writes"].get<double>()) << " | " << ratio << " | " << (labels.empty() ? "-" : labels) << " |\n";
  }
  if (hidden > 0) o << "\n(" << hidden << " smaller tables not shown; all are in the structured output.)\n";
  bool any = false;
  for (const auto& f : out["findings"]) {
    if (f["severity"] == "info") continue;
    if (!any) o << "\n## Recommendations\n";
    any = true;
    o << "\n### " << f["title"].get<std::string>() << " (`" << f["rule_id"].get<std::string>() << "`)\n\n"
      << f["summary"].get<std::string>() << "\n\n"
      << f["fix"].get<std::string>() << "\n";
  }
  if (!any) o << "\nNo recommendation crossed its threshold.\n";
  bool any_info = false;
  for (const auto& f : out["findings"]) {
    if (f["severity"] != "info") continue;
    if (!any_info) o << "\n## What not to do\n";
    any_info = true;
    o << "\n### " << f["title"].get<std::string>() << " (`" << f["rule_id"].get<std::string>() << "`)\n\n"
      << f["summary"].get<std::string>() << "\n\n"
      << f["fix"].get<std::string>() << "\n";
  }
  if (!out["notes"].empty()) {
    o << "\n## Notes\n\n";
    for (const auto& n : out["notes"]) o << "- " << n.get<std::string>() << "\n";
  }
  return o.str();
}

ToolResult run_advise_scale(const Json& args, ToolContext& ctx) {
  if (!ctx.rules)
    throw Error(ErrorCode::unavailable, "The rule knowledge base is not loaded, so there is nothing to advise from.",
                "Restart dbopt and check knowledge_dir in the config.");
  std::set<ScaleFocus> focus;
  for (const auto& f : args.value("focus", Json::array()))
    focus.insert(*scale::parse_scale_focus(f.get<std::string>()));
  if (args.contains("database") && args.contains("snapshot"))
    throw Error(ErrorCode::invalid_argument, "`database` and `snapshot` were both given.",
                "Pass `database` to read a configured database, or `snapshot` to advise on saved numbers, not both.");
  const auto started = std::chrono::steady_clock::now();
  scale::ScaleSnapshot snapshot;
  if (args.contains("snapshot")) {
    const Json& s = args["snapshot"];
    snapshot = scale::scale_snapshot_from_json(s.is_string() ? s.get<std::string>() : s.dump());
  } else {
    if (!ctx.databases)
      throw Error(ErrorCode::invalid_argument, "`database`: no database is configured.",
                  "Set DATABASE_URL or add databases to the config file (config/README.md); without a database, "
                  "pass `snapshot` (the `snapshot` object of an earlier advise_scale result).");
    ctx.progress(0, 2, "read table and statement statistics");
    snapshot = scale::read_scale_snapshot(*ctx.databases, args.value("database", ""), {.cancel = &ctx.cancel});
  }
  const double read_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  ctx.cancel.check();
  ctx.progress(1, 2, "apply the scale rules");
  const scale::ScaleAdvice advice = scale::advise_scale(snapshot, *ctx.rules, focus);

  Json findings = Json::array();
  Json counts = {{"critical", 0}, {"high", 0}, {"medium", 0}, {"low", 0}, {"info", 0}};
  for (const auto& f : advice.findings) {
    counts[knowledge::to_string(f.severity)] = counts[knowledge::to_string(f.severity)].get<int>() + 1;
    findings.push_back(flat_finding_json(f));
  }
  Json tables = Json::array();
  for (const auto& t : advice.tables) tables.push_back(table_json(t));
  Json focus_out = Json::array();
  for (ScaleFocus f : scale::all_scale_focuses())
    if (focus.empty() || focus.contains(f)) focus_out.push_back(scale::to_string(f));
  ToolResult result;
  result.structured = {{"tool", "advise_scale"},
                       {"database", snapshot.database},
                       {"database_name", snapshot.database_name},
                       {"offline", snapshot.offline},
                       {"focus", focus_out},
                       {"statements_available", snapshot.statements_available},
                       {"tenant_key", advice.tenant_key},
                       {"tables", tables},
                       {"counts", counts},
                       {"findings", findings},
                       {"notes", advice.notes},
                       {"read_ms", read_ms},
                       {"snapshot", Json::object()}};
  // The snapshot comes back for offline reuse, unless it would swell the result (and a session) too much.
  const std::string snapshot_json = scale::scale_snapshot_to_json(snapshot);
  if (snapshot_json.size() <= kMaxSnapshotBytes)
    result.structured["snapshot"] = Json::parse(snapshot_json);
  else
    result.structured["notes"].push_back(
        "The snapshot (" + std::to_string(snapshot_json.size() / 1024) +
        " kB, over 4 MB) is left out of this result, so offline re-advice needs a new read.");
  result.markdown = render_markdown(result.structured);
  ctx.progress(2, 2, "done");
  return result;
}

}  // namespace

Tool make_advise_scale_tool() {
  Tool tool;
  tool.name = "advise_scale";
  tool.title = "Advise on caching and scale";
  tool.description =
      "Reads a database's table statistics (pg_stat_user_tables reads and writes, sizes, pg_stats correlation), "
      "its foreign keys and pg_stat_statements (read-only) and says, each with its numbers: which tables and "
      "queries to cache in the application (read-heavy, stable, expensive; Django cache.get_or_set with "
      "post_save/post_delete invalidation) and which not (write-heavy); which aggregate queries to precompute in "
      "a materialized view (unique index for REFRESH ... CONCURRENTLY, pg_cron schedule); which tables are "
      "append-only time series (BRIN with pages_per_range and autosummarize; monthly range partitioning with "
      "retention by DETACH + DROP, or pg_partman; and when partitioning does not help); whether a read replica "
      "pays off and what breaks (replica lag; a Django DATABASE_ROUTERS router); and, for a multi-tenant schema, "
      "whether to shard with Citus by the tenant key or not yet. Pass `database`, or `snapshot` (the `snapshot` "
      "object of an earlier result) to advise offline; `focus` picks the areas. Use when asked how to scale, "
      "what to cache, or whether to partition, replicate or shard.";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "database": {"type": "string", "description": "Configured database name; the default one when neither this nor snapshot is given."},
      "snapshot": {"type": ["object", "string"], "description": "Offline: the `snapshot` object of an earlier advise_scale result (or its JSON text): tables with their counters, sizes, columns and foreign keys, and statements."},
      "focus": {"type": "array", "items": {"type": "string", "enum": ["cache", "materialized_views", "time_series", "replicas", "sharding"]}, "description": "Areas to advise on; all when absent."}
    },
    "additionalProperties": false
  })json");
  tool.output_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "tool": {"type": "string"},
      "database": {"type": "string"},
      "database_name": {"type": "string"},
      "offline": {"type": "boolean"},
      "focus": {"type": "array", "items": {"type": "string"}},
      "statements_available": {"type": "boolean"},
      "tenant_key": {"type": "string"},
      "tables": {"type": "array", "items": {"type": "object", "properties": {
        "table": {"type": "string"}, "labels": {"type": "array", "items": {"type": "string", "enum": ["read_heavy", "write_heavy", "time_series", "tenant_keyed"]}},
        "reads": {"type": "number"}, "fk_check_reads": {"type": "number"}, "writes": {"type": "number"}, "read_write_ratio": {"type": ["number", "null"]},
        "total_bytes": {"type": "number"}, "live_rows": {"type": "number"}, "time_column": {"type": "string"},
        "correlation": {"type": "number"}},
        "required": ["table", "labels", "reads", "writes", "total_bytes"]}},
      "counts": {"type": "object", "properties": {
        "critical": {"type": "integer"}, "high": {"type": "integer"}, "medium": {"type": "integer"},
        "low": {"type": "integer"}, "info": {"type": "integer"}},
        "required": ["critical", "high", "medium", "low", "info"]},
      "findings": {"type": "array", "items": {"type": "object", "properties": {
        "rule_id": {"type": "string"}, "title": {"type": "string"},
        "severity": {"type": "string", "enum": ["info", "low", "medium", "high", "critical"]},
        "evidence": {"type": "string", "enum": ["measured", "estimated", "inferred"]},
        "where": {"type": "string"}, "table": {"type": "string"}, "subject": {"type": "string"},
        "summary": {"type": "string"}, "fix": {"type": "string"}, "numbers": {"type": "object"},
        "facts": {"type": "object"}, "saving_share": {"type": "number"}},
        "required": ["rule_id", "title", "severity", "evidence", "summary", "fix", "numbers"]}},
      "notes": {"type": "array", "items": {"type": "string"}},
      "read_ms": {"type": "number"},
      "snapshot": {"type": "object"}
    },
    "required": ["tool", "database", "database_name", "offline", "focus", "tenant_key", "tables", "counts", "findings", "notes", "snapshot"]
  })json");
  tool.annotations = {.read_only = true, .destructive = false, .idempotent = true, .open_world = false};
  tool.handler = run_advise_scale;
  return tool;
}

}  // namespace dbopt::tools
