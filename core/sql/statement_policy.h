// The safe executor's statement policy: may dbopt run this SQL on a user's database?
//
// check_statement() parses the text with libpg_query and walks the whole parse
// tree (CTEs, subqueries, FROM-clause functions, EXPLAIN's inner statement).
// It accepts exactly one statement of kind SELECT / VALUES / EXPLAIN / SHOW and
// refuses data-modifying CTEs, locking clauses (FOR UPDATE/SHARE), SELECT INTO,
// and calls of side-effecting, file, network or admin functions (pg_read_file,
// pg_ls_dir, lo_*, dblink*, pg_terminate_backend, set_config, ...). A write under
// EXPLAIN ANALYZE is reported as such so the caller can allow it only when the
// config permits (it is then still rolled back). Pure function, thread-safe.
//
// Plain EXPLAIN (without ANALYZE) only plans, so it may show the plan of a
// write, a data-modifying CTE or a locking SELECT; denylisted functions and
// SELECT INTO are refused under any EXPLAIN. Under EXPLAIN ANALYZE only the
// explained write itself can be allowed by the flag: a data-modifying CTE or a
// locking clause is refused outright. The denylist cannot see inside
// user-defined functions; the READ ONLY transaction is the backstop there.
#pragma once

#include <string>
#include <string_view>

namespace dbopt::sql {

struct StatementVerdict {
  bool allowed = false;
  // EXPLAIN ANALYZE of INSERT/UPDATE/DELETE/MERGE: allowed only with the config flag.
  bool is_analyze_of_write = false;
  // The statement really executes: SELECT / VALUES / SHOW, or EXPLAIN with
  // ANALYZE. False for plain EXPLAIN, which only plans.
  bool runs_statement = false;
  std::string statement_kind;  // "select", "explain", "show", "insert", ...
  // For EXPLAIN: the kind of the explained statement ("select", "delete", ...).
  std::string explained_statement_kind;
  // The highest $n placeholder: the statement needs that many parameter values.
  int parameter_count = 0;
  // When refused: what was refused and why, naming the offending construct.
  std::string reason;
};

// Throws dbopt::Error(invalid_argument) when the text does not parse or holds
// more or fewer than one statement.
StatementVerdict check_statement(std::string_view sql);

}  // namespace dbopt::sql
