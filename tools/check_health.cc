// check_health: the database's health in one call, each problem with its fix.
//
// A composition: core/health reads the statistics and catalogs (read-only,
// through the safe executor) and applies the rules of
// knowledge/rules/health.yaml; this file reads the arguments and renders.
// Without a database only the settings audit runs, on the settings given.
#include <sstream>

#include "core/health/health_checks.h"
#include "knowledge/rule_book.h"
#include "tools/builtin_tools.h"
#include "tools/finding_json.h"

namespace dbopt::tools {
namespace {

using health::HealthCategory;

// The readings worth seeing even when nothing fires.
Json overview_json(const health::HealthSnapshot& s) {
  Json o = Json::object();
  if (s.indexes)
    o["statistics"] = {{"since", s.indexes->stats_since},
                       {"age_s", s.indexes->stats_age_s},
                       {"stats_reset", s.indexes->stats_reset},
                       {"postmaster_start", s.indexes->postmaster_start}};
  if (s.cache) {
    const auto ratio = [](double hits, double reads) {
      return hits + reads > 0 ? Json(hits / (hits + reads)) : Json(nullptr);
    };
    o["cache"] = {{"table_hit_ratio", ratio(s.cache->heap_hits, s.cache->heap_reads)},
                  {"index_hit_ratio", ratio(s.cache->index_hits, s.cache->index_reads)}};
  }
  if (s.activity)
    o["connections"] = {{"used", s.activity->connections},
                        {"idle", s.activity->idle_connections},
                        {"max_connections", s.activity->max_connections},
                        {"sessions_not_idle", s.activity->sessions.size()}};
  if (s.wraparound && !s.wraparound->databases.empty()) {
    double xid = 0, mxid = 0;
    for (const auto& d : s.wraparound->databases) {
      xid = std::max(xid, d.xid_age);
      mxid = std::max(mxid, d.mxid_age);
    }
    o["wraparound"] = {{"oldest_xid_age", xid}, {"oldest_mxid_age", mxid}};
  }
  if (s.indexes)
    o["indexes"] = {{"unused", s.indexes->unused_total},
                    {"invalid", s.indexes->invalid.size()},
                    {"duplicate_groups", s.indexes->duplicates.size()}};
  return o;
}

std::string render_markdown(const Json& out) {
  std::ostringstream o;
  const std::string db = out["database_name"].get<std::string>();
  o << "# Health of " << (db.empty() ? std::string("the given settings") : "`" + db + "`") << "\n\n";
  const Json& counts = out["counts"];
  o << "Findings: " << counts["critical"] << " critical, " << counts["high"] << " high, " << counts["medium"]
    << " medium, " << counts["low"] << " low, " << counts["info"] << " info. Checked: ";
  std::string checked;
  for (const auto& c : out["categories"]) checked += (checked.empty() ? "" : ", ") + c.get<std::string>();
  o << checked << ".\n";
  if (out["overview"].contains("statistics"))
    o << "\nStatistics since " << out["overview"]["statistics"]["since"].get<std::string>()
      << " (unused-index advice rests on them).\n";
  bool any_problem = false;
  for (const auto& f : out["findings"]) {
    if (f["severity"] == "info") continue;
    if (!any_problem) o << "\n## Problems, most severe first\n";
    any_problem = true;
    o << "\n### " << f["title"].get<std::string>() << " (" << f["severity"].get<std::string>() << ", `"
      << f["rule_id"].get<std::string>() << "`)\n\n"
      << f["summary"].get<std::string>() << "\n\n"
      << f["fix"].get<std::string>() << "\n";
  }
  if (!any_problem) o << "\nNothing above info: no check crossed its threshold.\n";
  bool any_info = false;
  for (const auto& f : out["findings"]) {
    if (f["severity"] != "info") continue;
    if (!any_info) o << "\n## For information\n\n";
    any_info = true;
    o << "- `" << f["rule_id"].get<std::string>() << "`: " << f["summary"].get<std::string>() << "\n";
  }
  if (!out["notes"].empty()) {
    o << "\n## Notes\n\n";
    for (const auto& n : out["notes"]) o << "- " << n.get<std::string>() << "\n";
  }
  return o.str();
}

ToolResult run_check_health(const Json& args, ToolContext& ctx) {
  if (!ctx.rules)
    throw Error(ErrorCode::unavailable, "The rule knowledge base is not loaded, so there is nothing to check against.",
                "Restart dbopt and check knowledge_dir in the config.");
  health::ReadOptions read;
  for (const auto& c : args.value("categories", Json::array()))
    read.categories.insert(*health::parse_health_category(c.get<std::string>()));
  read.limit_per_check = args.value("limit_per_check", 20);
  read.all_databases = args.value("all_databases", false);
  read.cancel = &ctx.cancel;
  health::ServerFacts facts;
  const Json server = args.value("server", Json::object());
  if (server.contains("memory_gb")) facts.ram_gb = server["memory_gb"].get<double>();
  if (server.contains("storage")) facts.storage = server["storage"].get<std::string>();
  if (server.contains("workload")) facts.workload = server["workload"].get<std::string>();
  std::map<std::string, std::string> given_settings;
  const Json settings_arg = args.value("settings", Json::object());
  for (const auto& [k, v] : settings_arg.items()) given_settings[k] = v.is_string() ? v.get<std::string>() : v.dump();

  health::HealthSnapshot snapshot;
  const bool live = args.contains("database") || (ctx.databases && given_settings.empty());
  if (live) {
    if (!ctx.databases)
      throw Error(ErrorCode::invalid_argument, "`database`: no database is configured.",
                  "Set DATABASE_URL or add databases to the config file (config/README.md); without a database, "
                  "pass `settings` for the settings audit alone.");
    ctx.progress(0, 2, "read statistics and catalogs");
    snapshot = health::read_health_snapshot(*ctx.databases, args.value("database", ""), *ctx.rules, read);
  } else if (given_settings.empty()) {
    throw Error(ErrorCode::invalid_argument,
                "check_health needs a database to read, or `settings` to audit offline; neither was given.",
                "Configure a database (DATABASE_URL) and pass `database`, or pass `settings` such as "
                "{\"shared_buffers\": \"128MB\", \"work_mem\": \"64MB\", \"max_connections\": \"200\"}.");
  } else {
    read.categories = {HealthCategory::settings};
  }
  if (!given_settings.empty()) {
    auto overrides = health::settings_from_text(given_settings);
    if (!snapshot.settings) snapshot.settings.emplace();
    for (auto& [k, v] : overrides) (*snapshot.settings)[k] = v;
  }
  ctx.cancel.check();
  ctx.progress(1, 2, "apply the health rules");
  const health::HealthReport report = health::check_health(snapshot, *ctx.rules, facts, read.limit_per_check);

  const std::string min_severity = args.value("min_severity", "info");
  Json findings = Json::array();
  Json counts = {{"critical", 0}, {"high", 0}, {"medium", 0}, {"low", 0}, {"info", 0}};
  for (const auto& f : report.findings) {
    counts[knowledge::to_string(f.severity)] = counts[knowledge::to_string(f.severity)].get<int>() + 1;
    if (f.severity >= *knowledge::parse_severity(min_severity)) findings.push_back(flat_finding_json(f));
  }
  Json categories = Json::array();
  for (HealthCategory c : health::all_health_categories())
    if (read.categories.empty() || read.categories.contains(c)) categories.push_back(health::to_string(c));
  ToolResult result;
  result.structured = {{"tool", "check_health"},
                       {"database", snapshot.database},
                       {"database_name", snapshot.database_name},
                       {"categories", categories},
                       {"counts", counts},
                       {"findings", findings},
                       {"overview", overview_json(snapshot)},
                       {"notes", report.notes},
                       {"read_ms", snapshot.read_ms}};
  result.markdown = render_markdown(result.structured);
  ctx.progress(2, 2, "done");
  return result;
}

}  // namespace

Tool make_check_health_tool() {
  Tool tool;
  tool.name = "check_health";
  tool.title = "Check database health";
  tool.description =
      "Checks a database's health from its statistics and catalogs (read-only) and returns each problem with its "
      "evidence numbers and the statement or setting that fixes it: table and index bloat (estimated from "
      "statistics, measured with pgstattuple when installed), dead rows and vacuum/analyze freshness, autovacuum "
      "disabled per table, transaction-ID and multixact wraparound distance, buffer cache and index hit ratios, "
      "invalid, unused (with the statistics' age) and duplicate indexes, sequences near their type's limit, "
      "connections against max_connections, idle-in-transaction sessions, long-running queries, lock waits and "
      "blocking chains, replication slots holding WAL and replica lag, checkpoint and background-writer "
      "pressure, a settings audit (fsync, full_page_writes, autovacuum, shared_buffers against RAM, work_mem x "
      "max_connections, random_page_cost on SSD, jit for OLTP), and Supabase's lints: RLS policies calling a "
      "function per row (auth_rls_initplan), several permissive policies, unindexed foreign keys. `categories` "
      "picks checks; `server` (memory_gb, storage, workload) sharpens the settings audit. A healthy database gets "
      "nothing above info. Start here when asked why a database is slow; then top_queries.";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "database": {"type": "string", "description": "Configured database name; the default one when absent."},
      "categories": {"type": "array", "items": {"type": "string", "enum": ["bloat", "vacuum", "wraparound", "cache", "indexes", "sequences", "connections", "activity", "locks", "replication", "checkpoints", "settings", "policies", "foreign_keys"]}, "description": "Checks to run; all when absent."},
      "server": {
        "type": "object",
        "properties": {
          "memory_gb": {"type": "number", "exclusiveMinimum": 0, "description": "The server's RAM: shared_buffers and work_mem x max_connections are judged against it."},
          "storage": {"type": "string", "enum": ["ssd", "hdd", "san"], "description": "ssd or san: random_page_cost above 2 is reported."},
          "workload": {"type": "string", "enum": ["oltp", "web", "dw", "mixed", "desktop"], "description": "oltp or web: jit = on is reported."}
        },
        "additionalProperties": false
      },
      "settings": {"type": "object", "description": "Settings as in postgresql.conf ({\"work_mem\": \"64MB\", \"fsync\": \"on\"}): audited without a database, or instead of the live values with one."},
      "limit_per_check": {"type": "integer", "minimum": 1, "maximum": 500, "default": 20, "description": "Findings per rule at most (the largest first); the rest are counted in notes."},
      "all_databases": {"type": "boolean", "default": false, "description": "Sessions (idle in transaction, long queries, locks) of every database, not only this one."},
      "min_severity": {"type": "string", "enum": ["info", "low", "medium", "high", "critical"], "default": "info", "description": "Leave out findings below this severity (counts still include them)."}
    },
    "additionalProperties": false
  })json");
  tool.output_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "tool": {"type": "string"},
      "database": {"type": "string"},
      "database_name": {"type": "string"},
      "categories": {"type": "array", "items": {"type": "string"}},
      "counts": {"type": "object", "properties": {
        "critical": {"type": "integer"}, "high": {"type": "integer"}, "medium": {"type": "integer"},
        "low": {"type": "integer"}, "info": {"type": "integer"}},
        "required": ["critical", "high", "medium", "low", "info"]},
      "findings": {"type": "array", "items": {"type": "object", "properties": {
        "rule_id": {"type": "string"}, "title": {"type": "string"},
        "severity": {"type": "string", "enum": ["info", "low", "medium", "high", "critical"]},
        "evidence": {"type": "string", "enum": ["measured", "estimated", "inferred"]},
        "where": {"type": "string"}, "table": {"type": "string"}, "subject": {"type": "string"},
        "summary": {"type": "string"}, "fix": {"type": "string"}, "numbers": {"type": "object"}},
        "required": ["rule_id", "title", "severity", "evidence", "summary", "fix", "numbers"]}},
      "overview": {"type": "object"},
      "notes": {"type": "array", "items": {"type": "string"}},
      "read_ms": {"type": "object"}
    },
    "required": ["tool", "database", "database_name", "categories", "counts", "findings", "overview", "notes"]
  })json");
  tool.annotations = {.read_only = true, .destructive = false, .idempotent = true, .open_world = false};
  tool.handler = run_check_health;
  return tool;
}

}  // namespace dbopt::tools
