#include "tools/health_monitoring.h"

#include <cstdio>

namespace dbopt::tools {
namespace {

using Json = nlohmann::json;

std::string str(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

std::string percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", share * 100);
  return buf;
}

std::string cell(std::string text, std::size_t max = 80) {
  for (char& c : text)
    if (c == '\n' || c == '|' || c == '`') c = ' ';
  return text.size() > max ? text.substr(0, max) + "..." : text;
}

}  // namespace

HealthMonitoring health_monitoring(const std::vector<const SessionEntry*>& entries) {
  HealthMonitoring out;
  Json health = Json::array(), top = Json::array();
  std::string md, queryids;
  for (const SessionEntry* e : entries) {
    const Json& s = e->structured;
    if (e->tool == "check_health") {
      Json problems = Json::array();
      md += "\nHealth of `" + str(s, "database_name") + "` (check_health): ";
      const Json& c = s["counts"];
      md += std::to_string(c.value("critical", 0)) + " critical, " + std::to_string(c.value("high", 0)) + " high, " +
            std::to_string(c.value("medium", 0)) + " medium, " + std::to_string(c.value("low", 0)) + " low.\n\n";
      for (const auto& f : s["findings"]) {
        if (f["severity"] == "info") continue;
        problems.push_back({{"rule_id", f["rule_id"]}, {"severity", f["severity"]}, {"summary", f["summary"]}});
        md += "- " + f["severity"].get<std::string>() + " `" + f["rule_id"].get<std::string>() +
              "`: " + f["summary"].get<std::string>() + "\n";
      }
      health.push_back({{"database", s["database"]}, {"counts", c}, {"problems", problems}});
    } else if (e->tool == "top_queries") {
      Json queries = Json::array();
      md += "\nBusiest statements of `" + str(s, "database_name") + "` by " + str(s, "order_by") +
            " (top_queries):\n\n| # | share | total ms | calls | queryid | query |\n|---|---|---|---|---|---|\n";
      for (const auto& q : s["queries"]) {
        if (queries.size() == 5) break;
        queries.push_back({{"queryid", q["queryid"]},
                           {"query", q["query"]},
                           {"total_ms", q["total_ms"]},
                           {"share_of_total", q["share_of_total"]}});
        char numbers[96];
        std::snprintf(numbers, sizeof numbers, "| %d | %s | %.0f | %.0f |", q["rank"].get<int>(),
                      percent(q["share_of_total"].get<double>()).c_str(), q["total_ms"].get<double>(),
                      q["calls"].get<double>());
        md += std::string(numbers) + " `" + q["queryid"].get<std::string>() + "` | `" + cell(q["query"]) + "` |\n";
        if (!q["queryid"].get<std::string>().empty())
          queryids += (queryids.empty() ? "" : ", ") + q["queryid"].get<std::string>();
      }
      top.push_back({{"database", s["database"]}, {"order_by", s["order_by"]}, {"queries", queries}});
    }
  }
  if (md.empty()) return out;
  out.markdown = "\n## Monitoring: health and top queries\n" + md +
                 "\nTo track them: run check_health again after each change (its findings should disappear) and "
                 "follow the statements above in pg_stat_statements:\n\n```sql\n"
                 "SELECT queryid, calls, round(mean_exec_time::numeric, 2) AS mean_ms, "
                 "round(total_exec_time::numeric) AS total_ms FROM pg_stat_statements WHERE dbid = (SELECT oid FROM "
                 "pg_database WHERE datname = current_database())" +
                 (queryids.empty() ? std::string(" ORDER BY total_exec_time DESC LIMIT 10")
                                   : " AND queryid IN (" + queryids + ")") +
                 ";\n```\n";
  if (!health.empty()) out.structured["health"] = health;
  if (!top.empty()) out.structured["top_queries"] = top;
  return out;
}

}  // namespace dbopt::tools
