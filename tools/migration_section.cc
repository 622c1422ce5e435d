#include "tools/migration_section.h"

namespace dbopt::tools {

MigrationSection migration_section(const std::vector<const SessionEntry*>& entries) {
  MigrationSection out;
  using Json = nlohmann::json;
  std::string md;
  int n = 0;
  for (const SessionEntry* e : entries) {
    if (e->tool != "lint_migration") continue;
    const Json& s = e->structured;
    Json unsafe = Json::array();
    md += "\nMigration " + std::to_string(++n) +
          " (lint_migration): " + std::to_string(s["counts"].value("unsafe", 0)) + " unsafe, " +
          std::to_string(s["counts"].value("needs_care", 0)) + " need care, " +
          std::to_string(s["counts"].value("safe", 0)) + " safe.\n\n";
    for (const auto& st : s.value("statements", Json::array())) {
      if (st.value("verdict", "") != "unsafe") continue;
      std::string rules;
      for (const auto& r : st["rules"]) rules += (rules.empty() ? "" : ", ") + r.get<std::string>();
      std::string text = st.value("statement", "");
      for (char& c : text)
        if (c == '\n' || c == '`') c = ' ';
      if (text.size() > 120) text = text.substr(0, 117) + "...";
      md += "- line " + std::to_string(st.value("line", 0)) + ": `" + text + "` takes " + st.value("lock", "") + " (" +
            rules + ")\n";
      unsafe.push_back({{"line", st["line"]}, {"statement", st["statement"]}, {"rules", st["rules"]}});
    }
    const std::string script = s.value("safe_script", "");
    if (!unsafe.empty() && !script.empty()) md += "\nRun instead:\n\n```sql\n" + script + "```\n";
    out.structured.push_back({{"counts", s["counts"]}, {"unsafe", unsafe}, {"safe_script", script}});
  }
  if (!md.empty()) out.markdown = "\n## Migrations: locks and their zero-downtime form\n" + md;
  return out;
}

}  // namespace dbopt::tools
