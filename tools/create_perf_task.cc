// create_perf_task: a PERF-XXX task in Linear from findings, never filed twice.
#include "tools/builtin_tools.h"

namespace dbopt::tools {

Tool make_create_perf_task_tool() {
  Tool tool;
  tool.name = "create_perf_task";
  tool.title = "File a performance task in Linear";
  tool.description =
      "NOT IMPLEMENTED YET (answers isError until the Linear client lands). "
      "Files a PERF-XXX performance task in Linear from the findings of explain_query, suggest_indexes, "
      "detect_n_plus_one or tune_pool (or free text): problem, evidence, fix, rule ids and how to verify. It first "
      "looks for an open task with the same problem fingerprint and comments there instead of filing a duplicate. "
      "`dry_run` returns the exact title and description without calling Linear.";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "findings": {"type": ["object", "array", "string"], "description": "Structured output of another dbopt tool, or free text."},
      "title": {"type": "string", "minLength": 1, "maxLength": 255},
      "priority": {"type": "integer", "minimum": 0, "maximum": 4, "description": "0 none, 1 urgent, 2 high, 3 medium, 4 low; derived from severity when absent."},
      "labels": {"type": "array", "items": {"type": "string", "minLength": 1}},
      "team": {"type": "string", "description": "Team key (e.g. PERF) or id."},
      "project": {"type": "string"},
      "dry_run": {"type": "boolean", "default": false}
    },
    "required": ["findings"],
    "additionalProperties": false
  })json");
  tool.annotations = {.read_only = false, .destructive = false, .idempotent = true, .open_world = true};
  tool.implemented = false;
  return tool;
}

}  // namespace dbopt::tools
