#include "core/sql/schema_change.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

#include "core/sql/expression_text.h"
#include "core/sql/parse_tree.h"

namespace dbopt::sql {
namespace {

using nlohmann::json;

const json& member(const json& body, const char* key) {
  static const json null_value;
  const auto it = body.find(key);
  return it == body.end() ? null_value : *it;
}

std::vector<const json*> items(const json& body, const char* key) {
  std::vector<const json*> out;
  const json& list = member(body, key);
  if (list.is_array())
    for (const auto& item : list) out.push_back(&item);
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "schema.name" or "name" of a RangeVar body.
std::string relation_name(const json& range_var) {
  if (!range_var.is_object()) return "";
  const std::string name = range_var.value("relname", "");
  const std::string schema = range_var.value("schemaname", "");
  return schema.empty() ? name : schema + "." + name;
}

// The last name of a list of String nodes (type or function names), lower-case.
std::string last_name(const json& names) {
  std::string out;
  if (names.is_array())
    for (const auto& n : names) {
      const std::string s = detail::string_value(n);
      if (!s.empty()) out = s;
    }
  return lower(out);
}

std::string dotted_names(const json& names) {
  std::string out;
  if (names.is_array())
    for (const auto& n : names) out += (out.empty() ? "" : ".") + detail::string_value(n);
  return out;
}

// Every function an expression calls (FuncCall anywhere below), lower-case.
void collect_functions(const json& node, std::vector<std::string>& out) {
  if (node.is_object()) {
    if (const auto it = node.find("FuncCall"); it != node.end() && it->is_object())
      out.push_back(last_name(member(*it, "funcname")));
    for (const auto& [key, value] : node.items()) collect_functions(value, out);
  } else if (node.is_array()) {
    for (const auto& value : node) collect_functions(value, out);
  }
}

void collect_columns(const json& node, std::vector<std::string>& out) {
  if (node.is_object()) {
    if (const auto it = node.find("ColumnRef"); it != node.end() && it->is_object()) {
      const std::string name = last_name(member(*it, "fields"));
      if (!name.empty() && std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    }
    for (const auto& [key, value] : node.items()) collect_columns(value, out);
  } else if (node.is_array()) {
    for (const auto& value : node) collect_columns(value, out);
  }
}

std::vector<std::string> string_list(const json& list) {
  std::vector<std::string> out;
  if (list.is_array())
    for (const auto& item : list) out.push_back(detail::string_value(item));
  return out;
}

void read_type(const json& type_name, const detail::ExpressionText& text, ColumnDefinition& column) {
  if (!type_name.is_object()) return;
  column.type = last_name(member(type_name, "names"));
  column.type_text = text.type_name(type_name);
  for (const json* mod : items(type_name, "typmods"))
    if (const detail::Node n = detail::as_node(*mod); n && n.type == "A_Const")
      if (auto v = text.integer_value(*n.body)) column.type_modifiers.push_back(static_cast<int>(*v));
}

ColumnDefinition read_column(const json& column_def, const detail::ExpressionText& text) {
  ColumnDefinition column;
  column.name = column_def.value("colname", "");
  read_type(member(column_def, "typeName"), text, column);
  for (const json* c : items(column_def, "constraints")) {
    const detail::Node node = detail::as_node(*c);
    if (!node || node.type != "Constraint") continue;
    const json& body = *node.body;
    const std::string type = body.value("contype", "");
    if (type == "CONSTR_NOTNULL") column.not_null = true;
    if (type == "CONSTR_PRIMARY") column.primary_key = column.not_null = true;
    if (type == "CONSTR_UNIQUE") column.unique = true;
    if (type == "CONSTR_CHECK") column.check = true;
    if (type == "CONSTR_FOREIGN") {
      column.references = relation_name(member(body, "pktable"));
      column.references_name = body.value("conname", "");
    }
    if (type == "CONSTR_IDENTITY") column.identity = column.not_null = true;
    if (type == "CONSTR_GENERATED") column.generated_stored = true;
    if (type == "CONSTR_DEFAULT") {
      column.has_default = true;
      column.default_text = text.of(member(body, "raw_expr"));
      collect_functions(member(body, "raw_expr"), column.default_functions);
    }
  }
  return column;
}

// The actions of ALTER TABLE name action, action ... as written: split at the
// commas outside brackets, literals and comments after the table name.
std::vector<std::string> action_texts(std::string_view statement, std::size_t relation_end) {
  std::vector<std::string> out;
  int depth = 0;
  std::size_t start = relation_end;
  for (std::size_t i = relation_end; i < statement.size();) {
    const std::size_t skipped = detail::skip_literal_or_comment(statement, i);
    if (skipped != i) {
      i = skipped;
      continue;
    }
    const char c = statement[i];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      out.emplace_back(statement.substr(start, i - start));
      start = i + 1;
    }
    ++i;
  }
  out.emplace_back(statement.substr(start));
  for (auto& t : out) {
    const auto b = t.find_first_not_of(" \t\r\n");
    const auto e = t.find_last_not_of(" \t\r\n;");
    t = b == std::string::npos ? "" : t.substr(b, e - b + 1);
  }
  return out;
}

// Past the relation name in "ALTER TABLE [IF EXISTS] [ONLY] name ...": the
// location of the RangeVar is its first byte; the name ends at the next blank
// outside quotes.
std::size_t end_of_relation(std::string_view statement, int location) {
  std::size_t i = location < 0 ? 0 : static_cast<std::size_t>(location);
  while (i < statement.size() && !std::isspace(static_cast<unsigned char>(statement[i]))) {
    if (statement[i] == '"') {
      i = detail::skip_literal_or_comment(statement, i);
      continue;
    }
    ++i;
  }
  return i;
}

AlterAction read_action(const json& cmd, const detail::ExpressionText& text) {
  using K = AlterAction::Kind;
  AlterAction a;
  const std::string subtype = cmd.value("subtype", "");
  a.column = cmd.value("name", "");
  const json& def = member(cmd, "def");
  static const std::array<std::pair<const char*, K>, 13> kinds{{
      {"AT_AddColumn", K::add_column},
      {"AT_DropColumn", K::drop_column},
      {"AT_AlterColumnType", K::alter_column_type},
      {"AT_SetNotNull", K::set_not_null},
      {"AT_DropNotNull", K::drop_not_null},
      {"AT_AddConstraint", K::add_constraint},
      {"AT_ValidateConstraint", K::validate_constraint},
      {"AT_DropConstraint", K::drop_constraint},
      {"AT_AttachPartition", K::attach_partition},
      {"AT_DetachPartition", K::detach_partition},
      {"AT_SetLogged", K::set_logged},
      {"AT_SetUnLogged", K::set_unlogged},
      {"AT_SetStatistics", K::set_statistics},
  }};
  for (const auto& [name, kind] : kinds)
    if (subtype == name) a.kind = kind;
  if (subtype == "AT_SetOptions" || subtype == "AT_ResetOptions") a.kind = K::set_statistics;
  if (subtype == "AT_SetRelOptions" || subtype == "AT_ResetRelOptions") a.kind = K::set_storage_parameters;
  if (subtype == "AT_ColumnDefault") a.kind = def.is_null() ? K::drop_default : K::set_default;

  if (const detail::Node node = detail::as_node(def); node) {
    const json& body = *node.body;
    if (node.type == "ColumnDef") {
      a.definition = read_column(body, text);
      if (a.kind == K::add_column) a.column = a.definition.name;
      a.has_using = body.contains("raw_default");
    } else if (node.type == "Constraint") {
      const std::string type = body.value("contype", "");
      static const std::array<std::pair<const char*, ConstraintKind>, 6> constraint_kinds{{
          {"CONSTR_CHECK", ConstraintKind::check},
          {"CONSTR_FOREIGN", ConstraintKind::foreign_key},
          {"CONSTR_PRIMARY", ConstraintKind::primary_key},
          {"CONSTR_UNIQUE", ConstraintKind::unique},
          {"CONSTR_EXCLUSION", ConstraintKind::exclusion},
          {"CONSTR_NOTNULL", ConstraintKind::not_null},
      }};
      for (const auto& [name, kind] : constraint_kinds)
        if (type == name) a.constraint = kind;
      a.constraint_name = body.value("conname", "");
      a.not_valid = body.value("skip_validation", false);
      a.using_index = body.contains("indexname");
      a.referenced_table = relation_name(member(body, "pktable"));
      if (a.constraint == ConstraintKind::foreign_key) {
        a.constraint_columns = string_list(member(body, "fk_attrs"));
      } else if (a.constraint == ConstraintKind::check) {
        a.check_text = text.of(member(body, "raw_expr"));
        collect_columns(member(body, "raw_expr"), a.constraint_columns);
      } else {
        a.constraint_columns = string_list(member(body, "keys"));
      }
    } else if (node.type == "PartitionCmd") {
      a.partition = relation_name(member(body, "name"));
      a.concurrently = body.value("concurrent", false);
    }
  }
  return a;
}

void read_alter_table(const json& body, std::string_view statement, std::size_t statement_offset,
                      const detail::ExpressionText& text, SchemaChange& change) {
  change.kind = ChangeKind::alter_table;
  const json& relation = member(body, "relation");
  change.table = relation_name(relation);
  change.if_exists = body.value("missing_ok", false);
  for (const json* cmd : items(body, "cmds"))
    if (const detail::Node node = detail::as_node(*cmd); node && node.type == "AlterTableCmd")
      change.actions.push_back(read_action(*node.body, text));
  const int location = relation.value("location", -1) - static_cast<int>(statement_offset);
  const std::vector<std::string> texts = action_texts(statement, end_of_relation(statement, location));
  if (texts.size() == change.actions.size())
    for (std::size_t i = 0; i < texts.size(); ++i) change.actions[i].text = texts[i];
  for (const auto& a : change.actions)
    if (!a.definition.references.empty()) change.referenced_tables.push_back(a.definition.references);
}

std::string setting_value(const json& body, const detail::ExpressionText& text) {
  std::string out;
  for (const json* arg : items(body, "args"))
    if (const detail::Node n = detail::as_node(*arg); n && n.type == "A_Const")
      out += (out.empty() ? "" : ", ") + text.constant_value(*n.body);
  return out;
}

bool has_option(const json& body, const char* key, const char* option) {
  for (const json* o : items(body, key))
    if (const detail::Node n = detail::as_node(*o); n && n.type == "DefElem" && n.body->value("defname", "") == option)
      return true;
  return false;
}

const char* kLockModes[] = {"",      "ACCESS SHARE",        "ROW SHARE", "ROW EXCLUSIVE",   "SHARE UPDATE EXCLUSIVE",
                            "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"};

void read_statement(const json& stmt, std::string_view statement, std::size_t offset,
                    const detail::ExpressionText& text, SchemaChange& c) {
  const detail::Node node = detail::as_node(stmt);
  if (!node) return;
  const json& b = *node.body;
  const std::string_view type = node.type;
  if (type == "AlterTableStmt") {
    if (b.value("objtype", "") == "OBJECT_TABLE") read_alter_table(b, statement, offset, text, c);
  } else if (type == "IndexStmt") {
    c.kind = ChangeKind::create_index;
    c.table = relation_name(member(b, "relation"));
    c.index_name = b.value("idxname", "");
    c.concurrently = b.value("concurrent", false);
    c.unique = b.value("unique", false);
    c.if_not_exists = b.value("if_not_exists", false);
    for (const json* p : items(b, "indexParams"))
      if (const detail::Node n = detail::as_node(*p); n && n.type == "IndexElem")
        c.index_columns.push_back(n.body->contains("name") ? n.body->value("name", "")
                                                           : text.of(member(*n.body, "expr")));
  } else if (type == "CreateStmt") {
    c.kind = ChangeKind::create_table;
    c.table = relation_name(member(b, "relation"));
    c.if_not_exists = b.value("if_not_exists", false);
    for (const json* e : items(b, "tableElts")) {
      const detail::Node n = detail::as_node(*e);
      if (n && n.type == "ColumnDef") {
        c.columns.push_back(read_column(*n.body, text));
        if (!c.columns.back().references.empty()) c.referenced_tables.push_back(c.columns.back().references);
      } else if (n && n.type == "Constraint" && n.body->contains("pktable")) {
        c.referenced_tables.push_back(relation_name(member(*n.body, "pktable")));
      }
    }
  } else if (type == "DropStmt") {
    const std::string what = b.value("removeType", "");
    c.kind = what == "OBJECT_TABLE"   ? ChangeKind::drop_table
             : what == "OBJECT_INDEX" ? ChangeKind::drop_index
                                      : ChangeKind::drop_other;
    c.concurrently = b.value("concurrent", false);
    c.if_exists = b.value("missing_ok", false);
    c.cascade = b.value("behavior", "") == "DROP_CASCADE";
    for (const json* o : items(b, "objects"))
      if (const detail::Node n = detail::as_node(*o); n && n.type == "List") {
        const std::string name = dotted_names(member(*n.body, "items"));
        (c.kind == ChangeKind::drop_index ? c.index_name : c.table) = name;
        break;
      }
  } else if (type == "RenameStmt") {
    const std::string what = b.value("renameType", "");
    c.kind = what == "OBJECT_TABLE"                                                     ? ChangeKind::rename_table
             : what == "OBJECT_COLUMN" && b.value("relationType", "") == "OBJECT_TABLE" ? ChangeKind::rename_column
                                                                                        : ChangeKind::rename_other;
    c.table = relation_name(member(b, "relation"));
    c.old_column = b.value("subname", "");
    c.new_name = b.value("newname", "");
  } else if (type == "TruncateStmt") {
    c.kind = ChangeKind::truncate;
    for (const json* r : items(b, "relations"))
      if (const detail::Node n = detail::as_node(*r); n && c.table.empty()) c.table = relation_name(*n.body);
    c.cascade = b.value("behavior", "") == "DROP_CASCADE";
  } else if (type == "VacuumStmt") {
    if (!b.value("is_vacuumcmd", false)) return;
    c.kind = ChangeKind::vacuum;
    c.full = has_option(b, "options", "full");
    for (const json* r : items(b, "rels"))
      if (const detail::Node n = detail::as_node(*r); n && c.table.empty())
        c.table = relation_name(member(*n.body, "relation"));
  } else if (type == "ClusterStmt") {
    c.kind = ChangeKind::cluster;
    c.table = relation_name(member(b, "relation"));
    c.index_name = b.value("indexname", "");
  } else if (type == "RefreshMatViewStmt") {
    c.kind = ChangeKind::refresh_materialized_view;
    c.table = relation_name(member(b, "relation"));
    c.concurrently = b.value("concurrent", false);
  } else if (type == "ReindexStmt") {
    c.kind = ChangeKind::reindex;
    (b.value("kind", "") == "REINDEX_OBJECT_INDEX" ? c.index_name : c.table) = relation_name(member(b, "relation"));
    c.concurrently = has_option(b, "params", "concurrently");
  } else if (type == "LockStmt") {
    c.kind = ChangeKind::lock_table;
    for (const json* r : items(b, "relations"))
      if (const detail::Node n = detail::as_node(*r); n && c.table.empty()) c.table = relation_name(*n.body);
    const int mode = b.value("mode", 8);
    c.lock_mode = mode >= 1 && mode <= 8 ? kLockModes[mode] : "ACCESS EXCLUSIVE";
  } else if (type == "UpdateStmt" || type == "DeleteStmt" || type == "InsertStmt") {
    c.kind = type == "UpdateStmt"   ? ChangeKind::update
             : type == "DeleteStmt" ? ChangeKind::delete_rows
                                    : ChangeKind::insert;
    c.table = relation_name(member(b, "relation"));
    c.has_where = b.contains("whereClause");
  } else if (type == "TransactionStmt") {
    const std::string kind = b.value("kind", "");
    if (kind == "TRANS_STMT_BEGIN" || kind == "TRANS_STMT_START") c.kind = ChangeKind::begin;
    if (kind == "TRANS_STMT_COMMIT") c.kind = ChangeKind::commit;
    if (kind == "TRANS_STMT_ROLLBACK") c.kind = ChangeKind::rollback;
  } else if (type == "VariableSetStmt") {
    c.kind = ChangeKind::set_setting;
    c.setting = lower(b.value("name", ""));
    c.local = b.value("is_local", false);
    c.value = b.value("kind", "") == "VAR_SET_VALUE" ? setting_value(b, text) : "";
  } else if (type == "CreateDomainStmt") {
    c.kind = ChangeKind::create_domain;
    c.table = dotted_names(member(b, "domainname"));
    c.has_where = b.contains("constraints");  // a CHECK on the domain
  } else if (type == "AlterDomainStmt") {
    if (b.value("subtype", "") == "C") c.kind = ChangeKind::alter_domain_add_constraint;
    c.table = dotted_names(member(b, "typeName"));
  } else if (type == "DropdbStmt") {
    c.kind = ChangeKind::drop_database;
    c.table = b.value("dbname", "");
  }
}

}  // namespace

const char* to_string(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::create_table:
      return "create_table";
    case ChangeKind::create_index:
      return "create_index";
    case ChangeKind::drop_index:
      return "drop_index";
    case ChangeKind::reindex:
      return "reindex";
    case ChangeKind::alter_table:
      return "alter_table";
    case ChangeKind::rename_table:
      return "rename_table";
    case ChangeKind::rename_column:
      return "rename_column";
    case ChangeKind::rename_other:
      return "rename_other";
    case ChangeKind::drop_table:
      return "drop_table";
    case ChangeKind::drop_other:
      return "drop_other";
    case ChangeKind::drop_database:
      return "drop_database";
    case ChangeKind::truncate:
      return "truncate";
    case ChangeKind::vacuum:
      return "vacuum";
    case ChangeKind::cluster:
      return "cluster";
    case ChangeKind::refresh_materialized_view:
      return "refresh_materialized_view";
    case ChangeKind::lock_table:
      return "lock_table";
    case ChangeKind::update:
      return "update";
    case ChangeKind::delete_rows:
      return "delete";
    case ChangeKind::insert:
      return "insert";
    case ChangeKind::begin:
      return "begin";
    case ChangeKind::commit:
      return "commit";
    case ChangeKind::rollback:
      return "rollback";
    case ChangeKind::set_setting:
      return "set";
    case ChangeKind::create_domain:
      return "create_domain";
    case ChangeKind::alter_domain_add_constraint:
      return "alter_domain_add_constraint";
    case ChangeKind::other:
      return "other";
  }
  return "other";
}

const char* to_string(ConstraintKind kind) {
  switch (kind) {
    case ConstraintKind::none:
      return "none";
    case ConstraintKind::check:
      return "check";
    case ConstraintKind::foreign_key:
      return "foreign_key";
    case ConstraintKind::primary_key:
      return "primary_key";
    case ConstraintKind::unique:
      return "unique";
    case ConstraintKind::exclusion:
      return "exclusion";
    case ConstraintKind::not_null:
      return "not_null";
  }
  return "none";
}

const char* to_string(AlterAction::Kind kind) {
  using K = AlterAction::Kind;
  switch (kind) {
    case K::add_column:
      return "add_column";
    case K::drop_column:
      return "drop_column";
    case K::alter_column_type:
      return "alter_column_type";
    case K::set_not_null:
      return "set_not_null";
    case K::drop_not_null:
      return "drop_not_null";
    case K::set_default:
      return "set_default";
    case K::drop_default:
      return "drop_default";
    case K::add_constraint:
      return "add_constraint";
    case K::validate_constraint:
      return "validate_constraint";
    case K::drop_constraint:
      return "drop_constraint";
    case K::attach_partition:
      return "attach_partition";
    case K::detach_partition:
      return "detach_partition";
    case K::set_logged:
      return "set_logged";
    case K::set_unlogged:
      return "set_unlogged";
    case K::set_statistics:
      return "set_statistics";
    case K::set_storage_parameters:
      return "set_storage_parameters";
    case K::other:
      return "other";
  }
  return "other";
}

std::vector<SchemaChange> read_schema_changes(std::string_view sql) {
  const json tree = detail::parse_tree(sql);
  const detail::ExpressionText text(sql);
  std::vector<SchemaChange> changes;
  bool in_transaction = false;
  for (const auto& raw : member(tree, "stmts")) {
    detail::StatementSpan span = detail::statement_span(sql, raw);
    // The span starts after the previous ';': skip the comments before the statement (sqlmigrate's "-- Add field").
    while (span.length > 0) {
      const std::size_t next = detail::skip_literal_or_comment(sql, span.offset);
      const char c = sql[span.offset];
      const bool comment = next != span.offset && (c == '-' || c == '/');
      if (!comment && !std::isspace(static_cast<unsigned char>(c))) break;
      const std::size_t end = comment ? next : span.offset + 1;
      span.length -= std::min(span.length, end - span.offset);
      span.offset = end;
    }
    if (span.length == 0) continue;
    SchemaChange change;
    change.text = std::string(sql.substr(span.offset, span.length));
    change.offset = span.offset;
    change.line = 1 + static_cast<int>(std::count(sql.begin(), sql.begin() + span.offset, '\n'));
    read_statement(member(raw, "stmt"), change.text, span.offset, text, change);
    if (change.kind == ChangeKind::begin) in_transaction = true;
    change.in_transaction = in_transaction && change.kind != ChangeKind::begin;
    if (change.kind == ChangeKind::commit || change.kind == ChangeKind::rollback) in_transaction = false;
    changes.push_back(std::move(change));
  }
  return changes;
}

}  // namespace dbopt::sql
