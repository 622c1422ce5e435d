// top_queries: the statements that cost a database most, from pg_stat_statements.
//
// A composition: core/health/top_queries.h reads and derives (share of the
// total, rows per call, cache hit ratio, fingerprint); this file reads the
// arguments, renders, and hands each statement on in the exact argument form
// explain_query, suggest_indexes and create_perf_task take.
#include <cstdio>
#include <sstream>

#include "core/health/top_queries.h"
#include "tools/builtin_tools.h"

namespace dbopt::tools {
namespace {

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string one_line(std::string text, std::size_t max) {
  for (char& c : text)
    if (c == '\n' || c == '\r' || c == '\t' || c == '|') c = ' ';
  return text.size() > max ? text.substr(0, max) + "..." : text;
}

Json query_json(const health::TopQuery& q, int rank, const std::string& database) {
  const std::string summary = "Statement " + (q.queryid.empty() ? std::string("(no queryid)") : q.queryid) + " takes " +
                              fixed(q.share_of_total * 100, 1) + "% of " + database +
                              "'s execution time: " + fixed(q.calls, 0) + " calls, mean " + fixed(q.mean_ms, 2) +
                              " ms, total " + fixed(q.total_ms, 0) + " ms, " + fixed(q.rows_per_call, 1) +
                              " rows per call.";
  return {{"rank", rank},
          {"queryid", q.queryid},
          {"fingerprint", q.fingerprint},
          {"query", q.query},
          {"user", q.user},
          {"database", q.database},
          {"calls", q.calls},
          {"total_ms", q.total_ms},
          {"mean_ms", q.mean_ms},
          {"share_of_total", q.share_of_total},
          {"rows", q.rows},
          {"rows_per_call", q.rows_per_call},
          {"shared_blks_hit", q.shared_blks_hit},
          {"shared_blks_read", q.shared_blks_read},
          {"temp_blks", q.temp_blks},
          {"cache_hit_ratio", q.cache_hit_ratio ? Json(*q.cache_hit_ratio) : Json(nullptr)},
          {"next_calls",
           {{"explain_query", {{"sql", q.query}, {"database", database}}},
            {"suggest_indexes",
             {{"queries", Json::array({{{"sql", q.query}, {"calls", std::max(q.calls, 1.0)}, {"mean_ms", q.mean_ms}}})},
              {"database", database}}},
            {"create_perf_task", {{"findings", summary}, {"sql", q.query}, {"tool", "top_queries"}}}}}};
}

std::string render_markdown(const health::TopQueries& t, const Json& out) {
  std::ostringstream o;
  o << "# Top queries of `" << t.database_name << "` by " << out["order_by"].get<std::string>() << "\n\n"
    << t.statements << " statements in pg_stat_statements " << t.version << " (statistics since "
    << (t.stats_since.empty() ? std::string("the extension was created") : t.stats_since) << "), "
    << fixed(t.total_ms, 0) << " ms of execution in all.\n";
  if (t.queries.empty()) {
    o << "\nNo statements yet: pg_stat_statements has recorded nothing for this database with these filters.\n";
    return o.str();
  }
  o << "\n| # | share | total ms | calls | mean ms | rows/call | cache hit | temp blks | queryid | query |\n"
       "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  for (const auto& q : out["queries"]) {
    const Json& hit = q["cache_hit_ratio"];
    o << "| " << q["rank"] << " | " << fixed(q["share_of_total"].get<double>() * 100, 1) << "% | "
      << fixed(q["total_ms"].get<double>(), 0) << " | " << fixed(q["calls"].get<double>(), 0) << " | "
      << fixed(q["mean_ms"].get<double>(), 2) << " | " << fixed(q["rows_per_call"].get<double>(), 1) << " | "
      << (hit.is_null() ? std::string("-") : fixed(hit.get<double>() * 100, 1) + "%") << " | "
      << fixed(q["temp_blks"].get<double>(), 0) << " | `" << q["queryid"].get<std::string>() << "` | `"
      << one_line(q["query"].get<std::string>(), 120) << "` |\n";
  }
  o << "\nNext: pass a statement's `next_calls.explain_query` to explain_query (its $n placeholders get a generic "
       "plan), `next_calls.suggest_indexes` to suggest_indexes, or `next_calls.create_perf_task` to "
       "create_perf_task.\n";
  return o.str();
}

ToolResult run_top_queries(const Json& args, ToolContext& ctx) {
  if (!ctx.databases)
    throw Error(ErrorCode::invalid_argument, "top_queries reads pg_stat_statements, and no database is configured.",
                "Set DATABASE_URL or add databases to the config file (config/README.md).");
  health::TopQueriesOptions options;
  options.order = *health::parse_query_order(args.value("order_by", "total_time"));
  options.limit = args.value("limit", 10);
  options.min_calls = args.value("min_calls", 1LL);
  options.all_databases = args.value("all_databases", false);
  options.include_utility = args.value("include_utility", false);
  options.cancel = &ctx.cancel;
  const health::TopQueries t = health::read_top_queries(*ctx.databases, args.value("database", ""), options);
  Json queries = Json::array();
  int rank = 0;
  for (const auto& q : t.queries) queries.push_back(query_json(q, ++rank, t.database));
  ToolResult result;
  result.structured = {{"tool", "top_queries"},
                       {"database", t.database},
                       {"database_name", t.database_name},
                       {"order_by", health::to_string(options.order)},
                       {"all_databases", options.all_databases},
                       {"extension_version", t.version},
                       {"stats_since", t.stats_since},
                       {"statements", t.statements},
                       {"total_exec_time_ms", t.total_ms},
                       {"queries", queries}};
  result.markdown = render_markdown(t, result.structured);
  return result;
}

}  // namespace

Tool make_top_queries_tool() {
  Tool tool;
  tool.name = "top_queries";
  tool.title = "Top queries from pg_stat_statements";
  tool.description =
      "Lists the statements that cost a database most, from pg_stat_statements (read-only), for the connected "
      "database only unless `all_databases`: ranked by total_time (default), mean_time, calls, shared_blks_read "
      "or temp_blks. Each has pg_stat_statements' normalized text ($n for constants), queryid, fingerprint, "
      "calls, total and mean ms, its share of the database's total execution time, rows per call, cache hit "
      "ratio and temp blocks, and `next_calls`: the exact arguments for explain_query, suggest_indexes and "
      "create_perf_task. Transaction control and SET/SHOW statements are left out unless `include_utility`. "
      "When pg_stat_statements is missing it says how to enable it. Use after check_health to find what to "
      "optimize first.";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "database": {"type": "string", "description": "Configured database name; the default one when absent."},
      "order_by": {"type": "string", "enum": ["total_time", "mean_time", "calls", "shared_blks_read", "temp_blks"], "default": "total_time"},
      "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
      "min_calls": {"type": "integer", "minimum": 1, "default": 1, "description": "Leave out statements called fewer times."},
      "all_databases": {"type": "boolean", "default": false, "description": "Statements of every database of the server (pg_stat_statements is server-wide), not only this one's."},
      "include_utility": {"type": "boolean", "default": false, "description": "Keep BEGIN/COMMIT/SET/SHOW/FETCH and similar statements."}
    },
    "additionalProperties": false
  })json");
  tool.output_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "tool": {"type": "string"},
      "database": {"type": "string"},
      "database_name": {"type": "string"},
      "order_by": {"type": "string"},
      "all_databases": {"type": "boolean"},
      "extension_version": {"type": "string"},
      "stats_since": {"type": "string"},
      "statements": {"type": "integer"},
      "total_exec_time_ms": {"type": "number"},
      "queries": {"type": "array", "items": {"type": "object", "properties": {
        "rank": {"type": "integer"}, "queryid": {"type": "string"}, "fingerprint": {"type": "string"},
        "query": {"type": "string"}, "user": {"type": "string"}, "database": {"type": "string"},
        "calls": {"type": "number"}, "total_ms": {"type": "number"}, "mean_ms": {"type": "number"},
        "share_of_total": {"type": "number"}, "rows": {"type": "number"}, "rows_per_call": {"type": "number"},
        "shared_blks_hit": {"type": "number"}, "shared_blks_read": {"type": "number"}, "temp_blks": {"type": "number"},
        "cache_hit_ratio": {"type": ["number", "null"]},
        "next_calls": {"type": "object", "properties": {
          "explain_query": {"type": "object"}, "suggest_indexes": {"type": "object"}, "create_perf_task": {"type": "object"}},
          "required": ["explain_query", "suggest_indexes", "create_perf_task"]}},
        "required": ["rank", "queryid", "query", "calls", "total_ms", "mean_ms", "share_of_total", "rows_per_call", "next_calls"]}}
    },
    "required": ["tool", "database", "database_name", "order_by", "statements", "total_exec_time_ms", "queries"]
  })json");
  tool.annotations = {.read_only = true, .destructive = false, .idempotent = true, .open_world = false};
  tool.handler = run_top_queries;
  return tool;
}

}  // namespace dbopt::tools
