// create_perf_task: a PERF-XXX task in Linear from findings, never filed twice.
//
// A composition: the findings (any dbopt tool's structured output, read
// tolerantly, or free text) become a PerfTask (linear/perf_task.h: title,
// description, fingerprint, priority); the Linear client (linear/) looks for
// an open task with the same fingerprint, comments there if one exists, and
// files a new task otherwise. dry_run stops before Linear.
#include <cmath>
#include <cstdio>

#include "linear/linear_client.h"
#include "linear/perf_task.h"
#include "tools/builtin_tools.h"
#include "tools/session_report.h"
#include "tools/session_store.h"

namespace dbopt::tools {
namespace {

std::string format_number(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::string scalar_text(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return format_number(v.get<double>());
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_null()) return "null";
  return v.dump();
}

std::string string_field(const Json& o, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (o.contains(n) && o[n].is_string() && !o[n].get<std::string>().empty()) return o[n].get<std::string>();
  return "";
}

void add_entries(std::vector<std::pair<std::string, std::string>>& out, const Json& v, const std::string& prefix = "") {
  if (v.is_object()) {
    for (const auto& [k, x] : v.items()) {
      if (x.is_object() || x.is_array())
        add_entries(out, x, prefix + k + ".");
      else
        out.emplace_back(prefix + k, scalar_text(x));
    }
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (v[i].is_string() && prefix.empty())
        out.emplace_back("note", v[i].get<std::string>());
      else if (v[i].is_object() || v[i].is_array())
        add_entries(out, v[i], prefix + std::to_string(i) + ".");
      else
        out.emplace_back(prefix + std::to_string(i), scalar_text(v[i]));
    }
  } else if (!v.is_null()) {
    out.emplace_back(prefix.empty() ? "evidence" : prefix.substr(0, prefix.size() - 1), scalar_text(v));
  }
}

bool is_code_key(const std::string& k) {
  return k == "sql" || k == "ddl" || k == "django" || k == "orm" || k == "python";
}

// A fix may be markdown, a list of steps, or an object with DDL / ORM parts.
void add_fix_part(std::string& md, const Json& v, const std::string& key) {
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (is_code_key(key) && s.find("```") == std::string::npos) {
      md += "```" + std::string(key == "sql" || key == "ddl" ? "sql" : "python") + "\n" + s + "\n```\n\n";
    } else {
      if (!key.empty() && !is_code_key(key) && key != "fix") md += "**" + key + "**: ";
      md += s + "\n\n";
    }
  } else if (v.is_array()) {
    for (const auto& x : v) {
      if (x.is_string() && !is_code_key(key))
        md += "- " + x.get<std::string>() + "\n";
      else
        add_fix_part(md, x, key);
    }
    md += "\n";
  } else if (v.is_object()) {
    for (const auto& [k, x] : v.items()) add_fix_part(md, x, k);
  } else if (!v.is_null()) {
    md += scalar_text(v) + "\n\n";
  }
}

std::string read_fix(const Json& f) {
  std::string md;
  if (f.contains("fix")) add_fix_part(md, f["fix"], "fix");
  for (const auto& [k, key] : {std::pair{"ddl", "ddl"}, std::pair{"sql_fix", "sql"}, std::pair{"orm_fix", "orm"},
                               std::pair{"django", "django"}})
    if (f.contains(k)) add_fix_part(md, f[k], key);
  return md;
}

linear::TaskFinding read_finding(const Json& f, std::size_t index) {
  if (!f.is_object())
    throw Error(ErrorCode::invalid_argument, "`findings[" + std::to_string(index) + "]` is not an object.",
                "Each finding is an object with at least rule_id and title (as dbopt tools return them).");
  linear::TaskFinding t;
  t.rule_id = string_field(f, {"rule_id", "rule", "id"});
  t.title = string_field(f, {"title", "name"});
  t.summary = string_field(f, {"summary", "problem", "description", "message", "detail"});
  if (t.title.empty()) t.title = t.summary.empty() ? t.rule_id : t.summary;
  if (t.rule_id.empty() && t.title.empty())
    throw Error(ErrorCode::invalid_argument, "`findings[" + std::to_string(index) + "]` has neither rule_id nor title.",
                "Give each finding a rule_id and a title (dbopt tools' findings have both).");
  t.severity = string_field(f, {"severity"});
  for (char& c : t.severity) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (f.contains("where")) {
    const Json& w = f["where"];
    if (w.is_string()) {
      t.where = w.get<std::string>();
    } else if (w.is_object()) {
      t.where = string_field(w, {"description", "plan_node", "text"});
      const std::string table = string_field(w, {"table"});
      const std::string column = string_field(w, {"column"});
      if (!table.empty()) t.subject = table + (column.empty() ? "" : "." + column);
      if (t.where.empty()) t.where = t.subject;
    }
  }
  if (t.subject.empty()) t.subject = string_field(f, {"query_fingerprint", "fingerprint", "group", "table", "subject"});
  // "evidence" is the source (measured / estimated / inferred) in explain_query, figures elsewhere.
  if (f.contains("evidence")) {
    const Json& e = f["evidence"];
    if (e.is_string() && (e == "measured" || e == "estimated" || e == "inferred"))
      t.evidence_source = e.get<std::string>();
    else
      add_entries(t.evidence, e);
  }
  for (const char* k : {"numbers", "facts", "metrics", "stats"})
    if (f.contains(k)) add_entries(t.evidence, f[k]);
  if (f.contains("saving_share") && f["saving_share"].is_number())
    t.evidence.emplace_back("share of run time the fix can save",
                            format_number(f["saving_share"].get<double>() * 100) + "%");
  t.fix = read_fix(f);
  return t;
}

void read_context(const Json& o, linear::TaskInput& in) {
  if (o.contains("plan_summary") && o["plan_summary"].is_object()) {
    const Json& p = o["plan_summary"];
    for (const char* k : {"execution_time_ms", "planning_time_ms", "total_cost", "slowest_part", "jit_time_ms"})
      if (p.contains(k)) in.context.emplace_back(std::string("plan ") + k, scalar_text(p[k]));
  }
  if (o.contains("hypothetical") && o["hypothetical"].is_object()) {
    const Json& h = o["hypothetical"];
    auto cost = [&](const char* side) {
      if (h.contains(side) && h[side].is_object() && h[side].contains("total_cost"))
        in.context.emplace_back(std::string("estimated cost ") + side + " (HypoPG)",
                                scalar_text(h[side]["total_cost"]));
    };
    cost("before");
    cost("after");
    if (h.contains("cost_change_share") && h["cost_change_share"].is_number())
      in.context.emplace_back("estimated cost change", format_number(h["cost_change_share"].get<double>() * 100) + "%");
  }
  // Other tools: their top-level figures and summary.
  for (const auto& [k, v] : o.items()) {
    if (k == "findings" || k == "plan_summary" || k == "hypothetical" || k == "query") continue;
    if (v.is_number() || v.is_boolean()) in.context.emplace_back(k, scalar_text(v));
    if (v.is_string() && (k == "summary" || k == "database" || k == "platform"))
      in.context.emplace_back(k, v.get<std::string>());
  }
  if (o.contains("mode") && o["mode"].is_string()) in.context.emplace_back("dbopt mode", o["mode"].get<std::string>());
}

std::string guess_source(const Json& o) {
  if (o.contains("tool") && o["tool"].is_string()) return o["tool"];
  if (o.contains("plan_summary") || (o.contains("mode") && o.contains("evidence"))) return "explain_query";
  return "";
}

linear::TaskInput read_input(const Json& args) {
  linear::TaskInput in;
  const Json* given = &args["findings"];
  // A whole tool result (MCP's CallToolResult, `dbopt call --json`): its structured part.
  for (const char* wrapper : {"structuredContent", "structured"})
    if (given->is_object() && given->contains(wrapper) && (*given)[wrapper].is_object()) given = &(*given)[wrapper];
  const Json& findings = *given;
  if (findings.is_string()) {
    in.free_text = findings.get<std::string>();
  } else {
    const Json* list = nullptr;
    if (findings.is_array()) {
      list = &findings;
    } else if (findings.contains("findings")) {
      if (!findings["findings"].is_array())
        throw Error(ErrorCode::invalid_argument, "`findings.findings` is not a list.",
                    "Pass a tool's structured output unchanged; its findings are a list.");
      list = &findings["findings"];
      in.source_tool = guess_source(findings);
      if (findings.contains("query") && findings["query"].is_object())
        in.query_fingerprint = string_field(findings["query"], {"fingerprint"});
      if (in.query_fingerprint.empty()) in.query_fingerprint = string_field(findings, {"query_fingerprint"});
      if (in.sql.empty()) in.sql = string_field(findings, {"sql"});
      read_context(findings, in);
    } else if (findings.contains("rule_id")) {
      in.findings.push_back(read_finding(findings, 0));
    } else {
      throw Error(ErrorCode::invalid_argument, "`findings` has no `findings` list and is not a finding.",
                  "Pass a dbopt tool's structured output (it has a findings list), a list of findings, or text.");
    }
    if (list)
      for (std::size_t i = 0; i < list->size(); ++i) in.findings.push_back(read_finding((*list)[i], i));
  }
  if (args.contains("tool")) in.source_tool = args["tool"];
  if (args.contains("sql")) in.sql = args["sql"];
  if (args.contains("title")) in.title = args["title"].get<std::string>();
  if (args.contains("priority")) in.priority = args["priority"].get<int>();
  return in;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

template <typename T>
std::string names_of(const std::vector<T>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i.name;
  return out.empty() ? "none" : out;
}

template <typename T>
const T* find_named(const std::vector<T>& items, const std::string& wanted) {
  for (const auto& i : items)
    if (i.id == wanted || lower(i.name) == lower(wanted)) return &i;
  return nullptr;
}

constexpr const char* kPerformanceLabel = "performance";

// `session`: the findings and measured figures of that session's report,
// unless findings are given too (then the session only supplies the title).
Json with_session_findings(const Json& args, ToolContext& ctx) {
  if (!args.contains("session")) {
    if (!args.contains("findings"))
      throw Error(ErrorCode::invalid_argument, "create_perf_task needs `findings` or `session`; neither was given.",
                  "Pass a tool's structured output as `findings`, or the id of an optimization session as `session`.");
    return args;
  }
  const std::string id = args["session"];
  const auto snapshot = ctx.sessions ? ctx.sessions->snapshot(id) : std::nullopt;
  if (!snapshot)
    throw Error(ErrorCode::invalid_argument, "Unknown session '" + id + "'.",
                "Start one with start_session and pass its id.");
  Json out = args;
  out.erase("session");
  if (!out.contains("title") && !snapshot->title.empty()) out["title"] = snapshot->title;
  if (out.contains("findings")) return out;
  const SessionReport report = render_session_report(*snapshot);
  if (report.structured["findings"].empty()) {
    out["findings"] = report.markdown;  // nothing rule-based: file the write-up itself
    return out;
  }
  Json from_session = {{"tool", "session_report"}, {"findings", report.structured["findings"]}};
  for (const auto& b : report.structured["benchmarks"]) {
    if (b["evidence"] != "measured" || !b.contains("after")) continue;
    from_session["measured median before (ms)"] = b["before"];
    from_session["measured median after (ms)"] = b["after"];
    if (!out.contains("sql")) out["sql"] = b["query"];
    break;
  }
  out["findings"] = from_session;
  return out;
}

ToolResult run_create(const Json& call_args, ToolContext& ctx) {
  const Json args = with_session_findings(call_args, ctx);
  const linear::TaskInput input = read_input(args);
  const linear::PerfTask task = linear::compose_task(input);
  const auto& settings = ctx.settings.linear;
  const std::string team_key = args.value("team", settings.team_key);
  const bool dry_run = args.value("dry_run", false);
  std::vector<std::string> labels_wanted = {kPerformanceLabel};
  if (args.contains("labels"))
    for (const auto& l : args["labels"])
      if (lower(l.get<std::string>()) != kPerformanceLabel) labels_wanted.push_back(l.get<std::string>());

  ToolResult result;
  Json& out = result.structured;
  out = {{"title", task.title},
         {"description", task.description},
         {"fingerprint", task.fingerprint},
         {"priority", task.priority},
         {"team", team_key},
         {"rule_ids", task.rule_ids},
         {"labels", Json::array()},
         {"notes", Json::array()}};
  if (!task.severity.empty()) out["severity"] = task.severity;

  if (dry_run) {
    out["action"] = "dry_run";
    out["labels"] = labels_wanted;
    if (!linear::has_credentials(settings))
      out["notes"].push_back("No Linear key is configured; a real run needs one. " + linear::how_to_configure());
    result.markdown = "**Dry run**: nothing was sent to Linear. This task would be filed in team " + team_key +
                      " (priority " + std::to_string(task.priority) + ", labels: ";
    for (std::size_t i = 0; i < labels_wanted.size(); ++i) result.markdown += (i ? ", " : "") + labels_wanted[i];
    result.markdown += "), unless an open task with fingerprint `" + task.fingerprint +
                       "` exists, which would get a comment instead.\n\n## " + task.title + "\n\n" + task.description;
    return result;
  }
  if (!linear::has_credentials(settings))
    throw Error(ErrorCode::unavailable, "create_perf_task needs Linear access, and no Linear API key is configured.",
                linear::how_to_configure() + " Or call with `dry_run: true` to get the task text without Linear.");

  linear::LinearClient client(settings);
  const double stages = 3;
  ctx.progress(0, stages, "resolve team");
  const linear::Team team = client.team(team_key, ctx.cancel);
  out["team"] = team.key;

  ctx.progress(1, stages, "look for the same problem");
  const auto existing = client.issues_containing(team.id, task.fingerprint_line, false, 5, ctx.cancel);
  if (!existing.empty()) {
    const linear::Issue& issue = existing.front();
    const linear::Comment comment = client.add_comment(issue.id, linear::evidence_comment(task, input), ctx.cancel);
    out["action"] = "updated";
    out["identifier"] = issue.identifier;
    out["url"] = issue.url;
    out["existing_title"] = issue.title;
    out["state"] = issue.state_name;
    out["comment_url"] = comment.url;
    result.markdown = issue.identifier + " already tracks this problem (" + issue.state_name + ", fingerprint `" +
                      task.fingerprint + "`): the new evidence was added as a comment.\n\n" + "- " + issue.url +
                      "\n- comment: " + comment.url + "\n";
    ctx.progress(stages, stages, "done");
    return result;
  }

  ctx.progress(2, stages, "file the task");
  linear::IssueInput issue_input;
  issue_input.team_id = team.id;
  issue_input.title = task.title;
  issue_input.description = task.description;
  issue_input.priority = task.priority;
  Json labels_used = Json::array();
  for (const auto& name : labels_wanted) {
    const linear::Label* label = find_named(team.labels, name);
    if (label) {
      issue_input.label_ids.push_back(label->id);
      labels_used.push_back(label->name);
    } else if (name == kPerformanceLabel && settings.allow_create_label) {
      const linear::Label made = client.create_label(team.id, kPerformanceLabel, "#f2994a", ctx.cancel);
      issue_input.label_ids.push_back(made.id);
      labels_used.push_back(made.name);
      out["notes"].push_back("Created the label \"performance\" in team " + team.key + ".");
    } else if (name == kPerformanceLabel) {
      out["notes"].push_back("Team " + team.key +
                             " has no \"performance\" label, so the task has none; set "
                             "linear.allow_create_label to have dbopt create it.");
    } else {
      throw Error(
          ErrorCode::not_found,
          "`labels`: team " + team.key + " has no label '" + name + "'; its labels: " + names_of(team.labels) + ".",
          "Use one of those labels, or create the label in Linear first.");
    }
  }
  out["labels"] = labels_used;
  if (args.contains("project")) {
    const linear::Project* project = find_named(team.projects, args["project"].get<std::string>());
    if (!project)
      throw Error(ErrorCode::not_found,
                  "`project`: team " + team.key + " has no project '" + args["project"].get<std::string>() +
                      "'; its projects: " + names_of(team.projects) + ".",
                  "Pass a project name or id from that list.");
    issue_input.project_id = project->id;
    out["project"] = project->name;
  }
  if (args.contains("state")) {
    const linear::WorkflowState* state = find_named(team.states, args["state"].get<std::string>());
    if (!state)
      throw Error(ErrorCode::not_found,
                  "`state`: team " + team.key + " has no workflow state '" + args["state"].get<std::string>() +
                      "'; its states: " + names_of(team.states) + ".",
                  "Pass a state name from that list, or leave it out for the team's default.");
    issue_input.state_id = state->id;
  }
  if (args.contains("assignee_id")) issue_input.assignee_id = args["assignee_id"].get<std::string>();
  if (args.contains("estimate")) issue_input.estimate = args["estimate"].get<int>();

  const linear::Issue created = client.create_issue(issue_input, task.fingerprint_line, ctx.cancel);
  out["action"] = "created";
  out["identifier"] = created.identifier;
  out["url"] = created.url;
  if (!created.state_name.empty()) out["state"] = created.state_name;
  result.markdown = "Filed " + created.identifier + ": " + task.title + "\n\n- " + created.url + "\n- priority " +
                    std::to_string(task.priority) + ", fingerprint `" + task.fingerprint + "`\n";
  for (const auto& n : out["notes"]) result.markdown += "- " + n.get<std::string>() + "\n";
  ctx.progress(stages, stages, "done");
  return result;
}

}  // namespace

Tool make_create_perf_task_tool() {
  Tool tool;
  tool.name = "create_perf_task";
  tool.title = "File a performance task in Linear";
  tool.description =
      "Files a PERF-XXX performance task in Linear from the findings of explain_query, suggest_indexes, "
      "detect_n_plus_one or tune_pool (pass the tool's structured output unchanged, a list of findings, or free "
      "text). The description gives the problem, the evidence (plan figures, N and time, costs before/after), the "
      "fix (DDL, ORM change), the rule ids, how to verify, and a stable fingerprint of the problem (query "
      "fingerprint + rule ids). It first looks for an open task with the same fingerprint and, if there is one, "
      "adds the new evidence as a comment instead of filing a duplicate. Priority comes from the highest "
      "severity unless given. Answers the identifier (PERF-123), URL and whether it was created or updated. "
      "`dry_run: true` returns the exact title and description without calling Linear (no key needed). Needs "
      "LINEAR_API_KEY (or linear.api_key) otherwise.";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "findings": {"type": ["object", "array", "string"], "description": "Structured output of another dbopt tool (with its findings list), a list of findings ({rule_id, title, severity, summary, where, evidence, fix}), or free text."},
      "sql": {"type": "string", "minLength": 1, "description": "The query the findings are about, shown in the task."},
      "tool": {"type": "string", "enum": ["explain_query", "suggest_indexes", "detect_n_plus_one", "tune_pool", "check_health", "top_queries", "advise_scale"], "description": "Which tool produced the findings (guessed when absent); chooses how to verify."},
      "title": {"type": "string", "minLength": 1, "maxLength": 255, "description": "Derived from the main finding when absent."},
      "priority": {"type": "integer", "minimum": 0, "maximum": 4, "description": "0 none, 1 urgent, 2 high, 3 medium, 4 low; derived from severity when absent."},
      "labels": {"type": "array", "items": {"type": "string", "minLength": 1}, "description": "Label names of the team, besides \"performance\"."},
      "team": {"type": "string", "minLength": 1, "description": "Team key (e.g. PERF) or id; linear.team_key when absent."},
      "project": {"type": "string", "minLength": 1, "description": "Project name or id in the team."},
      "state": {"type": "string", "minLength": 1, "description": "Workflow state name (e.g. Todo); the team's default when absent."},
      "assignee_id": {"type": "string", "minLength": 1, "description": "Linear user id to assign."},
      "estimate": {"type": "integer", "minimum": 0, "maximum": 64},
      "dry_run": {"type": "boolean", "default": false, "description": "Return the exact title and description without calling Linear."},
      "session": {"type": "string", "minLength": 1, "description": "An optimization session (start_session): files its report's findings and measured before/after figures when `findings` is absent."}
    },
    "additionalProperties": false
  })json");
  tool.output_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "action": {"type": "string", "enum": ["created", "updated", "dry_run"], "description": "created: a new task; updated: an open task with the same fingerprint got a comment; dry_run: nothing sent."},
      "identifier": {"type": "string", "description": "PERF-123"},
      "url": {"type": "string"},
      "title": {"type": "string"},
      "existing_title": {"type": "string"},
      "description": {"type": "string", "description": "The task's markdown, ending with the fingerprint line."},
      "fingerprint": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
      "priority": {"type": "integer", "minimum": 0, "maximum": 4},
      "severity": {"type": "string"},
      "team": {"type": "string"},
      "project": {"type": "string"},
      "state": {"type": "string"},
      "labels": {"type": "array", "items": {"type": "string"}},
      "rule_ids": {"type": "array", "items": {"type": "string"}},
      "comment_url": {"type": "string"},
      "notes": {"type": "array", "items": {"type": "string"}}
    },
    "required": ["action", "title", "description", "fingerprint", "priority", "team", "labels", "rule_ids", "notes"]
  })json");
  tool.annotations = {.read_only = false, .destructive = false, .idempotent = true, .open_world = true};
  tool.reads_session = true;  // files the session's report
  tool.handler = run_create;
  return tool;
}

}  // namespace dbopt::tools
