// explain_query: where a query's time goes, why, and what to change.
#include "tools/builtin_tools.h"

namespace dbopt::tools {

Tool make_explain_query_tool() {
  Tool tool;
  tool.name = "explain_query";
  tool.title = "Explain a slow query";
  tool.description =
      "NOT IMPLEMENTED YET (answers isError until the plan analysis lands). "
      "Explains where a PostgreSQL query spends its time and what to change. Give `sql` to have dbopt run EXPLAIN "
      "on a configured database (read-only; `analyze: true` runs the query inside a rolled-back READ ONLY "
      "transaction), or paste `plan` (EXPLAIN output in TEXT or JSON format) to analyse it offline. Returns the "
      "slowest plan nodes with their exclusive time, row misestimates, spills and filters, each finding tied to a "
      "rule with the fix (DDL, settings, ORM change).";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "sql": {"type": "string", "minLength": 1, "description": "The query to explain. Needs a configured database."},
      "plan": {"type": "string", "minLength": 1, "description": "EXPLAIN output (TEXT or FORMAT JSON) to analyse without a database."},
      "database": {"type": "string", "description": "Configured database name; the default database when absent."},
      "analyze": {"type": "boolean", "default": false, "description": "Run EXPLAIN ANALYZE (the query really executes, read-only, rolled back)."},
      "buffers": {"type": "boolean", "default": true, "description": "Include buffer counts (with analyze)."},
      "analyze_writes": {"type": "boolean", "default": false, "description": "Allow EXPLAIN ANALYZE of INSERT/UPDATE/DELETE; still rolled back, and only where the config allows it for this database."},
      "params": {"type": "array", "items": {"type": ["string", "number", "boolean", "null"]}, "description": "Values for $1, $2, ... placeholders."}
    },
    "additionalProperties": false
  })json");
  tool.annotations = {.read_only = true, .destructive = false, .idempotent = true, .open_world = false};
  tool.implemented = false;
  return tool;
}

}  // namespace dbopt::tools
