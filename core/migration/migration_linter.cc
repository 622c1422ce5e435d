#include "core/migration/migration_linter.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>

#include "core/common/error.h"
#include "core/pg/safe_executor.h"
#include "core/sql/schema_change.h"

namespace dbopt::migration {
namespace {

using knowledge::Finding;
using knowledge::Severity;
using sql::AlterAction;
using sql::ChangeKind;
using sql::ConstraintKind;
using sql::SchemaChange;
using K = AlterAction::Kind;

// PostgreSQL's table lock modes, weakest first (explicit-locking.html).
enum Lock {
  no_lock,
  access_share,
  row_share,
  row_exclusive,
  share_update_exclusive,
  share,
  share_row_exclusive,
  exclusive,
  access_exclusive
};

const char* lock_name(int lock) {
  static const char* names[] = {
      "",      "ACCESS SHARE",        "ROW SHARE", "ROW EXCLUSIVE",   "SHARE UPDATE EXCLUSIVE",
      "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"};
  return lock >= 0 && lock <= access_exclusive ? names[lock] : "";
}

int lock_of(const std::string& name) {
  for (int l = access_share; l <= access_exclusive; ++l)
    if (name == lock_name(l)) return l;
  return access_exclusive;
}

// What a lock held on a table makes others wait for (the conflict table).
const char* blocks_of(int lock) {
  switch (lock) {
    case access_exclusive:
      return "reads and writes";
    case exclusive:
      return "writes and SELECT ... FOR UPDATE (plain reads go on)";
    case share_row_exclusive:
    case share:
      return "writes (reads go on)";
    case share_update_exclusive:
      return "other schema changes, VACUUM and concurrent index builds (reads and writes go on)";
    case row_exclusive:
    case row_share:
      return "only schema changes and explicit locks";
    case access_share:
      return "only ACCESS EXCLUSIVE";
    default:
      return "nothing";
  }
}

// Functions whose value differs per row (pg_proc.provolatile = 'v'): a default
// calling one is computed for every existing row when the column is added.
bool is_volatile_function(const std::string& name) {
  static const std::set<std::string> names{
      "random",           "random_normal",      "gen_random_uuid",  "uuid_generate_v1", "uuid_generate_v1mc",
      "uuid_generate_v4", "clock_timestamp",    "timeofday",        "nextval",          "setval",
      "txid_current",     "pg_current_xact_id", "gen_random_bytes", "floor_random"};
  return names.contains(name);
}

bool is_serial(const std::string& type) {
  static const std::set<std::string> names{"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"};
  return names.contains(type);
}

std::string bare(const std::string& table) {
  const auto dot = table.rfind('.');
  return dot == std::string::npos ? table : table.substr(dot + 1);
}

// PostgreSQL's default constraint and index names: table_col1_col2_suffix, at most 63 bytes.
std::string default_name(const std::string& table, const std::vector<std::string>& columns, const std::string& suffix) {
  std::string name = bare(table);
  for (const auto& c : columns) name += "_" + c;
  name = name.substr(0, 63 - suffix.size() - 1);
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_') ch = '_';
  return name + "_" + suffix;
}

std::string join(const std::vector<std::string>& items, const std::string& separator = ", ") {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : separator) + i;
  return out;
}

// Byte offset just past the first keyword `word` (case-insensitive, as a whole
// word, outside literals and comments), or npos.
std::size_t after_keyword(std::string_view text, std::string_view word, std::size_t from = 0) {
  for (std::size_t i = from; i < text.size();) {
    if (text[i] == '\'' || text[i] == '"' || text[i] == '$' ||
        (text[i] == '-' && i + 1 < text.size() && text[i + 1] == '-') ||
        (text[i] == '/' && i + 1 < text.size() && text[i + 1] == '*')) {
      std::size_t j = i + 1;
      if (text[i] == '\'' || text[i] == '"') {
        while (j < text.size() && text[j] != text[i]) ++j;
        i = j + 1;
      } else if (text[i] == '-') {
        while (j < text.size() && text[j] != '\n') ++j;
        i = j;
      } else if (text[i] == '/') {
        j = text.find("*/", i + 2);
        i = j == std::string_view::npos ? text.size() : j + 2;
      } else {
        ++i;
      }
      continue;
    }
    const bool boundary_before =
        i == 0 || !(std::isalnum(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '_');
    if (boundary_before && i + word.size() <= text.size()) {
      bool match = true;
      for (std::size_t k = 0; k < word.size() && match; ++k)
        match = std::toupper(static_cast<unsigned char>(text[i + k])) == word[k];
      const std::size_t end = i + word.size();
      const bool boundary_after =
          end == text.size() || !(std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_');
      if (match && boundary_after) return end;
    }
    ++i;
  }
  return std::string_view::npos;
}

// The statement with " CONCURRENTLY" after its first `keyword`.
std::string with_concurrently(const std::string& text, std::string_view keyword) {
  const std::size_t at = after_keyword(text, keyword);
  if (at == std::string::npos) return text;
  return text.substr(0, at) + " CONCURRENTLY" + text.substr(at);
}

std::string fmt(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

std::string size_text(double bytes) {
  if (bytes >= 1024.0 * 1024 * 1024) return fmt("%.1f GB", bytes / (1024.0 * 1024 * 1024));
  if (bytes >= 1024.0 * 1024) return fmt("%.1f MB", bytes / (1024.0 * 1024));
  return fmt("%.0f kB", bytes / 1024.0);
}

std::string seconds_text(double s) { return s < 10 ? fmt("%.2g", s) : fmt("%.0f", s); }

// A constant a new NOT NULL column can take on existing rows, by type; empty when none is obvious.
std::string neutral_default(const sql::ColumnDefinition& c) {
  static const std::set<std::string> numbers{"int2",     "int4",    "int8",   "numeric", "float4", "float8",
                                             "smallint", "integer", "bigint", "decimal", "real"};
  if (numbers.contains(c.type)) return "0";
  if (c.type == "text" || c.type == "varchar" || c.type == "bpchar") return "''";
  if (c.type == "bool") return "false";
  if (c.type == "jsonb" || c.type == "json") return "'{}'";
  if (c.type == "timestamptz" || c.type == "timestamp" || c.type == "date") return "now()";
  return "";
}

// Whether changing a column from `old_type` (format_type) to the new type keeps its bytes (no rewrite).
bool binary_coercible(const std::string& old_type, const sql::ColumnDefinition& to) {
  const auto length_of = [](const std::string& t) -> int {
    const auto open = t.find('(');
    return open == std::string::npos ? -1 : std::atoi(t.c_str() + open + 1);
  };
  const bool old_varchar = old_type.rfind("character varying", 0) == 0;
  const bool old_text = old_type == "text";
  if (to.type == "text") return old_varchar || old_text;
  if (to.type == "varchar") {
    if (to.type_modifiers.empty()) return old_varchar || old_text;
    return old_varchar && length_of(old_type) > 0 && length_of(old_type) <= to.type_modifiers.front();
  }
  if (to.type == "numeric" && old_type.rfind("numeric", 0) == 0) {
    if (to.type_modifiers.empty()) return true;
    const auto comma = old_type.find(',');
    const int old_scale = comma == std::string::npos ? 0 : std::atoi(old_type.c_str() + comma + 1);
    const int new_scale = to.type_modifiers.size() > 1 ? to.type_modifiers[1] : 0;
    return length_of(old_type) > 0 && length_of(old_type) <= to.type_modifiers.front() && old_scale == new_scale;
  }
  return false;
}

// "a = 1, b = f(x, y)" -> {"a = 1", "b = f(x, y)"}: commas outside brackets and quotes.
std::vector<std::string> top_level_split(const std::string& text) {
  std::vector<std::string> out;
  std::string part;
  int depth = 0;
  char quote = 0;
  for (char ch : text) {
    if (quote) {
      if (ch == quote) quote = 0;
    } else if (ch == '\'' || ch == '"') {
      quote = ch;
    } else if (ch == '(') {
      ++depth;
    } else if (ch == ')') {
      --depth;
    } else if (ch == ',' && depth == 0) {
      out.push_back(part);
      part.clear();
      continue;
    }
    part += ch;
  }
  out.push_back(part);
  for (auto& p : out) {
    const auto b = p.find_first_not_of(" \t\r\n");
    const auto e = p.find_last_not_of(" \t\r\n");
    p = b == std::string::npos ? "" : p.substr(b, e - b + 1);
  }
  return out;
}

// column = a literal (number, 'string', true/false/NULL): re-running it changes nothing.
bool is_constant_assignment(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos) return false;
  std::string value = assignment.substr(eq + 1);
  value.erase(0, value.find_first_not_of(' '));
  std::string upper;
  for (char ch : value) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (upper == "NULL") return false;  // (x = NULL) is never true: the batches would never end
  if (upper == "TRUE" || upper == "FALSE") return true;
  if (!value.empty() && value.front() == '\'' && value.back() == '\'' && value.find('\'', 1) == value.size() - 1)
    return true;
  return !value.empty() && value.find_first_not_of("0123456789.-") == std::string::npos;
}

struct Work {
  int lock = no_lock;
  bool rewrites = false, scans = false, builds_index = false;
  std::vector<std::string> other_locks;
};

class Linter {
 public:
  Linter(const knowledge::RuleBook& rules, const MigrationContext& context, const LintOptions& options)
      : rules_(rules), context_(context), options_(options) {}

  MigrationLint run(std::string_view sql) {
    MigrationLint out;
    const std::vector<SchemaChange> changes = sql::read_schema_changes(sql);
    bool open_transaction = false;
    int open_line = 0;
    std::size_t block_start = 0;  // index in out.statements of the current transaction's first statement
    for (const SchemaChange& c : changes) {
      if (c.kind == ChangeKind::begin) {
        open_transaction = true;
        open_line = c.line;
        block_start = out.statements.size() + 1;
      }
      if (c.kind == ChangeKind::commit || c.kind == ChangeKind::rollback) {
        check_held_locks(out, block_start);
        open_transaction = false;
      }
      out.statements.push_back(lint(c));
    }
    if (!open_transaction && options_.assume_in_transaction) check_held_locks(out, 0);
    if (open_transaction) {
      check_held_locks(out, block_start);
      Finding f = make("MIGRATION_UNCOMMITTED_TRANSACTION", {{"line", std::to_string(open_line)}}, nullptr);
      out.findings.push_back(f);
    }
    for (auto& s : out.statements) {
      Severity worst = Severity::info;
      bool any = false;
      for (const auto& f : s.findings) {
        any = true;
        worst = std::max(worst, f.severity);
        out.findings.push_back(f);
      }
      s.verdict = !any || worst == Severity::info ? "safe" : worst == Severity::low ? "needs care" : "unsafe";
    }
    std::stable_sort(out.findings.begin(), out.findings.end(),
                     [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
    out.safe_script = safe_script(out, changes);
    out.django_atomic_false = std::any_of(out.statements.begin(), out.statements.end(), [](const StatementLint& s) {
      return std::any_of(s.safe_form.begin(), s.safe_form.end(),
                         [](const SafeStatement& x) { return x.outside_transaction; });
    });
    if (!context_.live)
      out.notes.push_back(
          "Judged from the text alone (PostgreSQL " + std::to_string(context_.server_version_num / 10000) +
          "): every table the script does not create is taken to exist and to hold rows. Pass `database` for the "
          "real sizes, row counts and column types.");
    for (const auto& n : context_.notes) out.notes.push_back(n);
    return out;
  }

 private:
  const knowledge::RuleBook& rules_;
  const MigrationContext& context_;
  LintOptions options_;
  std::set<std::string> created_;
  bool lock_timeout_set_ = false, statement_timeout_set_ = false;
  std::set<std::string> not_null_checks_;  // "table.column" with a CHECK (column IS NOT NULL) added in the script
  std::map<std::string, std::string> check_columns_;  // constraint name -> "table.column" for those checks
  std::set<std::string> proven_not_null_;             // validated ones

  bool existing(const std::string& table) const {
    if (table.empty() || created_.contains(table)) return false;
    return !context_.live || context_.tables.contains(table);
  }

  const TableFacts* facts(const std::string& table) const {
    const auto it = context_.tables.find(table);
    return it == context_.tables.end() ? nullptr : &it->second;
  }

  std::string column_type(const std::string& table, const std::string& column) const {
    const TableFacts* f = facts(table);
    if (!f) return "";
    const auto it = f->column_types.find(column);
    return it == f->column_types.end() ? "" : it->second;
  }

  Finding make(const std::string& rule_id, knowledge::TemplateValues values, StatementLint* s) const {
    const knowledge::Rule& rule = rules_.rule(rule_id);
    for (const auto& name : knowledge::template_placeholders(rule.summary + rule.fix))
      if (!values.contains(name)) values[name] = "";
    Finding f;
    f.rule_id = rule.id;
    f.title = rule.title;
    f.category = rule.category;
    f.severity = rule.severity;
    f.source = context_.live ? knowledge::EvidenceSource::estimated : knowledge::EvidenceSource::inferred;
    if (s) {
      f.where.table = s->table;
      f.where.text = s->text;
      f.where.clause = "line " + std::to_string(s->line);
    }
    f.summary = rule.render_summary(values);
    f.fix = rule.render_fix(values);
    return f;
  }

  // The values every statement finding shares; {{duration}} from the model.
  knowledge::TemplateValues base_values(const StatementLint& s) const {
    std::string shown = s.text;
    for (char& c : shown)
      if (c == '\n' || c == '\r' || c == '`') c = ' ';
    if (shown.size() > 160) shown = shown.substr(0, 157) + "...";
    knowledge::TemplateValues v{{"statement", shown},
                                {"table", s.table},
                                {"lock", lock_name(lock_of(s.lock))},
                                {"blocks", s.blocks},
                                {"lock_timeout", options_.lock_timeout},
                                {"statement_timeout", options_.statement_timeout}};
    std::string duration;
    if (s.estimated_seconds && s.table_bytes)
      duration =
          ", about " + seconds_text(*s.estimated_seconds) + " s at its " + size_text(*s.table_bytes) + " (estimated)";
    v["duration"] = duration;
    return v;
  }

  // Adds a finding for a statement. The severity stays the rule's whatever the
  // table's size here: a migration linted on a small copy runs on production.
  void add(StatementLint& s, const std::string& rule_id, knowledge::TemplateValues extra, std::string safe_sql) {
    knowledge::TemplateValues v = base_values(s);
    for (auto& [k, value] : extra) v[k] = value;
    v["safe_sql"] = std::move(safe_sql);
    Finding f = make(rule_id, v, &s);
    if (s.table_bytes) f.numbers["table_bytes"] = *s.table_bytes;
    if (s.estimated_seconds) f.numbers["estimated_seconds"] = *s.estimated_seconds;
    s.findings.push_back(std::move(f));
  }

  static std::string alter(const std::string& table, const std::string& action) {
    return "ALTER TABLE " + table + " " + action;
  }

  std::string backfill(const std::string& table, const std::string& set, const std::string& pending) const {
    return "UPDATE " + table + " SET " + set + " WHERE ctid = ANY (ARRAY(SELECT ctid FROM " + table + " WHERE " +
           pending + " LIMIT " + std::to_string(options_.batch_size) + "))";
  }

  // Steps that set NOT NULL on a filled column without the long lock.
  std::vector<SafeStatement> not_null_steps(const std::string& table, const std::string& column) const {
    const std::string check = default_name(table, {column}, "not_null");
    return {{alter(table, "ADD CONSTRAINT " + check + " CHECK (" + column + " IS NOT NULL) NOT VALID")},
            {alter(table, "VALIDATE CONSTRAINT " + check), true},
            {alter(table, "ALTER COLUMN " + column + " SET NOT NULL"), true},
            {alter(table, "DROP CONSTRAINT " + check)}};
  }

  static std::string render(const std::vector<SafeStatement>& steps) {
    std::string out;
    for (const auto& s : steps) {
      if (s.new_transaction && !out.empty()) out += "-- (a new transaction: COMMIT what came before)\n";
      if (s.outside_transaction) out += "-- (outside any transaction block)\n";
      if (s.repeat_until_done) out += "-- (repeat until it updates 0 rows; each batch commits)\n";
      out += s.sql + ";\n";
    }
    if (!out.empty()) out.pop_back();
    return out;
  }

  Work work_of(const SchemaChange& c) const {
    Work w;
    switch (c.kind) {
      case ChangeKind::create_index:
        w.lock = c.concurrently ? share_update_exclusive : share;
        w.builds_index = w.scans = true;
        break;
      case ChangeKind::drop_index:
        w.lock = c.concurrently ? share_update_exclusive : access_exclusive;
        break;
      case ChangeKind::reindex:
        w.lock = c.concurrently ? share_update_exclusive : share;
        w.builds_index = w.scans = true;
        break;
      case ChangeKind::create_table:
        for (const auto& r : c.referenced_tables) w.other_locks.push_back(std::string("SHARE ROW EXCLUSIVE on ") + r);
        break;
      case ChangeKind::rename_table:
      case ChangeKind::rename_column:
      case ChangeKind::drop_table:
      case ChangeKind::truncate:
        w.lock = access_exclusive;
        break;
      case ChangeKind::vacuum:
        w.lock = c.full ? access_exclusive : share_update_exclusive;
        w.rewrites = c.full;
        w.scans = true;
        break;
      case ChangeKind::cluster:
        w.lock = access_exclusive;
        w.rewrites = w.scans = true;
        break;
      case ChangeKind::refresh_materialized_view:
        w.lock = c.concurrently ? exclusive : access_exclusive;
        w.scans = true;
        break;
      case ChangeKind::lock_table:
        w.lock = lock_of(c.lock_mode);
        break;
      case ChangeKind::update:
      case ChangeKind::delete_rows:
      case ChangeKind::insert:
        w.lock = row_exclusive;
        w.scans = !c.has_where && c.kind != ChangeKind::insert;  // new row versions, the same file: no rewrite
        break;
      case ChangeKind::alter_table:
        for (const AlterAction& a : c.actions) {
          int lock = access_exclusive;
          switch (a.kind) {
            case K::add_column: {
              const auto& d = a.definition;
              const bool volatile_default =
                  std::any_of(d.default_functions.begin(), d.default_functions.end(), is_volatile_function);
              w.rewrites |= volatile_default || is_serial(d.type) || d.identity || d.generated_stored ||
                            (d.has_default && context_.server_version_num < 110000);
              w.scans |= d.check || !d.references.empty();
              w.builds_index |= d.primary_key || d.unique;
              if (!d.references.empty()) w.other_locks.push_back("SHARE ROW EXCLUSIVE on " + d.references);
              break;
            }
            case K::alter_column_type: {
              const std::string old_type = column_type(c.table, a.column);
              w.rewrites |= old_type.empty() || !binary_coercible(old_type, a.definition);
              break;
            }
            case K::set_not_null:
              w.scans |= !proven_not_null_.contains(c.table + "." + a.column);
              break;
            case K::add_constraint:
              if (a.constraint == ConstraintKind::foreign_key) {
                lock = share_row_exclusive;
                w.other_locks.push_back("SHARE ROW EXCLUSIVE on " + a.referenced_table);
              }
              if (a.constraint == ConstraintKind::check || a.constraint == ConstraintKind::foreign_key)
                w.scans |= !a.not_valid;
              if (a.constraint == ConstraintKind::unique || a.constraint == ConstraintKind::primary_key)
                w.builds_index |= !a.using_index;
              if (a.constraint == ConstraintKind::exclusion) w.builds_index = true;
              break;
            case K::validate_constraint:
              lock = share_update_exclusive;
              w.scans = true;
              break;
            case K::attach_partition:
              lock = share_update_exclusive;
              w.other_locks.push_back("ACCESS EXCLUSIVE on " + a.partition);
              break;
            case K::detach_partition:
              lock = a.concurrently ? share_update_exclusive : access_exclusive;
              break;
            case K::set_logged:
            case K::set_unlogged:
              w.rewrites = true;
              break;
            case K::set_statistics:
            case K::set_storage_parameters:
              lock = share_update_exclusive;
              break;
            default:
              break;
          }
          w.lock = std::max(w.lock, lock);
        }
        if (w.builds_index || w.rewrites) w.scans = true;
        break;
      default:
        break;
    }
    return w;
  }

  StatementLint lint(const SchemaChange& c) {
    StatementLint s;
    s.line = c.line;
    s.text = c.text;
    s.table = c.table;
    s.in_transaction = c.in_transaction || options_.assume_in_transaction;
    s.kind = sql::to_string(c.kind);
    if (c.kind == ChangeKind::alter_table) {
      std::vector<std::string> kinds;
      for (const auto& a : c.actions) kinds.push_back(sql::to_string(a.kind));
      s.kind += ": " + join(kinds);
    }
    if (s.table.empty()) s.table = c.index_name;  // DROP INDEX / REINDEX INDEX name the index alone
    const Work w = work_of(c);
    s.lock = lock_name(w.lock);
    s.blocks = blocks_of(w.lock);
    s.other_locks = w.other_locks;
    s.rewrites = w.rewrites;
    s.scans = w.scans;
    s.builds_index = w.builds_index;
    s.new_table = c.kind == ChangeKind::create_table ||
                  (!s.table.empty() && !existing(s.table) && c.kind != ChangeKind::drop_database);
    if (const TableFacts* f = facts(s.table)) {
      s.table_bytes = f->total_bytes;
      const knowledge::Rule& model = rules_.rule("MIGRATION_LONG_BLOCKING_STATEMENT");
      const double mb = f->total_bytes / (1024.0 * 1024.0);
      if (w.rewrites || (c.kind == ChangeKind::update && !c.has_where))  // an UPDATE writes every row anew
        s.estimated_seconds = mb / model.threshold("rewrite_mb_per_s");
      else if (w.builds_index)
        s.estimated_seconds = mb / model.threshold("index_build_mb_per_s");
      else if (w.scans)
        s.estimated_seconds = mb / model.threshold("scan_mb_per_s");
      else if (w.lock >= share)
        s.estimated_seconds = 0.001;  // a catalog change: the time is the wait for the lock
    }

    switch (c.kind) {
      case ChangeKind::create_table:
        created_.insert(c.table);
        type_advice(s, c.table, c.columns);
        break;
      case ChangeKind::set_setting:
        if (c.setting == "lock_timeout") lock_timeout_set_ = c.value != "0" && !c.value.empty();
        if (c.setting == "statement_timeout") statement_timeout_set_ = c.value != "0" && !c.value.empty();
        break;
      case ChangeKind::create_index:
        if (c.concurrently && s.in_transaction)
          add(s, "MIGRATION_CONCURRENTLY_IN_TRANSACTION", {}, c.text);
        else if (!c.concurrently && !s.new_table)
          add(s, "MIGRATION_INDEX_NOT_CONCURRENT", {}, with_concurrently(c.text, "INDEX"));
        if (!c.concurrently && !s.new_table) s.safe_form = {{with_concurrently(c.text, "INDEX"), false, true}};
        if (c.concurrently && s.in_transaction) s.safe_form = {{c.text, false, true}};
        break;
      case ChangeKind::drop_index:
        if (c.concurrently && s.in_transaction) {
          add(s, "MIGRATION_CONCURRENTLY_IN_TRANSACTION", {}, c.text);
          s.safe_form = {{c.text, false, true}};
        } else if (!c.concurrently) {
          add(s, "MIGRATION_DROP_INDEX_NOT_CONCURRENT", {}, with_concurrently(c.text, "INDEX"));
          s.safe_form = {{with_concurrently(c.text, "INDEX"), false, true}};
        }
        break;
      case ChangeKind::reindex:
        if (!c.concurrently) {
          const std::string safe =
              with_concurrently(c.text, after_keyword(c.text, "TABLE") != std::string::npos ? "TABLE" : "INDEX");
          add(s, "MIGRATION_REINDEX_NOT_CONCURRENT", {}, safe);
          s.safe_form = {{safe, false, true}};
        } else if (s.in_transaction) {
          add(s, "MIGRATION_CONCURRENTLY_IN_TRANSACTION", {}, c.text);
          s.safe_form = {{c.text, false, true}};
        }
        break;
      case ChangeKind::refresh_materialized_view:
        if (!c.concurrently) {
          const std::string safe = with_concurrently(c.text, "VIEW");
          add(s, "MIGRATION_REFRESH_NOT_CONCURRENT", {},
              "-- needs a unique index on the view: CREATE UNIQUE INDEX CONCURRENTLY ON " + c.table + " (...);\n" +
                  safe);
          s.safe_form = {{safe}};
        }
        break;
      case ChangeKind::vacuum:
      case ChangeKind::cluster:
        if (c.kind == ChangeKind::cluster || c.full) {
          const std::string safe =
              "-- in a shell, with the pg_repack extension installed:\n-- pg_repack --table=" + c.table +
              (c.kind == ChangeKind::cluster && !c.index_name.empty()
                   ? " --order-by=<the index columns of " + c.index_name + ">"
                   : std::string()) +
              " <database>\nVACUUM (ANALYZE) " + c.table;
          add(s, "MIGRATION_TABLE_REWRITE_COMMAND", {}, safe);
          s.safe_form = {{"VACUUM (ANALYZE) " + c.table}};
        }
        break;
      case ChangeKind::lock_table:
        if (!s.new_table && w.lock >= share)
          add(s, "MIGRATION_LOCK_TABLE", {}, "SET lock_timeout = '" + options_.lock_timeout + "';\n" + c.text);
        break;
      case ChangeKind::rename_table:
        if (!s.new_table) {
          const std::vector<SafeStatement> steps{
              {c.text},
              {"CREATE VIEW " + c.table + " AS SELECT * FROM " + c.new_name},
              {"-- once no running code uses the old name:\nDROP VIEW " + c.table, true}};
          add(s, "MIGRATION_RENAME_TABLE", {{"table", c.table}}, render(steps));
          s.safe_form = steps;
        }
        break;
      case ChangeKind::rename_column:
        if (!s.new_table) {
          std::string type = column_type(c.table, c.old_column);
          if (type.empty()) type = "<the type of " + c.old_column + ">";
          const std::string fn = default_name(c.table, {c.new_name}, "sync");
          const std::vector<SafeStatement> steps{
              {alter(c.table, "ADD COLUMN " + c.new_name + " " + type)},
              {"CREATE FUNCTION " + fn + "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW." + c.new_name +
               " := NEW." + c.old_column + "; RETURN NEW; END $$"},
              {"CREATE TRIGGER " + fn + " BEFORE INSERT OR UPDATE ON " + c.table + " FOR EACH ROW EXECUTE FUNCTION " +
               fn + "()"},
              {backfill(c.table, c.new_name + " = " + c.old_column, c.new_name + " IS DISTINCT FROM " + c.old_column),
               true, false, true},
              {"-- deploy code that reads and writes " + c.new_name + ", then:\nDROP TRIGGER " + fn + " ON " + c.table,
               true},
              {"DROP FUNCTION " + fn + "()"},
              {alter(c.table, "DROP COLUMN " + c.old_column), true}};
          add(s, "MIGRATION_RENAME_COLUMN", {{"column", c.old_column}}, render(steps));
        }
        break;
      case ChangeKind::drop_table:
        if (!s.new_table) add(s, "MIGRATION_DROP_TABLE", {}, c.text);
        created_.erase(c.table);
        break;
      case ChangeKind::drop_database:
        add(s, "MIGRATION_DROP_DATABASE", {}, c.text);
        break;
      case ChangeKind::truncate:
        if (c.cascade && !s.new_table) {
          std::string safe = c.text;
          if (const auto at = after_keyword(safe, "CASCADE"); at != std::string::npos) safe.erase(at - 7, 7);
          add(s, "MIGRATION_TRUNCATE", {{"cascade", ", and every table that references it (CASCADE),"}}, safe);
        }
        break;
      case ChangeKind::update:
      case ChangeKind::delete_rows:
        if (!c.has_where && !s.new_table) {
          const TableFacts* f = facts(c.table);
          const std::string rows = f ? fmt("%.0f", f->rows) : "all";
          std::string safe;
          if (c.kind == ChangeKind::update) {
            const auto set_at = after_keyword(c.text, "SET");
            const std::string set = set_at == std::string::npos ? "" : c.text.substr(set_at + 1);
            // Constant assignments tell which rows are done (a = 1 AND b = 'x'); anything else (a = a + 1)
            // would never reach a fixed point, so it gets ranges of the primary key instead.
            const std::vector<std::string> assignments = top_level_split(set);
            const bool constant =
                !assignments.empty() && std::all_of(assignments.begin(), assignments.end(), is_constant_assignment);
            if (constant) {
              safe = "-- repeat until it updates 0 rows, each batch its own transaction:\n" +
                     backfill(c.table, set, "(" + join(assignments, " AND ") + ") IS NOT TRUE");
              s.safe_form = {
                  {backfill(c.table, set, "(" + join(assignments, " AND ") + ") IS NOT TRUE"), false, false, true}};
            } else {
              safe =
                  "-- one range of the primary key per transaction, :first from its minimum to its maximum in "
                  "steps of " +
                  std::to_string(options_.batch_size) + ":\nUPDATE " + c.table + " SET " + set +
                  " WHERE id >= :first AND id < :first + " + std::to_string(options_.batch_size);
            }
          } else {
            safe = "-- repeat until it deletes 0 rows, each batch its own transaction:\nDELETE FROM " + c.table +
                   " WHERE ctid = ANY (ARRAY(SELECT ctid FROM " + c.table + " LIMIT " +
                   std::to_string(options_.batch_size) + "))";
          }
          add(s, "MIGRATION_UNBATCHED_BACKFILL", {{"rows", rows}}, safe);
        }
        break;
      case ChangeKind::create_domain:
        if (c.has_where)
          add(s, "MIGRATION_DOMAIN_CONSTRAINT", {},
              "-- a CHECK per table column instead:\nALTER TABLE <table> ADD CONSTRAINT <name> CHECK (...) NOT VALID");
        break;
      case ChangeKind::alter_domain_add_constraint:
        add(s, "MIGRATION_DOMAIN_CONSTRAINT", {},
            c.text + " NOT VALID;\nALTER DOMAIN " + c.table + " VALIDATE CONSTRAINT <name>");
        break;
      case ChangeKind::alter_table:
        if (!s.new_table) alter_table(c, s);
        break;
      default:
        break;
    }

    // Waiting for a lock that blocks writes queues every later query; where a
    // rule already gives the safe form, that form replaces the statement.
    const bool blocking = w.lock >= share && c.kind != ChangeKind::lock_table;
    const bool covered = std::any_of(s.findings.begin(), s.findings.end(),
                                     [](const Finding& f) { return f.severity >= Severity::medium; });
    if (blocking && !s.new_table && !lock_timeout_set_ && !covered && c.kind != ChangeKind::drop_database)
      add(s, "MIGRATION_LOCK_TIMEOUT_MISSING", {}, c.text);
    if ((w.rewrites || w.builds_index || (w.scans && w.lock >= share)) && !s.new_table && !statement_timeout_set_ &&
        c.kind != ChangeKind::update && c.kind != ChangeKind::delete_rows)
      add(s, "MIGRATION_STATEMENT_TIMEOUT_MISSING", {}, "");
    if (blocking && !s.new_table && s.estimated_seconds && !covered && (w.rewrites || w.scans || w.builds_index) &&
        *s.estimated_seconds >= rules_.threshold("MIGRATION_LONG_BLOCKING_STATEMENT", "max_blocking_seconds")) {
      const knowledge::Rule& model = rules_.rule("MIGRATION_LONG_BLOCKING_STATEMENT");
      const char* work = w.rewrites ? "rewrite" : w.builds_index ? "index build" : "scan";
      const double rate = model.threshold(w.rewrites       ? "rewrite_mb_per_s"
                                          : w.builds_index ? "index_build_mb_per_s"
                                                           : "scan_mb_per_s");
      add(s, "MIGRATION_LONG_BLOCKING_STATEMENT",
          {{"size", size_text(*s.table_bytes)},
           {"seconds", seconds_text(*s.estimated_seconds)},
           {"work", work},
           {"rate", fmt("%.0f", rate)}},
          "");
    }
    return s;
  }

  void alter_table(const SchemaChange& c, StatementLint& s) {
    const std::string& t = c.table;
    std::vector<SafeStatement> safe;
    bool changed = false;
    for (const AlterAction& a : c.actions) {
      const std::string action = a.text.empty() ? std::string(sql::to_string(a.kind)) : a.text;
      switch (a.kind) {
        case K::add_column: {
          const auto& d = a.definition;
          const bool volatile_default =
              std::any_of(d.default_functions.begin(), d.default_functions.end(), is_volatile_function);
          const bool old_server_default = d.has_default && context_.server_version_num < 110000;
          std::string plain =
              "ADD COLUMN " + d.name + " " +
              (is_serial(d.type)
                   ? (d.type.find("big") != std::string::npos || d.type == "serial8" ? "bigint" : "integer")
                   : d.type_text);
          if (volatile_default || is_serial(d.type) || d.identity || d.generated_stored || old_server_default) {
            std::string reason = volatile_default ? "its default " + d.default_text + " is volatile (a value per row)"
                                 : is_serial(d.type)  ? "a " + d.type + " column takes nextval() for every row"
                                 : d.identity         ? "an identity column takes a sequence value for every row"
                                 : d.generated_stored ? "a stored generated column is computed for every row"
                                                      : "before PostgreSQL 11 any default is written to every row";
            std::vector<SafeStatement> steps{{alter(t, plain)}};
            std::string value = d.default_text;
            if (is_serial(d.type) || d.identity) {
              const std::string seq = default_name(t, {d.name}, "seq");
              steps.push_back({"CREATE SEQUENCE " + seq + " OWNED BY " + t + "." + d.name});
              value = "nextval('" + seq + "')";
            }
            if (!value.empty() && !d.generated_stored) {
              steps.push_back({alter(t, "ALTER COLUMN " + d.name + " SET DEFAULT " + value)});
              steps.push_back({backfill(t, d.name + " = " + value, d.name + " IS NULL"), true, false, true});
            } else if (d.generated_stored) {
              steps.push_back(
                  {"-- fill it for new rows with a BEFORE INSERT OR UPDATE trigger, then backfill old "
                   "rows in batches (UPDATE ... WHERE ctid = ANY (ARRAY(SELECT ... LIMIT " +
                   std::to_string(options_.batch_size) + ")))"});
            }
            if (d.not_null || d.primary_key || d.identity)
              for (auto& step : not_null_steps(t, d.name)) steps.push_back(step);
            if (d.primary_key || d.unique) {
              const std::string idx = default_name(t, {d.name}, d.primary_key ? "pkey" : "key");
              steps.push_back(
                  {"CREATE UNIQUE INDEX CONCURRENTLY " + idx + " ON " + t + " (" + d.name + ")", false, true});
              steps.push_back({alter(
                  t, "ADD CONSTRAINT " + idx + (d.primary_key ? " PRIMARY KEY" : " UNIQUE") + " USING INDEX " + idx)});
            }
            add(s, "MIGRATION_ADD_COLUMN_REWRITES", {{"reason", reason}}, render(steps));
            for (auto& x : steps) safe.push_back(x);
            changed = true;
            break;
          }
          if (d.not_null && !d.has_default && !d.primary_key) {
            const std::string neutral = neutral_default(d);
            std::vector<SafeStatement> steps;
            if (!neutral.empty()) {
              steps.push_back({alter(t, plain + " NOT NULL DEFAULT " + neutral)});
            } else {
              steps.push_back({alter(t, plain)});
              steps.push_back({"-- backfill " + d.name + " in batches, then:"});
              for (auto& step : not_null_steps(t, d.name)) steps.push_back(step);
            }
            add(s, "MIGRATION_ADD_REQUIRED_COLUMN", {{"column", d.name}}, render(steps));
            for (auto& x : steps) safe.push_back(x);
            changed = true;
            break;
          }
          if (!d.references.empty() || d.check || d.primary_key || d.unique) {
            std::string simple = plain;
            if (d.has_default) simple += " DEFAULT " + d.default_text;
            if (d.not_null && d.has_default) simple += " NOT NULL";
            std::vector<SafeStatement> steps{{alter(t, simple)}};
            if (!d.references.empty()) {
              const std::string fk = d.references_name.empty() ? default_name(t, {d.name}, "fkey") : d.references_name;
              steps.push_back({alter(t, "ADD CONSTRAINT " + fk + " FOREIGN KEY (" + d.name + ") REFERENCES " +
                                            d.references + " NOT VALID")});
              steps.push_back({alter(t, "VALIDATE CONSTRAINT " + fk), true});
              add(s, "MIGRATION_FOREIGN_KEY_VALIDATES", {{"referenced", d.references}}, render(steps));
            }
            if (d.primary_key || d.unique) {
              const std::string idx = default_name(t, {d.name}, d.primary_key ? "pkey" : "key");
              steps.push_back(
                  {"CREATE UNIQUE INDEX CONCURRENTLY " + idx + " ON " + t + " (" + d.name + ")", false, true});
              steps.push_back({alter(
                  t, "ADD CONSTRAINT " + idx + (d.primary_key ? " PRIMARY KEY" : " UNIQUE") + " USING INDEX " + idx)});
              add(s, "MIGRATION_UNIQUE_BUILDS_INDEX", {}, render(steps));
            }
            if (d.check)
              add(s, "MIGRATION_CHECK_VALIDATES", {},
                  "-- add the column first, then the CHECK as its own ADD CONSTRAINT ... NOT VALID and VALIDATE "
                  "CONSTRAINT");
            for (auto& x : steps) safe.push_back(x);
            changed = true;
            break;
          }
          std::vector<sql::ColumnDefinition> one{d};
          type_advice(s, t, one);
          safe.push_back({alter(t, action)});
          break;
        }
        case K::alter_column_type: {
          const std::string old_type = column_type(t, a.column);
          if (!old_type.empty() && binary_coercible(old_type, a.definition)) {
            safe.push_back({alter(t, action)});
            break;
          }
          std::string reason = old_type.empty() ? "the current type of " + a.column + " is not known without a database"
                                                : a.column + " goes from " + old_type + " to " +
                                                      a.definition.type_text + ", which changes its stored bytes";
          if (old_type.empty() && (a.definition.type == "text" || a.definition.type == "varchar"))
            reason += " (from varchar or text to " + a.definition.type_text + " there is no rewrite)";
          const std::string next = a.column + "_new";
          const std::string fn = default_name(t, {a.column}, "sync");
          const std::string cast = a.column + "::" + a.definition.type_text;
          const std::vector<SafeStatement> steps{
              {alter(t, "ADD COLUMN " + next + " " + a.definition.type_text)},
              {"CREATE FUNCTION " + fn + "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW." + next + " := NEW." +
               cast + "; RETURN NEW; END $$"},
              {"CREATE TRIGGER " + fn + " BEFORE INSERT OR UPDATE ON " + t + " FOR EACH ROW EXECUTE FUNCTION " + fn +
               "()"},
              {backfill(t, next + " = " + cast, next + " IS NULL AND " + a.column + " IS NOT NULL"), true, false, true},
              {"-- recreate " + a.column + "'s indexes and constraints on " + next +
                   " (CREATE INDEX CONCURRENTLY ...), then swap in one short transaction:\n" +
                   alter(t, "RENAME COLUMN " + a.column + " TO " + a.column + "_old"),
               true},
              {alter(t, "RENAME COLUMN " + next + " TO " + a.column)},
              {"DROP TRIGGER " + fn + " ON " + t},
              {"DROP FUNCTION " + fn + "()"},
              {"-- once no running code reads it:\n" + alter(t, "DROP COLUMN " + a.column + "_old"), true}};
          add(s, "MIGRATION_COLUMN_TYPE_REWRITES", {{"reason", reason}}, render(steps));
          // Offline, a change to text or a varchar is often the free varchar widening: say so, not "unsafe".
          if (old_type.empty() && (a.definition.type == "text" || a.definition.type == "varchar"))
            s.findings.back().severity = Severity::low;
          for (auto& x : steps) safe.push_back(x);
          changed = true;
          break;
        }
        case K::set_not_null:
          if (proven_not_null_.contains(t + "." + a.column)) {
            safe.push_back({alter(t, action)});
            break;
          }
          {
            const auto steps = not_null_steps(t, a.column);
            add(s, "MIGRATION_SET_NOT_NULL_SCANS", {}, render(steps));
            for (auto& x : steps) safe.push_back(x);
            changed = true;
          }
          break;
        case K::add_constraint: {
          const bool fk = a.constraint == ConstraintKind::foreign_key;
          if ((fk || a.constraint == ConstraintKind::check) && a.not_valid) {
            if (a.constraint == ConstraintKind::check && a.constraint_columns.size() == 1 &&
                a.check_text.find("IS NOT NULL") != std::string::npos)
              check_columns_[a.constraint_name] = t + "." + a.constraint_columns.front();
            safe.push_back({alter(t, action)});
            break;
          }
          if (fk || a.constraint == ConstraintKind::check) {
            const std::string name =
                !a.constraint_name.empty()
                    ? a.constraint_name
                    : default_name(
                          t,
                          fk ? a.constraint_columns
                             : std::vector<std::string>{a.constraint_columns.empty() ? ""
                                                                                     : a.constraint_columns.front()},
                          fk ? "fkey" : "check");
            std::string body = action;
            if (a.constraint_name.empty()) {
              const auto at = after_keyword(body, "ADD");
              if (at != std::string::npos) body = body.substr(0, at) + " CONSTRAINT " + name + body.substr(at);
            }
            const std::vector<SafeStatement> steps{{alter(t, body + " NOT VALID")},
                                                   {alter(t, "VALIDATE CONSTRAINT " + name), true}};
            if (fk)
              add(s, "MIGRATION_FOREIGN_KEY_VALIDATES", {{"referenced", a.referenced_table}}, render(steps));
            else
              add(s, "MIGRATION_CHECK_VALIDATES", {}, render(steps));
            for (auto& x : steps) safe.push_back(x);
            changed = true;
            break;
          }
          if ((a.constraint == ConstraintKind::unique || a.constraint == ConstraintKind::primary_key) &&
              !a.using_index) {
            const bool pk = a.constraint == ConstraintKind::primary_key;
            const std::string name =
                !a.constraint_name.empty()
                    ? a.constraint_name
                    : default_name(t, pk ? std::vector<std::string>{} : a.constraint_columns, pk ? "pkey" : "key");
            std::vector<SafeStatement> steps;
            if (pk)
              for (const auto& col : a.constraint_columns)
                if (!proven_not_null_.contains(t + "." + col)) {
                  steps.push_back({"-- if " + col + " is not NOT NULL yet, first:"});
                  for (auto& step : not_null_steps(t, col)) steps.push_back(step);
                }
            steps.push_back(
                {"CREATE UNIQUE INDEX CONCURRENTLY " + name + " ON " + t + " (" + join(a.constraint_columns) + ")",
                 false, true});
            steps.push_back(
                {alter(t, "ADD CONSTRAINT " + name + (pk ? " PRIMARY KEY" : " UNIQUE") + " USING INDEX " + name)});
            add(s, "MIGRATION_UNIQUE_BUILDS_INDEX", {}, render(steps));
            for (auto& x : steps) safe.push_back(x);
            changed = true;
            break;
          }
          if (a.constraint == ConstraintKind::exclusion) {
            add(s, "MIGRATION_EXCLUSION_CONSTRAINT", {},
                "SET lock_timeout = '" + options_.lock_timeout + "';\n" + alter(t, action));
          }
          safe.push_back({alter(t, action)});
          break;
        }
        case K::validate_constraint:
          if (const auto it = check_columns_.find(a.column); it != check_columns_.end())
            proven_not_null_.insert(it->second);
          safe.push_back({alter(t, action), true});
          break;
        case K::drop_column:
          add(s, "MIGRATION_DROP_COLUMN", {{"column", a.column}},
              "SET lock_timeout = '" + options_.lock_timeout + "';\n" + alter(t, action));
          safe.push_back({alter(t, action)});
          break;
        case K::drop_not_null:
          add(s, "MIGRATION_DROP_NOT_NULL", {{"column", a.column}}, alter(t, action));
          safe.push_back({alter(t, action)});
          break;
        case K::detach_partition:
          if (!a.concurrently) {
            const std::string safe_text = alter(t, action + " CONCURRENTLY");
            add(s, "MIGRATION_DETACH_PARTITION_NOT_CONCURRENT", {}, safe_text);
            safe.push_back({safe_text, false, true});
            changed = true;
          } else {
            if (s.in_transaction) add(s, "MIGRATION_CONCURRENTLY_IN_TRANSACTION", {}, alter(t, action));
            safe.push_back({alter(t, action), false, true});
            changed |= s.in_transaction;
          }
          break;
        case K::set_logged:
        case K::set_unlogged: {
          const std::string alt =
              "-- SET LOGGED / UNLOGGED has no online form; pg_repack cannot change it either.\n"
              "-- Run it in a maintenance window with a lock timeout:\nSET lock_timeout = '" +
              options_.lock_timeout + "';\n" + alter(t, action);
          add(s, "MIGRATION_TABLE_REWRITE_COMMAND", {}, alt);
          safe.push_back({alter(t, action)});
          break;
        }
        default:
          safe.push_back({alter(t, action)});
          break;
      }
    }
    if (changed) s.safe_form = std::move(safe);
  }

  // Type choices worth knowing when a column is created (info only).
  void type_advice(StatementLint& s, const std::string& table, const std::vector<sql::ColumnDefinition>& columns) {
    for (const auto& c : columns) {
      const bool key_like = c.name == "id" || (c.name.size() > 3 && c.name.substr(c.name.size() - 3) == "_id");
      if ((c.type == "int4" || c.type == "serial" || c.type == "serial4" || c.type == "int2") && key_like) {
        const std::string type =
            c.type == "serial" || c.type == "serial4" ? "bigint GENERATED BY DEFAULT AS IDENTITY" : "bigint";
        add(s, "MIGRATION_PREFER_BIGINT", {{"column", c.name}, {"type", c.type_text}, {"table", table}},
            "-- " + c.name + " " + type);
      }
      std::string reason;
      if (c.type == "bpchar") reason = "char(n) pads with blanks and is no faster than text";
      if (c.type == "timestamp")
        reason = "timestamp without time zone stores a wall-clock time; timestamptz stores an instant";
      if (!reason.empty())
        add(s, "MIGRATION_PREFER_TEXT_AND_TIMESTAMPTZ",
            {{"column", c.name}, {"type", c.type_text}, {"table", table}, {"reason", reason}},
            "-- " + c.name + (c.type == "timestamp" ? " timestamptz" : " text"));
    }
  }

  // Inside one transaction, a strong lock taken early is held through every
  // later statement: name the first long one.
  void check_held_locks(MigrationLint& out, std::size_t from) {
    for (std::size_t i = from; i < out.statements.size(); ++i) {
      StatementLint& holder = out.statements[i];
      if (holder.new_table || lock_of(holder.lock) < share || holder.lock.empty()) continue;
      for (std::size_t j = i + 1; j < out.statements.size(); ++j) {
        const StatementLint& later = out.statements[j];
        if (later.kind == "commit" || later.kind == "rollback") break;
        if (later.new_table || !(later.rewrites || later.scans || later.builds_index)) continue;
        add(holder, "MIGRATION_LOCKS_HELD_TOO_LONG",
            {{"later", "line " + std::to_string(later.line) + " (" + later.kind +
                           (later.rewrites       ? ", rewrites"
                            : later.builds_index ? ", builds an index"
                                                 : ", scans") +
                           ")"}},
            "");
        return;
      }
      return;
    }
  }

  std::string safe_script(const MigrationLint& out, const std::vector<SchemaChange>& changes) const {
    const bool any_change = std::any_of(out.statements.begin(), out.statements.end(),
                                        [](const StatementLint& s) { return !s.safe_form.empty() || !s.lock.empty(); });
    if (!any_change) return "";
    std::string script =
        "-- Zero-downtime form (dbopt lint_migration). Statements marked 'repeat' run until they "
        "change 0 rows.\nSET lock_timeout = '" +
        options_.lock_timeout + "';\n";
    bool inside = options_.assume_in_transaction;
    for (std::size_t i = 0; i < out.statements.size(); ++i) {
      const StatementLint& s = out.statements[i];
      const ChangeKind kind = changes[i].kind;
      if (kind == ChangeKind::begin) inside = true;
      if (kind == ChangeKind::commit || kind == ChangeKind::rollback) inside = false;
      if (kind == ChangeKind::drop_database) {
        script += "-- removed: " + s.text + "\n";
        continue;
      }
      if (s.safe_form.empty()) {
        script += s.text + ";\n";
        continue;
      }
      script += "-- line " + std::to_string(s.line) + ", instead of: " + s.text.substr(0, 100) + "\n";
      for (const SafeStatement& step : s.safe_form) {
        if (step.outside_transaction && inside) {
          script += "COMMIT;\n";
          if (step.repeat_until_done) script += "-- repeat until it changes 0 rows:\n";
          script += step.sql + ";\nBEGIN;\n";
          continue;
        }
        if (step.new_transaction && inside) script += "COMMIT;\nBEGIN;\n";
        if (step.repeat_until_done) script += "-- repeat until it changes 0 rows, each run committed:\n";
        script += step.sql + ";\n";
      }
    }
    return script;
  }
};

}  // namespace

std::vector<std::string> tables_of(std::string_view sql) {
  std::vector<std::string> out;
  for (const auto& c : sql::read_schema_changes(sql)) {
    std::vector<std::string> names{c.table.empty() ? c.index_name : c.table};
    for (const auto& r : c.referenced_tables) names.push_back(r);
    for (const auto& a : c.actions)
      if (!a.referenced_table.empty()) names.push_back(a.referenced_table);
    for (const auto& n : names)
      if (!n.empty() && std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  }
  return out;
}

MigrationContext read_migration_context(pg::DatabasePool& databases, const std::string& database,
                                        const std::vector<std::string>& tables, const CancellationToken* cancel) {
  MigrationContext context;
  context.live = true;
  const pg::SafeExecutor executor(databases);
  const pg::RunOptions run{.cancel = cancel, .max_rows = 0};
  const auto version = executor.run(database, "SELECT current_setting('server_version_num'), current_database()", run);
  if (!version.rows.empty()) {
    context.server_version_num = std::atoi(version.rows[0][0].value_or("150000").c_str());
    context.database_name = version.rows[0][1].value_or("");
  }
  for (const auto& table : tables) {
    pg::RunOptions with = run;
    with.params = {table};
    // to_regclass: NULL (not an error) for a table that does not exist yet.
    const auto rows = executor.run(
        database,
        "SELECT pg_total_relation_size(c.oid), CASE WHEN c.reltuples >= 0 THEN c.reltuples ELSE "
        "coalesce(pg_stat_get_live_tuples(c.oid), 0) END, a.attname, format_type(a.atttypid, a.atttypmod) "
        "FROM pg_class c LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
        "WHERE c.oid = to_regclass($1)",
        with);
    if (rows.rows.empty()) continue;
    TableFacts facts;
    facts.total_bytes = std::atof(rows.rows[0][0].value_or("0").c_str());
    facts.rows = std::atof(rows.rows[0][1].value_or("0").c_str());
    for (const auto& r : rows.rows)
      if (r[2]) facts.column_types[*r[2]] = r[3].value_or("");
    context.tables[table] = std::move(facts);
  }
  return context;
}

MigrationLint lint_migration(std::string_view sql, const knowledge::RuleBook& rules, const MigrationContext& context,
                             const LintOptions& options) {
  return Linter(rules, context, options).run(sql);
}

}  // namespace dbopt::migration
