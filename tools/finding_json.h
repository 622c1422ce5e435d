// A Finding as the flat JSON object check_health, lint_migration,
// advise_scale and tune_pool return ("where" as one line; table and subject
// apart). explain_query has its own, richer shape (explain_report.h).
#pragma once

#include <nlohmann/json.hpp>

#include "knowledge/finding.h"

namespace dbopt::tools {

nlohmann::json flat_finding_json(const knowledge::Finding& finding);

}  // namespace dbopt::tools
