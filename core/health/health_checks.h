// check_health's analysis: a HealthSnapshot in, Findings out.
//
// Every finding comes from a rule of knowledge/rules/health.yaml (category
// health): its thresholds decide whether it fires and how severe it is, its
// templates say what was seen and the statement or setting that fixes it.
// Nothing below a rule's threshold is reported, so a healthy database gets
// nothing above info. Findings are measured (they rest on the server's own
// counters and catalogs) except the statistics-based bloat estimates and the
// settings judged against RAM or storage the caller described.
//
// Pure function of its inputs; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/health/health_snapshot.h"
#include "knowledge/finding.h"
#include "knowledge/rule_book.h"

namespace dbopt::health {

// What the caller knows about the server, for the settings audit.
struct ServerFacts {
  std::optional<double> ram_gb;
  std::optional<std::string> storage;   // "ssd", "hdd", "san"
  std::optional<std::string> workload;  // "oltp", "web", "dw", "mixed", "desktop"
};

struct HealthReport {
  std::vector<knowledge::Finding> findings;  // most severe first
  std::vector<std::string> notes;            // what was not checked and why, limits hit
};

// Settings written as in postgresql.conf ("4GB", "on", "1.1"; a plain number
// is in the setting's base unit) as pg_settings would show them, for the
// settings audit without a database. Throws dbopt::Error(invalid_argument)
// naming the setting when a size does not parse.
std::map<std::string, SettingValue> settings_from_text(const std::map<std::string, std::string>& values);

HealthReport check_health(const HealthSnapshot& snapshot, const knowledge::RuleBook& rules,
                          const ServerFacts& facts = {}, int limit_per_check = 20);

}  // namespace dbopt::health
