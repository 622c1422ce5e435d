// Readers for PostgreSQL EXPLAIN output, as people paste it and as dbopt
// receives it from a database.
//
// parse_explain_json reads EXPLAIN (FORMAT JSON) from PostgreSQL 13 to 17: the
// outer array or a bare object (auto_explain's form). parse_explain_text reads
// the default TEXT format. Both accept psql's decorations (the "QUERY PLAN"
// header, the dashed rule, the "(N rows)" footer, '+' continuation marks) and
// leading or trailing blank space, and both produce the same Plan for the same
// plan. parse_explain picks the reader from the first character.
//
// Errors: input that is not a plan (empty, garbage, truncated) throws
// dbopt::Error(ErrorCode::invalid_argument) whose message says what was
// expected and on which line it failed; the readers never crash on bad input.
// Pure functions, thread-safe. Cost is linear in the input.
#pragma once

#include <string_view>

#include "core/plan/plan.h"

namespace dbopt::plan {

// Deepest plan accepted; real plans stay far below. Bounds recursion (and so
// stack use) in everything that walks a Plan.
inline constexpr int kMaxPlanDepth = 1000;

Plan parse_explain_json(std::string_view json);
Plan parse_explain_text(std::string_view text);
// JSON when the first non-blank character (after psql's header) is '[' or '{',
// TEXT otherwise.
Plan parse_explain(std::string_view explain_output);

}  // namespace dbopt::plan
