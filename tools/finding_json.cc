#include "tools/finding_json.h"

namespace dbopt::tools {

nlohmann::json flat_finding_json(const knowledge::Finding& f) {
  nlohmann::json j = {{"rule_id", f.rule_id},
                      {"title", f.title},
                      {"severity", knowledge::to_string(f.severity)},
                      {"evidence", knowledge::to_string(f.source)},
                      {"where", f.where.describe()},
                      {"table", f.where.table},
                      {"subject", f.where.text},
                      {"summary", f.summary},
                      {"fix", f.fix},
                      {"numbers", f.numbers},
                      {"facts", f.facts}};
  if (f.saving_share) j["saving_share"] = *f.saving_share;
  return j;
}

}  // namespace dbopt::tools
