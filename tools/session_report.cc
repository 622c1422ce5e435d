#include "tools/session_report.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <set>

#include "core/common/error.h"
#include "core/sql/fingerprint.h"
#include "core/sql/query_model.h"
#include "tools/health_monitoring.h"

namespace dbopt::tools {
namespace {

using Json = nlohmann::json;

int severity_rank(const std::string& severity) {
  static const std::map<std::string, int> ranks{{"critical", 0}, {"high", 1}, {"medium", 2}, {"low", 3}, {"info", 4}};
  const auto it = ranks.find(severity);
  return it == ranks.end() ? 5 : it->second;
}

std::string number(double value, int decimals = 1) {
  char text[48];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::string utc(std::chrono::system_clock::time_point at) {
  const std::time_t t = std::chrono::system_clock::to_time_t(at);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return text;
}

std::string first_line(const std::string& text, std::size_t max = 120) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.size() > max) line = line.substr(0, max) + "…";
  return line;
}

std::string str(const Json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

// Every string in a result that is DDL to paste, with the object around it
// (which usually says why: rule_id, title, reason).
void find_ddl(const Json& value, const Json* parent, std::vector<std::pair<std::string, Json>>& out) {
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    for (const char* prefix : {"CREATE INDEX", "CREATE UNIQUE INDEX", "DROP INDEX"})
      if (s.rfind(prefix, 0) == 0) out.emplace_back(s, parent ? *parent : Json());
  } else if (value.is_object()) {
    for (const auto& [key, child] : value.items()) find_ddl(child, &value, out);
  } else if (value.is_array()) {
    for (const auto& child : value) find_ddl(child, parent, out);
  }
}

// The index name of a CREATE INDEX statement, when it names one.
std::string index_name(const std::string& ddl) {
  try {
    const sql::QueryModel model = sql::parse_query(ddl);
    return model.index ? model.index->name : "";
  } catch (const Error&) {
    return "";
  }
}

std::string quote_literal(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

}  // namespace

SessionReport render_session_report(const SessionSnapshot& session) {
  SessionReport report;
  std::string& md = report.markdown;
  Json findings = Json::array(), indexes = Json::array(), benchmarks = Json::array(), monitoring = Json::array();
  std::map<std::string, int> tools_used;
  std::set<std::string> databases;
  std::vector<const SessionEntry*> ok;
  int failed = 0;
  for (const auto& e : session.entries) {
    ++tools_used[e.tool];
    if (e.is_error) {
      ++failed;
      continue;
    }
    ok.push_back(&e);
    if (const std::string db = str(e.structured, "database"); !db.empty()) databases.insert(db);
  }

  md = "# Performance report" + (session.title.empty() ? std::string() : ": " + session.title) + "\n\nSession `" +
       session.id + "`, started " + utc(session.created) + "; " + std::to_string(session.entries.size()) +
       " tool call(s)" + (failed ? " (" + std::to_string(failed) + " failed)" : "") + ".";
  if (!databases.empty()) {
    md += " Database(s):";
    for (const auto& d : databases) md += " `" + d + "`";
    md += ".";
  }
  if (session.dropped_entries)
    md += " The oldest " + std::to_string(session.dropped_entries) + " call(s) were dropped (session size limit).";
  md += "\nEvery figure below comes from those calls; estimates are labelled as estimates.\n";
  if (ok.empty()) {
    md += "\nNo results yet: call dbopt's tools with `session: \"" + session.id + "\"` and ask for the report again.\n";
  }

  // 1. Performance analysis: the plans and where their time goes.
  std::string analysis;
  for (const SessionEntry* e : ok) {
    if (e->tool != "explain_query") continue;
    const Json& s = e->structured;
    const std::string what =
        e->arguments.contains("sql") ? "`" + first_line(str(e->arguments, "sql")) + "`" : std::string("a pasted plan");
    analysis += "- " + what + " (" + str(s, "mode") + ", " + str(s, "evidence") + ")";
    if (s.contains("plan_summary")) {
      const Json& p = s["plan_summary"];
      if (p.contains("execution_time_ms"))
        analysis += ": " + number(p["execution_time_ms"], 2) + " ms measured";
      else if (p.contains("total_cost"))
        analysis += ": cost " + number(p["total_cost"]) + " (estimate)";
      if (const std::string slow = str(p, "slowest_part"); !slow.empty()) analysis += "; slowest part: " + slow;
    }
    analysis += "\n";
    if (s.contains("hypothetical")) {
      const Json& h = s["hypothetical"];
      const double before = h["before"].value("total_cost", 0.0), after = h["after"].value("total_cost", 0.0);
      analysis +=
          "  - with hypothetical index(es): cost " + number(before) + " → " + number(after) + " (estimate, HypoPG)\n";
      benchmarks.push_back({{"query", str(e->arguments, "sql")},
                            {"evidence", "estimated"},
                            {"before", before},
                            {"after", after},
                            {"unit", "planner cost"}});
    }
  }
  if (!analysis.empty()) md += "\n## Performance analysis\n\n" + analysis;

  // 2. Optimization plan: every finding, most severe first, once each.
  std::set<std::string> seen;
  std::vector<Json> plan;
  for (const SessionEntry* e : ok) {
    if (!e->structured.is_object() || !e->structured.contains("findings") || !e->structured["findings"].is_array())
      continue;
    for (const auto& f : e->structured["findings"]) {
      if (!f.is_object()) continue;
      const std::string where = f.contains("where") ? str(f["where"], "description") : str(f, "summary");
      if (!seen.insert(str(f, "rule_id") + "|" + where + "|" + str(f, "title")).second) continue;
      Json item = {{"tool", e->tool},
                   {"rule_id", str(f, "rule_id")},
                   {"title", str(f, "title")},
                   {"severity", str(f, "severity")},
                   {"summary", str(f, "summary")},
                   {"fix", str(f, "fix")}};
      if (f.contains("saving_share")) item["saving_share"] = f["saving_share"];
      plan.push_back(item);
    }
  }
  std::stable_sort(plan.begin(), plan.end(), [](const Json& a, const Json& b) {
    return severity_rank(a["severity"]) < severity_rank(b["severity"]);
  });
  if (!plan.empty()) {
    md += "\n## Optimization plan\n\n";
    int n = 0;
    for (const auto& item : plan) {
      md += std::to_string(++n) + ". **" + item["title"].get<std::string>() + "** (" +
            item["severity"].get<std::string>() + ", `" + item["rule_id"].get<std::string>() + "`, from " +
            item["tool"].get<std::string>() + ")";
      if (item.contains("saving_share"))
        md += ": up to " + number(100 * item["saving_share"].get<double>(), 0) + "% of the query's time";
      if (!item["summary"].get<std::string>().empty()) md += ". " + first_line(item["summary"], 300);
      md += "\n";
      findings.push_back(item);
    }
  }

  // 3. Index definitions, with where each came from.
  std::set<std::string> ddl_seen;
  for (const SessionEntry* e : ok) {
    std::vector<std::pair<std::string, Json>> found;
    find_ddl(e->structured, nullptr, found);
    for (const auto& [ddl, around] : found) {
      if (!ddl_seen.insert(ddl).second) continue;
      std::string why = str(around, "rationale");
      if (why.empty()) why = str(around, "reason");
      if (why.empty()) why = str(around, "title");
      indexes.push_back({{"statement", ddl}, {"tool", e->tool}, {"rule_id", str(around, "rule_id")}, {"why", why}});
    }
  }
  if (!indexes.empty()) {
    md += "\n## Index definitions\n\n";
    for (const auto& i : indexes) {
      md += "```sql\n" + i["statement"].get<std::string>() + ";\n```\n";
      std::string note = "From " + i["tool"].get<std::string>();
      if (!i["rule_id"].get<std::string>().empty()) note += " (`" + i["rule_id"].get<std::string>() + "`)";
      if (!i["why"].get<std::string>().empty()) note += ": " + i["why"].get<std::string>();
      md += note + ".\n\n";
    }
  }

  // 4. ORM code changes and 5. configuration: the tools' own write-ups.
  for (const auto& [tool, heading] : {std::pair{"detect_n_plus_one", "ORM code changes"},
                                      std::pair{"tune_pool", "Configuration (connection pooling and server)"}}) {
    std::string section;
    for (const SessionEntry* e : ok)
      if (e->tool == tool) section += e->markdown + "\n";
    if (!section.empty()) md += "\n## " + std::string(heading) + "\n\n" + section;
  }

  // 6. Benchmarks: measured before/after.
  std::string bench;
  for (const SessionEntry* e : ok) {
    if (e->tool != "benchmark_query") continue;
    const Json& s = e->structured;
    const std::string query = str(e->arguments, "sql");
    const double before = s["timings_ms"].value("median", 0.0);
    if (s.contains("after")) {
      const double after = s["after"]["timings_ms"].value("median", 0.0);
      bench += "| `" + first_line(query, 60) + "` | " + number(before, 3) + " ms | " + number(after, 3) + " ms | " +
               number(s.value("median_speedup", 0.0)) + "x | measured (real index, rolled back) |\n";
      benchmarks.push_back(
          {{"query", query}, {"evidence", "measured"}, {"before", before}, {"after", after}, {"unit", "ms (median)"}});
    } else {
      bench += "| `" + first_line(query, 60) + "` | " + number(before, 3) + " ms | | | measured |\n";
      benchmarks.push_back({{"query", query}, {"evidence", "measured"}, {"before", before}, {"unit", "ms (median)"}});
    }
  }
  for (const auto& b : benchmarks)
    if (b["evidence"] == "estimated")
      bench += "| `" + first_line(b["query"], 60) + "` | cost " + number(b["before"]) + " | cost " +
               number(b["after"]) + " | " +
               number(b["before"].get<double>() / std::max(b["after"].get<double>(), 1e-9)) +
               "x | estimated (HypoPG) |\n";
  if (!bench.empty())
    md += "\n## Benchmark results\n\n| query | before | after | change | evidence |\n|---|---|---|---|---|\n" + bench;

  // 7. Monitoring: the queries and indexes this session touched.
  std::set<std::string> queries;
  for (const SessionEntry* e : ok)
    if (e->arguments.contains("sql") && e->arguments["sql"].is_string()) queries.insert(e->arguments["sql"]);
  for (const auto& q : queries) {
    std::string normalized;
    try {
      normalized = sql::normalize(q);
    } catch (const Error&) {
      continue;
    }
    monitoring.push_back(
        "SELECT calls, round(total_exec_time::numeric, 1) AS total_ms, round(mean_exec_time::numeric, 2) AS mean_ms, "
        "rows, shared_blks_hit, shared_blks_read FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database "
        "WHERE datname = current_database()) AND query = " +
        quote_literal(normalized));
  }
  std::vector<std::string> names;
  for (const auto& i : indexes)
    if (const std::string n = index_name(i["statement"]); !n.empty()) names.push_back(quote_literal(n));
  if (!names.empty()) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    monitoring.push_back(
        "SELECT indexrelname, idx_scan, pg_size_pretty(pg_relation_size(indexrelid)) AS size FROM "
        "pg_stat_user_indexes WHERE indexrelname IN (" +
        list + ")");
  }
  if (!monitoring.empty()) {
    md +=
        "\n## Monitoring\n\nRun these now and after the change: calls and mean time per query (pg_stat_statements "
        "keeps the text as the application sends it; if a query does not match, search by its table with "
        "`query ILIKE '%table%'`), and whether the new indexes are used.\n\n";
    for (const auto& m : monitoring) md += "```sql\n" + m.get<std::string>() + ";\n```\n";
  }

  const HealthMonitoring health = health_monitoring(ok);
  md += health.markdown;

  // Details: each call's own write-up, in order.
  if (!ok.empty()) {
    md += "\n## Details by step\n";
    int step = 0;
    for (const SessionEntry* e : ok)
      md += "\n### " + std::to_string(++step) + ". " + e->tool + " (" + utc(e->at) + ")\n\n" + e->markdown + "\n";
  }

  Json used = Json::object();
  for (const auto& [tool, count] : tools_used) used[tool] = count;
  report.structured = {{"session", session.id},  {"title", session.title},   {"calls", session.entries.size()},
                       {"failed_calls", failed}, {"tools_used", used},       {"findings", findings},
                       {"indexes", indexes},     {"benchmarks", benchmarks}, {"monitoring_queries", monitoring}};
  if (!health.structured.empty()) report.structured["monitoring"] = health.structured;
  return report;
}

Json session_report_schema() {
  return Json::parse(R"json({
    "type": "object",
    "properties": {
      "session": {"type": "string"},
      "title": {"type": "string"},
      "calls": {"type": "integer"},
      "failed_calls": {"type": "integer"},
      "tools_used": {"type": "object", "additionalProperties": {"type": "integer"}},
      "findings": {"type": "array", "items": {"type": "object", "properties": {
        "tool": {"type": "string"}, "rule_id": {"type": "string"}, "title": {"type": "string"},
        "severity": {"type": "string"}, "summary": {"type": "string"}, "fix": {"type": "string"},
        "saving_share": {"type": "number"}}, "required": ["tool", "rule_id", "title", "severity"]}},
      "indexes": {"type": "array", "items": {"type": "object", "properties": {
        "statement": {"type": "string"}, "tool": {"type": "string"}, "rule_id": {"type": "string"}, "why": {"type": "string"}},
        "required": ["statement", "tool"]}},
      "benchmarks": {"type": "array", "items": {"type": "object", "properties": {
        "query": {"type": "string"}, "evidence": {"type": "string", "enum": ["measured", "estimated"]},
        "before": {"type": "number"}, "after": {"type": "number"}, "unit": {"type": "string"}},
        "required": ["query", "evidence", "before", "unit"]}},
      "monitoring_queries": {"type": "array", "items": {"type": "string"}},
      "monitoring": {"type": "object", "description": "check_health problems and top_queries statements of the session."}
    },
    "required": ["session", "title", "calls", "failed_calls", "tools_used", "findings", "indexes", "benchmarks", "monitoring_queries"]
  })json");
}

}  // namespace dbopt::tools
