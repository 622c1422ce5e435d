// detect_n_plus_one: N+1 query loops in real query logs, with the exact ORM fix.
#include "tools/builtin_tools.h"

namespace dbopt::tools {

Tool make_detect_n_plus_one_tool() {
  Tool tool;
  tool.name = "detect_n_plus_one";
  tool.title = "Find N+1 query loops";
  tool.description =
      "NOT IMPLEMENTED YET (answers isError until the log analysis lands). "
      "Finds N+1 query loops (one query per row of an earlier result) in what an application really ran: a Django "
      "SQL debug log, a PostgreSQL server log (stderr/csvlog/jsonlog), JSON Lines of query events, or the list of "
      "`queries` of one request. Returns each loop with its count, total and mean time, the source query, and the "
      "exact ORM fix (Django: select_related, prefetch_related, Prefetch, annotate, in_bulk, bulk_create).";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "log": {"type": "string", "minLength": 1, "description": "Log text."},
      "log_path": {"type": "string", "minLength": 1, "description": "Path of a log file readable by the dbopt server."},
      "queries": {"type": "array", "minItems": 1, "items": {"type": "string"}, "description": "The SQL statements of one request, in order."},
      "format": {"type": "string", "enum": ["auto", "django", "postgres_stderr", "postgres_csv", "postgres_json", "jsonl"], "default": "auto"},
      "log_line_prefix": {"type": "string", "description": "The server's log_line_prefix, when the stderr format is not detected."},
      "framework": {"type": "string", "enum": ["django", "sqlalchemy", "rails", "graphql", "generic"], "default": "django"},
      "min_repeats": {"type": "integer", "minimum": 2, "description": "Repeats that make a loop (default from the knowledge base: 5)."},
      "min_total_ms": {"type": "number", "minimum": 0, "description": "Total time that makes a loop worth reporting (default 50 ms)."}
    },
    "additionalProperties": false
  })json");
  tool.annotations = {.read_only = true, .destructive = false, .idempotent = true, .open_world = false};
  tool.implemented = false;
  return tool;
}

}  // namespace dbopt::tools
