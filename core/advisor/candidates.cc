#include "core/advisor/candidates.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace dbopt::advisor {
namespace {

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

// "(lower(email))" and "lower(email)" name the same key; so do "a DESC" and "a desc".
std::string normalized_key(std::string text) {
  std::string out;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (out.size() >= 2 && out.front() == '(' && out.back() == ')') out = out.substr(1, out.size() - 2);
  return out;
}

bool is_prefix(const std::vector<std::string>& prefix, const std::vector<std::string>& of) {
  if (prefix.size() > of.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (normalized_key(prefix[i]) != normalized_key(of[i])) return false;
  return true;
}

bool belongs(const sql::Column& c, const sql::TableRef& t) {
  return !c.derived && c.table == t.name && (c.schema.empty() || t.schema.empty() || c.schema == t.schema);
}

struct Key {
  std::string text;    // as it goes into the index
  std::string column;  // the plain column, empty for expressions
  double share = 0.1;  // share of the rows its condition keeps (pg_stats); smaller narrows more
};

// Share of the rows an equality-like condition keeps: the value's frequency for a constant,
// null_frac for IS NULL, 1 / n_distinct (per listed value) for parameters and lists.
double condition_share(const sql::Predicate& p, const TableInfo* info) {
  const ColumnStats* s = info && p.unqualified_column_expression.empty() ? info->column(p.column.name) : nullptr;
  if (!s) return p.unqualified_column_expression.empty() ? 0.1 : 0.005;  // the planner's own guess for expressions
  if (p.op == "IS NULL") return s->null_frac;
  if (p.value.kind == sql::Operand::Kind::constant) return s->value_share(p.value.value, info->rows);
  const double values = p.value.kind == sql::Operand::Kind::list ? std::max<double>(1, p.value.items.size()) : 1;
  return std::min(1.0, values / std::max(1.0, s->distinct_count(info->rows)));
}

Key key_of(const sql::Predicate& p, const TableInfo* info) {
  Key k;
  if (!p.unqualified_column_expression.empty()) {
    k.text = "(" + p.unqualified_column_expression + ")";
  } else {
    k.text = quote_ident(p.column.name);
    k.column = p.column.name;
  }
  k.share = condition_share(p, info);
  return k;
}

// LIKE 'x%'-style patterns: a constant, or a function of one (Django's icontains:
// UPPER(col::text) LIKE UPPER('%x%')), with a leading wildcard and a run of at least three
// literal characters (a trigram index cannot narrow a shorter one).
bool trigram_pattern(const sql::Operand& value) {
  std::string pattern;
  if (value.kind == sql::Operand::Kind::constant) {
    pattern = value.value;
  } else if (value.kind == sql::Operand::Kind::expression) {
    const auto open = value.text.find("('");
    const auto close = value.text.rfind("')");
    if (open == std::string::npos || close == std::string::npos || close <= open + 2) return false;
    pattern = value.text.substr(open + 2, close - open - 2);
  } else {
    return false;
  }
  if (pattern.empty() || (pattern[0] != '%' && pattern[0] != '_')) return false;
  std::size_t run = 0, longest = 0;
  for (char c : pattern) {
    run = (c == '%' || c == '_') ? 0 : run + 1;
    longest = std::max(longest, run);
  }
  return longest >= 3;
}

// A condition every row of a partial index would meet: IS NULL, or a constant of a column with
// few values (a status, a flag). Its SQL as an index predicate.
std::string fixed_condition_sql(const sql::Predicate& p) {
  const std::string column = quote_ident(p.column.name);
  if (p.op == "IS NULL") return column + " IS NULL";
  if (p.value.text == "true") return column;
  if (p.value.text == "false") return "NOT " + column;
  return column + " = " + p.value.text;
}

void add_unique(std::vector<Key>& keys, Key k) {
  if (std::none_of(keys.begin(), keys.end(), [&](const Key& o) { return o.text == k.text; }))
    keys.push_back(std::move(k));
}

bool is_equality(const std::string& op) {
  return op == "=" || op == "IN" || op == "= ANY" || op == "IS NULL" || op == "IS NOT DISTINCT FROM";
}
bool is_range(const std::string& op) {
  return op == "<" || op == "<=" || op == ">" || op == ">=" || op == "BETWEEN" || op == "BETWEEN SYMMETRIC";
}
bool is_gin_operator(const std::string& op) {
  return op == "@>" || op == "<@" || op == "?" || op == "?|" || op == "?&" || op == "&&" || op == "@@";
}
bool is_like(const std::string& op) { return op == "LIKE" || op == "ILIKE" || op == "~~" || op == "~~*"; }

std::vector<std::string> texts(const std::vector<Key>& keys) {
  std::vector<std::string> out;
  for (const auto& k : keys) out.push_back(k.text);
  return out;
}

}  // namespace

std::string Candidate::identity() const {
  std::string out = "ON " + qualified_table() + " USING " + method + " (" + join(keys, ", ") + ")";
  if (!include.empty()) out += " INCLUDE (" + join(include, ", ") + ")";
  if (!where.empty()) out += " WHERE " + where;
  return out;
}

std::string Candidate::name() const {
  std::string out = table;
  for (const auto& k : keys) {
    std::string part;
    for (char c : k) {
      if (std::isalnum(static_cast<unsigned char>(c))) {
        part += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      } else if (!part.empty() && part.back() != '_') {
        part += '_';
      }
    }
    while (!part.empty() && part.back() == '_') part.pop_back();
    if (part.size() > 4 && part.ends_with("_ops")) part = part.substr(0, part.size() - 4);
    out += "_" + part;
  }
  if (!where.empty()) {
    // The predicate's columns too: (org_id) WHERE deleted_at IS NULL and (org_id) WHERE
    // is_archived AND deleted_at IS NULL are two indexes and need two names.
    static const std::set<std::string> kWords = {"and", "or",   "not",   "is",      "null", "true", "false",
                                                 "in",  "like", "ilike", "between", "any",  "text"};
    std::vector<std::string> columns;
    std::string word;
    bool quoted = false;
    for (std::size_t i = 0; i <= where.size(); ++i) {
      const char c = i < where.size() ? where[i] : ' ';
      if (c == '\'') quoted = !quoted;
      if (!quoted && (std::isalnum(static_cast<unsigned char>(c)) || c == '_')) {
        word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        continue;
      }
      if (!word.empty() && !std::isdigit(static_cast<unsigned char>(word[0])) && !kWords.contains(word) &&
          std::find(columns.begin(), columns.end(), word) == columns.end())
        columns.push_back(word);
      word.clear();
    }
    for (const auto& c : columns)
      if (std::find(keys.begin(), keys.end(), c) == keys.end()) out += "_" + c;  // not (deleted_at)'s twice
    out += "_partial";
  }
  out += method == "btree" ? "_idx" : "_" + method;
  if (out.size() > 63) out = out.substr(0, 63);
  return quote_ident(out);
}

std::string Candidate::ddl(bool concurrently) const {
  return std::string("CREATE INDEX ") + (concurrently ? "CONCURRENTLY " : "") + name() + " " + identity();
}

std::vector<std::string> Candidate::key_columns() const {
  std::vector<std::string> out;
  for (const auto& k : keys) {
    if (k.empty() || k[0] == '(') continue;
    out.push_back(k.substr(0, k.find(' ')));
  }
  for (const auto& i : include) out.push_back(i);
  return out;
}

CandidateLimits CandidateLimits::from_rules(const knowledge::RuleBook* rules, int max_columns) {
  CandidateLimits l;
  l.max_columns = max_columns;
  if (!rules) return l;
  auto read = [&](const char* rule, const char* name, double& into) {
    if (const auto* r = rules->find(rule); r && r->thresholds.contains(name)) into = r->threshold(name);
  };
  read("INDEX_BTREE_EQUALITY_THEN_RANGE", "max_key_share", l.max_key_share);
  read("INDEX_PARTIAL", "max_value_share", l.partial_max_value_share);
  read("INDEX_PARTIAL", "max_distinct_values", l.partial_max_distinct_values);
  read("INDEX_PARTIAL", "min_null_frac_for_not_null", l.partial_min_null_frac);
  read("INDEX_COVERING", "max_include_columns", l.covering_max_include);
  read("INDEX_BRIN", "min_rows", l.brin_min_rows);
  read("INDEX_BRIN", "min_abs_correlation", l.brin_min_abs_correlation);
  read("INDEX_BRIN", "max_update_delete_share", l.brin_max_update_share);
  return l;
}

const ExistingIndex* served_by_existing(const Candidate& c, const TableInfo& table) {
  for (const auto& index : table.indexes) {
    if (!index.valid || index.method != c.method) continue;
    if (normalized_key(index.predicate) != normalized_key(c.where)) continue;
    if (!is_prefix(c.keys, index.keys)) continue;
    std::vector<std::string> all = index.keys;
    all.insert(all.end(), index.include.begin(), index.include.end());
    const bool covers = std::all_of(c.include.begin(), c.include.end(), [&](const std::string& i) {
      return std::any_of(all.begin(), all.end(),
                         [&](const std::string& a) { return normalized_key(a) == normalized_key(i); });
    });
    if (covers) return &index;
  }
  return nullptr;
}

void merge_candidates(std::vector<Candidate>& into, std::vector<Candidate> more) {
  for (auto& c : more) {
    auto it = std::find_if(into.begin(), into.end(), [&](const Candidate& o) { return o.identity() == c.identity(); });
    if (it == into.end()) {
      into.push_back(std::move(c));
    } else {
      it->queries.insert(c.queries.begin(), c.queries.end());
    }
  }
}

std::vector<Candidate> candidates_for(const sql::QueryModel& query, int query_index, const Catalog& catalog,
                                      const CandidateLimits& limits) {
  std::vector<Candidate> out;
  std::vector<std::string> seen_tables;
  for (const auto& t : query.tables) {
    if (t.is_cte || (t.role != sql::TableRole::read && t.role != sql::TableRole::written)) continue;
    if (std::find(seen_tables.begin(), seen_tables.end(), t.schema + "." + t.name) != seen_tables.end()) continue;
    seen_tables.push_back(t.schema + "." + t.name);
    const TableInfo* info = catalog.find(t.schema, t.name);
    if (!info && !catalog.tables.empty()) continue;  // unknown table: reported by the caller
    const std::string schema = info ? info->schema : t.schema;
    const std::string table = info ? info->name : t.name;

    std::vector<Key> eq, range, joins;
    std::vector<const sql::Predicate*> constants;
    auto make = [&](std::string kind, std::string rule, std::vector<std::string> keys, std::string reason) {
      Candidate c;
      c.kind = std::move(kind);
      c.rule_id = std::move(rule);
      c.schema = schema;
      c.table = table;
      if (static_cast<int>(keys.size()) > limits.max_columns) keys.resize(static_cast<std::size_t>(limits.max_columns));
      c.keys = std::move(keys);
      c.reason = std::move(reason);
      c.queries.insert(query_index);
      return c;
    };

    for (const auto& p : query.predicates) {
      if (!belongs(p.column, t) || p.under_or || p.negated) continue;
      if (p.clause != sql::Clause::where && p.clause != sql::Clause::join_on) continue;
      if (p.value.kind == sql::Operand::Kind::column) {
        if (p.value.column && !belongs(*p.value.column, t) && p.op == "=") add_unique(joins, key_of(p, info));
        continue;
      }
      if (p.value.kind == sql::Operand::Kind::subquery) continue;
      if (is_equality(p.op)) {
        add_unique(eq, key_of(p, info));
        if (p.unqualified_column_expression.empty() &&
            (p.op == "IS NULL" || (p.op == "=" && p.value.kind == sql::Operand::Kind::constant)))
          constants.push_back(&p);
      } else if (is_range(p.op)) {
        add_unique(range, key_of(p, info));
        // BRIN: a range filter on a large, append-only table stored in the column's order.
        const ColumnStats* s = info && p.unqualified_column_expression.empty() ? info->column(p.column.name) : nullptr;
        const long long changes = info ? info->updates + info->deletes : 0;
        if (s && s->correlation && info->has_stats && info->rows >= limits.brin_min_rows &&
            std::fabs(*s->correlation) >= limits.brin_min_abs_correlation &&
            static_cast<double>(changes) <=
                limits.brin_max_update_share * static_cast<double>(std::max(info->inserts, 1LL))) {
          auto c = make("brin", "INDEX_BRIN", {quote_ident(p.column.name)},
                        "range filter on " + p.column.name + ", physical correlation " +
                            std::to_string(*s->correlation).substr(0, 5) + " on an append-only table of " +
                            std::to_string(static_cast<long long>(info->rows)) + " rows");
          c.method = "brin";
          out.push_back(std::move(c));
        }
      } else if (is_gin_operator(p.op)) {
        const Key k = key_of(p, info);
        const ColumnStats* s = info ? info->column(p.column.name) : nullptr;
        std::string what = p.op == "@@" ? "full-text match" : "containment/existence operator " + p.op;
        // jsonb_path_ops serves only @>, in an index a fraction of the default operator class's size.
        const bool path_ops = p.op == "@>" && s && s->type == "jsonb" && k.column == p.column.name;
        auto c = make("gin", p.op == "@@" ? "INDEX_GIN_FULLTEXT" : "INDEX_GIN_JSONB",
                      {path_ops ? k.text + " jsonb_path_ops" : k.text},
                      what + " on " + (k.column.empty() ? k.text : k.column) + (s ? " (" + s->type + ")" : ""));
        c.method = "gin";
        c.costable = false;
        out.push_back(std::move(c));
      } else if (is_like(p.op) && !p.reversed && trigram_pattern(p.value)) {
        const Key k = key_of(p, info);
        auto c = make("trigram", "INDEX_TRGM", {k.text + " gin_trgm_ops"},
                      p.op + " with a leading wildcard on " + (k.column.empty() ? k.text : k.column));
        c.method = "gin";
        c.costable = false;
        if (!catalog.has_extension("pg_trgm")) c.extension = "pg_trgm";
        out.push_back(std::move(c));
      }
    }
    for (const auto& j : query.join_conditions) {
      for (const auto* side : {&j.left, &j.right}) {
        if (!belongs(*side, t) || j.op != "=") continue;
        add_unique(joins, Key{quote_ident(side->name), side->name});
      }
    }
    // Most selective first: the index narrows fastest, and equality columns can go in any order.
    // A condition that keeps most rows (deleted_at IS NULL, a common flag) is left to the
    // filter, or to a partial index's WHERE below, rather than widening every key.
    std::stable_sort(eq.begin(), eq.end(), [](const Key& a, const Key& b) { return a.share < b.share; });
    if (eq.size() > 1 || !range.empty()) {
      const auto first_kept = range.empty() ? eq.begin() + 1 : eq.begin();
      eq.erase(std::remove_if(first_kept, eq.end(), [&](const Key& k) { return k.share > limits.max_key_share; }),
               eq.end());
    }

    // ORDER BY of this level, all on this table: an index in that order makes the sort (and LIMIT) cheap.
    std::vector<std::string> order;
    bool order_usable = !query.order_by.empty();
    for (const auto& s : query.order_by) {
      if (s.scope != t.scope || !s.expression.column || !belongs(*s.expression.column, t)) {
        order_usable = false;
        break;
      }
      order.push_back(quote_ident(s.expression.column->name) +
                      (s.direction == sql::SortDirection::desc ? " DESC" : ""));
    }
    const bool has_limit = t.scope < static_cast<int>(query.scopes.size()) && query.scopes[t.scope].limit;

    const bool expression = std::any_of(eq.begin(), eq.end(), [](const Key& k) { return k.column.empty(); }) ||
                            std::any_of(range.begin(), range.end(), [](const Key& k) { return k.column.empty(); });
    const std::string btree_rule = expression ? "INDEX_EXPRESSION" : "INDEX_BTREE_EQUALITY_THEN_RANGE";
    std::vector<Candidate> shaped;  // the B-tree shapes that a covering variant may extend
    if (!eq.empty() || !range.empty()) {
      if (range.empty()) {
        shaped.push_back(make(expression ? "expression" : "btree", btree_rule, texts(eq), "equality columns"));
      }
      for (const auto& r : range) {
        auto keys = texts(eq);
        keys.push_back(r.text);
        shaped.push_back(make(expression ? "expression" : "btree", btree_rule, keys,
                              eq.empty() ? "range column" : "equality columns first, then the range column"));
      }
    }
    if (order_usable && !order.empty()) {
      auto keys = texts(eq);
      for (const auto& o : order)
        if (std::find(keys.begin(), keys.end(), o) == keys.end()) keys.push_back(o);
      shaped.push_back(make("order_by", "INDEX_BTREE_ORDER_LIMIT", keys,
                            std::string(has_limit ? "ORDER BY ... LIMIT" : "ORDER BY") +
                                " served in index order after the equality columns"));
    }
    for (const auto& j : joins) {
      auto keys = texts(eq);
      if (std::find(keys.begin(), keys.end(), j.text) == keys.end()) keys.push_back(j.text);
      shaped.push_back(
          make("join", "INDEX_JOIN_COLUMN", keys, "join column " + j.column + " (inner side of a nested loop)"));
      if (keys.size() > 1)
        shaped.push_back(make("join", "INDEX_JOIN_COLUMN", {j.text}, "join column " + j.column + " alone"));
    }

    // Covering: the other columns the query reads from this table, when few, as INCLUDE.
    std::vector<std::string> others;
    bool star = false;
    for (const auto& u : query.columns) {
      if (!belongs(u.column, t)) continue;
      if (u.column.name == "*") star = true;
      const std::string name = quote_ident(u.column.name);
      if (std::find(others.begin(), others.end(), name) == others.end()) others.push_back(name);
    }
    // Not under LIMIT: the heap fetches an INCLUDE saves are bounded by the limit, its size is not.
    // Not for a lookup whose equality columns hold a unique index: one row, one heap fetch (a
    // primary-key read got (id) INCLUDE (total) beside the primary key).
    const bool one_row =
        info && std::any_of(info->indexes.begin(), info->indexes.end(), [&](const ExistingIndex& x) {
          return x.unique && x.valid && x.predicate.empty() && !x.keys.empty() &&
                 std::all_of(x.keys.begin(), x.keys.end(), [&](const std::string& k) {
                   return std::any_of(eq.begin(), eq.end(), [&](const Key& e) { return e.column == k; });
                 });
        });
    if (query.kind == sql::StatementKind::select && !star && !has_limit && !one_row) {
      std::vector<Candidate> covering;
      for (const auto& s : shaped) {
        std::vector<std::string> include;
        for (const auto& o : others)
          if (std::none_of(s.keys.begin(), s.keys.end(),
                           [&](const std::string& k) { return k.substr(0, k.find(' ')) == o; }))
            include.push_back(o);
        if (include.empty() || include.size() > static_cast<std::size_t>(limits.covering_max_include)) continue;
        auto c = s;
        c.kind = "covering";
        c.rule_id = "INDEX_COVERING";
        c.include = include;
        c.reason = s.reason + "; INCLUDE the other columns the query reads so an index-only scan needs no heap fetch";
        covering.push_back(std::move(c));
      }
      for (auto& c : covering) shaped.push_back(std::move(c));
    }

    // Partial: the query's fixed conditions (a rare constant, IS NULL, a flag) move into the
    // index's WHERE, the other equality columns lead, then the ORDER BY or the range column:
    // WHERE tenant_id = $1 AND status = 'open' AND deleted_at IS NULL ORDER BY created_at DESC
    // gets (tenant_id, created_at DESC) WHERE status = 'open' AND deleted_at IS NULL.
    if (info && !info->columns.empty()) {
      std::vector<std::string> where, where_columns, evidence;
      bool rare = false;
      for (const auto* p : constants) {
        const ColumnStats* s = info->column(p->column.name);
        if (!s) continue;
        // A fixed value of a many-valued column (an id) is one query's constant, not a subset worth an index.
        if (p->op != "IS NULL" && s->distinct_count(info->rows) > limits.partial_max_distinct_values) continue;
        const double share = p->op == "IS NULL" ? s->null_frac : s->value_share(p->value.value, info->rows);
        const bool flag = p->op == "IS NULL" || p->value.text == "true" || p->value.text == "false";
        if (share > limits.partial_max_value_share && !flag) continue;
        rare = rare || share <= limits.partial_max_value_share;
        where.push_back(fixed_condition_sql(*p));
        where_columns.push_back(p->column.name);
        evidence.push_back(fixed_condition_sql(*p) + " keeps " + std::to_string(share * 100).substr(0, 4) + "%");
      }
      if (!where.empty()) {
        std::vector<std::string> keys;
        for (const auto& k : eq)
          if (std::find(where_columns.begin(), where_columns.end(), k.column) == where_columns.end())
            keys.push_back(k.text);
        if (order_usable && !order.empty()) {
          for (const auto& o : order)
            if (std::find(keys.begin(), keys.end(), o) == keys.end()) keys.push_back(o);
        } else if (!range.empty()) {
          keys.push_back(range.front().text);
        }
        // Only flags and no other key: a partial index on them alone is the table less a few rows.
        if (!keys.empty() || rare) {
          if (keys.empty()) keys.push_back(quote_ident(where_columns.front()));
          auto c = make("partial", "INDEX_PARTIAL", keys, join(evidence, ", ") + " of the rows (pg_stats)");
          c.where = join(where, " AND ");
          shaped.push_back(std::move(c));
        }
      }
    }
    // A range on a mostly-NULL column (deleted_at < $1 where nearly every row is live): the
    // range implies IS NOT NULL, so an index of the non-NULL rows serves it at a fraction of
    // the size of one over every row.
    if (info && !range.empty() && !range.front().column.empty())
      if (const ColumnStats* s = info->column(range.front().column);
          s && s->null_frac >= limits.partial_min_null_frac) {
        std::vector<std::string> keys;
        for (const auto& k : eq) keys.push_back(k.text);
        keys.push_back(range.front().text);
        const std::string not_null = quote_ident(range.front().column) + " IS NOT NULL";
        auto c = make("partial", "INDEX_PARTIAL", keys,
                      not_null + " keeps " + std::to_string((1 - s->null_frac) * 100).substr(0, 4) +
                          "% of the rows (pg_stats null_frac), and the range condition implies it");
        c.where = not_null;
        shaped.push_back(std::move(c));
      }
    for (auto& c : shaped) out.push_back(std::move(c));
  }

  // Drop what an existing index already serves; mark what widens one.
  std::vector<Candidate> kept;
  for (auto& c : out) {
    const TableInfo* info = catalog.find(c.schema, c.table);
    if (info) {
      if (served_by_existing(c, *info)) continue;
      for (const auto& index : info->indexes) {
        if (index.method == c.method && c.method == "btree" && !index.unique && index.predicate.empty() &&
            c.where.empty() && index.valid && is_prefix(index.keys, c.keys) &&
            (index.keys.size() < c.keys.size() || (index.include.empty() && !c.include.empty()))) {
          c.widens = index.name;
        }
      }
    }
    merge_candidates(kept, {std::move(c)});
  }
  return kept;
}

}  // namespace dbopt::advisor
