// N+1 detection: loops of one query per row in what an application ran.
//
// analyze_log() streams a log through core/workload (readers, shape cache,
// units of work) and looks, inside every unit, for runs of the same loop body:
// one shape repeated (A A A ...) or a sequence of up to max_period shapes
// repeated (A B A B ..., Sentry's MN+1), whose values differ between
// iterations, after a source query that returned the rows. Each repeated shape
// is related to the source (or to the query before it in the loop body)
// through foreign keys, from the live catalog when given, else Django's
// naming conventions (app_model tables, <field>_id columns, app_model_field
// M2M through tables), which names the fix (fix.h).
//
// What is not reported, with the reason (verbose): fewer repeats than the
// rule's min_repeats, less time than min_total_ms (count-only when the log has
// no durations), the very same values every time (a cache problem, not a
// loop over rows), batched statements (IN lists, multi-row VALUES), reads with
// no source query, and statements that did not parse.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "core/common/cancellation.h"
#include "core/nplusone/fix.h"
#include "core/workload/log_reader.h"
#include "core/workload/unit_grouper.h"

namespace dbopt::knowledge {
class RuleBook;
}

namespace dbopt::nplusone {

struct Thresholds {
  int min_repeats = 5;
  double min_total_ms = 50;
  int max_period = 5;
};

struct Options {
  // Per rule (WORKLOAD_NPLUSONE_READ_LOOP, WORKLOAD_NPLUSONE_COUNT_LOOP, WORKLOAD_NPLUSONE_WRITE_LOOP);
  // from the knowledge base unless overridden.
  Thresholds read, count, write;
  Framework framework = Framework::auto_detect;
  workload::GroupingOptions grouping;
  std::vector<ForeignKey> foreign_keys;  // from the live catalog; empty: naming conventions
  bool verbose = false;                  // keep the groups not reported, with the reason
};

// Thresholds from the rule book; min_repeats / min_total_ms override every rule's when given.
Options options_from_rules(const knowledge::RuleBook& rules, std::optional<int> min_repeats,
                           std::optional<double> min_total_ms);

struct CallSite {
  std::string file;
  int line = 0;
  std::string function;
  std::string describe() const;  // "shop/views.py:42 in handler"
};

struct Group {
  Kind kind = Kind::repeated_select;
  std::string rule_id;
  std::string repeated_query;  // normalized
  std::string source_query;    // normalized; empty when none
  std::string via_query;       // nested: the query before it in the loop body
  std::string table;
  int period = 1;                // statements per loop iteration
  std::uint64_t n = 0;           // repeats in the largest loop
  std::uint64_t executions = 0;  // all repeats, all units
  std::uint64_t units = 0;       // units of work with this loop
  bool timed = false;            // every statement had a duration
  double total_ms = 0;
  double unit_total_ms = 0;  // database time of the units concerned
  double mean_ms() const { return executions ? total_ms / static_cast<double>(executions) : 0; }
  double share() const { return unit_total_ms > 0 ? total_ms / unit_total_ms : 0; }
  FixText fix;
  std::optional<CallSite> call_site;
  std::string first_unit;
  std::uint64_t first_line = 0;
  bool reported = false;
  std::string reason;  // why it was (or was not) reported
};

struct Result {
  workload::ReadStats read;
  std::string grouping;  // which grouping was used, for people
  std::uint64_t units = 0;
  std::uint64_t distinct_shapes = 0;
  std::uint64_t parse_calls = 0;
  std::uint64_t unparsed_statements = 0;
  bool timed = false;  // the log had durations
  Framework framework = Framework::auto_detect;
  std::vector<Group> groups;        // reported, most total time (else most repeats) first
  std::vector<Group> not_reported;  // verbose only
};

Result analyze_log(std::istream& in, const workload::ReadOptions& read, const Options& options,
                   const CancellationToken* cancel = nullptr);
Result analyze_statements(const std::vector<std::string>& statements, const Options& options);

}  // namespace dbopt::nplusone
