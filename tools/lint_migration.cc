// lint_migration: a migration's locks, rewrites and their zero-downtime form.
//
// A composition: core/migration reads the SQL (core/sql/schema_change) and
// applies the rules of knowledge/rules/migration.yaml; with a database it
// first reads the named tables' sizes, rows and column types (read-only,
// through the safe executor). Nothing of the migration is ever run.
#include <sstream>

#include "core/migration/migration_linter.h"
#include "knowledge/rule_book.h"
#include "tools/builtin_tools.h"
#include "tools/finding_json.h"

namespace dbopt::tools {
namespace {

Json statement_json(const migration::StatementLint& s) {
  Json safe = Json::array();
  for (const auto& step : s.safe_form)
    safe.push_back({{"sql", step.sql},
                    {"new_transaction", step.new_transaction},
                    {"outside_transaction", step.outside_transaction},
                    {"repeat_until_done", step.repeat_until_done}});
  Json findings = Json::array();
  for (const auto& f : s.findings) findings.push_back(f.rule_id);
  Json j = {{"line", s.line},
            {"statement", s.text},
            {"kind", s.kind},
            {"table", s.table},
            {"lock", s.lock},
            {"blocks", s.lock.empty() ? "" : s.blocks},
            {"other_locks", s.other_locks},
            {"rewrites", s.rewrites},
            {"scans", s.scans},
            {"builds_index", s.builds_index},
            {"in_transaction", s.in_transaction},
            {"new_table", s.new_table},
            {"verdict", s.verdict},
            {"rules", findings},
            {"safe_form", safe}};
  if (s.table_bytes) j["table_bytes"] = *s.table_bytes;
  if (s.estimated_seconds) j["estimated_seconds"] = *s.estimated_seconds;
  return j;
}

std::string cell(std::string text, std::size_t max = 70) {
  for (char& c : text)
    if (c == '\n' || c == '|' || c == '`') c = ' ';
  return text.size() > max ? text.substr(0, max - 3) + "..." : text;
}

std::string render_markdown(const Json& out) {
  std::ostringstream o;
  const Json& counts = out["counts"];
  o << "# Migration lint\n\n"
    << out["statements"].size() << " statements: " << counts["unsafe"] << " unsafe, " << counts["needs_care"]
    << " need care, " << counts["safe"] << " safe"
    << (out["database_name"].get<std::string>().empty()
            ? std::string(" (judged from the text)")
            : " (table sizes from `" + out["database_name"].get<std::string>() + "`)")
    << ".\n\n| line | statement | lock | blocks | rewrite / scan | time under lock | verdict |\n"
       "|---|---|---|---|---|---|---|\n";
  for (const auto& s : out["statements"]) {
    if (s["lock"].get<std::string>().empty() && s["verdict"] == "safe") continue;
    std::string work = s["rewrites"].get<bool>()       ? "rewrites"
                       : s["builds_index"].get<bool>() ? "builds an index"
                       : s["scans"].get<bool>()        ? "scans"
                                                       : "catalog only";
    if (s["new_table"].get<bool>()) work += " (new table)";
    char seconds[48] = "";
    if (s.contains("estimated_seconds"))
      std::snprintf(seconds, sizeof seconds, "~%.2g s (estimated)", s["estimated_seconds"].get<double>());
    o << "| " << s["line"] << " | `" << cell(s["statement"]) << "` | " << s["lock"].get<std::string>() << " | "
      << s["blocks"].get<std::string>() << " | " << work << " | " << seconds << " | " << s["verdict"].get<std::string>()
      << " |\n";
  }
  bool any = false;
  for (const auto& f : out["findings"]) {
    if (f["severity"] == "info") continue;
    if (!any) o << "\n## What to change, most severe first\n";
    any = true;
    o << "\n### " << f["title"].get<std::string>() << " (" << f["severity"].get<std::string>() << ", `"
      << f["rule_id"].get<std::string>() << "`, " << f["where"].get<std::string>() << ")\n\n"
      << f["summary"].get<std::string>() << "\n\n"
      << f["fix"].get<std::string>() << "\n";
  }
  if (!any) o << "\nNothing to change: no statement takes a lock that blocks the application for long.\n";
  bool any_info = false;
  for (const auto& f : out["findings"]) {
    if (f["severity"] != "info") continue;
    if (!any_info) o << "\n## For information\n\n";
    any_info = true;
    o << "- `" << f["rule_id"].get<std::string>() << "`: " << f["summary"].get<std::string>() << "\n";
  }
  if (!out["safe_script"].get<std::string>().empty() && any) {
    o << "\n## The migration in its zero-downtime form\n\n```sql\n" << out["safe_script"].get<std::string>() << "```\n";
    if (out["django_atomic_false"].get<bool>())
      o << "\nIn Django the CONCURRENTLY steps need a migration with `atomic = False` (its own file), or "
           "`AddIndexConcurrently` / `RemoveIndexConcurrently`.\n";
  }
  if (!out["notes"].empty()) {
    o << "\n## Notes\n\n";
    for (const auto& n : out["notes"]) o << "- " << n.get<std::string>() << "\n";
  }
  return o.str();
}

ToolResult run_lint_migration(const Json& args, ToolContext& ctx) {
  if (!ctx.rules)
    throw Error(ErrorCode::unavailable, "The rule knowledge base is not loaded, so there is nothing to lint against.",
                "Restart dbopt and check knowledge_dir in the config.");
  const std::string sql = args.at("sql").get<std::string>();
  migration::LintOptions options;
  options.lock_timeout = args.value("lock_timeout", options.lock_timeout);
  options.batch_size = args.value("batch_size", options.batch_size);
  options.assume_in_transaction = args.value("assume_in_transaction", false);
  migration::MigrationContext context;
  if (args.contains("database")) {
    if (!ctx.databases)
      throw Error(ErrorCode::invalid_argument, "`database`: no database is configured.",
                  "Set DATABASE_URL or add databases to the config file (config/README.md), or leave `database` out "
                  "to lint from the text alone.");
    ctx.progress(0, 2, "read the tables' sizes");
    context = migration::read_migration_context(*ctx.databases, args["database"].get<std::string>(),
                                                migration::tables_of(sql), &ctx.cancel);
  } else if (args.contains("server_version")) {
    context.server_version_num = args["server_version"].get<int>() * 10000;
  }
  ctx.cancel.check();
  ctx.progress(1, 2, "apply the migration rules");
  const migration::MigrationLint lint = migration::lint_migration(sql, *ctx.rules, context, options);

  const auto min = *knowledge::parse_severity(args.value("min_severity", "info"));
  Json findings = Json::array(), statements = Json::array();
  Json counts = {{"unsafe", 0}, {"needs_care", 0}, {"safe", 0}};
  for (const auto& f : lint.findings)
    if (f.severity >= min) findings.push_back(flat_finding_json(f));
  for (const auto& s : lint.statements) {
    statements.push_back(statement_json(s));
    const std::string key = s.verdict == "needs care" ? "needs_care" : s.verdict;
    counts[key] = counts[key].get<int>() + 1;
  }
  ToolResult result;
  result.structured = {{"tool", "lint_migration"},
                       {"database_name", context.database_name},
                       {"server_version_num", context.server_version_num},
                       {"counts", counts},
                       {"statements", statements},
                       {"findings", findings},
                       {"safe_script", lint.safe_script},
                       {"django_atomic_false", lint.django_atomic_false},
                       {"notes", lint.notes}};
  result.markdown = render_markdown(result.structured);
  ctx.progress(2, 2, "done");
  return result;
}

}  // namespace

Tool make_lint_migration_tool() {
  Tool tool;
  tool.name = "lint_migration";
  tool.title = "Lint a migration for zero-downtime";
  tool.description =
      "Reads a migration (SQL statements, or Django `sqlmigrate` output with its BEGIN/COMMIT) without running it and "
      "says, statement by statement, which lock it takes on which table (PostgreSQL 15's documented lock levels), "
      "what that lock blocks, whether it rewrites or scans the table, how long that is at the table's size (with "
      "`database`: real sizes, rows, column types and server version, read-only), and the zero-downtime form to "
      "run instead: CREATE INDEX CONCURRENTLY outside a transaction (Django AddIndexConcurrently, atomic = False), "
      "NOT VALID + VALIDATE CONSTRAINT, constant vs volatile ADD COLUMN defaults, SET NOT NULL through a validated "
      "CHECK, UNIQUE USING INDEX, column type changes and renames by expand/contract, lock_timeout, batched "
      "backfills. Returns the whole migration rewritten in its safe form. Covers squawk's rules and goes beyond "
      "them (locks held across a transaction, table sizes). Use it before any schema change on a live database.";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "sql": {"type": "string", "minLength": 1, "description": "The migration: SQL statements separated by ';' (a migration file, or `python manage.py sqlmigrate app 0042` output)."},
      "database": {"type": "string", "description": "Configured database name: read the named tables' sizes, rows and column types, and the server version (read-only). Without it the text alone is judged."},
      "server_version": {"type": "integer", "minimum": 9, "maximum": 30, "description": "PostgreSQL major version when no database is given (default 15): before 11, any ADD COLUMN default rewrites."},
      "assume_in_transaction": {"type": "boolean", "default": false, "description": "The migration runs inside one transaction although it has no BEGIN (a Django migration run by `migrate`)."},
      "lock_timeout": {"type": "string", "default": "2s", "maxLength": 20, "description": "lock_timeout the safe form sets."},
      "batch_size": {"type": "integer", "minimum": 100, "maximum": 1000000, "default": 5000, "description": "Rows per batch in backfills."},
      "min_severity": {"type": "string", "enum": ["info", "low", "medium", "high", "critical"], "default": "info", "description": "Leave out findings below this severity."}
    },
    "required": ["sql"],
    "additionalProperties": false
  })json");
  tool.output_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "tool": {"type": "string"},
      "database_name": {"type": "string"},
      "server_version_num": {"type": "integer"},
      "counts": {"type": "object", "properties": {"unsafe": {"type": "integer"}, "needs_care": {"type": "integer"}, "safe": {"type": "integer"}}, "required": ["unsafe", "needs_care", "safe"]},
      "statements": {"type": "array", "items": {"type": "object", "properties": {
        "line": {"type": "integer"}, "statement": {"type": "string"}, "kind": {"type": "string"}, "table": {"type": "string"},
        "lock": {"type": "string"}, "blocks": {"type": "string"}, "other_locks": {"type": "array", "items": {"type": "string"}},
        "rewrites": {"type": "boolean"}, "scans": {"type": "boolean"}, "builds_index": {"type": "boolean"},
        "in_transaction": {"type": "boolean"}, "new_table": {"type": "boolean"},
        "table_bytes": {"type": "number"}, "estimated_seconds": {"type": "number"},
        "verdict": {"type": "string", "enum": ["safe", "needs care", "unsafe"]},
        "rules": {"type": "array", "items": {"type": "string"}},
        "safe_form": {"type": "array", "items": {"type": "object"}}},
        "required": ["line", "statement", "kind", "lock", "rewrites", "scans", "verdict", "rules", "safe_form"]}},
      "findings": {"type": "array", "items": {"type": "object", "properties": {
        "rule_id": {"type": "string"}, "title": {"type": "string"},
        "severity": {"type": "string", "enum": ["info", "low", "medium", "high", "critical"]},
        "evidence": {"type": "string", "enum": ["measured", "estimated", "inferred"]},
        "where": {"type": "string"}, "table": {"type": "string"}, "subject": {"type": "string"},
        "summary": {"type": "string"}, "fix": {"type": "string"}, "numbers": {"type": "object"}},
        "required": ["rule_id", "title", "severity", "evidence", "summary", "fix"]}},
      "safe_script": {"type": "string"},
      "django_atomic_false": {"type": "boolean"},
      "notes": {"type": "array", "items": {"type": "string"}}
    },
    "required": ["tool", "counts", "statements", "findings", "safe_script", "notes"]
  })json");
  tool.annotations = {.read_only = true, .destructive = false, .idempotent = true, .open_world = false};
  tool.handler = run_lint_migration;
  return tool;
}

}  // namespace dbopt::tools
