#include "tools/session_report.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "core/common/error.h"
#include "core/sql/fingerprint.h"
#include "core/sql/query_model.h"
#include "tools/health_monitoring.h"
#include "tools/migration_section.h"
#include "tools/scale_section.h"

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

// A statement as it is pasted: trimmed, without its own ';' (the report adds one).
std::string statement_text(std::string text) {
  while (!text.empty() && (std::isspace(static_cast<unsigned char>(text.back())) || text.back() == ';'))
    text.pop_back();
  const auto begin = text.find_first_not_of(" \t\r\n");
  return begin == std::string::npos ? "" : text.substr(begin);
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string index_table(const sql::IndexDefinition& i) {
  return lower((i.schema.empty() ? "public" : i.schema) + "." + i.table);
}

std::optional<sql::IndexDefinition> parse_index(const std::string& ddl) {
  try {
    sql::QueryModel model = sql::parse_query(ddl);
    if (model.index) return std::move(*model.index);
  } catch (const Error&) {
  }
  return std::nullopt;
}

// What a CREATE INDEX builds, whatever its name or CONCURRENTLY: the same
// index proposed by two tools is one definition.
std::string index_identity(const std::string& ddl) {
  const auto i = parse_index(ddl);
  if (!i) return lower(ddl);
  std::string key =
      index_table(*i) + "|" + (i->method.empty() ? "btree" : i->method) + "|" + (i->unique ? "u" : "") + "|";
  for (const auto& k : i->keys)
    key += lower(k.column.empty() ? k.expression : k.column) + ":" + std::to_string(static_cast<int>(k.direction)) +
           ":" + k.opclass + ",";
  for (const auto& c : i->include) key += "+" + lower(c);
  // The predicate as written or as deparsed: "status = 'x'" and "(status = 'x'::text)" are one.
  std::string where;
  for (const char c : lower(i->where))
    if (!std::isspace(static_cast<unsigned char>(c)) && c != '(' && c != ')') where += c;
  for (std::size_t at; (at = where.find("::text")) != std::string::npos;) where.erase(at, 6);
  return key + "|" + where;
}

std::string leading_key(const sql::IndexDefinition& i) {
  return i.keys.empty() ? "" : lower(i.keys[0].column.empty() ? i.keys[0].expression : i.keys[0].column);
}

// The index name of a CREATE INDEX statement, when it names one.
std::string index_name(const std::string& ddl) {
  const auto i = parse_index(ddl);
  return i ? i->name : "";
}

std::string quote_literal(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// The fenced blocks of one language in a fix's markdown.
std::vector<std::string> code_blocks(const std::string& markdown, const std::string& language) {
  std::vector<std::string> out;
  const std::string fence = "```" + language + "\n";
  for (std::size_t at = markdown.find(fence); at != std::string::npos; at = markdown.find(fence, at)) {
    const std::size_t body = at + fence.size();
    const std::size_t close = markdown.find("```", body);
    if (close == std::string::npos) break;
    out.push_back(statement_text(markdown.substr(body, close - body)));
    at = close + 3;
  }
  return out;
}

// One task of the plan of action, with what it is expected to save and what
// that estimate rests on.
struct PlanItem {
  Json finding;                    // tool, rule_id, title, severity, summary, fix, saving_share
  std::string estimate;            // "saves about 41 ms of 45 ms per run (measured)"
  std::string evidence;            // measured, estimated, inferred
  std::optional<double> saved_ms;  // the impact in time, when known
  std::optional<double> share;     // the impact as a share, when only that is known
  bool pool = false;               // connection pool and server settings, not a query task
};

std::string ms_text(double ms) { return number(ms, ms >= 100 ? 0 : (ms >= 1 ? 1 : 3)) + " ms"; }

// Where a CREATE INDEX came from and why, for the index section.
struct IndexItem {
  std::string statement;  // without ';'
  std::string tool, rule_id, why, evidence;
  bool drop = false;
};

class ReportBuilder {
 public:
  explicit ReportBuilder(const SessionSnapshot& session) : session_(session) {
    for (const auto& e : session.entries) {
      ++tools_used_[e.tool];
      if (e.is_error) {
        ++failed_;
        continue;
      }
      ok_.push_back(&e);
      if (const std::string db = str(e.structured, "database"); !db.empty()) databases_.insert(db);
    }
    collect();
  }

  SessionReport render() const;

 private:
  void collect();
  void add_index(IndexItem item);
  void add_finding(const SessionEntry& e, const Json& f, PlanItem item);
  void supersede_single_query_indexes();
  std::optional<Json> benchmark_of(const std::string& sql) const;

  const SessionSnapshot& session_;
  std::map<std::string, int> tools_used_;
  std::set<std::string> databases_;
  std::vector<const SessionEntry*> ok_;
  int failed_ = 0;
  std::vector<PlanItem> plan_, notes_;
  std::set<std::string> plan_seen_;
  std::vector<IndexItem> indexes_;
  std::set<std::string> index_seen_;
  // ORM code to paste: its language ("python", "js", "ruby") and the identity of the index it adds, if any.
  struct OrmBlock {
    std::string code, language, index;
  };
  std::vector<OrmBlock> orm_;
  std::vector<std::string> orm_seen_;                                    // the fixes already in orm_
  std::map<std::string, std::pair<std::size_t, bool>> index_fix_items_;  // query|index -> plan_ position, measured
  bool other_orm_ = false;                                               // a log named another framework than Django
  Json benchmarks_ = Json::array();
};

void ReportBuilder::add_index(IndexItem item) {
  item.statement = statement_text(item.statement);
  if (item.statement.empty()) return;
  item.drop = item.statement.rfind("DROP", 0) == 0;
  const std::string identity = item.drop ? lower(item.statement) : index_identity(item.statement);
  if (!index_seen_.insert(identity).second) {
    // The same index again: keep the statement to run in production (named,
    // CONCURRENTLY) and add what building it for real measured.
    for (auto& known : indexes_)
      if (item.tool == "benchmark_query" && known.tool != "benchmark_query" && !known.drop &&
          index_identity(known.statement) == identity) {
        known.why += "; " + item.why;
        known.evidence = "measured";
        break;
      }
    return;
  }
  indexes_.push_back(std::move(item));
}

void ReportBuilder::add_finding(const SessionEntry& e, const Json& f, PlanItem item) {
  const std::string where =
      f.contains("where") && f["where"].is_object() ? str(f["where"], "description") : str(f, "where");
  if (!plan_seen_.insert(str(f, "rule_id") + "|" + where + "|" + str(f, "summary")).second) return;
  item.finding = {{"tool", e.tool},
                  {"rule_id", str(f, "rule_id")},
                  {"title", str(f, "title")},
                  {"severity", str(f, "severity")},
                  {"summary", str(f, "summary")},
                  {"fix", str(f, "fix")}};
  if (f.contains("saving_share") && f["saving_share"].is_number()) item.finding["saving_share"] = f["saving_share"];
  if (!item.estimate.empty()) item.finding["estimate"] = item.estimate;
  if (!item.evidence.empty()) item.finding["evidence"] = item.evidence;
  std::string fix_index;  // the first index the fix creates
  if (const auto at = str(f, "fix").find("CREATE INDEX"); at != std::string::npos)
    fix_index = index_identity(str(f, "fix").substr(at, str(f, "fix").find(';', at) - at));
  // One query explained twice (EXPLAIN, then EXPLAIN ANALYZE) gives one task: the measured one.
  const bool keyed = !fix_index.empty() && e.tool == "explain_query" && str(f, "severity") != "info";
  const std::string key = str(e.arguments, "sql") + "|" + fix_index;
  const bool measured = str(f, "evidence") == "measured";
  if (keyed)
    if (const auto known = index_fix_items_.find(key); known != index_fix_items_.end()) {
      if (measured && !known->second.second) {
        plan_[known->second.first] = std::move(item);
        known->second.second = true;
      }
      return;
    }
  for (const auto& block : code_blocks(item.finding["fix"], "python"))
    if (std::find(orm_seen_.begin(), orm_seen_.end(), block) == orm_seen_.end()) {
      orm_seen_.push_back(block);
      orm_.push_back({"# " + str(f, "title") + " (" + str(f, "rule_id") + ")\n" + block, "python", fix_index});
    }
  for (const auto& block : code_blocks(item.finding["fix"], "sql")) {
    std::vector<sql::StatementText> statements;
    try {
      statements = sql::split_statements(block);
    } catch (const Error&) {
      continue;  // a template with placeholders, not SQL to paste
    }
    // An index on a view or table the same block creates is part of that set-up, not one to build alone.
    const bool creates_relation = std::any_of(statements.begin(), statements.end(), [](const auto& st) {
      return st.text.rfind("CREATE MATERIALIZED VIEW", 0) == 0 || st.text.rfind("CREATE TABLE", 0) == 0;
    });
    for (const auto& statement : statements)
      if (!creates_relation &&
          (statement.text.rfind("CREATE INDEX", 0) == 0 || statement.text.rfind("CREATE UNIQUE INDEX", 0) == 0))
        add_index({.statement = statement.text,
                   .tool = e.tool,
                   .rule_id = str(f, "rule_id"),
                   .why = str(f, "summary"),
                   .evidence = str(f, "evidence")});
  }
  if (keyed) index_fix_items_[key] = {plan_.size(), measured};
  (str(f, "severity") == "info" ? notes_ : plan_).push_back(std::move(item));
}

// suggest_indexes chose its set for the whole workload: an index explain_query
// proposed for one query, on a table and leading column the set already
// indexes, gives way to it (with its Django Meta block).
void ReportBuilder::supersede_single_query_indexes() {
  std::vector<std::pair<std::string, std::string>> chosen;  // table, leading key
  for (const auto& i : indexes_)
    if (i.tool == "suggest_indexes" && !i.drop)
      if (const auto d = parse_index(i.statement); d && !d->keys.empty())
        chosen.emplace_back(index_table(*d), leading_key(*d));
  if (chosen.empty()) return;
  std::set<std::string> gone;
  std::erase_if(indexes_, [&](const IndexItem& i) {
    if (i.tool != "explain_query" || i.drop) return false;
    const auto d = parse_index(i.statement);
    if (!d || d->keys.empty()) return false;
    if (std::find(chosen.begin(), chosen.end(), std::make_pair(index_table(*d), leading_key(*d))) == chosen.end())
      return false;
    gone.insert(index_identity(i.statement));
    return true;
  });
  std::erase_if(orm_, [&](const OrmBlock& b) { return !b.index.empty() && gone.count(b.index); });
}

std::optional<Json> ReportBuilder::benchmark_of(const std::string& sql) const {
  for (const SessionEntry* e : ok_)
    if (e->tool == "benchmark_query" && statement_text(str(e->arguments, "sql")) == statement_text(sql) &&
        e->structured.contains("after"))
      return e->structured;
  return std::nullopt;
}

void ReportBuilder::collect() {
  for (const SessionEntry* e : ok_) {
    const Json& s = e->structured;
    if (!s.is_object()) continue;
    if (e->tool == "explain_query") {
      const Json plan = s.value("plan_summary", Json::object());
      const bool timed = plan.contains("execution_time_ms") && plan["execution_time_ms"].is_number();
      const double run_ms = timed ? plan["execution_time_ms"].get<double>() : 0.0;
      const auto bench = benchmark_of(str(e->arguments, "sql"));
      for (const auto& f : s.value("findings", Json::array())) {
        PlanItem item;
        item.evidence = str(f, "evidence");
        const double share = f.value("saving_share", 0.0);
        if (bench && str(f, "fix").find("CREATE INDEX") != std::string::npos) {
          const double before = (*bench)["timings_ms"]["median"], after = (*bench)["after"]["timings_ms"]["median"];
          item.saved_ms = before - after;
          item.evidence = "measured";
          item.estimate = "median " + ms_text(before) + " → " + ms_text(after) +
                          " with the index built on the scratch database (measured, benchmark_query)";
        } else if (timed && share > 0) {
          item.saved_ms = share * run_ms;
          item.estimate = "up to " + ms_text(share * run_ms) + " of the query's " + ms_text(run_ms) + " per run (" +
                          number(100 * share, 0) + "%, measured by EXPLAIN ANALYZE)";
        } else if (share > 0) {
          item.share = share;
          item.estimate = "up to " + number(100 * share, 0) + "% of the plan's cost (estimated by the planner)";
        } else {
          item.estimate = item.evidence == "inferred" ? "not measured: inferred from the SQL text"
                                                      : "no share of the time is attributed to it";
        }
        add_finding(*e, f, std::move(item));
      }
      if (s.contains("hypothetical")) {
        const Json& h = s["hypothetical"];
        const double before = h["before"].value("total_cost", 0.0), after = h["after"].value("total_cost", 0.0);
        benchmarks_.push_back({{"query", str(e->arguments, "sql")},
                               {"evidence", "estimated"},
                               {"before", before},
                               {"after", after},
                               {"unit", "planner cost"}});
        for (const auto& i : h.value("indexes", Json::array()))
          add_index({.statement = str(i, "statement"),
                     .tool = e->tool,
                     .why = std::string("HypoPG: ") +
                            (i.value("used", false) ? "the plan uses it" : "the plan does not use it"),
                     .evidence = "estimated"});
      }
    } else if (e->tool == "suggest_indexes") {
      for (const char* list : {"recommendations", "unverified"})
        for (const auto& r : s.value(list, Json::array())) {
          std::string why = str(r, "reason");
          // benefit is in planner cost units; its share of the workload's cost is what reads.
          const double benefit = r.value("benefit", 0.0);
          const double workload_cost = s.value("workload", Json::object()).value("cost_before", 0.0);
          if (benefit > 0 && workload_cost > 0)
            why += " (estimated: " + number(std::min(100.0, 100 * benefit / workload_cost), 0) +
                   "% of the workload's cost)";
          add_index({.statement = str(r, "ddl"),
                     .tool = e->tool,
                     .rule_id = str(r, "rule_id"),
                     .why = why,
                     .evidence = str(r, "evidence")});
          if (!str(r, "then_drop").empty())
            add_index({.statement = str(r, "then_drop"),
                       .tool = e->tool,
                       .rule_id = str(r, "rule_id"),
                       .why = "the new index covers " + str(r, "widens") + " (drop it once the new one is valid)",
                       .evidence = str(r, "evidence")});
        }
      for (const auto& d : s.value("drops", Json::array()))
        add_index({.statement = str(d, "ddl"),
                   .tool = e->tool,
                   .rule_id = str(d, "rule_id"),
                   .why = str(d, "reason"),
                   .evidence = "measured"});
      if (const std::string code = str(s, "django"); !code.empty()) {
        orm_.push_back({"# The index set of suggest_indexes (Django)\n" + code, "python", ""});
      }
      const Json w = s.value("workload", Json::object());
      if (w.value("cost_before", 0.0) > 0 && !s.value("recommendations", Json::array()).empty()) {
        PlanItem item;
        item.share = w.value("improvement", 0.0);
        item.evidence = "estimated";
        item.estimate = "workload cost " + number(w.value("cost_before", 0.0)) + " → " +
                        number(w.value("cost_after", 0.0)) + " (" + number(100 * *item.share, 1) +
                        "% lower, estimated with hypothetical indexes)";
        Json f = {{"rule_id", "INDEX_SET"},
                  {"title", "Create the recommended index set"},
                  {"severity", "high"},
                  {"summary", std::to_string(s["recommendations"].size()) + " index(es) for " +
                                  std::to_string(w.value("queries", 0)) + " queries; see Index definitions"},
                  {"fix", ""}};
        add_finding(*e, f, std::move(item));
      }
    } else if (e->tool == "detect_n_plus_one") {
      for (const auto& g : s.value("groups", Json::array())) {
        if (!g.value("reported", false)) continue;
        PlanItem item;
        const int n = g.value("n", 0), executions = g.value("executions", 0);
        item.evidence = g.value("timed", false) ? "measured" : "inferred";
        item.estimate = std::to_string(executions) + " executions of one query (" + std::to_string(n) +
                        " in the largest loop) become one batched query per unit of work";
        if (g.contains("total_ms")) {
          const double total = g["total_ms"], mean = g.value("mean_ms", 0.0);
          item.saved_ms = std::max(0.0, total - mean);
          item.estimate += "; the loop took " + ms_text(total) + " in the log (measured), plus " +
                           std::to_string(std::max(0, executions - 1)) + " round trips of network latency";
        }
        Json f = g;
        f["fix"] = "";
        f["where"] = "on " + str(g, "table") + ": " + str(g, "repeated_query");
        // The fix in the application's framework: Django's only for Django (or when the log does not say).
        const Json fix = g.value("fix", Json::object());
        const std::string framework = str(s.value("input", Json::object()), "framework");
        const std::string orm =
            framework == "sqlalchemy" || framework == "rails" || framework == "graphql" ? framework : "django";
        const std::string code_fix = str(fix, orm.c_str());
        if (orm != "django") other_orm_ = true;
        if (!code_fix.empty() && std::find(orm_seen_.begin(), orm_seen_.end(), code_fix) == orm_seen_.end()) {
          std::string code = "# " + str(g, "title") + " on " + str(g, "table") + " (" + str(g, "rule_id") + ")";
          if (g.contains("call_site")) code += "\n# at " + str(g["call_site"], "description");
          orm_seen_.push_back(code_fix);
          const bool js = code_fix.find("new DataLoader(") != std::string::npos;  // else strawberry's, in Python
          orm_.push_back({(js ? "//" + code.substr(1) : code) + "\n" + code_fix,
                          js ? "js" : (orm == "rails" ? "ruby" : "python"), ""});
        }
        add_finding(*e, f, std::move(item));
      }
    } else if (e->tool == "tune_pool") {
      for (const auto& f : s.value("findings", Json::array())) {
        PlanItem item;
        item.pool = true;
        item.evidence = str(f, "evidence");
        add_finding(*e, f, std::move(item));
      }
    } else if (e->tool == "benchmark_query") {
      const double before = s["timings_ms"].value("median", 0.0);
      Json b = {
          {"query", str(e->arguments, "sql")}, {"evidence", "measured"}, {"before", before}, {"unit", "ms (median)"}};
      if (s.contains("after")) b["after"] = s["after"]["timings_ms"].value("median", 0.0);
      if (s.contains("median_speedup")) b["speedup"] = s["median_speedup"];
      benchmarks_.push_back(b);
      for (const auto& i : s.value("indexes_built", Json::array()))
        add_index(
            {.statement = str(i, "statement"),
             .tool = e->tool,
             .why = "built for real on the scratch database in " + ms_text(i.value("build_ms", 0.0)) + " (rolled back)",
             .evidence = "measured"});
    } else if (s.contains("findings") && s["findings"].is_array()) {
      for (const auto& f : s["findings"]) {
        if (!f.is_object()) continue;
        PlanItem item;
        item.evidence = str(f, "evidence");
        add_finding(*e, f, std::move(item));
      }
    }
  }
  supersede_single_query_indexes();
  // Most to gain first: time saved, then share, then severity.
  std::stable_sort(plan_.begin(), plan_.end(), [](const PlanItem& a, const PlanItem& b) {
    if (a.saved_ms.has_value() != b.saved_ms.has_value()) return a.saved_ms.has_value();
    if (a.saved_ms && *a.saved_ms != *b.saved_ms) return *a.saved_ms > *b.saved_ms;
    const double sa = a.share.value_or(0), sb = b.share.value_or(0);
    if (sa != sb) return sa > sb;
    return severity_rank(a.finding["severity"]) < severity_rank(b.finding["severity"]);
  });
  // Build before you drop: the new index must be valid before the old one goes.
  std::stable_partition(indexes_.begin(), indexes_.end(), [](const IndexItem& i) { return !i.drop; });
}

std::string plan_line(int n, const PlanItem& item) {
  const Json& f = item.finding;
  std::string line = std::to_string(n) + ". **" + f["title"].get<std::string>() + "** (" +
                     f["severity"].get<std::string>() + ", `" + f["rule_id"].get<std::string>() + "`, from " +
                     f["tool"].get<std::string>() + ")";
  if (!f["summary"].get<std::string>().empty()) line += ". " + first_line(f["summary"], 300);
  if (!item.estimate.empty()) line += "\n   - Impact: " + item.estimate + ".";
  return line + "\n";
}

SessionReport ReportBuilder::render() const {
  SessionReport report;
  std::string& md = report.markdown;
  const SessionSnapshot& session = session_;
  md = "# Performance report" + (session.title.empty() ? std::string() : ": " + session.title) + "\n\nSession `" +
       session.id + "`, started " + utc(session.created) + "; " + std::to_string(session.entries.size()) +
       " tool call(s)" + (failed_ ? " (" + std::to_string(failed_) + " failed)" : "") + ".";
  if (!databases_.empty()) {
    md += " Database(s):";
    for (const auto& d : databases_) md += " `" + d + "`";
    md += ".";
  }
  if (session.dropped_entries)
    md += " The oldest " + std::to_string(session.dropped_entries) + " call(s) were dropped (session size limit).";
  md += "\nEvery figure below comes from those calls; estimates are labelled as estimates.\n";
  if (ok_.empty())
    md += "\nNo results yet: call dbopt's tools with `session: \"" + session.id + "\"` and ask for the report again.\n";

  // 1. Performance analysis: where the time goes, per call that measured or planned it (each line once).
  std::string analysis;
  std::set<std::string> analysed;
  const auto analyse = [&](const std::string& line) {
    if (analysed.insert(line).second) analysis += "- " + line + "\n";
  };
  for (const SessionEntry* e : ok_) {
    const Json& s = e->structured;
    if (e->tool == "explain_query") {
      std::string line = e->arguments.contains("sql") ? "`" + first_line(str(e->arguments, "sql")) + "`"
                                                      : std::string("a pasted plan");
      line += " (" + str(s, "mode") + ", " + str(s, "evidence") + ")";
      if (s.contains("plan_summary")) {
        const Json& p = s["plan_summary"];
        if (p.contains("execution_time_ms"))
          line += ": " + number(p["execution_time_ms"], 2) + " ms measured";
        else if (p.contains("total_cost"))
          line += ": cost " + number(p["total_cost"]) + " (estimate)";
        if (const std::string slow = str(p, "slowest_part"); !slow.empty()) line += "; slowest part: " + slow;
      }
      analyse(line);
    } else if (e->tool == "detect_n_plus_one") {
      for (const auto& g : s.value("groups", Json::array()))
        if (g.value("reported", false))
          analyse("N+1 on `" + str(g, "table") + "`: `" + first_line(str(g, "repeated_query"), 100) + "` ran " +
                  std::to_string(g.value("executions", 0)) + " times (" + std::to_string(g.value("n", 0)) +
                  " in the largest loop)" +
                  (g.contains("total_ms") ? ", " + ms_text(g["total_ms"]) + " measured in the log" : ""));
    } else if (e->tool == "tune_pool" && s.contains("mode")) {
      analyse("Connections (" + str(s["platform"], "name") + "): " + str(s["mode"], "reason"));
    }
  }
  if (!analysis.empty()) md += "\n## Performance analysis\n\n" + analysis;

  // 2. The plan of action: query tasks by impact, then the pool's, then notes.
  Json findings = Json::array();
  int n = 0;
  std::string queries, pool;
  for (const bool pool_items : {false, true})
    for (const auto& item : plan_) {
      if (item.pool != pool_items) continue;
      (item.pool ? pool : queries) += plan_line(++n, item);
      findings.push_back(item.finding);
    }
  if (!queries.empty() || !pool.empty()) {
    md += "\n## Optimization plan (by impact)\n\n";
    if (!queries.empty()) md += "### Queries and indexes\n\n" + queries;
    if (!pool.empty()) md += std::string(queries.empty() ? "" : "\n") + "### Connection pool and server\n\n" + pool;
  }
  if (!notes_.empty()) {
    md += "\n### Notes (no action needed)\n\n";
    for (const auto& item : notes_) {
      md += "- " + item.finding["title"].get<std::string>() + " (`" + item.finding["rule_id"].get<std::string>() +
            "`): " + first_line(item.finding["summary"], 200) + "\n";
      findings.push_back(item.finding);
    }
  }

  // 3. Index definitions: each once, CREATE before DROP.
  Json indexes = Json::array();
  if (!indexes_.empty()) {
    md += "\n## Index definitions\n\n";
    for (const auto& i : indexes_) {
      md += "```sql\n" + i.statement + ";\n```\n";
      std::string note = i.drop ? "Drop, after the new indexes are valid. From " : "From ";
      note += i.tool;
      if (!i.rule_id.empty()) note += " (`" + i.rule_id + "`)";
      if (!i.why.empty()) note += ": " + first_line(i.why, 300);
      if (!i.evidence.empty()) note += " [" + i.evidence + "]";
      md += note + ".\n\n";
      indexes.push_back({{"statement", i.statement + ";"},
                         {"tool", i.tool},
                         {"rule_id", i.rule_id},
                         {"why", i.why},
                         {"drop", i.drop}});
    }
  }

  // 4. Django code: the ORM fixes and model indexes the findings give.
  if (!orm_.empty()) {
    md += other_orm_ ? "\n## ORM code changes\n\n" : "\n## Django code\n\n";
    for (const auto& b : orm_) md += "```" + b.language + "\n" + b.code + "\n```\n";
  }

  // 5. Configuration files, from tune_pool.
  std::string config;
  for (const SessionEntry* e : ok_) {
    if (e->tool != "tune_pool") continue;
    const Json c = e->structured.value("config", Json::object());
    if (c.contains("django_settings"))
      config += "Django `settings.py`:\n\n```python\n" + str(c["django_settings"], "text") + "\n```\n\n";
    if (c.contains("generic_pool"))
      config += "Application pool:\n\n```\n" + str(c["generic_pool"], "text") + "\n```\n\n";
    if (c.contains("pgbouncer_ini"))
      config += "`pgbouncer.ini`:\n\n```ini\n" + str(c["pgbouncer_ini"], "text") + "\n```\n\n";
    if (c.contains("connection_strings")) {
      const Json& cs = c["connection_strings"];
      if (!str(cs, "pooled").empty()) config += "- Application (pooled): `" + str(cs, "pooled") + "`\n";
      if (!str(cs, "direct").empty()) config += "- Migrations and admin (direct): `" + str(cs, "direct") + "`\n";
    }
    std::string memory;
    const Json tuned = e->structured.value("memory_settings", Json::object());
    for (const auto& m : tuned.is_object() ? tuned.value("settings", Json::array()) : Json::array())
      memory += str(m, "name") + " = " + str(m, "value") + "\n";
    if (!memory.empty()) config += "\n`postgresql.conf`:\n\n```ini\n" + memory + "```\n";
  }
  if (!config.empty()) md += "\n## Configuration files\n\n" + config;

  // 6. Monitoring: the queries and indexes this session touched.
  Json monitoring = Json::array();
  std::set<std::string> queries_seen;
  for (const SessionEntry* e : ok_)
    if (e->arguments.contains("sql") && e->arguments["sql"].is_string())
      queries_seen.insert(statement_text(e->arguments["sql"]));
  for (const auto& q : queries_seen) {
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
  std::string names;
  std::set<std::string> names_seen;
  for (const auto& i : indexes_)
    if (!i.drop)
      if (const std::string name = index_name(i.statement); !name.empty() && names_seen.insert(name).second)
        names += (names.empty() ? "" : ", ") + quote_literal(name);
  if (!names.empty())
    monitoring.push_back(
        "SELECT indexrelname, idx_scan, pg_size_pretty(pg_relation_size(indexrelid)) AS size FROM "
        "pg_stat_user_indexes WHERE indexrelname IN (" +
        names + ")");
  if (!monitoring.empty()) {
    md +=
        "\n## Monitoring queries\n\nRun these now and after the change: calls and mean time per query "
        "(pg_stat_statements keeps the text as the application sends it; if a query does not match, search by its "
        "table with `query ILIKE '%table%'`), and whether the new indexes are used.\n\n";
    for (const auto& m : monitoring) md += "```sql\n" + m.get<std::string>() + ";\n```\n";
  }

  // 7. Benchmarks: measured before/after, and the planner's estimates apart.
  std::string bench;
  for (const auto& b : benchmarks_) {
    const std::string query = "`" + first_line(b["query"], 60) + "`";
    if (b["evidence"] == "estimated") {
      bench += "| " + query + " | cost " + number(b["before"]) + " | cost " + number(b["after"]) + " | " +
               number(b["before"].get<double>() / std::max(b["after"].get<double>(), 1e-9)) +
               "x | estimated (HypoPG) |\n";
    } else if (b.contains("after")) {
      bench += "| " + query + " | " + number(b["before"], 3) + " ms | " + number(b["after"], 3) + " ms | " +
               number(b.value("speedup", 0.0)) + "x | measured (real index, rolled back) |\n";
    } else {
      bench += "| " + query + " | " + number(b["before"], 3) + " ms | | | measured |\n";
    }
  }
  if (!bench.empty())
    md +=
        "\n## Before/after benchmark results\n\n| query | before | after | change | evidence "
        "|\n|---|---|---|---|---|\n" +
        bench;

  const HealthMonitoring health = health_monitoring(ok_);
  md += health.markdown;
  const MigrationSection migrations = migration_section(ok_);
  md += migrations.markdown;
  const ScaleSection scale = scale_section(ok_);
  md += scale.markdown;

  // The calls themselves, one line each (their results are above).
  if (!session.entries.empty()) {
    md += "\n## Calls\n\n";
    int step = 0;
    for (const auto& e : session.entries)
      md += std::to_string(++step) + ". " + e.tool + " at " + utc(e.at) +
            (e.is_error ? " (failed: " + first_line(e.markdown, 160) + ")" : "") + "\n";
  }

  Json used = Json::object();
  for (const auto& [tool, count] : tools_used_) used[tool] = count;
  Json bench_out = Json::array();
  for (const auto& b : benchmarks_) {
    Json copy = b;
    copy.erase("speedup");
    bench_out.push_back(copy);
  }
  report.structured = {{"session", session.id},   {"title", session.title},  {"calls", session.entries.size()},
                       {"failed_calls", failed_}, {"tools_used", used},      {"findings", findings},
                       {"indexes", indexes},      {"benchmarks", bench_out}, {"monitoring_queries", monitoring}};
  if (!health.structured.empty()) report.structured["monitoring"] = health.structured;
  if (!migrations.structured.empty()) report.structured["migrations"] = migrations.structured;
  if (!scale.structured.empty()) report.structured["scale"] = scale.structured;
  return report;
}

}  // namespace

SessionReport render_session_report(const SessionSnapshot& session) { return ReportBuilder(session).render(); }

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
        "saving_share": {"type": "number"},
        "estimate": {"type": "string", "description": "What the task is expected to save, and what that rests on."},
        "evidence": {"type": "string"}}, "required": ["tool", "rule_id", "title", "severity"]}},
      "indexes": {"type": "array", "items": {"type": "object", "properties": {
        "statement": {"type": "string"}, "tool": {"type": "string"}, "rule_id": {"type": "string"}, "why": {"type": "string"},
        "drop": {"type": "boolean"}},
        "required": ["statement", "tool"]}},
      "benchmarks": {"type": "array", "items": {"type": "object", "properties": {
        "query": {"type": "string"}, "evidence": {"type": "string", "enum": ["measured", "estimated"]},
        "before": {"type": "number"}, "after": {"type": "number"}, "unit": {"type": "string"}},
        "required": ["query", "evidence", "before", "unit"]}},
      "monitoring_queries": {"type": "array", "items": {"type": "string"}},
      "monitoring": {"type": "object", "description": "check_health problems and top_queries statements of the session."},
      "migrations": {"type": "array", "description": "lint_migration results of the session: unsafe statements and the safe script.", "items": {"type": "object"}},
      "scale": {"type": "array", "items": {"type": "object"}, "description": "advise_scale results of the session: table classes, recommendations, what not to do."}
    },
    "required": ["session", "title", "calls", "failed_calls", "tools_used", "findings", "indexes", "benchmarks", "monitoring_queries"]
  })json");
}

}  // namespace dbopt::tools
