// Internal to core/rules: reading the condition text EXPLAIN prints
// (Filter, Index Cond, Hash Cond, Join Filter ...).
//
// PostgreSQL prints conditions through ruleutils: keywords upper-case,
// identifiers lower-case unless quoted, every sub-expression parenthesized,
// implicit casts shown as (column)::type. That regularity is enough to find
// which columns a condition constrains and how, without a SQL parser. The
// reading is best effort: a term it cannot place is reported with an empty
// column, never as an error. Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dbopt::rules::detail {

enum class TermKind {
  equality,  // =, = ANY (...), IS NULL: columns an index should lead with
  range,     // <, <=, >, >=
  pattern,   // ~~ (LIKE), ~~* (ILIKE)
  not_null,  // IS NOT NULL: rarely selective
  other,     // <>, functions, operators the index advice does not use
};

struct ConditionTerm {
  std::string qualifier;        // "o" in o.customer_id; empty when unqualified
  std::string column;           // the constrained column; empty when no column is found
  std::string expression;       // the column side when it is a function of the column
  std::string cast_type;        // "numeric" for (id)::numeric
  std::string op;               // "=", "<", "~~", "= ANY", "IS NULL" ...
  std::string other_side;       // the other operand as printed
  std::string other_qualifier;  // when the other side is a column: its qualifier
  std::string other_column;     // when the other side is a column: its name
  bool in_or = false;           // part of an OR: not required of every row
  TermKind kind = TermKind::other;
  std::string text;  // the term as printed
};

// The AND-ed terms of a condition; OR-ed groups are flattened with in_or set.
std::vector<ConditionTerm> parse_condition(std::string_view condition);

// Columns the condition casts: "(id)::numeric" gives {"", "id", "numeric"}.
struct ColumnCast {
  std::string qualifier;
  std::string column;
  std::string type;
};
std::vector<ColumnCast> column_casts(std::string_view condition);

}  // namespace dbopt::rules::detail
