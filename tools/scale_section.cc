#include "tools/scale_section.h"

namespace dbopt::tools {
namespace {

using Json = nlohmann::json;

std::string str(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

}  // namespace

ScaleSection scale_section(const std::vector<const SessionEntry*>& entries) {
  ScaleSection out;
  std::string md;
  for (const SessionEntry* e : entries) {
    if (e->tool != "advise_scale") continue;
    const Json& s = e->structured;
    const std::string db = str(s, "database_name");
    md += "\nScale advice for " + (db.empty() ? std::string("a snapshot") : "`" + db + "`") + " (advise_scale";
    if (!str(s, "tenant_key").empty()) md += ", tenant key `" + str(s, "tenant_key") + "`";
    md += "):\n\n";
    Json classes = Json::object();
    for (const auto& t : s.value("tables", Json::array()))
      for (const auto& l : t.value("labels", Json::array())) classes[l.get<std::string>()].push_back(t["table"]);
    for (const auto& [label, tables] : classes.items()) {
      std::string list;
      for (const auto& t : tables) list += (list.empty() ? "" : ", ") + t.get<std::string>();
      md += "- " + label + ": " + list + "\n";
    }
    Json recommendations = Json::array(), donts = Json::array();
    std::string rec_md, dont_md;
    for (const auto& f : s.value("findings", Json::array())) {
      Json item = {{"rule_id", f["rule_id"]}, {"table", f.value("table", "")}, {"summary", f["summary"]}};
      const std::string line = "- `" + f["rule_id"].get<std::string>() + "`: " + f["summary"].get<std::string>() + "\n";
      if (f["severity"] == "info") {
        donts.push_back(item);
        dont_md += line;
      } else {
        recommendations.push_back(item);
        rec_md += line;
      }
    }
    if (!rec_md.empty()) md += "\nRecommended:\n\n" + rec_md;
    if (!dont_md.empty()) md += "\nNot recommended (and why):\n\n" + dont_md;
    if (rec_md.empty() && dont_md.empty()) md += "\nNo scale rule fired.\n";
    out.structured.push_back({{"database", s.value("database", "")},
                              {"database_name", db},
                              {"tenant_key", str(s, "tenant_key")},
                              {"classes", classes},
                              {"recommendations", recommendations},
                              {"not_recommended", donts}});
  }
  if (md.empty()) return out;
  out.markdown = "\n## Caching and scale\n" + md +
                 "\nThe full SQL and Python for each recommendation is in the advise_scale result above; run "
                 "advise_scale again after a week of traffic to see the classes hold.\n";
  return out;
}

}  // namespace dbopt::tools
