#include "core/rules/query_checker.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <numeric>
#include <set>

#include "core/rules/finding_draft.h"

namespace dbopt::rules {
namespace {

using detail::FindingDraft;
using detail::quote_ident;
using knowledge::EvidenceSource;
using knowledge::Finding;
using knowledge::Rule;
using sql::Clause;
using sql::Column;
using sql::Operand;
using sql::Predicate;
using sql::QueryModel;
using sql::StatementKind;
using sql::TableRef;

// EXPLAIN's model describes the explained statement; judge that statement.
StatementKind effective_kind(const QueryModel& q) {
  return q.kind == StatementKind::explain && q.explain ? q.explain->target_kind : q.kind;
}

std::string clause_label(Clause clause) {
  switch (clause) {
    case Clause::select_list:
      return "SELECT list";
    case Clause::from:
      return "FROM";
    case Clause::join_on:
      return "JOIN ... ON";
    case Clause::where:
      return "WHERE";
    case Clause::group_by:
      return "GROUP BY";
    case Clause::having:
      return "HAVING";
    case Clause::window:
      return "WINDOW";
    case Clause::order_by:
      return "ORDER BY";
    case Clause::distinct_on:
      return "DISTINCT ON";
    case Clause::limit:
      return "LIMIT";
    case Clause::offset:
      return "OFFSET";
    case Clause::values:
      return "VALUES";
    case Clause::set:
      return "SET";
    case Clause::insert_columns:
      return "INSERT columns";
    case Clause::returning:
      return "RETURNING";
    case Clause::on_conflict:
      return "ON CONFLICT";
    case Clause::merge_action:
      return "MERGE action";
    case Clause::definition:
      return "definition";
  }
  return "query";
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string column_as_written(const Column& column) {
  return column.qualifier.empty() ? column.name : column.qualifier + "." + column.name;
}

std::string table_of(const Column& column) {
  return column.resolved() ? detail::qualified_name(column.schema, column.table) : "<table>";
}

std::string table_of(const TableRef& table) { return detail::qualified_name(table.schema, table.name); }

std::string predicate_text(const Predicate& p) {
  const std::string side = p.column_expression.empty() ? column_as_written(p.column) : p.column_expression;
  if (p.value.kind == Operand::Kind::none) return side + " " + p.op;
  if (p.reversed) return p.value.text + " " + p.op + " " + side;
  return side + " " + p.op + " " + p.value.text;
}

bool is_comparison(std::string_view op) {
  return op == "=" || op == "<>" || op == "!=" || op == "<" || op == "<=" || op == ">" || op == ">=";
}

bool is_filter_clause(Clause clause) { return clause == Clause::where || clause == Clause::join_on; }

// Does the column name a relation of this table reference?
bool refers_to(const Column& column, const TableRef& table) {
  if (!column.qualifier.empty()) {
    if (!table.alias.empty()) return column.qualifier == table.alias;
    return column.qualifier == table.name ||
           (!table.schema.empty() && column.qualifier == table.schema + "." + table.name);
  }
  return column.resolved() && column.table == table.name && !column.derived;
}

knowledge::Location location(Clause clause, std::string table, std::string column, std::string text) {
  knowledge::Location where;
  where.clause = clause_label(clause);
  where.table = std::move(table);
  where.column = std::move(column);
  where.text = std::move(text);
  return where;
}

FindingDraft draft_for(const Rule& rule, const Predicate& p) {
  FindingDraft draft(rule, EvidenceSource::inferred);
  draft.at(location(p.clause, p.column.table, p.column.name, predicate_text(p)))
      .fact("condition", predicate_text(p))
      .fact("column", quote_ident(p.column.name))
      .fact("table", table_of(p.column));
  return draft;
}

// The first string literal an operand starts with: "'%foo%'" in upper('%foo%')
// or ('%' || $1) || '%'. Empty when the operand does not start with one.
std::optional<std::string> leading_literal(const Operand& value) {
  if (value.kind == Operand::Kind::constant) return value.value;
  if (value.kind != Operand::Kind::expression) return std::nullopt;
  const std::string& text = value.text;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '(' || c == ' ') {
      ++i;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_')) ++i;
      if (i >= text.size() || text[i] != '(') return std::nullopt;  // a column, not a function call
    } else {
      break;
    }
  }
  if (i >= text.size() || text[i] != '\'') return std::nullopt;
  std::string literal;
  for (++i; i < text.size(); ++i) {
    if (text[i] == '\'') {
      if (i + 1 < text.size() && text[i + 1] == '\'') {
        literal += '\'';
        ++i;
        continue;
      }
      break;
    }
    literal += text[i];
  }
  return literal;
}

bool is_like(std::string_view op) {
  return op == "LIKE" || op == "ILIKE" || op == "NOT LIKE" || op == "NOT ILIKE" || op == "~~" || op == "~~*" ||
         op == "!~~" || op == "!~~*";
}

bool is_case_insensitive_like(std::string_view op) {
  return op == "ILIKE" || op == "NOT ILIKE" || op == "~~*" || op == "!~~*";
}

bool has_leading_wildcard(const Predicate& p) {
  if (!is_like(p.op) || p.reversed) return false;
  const auto literal = leading_literal(p.value);
  return literal && !literal->empty() && (literal->front() == '%' || literal->front() == '_');
}

// The type of a cast that is the whole column side ("created_at::date",
// "(created_at AT TIME ZONE 'UTC')::date"); empty when the side is another expression.
std::string cast_of_column_side(std::string_view expression) {
  int depth = 0;
  std::size_t last_cast = std::string_view::npos;
  for (std::size_t i = 0; i + 1 < expression.size(); ++i) {
    const char c = expression[i];
    if (c == '\'') {
      for (++i; i < expression.size() && expression[i] != '\''; ++i) {
      }
      continue;
    }
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && c == ':' && expression[i + 1] == ':') last_cast = i;
  }
  if (last_cast == std::string_view::npos || last_cast == 0) return {};
  const std::string_view type = expression.substr(last_cast + 2);
  const bool plain_type = std::all_of(type.begin(), type.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ' ' || c == '[' || c == ']';
  });
  return plain_type && !type.empty() ? std::string(type) : std::string();
}

// col::text: a relabel for varchar and a no-op for text, which indexes on the
// column still serve; PostgreSQL prints varchar comparisons that way.
bool is_text_relabel(const Predicate& p) {
  return p.unqualified_column_expression == p.column.name + "::text" ||
         p.unqualified_column_expression == quote_ident(p.column.name) + "::text";
}

// --- the rules, one function each -------------------------------------------

using Out = std::vector<Finding>;

bool is_select(const QueryModel& q) { return effective_kind(q) == StatementKind::select; }

void select_star(const QueryModel& q, const Rule& rule, Out& out) {
  if (!is_select(q)) return;
  std::set<int> reported;
  for (const auto& use : q.columns) {
    const Column& c = use.column;
    if (c.name != "*" || use.clause != Clause::select_list || c.derived) continue;
    if (q.scopes[use.scope].kind == sql::ScopeKind::expression_subquery) continue;  // EXISTS (SELECT * ...)
    if (!reported.insert(use.scope).second) continue;
    std::string table;
    if (c.resolved()) {
      table = table_of(c);
    } else {
      std::vector<std::string> names;
      for (const TableRef* t : q.tables_in(use.scope)) names.push_back(table_of(*t));
      if (names.empty()) continue;
      for (const auto& n : names) table += (table.empty() ? "" : ", ") + n;
    }
    FindingDraft draft(rule, EvidenceSource::inferred);
    draft.at(location(Clause::select_list, c.table, "*", c.qualifier.empty() ? "*" : c.qualifier + ".*"))
        .fact("star", c.qualifier.empty() ? "*" : c.qualifier + ".*")
        .fact("table", table);
    out.push_back(draft.emit());
  }
}

// The column side as an index would spell it: the bare column when the side
// is the column or its ::text relabel (Django casts to text for LIKE lookups).
std::string index_expression(const Predicate& p) {
  if (p.unqualified_column_expression.empty() || is_text_relabel(p)) return {};
  return p.unqualified_column_expression;
}

// GinIndex(...) with gin_trgm_ops for the column side, as Django spells it.
std::string django_trigram_index(const Predicate& p, const std::string& expression, const std::string& name) {
  const std::string field = "\"" + p.column.name + "\"";
  if (expression.empty()) {
    return "GinIndex(fields=[" + field + "], name=\"" + name + "\", opclasses=[\"gin_trgm_ops\"])";
  }
  const std::string low = lower(expression);
  for (const auto& [sql_function, django_function] : {std::pair{"upper(", "Upper"}, std::pair{"lower(", "Lower"}}) {
    if (low.rfind(sql_function, 0) == 0) {
      return "GinIndex(OpClass(" + std::string(django_function) + "(" + field + "), name=\"gin_trgm_ops\"), name=\"" +
             name + "\")";
    }
  }
  return "# an expression key: create it with migrations.RunSQL and the CREATE INDEX above";
}

void leading_wildcard_like(const QueryModel& q, const Rule& rule, Out& out) {
  for (const auto& p : q.predicates) {
    if (!has_leading_wildcard(p)) continue;
    const std::string expression = index_expression(p);
    const std::string name =
        detail::index_name(p.column.table.empty() ? "table" : p.column.table, {{p.column.name, "", ""}}, "trgm_idx");
    FindingDraft draft = draft_for(rule, p);
    draft.fact("pattern", *leading_literal(p.value))
        .text("column_expression", expression.empty() ? quote_ident(p.column.name) : expression)
        .text("index_target", expression.empty() ? quote_ident(p.column.name) : "(" + expression + ")")
        .text("index_name", name)
        .text("django_index", django_trigram_index(p, expression, name));
    out.push_back(draft.emit());
  }
}

void case_insensitive_prefix(const QueryModel& q, const Rule& rule, Out& out) {
  for (const auto& p : q.predicates) {
    if (!is_case_insensitive_like(p.op) || p.reversed || has_leading_wildcard(p)) continue;
    if (!p.column_expression.empty() && !is_text_relabel(p)) continue;
    if (!leading_literal(p.value) && p.value.kind != Operand::Kind::parameter) continue;
    FindingDraft draft = draft_for(rule, p);
    draft.text("index_name", detail::index_name(p.column.table.empty() ? "table" : p.column.table,
                                                {{p.column.name, "", ""}}, "lower_idx"));
    out.push_back(draft.emit());
  }
}

void function_on_column(const QueryModel& q, const Rule& rule, Out& out) {
  std::set<std::pair<int, std::string>> reported;
  for (const auto& p : q.predicates) {
    if (!is_filter_clause(p.clause) || p.unqualified_column_expression.empty()) continue;
    if (!cast_of_column_side(p.unqualified_column_expression).empty() || has_leading_wildcard(p)) continue;
    if (is_text_relabel(p)) continue;
    if (!reported.insert({p.scope, p.unqualified_column_expression}).second) continue;
    FindingDraft draft = draft_for(rule, p);
    draft.fact("expression", p.unqualified_column_expression)
        .text("index_name", detail::index_name(p.column.table.empty() ? "table" : p.column.table,
                                               {{"", "", p.unqualified_column_expression}}));
    out.push_back(draft.emit());
  }
}

void cast_on_column(const QueryModel& q, const Rule& rule, Out& out) {
  for (const auto& p : q.predicates) {
    if (!is_filter_clause(p.clause) || p.unqualified_column_expression.empty()) continue;
    const std::string type = cast_of_column_side(p.unqualified_column_expression);
    if (type.empty() || is_text_relabel(p)) continue;
    FindingDraft draft = draft_for(rule, p);
    draft.fact("cast_type", type).text("value", p.value.text.empty() ? "$1" : p.value.text);
    out.push_back(draft.emit());
  }
}

void numeric_parameter_cast(const QueryModel& q, const Rule& rule, Out& out) {
  static constexpr std::string_view kNumericTypes[] = {"numeric", "decimal",          "float8", "float4",
                                                       "float",   "double precision", "real"};
  for (const auto& p : q.predicates) {
    if (!is_filter_clause(p.clause) || !p.column_expression.empty()) continue;
    if (!is_comparison(p.op) && p.op != "IN" && p.op != "= ANY") continue;
    if (p.value.kind != Operand::Kind::parameter && p.value.kind != Operand::Kind::constant &&
        p.value.kind != Operand::Kind::list) {
      continue;
    }
    const std::string text = lower(p.value.text);
    std::string found;
    for (std::string_view type : kNumericTypes) {
      const std::string cast = "::" + std::string(type);
      const auto at = text.find(cast);
      const std::size_t end = at + cast.size();
      if (at != std::string::npos && (end >= text.size() || !std::isalnum(static_cast<unsigned char>(text[end])))) {
        found = std::string(type);
        break;
      }
    }
    if (found.empty()) continue;
    FindingDraft draft = draft_for(rule, p);
    draft.fact("cast_type", found);
    out.push_back(draft.emit());
  }
}

void not_in_subquery(const QueryModel& q, const Rule& rule, Out& out) {
  for (const auto& p : q.predicates) {
    const bool not_in = (p.op == "NOT IN" && !p.negated) || (p.op == "IN" && p.negated);
    if (!not_in || p.value.kind != Operand::Kind::subquery) continue;
    std::string subquery_table = "<subquery table>";
    std::string subquery_column = "<column>";
    if (p.value.subquery_scope >= 0) {
      const auto tables = q.tables_in(p.value.subquery_scope);
      if (!tables.empty()) subquery_table = table_of(*tables.front());
      for (const auto& use : q.columns) {
        if (use.scope == p.value.subquery_scope && use.clause == Clause::select_list && use.column.name != "*") {
          subquery_column = quote_ident(use.column.name);
          break;
        }
      }
    }
    FindingDraft draft = draft_for(rule, p);
    draft.fact("subquery_table", subquery_table)
        .fact("subquery_column", subquery_column)
        .text("outer_column", p.column.qualifier.empty() && p.column.resolved()
                                  ? quote_ident(p.column.table) + "." + quote_ident(p.column.name)
                                  : column_as_written(p.column));
    out.push_back(draft.emit());
  }
}

// Does the query level have a WHERE clause? Not every condition is a
// Predicate (a subquery compared with a value, a boolean function), so any
// column or subquery in WHERE counts.
bool has_where(const QueryModel& q, int scope) {
  const auto in_where = [](Clause c) { return c == Clause::where || c == Clause::having; };
  return std::any_of(q.predicates.begin(), q.predicates.end(),
                     [&](const Predicate& p) { return p.scope == scope && in_where(p.clause); }) ||
         std::any_of(q.columns.begin(), q.columns.end(),
                     [&](const sql::ColumnUse& c) { return c.scope == scope && in_where(c.clause); }) ||
         std::any_of(q.scopes.begin(), q.scopes.end(),
                     [&](const sql::Scope& s) { return s.parent == scope && in_where(s.clause); });
}

const TableRef* first_table(const QueryModel& q, int scope) {
  const auto tables = q.tables_in(scope);
  return tables.empty() ? nullptr : tables.front();
}

void deep_offset(const QueryModel& q, const Rule& rule, Out& out) {
  const double min_offset = rule.threshold("min_offset");
  for (const auto& scope : q.scopes) {
    if (!scope.offset || !scope.offset->value || static_cast<double>(*scope.offset->value) < min_offset) continue;
    std::vector<const sql::SortItem*> order;
    for (const auto& item : q.order_by) {
      if (item.scope == scope.id) order.push_back(&item);
    }
    // Keyset needs one direction for a row comparison; otherwise spell the OR form.
    std::vector<std::string> columns;
    std::vector<detail::IndexKey> keys;
    bool descending = false;
    bool uniform = true;
    for (std::size_t i = 0; i < order.size(); ++i) {
      const auto& item = *order[i];
      const bool desc = item.direction == sql::SortDirection::desc;
      if (i == 0) descending = desc;
      uniform = uniform && desc == descending && item.expression.column.has_value();
      const std::string name = item.expression.column ? item.expression.column->name : item.expression.text;
      columns.push_back(item.expression.column ? quote_ident(name) : name);
      keys.push_back(item.expression.column ? detail::IndexKey{name, desc ? "DESC" : "", ""}
                                            : detail::IndexKey{"", desc ? "DESC" : "", item.expression.text});
    }
    std::string order_by;
    for (std::size_t i = 0; i < order.size(); ++i) {
      order_by += (i ? ", " : "") + columns[i] + (order[i]->direction == sql::SortDirection::desc ? " DESC" : "");
    }
    if (order.empty()) {
      columns = {"id"};
      keys = {{"id", "", ""}};
      order_by = "id";
    }
    const bool have_id = std::find(columns.begin(), columns.end(), "id") != columns.end();
    if (!have_id && uniform) {  // a unique tie-breaker keeps pages from overlapping
      columns.push_back("id");
      keys.push_back({"id", descending ? "DESC" : "", ""});
      order_by += descending ? ", id DESC" : ", id";
    }
    std::string keyset;
    if (uniform) {
      std::string left;
      std::string right;
      for (const auto& c : columns) {
        left += (left.empty() ? "" : ", ") + c;
        right += (right.empty() ? ":last_" : ", :last_") + c;
      }
      keyset = columns.size() == 1 ? left + (descending ? " < " : " > ") + right
                                   : "(" + left + ") " + (descending ? "<" : ">") + " (" + right + ")";
    } else {
      keyset = "<each sort column compared with the last row shown, OR-ed per direction>";
    }
    const TableRef* table = first_table(q, scope.id);
    FindingDraft draft(rule, EvidenceSource::inferred);
    draft.at(location(Clause::offset, table ? table->name : "", "", "OFFSET " + scope.offset->text))
        .count("offset", static_cast<double>(*scope.offset->value))
        .text("limit", scope.limit ? scope.limit->text : "20")
        .text("order_by", order_by)
        .text("keyset_condition", keyset)
        .text("index_columns", detail::index_key_list(keys))
        .fact("table", table ? table_of(*table) : "<table>");
    out.push_back(draft.emit());
  }
}

void or_across_columns(const QueryModel& q, const Rule& rule, Out& out) {
  const double min_columns = rule.threshold("min_columns");
  std::map<int, std::vector<const Predicate*>> by_scope;
  for (const auto& p : q.predicates) {
    if (p.clause == Clause::where && p.under_or && !p.is_join_condition()) by_scope[p.scope].push_back(&p);
  }
  for (const auto& [scope, predicates] : by_scope) {
    std::vector<const Predicate*> distinct;
    for (const Predicate* p : predicates) {
      const bool seen = std::any_of(distinct.begin(), distinct.end(), [&](const Predicate* d) {
        return d->column.table == p->column.table && d->column.name == p->column.name &&
               d->column.qualifier == p->column.qualifier;
      });
      if (!seen) distinct.push_back(p);
    }
    if (static_cast<double>(distinct.size()) < min_columns) continue;
    std::string columns;
    for (const Predicate* p : distinct) columns += (columns.empty() ? "" : ", ") + column_as_written(p->column);
    FindingDraft draft(rule, EvidenceSource::inferred);
    draft.at(location(Clause::where, distinct[0]->column.table, "", columns))
        .fact("columns", columns)
        .fact("table", table_of(distinct[0]->column))
        .text("first_column", quote_ident(distinct[0]->column.name))
        .text("second_column", quote_ident(distinct[1]->column.name));
    out.push_back(draft.emit());
  }
}

// Text scanning for count(...) compared with 0 or 1; returns the snippets.
std::vector<std::string> count_existence_tests(const std::string& text) {
  const std::string low = lower(text);
  std::vector<std::string> found;
  const auto skip_spaces = [&](std::size_t i) {
    while (i < low.size() && std::isspace(static_cast<unsigned char>(low[i]))) ++i;
    return i;
  };
  const auto matching = [&](std::size_t open) -> std::size_t {
    int depth = 0;
    for (std::size_t i = open; i < low.size(); ++i) {
      if (low[i] == '\'') {
        for (++i; i < low.size() && low[i] != '\''; ++i) {
        }
        continue;
      }
      if (low[i] == '(') ++depth;
      if (low[i] == ')' && --depth == 0) return i;
    }
    return std::string::npos;
  };
  // A comparison with zero (or one) right after position `at`.
  const auto zero_test = [&](std::size_t at) -> std::size_t {
    std::size_t i = skip_spaces(at);
    static constexpr std::pair<std::string_view, char> kTests[] = {{">=", '1'}, {"<>", '0'}, {"!=", '0'},
                                                                   {">", '0'},  {"=", '0'},  {"<", '1'}};
    for (const auto& [op, digit] : kTests) {
      if (low.compare(i, op.size(), op) != 0) continue;
      std::size_t j = skip_spaces(i + op.size());
      if (j < low.size() && low[j] == digit &&
          (j + 1 >= low.size() || !std::isdigit(static_cast<unsigned char>(low[j + 1])))) {
        return j + 1;
      }
      return std::string::npos;
    }
    return std::string::npos;
  };
  for (std::size_t at = low.find("count"); at != std::string::npos; at = low.find("count", at + 5)) {
    if (at > 0 && (std::isalnum(static_cast<unsigned char>(low[at - 1])) || low[at - 1] == '_')) continue;
    const std::size_t open = skip_spaces(at + 5);
    if (open >= low.size() || low[open] != '(') continue;
    const std::size_t close = matching(open);
    if (close == std::string::npos) continue;
    if (const std::size_t end = zero_test(close + 1); end != std::string::npos) {
      found.push_back(text.substr(at, end - at));
      continue;
    }
    // (SELECT count(...) ...) compared with zero.
    std::size_t back = at;
    while (back > 0 && std::isspace(static_cast<unsigned char>(low[back - 1]))) --back;
    if (back < 6 || low.compare(back - 6, 6, "select") != 0) continue;
    std::size_t paren = back - 6;
    while (paren > 0 && std::isspace(static_cast<unsigned char>(low[paren - 1]))) --paren;
    if (paren == 0 || low[paren - 1] != '(') continue;
    const std::size_t sub_close = matching(paren - 1);
    if (sub_close == std::string::npos) continue;
    if (const std::size_t end = zero_test(sub_close + 1); end != std::string::npos) {
      std::string snippet = text.substr(paren - 1, end - (paren - 1));
      if (snippet.size() > 80) {
        snippet = text.substr(paren - 1, 40) + " ... " + text.substr(sub_close, end - sub_close);
      }
      found.push_back(snippet);
    }
  }
  return found;
}

void count_for_existence(const QueryModel& q, const Rule& rule, Out& out) {
  const bool counts = std::any_of(q.functions.begin(), q.functions.end(),
                                  [](const sql::FunctionCall& f) { return lower(f.name) == "count"; });
  if (!counts) return;
  for (const auto& snippet : count_existence_tests(q.text)) {
    FindingDraft draft(rule, EvidenceSource::inferred);
    knowledge::Location where;
    where.text = snippet;
    draft.at(where).fact("condition", snippet);
    out.push_back(draft.emit());
  }
}

void unbounded_count(const QueryModel& q, const Rule& rule, Out& out) {
  if (!is_select(q) || q.scopes.empty() || !q.scopes[0].set_operation.empty()) return;
  const bool plain_count = std::any_of(q.functions.begin(), q.functions.end(), [](const sql::FunctionCall& f) {
    return f.scope == 0 && f.clause == Clause::select_list && lower(f.name) == "count" && !f.distinct && !f.window &&
           f.argument_count <= 1;
  });
  if (!plain_count) return;
  const bool grouped = std::any_of(q.group_by.begin(), q.group_by.end(), [](const auto& g) { return g.scope == 0; });
  const bool filtered = has_where(q, 0);
  const auto tables = q.tables_in(0);
  if (grouped || filtered || tables.size() != 1 || tables[0]->is_cte) return;
  if (!count_existence_tests(q.text).empty()) return;  // QUERY_COUNT_FOR_EXISTENCE says it better
  FindingDraft draft(rule, EvidenceSource::inferred);
  draft.at(location(Clause::select_list, tables[0]->name, "", "count(*)")).fact("table", table_of(*tables[0]));
  out.push_back(draft.emit());
}

void order_by_random(const QueryModel& q, const Rule& rule, Out& out) {
  for (const auto& item : q.order_by) {
    if (lower(item.expression.text).rfind("random()", 0) != 0) continue;
    const TableRef* table = first_table(q, item.scope);
    const auto& scope = q.scopes[item.scope];
    FindingDraft draft(rule, EvidenceSource::inferred);
    draft.at(location(Clause::order_by, table ? table->name : "", "", item.expression.text))
        .fact("table", table ? table_of(*table) : "<table>")
        .text("limit", scope.limit ? scope.limit->text + " row(s)" : "all of them");
    out.push_back(draft.emit());
  }
}

// The relation of `column` among the tables of `scope`, if any.
const TableRef* table_in_scope(const QueryModel& q, int scope, const Column& column) {
  for (const TableRef* t : q.tables_in(scope)) {
    if (refers_to(column, *t)) return t;
  }
  return nullptr;
}

const TableRef* table_in_ancestors(const QueryModel& q, int scope, const Column& column) {
  for (int s = q.scopes[scope].parent; s >= 0; s = q.scopes[s].parent) {
    if (const TableRef* t = table_in_scope(q, s, column)) return t;
  }
  return nullptr;
}

void correlated_subquery(const QueryModel& q, const Rule& rule, Out& out) {
  for (const auto& scope : q.scopes) {
    if (scope.kind != sql::ScopeKind::expression_subquery) continue;
    bool per_row = scope.clause == Clause::select_list;
    // In WHERE, a scalar comparison runs per row; EXISTS and IN become semi-joins.
    for (const auto& p : q.predicates) {
      if (p.value.kind == Operand::Kind::subquery && p.value.subquery_scope == scope.id && is_comparison(p.op)) {
        per_row = true;
      }
    }
    if (!per_row) continue;
    for (const auto& join : q.join_conditions) {
      if (join.scope != scope.id) continue;
      const Column* inner = nullptr;
      const Column* outer = nullptr;
      const TableRef* outer_table = nullptr;
      if (table_in_scope(q, scope.id, join.left) && (outer_table = table_in_ancestors(q, scope.id, join.right)) &&
          !table_in_scope(q, scope.id, join.right)) {
        inner = &join.left;
        outer = &join.right;
      } else if (table_in_scope(q, scope.id, join.right) &&
                 (outer_table = table_in_ancestors(q, scope.id, join.left)) &&
                 !table_in_scope(q, scope.id, join.left)) {
        inner = &join.right;
        outer = &join.left;
      }
      if (!inner) continue;
      const TableRef* inner_table = table_in_scope(q, scope.id, *inner);
      const std::string correlation =
          column_as_written(join.left) + " " + join.op + " " + column_as_written(join.right);
      FindingDraft draft(rule, EvidenceSource::inferred);
      draft.at(location(scope.clause, inner_table->name, inner->name, correlation))
          .fact("clause", clause_label(scope.clause))
          .fact("table", table_of(*inner_table))
          .fact("outer_table", table_of(*outer_table))
          .fact("correlation", correlation)
          .text("inner_key", quote_ident(inner->name))
          .text("outer_key", quote_ident(outer->name));
      out.push_back(draft.emit());
      break;  // one finding per subquery
    }
  }
}

void distinct_join_fanout(const QueryModel& q, const Rule& rule, Out& out) {
  for (const auto& scope : q.scopes) {
    if (!scope.distinct) continue;
    const auto tables = q.tables_in(scope.id);
    if (tables.size() < 2) continue;
    std::set<const TableRef*> selected;
    bool ambiguous = false;
    for (const auto& use : q.columns) {
      if (use.scope != scope.id || use.clause != Clause::select_list) continue;
      const TableRef* t = table_in_scope(q, scope.id, use.column);
      if (!t) {
        ambiguous = true;  // an unqualified * or a column we cannot place
        break;
      }
      selected.insert(t);
    }
    if (ambiguous || selected.empty()) continue;
    std::vector<const TableRef*> joined;
    for (const TableRef* t : tables) {
      if (!selected.contains(t)) joined.push_back(t);
    }
    if (joined.empty()) continue;
    std::string joined_names;
    for (const TableRef* t : joined) joined_names += (joined_names.empty() ? "" : ", ") + table_of(*t);
    const TableRef* kept = *selected.begin();
    for (const TableRef* t : tables) {
      if (selected.contains(t)) {
        kept = t;
        break;
      }
    }
    FindingDraft draft(rule, EvidenceSource::inferred);
    draft.at(location(Clause::select_list, kept->name, "", "SELECT DISTINCT"))
        .fact("table", table_of(*kept))
        .fact("joined_tables", joined_names)
        .text("first_joined_table", table_of(*joined.front()));
    out.push_back(draft.emit());
  }
}

bool is_aggregate(std::string_view name) {
  static const std::set<std::string, std::less<>> kAggregates{"count",
                                                              "sum",
                                                              "avg",
                                                              "min",
                                                              "max",
                                                              "array_agg",
                                                              "string_agg",
                                                              "json_agg",
                                                              "jsonb_agg",
                                                              "bool_and",
                                                              "bool_or",
                                                              "every",
                                                              "json_object_agg",
                                                              "jsonb_object_agg",
                                                              "stddev",
                                                              "variance",
                                                              "bit_and",
                                                              "bit_or",
                                                              "percentile_cont",
                                                              "percentile_disc",
                                                              "mode"};
  return kAggregates.contains(lower(name));
}

void missing_limit(const QueryModel& q, const Rule& rule, Out& out) {
  if (!is_select(q) || q.scopes.empty()) return;
  const auto& top = q.scopes[0];
  if (top.limit || !top.set_operation.empty() || top.distinct || !q.locking.empty() || q.select_into) return;
  const auto tables = q.tables_in(0);
  const auto stored = std::find_if(tables.begin(), tables.end(), [](const TableRef* t) { return !t->is_cte; });
  if (stored == tables.end()) return;
  if (has_where(q, 0)) return;
  for (const auto& g : q.group_by) {
    if (g.scope == 0) return;
  }
  for (const auto& f : q.functions) {
    if (f.scope == 0 && !f.window && is_aggregate(f.name)) return;
  }
  FindingDraft draft(rule, EvidenceSource::inferred);
  draft.at(location(Clause::from, (*stored)->name, "", "")).fact("table", table_of(**stored));
  out.push_back(draft.emit());
}

void large_in_list(const QueryModel& q, const Rule& rule, Out& out) {
  const double min_items = rule.threshold("min_items");
  for (const auto& p : q.predicates) {
    if ((p.op != "IN" && p.op != "NOT IN") || p.value.kind != Operand::Kind::list) continue;
    if (static_cast<double>(p.value.items.size()) < min_items) continue;
    FindingDraft draft = draft_for(rule, p);
    draft.count("items", static_cast<double>(p.value.items.size()));
    Finding finding = draft.emit();
    finding.where.text =
        column_as_written(p.column) + " " + p.op + " (... " + std::to_string(p.value.items.size()) + " values)";
    out.push_back(std::move(finding));
  }
}

void equals_null(const QueryModel& q, const Rule& rule, Out& out) {
  for (const auto& p : q.predicates) {
    if (p.op != "=" && p.op != "<>" && p.op != "!=") continue;
    if (p.value.kind != Operand::Kind::constant || p.value.text != "NULL") continue;
    out.push_back(draft_for(rule, p).emit());
  }
}

void union_dedup(const QueryModel& q, const Rule& rule, Out& out) {
  for (const auto& scope : q.scopes) {
    if (scope.set_operation != "UNION") continue;
    FindingDraft draft(rule, EvidenceSource::inferred);
    knowledge::Location where;
    where.clause = "UNION";
    where.text = scope.name.empty() ? "UNION" : "UNION in " + scope.name;
    out.push_back(draft.at(where).emit());
  }
}

void cartesian_join(const QueryModel& q, const Rule& rule, Out& out) {
  for (const auto& scope : q.scopes) {
    const auto tables = q.tables_in(scope.id);
    std::vector<const TableRef*> read;
    for (const TableRef* t : tables) {
      if (t->role == sql::TableRole::read) read.push_back(t);
    }
    if (read.size() < 2) continue;
    // Union-find over the scope's tables and the derived relations conditions name.
    std::vector<std::size_t> parent(read.size());
    std::iota(parent.begin(), parent.end(), 0);
    std::map<std::string, std::size_t> derived;
    const std::function<std::size_t(std::size_t)> find = [&](std::size_t x) {
      while (parent[x] != x) x = parent[x] = parent[parent[x]];
      return x;
    };
    const auto node_of = [&](const Column& c) -> std::optional<std::size_t> {
      for (std::size_t i = 0; i < read.size(); ++i) {
        if (refers_to(c, *read[i])) return i;
      }
      const std::string key = c.qualifier.empty() ? c.table : c.qualifier;
      if (key.empty()) return std::nullopt;
      auto [it, added] = derived.try_emplace(key, parent.size());
      if (added) parent.push_back(parent.size());
      return it->second;
    };
    const auto link = [&](const Column& a, const Column& b) {
      const auto x = node_of(a);
      const auto y = node_of(b);
      if (x && y) parent[find(*x)] = find(*y);
    };
    for (const auto& join : q.join_conditions) {
      if (join.scope == scope.id) link(join.left, join.right);
    }
    for (const auto& p : q.predicates) {
      if (p.scope == scope.id && p.value.kind == Operand::Kind::column && p.value.column)
        link(p.column, *p.value.column);
      if (p.scope == scope.id) {
        for (const auto& c : p.value.columns) link(p.column, c);
      }
    }
    for (std::size_t i = 1; i < read.size(); ++i) {
      if (read[i]->join != sql::JoinType::none) continue;  // explicit JOINs say how they join
      bool linked = false;
      for (std::size_t j = 0; j < i; ++j) linked = linked || find(i) == find(j);
      if (linked) continue;
      std::string others;
      for (std::size_t j = 0; j < i; ++j) others += (others.empty() ? "" : ", ") + table_of(*read[j]);
      FindingDraft draft(rule, EvidenceSource::inferred);
      draft.at(location(Clause::from, read[i]->name, "", read[i]->name))
          .fact("table", table_of(*read[i]))
          .fact("other_tables", others)
          .text("other_table", table_of(*read[0]));
      out.push_back(draft.emit());
    }
  }
}

void queue_without_skip_locked(const QueryModel& q, const Rule& rule, Out& out) {
  for (const auto& locking : q.locking) {
    if (locking.strength != "FOR UPDATE" && locking.strength != "FOR NO KEY UPDATE") continue;
    if (!locking.wait_policy.empty()) continue;
    const auto& scope = q.scopes[locking.scope];
    if (!scope.limit) continue;
    const TableRef* table = first_table(q, locking.scope);
    std::string locked = table ? table_of(*table) : "<table>";
    if (!locking.tables.empty()) locked = quote_ident(locking.tables.front());
    FindingDraft draft(rule, EvidenceSource::inferred);
    draft.at(location(Clause::from, table ? table->name : "", "", locking.strength))
        .fact("locking", "SELECT ... LIMIT " + scope.limit->text + " " + locking.strength)
        .fact("table", locked)
        .text("limit", scope.limit->text);
    out.push_back(draft.emit());
  }
}

void having_without_aggregate(const QueryModel& q, const Rule& rule, Out& out) {
  for (const auto& p : q.predicates) {
    if (p.clause != Clause::having || !p.column_expression.empty() || p.column.name.empty()) continue;
    if (p.value.kind == Operand::Kind::subquery) continue;
    out.push_back(draft_for(rule, p).emit());
  }
}

void unfiltered_write(const QueryModel& q, const Rule& rule, Out& out) {
  const StatementKind kind = effective_kind(q);
  if (kind != StatementKind::update && kind != StatementKind::delete_) return;
  if (has_where(q, 0)) return;
  for (const auto& j : q.join_conditions) {
    if (j.scope == 0) return;
  }
  const auto target = std::find_if(q.tables.begin(), q.tables.end(),
                                   [](const TableRef& t) { return t.scope == 0 && t.role == sql::TableRole::written; });
  if (target == q.tables.end()) return;
  FindingDraft draft(rule, EvidenceSource::inferred);
  draft.at(location(Clause::where, target->name, "", ""))
      .fact("statement", kind == StatementKind::update ? "UPDATE" : "DELETE")
      .fact("table", table_of(*target));
  out.push_back(draft.emit());
}

void pagination_without_order(const QueryModel& q, const Rule& rule, Out& out) {
  for (const auto& scope : q.scopes) {
    // OFFSET 0 is the classic optimisation fence, not pagination.
    if (!scope.offset || (scope.offset->value && *scope.offset->value == 0)) continue;
    const bool ordered = std::any_of(q.order_by.begin(), q.order_by.end(),
                                     [&](const sql::SortItem& item) { return item.scope == scope.id; });
    if (ordered) continue;
    const TableRef* table = first_table(q, scope.id);
    std::string paging =
        (scope.limit ? "LIMIT " + scope.limit->text + " " : std::string()) + "OFFSET " + scope.offset->text;
    FindingDraft draft(rule, EvidenceSource::inferred);
    draft.at(location(Clause::offset, table ? table->name : "", "", paging))
        .fact("paging", paging)
        .fact("table", table ? table_of(*table) : "<table>");
    out.push_back(draft.emit());
  }
}

void cte_forced_materialization(const QueryModel& q, const Rule& rule, Out& out) {
  for (const auto& cte : q.ctes) {
    if (cte.materialized != "MATERIALIZED" || cte.recursive || cte.data_modifying) continue;
    const auto references = std::count_if(q.tables.begin(), q.tables.end(),
                                          [&](const TableRef& t) { return t.is_cte && t.name == cte.name; });
    if (references > 1) continue;
    FindingDraft draft(rule, EvidenceSource::inferred);
    knowledge::Location where;
    where.clause = "WITH";
    where.text = cte.name + " AS MATERIALIZED";
    draft.at(where).fact("cte", quote_ident(cte.name)).count("references", static_cast<double>(references));
    out.push_back(draft.emit());
  }
}

using QueryCheck = void (*)(const QueryModel&, const Rule&, Out&);

const std::vector<std::pair<std::string_view, QueryCheck>>& query_checks() {
  static const std::vector<std::pair<std::string_view, QueryCheck>> checks{
      {"QUERY_SELECT_STAR", select_star},
      {"QUERY_LEADING_WILDCARD_LIKE", leading_wildcard_like},
      {"QUERY_CASE_INSENSITIVE_PREFIX", case_insensitive_prefix},
      {"QUERY_FUNCTION_ON_COLUMN", function_on_column},
      {"QUERY_CAST_ON_COLUMN", cast_on_column},
      {"QUERY_NUMERIC_PARAMETER_CAST", numeric_parameter_cast},
      {"QUERY_NOT_IN_SUBQUERY", not_in_subquery},
      {"QUERY_DEEP_OFFSET", deep_offset},
      {"QUERY_OR_ACROSS_COLUMNS", or_across_columns},
      {"QUERY_COUNT_FOR_EXISTENCE", count_for_existence},
      {"QUERY_UNBOUNDED_COUNT", unbounded_count},
      {"QUERY_ORDER_BY_RANDOM", order_by_random},
      {"QUERY_CORRELATED_SUBQUERY", correlated_subquery},
      {"QUERY_DISTINCT_JOIN_FANOUT", distinct_join_fanout},
      {"QUERY_MISSING_LIMIT", missing_limit},
      {"QUERY_LARGE_IN_LIST", large_in_list},
      {"QUERY_EQUALS_NULL", equals_null},
      {"QUERY_UNION_DEDUP", union_dedup},
      {"QUERY_CARTESIAN_JOIN", cartesian_join},
      {"QUERY_QUEUE_WITHOUT_SKIP_LOCKED", queue_without_skip_locked},
      {"QUERY_HAVING_WITHOUT_AGGREGATE", having_without_aggregate},
      {"QUERY_UNFILTERED_WRITE", unfiltered_write},
      {"QUERY_PAGINATION_WITHOUT_ORDER", pagination_without_order},
      {"QUERY_CTE_FORCED_MATERIALIZATION", cte_forced_materialization},
  };
  return checks;
}

}  // namespace

std::vector<Finding> check_query(const QueryModel& query, const knowledge::RuleBook& rules) {
  std::vector<Finding> findings;
  if (query.scopes.empty()) return findings;
  for (const auto& [id, check] : query_checks()) {
    if (const Rule* rule = rules.find(id)) check(query, *rule, findings);
  }
  knowledge::sort_by_impact(findings);
  return findings;
}

const std::vector<std::string_view>& query_rule_ids() {
  static const std::vector<std::string_view> ids = [] {
    std::vector<std::string_view> out;
    for (const auto& [id, check] : query_checks()) out.push_back(id);
    return out;
  }();
  return ids;
}

}  // namespace dbopt::rules
