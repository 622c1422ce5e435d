// advise_scale's analysis: a ScaleSnapshot in, Findings out.
//
// Every finding comes from a rule of knowledge/rules/scale.yaml (category
// scale): its thresholds decide whether it fires, its templates say what was
// seen (with the numbers) and what to paste. The analysis classifies each
// table from its counters (reads = seq_scan + idx_scan less the index scans
// of foreign-key checks, estimated as the rows inserted into the tables that
// reference it; writes = rows inserted + updated + deleted):
//   read_heavy   reads / writes >= SCALE_CACHE_TABLE.min_read_write_ratio
//   write_heavy  reads / writes <= SCALE_NOT_CACHE_WRITE_HEAVY.max_read_write_ratio
//                (not for a time series: its advice is BRIN and partitioning)
//   time_series  append-only and a date/time column with correlation near 1
//   tenant_keyed carries the detected tenant key (a tenant_id-like column
//                that most of its tables reference by foreign key)
// and reports cache candidates (tables and pg_stat_statements queries), the
// tables not to cache, materialized views for expensive aggregates, BRIN and
// partitioning for time series (and when partitioning does not help), read
// replicas, and sharding (or not) for a multi-tenant schema. Partitions are
// folded into their parent. Findings rest on the server's counters
// (measured), except the Django model names, which are guessed from table names.
//
// Pure function of its inputs; thread-safe.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/scale/scale_snapshot.h"
#include "knowledge/finding.h"
#include "knowledge/rule_book.h"

namespace dbopt::scale {

enum class ScaleFocus { cache, materialized_views, time_series, replicas, sharding };
const char* to_string(ScaleFocus focus);
std::optional<ScaleFocus> parse_scale_focus(const std::string& text);
const std::vector<ScaleFocus>& all_scale_focuses();

struct TableProfile {
  std::string table;
  std::vector<std::string> labels;  // read_heavy, write_heavy, time_series, tenant_keyed
  // reads: scans, less fk_check_reads; writes: rows inserted + updated + deleted.
  double reads = 0, writes = 0;
  // Estimated index scans made by foreign-key checks: rows inserted into the
  // tables that reference this one (each is checked against it). No cache
  // serves those, so they do not make a table read-heavy.
  double fk_check_reads = 0;
  std::optional<double> read_write_ratio;  // absent when nothing was written
  double total_bytes = 0, live_rows = 0;
  std::string time_column;  // for time_series
  std::optional<double> correlation;
  bool has(const std::string& label) const;
};

struct ScaleAdvice {
  std::vector<knowledge::Finding> findings;  // most severe first
  std::vector<TableProfile> tables;          // every table read, largest first
  std::string tenant_key;                    // "" when none was detected
  std::vector<std::string> notes;            // what was not judged and why
};

// focus empty = every category.
ScaleAdvice advise_scale(const ScaleSnapshot& snapshot, const knowledge::RuleBook& rules,
                         const std::set<ScaleFocus>& focus = {});

}  // namespace dbopt::scale
