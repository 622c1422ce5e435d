// The "Caching and scale" section of a session report, fed by the session's
// advise_scale results: how each table was classified and the
// recommendations (rule, table, summary), the "do not" findings apart.
// Internal to session_report.
#pragma once

#include <string>
#include <vector>

#include "tools/session_store.h"

namespace dbopt::tools {

struct ScaleSection {
  std::string markdown;                                 // empty when the session never ran advise_scale
  nlohmann::json structured = nlohmann::json::array();  // one object per advise_scale call
};

ScaleSection scale_section(const std::vector<const SessionEntry*>& entries);

}  // namespace dbopt::tools
