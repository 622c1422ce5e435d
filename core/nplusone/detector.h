// N+1 detection: loops of one query per row in what an application ran.
//
// analyze_log() streams a log through core/workload (readers, shape cache,
// units of work) and looks, inside every unit, for loops: runs of one shape
// (A A A ...), and loop bodies of up to max_period shapes repeated (A B A B
// ..., Sentry's MN+1), where a body statement may itself run several times
// per iteration (a loop inside the loop: A B B A A B ...). A loop is found by
// count: at least min_repeats executions of a shape with values that differ,
// after a source query that returned the rows; time does not decide
// detection (min_total_ms is 0 unless the caller asks), it decides severity
// and the order (total time, and its share of the units' database time).
// Each repeated shape is related to the source (or to the query before it
// in the loop body) through foreign keys, from the live catalog when given,
// else Django's naming conventions, with names from a pasted models.py when
// given, which names the fix (fix.h); the statements of one loop body share
// one combined fix. Stacks (JSON Lines) give the call site: the innermost
// frame of the application's own code (not the framework, site-packages or
// the standard library, nor a frame every request passes: middleware, or a
// frame in 90% of the distinct stacks of a log with many, such as a query
// wrapper), in either stack order, and the frame of the loop that drives it
// (where the repeated query's stack leaves the source query's).
//
// What is not reported, with the reason (verbose): fewer repeats than the
// rule's min_repeats, less time than min_total_ms when the caller set one,
// the very same values every time (a cache problem, not a loop over rows),
// batched statements (IN lists, multi-row VALUES), reads with no source
// query, and statements that did not parse.
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
  double min_total_ms = 0;
  int max_period = 5;
  // Severity: high / medium from the loop's database time per unit of work or its share of it;
  // without durations, from the repeats.
  double high_unit_ms = 50, medium_unit_ms = 10;
  double high_share = 0.5, medium_share = 0.2;
  int high_repeats = 50, medium_repeats = 20;
};

struct Options {
  // Per rule (WORKLOAD_NPLUSONE_READ_LOOP, WORKLOAD_NPLUSONE_COUNT_LOOP, WORKLOAD_NPLUSONE_WRITE_LOOP);
  // from the knowledge base unless overridden.
  Thresholds read, count, write;
  Framework framework = Framework::auto_detect;
  workload::GroupingOptions grouping;
  Schema schema;         // catalog foreign keys and models.py; empty: naming conventions
  bool verbose = false;  // keep the groups not reported, with the reason
};

// Thresholds from the rule book; min_repeats / min_total_ms override every rule's when given.
Options options_from_rules(const knowledge::RuleBook& rules, std::optional<int> min_repeats,
                           std::optional<double> min_total_ms);

struct CallSite {
  std::string file;
  int line = 0;
  std::string function;
  std::string describe() const;  // "shop/views.py:42 in handler"
  bool operator==(const CallSite&) const = default;
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
  std::uint64_t units = 0;       // distinct units of work with this loop
  std::uint64_t loops = 0;       // loops (a unit may run one several times)
  bool timed = false;            // every statement had a duration
  double total_ms = 0;
  double unit_total_ms = 0;  // database time of the units concerned
  double mean_ms() const { return executions ? total_ms / static_cast<double>(executions) : 0; }
  double share() const { return unit_total_ms > 0 ? total_ms / unit_total_ms : 0; }
  FixText fix;
  std::string severity;               // high, medium, low: from the time (or the repeats without durations)
  std::string severity_reason;        // the figures it rests on
  std::optional<CallSite> call_site;  // the innermost application frame that runs the repeated query
  std::optional<CallSite> loop_site;  // the frame of the loop that drives it, when the stacks show it
  std::string first_unit;
  std::uint64_t first_line = 0;
  bool reported = false;
  std::string reason;  // why it was (or was not) reported
};

struct Result {
  workload::ReadStats read;
  std::string grouping;  // which grouping key was used, for people
  std::uint64_t units = 0;
  std::uint64_t distinct_shapes = 0;
  std::uint64_t parse_calls = 0;
  std::uint64_t unparsed_statements = 0;
  bool timed = false;                            // the log had durations
  Framework framework = Framework::auto_detect;  // resolved: given, or read from the log
  std::string framework_evidence;                // why that framework
  bool python = false;                           // the application is Python (for the GraphQL loader)
  std::vector<Group> groups;                     // reported, most total time (then share, then repeats) first
  std::vector<Group> not_reported;               // verbose only
};

Result analyze_log(std::istream& in, const workload::ReadOptions& read, const Options& options,
                   const CancellationToken* cancel = nullptr);
Result analyze_statements(const std::vector<std::string>& statements, const Options& options);

}  // namespace dbopt::nplusone
