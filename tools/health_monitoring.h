// The monitoring section of a session report, fed by the session's
// check_health and top_queries results: the health problems found (above
// info), the busiest statements, and the queries that track both over time.
// Internal to session_report.
#pragma once

#include <string>
#include <vector>

#include "tools/session_store.h"

namespace dbopt::tools {

struct HealthMonitoring {
  std::string markdown;                                  // empty when the session ran neither tool
  nlohmann::json structured = nlohmann::json::object();  // {"health": [...], "top_queries": [...]}
};

HealthMonitoring health_monitoring(const std::vector<const SessionEntry*>& entries);

}  // namespace dbopt::tools
