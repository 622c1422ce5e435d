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

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// Names of models and relations: a pasted models.py first, then Django's defaults.
class Names {
 public:
  explicit Names(const Schema& schema) : schema_(schema) {}

  const Model* model(const std::string& table) const {
    for (const auto& m : schema_.models)
      if (m.table == table) return &m;
    const std::string part = model_name(table);
    for (const auto& m : schema_.models)
      if (m.table.empty() && lower_ascii(m.class_name) == part) return &m;
    return nullptr;
  }
  std::string cls(const std::string& table) const {
    if (const Model* m = model(table)) {
      used_models_ = true;
      return m->class_name;
    }
    return model_class(table);
  }
  // The lower-case class name: Django's default related query name.
  std::string lower_cls(const std::string& table) const { return lower_ascii(cls(table)); }
  const ModelField* field(const std::string& table, const std::string& column) const {
    if (const Model* m = model(table))
      for (const auto& f : m->fields)
        if (f.column == column) return &f;
    return nullptr;
  }
  const ModelField* m2m_field(const std::string& table, const std::string& through) const {
    if (const Model* m = model(table))
      for (const auto& f : m->fields)
        if (f.kind == ModelField::Kind::many_to_many && f.through == through) return &f;
    return nullptr;
  }
  // The forward relation's name for the column table.column (author_id -> author).
  std::string forward_name(const std::string& table, const std::string& column) const {
    if (const ModelField* f = field(table, column)) {
      used_models_ = true;
      return f->name;
    }
    return strip_id(column);
  }
  // The reverse accessor on the parent for the child rows of child_table.column (comment_set, or related_name).
  std::string reverse_accessor(const std::string& child_table, const std::string& column, bool one_to_one) const {
    if (const ModelField* f = field(child_table, column); f && !f->related_name.empty() && f->related_name != "+") {
      used_models_ = true;
      return f->related_name;
    }
    return lower_cls(child_table) + (one_to_one ? "" : "_set");
  }
  // The name that filters and aggregates use for the reverse side (Count('comments'), Count('comment')).
  std::string query_name(const std::string& child_table, const std::string& column) const {
    if (const ModelField* f = field(child_table, column)) {
      used_models_ = true;
      if (!f->related_query_name.empty()) return f->related_query_name;
      if (!f->related_name.empty() && f->related_name != "+") return f->related_name;
    }
    return lower_cls(child_table);
  }
  bool one_to_one(const std::string& child_table, const std::string& column) const {
    const ModelField* f = field(child_table, column);
    return f && f->kind == ModelField::Kind::one_to_one;
  }
  bool models_known() const { return !schema_.models.empty(); }
  std::string from() const {
    if (used_models_) return "models.py";
    if (!schema_.foreign_keys.empty()) return "the catalog's foreign keys, Django's default names";
    return "Django's naming conventions and default related names";
  }
  const std::vector<ForeignKey>& fks() const { return schema_.foreign_keys; }

 private:
  const Schema& schema_;
  mutable bool used_models_ = false;
};

struct Match {
  std::string field;   // the relation's name on the model that has the rows
  std::string column;  // the foreign key column
  std::string table;   // the table of that column (a table joined into the source, or the source's own)
};

// The select_related path from `from` to `to` through the source's joins
// (shop_book -> shop_author via author_id: "author"); empty when there is none.
std::optional<std::string> join_path(const ShapeFacts& source, const std::string& from, const std::string& to,
                                     const Names& names) {
  std::string path;
  std::string at = to;
  for (int depth = 0; depth < 4 && at != from; ++depth) {
    bool stepped = false;
    for (const auto& j : source.joins) {
      for (const auto& [fk, pk] : {std::pair{&j.left, &j.right}, std::pair{&j.right, &j.left}}) {
        if (pk->table == at && pk->name == "id" && fk->table != at && ends_with(fk->name, "_id")) {
          path = names.forward_name(fk->table, fk->name) + (path.empty() ? "" : "__" + path);
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
std::optional<Match> forward(const ShapeFacts& r, const ShapeFacts& p, const Names& names) {
  const auto* key = key_filter(r);
  if (!key) return std::nullopt;
  for (const auto& c : p.selected) {
    if (c.table == r.table) continue;
    // The live catalog's foreign keys first, then models.py, then Django's naming convention.
    const auto* fk = find_fk(names.fks(), c.table, c.name, r.table);
    const ModelField* declared = names.field(c.table, c.name);
    const bool declared_here =
        declared && declared->kind != ModelField::Kind::many_to_many && key->column == "id" &&
        (names.cls(r.table) == declared->target.substr(declared->target.rfind('.') + 1) || refers_to(c.name, r.table));
    if ((fk && fk->ref_column == key->column) || declared_here || (key->column == "id" && refers_to(c.name, r.table)))
      return Match{names.forward_name(c.table, c.name), c.name, c.table};
  }
  return std::nullopt;
}

// r loads the rows of r.table whose <fk> = one row of p.table.
std::optional<Match> reverse(const ShapeFacts& r, const ShapeFacts& p, const Names& names) {
  if (p.table.empty() || p.table == r.table) return std::nullopt;
  for (const auto& f : r.filters) {
    if (f.op != "=" || !is_value(f.value_kind) || f.table != r.table) continue;
    if (find_fk(names.fks(), r.table, f.column, p.table) != nullptr || refers_to(f.column, p.table))
      return Match{names.forward_name(r.table, f.column), f.column, r.table};
  }
  return std::nullopt;
}

struct M2M {
  std::string field;  // on the source's model
  std::string through;
  std::string column;  // the through table's column filtered
};

// SELECT r.* FROM r JOIN through ON ... WHERE through.<p>_id = $1
std::optional<M2M> many_to_many(const ShapeFacts& r, const ShapeFacts& p, const Names& names) {
  if (p.table.empty()) return std::nullopt;
  for (const auto& f : r.filters) {
    if (f.op != "=" || !is_value(f.value_kind) || f.table == r.table || f.table.empty()) continue;
    if (!refers_to(f.column, p.table)) continue;
    const std::string& through = f.table;
    if (const ModelField* declared = names.m2m_field(p.table, through))  // forward, declared on the source's model
      return M2M{declared->name, through, f.column};
    if (const ModelField* declared = names.m2m_field(r.table, through))  // reverse: declared on the other side
      return M2M{declared->related_name.empty() ? names.lower_cls(r.table) + "_set" : declared->related_name, through,
                 f.column};
    if (starts_with(through, p.table + "_"))  // forward: <app>_<source model>_<field>
      return M2M{through.substr(p.table.size() + 1), through, f.column};
    if (starts_with(through, r.table + "_"))  // reverse: from the other side, <model>_set
      return M2M{names.lower_cls(r.table) + "_set", through, f.column};
  }
  return std::nullopt;
}

// Extra conditions of a reverse-FK query (what a Prefetch queryset must repeat) and its joined relations.
void inner_queryset(const ShapeFacts& r, const std::string& fk_column, const Names& names, PrefetchItem& item) {
  for (const auto& f : r.filters) {
    if (f.table != r.table || f.column == fk_column) continue;
    if (f.op != "=") continue;
    item.filters += (item.filters.empty() ? "" : ", ") + f.column + "=" + python_value(f);
  }
  for (const auto& j : r.joins) {
    // r.table.<field>_id = other.id
    const sql::Column* mine = j.left.table == r.table ? &j.left : j.right.table == r.table ? &j.right : nullptr;
    if (!mine || !ends_with(mine->name, "_id")) continue;
    const std::string field = names.forward_name(r.table, mine->name);
    if (std::find(item.select_related.begin(), item.select_related.end(), field) == item.select_related.end())
      item.select_related.push_back(field);
  }
}

std::string render_prefetch(const PrefetchItem& p) {
  if (p.filters.empty() && p.select_related.empty()) return quoted(p.relation);
  std::string qs = p.model + ".objects";
  if (!p.filters.empty()) qs += ".filter(" + p.filters + ")";
  if (!p.select_related.empty()) {
    qs += ".select_related(";
    for (std::size_t i = 0; i < p.select_related.size(); ++i) qs += (i ? ", " : "") + quoted(p.select_related[i]);
    qs += ")";
  }
  return "Prefetch(" + quoted(p.relation) + ", queryset=" + qs + ")";
}

bool to_one(Kind k) { return k == Kind::forward_fk || k == Kind::nested_fk || k == Kind::reverse_one_to_one; }
bool to_many(Kind k) { return k == Kind::reverse_fk || k == Kind::m2m || k == Kind::filtered_prefetch; }

void framework_forms(FixPlan& plan, const ShapeFacts& r, const ShapeFacts* source, const std::string& key_column,
                     Framework framework, const Names& names) {
  const std::string owner = names.cls(source && !source->table.empty() ? source->table : r.table);
  const std::string cls = names.cls(r.table);
  const std::string rel = plan.text.relation;
  const std::string plural = lower_ascii(cls) + "s";
  if (framework == Framework::sqlalchemy) {
    if (to_one(plan.kind))
      plan.text.sqlalchemy = "select(" + owner + ").options(joinedload(" + owner + "." + rel + "))";
    else if (to_many(plan.kind))
      plan.text.sqlalchemy = "select(" + owner + ").options(selectinload(" + owner + "." + plural + "))";
    else if (plan.kind == Kind::insert_in_loop)
      plan.text.sqlalchemy = "session.execute(insert(" + cls + "), rows)";
    else if (plan.kind == Kind::update_in_loop)
      plan.text.sqlalchemy = "session.execute(update(" + cls + "), rows)";
    else if (plan.kind == Kind::delete_in_loop)
      plan.text.sqlalchemy = "session.execute(delete(" + cls + ").where(" + cls + "." + key_column + ".in_(ids)))";
    else
      plan.text.sqlalchemy = "select(" + cls + ").where(" + cls + "." + key_column + ".in_(keys))";
  } else if (framework == Framework::rails) {
    if (to_one(plan.kind))
      plan.text.rails = owner + ".includes(:" + rel + ")";
    else if (to_many(plan.kind))
      plan.text.rails = owner + ".includes(:" + plural + ")";
    else if (plan.kind == Kind::count_per_row)
      plan.text.rails = "a counter cache: belongs_to :" + model_name(owner) + ", counter_cache: true";
    else if (plan.kind == Kind::insert_in_loop)
      plan.text.rails = cls + ".insert_all(rows)";
    else if (plan.kind == Kind::update_in_loop)
      plan.text.rails = cls + ".upsert_all(rows)";
    else if (plan.kind == Kind::delete_in_loop)
      plan.text.rails = cls + ".where(id: ids).delete_all";
    else
      plan.text.rails = cls + ".where(" + key_column + ": keys)";
  }
}

// "customer_id" -> "CustomerId"; "orders" stays plural.
std::string camel(const std::string& s, bool upper_first) {
  std::string out;
  bool up = upper_first;
  for (const char c : s) {
    if (c == '_') {
      up = true;
      continue;
    }
    out.push_back(up && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
    up = false;
  }
  return out;
}

}  // namespace

void merge(FixParts& into, const FixParts& more) {
  if (into.owner.empty()) into.owner = more.owner;
  for (const auto& path : more.select_related) {
    const bool covered = std::any_of(into.select_related.begin(), into.select_related.end(),
                                     [&](const auto& p) { return p == path || starts_with(p, path + "__"); });
    if (covered) continue;
    std::erase_if(into.select_related, [&](const auto& p) { return starts_with(path, p + "__"); });
    into.select_related.push_back(path);
  }
  for (const auto& item : more.prefetch) {
    auto same = std::find_if(into.prefetch.begin(), into.prefetch.end(),
                             [&](const PrefetchItem& p) { return p.relation == item.relation; });
    if (same == into.prefetch.end()) {
      into.prefetch.push_back(item);
      continue;
    }
    if (same->model.empty()) same->model = item.model;
    if (same->filters.empty()) same->filters = item.filters;
    for (const auto& s : item.select_related)
      if (std::find(same->select_related.begin(), same->select_related.end(), s) == same->select_related.end())
        same->select_related.push_back(s);
  }
  for (const auto& a : more.annotate)
    if (std::find(into.annotate.begin(), into.annotate.end(), a) == into.annotate.end()) into.annotate.push_back(a);
}

std::string render(const FixParts& parts) {
  std::string out = parts.owner + ".objects";
  auto list = [](const std::vector<std::string>& items) {
    std::string s;
    for (std::size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + items[i];
    return s;
  };
  if (!parts.select_related.empty()) {
    std::vector<std::string> q;
    for (const auto& p : parts.select_related) q.push_back(quoted(p));
    out += ".select_related(" + list(q) + ")";
  }
  if (!parts.prefetch.empty()) {
    std::vector<std::string> q;
    for (const auto& p : parts.prefetch) q.push_back(render_prefetch(p));
    out += ".prefetch_related(" + list(q) + ")";
  }
  if (!parts.annotate.empty()) out += ".annotate(" + list(parts.annotate) + ")";
  return out;
}

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
                 const std::vector<const FixPlan*>& before_plans, const Schema& schema, Framework framework,
                 const std::string& same_set) {
  const Names names(schema);
  FixPlan plan;
  const std::string cls = names.cls(r.table);
  const std::string owner = names.cls(source && !source->table.empty() ? source->table : r.table);
  std::string key_column = "id";
  if (const auto* k = key_filter(r)) key_column = k->column;
  auto finish = [&]() {
    if (!plan.parts.owner.empty()) plan.text.django = render(plan.parts);
    framework_forms(plan, r, source, key_column, framework, names);
    plan.text.names_from = names.from();
    return plan;
  };

  if (r.kind == StatementKind::insert) {
    plan.kind = Kind::insert_in_loop;
    plan.text.django = cls + ".objects.bulk_create(objs)";
    plan.text.sql = "one INSERT INTO " + r.table + " (...) VALUES (...), (...), ... for all rows (or COPY)";
    return finish();
  }
  if (r.kind == StatementKind::update) {
    plan.kind = Kind::update_in_loop;
    if (!same_set.empty()) {
      // Every row gets the same values: one UPDATE, no objects needed.
      plan.text.django = cls + ".objects.filter(" + key_column + "__in=ids).update(" + same_set + ")";
      plan.text.sql = "UPDATE " + r.table + " SET ... WHERE " + key_column + " = ANY($1)";
      return finish();
    }
    std::string fields;
    for (const auto& c : r.set_columns)
      if (c != "id") fields += (fields.empty() ? "" : ", ") + quoted(c);
    plan.text.django = cls + ".objects.bulk_update(objs, [" + fields + "])";
    plan.text.sql = "one UPDATE " + r.table + " SET ... FROM (VALUES (...), (...)) AS v(" + key_column +
                    ", ...) WHERE " + r.table + "." + key_column + " = v." + key_column;
    return finish();
  }
  if (r.kind == StatementKind::delete_) {
    plan.kind = Kind::delete_in_loop;
    plan.text.django = cls + ".objects.filter(" + key_column + "__in=ids).delete()";
    plan.text.sql = "DELETE FROM " + r.table + " WHERE " + key_column + " = ANY($1)";
    return finish();
  }
  // Reads: the loop body's earlier statements first (nested), then the source.
  for (int i = static_cast<int>(before.size()) - 1; i >= 0; --i) {
    if (!before[i] || !before_plans[i] || !before_plans[i]->related) continue;
    if (const auto m = forward(r, *before[i], names)) {
      const FixPlan& parent = *before_plans[i];
      plan.kind = Kind::nested_fk;
      plan.related = true;
      plan.via = i;
      plan.parts.owner = owner;
      if (to_many(parent.kind) && !parent.parts.prefetch.empty()) {
        // The related rows of a prefetch load a forward FK each: Prefetch(..., queryset=...select_related(...)).
        PrefetchItem item = parent.parts.prefetch.front();
        item.model = names.cls(before[i]->table);
        item.select_related.push_back(m->field);
        plan.parts.prefetch.push_back(item);
        plan.text.relation = item.relation + "__" + m->field;
      } else {
        plan.text.relation = parent.text.relation + "__" + m->field;
        plan.parts.select_related.push_back(plan.text.relation);
      }
      plan.text.sql = "JOIN " + r.table + " ON " + r.table + "." + key_column + " = " + before[i]->table + "." +
                      m->column + " in the query that loads " + before[i]->table + " (LEFT JOIN when " + m->column +
                      " may be NULL)";
      return finish();
    }
  }
  std::optional<Match> fwd, rev;
  std::optional<M2M> m2m;
  if (source) {
    fwd = forward(r, *source, names);
    if (!fwd) rev = reverse(r, *source, names);
    if (!fwd && !rev) m2m = many_to_many(r, *source, names);
  }
  plan.parts.owner = owner;
  if (fwd) {
    plan.kind = Kind::forward_fk;
    plan.related = true;
    plan.text.relation = fwd->field;
    // The key came from a table the source already joins (select_related('author') then author.profile).
    if (!fwd->table.empty() && fwd->table != source->table) {
      if (const auto path = join_path(*source, source->table, fwd->table, names); path && !path->empty()) {
        plan.kind = Kind::nested_fk;
        plan.text.relation = *path + "__" + fwd->field;
      }
    }
    plan.parts.select_related.push_back(plan.text.relation);
    plan.text.sql = "SELECT * FROM " + r.table + " WHERE " + key_column + " = ANY($1) with $1 the " + fwd->column +
                    " values of the " + source->table + " rows, or LEFT JOIN " + r.table + " ON " + r.table + "." +
                    key_column + " = " + source->table + "." + fwd->column + " in the source query";
  } else if (rev && r.count_only) {
    plan.kind = Kind::count_per_row;
    plan.related = true;
    plan.text.relation = names.query_name(r.table, rev->column);
    plan.parts.annotate.push_back("Count(" + quoted(plan.text.relation) + ")");
    plan.text.sql = "SELECT " + rev->column + ", count(*) FROM " + r.table + " WHERE " + rev->column +
                    " = ANY($1) GROUP BY " + rev->column + " with $1 the ids of the " + source->table + " rows";
  } else if (rev && r.exists_only) {
    plan.kind = Kind::exists_per_row;
    plan.related = true;
    plan.text.relation = names.query_name(r.table, rev->column);
    plan.parts.annotate.push_back("has_" + plan.text.relation + "=Exists(" + cls + ".objects.filter(" + rev->field +
                                  "=OuterRef('pk')))");
    plan.text.sql = "SELECT DISTINCT " + rev->column + " FROM " + r.table + " WHERE " + rev->column +
                    " = ANY($1) with $1 the ids of the " + source->table + " rows";
  } else if (rev &&
             (names.one_to_one(r.table, rev->column) || (!names.field(r.table, rev->column) && r.limit &&
                                                         *r.limit > 1 && *r.limit <= 21 && r.filters.size() == 1))) {
    // get() on the reverse side of a one-to-one (Django adds LIMIT 21 to get()).
    plan.kind = Kind::reverse_one_to_one;
    plan.related = true;
    plan.text.relation = names.reverse_accessor(r.table, rev->column, true);
    plan.parts.select_related.push_back(plan.text.relation);
    plan.text.sql = "LEFT JOIN " + r.table + " ON " + r.table + "." + rev->column + " = " + source->table +
                    ".id in the source query";
  } else if (rev) {
    plan.related = true;
    PrefetchItem item{names.reverse_accessor(r.table, rev->column, false), cls, "", {}};
    plan.text.relation = item.relation;
    inner_queryset(r, rev->column, names, item);
    plan.kind = item.filters.empty() && item.select_related.empty() ? Kind::reverse_fk : Kind::filtered_prefetch;
    plan.parts.prefetch.push_back(item);
    plan.text.sql = "SELECT * FROM " + r.table + " WHERE " + rev->column +
                    " = ANY($1) (same conditions) with $1 the ids of the " + source->table + " rows";
  } else if (m2m) {
    plan.kind = Kind::m2m;
    plan.related = true;
    plan.text.relation = m2m->field;
    plan.parts.prefetch.push_back({m2m->field, cls, "", {}});
    plan.text.sql = "SELECT " + m2m->through + "." + m2m->column + ", " + r.table + ".* FROM " + r.table + " JOIN " +
                    m2m->through + " ON ... WHERE " + m2m->through + "." + m2m->column +
                    " = ANY($1) with $1 the ids of the " + source->table + " rows";
  } else if (key_filter(r) && key_column == "id") {
    plan.parts.owner.clear();
    plan.kind = Kind::get_in_loop;
    plan.text.django = cls + ".objects.in_bulk(ids)";
    plan.text.sql = "SELECT * FROM " + r.table + " WHERE id = ANY($1)";
  } else {
    plan.parts.owner.clear();
    plan.kind = Kind::repeated_select;
    plan.text.django = cls + ".objects.filter(" + key_column + "__in=values)";
    plan.text.sql = "one query with " + key_column + " = ANY($1) instead of " + key_column + " = $1 per row";
  }
  return finish();
}

std::string dataloader(const FixPlan& plan, const ShapeFacts& r, const ShapeFacts* source, bool python) {
  // The loader's key: the column the repeated query filters on (the FK for reverse relations, id for forward).
  std::string key = "id";
  if (const auto* k = key_filter(r)) key = k->column;
  for (const auto& f : r.filters)
    if (f.op == "=" && is_value(f.value_kind) && f.table != r.table && !f.table.empty()) key = f.column;  // m2m
  const bool many = !to_one(plan.kind) && plan.kind != Kind::get_in_loop && plan.kind != Kind::count_per_row &&
                    plan.kind != Kind::exists_per_row;
  const bool count = plan.kind == Kind::count_per_row || plan.kind == Kind::exists_per_row;
  const std::string table = r.table;
  const std::string sql =
      count ? "SELECT " + key + ", count(*) AS n FROM " + table + " WHERE " + key + " = ANY($1) GROUP BY " + key
            : "SELECT * FROM " + table + " WHERE " + key + " = ANY($1)";
  const std::string what = count ? "count_" + table : table;
  const std::string name = camel(what, false) + "By" + camel(key, true);
  const std::string parent_key =
      source && to_one(plan.kind) ? (plan.text.relation.empty() ? key : plan.text.relation + "_id") : "id";
  std::string out;
  if (!python) {
    out += "const " + name + " = new DataLoader(async (keys) => {\n";
    out += "  const { rows } = await pool.query('" + sql + "', [keys]);\n";
    if (count) {
      out += "  const byKey = new Map(rows.map((row) => [row." + key + ", Number(row.n)]));\n";
      out += "  return keys.map((k) => byKey.get(k) ?? 0);\n";
    } else if (many) {
      out += "  const byKey = new Map(keys.map((k) => [k, []]));\n";
      out += "  for (const row of rows) byKey.get(row." + key + ")?.push(row);\n";
      out += "  return keys.map((k) => byKey.get(k));\n";
    } else {
      out += "  const byKey = new Map(rows.map((row) => [row." + key + ", row]));\n";
      out += "  return keys.map((k) => byKey.get(k) ?? null);\n";
    }
    out += "});\n";
    out += "// one loader per request (build it in the context function); in the resolver: loaders." + name +
           ".load(parent." + parent_key + ")";
    return out;
  }
  const std::string fn = "load_" + what + "_by_" + key;
  out += "from strawberry.dataloader import DataLoader  # graphene: aiodataloader.DataLoader, batch_load_fn\n\n";
  out += "async def " + fn + "(keys):\n";
  out += "    rows = await conn.fetch(\"" + sql + "\", list(keys))\n";
  if (count) {
    out += "    by_key = {row[\"" + key + "\"]: row[\"n\"] for row in rows}\n";
    out += "    return [by_key.get(k, 0) for k in keys]\n";
  } else if (many) {
    out += "    by_key = {k: [] for k in keys}\n";
    out += "    for row in rows:\n";
    out += "        by_key[row[\"" + key + "\"]].append(row)\n";
    out += "    return [by_key[k] for k in keys]\n";
  } else {
    out += "    by_key = {row[\"" + key + "\"]: row for row in rows}\n";
    out += "    return [by_key.get(k) for k in keys]\n";
  }
  out += "\n# one loader per request, in the context: DataLoader(load_fn=" + fn +
         "); in the resolver: await "
         "info.context.loaders." +
         fn.substr(5) + ".load(parent." + parent_key + ")";
  return out;
}

}  // namespace dbopt::nplusone
