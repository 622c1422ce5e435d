// The migrations section of a session report, fed by the session's
// lint_migration results: the unsafe statements found and the zero-downtime
// form of each migration, to paste. Internal to session_report.
#pragma once

#include <string>
#include <vector>

#include "tools/session_store.h"

namespace dbopt::tools {

struct MigrationSection {
  std::string markdown;                                 // empty when the session linted no migration
  nlohmann::json structured = nlohmann::json::array();  // [{"counts": ..., "unsafe": [...], "safe_script": "..."}]
};

MigrationSection migration_section(const std::vector<const SessionEntry*>& entries);

}  // namespace dbopt::tools
