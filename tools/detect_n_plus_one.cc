// detect_n_plus_one: N+1 query loops in real query logs, with the exact ORM fix.
//
// A composition: core/workload reads the log (streamed) and groups it into
// units of work, core/nplusone finds the loops and names the fix, the rule
// book gives thresholds and the advice text. With a `database`, its catalog's
// foreign keys relate the queries; otherwise Django's naming conventions do;
// `models` (pasted models.py) names the relations as the application does.
#include <fstream>
#include <sstream>

#include "core/nplusone/detector.h"
#include "core/nplusone/models_file.h"
#include "core/pg/safe_executor.h"
#include "knowledge/rule_book.h"
#include "tools/builtin_tools.h"

namespace dbopt::tools {
namespace {

using nplusone::Group;
using nplusone::Result;

std::vector<nplusone::ForeignKey> catalog_foreign_keys(ToolContext& ctx, const std::string& database) {
  pg::SafeExecutor executor(*ctx.databases);
  pg::RunOptions run;
  run.cancel = &ctx.cancel;
  run.max_rows = 100000;
  const auto result = executor.run(database, R"sql(
    SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, fa.attname
    FROM pg_constraint c
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
    JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1]
    WHERE c.contype = 'f' AND cardinality(c.conkey) = 1)sql",
                                   run);
  std::vector<nplusone::ForeignKey> fks;
  auto unqualified = [](const std::string& name) {
    const auto dot = name.rfind('.');
    std::string n = dot == std::string::npos ? name : name.substr(dot + 1);
    if (n.size() > 1 && n.front() == '"' && n.back() == '"') n = n.substr(1, n.size() - 2);
    return n;
  };
  for (const auto& row : result.rows) {
    if (row.size() < 4 || !row[0] || !row[1] || !row[2] || !row[3]) continue;
    fks.push_back({unqualified(*row[0]), *row[1], unqualified(*row[2]), *row[3]});
  }
  return fks;
}

std::string ms_text(double ms) {
  std::ostringstream out;
  out.precision(ms < 10 ? 2 : 0);
  out << std::fixed << ms << " ms";
  return out.str();
}

std::string percent(double share) {
  std::ostringstream out;
  out.precision(0);
  out << std::fixed << share * 100 << "%";
  return out.str();
}

std::string time_text(const Group& g) {
  if (!g.timed) return "no durations in the log";
  if (g.total_ms <= 0) return "each logged as 0 ms (below the log's resolution; the round trips are the cost)";
  return ms_text(g.total_ms) + " in all, " + ms_text(g.mean_ms()) + " each, " + percent(g.share()) +
         " of the unit's database time";
}

Json fix_json(const nplusone::FixText& f) {
  Json j = {{"sql", f.sql}};
  if (!f.django.empty()) j["django"] = f.django;
  if (!f.relation.empty()) j["relation"] = f.relation;
  if (!f.names_from.empty() && !f.django.empty()) j["names_from"] = f.names_from;
  if (!f.sqlalchemy.empty()) j["sqlalchemy"] = f.sqlalchemy;
  if (!f.rails.empty()) j["rails"] = f.rails;
  if (!f.graphql.empty()) j["graphql"] = f.graphql;
  return j;
}

Json site_json(const nplusone::CallSite& c) {
  return {{"file", c.file}, {"line", c.line}, {"function", c.function}, {"description", c.describe()}};
}

// The fix people should paste first: the framework's own, else Django's, else SQL.
std::string main_fix(const Group& g) {
  if (!g.fix.sqlalchemy.empty()) return "`" + g.fix.sqlalchemy + "`";
  if (!g.fix.rails.empty()) return "`" + g.fix.rails + "`";
  if (!g.fix.graphql.empty()) return "a DataLoader (below)";
  if (!g.fix.django.empty()) return "`" + g.fix.django + "`";
  return g.fix.sql;
}

Json group_json(const Group& g, const knowledge::RuleBook* rules) {
  Json j = {{"kind", nplusone::to_string(g.kind)},
            {"rule_id", g.rule_id},
            {"reported", g.reported},
            {"reason", g.reason},
            {"repeated_query", g.repeated_query},
            {"table", g.table},
            {"loop_body_statements", g.period},
            {"n", g.n},
            {"executions", g.executions},
            {"units", g.units},
            {"loops", g.loops},
            {"timed", g.timed},
            {"fix", fix_json(g.fix)},
            {"first_unit", g.first_unit},
            {"first_line", g.first_line}};
  if (!g.source_query.empty()) j["source_query"] = g.source_query;
  if (!g.via_query.empty()) j["via_query"] = g.via_query;
  if (g.timed) {
    j["total_ms"] = g.total_ms;
    j["mean_ms"] = g.mean_ms();
    j["share"] = g.share();
  }
  if (g.call_site) j["call_site"] = site_json(*g.call_site);
  if (g.loop_site) j["loop_site"] = site_json(*g.loop_site);
  if (!g.severity.empty()) {
    j["severity"] = g.severity;
    j["severity_reason"] = g.severity_reason;
  }
  if (rules && g.reported) {
    const auto& rule = rules->rule(g.rule_id);
    const knowledge::TemplateValues values = {{"query", g.repeated_query},
                                              {"n", std::to_string(g.n)},
                                              {"source", g.source_query.empty() ? "(none)" : g.source_query},
                                              {"time", time_text(g)},
                                              {"django_fix", main_fix(g)},
                                              {"sql_fix", g.fix.sql}};
    j["title"] = rule.title;
    j["summary"] = rule.render_summary(values);
  }
  return j;
}

std::string markdown_group(const Group& g, int index, nplusone::Framework framework, bool python) {
  std::ostringstream md;
  md << "### " << index << ". " << nplusone::to_string(g.kind) << " on `" << g.table << "` — " << g.n << " repeats, "
     << g.severity << " (" << g.rule_id << ")\n\n";
  md << "- Repeated query: `" << g.repeated_query << "`\n";
  if (!g.source_query.empty()) md << "- Source query: `" << g.source_query << "`\n";
  if (!g.via_query.empty()) md << "- Loads through: `" << g.via_query << "`\n";
  md << "- N: " << g.n << " in the largest loop; " << g.executions << " executions in " << g.loops << " loop(s) in "
     << g.units << " unit(s) of work\n";
  md << "- Time: " << time_text(g) << "\n";
  md << "- Severity: " << g.severity << " (" << g.severity_reason << ")\n";
  if (g.call_site) md << "- Call site: `" << g.call_site->describe() << "`\n";
  if (g.loop_site && !(*g.loop_site == *g.call_site)) md << "- Loop: `" << g.loop_site->describe() << "`\n";
  if (framework == nplusone::Framework::sqlalchemy && !g.fix.sqlalchemy.empty())
    md << "- **Fix (SQLAlchemy):** `" << g.fix.sqlalchemy << "`\n";
  else if (framework == nplusone::Framework::rails && !g.fix.rails.empty())
    md << "- **Fix (Rails):** `" << g.fix.rails << "`\n";
  if (!g.fix.graphql.empty())
    md << "- **Fix (GraphQL DataLoader):** batch the loads per request:\n\n```" << (python ? "python" : "js") << "\n"
       << g.fix.graphql << "\n```\n\n";
  if (!g.fix.django.empty())
    md << "- **Fix (Django):** `" << g.fix.django << "` (names from " << g.fix.names_from << ")\n";
  md << "- Fix (SQL): " << g.fix.sql << "\n";
  md << "- Why reported: " << g.reason << "\n\n";
  return md.str();
}

ToolResult run_detect(const Json& args, ToolContext& ctx) {
  const int given = int(args.contains("log")) + int(args.contains("log_path")) + int(args.contains("queries"));
  if (given != 1)
    throw Error(ErrorCode::invalid_argument,
                given == 0 ? "detect_n_plus_one needs `log`, `log_path` or `queries`; none was given."
                           : "Give only one of `log`, `log_path` and `queries`.",
                "Pass the log text as `log`, a file the server can read as `log_path`, or one request's SQL "
                "statements in order as `queries`.");
  if (!ctx.rules)
    throw Error(ErrorCode::unavailable, "The rule knowledge base is not loaded, so there are no thresholds.",
                "Restart dbopt and check knowledge_dir in the config.");
  std::optional<int> min_repeats;
  std::optional<double> min_total_ms;
  if (args.contains("min_repeats")) min_repeats = args["min_repeats"].get<int>();
  if (args.contains("min_total_ms")) min_total_ms = args["min_total_ms"].get<double>();
  nplusone::Options options = nplusone::options_from_rules(*ctx.rules, min_repeats, min_total_ms);
  options.framework = nplusone::parse_framework(args.value("framework", "auto"));
  options.verbose = args.value("verbose", false);
  if (args.contains("unit_gap_ms")) options.grouping.gap_ms = args["unit_gap_ms"].get<double>();
  std::string catalog_note = "Django naming conventions (no database named)";
  if (args.contains("models")) {
    options.schema.models = nplusone::parse_models(args["models"].get<std::string>());
    catalog_note =
        "models.py (" + std::to_string(options.schema.models.size()) + " models), then Django naming conventions";
  }
  if (args.contains("database")) {
    if (!ctx.databases)
      throw Error(ErrorCode::invalid_argument, "`database` needs a configured database, and none is configured.",
                  "Drop `database` to relate queries by Django's naming conventions, or configure the database.");
    const std::string db = args["database"].get<std::string>();
    options.schema.foreign_keys = catalog_foreign_keys(ctx, db);
    catalog_note = std::to_string(options.schema.foreign_keys.size()) + " foreign keys from the catalog of " +
                   ctx.databases->database(db).name +
                   (options.schema.models.empty() ? ", then Django naming conventions" : ", names from models.py");
  }
  workload::ReadOptions read;
  read.format = workload::parse_log_format(args.value("format", "auto"));
  read.log_line_prefix = args.value("log_line_prefix", "");

  ctx.progress(0, 2, "read");
  Result result;
  std::string source;
  if (args.contains("queries")) {
    result = nplusone::analyze_statements(args["queries"].get<std::vector<std::string>>(), options);
    source = "queries";
  } else if (args.contains("log")) {
    std::istringstream in(args["log"].get<std::string>());
    result = nplusone::analyze_log(in, read, options, &ctx.cancel);
    source = "log";
  } else {
    const std::string path = args["log_path"].get<std::string>();
    std::ifstream in(path, std::ios::binary);
    if (!in)
      throw Error(ErrorCode::not_found, "`log_path`: cannot open '" + path + "' for reading.",
                  "Give a path the dbopt server can read (absolute, or relative to its working directory).");
    result = nplusone::analyze_log(in, read, options, &ctx.cancel);
    source = "log_path";
  }
  ctx.progress(2, 2, "done");

  ToolResult out;
  Json& s = out.structured;
  const char* format = source == "queries" ? "queries" : workload::to_string(result.read.format);
  s["input"] = {{"source", source},
                {"format", format},
                {"bytes", result.read.bytes},
                {"lines", result.read.lines},
                {"statements", result.read.statements},
                {"skipped_lines", result.read.skipped_lines},
                {"unparsed_statements", result.unparsed_statements},
                {"distinct_shapes", result.distinct_shapes},
                {"units", result.units},
                {"grouping", result.grouping},
                {"timed", result.timed},
                {"framework", nplusone::to_string(result.framework)},
                {"framework_from", result.framework_evidence},
                {"relations_from", catalog_note}};
  if (!result.read.log_line_prefix.empty()) s["input"]["log_line_prefix"] = result.read.log_line_prefix;
  s["thresholds"] = {{"min_repeats", options.read.min_repeats},
                     {"min_total_ms", options.read.min_total_ms},
                     {"max_loop_body_statements", options.read.max_period},
                     {"count_only", !result.timed}};
  s["groups"] = Json::array();
  for (const auto& g : result.groups) s["groups"].push_back(group_json(g, ctx.rules));
  s["top_offenders"] = Json::array();
  for (std::size_t i = 0; i < result.groups.size() && i < 5; ++i) {
    const Group& g = result.groups[i];
    Json t = {{"repeated_query", g.repeated_query},
              {"kind", nplusone::to_string(g.kind)},
              {"executions", g.executions},
              {"severity", g.severity}};
    if (g.timed) t["total_ms"] = g.total_ms;
    s["top_offenders"].push_back(t);
  }
  if (options.verbose) {
    s["not_reported"] = Json::array();
    for (const auto& g : result.not_reported) s["not_reported"].push_back(group_json(g, ctx.rules));
  }

  std::ostringstream md;
  md << "## N+1 query loops\n\n";
  md << "Read " << result.read.statements << " statements (" << format << ", " << result.read.lines << " lines";
  if (result.read.skipped_lines) md << ", " << result.read.skipped_lines << " bad lines skipped";
  md << ") in " << result.units << " unit(s) of work grouped by " << result.grouping << ". ";
  md << (result.timed ? "Detection by count" : "Count-only mode (no durations)") << ": at least "
     << options.read.min_repeats << " repeats";
  if (result.timed && options.read.min_total_ms > 0) md << " and " << options.read.min_total_ms << " ms in all";
  if (result.timed) md << "; time decides severity and order";
  md << ". Framework: " << nplusone::to_string(result.framework) << " (" << result.framework_evidence
     << "). Relations from " << catalog_note << ".\n\n";
  if (result.groups.empty()) {
    md << "**No N+1 loop found.**\n\n";
  } else {
    md << "**" << result.groups.size() << " loop(s) found.** Top offenders:\n\n";
    md << "| # | severity | kind | table | N | executions | time | share | fix |\n"
          "|---|---|---|---|---|---|---|---|---|\n";
    for (std::size_t i = 0; i < result.groups.size() && i < 5; ++i) {
      const Group& g = result.groups[i];
      md << "| " << i + 1 << " | " << g.severity << " | " << nplusone::to_string(g.kind) << " | " << g.table << " | "
         << g.n << " | " << g.executions << " | "
         << (!g.timed         ? "-"
             : g.total_ms > 0 ? ms_text(g.total_ms)
                              : "0 as logged")
         << " | " << (g.timed && g.total_ms > 0 ? percent(g.share()) : "-") << " | " << main_fix(g) << " |\n";
    }
    md << "\n";
    int index = 1;
    for (const auto& g : result.groups) md << markdown_group(g, index++, result.framework, result.python);
  }
  if (options.verbose && !result.not_reported.empty()) {
    md << "### Repeated statements not reported\n\n";
    for (const auto& g : result.not_reported)
      md << "- `" << g.repeated_query << "` (" << nplusone::to_string(g.kind) << ", N " << g.n << "): " << g.reason
         << "\n";
    md << "\n";
  }
  out.markdown = md.str();
  return out;
}

Json fix_schema() {
  return Json::parse(R"json({
    "type": "object",
    "properties": {
      "django": {"type": "string", "description": "The Django ORM call that loads all rows at once (only when the application is Django: its related names would be invented otherwise)."},
      "names_from": {"type": "string", "description": "Where the model and relation names of the Django call come from: models.py, the catalog, or Django's defaults."},
      "sql": {"type": "string", "description": "The same in SQL: one IN / ANY query or a JOIN."},
      "relation": {"type": "string", "description": "The relation's name as the ORM call uses it (author, author__profile, comment_set, tags)."},
      "sqlalchemy": {"type": "string"},
      "rails": {"type": "string"},
      "graphql": {"type": "string", "description": "The DataLoader to paste: batch function keyed by the column, the ANY($1) query it runs (JavaScript, or Python for graphene/strawberry)."}
    },
    "required": ["sql"]
  })json");
}

Json group_schema() {
  Json g = Json::parse(R"json({
    "type": "object",
    "properties": {
      "kind": {"type": "string", "enum": ["forward_fk", "nested_fk", "reverse_one_to_one", "reverse_fk", "m2m", "filtered_prefetch", "count_per_row", "exists_per_row", "get_in_loop", "repeated_select", "insert_in_loop", "update_in_loop", "delete_in_loop"]},
      "rule_id": {"type": "string"},
      "title": {"type": "string"},
      "severity": {"type": "string"},
      "summary": {"type": "string"},
      "reported": {"type": "boolean"},
      "reason": {"type": "string", "description": "Why the group was (or was not) reported."},
      "repeated_query": {"type": "string", "description": "Normalized: constants as $n."},
      "source_query": {"type": "string", "description": "The query whose rows the loop runs over."},
      "via_query": {"type": "string", "description": "Nested relations: the query before it in the loop body."},
      "table": {"type": "string"},
      "loop_body_statements": {"type": "integer", "minimum": 1},
      "n": {"type": "integer", "minimum": 0, "description": "Repeats in the largest loop."},
      "executions": {"type": "integer", "minimum": 0},
      "units": {"type": "integer", "minimum": 0, "description": "Distinct units of work with this loop."},
      "loops": {"type": "integer", "minimum": 0},
      "severity_reason": {"type": "string"},
      "timed": {"type": "boolean"},
      "total_ms": {"type": "number"},
      "mean_ms": {"type": "number"},
      "share": {"type": "number", "description": "Share (0..1) of the database time of the units concerned."},
      "call_site": {"type": "object", "description": "The innermost frame of the application's own code that runs the repeated query.", "properties": {"file": {"type": "string"}, "line": {"type": "integer"}, "function": {"type": "string"}, "description": {"type": "string"}}},
      "loop_site": {"type": "object", "description": "The frame of the loop that drives it: where the repeated query's stack leaves the source query's.", "properties": {"file": {"type": "string"}, "line": {"type": "integer"}, "function": {"type": "string"}, "description": {"type": "string"}}},
      "first_unit": {"type": "string"},
      "first_line": {"type": "integer", "minimum": 0}
    },
    "required": ["kind", "rule_id", "reported", "reason", "repeated_query", "n", "executions", "fix"]
  })json");
  g["properties"]["fix"] = fix_schema();
  return g;
}

Json output_schema() {
  Json s = Json::parse(R"json({
    "type": "object",
    "properties": {
      "input": {
        "type": "object",
        "properties": {
          "source": {"type": "string", "enum": ["log", "log_path", "queries"]},
          "format": {"type": "string"},
          "log_line_prefix": {"type": "string"},
          "bytes": {"type": "integer"},
          "lines": {"type": "integer"},
          "statements": {"type": "integer"},
          "skipped_lines": {"type": "integer", "description": "Bad lines (garbage, truncated, unknown) skipped."},
          "unparsed_statements": {"type": "integer"},
          "distinct_shapes": {"type": "integer"},
          "units": {"type": "integer"},
          "grouping": {"type": "string", "description": "How statements were grouped into units of work."},
          "timed": {"type": "boolean", "description": "Every statement had a duration; false means count-only mode."},
          "framework": {"type": "string"},
          "framework_from": {"type": "string"},
          "relations_from": {"type": "string"}
        }
      },
      "thresholds": {"type": "object"},
      "top_offenders": {"type": "array", "items": {"type": "object"}}
    },
    "required": ["input", "thresholds", "groups", "top_offenders"]
  })json");
  s["properties"]["groups"] = {{"type", "array"}, {"items", group_schema()}};
  s["properties"]["not_reported"] = {{"type", "array"}, {"items", group_schema()}};
  return s;
}

}  // namespace

Tool make_detect_n_plus_one_tool() {
  Tool tool;
  tool.name = "detect_n_plus_one";
  tool.title = "Find N+1 query loops";
  tool.description =
      "Finds N+1 query loops (one query per row of an earlier result, also loop bodies of several queries and "
      "writes in a loop) in what an application really ran: a Django SQL debug log, a PostgreSQL server log "
      "(stderr with any log_line_prefix, csvlog, jsonlog), JSON Lines of query events {sql, params, duration_ms, "
      "request_id, thread, stack}, or the `queries` of one request. Units of work come from the request id, thread "
      "name, database session or application_name, interleaved requests included. Logs are streamed, so large "
      "files are fine via `log_path`. Detection is by count (5 repeats by default, no time floor); time decides "
      "severity and order. Returns each loop with its kind, N, total and mean time and share, severity, the "
      "source query, the call site and the loop's frame, and the exact fix: Django (select_related, "
      "prefetch_related, Prefetch, annotate(Count/Exists), in_bulk, bulk_create, bulk_update, update) with names "
      "from `models` (pasted models.py) when given, and SQL, plus SQLAlchemy/Rails forms and a GraphQL DataLoader "
      "to paste when the framework is known. `verbose` also lists repeated statements that were not reported, "
      "with the reason.";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "log": {"type": "string", "minLength": 1, "description": "Log text."},
      "log_path": {"type": "string", "minLength": 1, "description": "Path of a log file readable by the dbopt server (streamed)."},
      "queries": {"type": "array", "minItems": 1, "items": {"type": "string"}, "description": "The SQL statements of one request, in order."},
      "format": {"type": "string", "enum": ["auto", "django", "postgres_stderr", "postgres_csv", "postgres_json", "jsonl"], "default": "auto"},
      "log_line_prefix": {"type": "string", "description": "The server's log_line_prefix (SHOW log_line_prefix), when the stderr format's prefix is not detected."},
      "framework": {"type": "string", "enum": ["auto", "django", "sqlalchemy", "rails", "graphql", "generic"], "default": "auto", "description": "The application's ORM; auto reads it from the log (stacks, framework field), else Django and SQL fixes are given."},
      "database": {"type": "string", "description": "Configured database whose catalog's foreign keys relate the queries; without it Django's naming conventions do."},
      "min_repeats": {"type": "integer", "minimum": 2, "description": "Repeats that make a loop (default from the knowledge base: 5)."},
      "min_total_ms": {"type": "number", "minimum": 0, "description": "A time floor for reporting a loop (default 0: detection is by count; time decides severity and order; ignored when the log has no durations)."},
      "models": {"type": "string", "minLength": 1, "description": "The application's models.py (several files one after another, each after a comment such as `# blog/models.py`): class names and related_name values for the fix; without it Django's defaults (<model>_set) are used and the answer says so."},
      "unit_gap_ms": {"type": "number", "minimum": 0, "description": "A pause longer than this ends a unit of work when the log has times but no request ids (default 1000)."},
      "verbose": {"type": "boolean", "default": false, "description": "Also list repeated statements that were not reported, with the reason."}
    },
    "additionalProperties": false
  })json");
  tool.output_schema = output_schema();
  tool.annotations = {.read_only = true, .destructive = false, .idempotent = true, .open_world = false};
  tool.handler = run_detect;
  return tool;
}

}  // namespace dbopt::tools
