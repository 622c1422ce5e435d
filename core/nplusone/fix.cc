#include "core/nplusone/fix.h"

#include <algorithm>

#include "core/common/error.h"

namespace dbopt::nplusone {
namespace {

using sql::Operand;
using sql::StatementKind;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// The names <name>_id columns use for a table's rows: the Django model name
// (shop_author -> author) and, for plural table names (customers), the singular.
bool refers_to(const std::string& column, const std::string& table) {
  const std::string m = model_name(table);
  if (column == m + "_id") return true;
  if (m.size() > 3 && m.compare(m.size() - 3, 3, "ies") == 0 && column == m.substr(0, m.size() - 3) + "y_id")
    return true;
  return m.size() > 1 && m.back() == 's' && column == m.substr(0, m.size() - 1) + "_id";
}

bool is_value(Operand::Kind k) { return k == Operand::Kind::parameter || k == Operand::Kind::constant; }

std::string strip_id(const std::string& column) {
  return ends_with(column, "_id") ? column.substr(0, column.size() - 3) : column;
}

std::string python_value(const ShapeFacts::Filter& f) {
  if (f.value_kind != Operand::Kind::constant) return "...";
  if (f.value == "true") return "True";
  if (f.value == "false") return "False";
  const bool numeric = !f.value.empty() && std::all_of(f.value.begin(), f.value.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '.' || c == '-';
  });
  if (numeric) return f.value;
  std::string out = "'";
  for (const char c : f.value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

// The pk filter "table.id = $n" (or the referenced column of a known foreign key).
const ShapeFacts::Filter* key_filter(const ShapeFacts& r) {
  for (const auto& f : r.filters)
    if (f.op == "=" && is_value(f.value_kind) && f.table == r.table) return &f;
  return nullptr;
}

struct Match {
  std::string field;   // the relation's name on the model that has the rows
  std::string column;  // the foreign key column
  std::string table;   // the table of that column (a table joined into the source, or the source's own)
};

// The select_related path from `from` to `to` through the source's joins
// (shop_book -> shop_author via author_id: "author"); empty when there is none.
std::optional<std::string> join_path(const ShapeFacts& source, const std::string& from, const std::string& to) {
  std::string path;
  std::string at = to;
  for (int depth = 0; depth < 4 && at != from; ++depth) {
    bool stepped = false;
    for (const auto& j : source.joins) {
      for (const auto& [fk, pk] : {std::pair{&j.left, &j.right}, std::pair{&j.right, &j.left}}) {
        if (pk->table == at && pk->name == "id" && fk->table != at && ends_with(fk->name, "_id")) {
          path = strip_id(fk->name) + (path.empty() ? "" : "__" + path);
          at = fk->table;
          stepped = true;
          break;
        }
      }
      if (stepped) break;
    }
    if (!stepped) return std::nullopt;
  }
  if (at != from) return std::nullopt;
  return path;
}

const ForeignKey* find_fk(const std::vector<ForeignKey>& fks, const std::string& table, const std::string& column,
                          const std::string& ref_table) {
  for (const auto& fk : fks)
    if (fk.table == table && fk.column == column && (ref_table.empty() || fk.ref_table == ref_table)) return &fk;
  return nullptr;
}

// r loads one row of r.table by key; p's rows carry the key in a column: p.<field>_id -> r.table.id.
std::optional<Match> forward(const ShapeFacts& r, const ShapeFacts& p, const std::vector<ForeignKey>& fks) {
  const auto* key = key_filter(r);
  if (!key) return std::nullopt;
  for (const auto& c : p.selected) {
    if (c.table == r.table) continue;
    // The live catalog's foreign keys first, then Django's naming convention.
    const auto* fk = find_fk(fks, c.table, c.name, r.table);
    if ((fk && fk->ref_column == key->column) || (key->column == "id" && refers_to(c.name, r.table)))
      return Match{strip_id(c.name), c.name, c.table};
  }
  return std::nullopt;
}

// r loads the rows of r.table whose <fk> = one row of p.table.
std::optional<Match> reverse(const ShapeFacts& r, const ShapeFacts& p, const std::vector<ForeignKey>& fks) {
  if (p.table.empty() || p.table == r.table) return std::nullopt;
  for (const auto& f : r.filters) {
    if (f.op != "=" || !is_value(f.value_kind) || f.table != r.table) continue;
    if (find_fk(fks, r.table, f.column, p.table) != nullptr || refers_to(f.column, p.table))
      return Match{strip_id(f.column), f.column, r.table};
  }
  return std::nullopt;
}

struct M2M {
  std::string field;  // on the source's model
  std::string through;
  std::string column;  // the through table's column filtered
};

// SELECT r.* FROM r JOIN through ON ... WHERE through.<p>_id = $1
std::optional<M2M> many_to_many(const ShapeFacts& r, const ShapeFacts& p) {
  if (p.table.empty()) return std::nullopt;
  for (const auto& f : r.filters) {
    if (f.op != "=" || !is_value(f.value_kind) || f.table == r.table || f.table.empty()) continue;
    if (!refers_to(f.column, p.table)) continue;
    const std::string& through = f.table;
    if (starts_with(through, p.table + "_"))  // forward: <app>_<source model>_<field>
      return M2M{through.substr(p.table.size() + 1), through, f.column};
    if (starts_with(through, r.table + "_"))  // reverse: from the other side, <model>_set
      return M2M{lower_model(r.table) + "_set", through, f.column};
  }
  return std::nullopt;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

std::string source_model(const ShapeFacts* source, const std::string& fallback_table) {
  return model_class(source && !source->table.empty() ? source->table : fallback_table);
}

// Extra conditions and joins of a reverse-FK query: what a Prefetch queryset must repeat.
std::string inner_queryset(const ShapeFacts& r, const std::string& fk_column) {
  std::string filters;
  for (const auto& f : r.filters) {
    if (f.table != r.table || f.column == fk_column) continue;
    if (f.op != "=") continue;
    filters += (filters.empty() ? "" : ", ") + f.column + "=" + python_value(f);
  }
  std::vector<std::string> related;
  for (const auto& j : r.joins) {
    // r.table.<field>_id = other.id
    const sql::Column* mine = j.left.table == r.table ? &j.left : j.right.table == r.table ? &j.right : nullptr;
    if (!mine || !ends_with(mine->name, "_id")) continue;
    const std::string field = strip_id(mine->name);
    if (std::find(related.begin(), related.end(), field) == related.end()) related.push_back(field);
  }
  std::string qs = model_class(r.table) + ".objects";
  if (!filters.empty()) qs += ".filter(" + filters + ")";
  if (!related.empty()) {
    qs += ".select_related(";
    for (std::size_t i = 0; i < related.size(); ++i) qs += (i ? ", " : "") + quoted(related[i]);
    qs += ")";
  }
  return qs == model_class(r.table) + ".objects" ? qs + ".all()" : qs;
}

void framework_forms(FixPlan& plan, const ShapeFacts& r, const ShapeFacts* source, const std::string& key_column,
                     Framework framework) {
  const std::string owner = source_model(source, r.table);
  const std::string rel = plan.text.relation;
  const bool to_one =
      plan.kind == Kind::forward_fk || plan.kind == Kind::nested_fk || plan.kind == Kind::reverse_one_to_one;
  const std::string plural = lower_model(r.table) + "s";
  if (framework == Framework::sqlalchemy) {
    if (to_one)
      plan.text.sqlalchemy = "select(" + owner + ").options(joinedload(" + owner + "." + rel + "))";
    else if (plan.kind == Kind::reverse_fk || plan.kind == Kind::m2m || plan.kind == Kind::filtered_prefetch)
      plan.text.sqlalchemy = "select(" + owner + ").options(selectinload(" + owner + "." + plural + "))";
    else if (plan.kind == Kind::insert_in_loop)
      plan.text.sqlalchemy = "session.execute(insert(" + model_class(r.table) + "), rows)";
    else if (plan.kind == Kind::update_in_loop)
      plan.text.sqlalchemy = "session.execute(update(" + model_class(r.table) + "), rows)";
    else if (plan.kind == Kind::delete_in_loop)
      plan.text.sqlalchemy = "session.execute(delete(" + model_class(r.table) + ").where(" + model_class(r.table) +
                             "." + key_column + ".in_(ids)))";
    else
      plan.text.sqlalchemy =
          "select(" + model_class(r.table) + ").where(" + model_class(r.table) + "." + key_column + ".in_(keys))";
  } else if (framework == Framework::rails) {
    if (to_one)
      plan.text.rails = owner + ".includes(:" + rel + ")";
    else if (plan.kind == Kind::reverse_fk || plan.kind == Kind::m2m || plan.kind == Kind::filtered_prefetch)
      plan.text.rails = owner + ".includes(:" + plural + ")";
    else if (plan.kind == Kind::count_per_row)
      plan.text.rails = "a counter cache: belongs_to :" + model_name(owner) + ", counter_cache: true";
    else if (plan.kind == Kind::insert_in_loop)
      plan.text.rails = model_class(r.table) + ".insert_all(rows)";
    else if (plan.kind == Kind::update_in_loop)
      plan.text.rails = model_class(r.table) + ".upsert_all(rows)";
    else if (plan.kind == Kind::delete_in_loop)
      plan.text.rails = model_class(r.table) + ".where(id: ids).delete_all";
    else
      plan.text.rails = model_class(r.table) + ".where(" + key_column + ": keys)";
  } else if (framework == Framework::graphql) {
    plan.text.graphql = "a DataLoader keyed by " + key_column + " whose batch function runs SELECT * FROM " + r.table +
                        " WHERE " + key_column + " = ANY($1) once per tick";
  }
}

}  // namespace

const char* to_string(Kind kind) {
  switch (kind) {
    case Kind::forward_fk:
      return "forward_fk";
    case Kind::nested_fk:
      return "nested_fk";
    case Kind::reverse_one_to_one:
      return "reverse_one_to_one";
    case Kind::reverse_fk:
      return "reverse_fk";
    case Kind::m2m:
      return "m2m";
    case Kind::filtered_prefetch:
      return "filtered_prefetch";
    case Kind::count_per_row:
      return "count_per_row";
    case Kind::exists_per_row:
      return "exists_per_row";
    case Kind::get_in_loop:
      return "get_in_loop";
    case Kind::repeated_select:
      return "repeated_select";
    case Kind::insert_in_loop:
      return "insert_in_loop";
    case Kind::update_in_loop:
      return "update_in_loop";
    case Kind::delete_in_loop:
      return "delete_in_loop";
  }
  return "repeated_select";
}

const char* to_string(Framework framework) {
  switch (framework) {
    case Framework::auto_detect:
      return "auto";
    case Framework::django:
      return "django";
    case Framework::sqlalchemy:
      return "sqlalchemy";
    case Framework::rails:
      return "rails";
    case Framework::graphql:
      return "graphql";
    case Framework::generic:
      return "generic";
  }
  return "auto";
}

Framework parse_framework(const std::string& name) {
  for (const auto f : {Framework::auto_detect, Framework::django, Framework::sqlalchemy, Framework::rails,
                       Framework::graphql, Framework::generic})
    if (name == to_string(f)) return f;
  throw Error(ErrorCode::invalid_argument, "Unknown framework '" + name + "'.",
              "Use auto, django, sqlalchemy, rails, graphql or generic.");
}

// The model's name as Django's default related names use it: lower-case class name.
std::string lower_model(const std::string& table) {
  std::string m = model_class(table);
  for (auto& c : m)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return m;
}

std::string model_name(const std::string& table) {
  const auto us = table.find('_');
  return us == std::string::npos || us + 1 == table.size() ? table : table.substr(us + 1);
}

std::string model_class(const std::string& table) {
  std::string m = model_name(table);
  // Plural table names without an app prefix (orders) are Rails' or hand-made: the class is singular.
  if (table.find('_') == std::string::npos && m.size() > 3 && m.back() == 's' && m[m.size() - 2] != 's')
    m = m.compare(m.size() - 3, 3, "ies") == 0 ? m.substr(0, m.size() - 3) + "y" : m.substr(0, m.size() - 1);
  if (!m.empty() && m[0] >= 'a' && m[0] <= 'z') m[0] = static_cast<char>(m[0] - 'a' + 'A');
  return m;
}

ShapeFacts facts_of(const workload::Shape& shape) {
  ShapeFacts f;
  f.normalized = shape.normalized;
  if (!shape.model) return f;
  const sql::QueryModel& m = *shape.model;
  f.kind = m.kind;
  for (const auto& t : m.tables) {
    if (t.scope != 0 || t.is_cte) continue;
    if ((f.kind == StatementKind::select && t.role == sql::TableRole::read) ||
        (f.is_write() && t.role == sql::TableRole::written)) {
      f.table = t.name;
      break;
    }
  }
  for (const auto& c : m.columns)
    if (c.scope == 0 && c.clause == sql::Clause::select_list && c.column.name != "*")
      f.selected.push_back({c.column.table, c.column.name});
    else if (c.scope == 0 && c.clause == sql::Clause::set)
      f.set_columns.push_back(c.column.name);
  for (const auto& p : m.predicates) {
    if (p.scope != 0 || p.clause != sql::Clause::where || p.under_or || p.negated || p.is_join_condition()) continue;
    f.filters.push_back({p.column.table, p.column.name, p.op, p.value.kind, p.value.value});
  }
  for (const auto& j : m.join_conditions)
    if (j.scope == 0) f.joins.push_back(j);
  const bool any_columns = std::any_of(m.columns.begin(), m.columns.end(), [](const sql::ColumnUse& c) {
    return c.scope == 0 && c.clause == sql::Clause::select_list;
  });
  const bool counts = std::any_of(m.functions.begin(), m.functions.end(), [](const sql::FunctionCall& fc) {
    return fc.scope == 0 && fc.clause == sql::Clause::select_list && fc.name == "count";
  });
  const bool any_functions = std::any_of(m.functions.begin(), m.functions.end(), [](const sql::FunctionCall& fc) {
    return fc.scope == 0 && fc.clause == sql::Clause::select_list;
  });
  if (!m.scopes.empty() && m.scopes[0].limit && m.scopes[0].limit->value) f.limit = *m.scopes[0].limit->value;
  f.count_only = counts && !any_columns;
  f.exists_only = f.kind == StatementKind::select && !any_columns && !any_functions && f.limit == 1;
  // UPDATE ... SET a = $1: the SET columns are recorded as insert/set targets by the model.
  if (f.kind == StatementKind::update && f.set_columns.empty()) {
    for (const auto& c : m.columns)
      if (c.scope == 0 && c.clause == sql::Clause::set) f.set_columns.push_back(c.column.name);
  }
  return f;
}

FixPlan plan_fix(const ShapeFacts& r, const ShapeFacts* source, const std::vector<const ShapeFacts*>& before,
                 const std::vector<const FixPlan*>& before_plans, const std::vector<ForeignKey>& fks,
                 Framework framework) {
  FixPlan plan;
  const std::string cls = model_class(r.table);
  const std::string owner = source_model(source, r.table);
  std::string key_column = "id";
  if (const auto* k = key_filter(r)) key_column = k->column;

  if (r.kind == StatementKind::insert) {
    plan.kind = Kind::insert_in_loop;
    plan.text.django = cls + ".objects.bulk_create(objs)";
    plan.text.sql = "one INSERT INTO " + r.table + " (...) VALUES (...), (...), ... for all rows (or COPY)";
  } else if (r.kind == StatementKind::update) {
    plan.kind = Kind::update_in_loop;
    std::string fields;
    for (const auto& c : r.set_columns)
      if (c != "id") fields += (fields.empty() ? "" : ", ") + quoted(c);
    plan.text.django = cls + ".objects.bulk_update(objs, [" + fields + "])";
    plan.text.sql = "one UPDATE " + r.table + " SET ... FROM (VALUES (...), (...)) AS v(" + key_column +
                    ", ...) WHERE " + r.table + "." + key_column + " = v." + key_column;
  } else if (r.kind == StatementKind::delete_) {
    plan.kind = Kind::delete_in_loop;
    plan.text.django = cls + ".objects.filter(" + key_column + "__in=ids).delete()";
    plan.text.sql = "DELETE FROM " + r.table + " WHERE " + key_column + " = ANY($1)";
  } else {
    // Reads: the loop body's earlier statements first (nested), then the source.
    for (int i = static_cast<int>(before.size()) - 1; i >= 0; --i) {
      if (!before[i] || !before_plans[i] || !before_plans[i]->related) continue;
      if (const auto m = forward(r, *before[i], fks)) {
        const FixPlan& parent = *before_plans[i];
        const bool prefetch = parent.kind == Kind::reverse_fk || parent.kind == Kind::m2m;
        plan.kind = Kind::nested_fk;
        plan.related = true;
        plan.via = i;
        plan.text.relation = parent.text.relation + "__" + m->field;
        plan.text.django = owner + ".objects." + (prefetch ? "prefetch_related(" : "select_related(") +
                           quoted(plan.text.relation) + ")";
        plan.text.sql = "JOIN " + r.table + " ON " + r.table + "." + key_column + " = " + before[i]->table + "." +
                        m->column + " in the source query (LEFT JOIN when " + m->column + " may be NULL)";
        framework_forms(plan, r, source, key_column, framework);
        return plan;
      }
    }
    std::optional<Match> fwd, rev;
    std::optional<M2M> m2m;
    if (source) {
      fwd = forward(r, *source, fks);
      if (!fwd) rev = reverse(r, *source, fks);
      if (!fwd && !rev) m2m = many_to_many(r, *source);
    }
    if (fwd) {
      plan.kind = Kind::forward_fk;
      plan.related = true;
      plan.text.relation = fwd->field;
      // The key came from a table the source already joins (select_related('author') then author.profile).
      if (!fwd->table.empty() && fwd->table != source->table) {
        if (const auto path = join_path(*source, source->table, fwd->table); path && !path->empty()) {
          plan.kind = Kind::nested_fk;
          plan.text.relation = *path + "__" + fwd->field;
        }
      }
      plan.text.django = owner + ".objects.select_related(" + quoted(plan.text.relation) + ")";
      plan.text.sql = "SELECT * FROM " + r.table + " WHERE " + key_column + " = ANY($1) with $1 the " + fwd->column +
                      " values of the " + source->table + " rows, or LEFT JOIN " + r.table + " ON " + r.table + "." +
                      key_column + " = " + source->table + "." + fwd->column + " in the source query";
    } else if (rev && r.count_only) {
      plan.kind = Kind::count_per_row;
      plan.related = true;
      plan.text.relation = lower_model(r.table);
      plan.text.django = owner + ".objects.annotate(Count(" + quoted(lower_model(r.table)) + "))";
      plan.text.sql = "SELECT " + rev->column + ", count(*) FROM " + r.table + " WHERE " + rev->column +
                      " = ANY($1) GROUP BY " + rev->column + " with $1 the ids of the " + source->table + " rows";
    } else if (rev && r.exists_only) {
      plan.kind = Kind::exists_per_row;
      plan.related = true;
      plan.text.relation = lower_model(r.table);
      plan.text.django = owner + ".objects.annotate(has_" + lower_model(r.table) + "=Exists(" + cls +
                         ".objects.filter(" + rev->field + "=OuterRef('pk'))))";
      plan.text.sql = "SELECT DISTINCT " + rev->column + " FROM " + r.table + " WHERE " + rev->column +
                      " = ANY($1) with $1 the ids of the " + source->table + " rows";
    } else if (rev && r.limit && *r.limit > 1 && *r.limit <= 21 && r.filters.size() == 1) {
      // get() on the reverse side of a one-to-one (Django adds LIMIT 21 to get()).
      plan.kind = Kind::reverse_one_to_one;
      plan.related = true;
      plan.text.relation = lower_model(r.table);
      plan.text.django = owner + ".objects.select_related(" + quoted(plan.text.relation) + ")";
      plan.text.sql = "LEFT JOIN " + r.table + " ON " + r.table + "." + rev->column + " = " + source->table +
                      ".id in the source query";
    } else if (rev) {
      const std::string accessor = lower_model(r.table) + "_set";
      plan.related = true;
      plan.text.relation = accessor;
      const bool extra = r.filters.size() > 1 || !r.joins.empty();
      if (extra) {
        plan.kind = Kind::filtered_prefetch;
        plan.text.django = owner + ".objects.prefetch_related(Prefetch(" + quoted(accessor) +
                           ", queryset=" + inner_queryset(r, rev->column) + "))";
      } else {
        plan.kind = Kind::reverse_fk;
        plan.text.django = owner + ".objects.prefetch_related(" + quoted(accessor) + ")";
      }
      plan.text.sql = "SELECT * FROM " + r.table + " WHERE " + rev->column +
                      " = ANY($1) (same conditions) with $1 "
                      "the ids of the " +
                      source->table + " rows";
    } else if (m2m) {
      plan.kind = Kind::m2m;
      plan.related = true;
      plan.text.relation = m2m->field;
      plan.text.django = owner + ".objects.prefetch_related(" + quoted(m2m->field) + ")";
      plan.text.sql = "SELECT " + m2m->through + "." + m2m->column + ", " + r.table + ".* FROM " + r.table + " JOIN " +
                      m2m->through + " ON ... WHERE " + m2m->through + "." + m2m->column +
                      " = ANY($1) with $1 the ids of the " + source->table + " rows";
    } else if (key_filter(r) && key_column == "id") {
      plan.kind = Kind::get_in_loop;
      plan.text.django = cls + ".objects.in_bulk(ids)";
      plan.text.sql = "SELECT * FROM " + r.table + " WHERE id = ANY($1)";
    } else {
      plan.kind = Kind::repeated_select;
      plan.text.django = cls + ".objects.filter(" + key_column + "__in=values)";
      plan.text.sql = "one query with " + key_column + " = ANY($1) instead of " + key_column + " = $1 per row";
    }
  }
  framework_forms(plan, r, source, key_column, framework);
  return plan;
}

}  // namespace dbopt::nplusone
