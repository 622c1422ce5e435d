// Internal to core/plan: what the JSON and TEXT readers share.
//
// Not part of the public API (include explain_reader.h instead). Everything
// here is a pure function over its arguments.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/plan/plan.h"

namespace dbopt::plan::detail {

// One line of the input, psql's decorations taken off. number is 1-based in
// the original input, so error messages point where the user looks.
struct SourceLine {
  std::string_view text;
  int number = 0;
};

// The input split into lines, with what psql adds around a result taken off:
// the "QUERY PLAN" header, the dashed rule under it, the "(N rows)" footer and
// the '+' that marks a continued line. Blank lines are kept (empty), so line
// numbers stay those of the input. The views point into the input.
struct CleanedInput {
  std::vector<SourceLine> lines;
  bool had_decorations = false;  // anything but trailing blanks was taken off
};
CleanedInput strip_psql_decorations(std::string_view input);

// The first character of the plan itself ('[', '{' or a letter), skipping
// blank lines and psql's header; '\0' when there is none. Reads no further
// than that line.
char first_plan_character(std::string_view input);

// Lines joined back with '\n' (line i of the result is line i of the input).
std::string join_lines(const std::vector<SourceLine>& lines);

// The TEXT format names a node's target after " on ": what that name is
// depends on the node type.
enum class TargetKind {
  none,        // joins, Sort, Hash, Aggregate, ...
  relation,    // Seq Scan, Index Scan, Bitmap Heap Scan, ModifyTable, ...
  index,       // Bitmap Index Scan: " on index_name"
  function,    // Function Scan, Table Function Scan
  cte,         // CTE Scan, WorkTable Scan
  tuplestore,  // Named Tuplestore Scan (the name is not kept)
  alias_only,  // Subquery Scan, Values Scan
};
TargetKind target_kind(std::string_view node_type);

// PostgreSQL's quote_identifier, without the keyword list: quotes a name
// unless it is lower-case letters, digits and underscores.
std::string quote_identifier(std::string_view name);

// What both readers do last: the analyzed flag and the version hint, derived
// from the filled model so that they agree whatever the format.
void finish_plan(Plan& plan);

[[noreturn]] void throw_parse_error(std::string message);

}  // namespace dbopt::plan::detail
