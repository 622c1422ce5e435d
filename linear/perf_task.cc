#include "linear/perf_task.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <regex>
#include <set>

#include <openssl/evp.h>

#include "core/common/error.h"

namespace dbopt::linear {
namespace {

int severity_rank(const std::string& s) {
  if (s == "critical") return 5;
  if (s == "high") return 4;
  if (s == "medium") return 3;
  if (s == "low") return 2;
  if (s == "info") return 1;
  return 0;
}

std::string sha256_hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

// Lower case, digits as '#', runs of space as one: "Seq Scan filters 99%" and
// "seq scan  filters 98%" are the same problem.
std::string normalise_text(const std::string& text) {
  std::string out;
  bool space = false;
  for (unsigned char c : text) {
    if (std::isspace(c)) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += std::isdigit(c) ? '#' : static_cast<char>(std::tolower(c));
  }
  return out;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string shorten(std::string s, std::size_t max) {
  s = trim(s);
  if (auto nl = s.find('\n'); nl != std::string::npos) s = trim(s.substr(0, nl));
  if (s.size() <= max) return s;
  std::size_t cut = s.rfind(' ', max - 1);
  if (cut == std::string::npos || cut < max / 2) cut = max - 1;
  // Do not cut a UTF-8 sequence in two.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "…";
}

// The findings that define the problem: the most severe ones.
std::vector<const TaskFinding*> by_severity(const TaskInput& input) {
  std::vector<const TaskFinding*> out;
  for (const auto& f : input.findings) out.push_back(&f);
  std::stable_sort(out.begin(), out.end(), [](const TaskFinding* a, const TaskFinding* b) {
    return severity_rank(a->severity) > severity_rank(b->severity);
  });
  return out;
}

std::string highest_severity(const TaskInput& input) {
  std::string best;
  for (const auto& f : input.findings)
    if (severity_rank(f.severity) > severity_rank(best)) best = f.severity;
  return best;
}

std::vector<std::string> rule_ids(const TaskInput& input) {
  std::set<std::string> ids;
  for (const auto& f : input.findings)
    if (!f.rule_id.empty()) ids.insert(f.rule_id);
  return {ids.begin(), ids.end()};
}

void require_content(const TaskInput& input) {
  if (input.findings.empty() && trim(input.free_text).empty())
    throw Error(ErrorCode::invalid_argument, "`findings` holds nothing to file: no findings and no text.",
                "Pass the structured output of explain_query, suggest_indexes, detect_n_plus_one or tune_pool "
                "(with a non-empty findings list), or a description of the problem as text.");
}

std::string code_block(const std::string& lang, const std::string& text) {
  return "```" + lang + "\n" + trim(text) + "\n```\n";
}

void add_evidence_list(std::string& md, const std::vector<std::pair<std::string, std::string>>& evidence) {
  for (const auto& [name, value] : evidence) md += "- " + name + ": " + value + "\n";
}

std::string verification(const TaskInput& input, const std::vector<std::string>& rules) {
  std::string md = "### How to verify\n";
  const std::string& tool = input.source_tool;
  int step = 1;
  auto line = [&](const std::string& text) { md += std::to_string(step++) + ". " + text + "\n"; };
  const bool has_fix = std::any_of(input.findings.begin(), input.findings.end(),
                                   [](const TaskFinding& f) { return !trim(f.fix).empty(); });
  line(std::string(has_fix ? "Apply the fix above" : "Make the change") +
       " on a staging copy first (create indexes `CONCURRENTLY` in production).");
  if (tool == "detect_n_plus_one") {
    line(
        "Run the same request or test with query logging on (Django: `django.db.backends` at DEBUG) and count "
        "the repeated query: it should run once or twice per request instead of once per row.");
  } else if (tool == "tune_pool") {
    line(
        "Under normal load, watch `SHOW POOLS;` on PgBouncer (cl_waiting should stay 0) and "
        "`SELECT count(*) FROM pg_stat_activity` (it should stay below max_connections with headroom).");
  } else if (tool == "advise_scale") {
    line(
        "After a day of traffic, run advise_scale again: a cached table's reads in pg_stat_user_tables drop (the "
        "cache serves them; watch the cache's hit rate too), a materialized view's source query leaves the top of "
        "pg_stat_statements, and a new BRIN index shows idx_scan > 0 in pg_stat_user_indexes.");
  } else if (tool == "check_health") {
    line("Run check_health again with the same categories: the findings above should be gone or down to info.");
  } else if (tool == "suggest_indexes") {
    line(
        "After a day of traffic, `SELECT indexrelname, idx_scan FROM pg_stat_user_indexes` shows the new indexes "
        "in use, and `mean_exec_time` of the affected queries in `pg_stat_statements` has dropped.");
  } else {
    line(std::string("Run `EXPLAIN (ANALYZE, BUFFERS)` on the query") + (input.sql.empty() ? "" : " above") +
         " and compare with the evidence: the slow node should be gone and the execution time lower.");
  }
  if (!rules.empty()) {
    std::string ids;
    for (const auto& r : rules) ids += (ids.empty() ? "" : ", ") + ("`" + r + "`");
    line("Re-run dbopt " + (tool.empty() ? std::string("on the query") : "`" + tool + "`") + ": " + ids +
         (rules.size() == 1 ? " should no longer fire." : " should no longer fire."));
  }
  return md;
}

}  // namespace

int priority_for_severity(const std::string& severity) {
  switch (severity_rank(severity)) {
    case 5:
      return 1;
    case 4:
      return 2;
    case 3:
      return 3;
    case 2:
    case 1:
      return 4;
    default:
      return 3;
  }
}

std::string task_fingerprint(const TaskInput& input) {
  require_content(input);
  std::string subject;
  if (!input.query_fingerprint.empty()) {
    subject = "query " + input.query_fingerprint;
  } else {
    std::set<std::string> subjects;
    for (const auto& f : input.findings)
      if (!f.subject.empty()) subjects.insert(f.subject);
    if (subjects.empty())
      for (const auto& f : input.findings)
        if (!f.where.empty()) subjects.insert(normalise_text(f.where));
    for (const auto& s : subjects) subject += "subject " + s + "\n";
    if (subject.empty()) subject = "text " + normalise_text(input.free_text);
  }
  // The most severe rules name the problem; lesser advice may come and go between runs.
  std::set<std::string> rules;
  const std::string top = highest_severity(input);
  for (const auto& f : input.findings)
    if (f.severity == top && !f.rule_id.empty()) rules.insert(f.rule_id);
  std::string key = "dbopt perf task v1\n" + subject + "\n";
  for (const auto& r : rules) key += "rule " + r + "\n";
  return sha256_hex(key).substr(0, 16);
}

std::string fingerprint_line(const std::string& fingerprint) { return "dbopt-fingerprint: " + fingerprint; }

std::string fingerprint_in(const std::string& description) {
  static const std::regex pattern(R"(dbopt-fingerprint: ([0-9a-f]{16}))");
  std::smatch m;
  return std::regex_search(description, m, pattern) ? m[1].str() : "";
}

PerfTask compose_task(const TaskInput& input) {
  require_content(input);
  PerfTask task;
  task.fingerprint = task_fingerprint(input);
  task.fingerprint_line = fingerprint_line(task.fingerprint);
  task.severity = highest_severity(input);
  task.rule_ids = rule_ids(input);
  task.priority = input.priority ? *input.priority : priority_for_severity(task.severity);
  const auto ordered = by_severity(input);
  const TaskFinding* top = ordered.empty() ? nullptr : ordered.front();

  // Title: the caller's, else the main finding and where it is.
  if (input.title && !trim(*input.title).empty()) {
    task.title = shorten(*input.title, 255);
  } else if (top) {
    std::string t = top->title.empty() ? top->rule_id : top->title;
    if (!top->where.empty()) t += " — " + top->where;
    if (ordered.size() > 1) t += " (+" + std::to_string(ordered.size() - 1) + " more)";
    task.title = shorten(t, 120);
  } else {
    task.title = shorten(input.free_text, 120);
  }

  std::string md;
  md += "### Problem\n";
  if (top) {
    md += trim(top->summary.empty() ? top->title : top->summary) + "\n\n";
  }
  if (!trim(input.free_text).empty()) md += trim(input.free_text) + "\n\n";
  std::string origin = "Found by dbopt";
  if (!input.source_tool.empty()) origin += " `" + input.source_tool + "`";
  if (!task.severity.empty()) origin += " · severity **" + task.severity + "**";
  if (top && !top->evidence_source.empty()) origin += " · evidence " + top->evidence_source;
  md += origin + ".\n\n";

  if (!input.sql.empty() || !input.query_fingerprint.empty()) {
    md += "### Query\n";
    if (!input.sql.empty()) md += code_block("sql", input.sql);
    if (!input.query_fingerprint.empty()) md += "Query fingerprint (pg_query): `" + input.query_fingerprint + "`\n";
    md += "\n";
  }

  if (!input.context.empty()) {
    md += "### Evidence\n";
    add_evidence_list(md, input.context);
    md += "\n";
  }

  if (!ordered.empty()) {
    md += "### Findings and fixes\n";
    int n = 1;
    for (const TaskFinding* f : ordered) {
      md += "#### " + std::to_string(n++) + ". " + (f->title.empty() ? f->rule_id : f->title) + "\n";
      std::string meta = "Rule `" + f->rule_id + "`";
      if (!f->severity.empty()) meta += " · " + f->severity;
      if (!f->evidence_source.empty()) meta += " · " + f->evidence_source;
      md += meta + "\n\n";
      if (!f->where.empty()) md += "Where: " + f->where + "\n\n";
      if (!f->summary.empty() && f != top) md += trim(f->summary) + "\n\n";
      if (!f->evidence.empty()) {
        md += "Evidence:\n";
        add_evidence_list(md, f->evidence);
        md += "\n";
      }
      if (!trim(f->fix).empty()) md += "**Fix**\n\n" + trim(f->fix) + "\n\n";
    }
  }

  md += verification(input, task.rule_ids) + "\n";
  if (!task.rule_ids.empty()) {
    md += "### Rules\n";
    for (const auto& r : task.rule_ids) md += "- `" + r + "` (dbopt://knowledge/rules/" + r + ")\n";
    md += "\n";
  }
  md += "---\n" + task.fingerprint_line + "\n";
  task.description = md;
  return task;
}

std::string evidence_comment(const PerfTask& task, const TaskInput& input) {
  char date[32];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", &tm);
  std::string md = std::string("dbopt found this problem again on ") + date;
  if (!input.source_tool.empty()) md += " (`" + input.source_tool + "`)";
  md += ".\n\n";
  if (!input.context.empty()) {
    md += "Evidence of this run:\n";
    add_evidence_list(md, input.context);
    md += "\n";
  }
  for (const TaskFinding* f : by_severity(input)) {
    md += "- `" + f->rule_id + "` " + f->title;
    if (!f->severity.empty()) md += " (" + f->severity + ")";
    md += "\n";
    for (const auto& [name, value] : f->evidence) md += "  - " + name + ": " + value + "\n";
  }
  if (!trim(input.free_text).empty()) md += trim(input.free_text) + "\n";
  md += "\n" + task.fingerprint_line + "\n";
  return md;
}

}  // namespace dbopt::linear
