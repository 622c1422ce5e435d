#include "core/sql/query_model.h"

#include <pg_query.h>

#include <algorithm>
#include <unordered_map>
#include <utility>

#include "core/sql/expression_text.h"
#include "core/sql/parse_tree.h"

namespace dbopt::sql {

const char* to_string(StatementKind kind) {
  switch (kind) {
    case StatementKind::select:
      return "select";
    case StatementKind::values:
      return "values";
    case StatementKind::insert:
      return "insert";
    case StatementKind::update:
      return "update";
    case StatementKind::delete_:
      return "delete";
    case StatementKind::merge:
      return "merge";
    case StatementKind::explain:
      return "explain";
    case StatementKind::show:
      return "show";
    case StatementKind::set:
      return "set";
    case StatementKind::create_table:
      return "create_table";
    case StatementKind::create_table_as:
      return "create_table_as";
    case StatementKind::create_materialized_view:
      return "create_materialized_view";
    case StatementKind::create_view:
      return "create_view";
    case StatementKind::create_index:
      return "create_index";
    case StatementKind::alter_table:
      return "alter_table";
    case StatementKind::drop:
      return "drop";
    case StatementKind::truncate:
      return "truncate";
    case StatementKind::copy:
      return "copy";
    case StatementKind::vacuum:
      return "vacuum";
    case StatementKind::analyze:
      return "analyze";
    case StatementKind::refresh_materialized_view:
      return "refresh_materialized_view";
    case StatementKind::reindex:
      return "reindex";
    case StatementKind::cluster:
      return "cluster";
    case StatementKind::lock:
      return "lock";
    case StatementKind::transaction:
      return "transaction";
    case StatementKind::do_block:
      return "do";
    case StatementKind::call:
      return "call";
    case StatementKind::listen:
      return "listen";
    case StatementKind::notify:
      return "notify";
    case StatementKind::prepare:
      return "prepare";
    case StatementKind::execute:
      return "execute";
    case StatementKind::deallocate:
      return "deallocate";
    case StatementKind::declare_cursor:
      return "declare_cursor";
    case StatementKind::create_function:
      return "create_function";
    case StatementKind::create_extension:
      return "create_extension";
    case StatementKind::grant:
      return "grant";
    case StatementKind::other:
      return "other";
  }
  return "other";
}

bool changes_rows(StatementKind kind) {
  return kind == StatementKind::insert || kind == StatementKind::update || kind == StatementKind::delete_ ||
         kind == StatementKind::merge;
}

const char* to_string(Clause clause) {
  switch (clause) {
    case Clause::select_list:
      return "select_list";
    case Clause::from:
      return "from";
    case Clause::join_on:
      return "join_on";
    case Clause::where:
      return "where";
    case Clause::group_by:
      return "group_by";
    case Clause::having:
      return "having";
    case Clause::window:
      return "window";
    case Clause::order_by:
      return "order_by";
    case Clause::distinct_on:
      return "distinct_on";
    case Clause::limit:
      return "limit";
    case Clause::offset:
      return "offset";
    case Clause::values:
      return "values";
    case Clause::set:
      return "set";
    case Clause::insert_columns:
      return "insert_columns";
    case Clause::returning:
      return "returning";
    case Clause::on_conflict:
      return "on_conflict";
    case Clause::merge_action:
      return "merge_action";
    case Clause::definition:
      return "definition";
  }
  return "definition";
}

const char* to_string(ScopeKind kind) {
  switch (kind) {
    case ScopeKind::statement:
      return "statement";
    case ScopeKind::cte:
      return "cte";
    case ScopeKind::from_subquery:
      return "from_subquery";
    case ScopeKind::expression_subquery:
      return "expression_subquery";
    case ScopeKind::set_operand:
      return "set_operand";
    case ScopeKind::source_query:
      return "source_query";
  }
  return "statement";
}

const char* to_string(TableRole role) {
  switch (role) {
    case TableRole::read:
      return "read";
    case TableRole::written:
      return "written";
    case TableRole::defined:
      return "defined";
    case TableRole::referenced:
      return "referenced";
  }
  return "read";
}

const char* to_string(JoinType type) {
  switch (type) {
    case JoinType::none:
      return "none";
    case JoinType::inner:
      return "inner";
    case JoinType::left:
      return "left";
    case JoinType::right:
      return "right";
    case JoinType::full:
      return "full";
    case JoinType::cross:
      return "cross";
  }
  return "none";
}

bool Predicate::is_join_condition() const {
  if (value.kind != Operand::Kind::column || !value.column || !column_expression.empty()) return false;
  const Column& other = *value.column;
  if (column.resolved() && other.resolved()) {
    if (column.table != other.table || column.schema != other.schema) return true;
    // The same table twice under two aliases: a self-join.
    return !column.qualifier.empty() && !other.qualifier.empty() && column.qualifier != other.qualifier;
  }
  return !column.qualifier.empty() && !other.qualifier.empty() && column.qualifier != other.qualifier;
}

bool QueryModel::has_data_modifying_cte() const {
  return std::any_of(ctes.begin(), ctes.end(), [](const Cte& cte) { return cte.data_modifying; });
}

std::vector<const TableRef*> QueryModel::tables_in(int scope) const {
  std::vector<const TableRef*> found;
  for (const auto& table : tables) {
    if (table.scope == scope) found.push_back(&table);
  }
  return found;
}

std::vector<const Predicate*> QueryModel::predicates_in(int scope) const {
  std::vector<const Predicate*> found;
  for (const auto& predicate : predicates) {
    if (predicate.scope == scope) found.push_back(&predicate);
  }
  return found;
}

namespace {

using detail::as_node;
using detail::Node;
using detail::string_value;
using nlohmann::json;

const json* field(const json& body, const char* name) {
  const auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

// The object under `name`, or an empty object: a reference into the tree, so
// node addresses stay stable (sublink_scopes_ keys on them) and nothing is copied.
const json& member(const json& body, const char* name) {
  static const json kEmpty = json::object();
  const auto it = body.find(name);
  return it == body.end() || !it->is_object() ? kEmpty : *it;
}

const json& array_field(const json& body, const char* name) {
  static const json kEmpty = json::array();
  const json* value = field(body, name);
  return value != nullptr && value->is_array() ? *value : kEmpty;
}

// "=" and friends: the operators whose two sides can swap with a known
// commutator, so the column side can always be written first.
std::optional<std::string> commutator(const std::string& op) {
  static const std::pair<std::string_view, std::string_view> kCommutators[] = {
      {"=", "="},
      {"<>", "<>"},
      {"<", ">"},
      {">", "<"},
      {"<=", ">="},
      {">=", "<="},
      {"&&", "&&"},
      {"@>", "<@"},
      {"<@", "@>"},
      {"@@", "@@"},
      {"IS DISTINCT FROM", "IS DISTINCT FROM"},
      {"IS NOT DISTINCT FROM", "IS NOT DISTINCT FROM"},
  };
  for (const auto& [from, to] : kCommutators) {
    if (op == from) return std::string(to);
  }
  return std::nullopt;
}

bool is_comparison(const std::string& op) {
  return op == "=" || op == "<>" || op == "<" || op == ">" || op == "<=" || op == ">=";
}

JoinType join_type_of(const json& join) {
  const std::string type = join.value("jointype", "JOIN_INNER");
  if (type == "JOIN_LEFT") return JoinType::left;
  if (type == "JOIN_RIGHT") return JoinType::right;
  if (type == "JOIN_FULL") return JoinType::full;
  const bool unconditioned =
      !join.contains("quals") && !join.contains("usingClause") && !join.value("isNatural", false);
  return unconditioned ? JoinType::cross : JoinType::inner;
}

SortDirection direction_of(const std::string& value) {
  if (value == "SORTBY_ASC") return SortDirection::asc;
  if (value == "SORTBY_DESC") return SortDirection::desc;
  return SortDirection::default_order;
}

NullsOrder nulls_of(const std::string& value) {
  if (value == "SORTBY_NULLS_FIRST") return NullsOrder::first;
  if (value == "SORTBY_NULLS_LAST") return NullsOrder::last;
  return NullsOrder::default_order;
}

// Builds one QueryModel from one statement of the JSON tree. Walks every
// query level with a stack of frames that hold the relations each level can
// name, so column references resolve the way PostgreSQL scopes them.
class ModelBuilder {
 public:
  ModelBuilder(std::string_view source, QueryModel& model) : text_(source), model_(model) {}

  void build(const json& statement) {
    const Node node = as_node(statement);
    model_.node_type = std::string(node.type);
    model_.kind = detail::statement_kind(statement);
    Scope scope;
    scope.kind = ScopeKind::statement;
    scope.statement_kind = model_.kind;
    model_.scopes.push_back(scope);
    frames_.emplace_back();
    statement_in_current_scope(statement);
    model_.parameter_count = detail::highest_parameter(statement);
  }

 private:
  struct Relation {
    std::string visible;  // alias, or the name when there is no alias
    std::string schema;
    std::string name;
    bool derived = false;
  };
  struct OutputName {
    std::string name;
    bool is_same_column = false;  // SELECT status AS status
  };
  struct Frame {
    int scope = 0;
    std::vector<Relation> relations;
    std::vector<std::string> ctes;
    std::vector<OutputName> outputs;
    // Unqualified names do not look further out (set operations, INSERT's source).
    bool opaque = false;
  };

  int current_scope() const { return frames_.back().scope; }

  // Opens a child scope of the current one for the duration of `walk`.
  template <typename Walk>
  int in_child_scope(ScopeKind kind, StatementKind statement_kind, std::string name, Clause clause, bool opaque,
                     Walk&& walk) {
    const int id = open_scope(kind, statement_kind, std::move(name), clause, opaque);
    walk();
    frames_.pop_back();
    return id;
  }

  [[gnu::noinline]] int open_scope(ScopeKind kind, StatementKind statement_kind, std::string name, Clause clause,
                                   bool opaque) {
    Scope scope;
    scope.id = static_cast<int>(model_.scopes.size());
    scope.parent = current_scope();
    scope.kind = kind;
    scope.statement_kind = statement_kind;
    scope.name = std::move(name);
    scope.clause = clause;
    model_.scopes.push_back(std::move(scope));
    const int id = model_.scopes.back().id;
    frames_.emplace_back();
    frames_.back().scope = id;
    frames_.back().opaque = opaque;
    return id;
  }

  Scope& scope_record() { return model_.scopes[static_cast<std::size_t>(current_scope())]; }

  // --- statements ---------------------------------------------------------

  void statement_in_current_scope(const json& statement) {
    const Node node = as_node(statement);
    if (!node) return;
    const json& body = *node.body;
    const std::string_view type = node.type;
    if (type == "SelectStmt") return select(body);
    if (type == "InsertStmt") return insert(body);
    if (type == "UpdateStmt") return update(body);
    if (type == "DeleteStmt") return delete_rows(body);
    if (type == "MergeStmt") return merge(body);
    if (type == "ExplainStmt") return explain(body);
    if (type == "CreateTableAsStmt") return create_table_as(body);
    if (type == "ViewStmt") return create_view(body);
    if (type == "IndexStmt") return create_index(body);
    if (type == "DropStmt") return drop(body);
    if (type == "CopyStmt") return copy(body);
    return other_statement(body);
  }

  // No Scope& is held across a walk: child scopes grow model_.scopes and move it.
  void select(const json& body) {
    if (const json* with = field(body, "withClause")) ctes(*with);
    if (set_operation(body)) {
      for (const char* side : {"larg", "rarg"}) {
        if (const json* operand = field(body, side)) {
          in_child_scope(ScopeKind::set_operand, StatementKind::select, {}, Clause::from, false,
                         [this, operand] { select(*operand); });
        }
      }
    } else {
      select_level(body);
    }
    select_tail(body);
  }

  // Records UNION / INTERSECT / EXCEPT on the current scope; false for a plain SELECT.
  [[gnu::noinline]] bool set_operation(const json& body) {
    const std::string operation = body.value("op", "SETOP_NONE");
    if (operation == "SETOP_NONE") return false;
    std::string name = operation.substr(6);  // "SETOP_UNION" -> "UNION"
    if (body.value("all", false)) name += " ALL";
    scope_record().set_operation = std::move(name);
    frames_.back().opaque = true;
    return true;
  }

  void select_level(const json& body) {
    if (body.contains("valuesLists") && !body.contains("targetList")) {
      scope_record().statement_kind = StatementKind::values;
    }
    for (const auto& item : array_field(body, "fromClause")) from_item(item, JoinType::none);
    const json& targets = array_field(body, "targetList");
    for (const auto& target : targets) remember_output_name(target);
    for (const auto& target : targets) {
      if (const json* value = field(member(target, "ResTarget"), "val")) expression(*value, Clause::select_list);
    }
    if (const json* distinct = field(body, "distinctClause")) {
      scope_record().distinct = true;
      for (const auto& item : *distinct) expression(item, Clause::distinct_on);
    }
    if (const json* where = field(body, "whereClause")) condition(*where, Clause::where, JoinType::inner);
    for (const auto& item : array_field(body, "groupClause")) group_item(item);
    if (const json* having = field(body, "havingClause")) condition(*having, Clause::having, JoinType::inner);
    for (const auto& window : array_field(body, "windowClause")) expression(window, Clause::window);
    for (const auto& row : array_field(body, "valuesLists")) expression(row, Clause::values);
  }

  [[gnu::noinline]] void select_tail(const json& body) {
    for (const auto& item : array_field(body, "sortClause")) sort_item(item);
    limits(body);
    for (const auto& lock : array_field(body, "lockingClause")) locking(lock);
    if (const json* into = field(body, "intoClause")) {
      if (const json* target = field(*into, "rel")) {
        model_.select_into = table(*target, TableRole::written, JoinType::none);
      }
    }
  }

  [[gnu::noinline]] void ctes(const json& with) {
    const bool recursive = with.value("recursive", false);
    for (const auto& item : array_field(with, "ctes")) {
      const json& cte = member(item, "CommonTableExpr");
      const std::string name = cte.value("ctename", "");
      const json* query = field(cte, "ctequery");
      if (query == nullptr) continue;
      // A recursive CTE's body names itself; a plain one sees only earlier CTEs.
      if (recursive) frames_.back().ctes.push_back(name);
      const StatementKind kind = detail::statement_kind(*query);
      const int id = in_child_scope(ScopeKind::cte, kind, name, Clause::from, false,
                                    [this, query] { statement_in_current_scope(*query); });
      if (!recursive) frames_.back().ctes.push_back(name);
      record_cte(cte, id, kind, recursive);
    }
  }

  [[gnu::noinline]] void record_cte(const json& cte, int id, StatementKind kind, bool recursive) {
    Scope& scope = model_.scopes[static_cast<std::size_t>(id)];
    scope.recursive = recursive;
    scope.data_modifying = changes_rows(kind);
    Cte record;
    record.name = scope.name;
    record.scope = id;
    record.kind = kind;
    record.data_modifying = scope.data_modifying;
    record.recursive = recursive;
    const std::string materialized = cte.value("ctematerialized", "");
    if (materialized == "CTEMaterializeAlways") record.materialized = "MATERIALIZED";
    if (materialized == "CTEMaterializeNever") record.materialized = "NOT MATERIALIZED";
    model_.ctes.push_back(std::move(record));
  }

  [[gnu::noinline]] void insert(const json& body) {
    if (const json* with = field(body, "withClause")) ctes(*with);
    // The source cannot see the target table, so it is walked first.
    if (const json* source = field(body, "selectStmt")) {
      in_child_scope(ScopeKind::source_query, detail::statement_kind(*source), "", Clause::values, true,
                     [&] { statement_in_current_scope(*source); });
    }
    const json* target = field(body, "relation");
    if (target == nullptr) return;
    const TableRef written = table(*target, TableRole::written, JoinType::none);
    // ON CONFLICT DO UPDATE names the proposed row EXCLUDED.
    frames_.back().relations.push_back(Relation{"excluded", written.schema, written.name, false});
    for (const auto& column : array_field(body, "cols")) {
      named_column(member(column, "ResTarget").value("name", ""), Clause::insert_columns);
    }
    if (const json* conflict = field(body, "onConflictClause")) {
      if (const json* infer = field(*conflict, "infer")) {
        for (const auto& element : array_field(*infer, "indexElems")) {
          const json& index_element = member(element, "IndexElem");
          if (index_element.contains("name")) named_column(index_element.value("name", ""), Clause::on_conflict);
          if (const json* key = field(index_element, "expr")) expression(*key, Clause::on_conflict);
        }
        if (const json* where = field(*infer, "whereClause")) expression(*where, Clause::on_conflict);
      }
      set_list(array_field(*conflict, "targetList"));
      if (const json* where = field(*conflict, "whereClause")) expression(*where, Clause::on_conflict);
    }
    for (const auto& item : array_field(body, "returningList")) expression(item, Clause::returning);
  }

  [[gnu::noinline]] void update(const json& body) {
    if (const json* with = field(body, "withClause")) ctes(*with);
    if (const json* target = field(body, "relation")) table(*target, TableRole::written, JoinType::none);
    for (const auto& item : array_field(body, "fromClause")) from_item(item, JoinType::none);
    set_list(array_field(body, "targetList"));
    if (const json* where = field(body, "whereClause")) condition(*where, Clause::where, JoinType::inner);
    for (const auto& item : array_field(body, "returningList")) expression(item, Clause::returning);
  }

  [[gnu::noinline]] void delete_rows(const json& body) {
    if (const json* with = field(body, "withClause")) ctes(*with);
    if (const json* target = field(body, "relation")) table(*target, TableRole::written, JoinType::none);
    for (const auto& item : array_field(body, "usingClause")) from_item(item, JoinType::none);
    if (const json* where = field(body, "whereClause")) condition(*where, Clause::where, JoinType::inner);
    for (const auto& item : array_field(body, "returningList")) expression(item, Clause::returning);
  }

  [[gnu::noinline]] void merge(const json& body) {
    if (const json* with = field(body, "withClause")) ctes(*with);
    if (const json* target = field(body, "relation")) table(*target, TableRole::written, JoinType::none);
    if (const json* source = field(body, "sourceRelation")) from_item(*source, JoinType::none);
    if (const json* on = field(body, "joinCondition")) condition(*on, Clause::join_on, JoinType::inner);
    for (const auto& item : array_field(body, "mergeWhenClauses")) {
      const json& when = member(item, "MergeWhenClause");
      if (const json* extra = field(when, "condition")) expression(*extra, Clause::merge_action);
      const bool inserts = when.value("commandType", "") == "CMD_INSERT";
      for (const auto& target : array_field(when, "targetList")) {
        const json& assignment = member(target, "ResTarget");
        named_column(assignment.value("name", ""), inserts ? Clause::insert_columns : Clause::set);
        if (const json* value = field(assignment, "val")) expression(*value, Clause::merge_action);
      }
      for (const auto& value : array_field(when, "values")) expression(value, Clause::merge_action);
    }
  }

  [[gnu::noinline]] void explain(const json& body) {
    ExplainInfo info;
    for (const auto& option : array_field(body, "options")) {
      const json& definition = member(option, "DefElem");
      ExplainOption parsed;
      parsed.name = definition.value("defname", "");
      parsed.value = detail::option_value(definition);
      info.options.push_back(std::move(parsed));
    }
    info.analyze = detail::explain_analyzes(body);
    const json* query = field(body, "query");
    if (query != nullptr) info.target_kind = detail::statement_kind(*query);
    model_.explain = std::move(info);
    model_.scopes[0].statement_kind = model_.explain->target_kind;
    if (query != nullptr) statement_in_current_scope(*query);
  }

  [[gnu::noinline]] void create_table_as(const json& body) {
    if (const json* into = field(body, "into")) {
      if (const json* target = field(*into, "rel")) table(*target, TableRole::defined, JoinType::none);
    }
    if (const json* query = field(body, "query")) {
      in_child_scope(ScopeKind::source_query, detail::statement_kind(*query), "", Clause::from, true,
                     [&] { statement_in_current_scope(*query); });
    }
  }

  [[gnu::noinline]] void create_view(const json& body) {
    if (const json* view = field(body, "view")) table(*view, TableRole::defined, JoinType::none);
    if (const json* query = field(body, "query")) {
      in_child_scope(ScopeKind::source_query, detail::statement_kind(*query), "", Clause::from, true,
                     [&] { statement_in_current_scope(*query); });
    }
  }

  [[gnu::noinline]] void create_index(const json& body) {
    IndexDefinition index;
    index.name = body.value("idxname", "");
    index.method = body.value("accessMethod", "btree");
    index.unique = body.value("unique", false);
    index.concurrently = body.value("concurrent", false);
    if (const json* target = field(body, "relation")) {
      const TableRef indexed = table(*target, TableRole::defined, JoinType::none);
      index.schema = indexed.schema;
      index.table = indexed.name;
    }
    for (const auto& element : array_field(body, "indexParams")) {
      const json& definition = member(element, "IndexElem");
      IndexKey key;
      if (definition.contains("name")) {
        key.column = definition.value("name", "");
        named_column(key.column, Clause::definition);
      } else if (const json* value = field(definition, "expr")) {
        key.expression = text_.of(*value, false);
        expression(*value, Clause::definition);
      }
      key.direction = direction_of(definition.value("ordering", ""));
      key.nulls = nulls_of(definition.value("nulls_ordering", ""));
      const json& opclass = array_field(definition, "opclass");
      if (!opclass.empty()) key.opclass = string_value(opclass.back());
      index.keys.push_back(std::move(key));
    }
    for (const auto& element : array_field(body, "indexIncludingParams")) {
      const std::string name = member(element, "IndexElem").value("name", "");
      index.include.push_back(name);
      named_column(name, Clause::definition);
    }
    if (const json* where = field(body, "whereClause")) {
      index.where = text_.of(*where, false);
      expression(*where, Clause::definition);
    }
    model_.index = std::move(index);
  }

  [[gnu::noinline]] void drop(const json& body) {
    const std::string type = body.value("removeType", "");
    const bool relation =
        type == "OBJECT_TABLE" || type == "OBJECT_VIEW" || type == "OBJECT_MATVIEW" || type == "OBJECT_FOREIGN_TABLE";
    if (!relation) return;
    for (const auto& object : array_field(body, "objects")) {
      const json& names = as_node(object).type == "List" ? array_field(object.at("List"), "items") : json::array();
      if (names.empty()) continue;
      TableRef dropped;
      dropped.name = string_value(names.back());
      if (names.size() > 1) dropped.schema = string_value(names[names.size() - 2]);
      dropped.role = TableRole::defined;
      dropped.scope = current_scope();
      model_.tables.push_back(std::move(dropped));
    }
  }

  [[gnu::noinline]] void copy(const json& body) {
    const bool loads = body.value("is_from", false);
    if (const json* target = field(body, "relation")) {
      table(*target, loads ? TableRole::written : TableRole::read, JoinType::none);
    }
    if (const json* query = field(body, "query")) {
      in_child_scope(ScopeKind::source_query, detail::statement_kind(*query), "", Clause::from, true,
                     [&] { statement_in_current_scope(*query); });
    }
  }

  // DDL and utility statements: the relation they act on, and the others they name.
  [[gnu::noinline]] void other_statement(const json& body) {
    const TableRole direct_role = model_.kind == StatementKind::truncate ? TableRole::written : TableRole::defined;
    for (auto it = body.begin(); it != body.end(); ++it) {
      const bool direct = it.key() == "relation" || it.key() == "relations";
      collect_relations(*it, direct ? direct_role : TableRole::referenced);
    }
  }

  void collect_relations(const json& value, TableRole role) {
    if (value.is_array()) {
      for (const auto& item : value) collect_relations(item, role);
      return;
    }
    if (!value.is_object()) return;
    if (value.contains("relname")) {
      table(value, role, JoinType::none);
      return;
    }
    const Node node = as_node(value);
    if (node.type == "RangeVar") {
      table(*node.body, role, JoinType::none);
      return;
    }
    for (const auto& child : value) {
      if (child.is_structured()) collect_relations(child, TableRole::referenced);
    }
  }

  // --- FROM ---------------------------------------------------------------

  // `value` is a RangeVar body ({"relname": ...}) or a {"RangeVar": {...}} node.
  TableRef table(const json& value, TableRole role, JoinType join) {
    const Node node = as_node(value);
    const json& body = node.type == "RangeVar" ? *node.body : value;
    TableRef ref;
    ref.schema = body.value("schemaname", "");
    ref.name = body.value("relname", "");
    if (const json* alias = field(body, "alias")) ref.alias = alias->value("aliasname", "");
    ref.role = role;
    ref.join = join;
    ref.scope = current_scope();
    ref.is_cte = ref.schema.empty() && is_visible_cte(ref.name);
    model_.tables.push_back(ref);
    if (role == TableRole::read || role == TableRole::written || role == TableRole::defined) {
      frames_.back().relations.push_back(
          Relation{ref.alias.empty() ? ref.name : ref.alias, ref.schema, ref.name, ref.is_cte});
    }
    return ref;
  }

  bool is_visible_cte(const std::string& name) const {
    for (auto frame = frames_.rbegin(); frame != frames_.rend(); ++frame) {
      if (std::find(frame->ctes.begin(), frame->ctes.end(), name) != frame->ctes.end()) return true;
    }
    return false;
  }

  // Recursive functions (from_item, expression, predicates, columns_of) run
  // once per tree level, so their frames stay small: the work with strings
  // and records happens in out-of-line helpers. kMaxExpressionDepth relies on it.
  void from_item(const json& item, JoinType join) {
    const Node node = as_node(item);
    if (!node) return;
    if (node.type != "JoinExpr") return from_leaf(item, node, join);
    const json& body = *node.body;
    const JoinType type = join_type_of(body);
    const std::size_t left_first = frames_.back().relations.size();
    if (const json* left = field(body, "larg")) from_item(*left, join);
    const std::size_t right_first = frames_.back().relations.size();
    if (const json* right = field(body, "rarg")) from_item(*right, type);
    join_conditions(body, left_first, right_first, type);
  }

  [[gnu::noinline]] void join_conditions(const json& body, std::size_t left_first, std::size_t right_first,
                                         JoinType type) {
    using_columns(body, left_first, right_first, type);
    if (const json* quals = field(body, "quals")) condition(*quals, Clause::join_on, type);
    if (const json* alias = field(body, "alias")) {
      const std::string name = alias->value("aliasname", "");
      frames_.back().relations.push_back(Relation{name, "", name, true});
    }
  }

  [[gnu::noinline]] void from_leaf(const json& item, const Node& node, JoinType join) {
    const json& body = *node.body;
    if (node.type == "RangeVar") {
      table(body, TableRole::read, join);
    } else if (node.type == "RangeSubselect") {
      const std::string alias = field(body, "alias") ? body.at("alias").value("aliasname", "") : "";
      if (const json* query = field(body, "subquery")) {
        const int id = in_child_scope(ScopeKind::from_subquery, detail::statement_kind(*query), alias, Clause::from,
                                      false, [&] { statement_in_current_scope(*query); });
        model_.scopes[static_cast<std::size_t>(id)].lateral = body.value("lateral", false);
      }
      frames_.back().relations.push_back(Relation{alias, "", alias, true});
    } else if (node.type == "RangeFunction") {
      std::string name = field(body, "alias") ? body.at("alias").value("aliasname", "") : "";
      for (const auto& entry : array_field(body, "functions")) {
        const json& parts = array_field(member(entry, "List"), "items");
        if (parts.empty()) continue;
        expression(parts[0], Clause::from);
        const Node call = as_node(parts[0]);
        if (name.empty() && call.type == "FuncCall") {
          const json& function_name = array_field(*call.body, "funcname");
          if (!function_name.empty()) name = string_value(function_name.back());
        }
      }
      frames_.back().relations.push_back(Relation{name, "", name, true});
    } else if (node.type == "RangeTableSample") {
      if (const json* relation = field(body, "relation")) from_item(*relation, join);
      for (const auto& argument : array_field(body, "args")) expression(argument, Clause::from);
    } else {
      // XMLTABLE and other table functions: walk for calls and columns.
      expression(item, Clause::from);
      if (const json* alias = field(body, "alias")) {
        const std::string name = alias->value("aliasname", "");
        frames_.back().relations.push_back(Relation{name, "", name, true});
      }
    }
  }

  // JOIN ... USING (a, b): a join condition per column between the two sides,
  // tied to a side when that side is a single relation.
  void using_columns(const json& join, std::size_t left_first, std::size_t right_first, JoinType type) {
    const json& names = array_field(join, "usingClause");
    if (names.empty()) return;
    const auto& relations = frames_.back().relations;
    const auto side_column = [&](std::size_t first, std::size_t last, const std::string& name) {
      Column column;
      column.name = name;
      if (last - first == 1) bind(column, relations[first]);
      return column;
    };
    for (const auto& name_node : names) {
      const std::string name = string_value(name_node);
      JoinCondition condition;
      condition.left = side_column(left_first, right_first, name);
      condition.op = "=";
      condition.right = side_column(right_first, relations.size(), name);
      condition.join = type;
      condition.clause = Clause::join_on;
      condition.scope = current_scope();
      model_.columns.push_back(ColumnUse{condition.left, Clause::join_on, current_scope()});
      model_.columns.push_back(ColumnUse{condition.right, Clause::join_on, current_scope()});

      Predicate predicate;
      predicate.column = condition.left;
      predicate.op = "=";
      predicate.value.kind = Operand::Kind::column;
      predicate.value.column = condition.right;
      predicate.value.text = name;
      predicate.clause = Clause::join_on;
      predicate.scope = current_scope();
      model_.predicates.push_back(std::move(predicate));
      model_.join_conditions.push_back(std::move(condition));
    }
  }

  // --- columns ------------------------------------------------------------

  static void bind(Column& column, const Relation& relation) {
    column.table = relation.name;
    column.schema = relation.schema;
    column.derived = relation.derived;
  }

  Column resolve(const json& fields) const {
    Column column;
    std::vector<std::string> parts;
    for (const auto& part : fields) parts.push_back(as_node(part).type == "A_Star" ? "*" : string_value(part));
    if (parts.empty()) return column;
    column.name = parts.back();
    parts.pop_back();
    if (parts.size() > 2) parts.erase(parts.begin(), parts.end() - 2);  // drop a database name
    for (std::size_t i = 0; i < parts.size(); ++i) column.qualifier += (i ? "." : "") + parts[i];

    if (parts.empty()) {
      for (auto frame = frames_.rbegin(); frame != frames_.rend(); ++frame) {
        if (frame->relations.size() == 1) {
          bind(column, frame->relations.front());
          return column;
        }
        // Only a level that reads nothing (SELECT (SELECT x)) lets a bare name through.
        if (!frame->relations.empty() || frame->opaque) return column;
      }
      return column;
    }
    const std::string& qualifier = parts.back();
    const std::string schema = parts.size() == 2 ? parts.front() : "";
    for (auto frame = frames_.rbegin(); frame != frames_.rend(); ++frame) {
      for (auto relation = frame->relations.rbegin(); relation != frame->relations.rend(); ++relation) {
        const bool aliased = relation->visible != relation->name;
        if (relation->visible != qualifier) continue;
        if (!schema.empty() && (aliased || relation->schema != schema)) continue;
        bind(column, *relation);
        return column;
      }
    }
    return column;
  }

  void named_column(const std::string& name, Clause clause) {
    if (name.empty()) return;
    Column column;
    column.name = name;
    if (!frames_.back().relations.empty()) bind(column, frames_.back().relations.front());
    model_.columns.push_back(ColumnUse{column, clause, current_scope()});
  }

  void set_list(const json& targets) {
    for (const auto& target : targets) {
      const json& assignment = member(target, "ResTarget");
      named_column(assignment.value("name", ""), Clause::set);
      if (const json* value = field(assignment, "val")) expression(*value, Clause::set);
    }
  }

  [[gnu::noinline]] void remember_output_name(const json& target) {
    const json& result = member(target, "ResTarget");
    if (!result.contains("name")) return;
    OutputName output;
    output.name = result.value("name", "");
    if (const json* value = field(result, "val")) {
      const Node node = as_node(*value);
      if (node.type == "ColumnRef") {
        const json& fields = array_field(*node.body, "fields");
        output.is_same_column = !fields.empty() && string_value(fields.back()) == output.name;
      }
    }
    frames_.back().outputs.push_back(std::move(output));
  }

  // --- expressions --------------------------------------------------------

  // Records the columns, function calls and subqueries of an expression.
  void expression(const json& value, Clause clause) {
    if (value.is_array()) {
      for (const auto& item : value) expression(item, clause);
      return;
    }
    if (!value.is_object()) return;
    const Node node = as_node(value);
    if (!node) {
      for (const auto& child : value) {
        if (child.is_structured()) expression(child, clause);
      }
      return;
    }
    const json& body = *node.body;
    if (node.type == "ColumnRef") return column_use(body, clause);
    if (node.type == "SubLink") return subquery_expression(value, body, clause);
    if (node.type == "FuncCall") {
      function_call(body, clause);
    } else if (node.type == "A_Const" || node.type == "ParamRef") {
      return;
    }
    // Iterators, not items(): this recurses once per tree level and items()
    // frames are large.
    for (auto it = body.begin(); it != body.end(); ++it) {
      if (!it->is_structured() || it.key() == "typeName") continue;
      expression(*it, it.key() == "over" ? Clause::window : clause);
    }
  }

  [[gnu::noinline]] void column_use(const json& body, Clause clause) {
    model_.columns.push_back(ColumnUse{resolve(array_field(body, "fields")), clause, current_scope()});
  }

  [[gnu::noinline]] void subquery_expression(const json& value, const json& body, Clause clause) {
    if (const json* test = field(body, "testexpr")) expression(*test, clause);
    if (const json* query = field(body, "subselect")) {
      sublink_scopes_[&value] = in_child_scope(ScopeKind::expression_subquery, detail::statement_kind(*query), "",
                                               clause, false, [&] { statement_in_current_scope(*query); });
    }
  }

  [[gnu::noinline]] void function_call(const json& body, Clause clause) {
    FunctionCall call;
    const json& names = array_field(body, "funcname");
    if (!names.empty()) call.name = string_value(names.back());
    if (names.size() > 1) call.schema = string_value(names[names.size() - 2]);
    call.argument_count = static_cast<int>(array_field(body, "args").size());
    call.star = body.value("agg_star", false);
    call.distinct = body.value("agg_distinct", false);
    call.window = body.contains("over");
    call.clause = clause;
    call.scope = current_scope();
    model_.functions.push_back(std::move(call));
  }

  [[gnu::noinline]] void add_column(const json& column_ref, std::vector<Column>& found) const {
    Column column = resolve(array_field(column_ref, "fields"));
    if (column.name != "*") found.push_back(std::move(column));
  }

  // Columns named anywhere in an expression, outside its subqueries.
  void columns_of(const json& value, std::vector<Column>& found) const {
    if (value.is_array()) {
      for (const auto& item : value) columns_of(item, found);
      return;
    }
    if (!value.is_object()) return;
    const Node node = as_node(value);
    if (node.type == "ColumnRef") return add_column(*node.body, found);
    if (node.type == "SubLink") {
      if (const json* test = field(*node.body, "testexpr")) columns_of(*test, found);
      return;
    }
    for (const auto& child : node ? *node.body : value) {
      if (child.is_structured()) columns_of(child, found);
    }
  }

  // --- predicates ---------------------------------------------------------

  // A WHERE / ON / HAVING condition: its columns and calls, then its predicates.
  void condition(const json& value, Clause clause, JoinType join) {
    expression(value, clause);
    predicates(value, clause, join, false, false);
  }

  void predicates(const json& value, Clause clause, JoinType join, bool under_or, bool negated) {
    const Node node = as_node(value);
    if (!node) return;
    if (node.type != "BoolExpr") return leaf_predicate(value, node, clause, join, under_or, negated);
    const json& body = *node.body;
    const auto op = body.find("boolop");
    const bool is_not = op != body.end() && *op == "NOT_EXPR";
    const bool is_or = op != body.end() && *op == "OR_EXPR";
    const json& arguments = array_field(body, "args");
    if (is_not && !arguments.empty() && is_any_sublink(arguments[0])) {
      return sublink_predicate(arguments[0], *as_node(arguments[0]).body, "NOT IN", clause, join, under_or, negated);
    }
    for (const auto& argument : arguments) {
      predicates(argument, clause, join, under_or || is_or, is_not ? !negated : negated);
    }
  }

  // x IN (SELECT ...), as opposed to x = ANY (SELECT ...)
  static bool is_any_sublink(const json& value) {
    const Node node = as_node(value);
    return node.type == "SubLink" && node.body->value("subLinkType", "") == "ANY_SUBLINK" &&
           !node.body->contains("operName");
  }

  [[gnu::noinline]] void leaf_predicate(const json& value, const Node& node, Clause clause, JoinType join,
                                        bool under_or, bool negated) {
    const json& body = *node.body;
    Predicate predicate;
    predicate.clause = clause;
    predicate.scope = current_scope();
    predicate.under_or = under_or;
    predicate.negated = negated;
    if (node.type == "A_Expr") return comparison(body, std::move(predicate), join);
    if (node.type == "NullTest") {
      predicate.op = body.value("nulltesttype", "") == "IS_NOT_NULL" ? "IS NOT NULL" : "IS NULL";
      return add_predicate(body.at("arg"), std::move(predicate), join);
    }
    if (node.type == "BooleanTest") {
      static const std::pair<std::string_view, std::string_view> kTests[] = {
          {"IS_TRUE", "IS TRUE"},           {"IS_NOT_TRUE", "IS NOT TRUE"}, {"IS_FALSE", "IS FALSE"},
          {"IS_NOT_FALSE", "IS NOT FALSE"}, {"IS_UNKNOWN", "IS UNKNOWN"},   {"IS_NOT_UNKNOWN", "IS NOT UNKNOWN"}};
      const std::string type = body.value("booltesttype", "");
      for (const auto& [id, text] : kTests) {
        if (type == id) predicate.op = text;
      }
      return add_predicate(body.at("arg"), std::move(predicate), join);
    }
    if (node.type == "SubLink") {
      const std::string type = body.value("subLinkType", "");
      if (type != "ANY_SUBLINK" && type != "ALL_SUBLINK") return;
      const json& names = array_field(body, "operName");
      std::string op = names.empty() ? "IN" : string_value(names.back());
      if (!names.empty()) op += type == "ANY_SUBLINK" ? " ANY" : " ALL";
      return sublink_predicate(value, body, op, clause, join, under_or, negated);
    }
    if (node.type == "ColumnRef") {  // WHERE active
      predicate.op = "=";
      predicate.value.kind = Operand::Kind::constant;
      predicate.value.text = "true";
      predicate.value.value = "true";
      return add_predicate(value, std::move(predicate), join);
    }
  }

  void sublink_predicate(const json& value, const json& body, std::string op, Clause clause, JoinType join,
                         bool under_or, bool negated) {
    const json* test = field(body, "testexpr");
    if (test == nullptr) return;
    Predicate predicate;
    predicate.clause = clause;
    predicate.scope = current_scope();
    predicate.under_or = under_or;
    predicate.negated = negated;
    predicate.op = std::move(op);
    predicate.value = operand(value);
    add_predicate(*test, std::move(predicate), join);
  }

  void comparison(const json& body, Predicate predicate, JoinType join) {
    const std::string kind = body.value("kind", "");
    const json& names = array_field(body, "name");
    std::string op = names.empty() ? "" : string_value(names.back());
    if (names.size() > 1) {  // OPERATOR(pg_catalog.=)
      std::string qualified;
      for (const auto& part : names) qualified += (qualified.empty() ? "" : ".") + string_value(part);
      op = "OPERATOR(" + qualified + ")";
    }
    const json* left = field(body, "lexpr");
    const json* right = field(body, "rexpr");
    if (left == nullptr || right == nullptr) return;  // prefix operators
    const bool negated_op = !op.empty() && op[0] == '!';

    if (kind == "AEXPR_OP" || kind == "AEXPR_DISTINCT" || kind == "AEXPR_NOT_DISTINCT") {
      if (kind == "AEXPR_DISTINCT") op = "IS DISTINCT FROM";
      if (kind == "AEXPR_NOT_DISTINCT") op = "IS NOT DISTINCT FROM";
      std::vector<Column> left_columns;
      std::vector<Column> right_columns;
      columns_of(*left, left_columns);
      columns_of(*right, right_columns);
      const bool left_bare = as_node(*left).type == "ColumnRef" && !left_columns.empty();
      const bool right_bare = as_node(*right).type == "ColumnRef" && !right_columns.empty();
      const bool keep_order = left_bare || (!right_bare && !left_columns.empty());
      if (!keep_order && right_columns.empty()) return;  // no column on either side
      if (keep_order) {
        predicate.op = op;
        predicate.value = operand(*right);
        return add_predicate(*left, std::move(predicate), join);
      }
      if (const auto swapped = commutator(op)) {
        predicate.op = *swapped;
      } else {
        predicate.op = op;
        predicate.reversed = true;
      }
      predicate.value = operand(*left);
      return add_predicate(*right, std::move(predicate), join);
    }
    if (kind == "AEXPR_OP_ANY" || kind == "AEXPR_OP_ALL") {
      predicate.op = op + (kind == "AEXPR_OP_ANY" ? " ANY" : " ALL");
    } else if (kind == "AEXPR_IN") {
      predicate.op = op == "<>" ? "NOT IN" : "IN";
    } else if (kind == "AEXPR_LIKE" || kind == "AEXPR_ILIKE" || kind == "AEXPR_SIMILAR") {
      const char* word = kind == "AEXPR_LIKE" ? "LIKE" : kind == "AEXPR_ILIKE" ? "ILIKE" : "SIMILAR TO";
      predicate.op = std::string(negated_op ? "NOT " : "") + word;
      right = like_pattern(*right);
    } else if (kind.find("BETWEEN") != std::string::npos) {
      predicate.op = std::string(kind.find("NOT") != std::string::npos ? "NOT BETWEEN" : "BETWEEN") +
                     (kind.find("SYM") != std::string::npos ? " SYMMETRIC" : "");
    } else {
      return;  // NULLIF is not a condition
    }
    predicate.value = operand(*right);
    add_predicate(*left, std::move(predicate), join);
  }

  // SIMILAR TO's pattern arrives as similar_to_escape(pattern).
  static const json* like_pattern(const json& value) {
    const Node node = as_node(value);
    if (node.type != "FuncCall") return &value;
    const json& names = array_field(*node.body, "funcname");
    const json& arguments = array_field(*node.body, "args");
    const std::string name = names.empty() ? "" : string_value(names.back());
    if ((name == "similar_to_escape" || name == "like_escape") && !arguments.empty()) return &arguments[0];
    return &value;
  }

  // Fills in the column side and records the predicate (and the join
  // condition it makes, if any).
  void add_predicate(const json& column_side, Predicate predicate, JoinType join) {
    std::vector<Column> columns;
    columns_of(column_side, columns);
    if (columns.empty()) return;  // nothing on this side constrains a column
    predicate.column = columns.front();
    if (as_node(column_side).type != "ColumnRef") {
      predicate.column_expression = text_.of(column_side, true);
      predicate.unqualified_column_expression = text_.of(column_side, false);
    }
    if (predicate.is_join_condition() && is_comparison(predicate.op) && !predicate.under_or && !predicate.negated) {
      JoinCondition condition;
      condition.left = predicate.column;
      condition.op = predicate.op;
      condition.right = *predicate.value.column;
      condition.join = join;
      condition.clause = predicate.clause;
      condition.scope = predicate.scope;
      model_.join_conditions.push_back(std::move(condition));
    }
    model_.predicates.push_back(std::move(predicate));
  }

  Operand operand(const json& value) const {
    Operand result;
    result.text = text_.of(value);
    const Node node = as_node(value);
    if (node.type == "ColumnRef") {
      result.kind = Operand::Kind::column;
      result.column = resolve(array_field(*node.body, "fields"));
      return result;
    }
    if (node.type == "List") {
      result.kind = Operand::Kind::list;
      for (const auto& item : array_field(*node.body, "items")) result.items.push_back(operand(item));
      return result;
    }
    if (node.type == "SubLink") {
      result.kind = Operand::Kind::subquery;
      result.text = text_.subquery_text(*node.body);
      const auto found = sublink_scopes_.find(&value);
      if (found != sublink_scopes_.end()) result.subquery_scope = found->second;
      return result;
    }
    // Look through casts: '2024-01-01'::date is still a constant, $1::int a parameter.
    Node inner = node;
    while (inner.type == "TypeCast" && inner.body->contains("arg")) inner = as_node(inner.body->at("arg"));
    if (inner.type == "A_Const") {
      result.kind = Operand::Kind::constant;
      result.value = text_.constant_value(*inner.body);
      return result;
    }
    if (inner.type == "ParamRef") {
      result.kind = Operand::Kind::parameter;
      result.parameter = inner.body->value("number", 0);
      return result;
    }
    result.kind = Operand::Kind::expression;
    columns_of(value, result.columns);
    return result;
  }

  // --- GROUP BY, ORDER BY, LIMIT, locking ----------------------------------

  Expression clause_expression(const json& value, Clause clause) {
    Expression result;
    result.text = text_.of(value);
    const Node node = as_node(value);
    if (node.type == "A_Const") {
      if (const auto position = text_.integer_value(*node.body)) result.position = static_cast<int>(*position);
      return result;
    }
    if (node.type == "ColumnRef") {
      const json& fields = array_field(*node.body, "fields");
      if (fields.size() == 1) {
        const std::string name = string_value(fields[0]);
        for (const auto& output : frames_.back().outputs) {
          if (output.name == name && !output.is_same_column) {
            result.output_name = name;
            return result;
          }
        }
      }
      result.column = resolve(fields);
    }
    expression(value, clause);
    return result;
  }

  [[gnu::noinline]] void group_item(const json& item) {
    GroupItem group;
    group.expression = clause_expression(item, Clause::group_by);
    group.scope = current_scope();
    model_.group_by.push_back(std::move(group));
  }

  [[gnu::noinline]] void sort_item(const json& item) {
    const json& body = member(item, "SortBy");
    const json* value = field(body, "node");
    if (value == nullptr) return;
    SortItem sort;
    sort.expression = clause_expression(*value, Clause::order_by);
    sort.direction = direction_of(body.value("sortby_dir", ""));
    sort.nulls = nulls_of(body.value("sortby_nulls", ""));
    if (const json* op = field(body, "useOp"); op != nullptr && !op->empty())
      sort.using_operator = string_value(op->back());
    sort.scope = current_scope();
    model_.order_by.push_back(std::move(sort));
  }

  void limits(const json& body) {
    const auto value_of = [&](const json& node, Clause clause) {
      expression(node, clause);
      LimitValue limit;
      const Node parsed = as_node(node);
      if (parsed.type == "A_Const" && parsed.body->value("isnull", false)) {
        limit.kind = LimitValue::Kind::all;
        limit.text = "ALL";
        return limit;
      }
      const Operand side = operand(node);
      limit.text = side.text;
      if (side.kind == Operand::Kind::parameter) {
        limit.kind = LimitValue::Kind::parameter;
        limit.parameter = side.parameter;
      } else if (side.kind == Operand::Kind::constant) {
        limit.kind = LimitValue::Kind::constant;
        if (parsed.type == "A_Const") limit.value = text_.integer_value(*parsed.body);
      } else {
        limit.kind = LimitValue::Kind::expression;
      }
      return limit;
    };
    if (const json* count = field(body, "limitCount")) scope_record().limit = value_of(*count, Clause::limit);
    if (const json* offset = field(body, "limitOffset")) scope_record().offset = value_of(*offset, Clause::offset);
    scope_record().with_ties = body.value("limitOption", "") == "LIMIT_OPTION_WITH_TIES";
  }

  void locking(const json& item) {
    const json& body = member(item, "LockingClause");
    LockingClause lock;
    const std::string strength = body.value("strength", "");
    if (strength == "LCS_FORKEYSHARE")
      lock.strength = "FOR KEY SHARE";
    else if (strength == "LCS_FORSHARE")
      lock.strength = "FOR SHARE";
    else if (strength == "LCS_FORNOKEYUPDATE")
      lock.strength = "FOR NO KEY UPDATE";
    else
      lock.strength = "FOR UPDATE";
    const std::string wait = body.value("waitPolicy", "");
    if (wait == "LockWaitSkip") lock.wait_policy = "SKIP LOCKED";
    if (wait == "LockWaitError") lock.wait_policy = "NOWAIT";
    for (const auto& relation : array_field(body, "lockedRels")) {
      const Node node = as_node(relation);
      const json& rel = node.type == "RangeVar" ? *node.body : relation;
      lock.tables.push_back(rel.value("relname", ""));
    }
    lock.scope = current_scope();
    model_.locking.push_back(std::move(lock));
  }

  detail::ExpressionText text_;
  QueryModel& model_;
  std::vector<Frame> frames_;
  // Scope of each subquery expression, by the address of its node, so a
  // predicate's operand can point at the scope walked for it.
  std::unordered_map<const json*, int> sublink_scopes_;
};

std::vector<QueryModel> build_models(std::string_view sql) {
  const json tree = detail::parse_tree(sql);
  std::vector<QueryModel> models;
  for (const auto& raw : array_field(tree, "stmts")) {
    QueryModel model;
    const detail::StatementSpan span = detail::statement_span(sql, raw);
    model.text = std::string(sql.substr(span.offset, span.length));
    model.offset = span.offset;
    ModelBuilder(sql, model).build(member(raw, "stmt"));
    models.push_back(std::move(model));
  }
  return models;
}

}  // namespace

QueryModel parse_query(std::string_view sql) {
  std::vector<QueryModel> models = build_models(sql);
  if (models.empty()) {
    throw Error(ErrorCode::invalid_argument, "the SQL text holds no statement (only blanks or comments)",
                "Pass one SQL statement.");
  }
  if (models.size() > 1) {
    throw Error(ErrorCode::invalid_argument,
                "expected one SQL statement, found " + std::to_string(models.size()) + "; the second starts at byte " +
                    std::to_string(models[1].offset + 1),
                "Pass one statement at a time.");
  }
  return std::move(models.front());
}

std::vector<QueryModel> parse_script(std::string_view sql) { return build_models(sql); }

std::vector<StatementText> split_statements(std::string_view sql) {
  detail::check_text(sql);
  const std::string text(sql);
  const detail::Owned<PgQuerySplitResult, pg_query_free_split_result> result(pg_query_split_with_parser(text.c_str()));
  if (result->error != nullptr) throw detail::parse_error(sql, *result->error);
  std::vector<StatementText> statements;
  for (int i = 0; i < result->n_stmts; ++i) {
    const PgQuerySplitStmt& stmt = *result->stmts[i];
    json raw = {{"stmt_location", stmt.stmt_location}, {"stmt_len", stmt.stmt_len}};
    const detail::StatementSpan span = detail::statement_span(sql, raw);
    if (span.length == 0) continue;
    statements.push_back(StatementText{std::string(sql.substr(span.offset, span.length)), span.offset});
  }
  return statements;
}

}  // namespace dbopt::sql
