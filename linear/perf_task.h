// PerfTask: the text of a PERF-XXX performance task, composed from findings.
//
// Pure functions, no I/O: the title, the markdown description (problem,
// evidence, fix, rule ids, how to verify, and a fingerprint line), the
// priority, and the fingerprint that identifies the problem across runs.
//
// The fingerprint is stable: it depends on the problem (the query's
// fingerprint, or the tables and columns the findings name, or the
// normalised free text) and on the most severe rule ids, never on timings,
// plan costs or the order the findings came in. Two runs that find the same
// problem in the same query get the same fingerprint, so the second one
// comments on the existing task instead of filing another.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dbopt::linear {

// One finding, as any dbopt tool reports it (explain_query, suggest_indexes,
// detect_n_plus_one, tune_pool): only rule_id and title are required.
struct TaskFinding {
  std::string rule_id;
  std::string title;
  std::string severity;                                       // info, low, medium, high, critical ("" = unknown)
  std::string summary;                                        // the problem in this case
  std::string where;                                          // plan node, table, log group ...
  std::string evidence_source;                                // measured, estimated, inferred
  std::string fix;                                            // markdown (SQL, DDL, ORM change)
  std::vector<std::pair<std::string, std::string>> evidence;  // name, value (numbers and facts)
  std::string subject;  // what the finding is about, for the fingerprint (table.column, log group)
};

struct TaskInput {
  std::string source_tool;        // explain_query, ... or "" when unknown
  std::string query_fingerprint;  // of the SQL the findings are about, when known
  std::string sql;                // the query text, when known
  std::vector<TaskFinding> findings;
  std::vector<std::pair<std::string, std::string>> context;  // run-level evidence (execution time, cost ...)
  std::string free_text;                                     // findings given as prose
  std::optional<std::string> title;                          // the caller's title
  std::optional<int> priority;                               // the caller's priority (0-4)
};

struct PerfTask {
  std::string title;
  std::string description;            // markdown, ends with the fingerprint line
  std::string fingerprint;            // 16 hex digits
  std::string fingerprint_line;       // "dbopt-fingerprint: <hex>"
  int priority = 0;                   // Linear's 0 none, 1 urgent, 2 high, 3 medium, 4 low
  std::string severity;               // the highest severity among the findings ("" when none)
  std::vector<std::string> rule_ids;  // sorted, unique
};

// Throws dbopt::Error(invalid_argument) when there is nothing to file (no
// findings and no text).
PerfTask compose_task(const TaskInput& input);

// The fingerprint alone (as compose_task computes it).
std::string task_fingerprint(const TaskInput& input);
std::string fingerprint_line(const std::string& fingerprint);
// The fingerprint in a description, "" when it has none.
std::string fingerprint_in(const std::string& description);

// critical 1, high 2, medium 3, low and info 4, unknown 3.
int priority_for_severity(const std::string& severity);

// The comment added to an existing task when the same problem is reported again.
std::string evidence_comment(const PerfTask& task, const TaskInput& input);

}  // namespace dbopt::linear
