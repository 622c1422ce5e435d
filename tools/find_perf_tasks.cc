// find_perf_tasks: the team's performance tasks in Linear, by text or fingerprint,
// so an assistant checks what is already tracked before it optimizes.
#include <regex>

#include "linear/linear_client.h"
#include "linear/perf_task.h"
#include "tools/builtin_tools.h"

namespace dbopt::tools {
namespace {

ToolResult run_find(const Json& args, ToolContext& ctx) {
  const auto& settings = ctx.settings.linear;
  const std::string team_key = args.value("team", settings.team_key);
  if (!linear::has_credentials(settings)) {
    // A lookup with nothing to look in: an answer (not a failure) that says so and how to fix it.
    ToolResult result;
    result.structured = {{"configured", false}, {"team", team_key}, {"searched_by", "none"}, {"tasks", Json::array()}};
    result.markdown = "Linear is not configured, so no tasks were checked. " + linear::how_to_configure();
    return result;
  }
  const bool include_closed = args.value("include_closed", false);
  const int limit = args.value("limit", 10);
  std::string fingerprint = args.value("fingerprint", "");
  if (auto found = linear::fingerprint_in(fingerprint); !found.empty()) fingerprint = found;
  const std::string text = args.value("query", "");

  linear::LinearClient client(settings);
  const linear::Team team = client.team(team_key, ctx.cancel);
  std::vector<linear::Issue> issues;
  std::string searched_by;
  if (!fingerprint.empty()) {
    searched_by = "fingerprint";
    issues =
        client.issues_containing(team.id, linear::fingerprint_line(fingerprint), include_closed, limit, ctx.cancel);
  } else if (!text.empty()) {
    searched_by = "text";
    issues = client.search_issues(team.id, text, include_closed, limit, ctx.cancel);
  } else {
    searched_by = "dbopt_tasks";  // every task dbopt filed (they carry a fingerprint line)
    issues = client.issues_containing(team.id, "dbopt-fingerprint: ", include_closed, limit, ctx.cancel);
  }

  ToolResult result;
  Json tasks = Json::array();
  std::string md = "Team " + team.key + " (" + team.name + "): " + std::to_string(issues.size()) +
                   (include_closed ? " task" : " open task") + (issues.size() == 1 ? "" : "s");
  if (searched_by == "fingerprint") md += " with fingerprint `" + fingerprint + "`";
  if (searched_by == "text") md += " matching \"" + text + "\"";
  if (searched_by == "dbopt_tasks") md += " filed by dbopt";
  md += issues.empty() ? ".\n" : ":\n\n";
  for (const auto& i : issues) {
    Json t = {{"identifier", i.identifier}, {"title", i.title},           {"url", i.url},
              {"state", i.state_name},      {"state_type", i.state_type}, {"priority", i.priority},
              {"created_at", i.created_at}, {"updated_at", i.updated_at}};
    const std::string fp = linear::fingerprint_in(i.description);
    if (!fp.empty()) t["fingerprint"] = fp;
    tasks.push_back(t);
    md += "- [" + i.identifier + "](" + i.url + ") " + i.title + " — " + i.state_name + ", priority " +
          std::to_string(i.priority) + (fp.empty() ? "" : ", fingerprint `" + fp + "`") + "\n";
  }
  if (issues.empty() && searched_by != "text")
    md += "\nNothing is tracked yet: create_perf_task files one (it checks the fingerprint first).\n";
  result.structured = {{"configured", true}, {"team", team.key}, {"searched_by", searched_by}, {"tasks", tasks}};
  result.markdown = md;
  return result;
}

}  // namespace

Tool make_find_perf_tasks_tool() {
  Tool tool;
  tool.name = "find_perf_tasks";
  tool.title = "Find performance tasks in Linear";
  tool.description =
      "Searches the team's performance tasks in Linear (PERF-XXX) so you can check what is already tracked before "
      "optimizing: by `fingerprint` (the dbopt-fingerprint create_perf_task puts in every task; exact), by `query` "
      "text (Linear's full-text search), or, with neither, every task dbopt filed. Open tasks only unless "
      "`include_closed`. Answers identifier, title, URL, state, priority and fingerprint of each. Needs "
      "LINEAR_API_KEY (or linear.api_key); without one it answers configured: false and how to set it.";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "query": {"type": "string", "minLength": 1, "description": "Words to search for in titles and descriptions."},
      "fingerprint": {"type": "string", "pattern": "^(dbopt-fingerprint: )?[0-9a-f]{16}$", "description": "A task fingerprint from create_perf_task (16 hex digits)."},
      "team": {"type": "string", "minLength": 1, "description": "Team key (e.g. PERF) or id; linear.team_key when absent."},
      "include_closed": {"type": "boolean", "default": false, "description": "Also completed and canceled tasks."},
      "limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10}
    },
    "additionalProperties": false
  })json");
  tool.output_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "configured": {"type": "boolean", "description": "false: no Linear key is configured, nothing was searched."},
      "team": {"type": "string"},
      "searched_by": {"type": "string", "enum": ["fingerprint", "text", "dbopt_tasks", "none"]},
      "tasks": {
        "type": "array",
        "items": {
          "type": "object",
          "properties": {
            "identifier": {"type": "string"},
            "title": {"type": "string"},
            "url": {"type": "string"},
            "state": {"type": "string"},
            "state_type": {"type": "string"},
            "priority": {"type": "integer", "minimum": 0, "maximum": 4},
            "fingerprint": {"type": "string"},
            "created_at": {"type": "string"},
            "updated_at": {"type": "string"}
          },
          "required": ["identifier", "title", "url", "state", "priority"]
        }
      }
    },
    "required": ["configured", "team", "searched_by", "tasks"]
  })json");
  tool.annotations = {.read_only = true, .destructive = false, .idempotent = true, .open_world = true};
  tool.handler = run_find;
  return tool;
}

}  // namespace dbopt::tools
