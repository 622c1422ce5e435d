// explain_query: where a query's time goes, why, and what to change.
//
// A composition: core/sql reads the SQL, core/pg runs EXPLAIN through the safe
// executor (or HypoPG), core/plan reads and measures the plan, core/rules
// applies the knowledge base, explain_report.h renders. Three modes: a pasted
// plan read offline, a live EXPLAIN (generic plan for $n without values), and
// a live EXPLAIN ANALYZE or a before/after with hypothetical indexes. With
// only SQL text and no database, the text alone is analysed.
#include <algorithm>
#include <cstdio>

#include "core/pg/hypothetical_indexes.h"
#include "core/pg/safe_executor.h"
#include "core/plan/explain_reader.h"
#include "core/rules/plan_checker.h"
#include "core/rules/query_checker.h"
#include "core/sql/fingerprint.h"
#include "core/sql/query_model.h"
#include "knowledge/rule_book.h"
#include "tools/builtin_tools.h"
#include "tools/explain_report.h"

namespace dbopt::tools {
namespace {

using explain::AnalysedPlan;
using explain::Mode;

constexpr double kStages = 4;

struct Request {
  std::optional<std::string> sql;
  std::optional<std::string> plan;
  std::optional<std::string> schema;
  std::string database;  // "" = the default one
  bool database_named = false;
  bool analyze = false;
  bool buffers = true;
  bool analyze_writes = false;
  std::vector<Json> params;
  std::vector<std::string> hypothetical_indexes;
};

// The values of params as bound parameters: one per placeholder, as text (numbers and
// booleans in PostgreSQL's input form), null as NULL.
std::vector<std::optional<std::string>> parameter_values(int parameter_count, const std::vector<Json>& values) {
  if (parameter_count == 0)
    throw Error(ErrorCode::invalid_argument, "`params` were given, but `sql` has no $1..$n placeholders",
                "Drop params, or write the values' places in sql as $1, $2, ...");
  if (static_cast<int>(values.size()) != parameter_count)
    throw Error(ErrorCode::invalid_argument,
                "`params` has " + std::to_string(values.size()) + " value(s), but `sql` uses placeholders up to $" +
                    std::to_string(parameter_count),
                "Give exactly one value per placeholder, in order: params[0] for $1, params[1] for $2, ...");
  std::vector<std::optional<std::string>> out;
  out.reserve(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const Json& v = values[i];
    std::optional<std::string> text;
    if (v.is_string())
      text = v.get<std::string>();
    else if (v.is_boolean())
      text = v.get<bool>() ? "true" : "false";
    else if (v.is_number())
      text = v.dump();
    if (text && text->find('\0') != std::string::npos)
      throw Error(ErrorCode::invalid_argument, "params[" + std::to_string(i) + "] contains a NUL character",
                  "PostgreSQL text cannot hold NUL characters; remove it.");
    out.push_back(std::move(text));  // the schema allows only these types and null
  }
  return out;
}

std::optional<std::string> optional_string(const Json& args, const char* field) {
  if (!args.contains(field)) return std::nullopt;
  return args[field].get<std::string>();
}

Request read_request(const Json& args) {
  Request r;
  r.sql = optional_string(args, "sql");
  r.plan = optional_string(args, "plan");
  r.schema = optional_string(args, "schema");
  r.database_named = args.contains("database");
  r.database = args.value("database", "");
  r.analyze = args.value("analyze", false);
  r.buffers = args.value("buffers", true);
  r.analyze_writes = args.value("analyze_writes", false);
  if (args.contains("params")) r.params = args["params"].get<std::vector<Json>>();
  if (args.contains("hypothetical_indexes"))
    r.hypothetical_indexes = args["hypothetical_indexes"].get<std::vector<std::string>>();
  return r;
}

// Combinations that cannot do what the caller meant, refused before any work.
void check_combination(const Request& r) {
  if (!r.sql && !r.plan)
    throw Error(ErrorCode::invalid_argument, "explain_query needs `sql` or `plan`; neither was given.",
                "Pass `sql` (the query, explained on a configured database or analysed as text) or `plan` (EXPLAIN "
                "output in TEXT or FORMAT JSON, analysed offline).");
  if (r.plan) {
    for (const auto& [given, field] :
         {std::pair{r.analyze, "analyze"}, std::pair{!r.hypothetical_indexes.empty(), "hypothetical_indexes"},
          std::pair{!r.params.empty(), "params"}, std::pair{r.analyze_writes, "analyze_writes"}}) {
      if (given)
        throw Error(
            ErrorCode::invalid_argument,
            std::string("`") + field +
                "` needs dbopt to run the query, but `plan` was given: a pasted plan is "
                "analysed as it is.",
            std::string("Drop `plan` to have dbopt run EXPLAIN on a configured database, or drop `") + field + "`.");
    }
  }
  if (r.analyze && !r.hypothetical_indexes.empty())
    throw Error(ErrorCode::invalid_argument,
                "`analyze` and `hypothetical_indexes` cannot be combined: HypoPG's indexes exist only for the "
                "planner, so EXPLAIN ANALYZE cannot use them.",
                "Drop `analyze` to compare estimated costs before and after the hypothetical indexes.");
}

// core/ errors say what is wrong; the caller also needs to know which field.
[[noreturn]] void rethrow_for_field(const Error& e, const std::string& field, const std::string& fix = {}) {
  throw Error(e.code(), "`" + field + "`: " + e.what(), fix.empty() ? e.fix() : fix);
}

sql::QueryModel parse_sql(const std::string& text) {
  try {
    return sql::parse_query(text);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::invalid_argument) throw;
    rethrow_for_field(e, "sql");
  }
}

plan::Plan parse_pasted_plan(const std::string& text) {
  try {
    return plan::parse_explain(text);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::invalid_argument) throw;
    rethrow_for_field(e, "plan",
                      "Paste the whole output of EXPLAIN (ANALYZE, BUFFERS) or EXPLAIN (ANALYZE, BUFFERS, FORMAT "
                      "JSON), every line, as psql prints it.");
  }
}

bool explainable(sql::StatementKind kind) {
  using K = sql::StatementKind;
  return kind == K::select || kind == K::values || kind == K::insert || kind == K::update || kind == K::delete_ ||
         kind == K::merge;
}

std::string table_name(const sql::TableRef& t) { return t.schema.empty() ? t.name : t.schema + "." + t.name; }

bool same_table(const sql::TableRef& a, const sql::TableRef& b) {
  return a.name == b.name && (a.schema.empty() || b.schema.empty() || a.schema == b.schema);
}

std::string lower_case(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The index a finding's fix proposes (its first CREATE INDEX statement), if any.
std::optional<sql::IndexDefinition> proposed_index(const std::string& fix) {
  const std::size_t start = fix.find("CREATE INDEX");
  if (start == std::string::npos) return std::nullopt;
  const std::size_t end = fix.find(';', start);
  try {
    sql::QueryModel model = sql::parse_query(fix.substr(start, end == std::string::npos ? end : end - start));
    if (model.index && !model.index->keys.empty()) return std::move(model.index);
  } catch (const Error&) {
  }
  return std::nullopt;
}

// A finding that proposes an index the given schema already has (same table,
// same leading key, not partial) says so: a second one would not help; the
// question is why the planner did not use the first.
void note_existing_indexes(const explain::SchemaSummary& schema, std::vector<knowledge::Finding>& findings) {
  for (auto& f : findings) {
    const auto proposed = proposed_index(f.fix);
    if (!proposed) continue;
    const sql::IndexKey& lead = proposed->keys[0];
    for (std::size_t i = 0; i < schema.index_definitions.size(); ++i) {
      const sql::IndexDefinition& index = schema.index_definitions[i];
      if (lower_case(index.table) != lower_case(proposed->table) || index.keys.empty() || !index.where.empty() ||
          lower_case(index.keys[0].column) != lower_case(lead.column) ||
          lower_case(index.keys[0].expression) != lower_case(lead.expression))
        continue;
      const std::string name = index.name.empty() ? "an index" : index.name;
      const std::string key = lead.column.empty() ? lead.expression : lead.column;
      f.facts["existing_index"] = schema.indexes_on_query_tables[i];
      f.summary += " The schema given already has " + name + " leading with " + key +
                   ", and the planner did not use it: before adding another, check that the statistics are fresh "
                   "(ANALYZE " +
                   proposed->table +
                   "), that the condition compares the column's own type (a cast "
                   "on the column defeats the index), and how many rows match (an index is skipped when many do).";
      break;
    }
  }
}

explain::SchemaSummary read_schema(const std::string& ddl, const sql::QueryModel* query) {
  std::vector<sql::QueryModel> statements;
  try {
    statements = sql::parse_script(ddl);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::invalid_argument) throw;
    rethrow_for_field(e, "schema", "Pass DDL that PostgreSQL 15 parses (pg_dump --schema-only output works).");
  }
  explain::SchemaSummary summary;
  summary.statements = static_cast<int>(statements.size());
  std::vector<sql::TableRef> defined;
  for (const auto& s : statements) {
    if (s.kind != sql::StatementKind::create_table) continue;
    for (const auto& t : s.tables) {
      if (t.role != sql::TableRole::defined) continue;
      defined.push_back(t);
      summary.tables_defined.push_back(table_name(t));
    }
  }
  if (!query) return summary;
  std::vector<sql::TableRef> query_tables;
  for (const auto& t : query->tables) {
    if (t.is_cte) continue;
    if (std::none_of(query_tables.begin(), query_tables.end(), [&](const auto& q) { return same_table(q, t); }))
      query_tables.push_back(t);
  }
  for (const auto& s : statements) {
    if (s.kind != sql::StatementKind::create_index || !s.index) continue;
    sql::TableRef indexed;
    indexed.schema = s.index->schema;
    indexed.name = s.index->table;
    if (std::any_of(query_tables.begin(), query_tables.end(), [&](const auto& q) { return same_table(q, indexed); })) {
      summary.indexes_on_query_tables.push_back(s.text);
      summary.index_definitions.push_back(*s.index);
    }
  }
  for (const auto& t : query_tables) {
    if (std::none_of(defined.begin(), defined.end(), [&](const auto& d) { return same_table(d, t); }))
      summary.query_tables_not_defined.push_back(table_name(t));
  }
  return summary;
}

// Refusals of the safe executor name what was refused; the caller also needs
// the field. Runs inside a catch handler: anything else is rethrown as it is.
[[noreturn]] void rethrow_database_error(const Error& e) {
  switch (e.code()) {
    case ErrorCode::permission_denied:
    case ErrorCode::invalid_argument:
      rethrow_for_field(e, "sql");
    case ErrorCode::not_found:
      rethrow_for_field(e, "database");
    default:
      throw;
  }
}

template <typename Run>
auto database_call(Run&& run) -> decltype(run()) {
  try {
    return run();
  } catch (const Error& e) {
    rethrow_database_error(e);
  }
}

bool scans_index(const AnalysedPlan& p, const std::string& index_name) {
  return std::any_of(p.metrics.plan_nodes.begin(), p.metrics.plan_nodes.end(),
                     [&](const plan::PlanNode* n) { return n->index_name == index_name; });
}

// The executor hands EXPLAIN's JSON back as PostgreSQL printed it.
AnalysedPlan read_server_plan(const std::string& json) { return explain::analyse_plan(plan::parse_explain_json(json)); }

void collect_scanned_tables(const plan::PlanNode& node, std::vector<std::string>& out) {
  if (node.node_type == "Seq Scan" && node.filter && node.relation_name) {
    const std::string name = node.schema ? *node.schema + "." + *node.relation_name : *node.relation_name;
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  }
  for (const auto& child : node.children) collect_scanned_tables(child, out);
}

// The catalog's size (reltuples, relpages) of the tables the plan scans with
// a filter: what an estimated plan's row counts are compared with.
rules::TableSizes read_table_sizes(const pg::SafeExecutor& executor, const std::string& database,
                                   const plan::Plan& plan, const CancellationToken& cancel) {
  std::vector<std::string> tables;
  collect_scanned_tables(plan.root, tables);
  rules::TableSizes sizes;
  for (const auto& table : tables) {
    const pg::QueryResult result =
        executor.run(database, "SELECT reltuples::float8, relpages::float8 FROM pg_class WHERE oid = to_regclass($1)",
                     {.cancel = &cancel, .max_rows = 1, .params = {table}});
    if (result.rows.empty() || !result.rows[0][0] || !result.rows[0][1]) continue;
    const double rows = std::stod(*result.rows[0][0]);
    if (rows >= 0) sizes[table] = {.rows = rows, .pages = std::stod(*result.rows[0][1])};  // -1: never analysed
  }
  return sizes;
}

// EXPLAIN's Settings section lists planner settings only; whether I/O timing
// is on decides what the I/O advice says, so it is read from the server.
void add_io_timing_setting(const pg::SafeExecutor& executor, const std::string& database, plan::Plan& plan,
                           const CancellationToken& cancel) {
  if (plan.settings.contains("track_io_timing")) return;
  const pg::QueryResult result = executor.run(database, "SHOW track_io_timing", {.cancel = &cancel, .max_rows = 1});
  if (!result.rows.empty() && result.rows[0][0]) plan.settings["track_io_timing"] = *result.rows[0][0];
}

ToolResult run_explain(const Json& args, ToolContext& ctx) {
  const Request r = read_request(args);
  ctx.progress(0, kStages, "parse");
  check_combination(r);
  if (!ctx.rules)
    throw Error(ErrorCode::unavailable, "The rule knowledge base is not loaded, so there is nothing to check against.",
                "Restart dbopt and check knowledge_dir in the config.");

  explain::ExplainReport report;
  std::optional<sql::QueryModel> query;
  if (r.sql) {
    query = parse_sql(*r.sql);
    report.query = &*query;
    report.query_fingerprint = sql::fingerprint(*r.sql);
    if (query->kind == sql::StatementKind::explain)
      throw Error(ErrorCode::invalid_argument, "`sql` is an EXPLAIN statement; give the statement to explain.",
                  "Remove the EXPLAIN (...) prefix from `sql` and set `analyze: true` / `buffers: true` instead.");
  }
  std::optional<plan::Plan> pasted;
  if (r.plan) pasted = parse_pasted_plan(*r.plan);
  for (std::size_t i = 0; i < r.hypothetical_indexes.size(); ++i) {
    try {
      pg::require_single_create_index(r.hypothetical_indexes[i]);
    } catch (const Error& e) {
      rethrow_for_field(e, "hypothetical_indexes[" + std::to_string(i) + "]",
                        "Give one CREATE INDEX statement per item, e.g. \"CREATE INDEX ON orders (status)\".");
    }
  }

  // Which mode: what the caller gave, and whether there is a database.
  if (pasted) {
    report.mode = Mode::pasted_plan;
    if (r.database_named) report.notes.push_back("`database` was ignored: a pasted plan needs no database.");
  } else if (!ctx.databases) {
    if (r.analyze || !r.hypothetical_indexes.empty() || r.database_named)
      throw Error(ErrorCode::invalid_argument,
                  std::string("`") +
                      (r.analyze                         ? "analyze"
                       : !r.hypothetical_indexes.empty() ? "hypothetical_indexes"
                                                         : "database") +
                      "` needs a database, and none is configured.",
                  "Set DATABASE_URL or add databases to the config file (config/README.md); or paste EXPLAIN output "
                  "as `plan`; or drop it to have the SQL text analysed alone.");
    report.mode = Mode::text_only;
    if (!r.params.empty()) report.notes.push_back("`params` were not used: with no database nothing runs.");
  } else {
    if (!explainable(query->kind))
      throw Error(
          ErrorCode::invalid_argument,
          std::string("`sql` is a ") + sql::to_string(query->kind) + " statement, which has no plan to explain.",
          "Give a SELECT, VALUES, INSERT, UPDATE, DELETE or MERGE statement.");
    report.mode = !r.hypothetical_indexes.empty() ? Mode::hypothetical_indexes
                  : r.analyze                     ? Mode::live_explain_analyze
                                                  : Mode::live_explain;
    try {
      report.database = ctx.databases->database(r.database).name;
    } catch (const Error& e) {
      rethrow_for_field(e, "database");
    }
  }

  // Live modes: values for $n, or a generic plan without them.
  const std::string sql_to_run = r.sql.value_or("");
  std::vector<std::optional<std::string>> bound_values;
  const bool live = report.mode == Mode::live_explain || report.mode == Mode::live_explain_analyze ||
                    report.mode == Mode::hypothetical_indexes;
  if (live && !r.params.empty()) {
    bound_values = parameter_values(query->parameter_count, r.params);
    report.parameters_bound = true;
  } else if (live && query->parameter_count > 0) {
    if (r.analyze)
      throw Error(ErrorCode::invalid_argument,
                  "`analyze` runs the query, and `sql` has placeholders up to $" +
                      std::to_string(query->parameter_count) + " without `params`.",
                  "Give `params` (one value per placeholder), or drop `analyze` to see the generic plan.");
    report.generic_plan = true;
  }
  if (report.mode == Mode::live_explain_analyze && sql::changes_rows(query->kind)) {
    if (!r.analyze_writes)
      throw Error(ErrorCode::permission_denied,
                  std::string("`analyze` would execute this ") + sql::to_string(query->kind) +
                      "; dbopt does not run writes unless asked.",
                  "Drop `analyze` to see the plan without running it, or set `analyze_writes: true` (the write is "
                  "rolled back; the database's config must set allow_analyze_writes).");
    if (!ctx.databases->database(r.database).allow_analyze_writes)
      throw Error(ErrorCode::permission_denied,
                  "`analyze_writes`: the config of database `" + report.database +
                      "` does not allow EXPLAIN ANALYZE of writes.",
                  "Drop `analyze` to see the plan without running it, or set allow_analyze_writes: true for this "
                  "database in the config (only where running a rolled-back write is acceptable).");
  }
  if (r.analyze_writes && report.mode != Mode::live_explain_analyze)
    report.notes.push_back("`analyze_writes` has no effect without `analyze`.");
  if (r.schema) report.schema = read_schema(*r.schema, report.query);
  ctx.cancel.check();

  // Explain.
  ctx.progress(1, kStages, report.mode == Mode::pasted_plan || report.mode == Mode::text_only ? "read" : "explain");
  std::optional<AnalysedPlan> analysed;
  std::optional<explain::HypotheticalComparison> comparison;
  rules::TableSizes table_sizes;  // live EXPLAIN without ANALYZE
  if (pasted) {
    analysed = explain::analyse_plan(std::move(*pasted));
  } else if (report.mode == Mode::live_explain || report.mode == Mode::live_explain_analyze) {
    pg::SafeExecutor executor(*ctx.databases);
    const pg::ExplainOptions options{
        .analyze = r.analyze, .buffers = r.analyze && r.buffers, .settings = true, .generic_plan = report.generic_plan};
    const pg::RunOptions run{.allow_analyze_write = r.analyze_writes, .cancel = &ctx.cancel, .params = bound_values};
    plan::Plan server_plan =
        plan::parse_explain_json(database_call([&] { return executor.explain(r.database, sql_to_run, options, run); }));
    database_call([&] {
      if (r.analyze) {
        add_io_timing_setting(executor, r.database, server_plan, ctx.cancel);
      } else {
        table_sizes = read_table_sizes(executor, r.database, server_plan, ctx.cancel);
      }
    });
    analysed = explain::analyse_plan(std::move(server_plan));
  } else if (report.mode == Mode::hypothetical_indexes) {
    std::optional<pg::HypotheticalIndexSession> session;
    database_call([&] { session.emplace(*ctx.databases, r.database, &ctx.cancel); });
    comparison.emplace();
    comparison->before = read_server_plan(
        database_call([&] { return session->explain_json(sql_to_run, report.generic_plan, bound_values); }));
    for (std::size_t i = 0; i < r.hypothetical_indexes.size(); ++i) {
      ctx.cancel.check();
      try {
        comparison->indexes.push_back({r.hypothetical_indexes[i], session->create_index(r.hypothetical_indexes[i])});
      } catch (const Error& e) {
        // PostgreSQL rejects an unknown table or column here.
        if (e.code() != ErrorCode::invalid_argument) throw;
        rethrow_for_field(e, "hypothetical_indexes[" + std::to_string(i) + "]");
      }
    }
    comparison->after = read_server_plan(
        database_call([&] { return session->explain_json(sql_to_run, report.generic_plan, bound_values); }));
    for (auto& outcome : comparison->indexes) outcome.used = scans_index(comparison->after, outcome.index.name);
  }
  ctx.cancel.check();

  // Analyse: plan rules on the plan, query rules on the text.
  ctx.progress(2, kStages, "analyse");
  if (analysed) report.plan = &*analysed;
  if (comparison) report.plan = &comparison->before;
  if (report.plan)
    report.findings = rules::check_plan(*report.plan->plan, report.plan->metrics, *ctx.rules, table_sizes);

  std::optional<sql::QueryModel> logged_query;  // auto_explain's JSON carries the query text
  if (!query && report.plan && report.plan->plan->query_text) {
    try {
      logged_query = sql::parse_query(*report.plan->plan->query_text);
      report.query = &*logged_query;
      report.query_fingerprint = sql::fingerprint(*report.plan->plan->query_text);
      report.notes.push_back("The SQL text came from the plan's \"Query Text\".");
    } catch (const Error&) {
      report.notes.push_back(
          "The plan's \"Query Text\" does not parse (auto_explain may cut it), so only the plan "
          "was analysed.");
    }
  }
  if (report.query) {
    auto text_findings = rules::check_query(*report.query, *ctx.rules);
    report.findings.insert(report.findings.end(), std::make_move_iterator(text_findings.begin()),
                           std::make_move_iterator(text_findings.end()));
  }
  if (report.schema) note_existing_indexes(*report.schema, report.findings);
  knowledge::sort_by_impact(report.findings);
  if (report.plan && report.plan->metrics.total_time_ms &&
      // 10% over: the rounding of per-loop times to 3 decimals must not trigger it.
      report.plan->metrics.summed_exclusive_time_ms > 1.1 * *report.plan->metrics.total_time_ms) {
    char text[320];
    std::snprintf(text, sizeof text,
                  "The nodes' own times add up to %.1f ms, more than the %.1f ms run: parallel workers' times are "
                  "summed, or the plan's numbers were edited. Time shares here are of the %.1f ms sum.",
                  report.plan->metrics.summed_exclusive_time_ms, *report.plan->metrics.total_time_ms,
                  report.plan->metrics.summed_exclusive_time_ms);
    report.notes.push_back(text);
  }
  if (report.mode == Mode::pasted_plan && !r.sql && !report.query)
    report.notes.push_back("Give `sql` along with the plan to have the query text checked too.");
  ctx.cancel.check();

  ctx.progress(3, kStages, "render");
  report.hypothetical = comparison ? &*comparison : nullptr;
  ToolResult result = explain::render(report);
  ctx.progress(kStages, kStages, "done");
  return result;
}

}  // namespace

Tool make_explain_query_tool() {
  Tool tool;
  tool.name = "explain_query";
  tool.title = "Explain a slow query";
  tool.description =
      "Explains where a PostgreSQL query spends its time, why, and what to change: the slowest plan node first, then "
      "findings (seq scans that discard most rows, sorts and hashes spilling to disk with the work_mem that fits, "
      "row misestimates, heap fetches, JIT, CTE and subplan costs, and query-text patterns such as leading-wildcard "
      "LIKE, NOT IN, deep OFFSET), each tied to a curated rule with the SQL to paste and marked measured, estimated "
      "or inferred from text. Needs `sql` or `plan`. "
      "With `plan` (EXPLAIN output in TEXT or FORMAT JSON, as psql prints it) it works offline, no database needed. "
      "With `sql` and a configured database it runs EXPLAIN through a read-only, rolled-back safe executor: "
      "`analyze: true` runs EXPLAIN ANALYZE (SELECT only unless `analyze_writes` and the config allow a rolled-back "
      "write); queries with $1..$n are explained as a generic plan unless `params` gives values; "
      "`hypothetical_indexes` (CREATE INDEX statements) compares the plan and cost before and after with HypoPG, "
      "without building anything. With `sql` and no database it checks the SQL text alone (optionally against "
      "`schema` DDL). Use it on one slow or suspicious query; for index advice over many queries use "
      "suggest_indexes.";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "sql": {"type": "string", "minLength": 1, "description": "The query (one statement). Explained on the database when one is configured, else analysed as text. Give this or `plan`."},
      "plan": {"type": "string", "minLength": 1, "description": "EXPLAIN output to analyse offline (TEXT or FORMAT JSON; ANALYZE and BUFFERS make it measured). No database needed. Give this or `sql`."},
      "database": {"type": "string", "description": "Configured database name; the default database when absent."},
      "analyze": {"type": "boolean", "default": false, "description": "Run EXPLAIN ANALYZE: the query really executes, inside a transaction that is rolled back."},
      "buffers": {"type": "boolean", "default": true, "description": "Include buffer counts (with analyze)."},
      "analyze_writes": {"type": "boolean", "default": false, "description": "Allow EXPLAIN ANALYZE of INSERT/UPDATE/DELETE/MERGE; still rolled back, and only where the config allows it for this database."},
      "params": {"type": "array", "items": {"type": ["string", "number", "boolean", "null"]}, "maxItems": 65535, "description": "Values for $1, $2, ... in order. Without them a query with placeholders gets a generic plan."},
      "hypothetical_indexes": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "maxItems": 50, "description": "CREATE INDEX statements to try with HypoPG (planner estimates; not with analyze). The answer compares plan and cost before and after."},
      "schema": {"type": "string", "minLength": 1, "description": "DDL (CREATE TABLE / CREATE INDEX) for the query's tables, for advice without a database: lists the indexes the fixes should be compared with."}
    },
    "additionalProperties": false
  })json");
  tool.output_schema = explain::output_schema();
  tool.annotations = {.read_only = true, .destructive = false, .idempotent = true, .open_world = false};
  tool.handler = run_explain;
  return tool;
}

}  // namespace dbopt::tools
