// TextShape: what a cheap scan of SQL text tells before libpg_query sees it.
//
// The scan tokenizes no further than strings, identifiers, comments and
// brackets, in one pass and without allocating per byte, so callers (the tool
// registry's input limits) can refuse a text that would cost libpg_query too
// much, or crash it, before any parsing. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

namespace dbopt::sql {

// Statements in the text: semicolon-separated parts that hold more than
// blanks and comments. Semicolons inside literals and comments do not count.
std::size_t count_statements(std::string_view sql);

// An upper bound on the deepest expression nesting libpg_query would build
// (operator chains, brackets, CASE, JOIN/UNION chains); the scan stops once
// it exceeds stop_after.
std::size_t estimated_depth(std::string_view sql, std::size_t stop_after);

}  // namespace dbopt::sql
