// QueryModel: what a SQL statement does, in plain value types, for the
// analyzers (index advice, N+1 grouping, explain hints, migration lints).
//
// parse_query() parses one statement with libpg_query (PostgreSQL 15 grammar)
// and records its kind, tables, column references, predicates, joins, GROUP
// BY, ORDER BY, LIMIT/OFFSET, function calls, CTEs, subqueries, locking
// clauses and SELECT INTO. Subqueries and CTEs are walked too: every item
// carries the id of the Scope it belongs to (0 is the statement itself), so
// callers can take the whole statement or one query level.
//
// Names are resolved from the text alone (no catalog): a column is tied to a
// table when it is qualified, when its query level reads exactly one relation,
// or through an alias. Otherwise Column::table stays empty. Identifiers are as
// PostgreSQL folds them (unquoted names lower-cased).
//
// Errors: dbopt::Error(invalid_argument) when the text does not parse (the
// message names the 1-based position and the text around it), is not UTF-8,
// contains a NUL byte, or nests deeper than dbopt analyzes (about 2000 levels
// of operators, JOINs, UNIONs or brackets; the deepest accepted statement
// needs about 2 MB of the calling thread's stack, Linux threads get 8 MB).
// parse_query also refuses a text with no statement or more than one.
// Pure functions, thread-safe; the model owns all its data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dbopt::sql {

enum class StatementKind {
  select,
  values,  // a bare VALUES list
  insert,
  update,
  delete_,  // "delete" is a C++ keyword
  merge,
  explain,
  show,
  set,  // SET / RESET
  create_table,
  create_table_as,  // also SELECT ... INTO is select, not this
  create_materialized_view,
  create_view,
  create_index,
  alter_table,
  drop,
  truncate,
  copy,
  vacuum,
  analyze,
  refresh_materialized_view,
  reindex,
  cluster,
  lock,
  transaction,  // BEGIN, COMMIT, ROLLBACK, SAVEPOINT ...
  do_block,
  call,
  listen,
  notify,
  prepare,
  execute,
  deallocate,
  declare_cursor,
  create_function,
  create_extension,
  grant,
  other,  // see QueryModel::node_type
};
const char* to_string(StatementKind kind);
// INSERT, UPDATE, DELETE and MERGE: statements that change rows.
bool changes_rows(StatementKind kind);

// Where in its query level something appears.
enum class Clause {
  select_list,
  from,     // FROM items, including function calls in FROM
  join_on,  // JOIN ... ON / USING, MERGE ... ON
  where,
  group_by,
  having,
  window,  // WINDOW clause and OVER (...)
  order_by,
  distinct_on,
  limit,
  offset,
  values,          // VALUES lists, INSERT ... VALUES
  set,             // UPDATE SET, ON CONFLICT DO UPDATE SET, MERGE ... UPDATE SET
  insert_columns,  // INSERT INTO t (a, b)
  returning,
  on_conflict,
  merge_action,  // MERGE WHEN ... THEN
  definition,    // inside DDL (CREATE INDEX keys and predicate, defaults ...)
};
const char* to_string(Clause clause);

// A query level: the statement itself, a CTE, a subquery, a UNION branch.
enum class ScopeKind {
  statement,            // scope 0
  cte,                  // WITH name AS (...)
  from_subquery,        // FROM (SELECT ...) alias, also LATERAL
  expression_subquery,  // (SELECT ...), EXISTS, IN (SELECT ...), ARRAY(SELECT ...)
  set_operand,          // one side of UNION / INTERSECT / EXCEPT
  source_query,         // INSERT ... SELECT, CREATE TABLE AS, CREATE VIEW
};
const char* to_string(ScopeKind kind);

// LIMIT, OFFSET or FETCH FIRST value.
struct LimitValue {
  enum class Kind { constant, parameter, expression, all };  // all: LIMIT ALL / LIMIT NULL
  Kind kind = Kind::constant;
  std::string text;                   // as SQL: "10", "$2", "(SELECT ...)"
  std::optional<std::int64_t> value;  // when kind is constant
  int parameter = 0;                  // $n when kind is parameter
};

struct Scope {
  int id = 0;
  int parent = -1;  // -1 for scope 0
  ScopeKind kind = ScopeKind::statement;
  StatementKind statement_kind = StatementKind::select;
  std::string name;              // CTE name or subquery alias; empty when none
  Clause clause = Clause::from;  // where the subquery sits in its parent
  bool lateral = false;
  bool recursive = false;       // WITH RECURSIVE
  bool data_modifying = false;  // a CTE whose body is INSERT/UPDATE/DELETE/MERGE
  bool distinct = false;        // SELECT DISTINCT (also DISTINCT ON)
  std::string set_operation;    // "UNION", "UNION ALL", "INTERSECT", ... when this level combines two
  std::optional<LimitValue> limit;
  std::optional<LimitValue> offset;
  bool with_ties = false;  // FETCH FIRST ... WITH TIES
};

enum class TableRole {
  read,        // FROM, JOIN, USING, MERGE USING
  written,     // INSERT/UPDATE/DELETE/MERGE target, SELECT INTO target
  defined,     // the object a DDL statement creates, changes, indexes or drops
  referenced,  // other tables a DDL statement names (FOREIGN KEY ... REFERENCES)
};
const char* to_string(TableRole role);

enum class JoinType { none, inner, left, right, full, cross };
const char* to_string(JoinType type);

struct TableRef {
  std::string schema;  // empty when unqualified
  std::string name;
  std::string alias;  // empty when none
  TableRole role = TableRole::read;
  // How this relation was attached: the join of which it is the right-hand
  // side; none for the first FROM item, comma-separated items and targets.
  JoinType join = JoinType::none;
  bool is_cte = false;  // the name refers to a CTE, not a stored table
  int scope = 0;
};

// A column as the query names it, tied to its relation when possible.
struct Column {
  std::string schema;     // the resolved relation's schema as written in FROM; often empty
  std::string table;      // resolved relation name (not the alias); empty when unresolved
  std::string name;       // "*" for t.* and *
  std::string qualifier;  // as written before the name: alias, table or schema.table
  // The relation is a CTE or a FROM subquery (table holds its name or alias),
  // not a stored table.
  bool derived = false;

  bool resolved() const { return !table.empty(); }
  bool operator==(const Column&) const = default;
};

struct ColumnUse {
  Column column;
  Clause clause = Clause::select_list;
  int scope = 0;
};

// The side of a predicate that is not the constrained column.
struct Operand {
  enum class Kind {
    none,        // IS NULL, IS TRUE ...
    constant,    // a literal, also cast: 'x', 42, '2024-01-01'::date, NULL
    parameter,   // $1, also cast: $1::int
    column,      // another column (a join or correlation when of another relation)
    expression,  // anything else: now() - interval '1 day', lower($1), a + 1
    subquery,    // IN (SELECT ...), = (SELECT ...)
    list,        // IN (...) items, BETWEEN's two bounds
  };
  Kind kind = Kind::none;
  std::string text;              // as SQL: "'x'", "$1", "o.user_id", "(1, 2, 3)"
  std::string value;             // constants: the literal's value without quotes or cast
  int parameter = 0;             // $n for parameters
  std::optional<Column> column;  // for kind column
  std::vector<Column> columns;   // columns an expression refers to
  int subquery_scope = -1;       // for kind subquery
  std::vector<Operand> items;    // for kind list
};

// One comparison in WHERE, JOIN ON or HAVING, e.g. lower(u.email) = $1.
struct Predicate {
  // The constrained column. When the column side is an expression on columns
  // (lower(email), (attrs->>'k'), date_trunc('day', created_at)) this is the
  // first column the expression names.
  Column column;
  // The column side when it is an expression, as written ("lower(u.email)");
  // empty when the side is the bare column.
  std::string column_expression;
  // The same expression without qualifiers ("lower(email)"): the text of an
  // expression index that would serve it.
  std::string unqualified_column_expression;
  // "=", "<>", "<", "<=", ">", ">=", "IN", "NOT IN", "BETWEEN", "NOT BETWEEN",
  // "BETWEEN SYMMETRIC", "LIKE", "NOT LIKE", "ILIKE", "NOT ILIKE",
  // "SIMILAR TO", "IS NULL", "IS NOT NULL", "IS TRUE" ..., "IS DISTINCT FROM",
  // "IS NOT DISTINCT FROM", "= ANY", "<> ALL", or the operator as written
  // ("~~", "@>", "?", "&&", "@@", "->>"...). The operator is commuted when the
  // column stood on the right ("5 < a" is a > 5). A bare boolean column
  // (WHERE active) is recorded as active = true.
  std::string op;
  Operand value;
  Clause clause = Clause::where;
  int scope = 0;
  bool under_or = false;  // part of an OR: not a condition every row must meet
  bool negated = false;   // under NOT
  // The column stood on the right of an operator without a known commutator
  // ('x' ~~ col): op applies as `value op column`.
  bool reversed = false;

  // A comparison between columns of two different relations.
  bool is_join_condition() const;
};

// A column-to-column comparison between two relations: a join condition in
// JOIN ... ON/USING, in WHERE (implicit join) or a correlated subquery.
struct JoinCondition {
  Column left;
  std::string op;
  Column right;
  JoinType join = JoinType::inner;  // inner for conditions written in WHERE
  Clause clause = Clause::join_on;
  int scope = 0;
};

// An expression in GROUP BY or ORDER BY.
struct Expression {
  std::string text;              // as SQL, e.g. "u.created_at", "lower(name)", "2"
  std::optional<Column> column;  // when it is a bare column
  int position = 0;              // ORDER BY 2 / GROUP BY 2: 1-based select-list position
  std::string output_name;       // when it names a select-list alias (ORDER BY total)
};

struct GroupItem {
  Expression expression;
  int scope = 0;
};

enum class SortDirection { default_order, asc, desc };
enum class NullsOrder { default_order, first, last };

struct SortItem {
  Expression expression;
  SortDirection direction = SortDirection::default_order;
  NullsOrder nulls = NullsOrder::default_order;
  std::string using_operator;  // ORDER BY x USING >
  int scope = 0;
};

struct FunctionCall {
  std::string schema;  // as written; empty when unqualified
  std::string name;
  int argument_count = 0;  // count(*) has 0
  bool star = false;       // count(*)
  bool distinct = false;   // count(DISTINCT x)
  bool window = false;     // OVER (...)
  Clause clause = Clause::select_list;
  int scope = 0;
};

struct Cte {
  std::string name;
  int scope = 0;  // the scope of its body
  StatementKind kind = StatementKind::select;
  bool data_modifying = false;
  bool recursive = false;
  std::string materialized;  // "", "MATERIALIZED" or "NOT MATERIALIZED"
};

// SELECT ... FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE.
struct LockingClause {
  std::string strength;             // "FOR UPDATE", "FOR NO KEY UPDATE", "FOR SHARE", "FOR KEY SHARE"
  std::string wait_policy;          // "", "NOWAIT" or "SKIP LOCKED"
  std::vector<std::string> tables;  // FOR UPDATE OF a, b; empty means all
  int scope = 0;
};

struct ExplainOption {
  std::string name;   // lower-case: "analyze", "buffers", "format"
  std::string value;  // as written, empty when none ("json", "off")
};

struct ExplainInfo {
  bool analyze = false;  // the explained statement runs
  std::vector<ExplainOption> options;
  StatementKind target_kind = StatementKind::select;
};

struct IndexKey {
  std::string column;      // for a plain column key
  std::string expression;  // for an expression key, e.g. "lower(email)"
  SortDirection direction = SortDirection::default_order;
  NullsOrder nulls = NullsOrder::default_order;
  std::string opclass;  // e.g. "text_pattern_ops"; empty when default
};

// CREATE INDEX, from DDL text (offline schema) or a suggestion to check.
struct IndexDefinition {
  std::string name;  // empty when the statement lets PostgreSQL choose
  std::string schema;
  std::string table;
  std::string method;  // "btree", "gin", ...
  bool unique = false;
  bool concurrently = false;
  std::vector<IndexKey> keys;
  std::vector<std::string> include;  // INCLUDE (...)
  std::string where;                 // partial index predicate as SQL; empty when none
};

struct QueryModel {
  StatementKind kind = StatementKind::other;
  std::string node_type;      // libpg_query's node name, e.g. "SelectStmt", "CreateSeqStmt"
  std::string text;           // the statement's text, trimmed
  std::size_t offset = 0;     // byte offset of text in the parsed input
  std::vector<Scope> scopes;  // scopes[0] is the statement; ids are indexes
  std::vector<TableRef> tables;
  std::vector<ColumnUse> columns;
  std::vector<Predicate> predicates;
  std::vector<JoinCondition> join_conditions;
  std::vector<GroupItem> group_by;
  std::vector<SortItem> order_by;
  std::vector<FunctionCall> functions;
  std::vector<Cte> ctes;
  std::vector<LockingClause> locking;
  std::optional<TableRef> select_into;   // SELECT ... INTO new_table
  std::optional<ExplainInfo> explain;    // for EXPLAIN: the explained statement fills the rest
  std::optional<IndexDefinition> index;  // for CREATE INDEX
  int parameter_count = 0;               // highest $n used

  bool has_data_modifying_cte() const;
  // Items of one scope, in the order of the walk (FROM before the select list).
  std::vector<const TableRef*> tables_in(int scope) const;
  std::vector<const Predicate*> predicates_in(int scope) const;
};

// Parses exactly one statement (a trailing semicolon is fine).
QueryModel parse_query(std::string_view sql);

// Parses every statement of a script, in order; offsets are into `sql`.
std::vector<QueryModel> parse_script(std::string_view sql);

struct StatementText {
  std::string text;        // trimmed, without the closing semicolon
  std::size_t offset = 0;  // byte offset into the input
};
// Splits a script into statements without building models (semicolons inside
// strings, comments and function bodies do not split). Empty statements are
// dropped. Throws like parse_script when the script does not parse.
std::vector<StatementText> split_statements(std::string_view sql);

}  // namespace dbopt::sql
