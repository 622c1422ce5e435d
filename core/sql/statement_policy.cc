#include "core/sql/statement_policy.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

#include "core/sql/parse_tree.h"
#include "core/sql/query_model.h"

namespace dbopt::sql {
namespace {

using detail::as_node;
using detail::Node;
using nlohmann::json;

struct DeniedFunction {
  std::string_view pattern;  // lower-case name; '*' matches any run of characters
  std::string_view why;      // completes "function f ... is refused: "
};

// Functions the safe executor refuses wherever they appear, whatever their
// schema. The READ ONLY transaction already stops ordinary writes; these are
// the built-ins that act anyway, outside the transaction or outside the
// database (files, other sessions, other connections, the server), or whose
// effect a rollback does not undo. pg_sleep, currval and txid_* are allowed:
// statement_timeout bounds the first, the others only read.
constexpr DeniedFunction kDeniedFunctions[] = {
    // Server files: they read or list files the database server's account can reach.
    {"pg_read_file", "it reads files on the database server"},
    {"pg_read_binary_file", "it reads files on the database server"},
    {"pg_ls_*", "it lists directories on the database server"},
    {"pg_stat_file", "it reads file metadata on the database server"},
    // adminpack: writes, renames and removes server files.
    {"pg_file_*", "it changes files on the database server"},
    {"pg_logdir_ls", "it lists the server's log directory"},
    // Large objects: lo_import/lo_export move server files in and out; the rest create or change objects.
    {"lo_*", "it works on large objects, and lo_import/lo_export on server files"},
    {"loread", "it works on large objects"},
    {"lowrite", "it writes large objects"},
    // dblink: a second connection, outside the read-only transaction and its timeouts.
    {"dblink*", "it opens another database connection, outside the read-only transaction"},
    // Other sessions and the server itself.
    {"pg_terminate_backend", "it ends another session"},
    {"pg_cancel_backend", "it cancels another session's query"},
    {"pg_reload_conf", "it reloads the server configuration"},
    {"pg_rotate_logfile*", "it rotates the server log"},
    {"pg_log_backend_memory_contexts", "it makes another session write to the server log"},
    {"pg_switch_wal", "it forces a WAL segment switch"},
    {"pg_switch_xlog", "it forces a WAL segment switch"},
    {"pg_create_restore_point", "it writes a restore point into the WAL"},
    {"pg_start_backup", "it starts a base backup"},
    {"pg_backup_start", "it starts a base backup"},
    {"pg_stop_backup", "it ends a base backup"},
    {"pg_backup_stop", "it ends a base backup"},
    {"pg_promote", "it promotes a standby server"},
    {"pg_wal_replay_*", "it pauses or resumes WAL replay"},
    {"pg_xlog_replay_*", "it pauses or resumes WAL replay"},
    {"pg_stat_reset*", "it resets statistics that monitoring depends on"},
    {"pg_stat_statements_reset", "it resets statistics that monitoring depends on"},
    {"pg_import_system_collations", "it adds collations to the catalog"},
    // Settings: they outlive the statement on a pooled connection (set_config with is_local = false).
    {"set_config", "it changes a setting of the session"},
    // Sequences: a rollback does not undo nextval or setval.
    {"nextval", "it advances a sequence, which a rollback does not undo"},
    {"setval", "it sets a sequence, which a rollback does not undo"},
    // Advisory locks: session-level ones outlive the transaction on a pooled connection.
    {"pg_advisory_*", "it takes or releases an advisory lock"},
    {"pg_try_advisory_*", "it takes an advisory lock"},
    // Messages that reach other sessions or replicas.
    {"pg_notify", "it sends a notification to other sessions"},
    {"pg_logical_emit_message", "it writes a message into the WAL"},
    // Replication: slots hold WAL on the server; reading a slot's changes consumes them.
    {"pg_replication_*", "it changes replication origins or slots"},
    {"pg_create_*_replication_slot", "it creates a replication slot"},
    {"pg_copy_*_replication_slot", "it creates a replication slot"},
    {"pg_drop_replication_slot", "it drops a replication slot"},
    {"pg_logical_slot_get_*", "it consumes changes from a replication slot"},
    // SQL given as text runs outside this check's walk.
    {"query_to_xml*", "it runs SQL given as text, which this check cannot inspect"},
    {"query_to_xmlschema", "it runs SQL given as text, which this check cannot inspect"},
    {"cursor_to_xml*", "it reads from a cursor this check cannot inspect"},
    {"ts_stat", "it runs SQL given as text, which this check cannot inspect"},
    {"ts_rewrite", "it can run SQL given as text, which this check cannot inspect"},
};

bool glob_matches(std::string_view pattern, std::string_view name) {
  const auto star = pattern.find('*');
  if (star == std::string_view::npos) return pattern == name;
  const std::string_view head = pattern.substr(0, star);
  const std::string_view rest = pattern.substr(star + 1);
  if (name.substr(0, head.size()) != head) return false;
  for (std::size_t from = head.size(); from <= name.size(); ++from) {
    if (glob_matches(rest, name.substr(from))) return true;
  }
  return false;
}

const DeniedFunction* denied_function(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& denied : kDeniedFunctions) {
    if (glob_matches(denied.pattern, name)) return &denied;
  }
  return nullptr;
}

bool is_row_changing(std::string_view node_type) {
  return node_type == "InsertStmt" || node_type == "UpdateStmt" || node_type == "DeleteStmt" ||
         node_type == "MergeStmt";
}

// "DELETE", "CREATE TABLE AS", or the node type for kinds without a name.
std::string upper_kind(const json& statement) {
  const StatementKind statement_kind = detail::statement_kind(statement);
  if (statement_kind == StatementKind::other) return std::string(as_node(statement).type);
  std::string kind = to_string(statement_kind);
  std::transform(kind.begin(), kind.end(), kind.begin(),
                 [](unsigned char c) { return static_cast<char>(c == '_' ? ' ' : std::toupper(c)); });
  return kind;
}

// Walks every node of a statement and notes what the policy cares about,
// with a readable description of where it sits.
class PolicyWalker {
 public:
  struct Finding {
    std::string reason;
  };

  // Set once, for the first occurrence: what is refused wherever it appears.
  std::optional<Finding> always_refused;
  // What changes data or takes locks: refused unless only planned (EXPLAIN).
  std::optional<Finding> data_modifying_cte;
  std::optional<Finding> locking_clause;

  // `allowed_write` is the explained statement itself, which is not a CTE.
  void walk_statement(const json& statement, const json* allowed_write) {
    allowed_write_ = allowed_write;
    walk(statement);
  }

 private:
  struct Place {
    bool container;  // a query level (subquery, CTE) rather than a clause
    std::string text;
  };

  // walk() and walk_fields() recurse once per tree level, so they stay lean;
  // the string work lives in inspect() and enter_clause(), kept out of line.
  void walk(const json& value) {
    if (value.is_array()) {
      for (const auto& item : value) walk(item);
      return;
    }
    if (!value.is_object()) return;
    const Node node = as_node(value);
    if (!node) {
      walk_fields(value);
      return;
    }
    const std::size_t places_before = places_.size();
    inspect(value, node);
    walk_fields(*node.body);
    places_.resize(places_before);
  }

  void walk_fields(const json& body) {
    for (auto it = body.begin(); it != body.end(); ++it) {  // items() frames are large
      if (!it->is_structured()) continue;
      const bool entered = enter_clause(it.key());
      walk(*it);
      if (entered) places_.pop_back();
    }
  }

  [[gnu::noinline]] bool enter_clause(const std::string& key) {
    const std::string_view clause = clause_name(key);
    if (clause.empty()) return false;
    places_.push_back({false, std::string(clause)});
    return true;
  }

  // Notes what this node means to the policy and enters its query level.
  [[gnu::noinline]] void inspect(const json& value, const Node& node) {
    const json& body = *node.body;
    const std::string_view type = node.type;
    if (type == "FuncCall") {
      check_function(body);
    } else if (type == "LockingClause") {
      note(locking_clause, "locking clause " + strength(body) + where(places_.size()) +
                               " is refused: it locks rows, which a read-only analysis must not do");
    } else if (is_row_changing(type) && &value != allowed_write_) {
      const std::size_t cte = innermost_cte();
      const std::string name = cte < places_.size() ? places_[cte].text : "statement";
      note(data_modifying_cte, "data-modifying " + name + " (" + upper_kind(value) + ")" + where(cte) +
                                   " is refused: it would change data");
    } else if (type == "CommonTableExpr") {
      places_.push_back({true, "CTE \"" + body.value("ctename", "") + "\""});
    } else if (type == "SubLink") {
      places_.push_back({true, "a subquery"});
    } else if (type == "RangeSubselect") {
      const std::string alias = body.contains("alias") ? body.at("alias").value("aliasname", "") : "";
      places_.push_back({true, std::string(body.value("lateral", false) ? "LATERAL subquery" : "subquery") +
                                   (alias.empty() ? "" : " " + alias)});
    }
    if (body.contains("intoClause")) {
      const json& into = body.at("intoClause");
      const std::string target = into.contains("rel") ? into.at("rel").value("relname", "") : "";
      note(always_refused, "SELECT INTO" + where(places_.size()) + " is refused: it creates the table " + target);
    }
  }

  static std::string_view clause_name(std::string_view key) {
    static const std::pair<std::string_view, std::string_view> kClauses[] = {
        {"targetList", "select list"},
        {"fromClause", "FROM clause"},
        {"whereClause", "WHERE clause"},
        {"groupClause", "GROUP BY"},
        {"havingClause", "HAVING clause"},
        {"sortClause", "ORDER BY"},
        {"windowClause", "WINDOW clause"},
        {"limitCount", "LIMIT"},
        {"limitOffset", "OFFSET"},
        {"valuesLists", "VALUES list"},
        {"returningList", "RETURNING list"},
        {"quals", "JOIN condition"},
        {"usingClause", "USING clause"},
        {"distinctClause", "DISTINCT ON"},
        {"over", "window definition"},
        {"agg_filter", "FILTER clause"},
        {"joinCondition", "MERGE condition"},
    };
    for (const auto& [name, text] : kClauses) {
      if (key == name) return text;
    }
    return {};
  }

  void check_function(const json& body) {
    const json names = body.value("funcname", json::array());
    if (names.empty()) return;
    const std::string name = detail::string_value(names.back());
    const DeniedFunction* denied = denied_function(name);
    if (denied == nullptr) return;
    std::string qualified;
    for (const auto& part : names) qualified += (qualified.empty() ? "" : ".") + detail::string_value(part);
    note(always_refused, "function " + qualified + where(places_.size()) + " is refused: " + std::string(denied->why));
  }

  static std::string strength(const json& body) {
    const std::string value = body.value("strength", "");
    if (value == "LCS_FORKEYSHARE") return "FOR KEY SHARE";
    if (value == "LCS_FORSHARE") return "FOR SHARE";
    if (value == "LCS_FORNOKEYUPDATE") return "FOR NO KEY UPDATE";
    return "FOR UPDATE";
  }

  // Index of the innermost CTE among places_, or places_.size() when none.
  std::size_t innermost_cte() const {
    for (std::size_t i = places_.size(); i-- > 0;) {
      if (places_[i].container && places_[i].text.rfind("CTE ", 0) == 0) return i;
    }
    return places_.size();
  }

  // " in the select list of a subquery in the WHERE clause", from the first
  // `depth` places; empty at the top of the statement.
  std::string where(std::size_t depth) const {
    std::string text;
    for (std::size_t i = depth; i-- > 0;) {
      const Place& place = places_[i];
      if (text.empty()) {
        text = place.container ? " in " + place.text : " in the " + place.text;
      } else {
        text += place.container ? " of " + place.text : " in the " + place.text;
      }
    }
    return text;
  }

  static void note(std::optional<Finding>& slot, std::string reason) {
    if (!slot) slot = Finding{std::move(reason)};
  }

  const json* allowed_write_ = nullptr;
  std::vector<Place> places_;
};

StatementVerdict refuse(StatementVerdict verdict, std::string reason) {
  verdict.allowed = false;
  verdict.is_analyze_of_write = false;
  verdict.reason = std::move(reason);
  return verdict;
}

}  // namespace

StatementVerdict check_statement(std::string_view sql) {
  const json tree = detail::parse_tree(sql);
  const json& statements = tree.at("stmts");
  if (statements.empty()) {
    throw Error(ErrorCode::invalid_argument, "the SQL text holds no statement (only blanks or comments)",
                "Pass one SELECT, EXPLAIN or SHOW statement.");
  }
  if (statements.size() > 1) {
    throw Error(ErrorCode::invalid_argument,
                "the safe executor runs one statement at a time; this text holds " + std::to_string(statements.size()),
                "Send each statement separately.");
  }
  const json& statement = statements[0].at("stmt");
  const Node node = as_node(statement);
  const StatementKind kind = detail::statement_kind(statement);

  StatementVerdict verdict;
  verdict.statement_kind = to_string(kind);
  verdict.parameter_count = detail::highest_parameter(statement);
  const json* explained = nullptr;
  bool analyzes = false;
  if (node.type == "ExplainStmt") {
    explained = node.body->contains("query") ? &node.body->at("query") : nullptr;
    analyzes = detail::explain_analyzes(*node.body);
    const StatementKind target = explained ? detail::statement_kind(*explained) : StatementKind::other;
    verdict.explained_statement_kind = to_string(target);
    const bool explainable = target == StatementKind::select || target == StatementKind::values || changes_rows(target);
    if (!explainable) {
      return refuse(verdict, "EXPLAIN of " + (explained ? upper_kind(*explained) : std::string("this")) +
                                 " is refused: the safe executor explains only SELECT, VALUES, INSERT, UPDATE, "
                                 "DELETE and MERGE");
    }
  } else if (kind != StatementKind::select && kind != StatementKind::values && kind != StatementKind::show) {
    return refuse(verdict, upper_kind(statement) +
                               " statements are refused: the safe executor runs only SELECT, VALUES, EXPLAIN and "
                               "SHOW");
  }
  verdict.runs_statement = explained == nullptr || analyzes;

  PolicyWalker walker;
  const bool explains_write = explained != nullptr && changes_rows(detail::statement_kind(*explained));
  walker.walk_statement(statement, explains_write ? explained : nullptr);

  if (walker.always_refused) return refuse(verdict, walker.always_refused->reason);
  // Plain EXPLAIN only plans: writes, data-modifying CTEs and locking clauses
  // do not run, so they are safe to show plans for.
  if (explained != nullptr && !analyzes) {
    verdict.allowed = true;
    return verdict;
  }
  if (walker.data_modifying_cte) return refuse(verdict, walker.data_modifying_cte->reason);
  if (walker.locking_clause) return refuse(verdict, walker.locking_clause->reason);
  if (explains_write) {
    verdict.allowed = false;
    verdict.is_analyze_of_write = true;
    verdict.reason = "EXPLAIN ANALYZE runs the " + upper_kind(*explained) +
                     ", which changes data: allowed only where the configuration permits EXPLAIN ANALYZE of "
                     "writes (the changes are then rolled back)";
    return verdict;
  }
  verdict.allowed = true;
  return verdict;
}

}  // namespace dbopt::sql
