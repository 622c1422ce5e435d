// start_session and session_report: the optimization session of the workflow
// (tools/session_store.h). Every other tool records into a session when
// called with its id.
#include "tools/builtin_tools.h"
#include "tools/session_report.h"
#include "tools/session_store.h"

namespace dbopt::tools {
namespace {

SessionStore& sessions_of(ToolContext& ctx) {
  if (!ctx.sessions)
    throw Error(ErrorCode::unavailable, "Sessions are not available in this context.",
                "Use the dbopt server (dbopt serve, dbopt chat) or the REST API, which keep sessions.");
  return *ctx.sessions;
}

}  // namespace

Tool make_start_session_tool() {
  Tool tool;
  tool.name = "start_session";
  tool.title = "Start an optimization session";
  tool.description =
      "Starts an optimization session and returns its id. Pass the id as `session` to every other dbopt tool call "
      "of the workflow (explain_query, suggest_indexes, benchmark_query, ...): their results are collected, and "
      "session_report turns them into the write-up (analysis, plan, indexes, ORM changes, configuration, "
      "benchmarks, monitoring queries). Sessions are kept as files in dbopt's state directory, so separate `dbopt "
      "call` processes and server restarts share them.";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "title": {"type": "string", "maxLength": 200, "description": "What the session is about, e.g. 'Slow order list in the admin'."}
    },
    "additionalProperties": false
  })json");
  tool.output_schema = Json::parse(R"json({
    "type": "object",
    "properties": {"session": {"type": "string"}, "title": {"type": "string"}, "report_resource": {"type": "string"}},
    "required": ["session", "title", "report_resource"]
  })json");
  tool.annotations = {.read_only = false, .destructive = false, .idempotent = false, .open_world = false};
  tool.records_in_session = false;
  tool.handler = [](const Json& args, ToolContext& ctx) {
    const std::string title = args.value("title", "");
    const std::string id = sessions_of(ctx).create(title);
    ToolResult r;
    r.structured = {{"session", id}, {"title", title}, {"report_resource", "dbopt://sessions/" + id}};
    r.markdown = "Session `" + id + "` started" + (title.empty() ? "" : " (" + title + ")") +
                 ". Pass `\"session\": \"" + id +
                 "\"` to every dbopt tool call of this workflow, then call "
                 "session_report.";
    return r;
  };
  return tool;
}

Tool make_session_report_tool() {
  Tool tool;
  tool.name = "session_report";
  tool.title = "Report of an optimization session";
  tool.description =
      "The deliverable of an optimization session (start_session): performance analysis (plans, bottlenecks), "
      "the optimization plan in priority order, index definitions with their rationale, ORM code changes, "
      "configuration, benchmark results before/after (measured or labelled estimated) and the monitoring "
      "queries that track the result. Built only from the results of the calls made with the session. Also "
      "readable as the resource dbopt://sessions/{id}; create_perf_task can file it.";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {"session": {"type": "string", "minLength": 1, "description": "The id from start_session."}},
    "required": ["session"],
    "additionalProperties": false
  })json");
  tool.output_schema = session_report_schema();
  tool.annotations = {.read_only = true, .destructive = false, .idempotent = true, .open_world = false};
  tool.records_in_session = false;
  tool.handler = [](const Json& args, ToolContext& ctx) {
    const std::string id = args["session"];
    const auto snapshot = sessions_of(ctx).snapshot(id);
    if (!snapshot)
      throw Error(ErrorCode::not_found, "Unknown session '" + id + "'.",
                  "Start one with start_session and pass the id it returns (sessions of another machine or "
                  "another sessions.dir are not visible here).");
    SessionReport report = render_session_report(*snapshot);
    return ToolResult{.structured = std::move(report.structured), .markdown = std::move(report.markdown)};
  };
  return tool;
}

}  // namespace dbopt::tools
