// suggest_indexes: the smallest index set that cuts a workload's cost most, and the indexes to drop.
#include "tools/builtin_tools.h"

namespace dbopt::tools {

Tool make_suggest_indexes_tool() {
  Tool tool;
  tool.name = "suggest_indexes";
  tool.title = "Recommend indexes for a workload";
  tool.description =
      "NOT IMPLEMENTED YET (answers isError until the index advisor lands). "
      "Recommends the smallest set of indexes (B-tree with the right column order, covering, partial, expression, "
      "GIN, BRIN) that cuts a workload's cost most, verified with HypoPG hypothetical indexes, and lists indexes to "
      "drop. The workload comes from `queries`, from pg_stat_statements on `database`, or from a query `log`; "
      "with only `schema_ddl` and queries it gives rule-based advice labelled as such. Returns each index's DDL "
      "(CREATE INDEX CONCURRENTLY), estimated size, write overhead and the cost before/after per query.";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "queries": {
        "type": "array", "minItems": 1,
        "items": {
          "type": "object",
          "properties": {
            "sql": {"type": "string", "minLength": 1},
            "calls": {"type": "integer", "minimum": 1, "description": "How often the query runs (weight)."},
            "mean_ms": {"type": "number", "minimum": 0}
          },
          "required": ["sql"],
          "additionalProperties": false
        }
      },
      "source": {"type": "string", "enum": ["queries", "pg_stat_statements", "log"], "description": "Where the workload comes from; inferred when absent."},
      "log": {"type": "string", "description": "A query log (Django SQL debug log, PostgreSQL log, JSON Lines)."},
      "schema_ddl": {"type": "string", "description": "CREATE TABLE / CREATE INDEX statements for offline advice."},
      "database": {"type": "string"},
      "budget_mb": {"type": "number", "exclusiveMinimum": 0, "description": "Storage budget for new indexes."},
      "max_indexes": {"type": "integer", "minimum": 1, "maximum": 50},
      "max_columns": {"type": "integer", "minimum": 1, "maximum": 8},
      "min_improvement": {"type": "number", "minimum": 0, "maximum": 1, "description": "Minimum relative workload cost cut for an index to be kept (0.1 = 10%)."},
      "write_weight": {"type": "number", "minimum": 0, "description": "How much index write overhead counts against benefit (write-heavy tables)."},
      "include_tables": {"type": "array", "items": {"type": "string"}},
      "exclude_tables": {"type": "array", "items": {"type": "string"}},
      "time_limit_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 600}
    },
    "additionalProperties": false
  })json");
  tool.annotations = {.read_only = true, .destructive = false, .idempotent = true, .open_world = false};
  tool.implemented = false;
  return tool;
}

}  // namespace dbopt::tools
