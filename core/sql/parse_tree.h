// Internal to core/sql (other modules use query_model.h, fingerprint.h and
// statement_policy.h): the one place that calls libpg_query.
//
// Every entry point checks the text first (NUL bytes, UTF-8 for the JSON tree,
// expression depth) and turns libpg_query errors into dbopt::Error
// (invalid_argument) naming the 1-based position and the text around it.
// libpg_query results are freed by RAII wrappers, also when a step throws.
// Thread-safe: libpg_query keeps its memory contexts per thread.
#pragma once

#include <pg_query.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

#include "core/common/error.h"
#include "core/sql/query_model.h"

namespace dbopt::sql::detail {

// Owns one libpg_query result and frees it with Free, also when the caller
// throws. Result is one of the PgQuery*Result structs of pg_query.h.
template <typename Result, void (*Free)(Result)>
class Owned {
 public:
  explicit Owned(Result result) : result_(result) {}
  ~Owned() { Free(result_); }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  const Result* operator->() const { return &result_; }

 private:
  Result result_;
};

// libpg_query itself recurses once per level of a left-deep operator chain
// ("1 + 1 + 1 ..."), which its grammar does not bound, and crashes the process
// when the stack runs out (about 200 bytes a level in pg_query_normalize; a
// 40 000-term chain overflows an 8 MB stack). Statements estimated deeper than
// this are refused before libpg_query sees them; real queries stay far below.
// The deepest accepted statement needs about 2 MB of stack across libpg_query
// and dbopt's own walkers, whose recursive functions keep small frames for it.
inline constexpr std::size_t kMaxExpressionDepth = 2000;

// Throws dbopt::Error(invalid_argument) for a NUL byte (libpg_query and libpq
// would silently cut the statement there) or an expression estimated deeper
// than kMaxExpressionDepth. Linear in the text; free for short texts.
void check_text(std::string_view sql);

// Throws for bytes that are not UTF-8 (the JSON tree cannot carry them).
void check_utf8(std::string_view sql);

// The JSON parse tree of the whole text ({"version":..., "stmts":[...]}).
// Throws dbopt::Error(invalid_argument) when the text does not parse.
nlohmann::json parse_tree(std::string_view sql);

// The highest $n placeholder number anywhere in the tree (0 when none).
int highest_parameter(const nlohmann::json& tree);

// The dbopt::Error for a libpg_query error on `sql`: message, 1-based
// position, the text around it, and a fix.
dbopt::Error parse_error(std::string_view sql, const PgQueryError& error);

// Location of a statement inside the text it was parsed from, as libpg_query
// reports it (stmt_len 0 means "to the end"), with surrounding blanks trimmed.
struct StatementSpan {
  std::size_t offset = 0;
  std::size_t length = 0;
};
StatementSpan statement_span(std::string_view sql, const nlohmann::json& raw_stmt);

// Past the end of the string literal, quoted identifier, dollar-quoted string
// or comment that starts at byte `i`; `i` itself when none starts there.
// Unterminated ones run to the end of the text.
std::size_t skip_literal_or_comment(std::string_view sql, std::size_t i);

// The node type and body of a node such as {"SelectStmt": {...}}; an empty
// name for anything else.
struct Node {
  std::string_view type;
  const nlohmann::json* body = nullptr;
  explicit operator bool() const { return body != nullptr; }
};
Node as_node(const nlohmann::json& value);

// The kind of a statement node such as {"SelectStmt": {...}}.
StatementKind statement_kind(const nlohmann::json& statement);

// The value of a DefElem body (EXPLAIN and other options) as written; empty
// when the option has none.
std::string option_value(const nlohmann::json& def_elem);

// Whether an ExplainStmt body runs its statement: an ANALYZE option that is
// not plainly false. Values PostgreSQL would reject count as true, so a
// refusal never hinges on an odd spelling.
bool explain_analyzes(const nlohmann::json& explain);

// Text of a {"String": {"sval": ...}} node, or empty.
std::string string_value(const nlohmann::json& value);

// The "location" field of a node body, or -1.
int location_of(const nlohmann::json& body);

}  // namespace dbopt::sql::detail
