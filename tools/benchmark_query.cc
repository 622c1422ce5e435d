// benchmark_query: time a read-only query over repeated runs, for before/after
// measurements; with candidate_indexes on a scratch database, builds them for
// real inside a rolled-back transaction and measures again.
#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include "core/pg/safe_executor.h"
#include "core/pg/scratch_session.h"
#include "core/plan/explain_reader.h"
#include "tools/builtin_tools.h"
#include "tools/byte_size.h"

namespace dbopt::tools {
namespace {

double percentile(const std::vector<double>& sorted, double p) {
  // nearest-rank: the smallest sample with at least p of the samples at or below it
  const size_t rank = static_cast<size_t>(std::ceil(p * sorted.size()));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

std::string ms(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", value);
  return text;
}

// Where the query runs: the safe executor, or the scratch session that holds the candidate indexes.
struct Runner {
  std::function<pg::QueryResult(const pg::RunOptions&)> run;
  std::function<std::string(const pg::ExplainOptions&, const pg::RunOptions&)> explain;
};

// One series of runs: timings, rows, and the buffers and plan shape of one EXPLAIN (ANALYZE, BUFFERS).
Json measure(const Runner& runner, const std::string& phase, int runs, int warmup, ToolContext& ctx,
             int progress_offset, int progress_total) {
  pg::RunOptions options;
  options.cancel = &ctx.cancel;
  options.max_rows = 0;
  std::size_t rows = 0;
  for (int i = 0; i < warmup; ++i) {
    ctx.cancel.check();
    rows = runner.run(options).row_count;
  }
  std::vector<double> samples;
  for (int i = 1; i <= runs; ++i) {
    ctx.cancel.check();
    const pg::QueryResult result = runner.run(options);
    rows = result.row_count;
    samples.push_back(result.elapsed_ms);
    ctx.progress(
        progress_offset + i, progress_total,
        phase + " run " + std::to_string(i) + " of " + std::to_string(runs) + ": " + ms(result.elapsed_ms) + " ms");
  }
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  const double mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / sorted.size();
  Json out = {{"rows", rows},
              {"timings_ms",
               {{"min", sorted.front()},
                {"median", percentile(sorted, 0.5)},
                {"p95", percentile(sorted, 0.95)},
                {"max", sorted.back()},
                {"mean", mean}}},
              {"samples_ms", samples}};

  // EXPLAIN ANALYZE runs the query once more (read-only, rolled back) for buffers and the plan's shape.
  const plan::Plan plan = plan::parse_explain_json(runner.explain({.analyze = true, .buffers = true}, options));
  out["buffers"] = {{"shared_hit", plan.root.buffers.shared_hit},
                    {"shared_read", plan.root.buffers.shared_read},
                    {"temp_read", plan.root.buffers.temp_read},
                    {"temp_written", plan.root.buffers.temp_written}};
  std::vector<std::string> scans;
  std::int64_t workers_planned = 0, workers_launched = 0;
  std::vector<const plan::PlanNode*> pending{&plan.root};
  while (!pending.empty()) {
    const plan::PlanNode* node = pending.back();
    pending.pop_back();
    workers_planned += node->workers_planned.value_or(0);
    workers_launched += node->workers_launched.value_or(0);
    if (node->relation_name || node->index_name)
      scans.push_back(node->node_type + (node->index_name ? " using " + *node->index_name : "") +
                      (node->relation_name ? " on " + *node->relation_name : ""));
    for (const auto& child : node->children) pending.push_back(&child);
  }
  out["plan_scans"] = scans;
  out["parallel_workers"] = {{"planned", workers_planned}, {"launched", workers_launched}};
  return out;
}

// Parallel query is what the application gets outside a cursor; the timed
// runs are plain executions (no cursor), so a parallel plan runs as one.
std::string parallel_text(const Json& m) {
  const Json& p = m["parallel_workers"];
  const auto planned = p["planned"].get<long long>(), launched = p["launched"].get<long long>();
  if (planned == 0) return "serial plan";
  return "parallel plan, " + std::to_string(launched) + " of " + std::to_string(planned) + " workers launched" +
         (launched < planned ? " (max_parallel_workers was exhausted: timings vary with the server's load)" : "");
}

std::string timings_row(const std::string& label, const Json& m) {
  const Json& t = m["timings_ms"];
  const Json& b = m["buffers"];
  return "| " + label + " | " + ms(t["min"]) + " | " + ms(t["median"]) + " | " + ms(t["p95"]) + " | " + ms(t["max"]) +
         " | " + std::to_string(b["shared_hit"].get<long long>()) + " / " +
         std::to_string(b["shared_read"].get<long long>()) + " | " + std::to_string(m["rows"].get<long long>()) +
         " |\n";
}

std::string scans_text(const Json& m) {
  std::string text;
  for (const auto& s : m["plan_scans"]) text += (text.empty() ? "" : "; ") + s.get<std::string>();
  return text.empty() ? "(no table scans)" : text;
}

ToolResult run_benchmark(const Json& args, ToolContext& ctx) {
  if (!ctx.databases)
    throw Error(ErrorCode::invalid_argument, "benchmark_query needs a database, and none is configured.",
                "Set DATABASE_URL or add databases to the config file (config/README.md).");
  const std::string sql = args["sql"];
  const std::string database = args.value("database", "");
  const int runs = args.value("runs", 10);
  const int warmup = args.value("warmup", 1);
  const std::vector<std::string> candidates = args.value("candidate_indexes", std::vector<std::string>{});
  const std::string db_name = ctx.databases->database(database).name;
  const int total = candidates.empty() ? runs : 2 * runs;

  ToolResult result;
  Json& out = result.structured;
  out = {{"database", db_name}, {"runs", runs}, {"warmup", warmup}};
  std::string& md = result.markdown;
  md = "## benchmark_query on `" + db_name + "`\n\n";
  const std::string table_head =
      "| | min ms | median ms | p95 ms | max ms | buffers hit / read | rows |\n|---|---|---|---|---|---|---|\n";

  if (candidates.empty()) {
    pg::SafeExecutor executor(*ctx.databases);
    const Runner runner{
        [&](const pg::RunOptions& o) { return executor.run(database, sql, o); },
        [&](const pg::ExplainOptions& e, const pg::RunOptions& o) { return executor.explain(database, sql, e, o); }};
    const Json m = measure(runner, "timed", runs, warmup, ctx, 0, total);
    out.update(m);
    md += std::to_string(runs) + " timed runs after " + std::to_string(warmup) +
          " warm-up. Measured in the database (read-only transaction, rolled back).\n\n" + table_head +
          timings_row("this query", m) + "\nPlan: " + scans_text(m) + " (" + parallel_text(m) + ")\n";
    return result;
  }

  // Before and after in one rolled-back transaction on a scratch database:
  // same snapshot, same cache, the only difference is the indexes.
  pg::ScratchSession session(*ctx.databases, database, &ctx.cancel);
  const Runner runner{[&](const pg::RunOptions& o) { return session.run(sql, o); },
                      [&](const pg::ExplainOptions& e, const pg::RunOptions& o) { return session.explain(sql, e, o); }};
  const Json before = measure(runner, "before", runs, warmup, ctx, 0, total);
  out.update(before);
  Json built = Json::array();
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    ctx.cancel.check();
    pg::IndexBuild b;
    try {
      b = session.create_index(candidates[i]);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::invalid_argument) throw;
      throw Error(e.code(), "candidate_indexes[" + std::to_string(i) + "]: " + e.what(), e.fix());
    }
    built.push_back({{"statement", b.statement},
                     {"index_name", b.index_name},
                     {"table", b.table},
                     {"build_ms", b.build_ms},
                     {"size_bytes", b.size_bytes},
                     {"lock_mode", b.lock_mode}});
  }
  const Json after = measure(runner, "after", runs, warmup, ctx, runs, total);
  out["after"] = after;
  out["indexes_built"] = built;
  const double speedup =
      after["timings_ms"]["median"].get<double>() > 0
          ? before["timings_ms"]["median"].get<double>() / after["timings_ms"]["median"].get<double>()
          : 0;
  out["median_speedup"] = speedup;

  char factor[32];
  std::snprintf(factor, sizeof factor, "%.1fx", speedup);
  md += "Measured on scratch database `" + db_name + "`: " + std::to_string(runs) + " timed runs before and after " +
        "building the candidate index(es) for real, in one transaction that was then rolled back (nothing "
        "remains).\n\n" +
        table_head + timings_row("before", before) + timings_row("after", after) +
        "\n**Median: " + ms(before["timings_ms"]["median"]) + " ms → " + ms(after["timings_ms"]["median"]) + " ms (" +
        factor + ").**\n\nPlan before: " + scans_text(before) + " (" + parallel_text(before) +
        ")\nPlan after: " + scans_text(after) + " (" + parallel_text(after) + ")" +
        "\n\n| index | table | build | size | lock held |\n|---|---|---|---|---|\n";
  for (const auto& b : built)
    md += "| `" + b["index_name"].get<std::string>() + "` | " + b["table"].get<std::string>() + " | " +
          ms(b["build_ms"]) + " ms | " + byte_size_text(b["size_bytes"]) + " | " + b["lock_mode"].get<std::string>() +
          " |\n";
  md +=
      "\nThe plain CREATE INDEX holds a SHARE lock: writes to the table wait for the whole build. In production "
      "use CREATE INDEX CONCURRENTLY (SHARE UPDATE EXCLUSIVE: reads and writes go on; slower, not in a "
      "transaction block; check for an INVALID index if it fails).\n";
  return result;
}

}  // namespace

Tool make_benchmark_query_tool() {
  Tool tool;
  tool.name = "benchmark_query";
  tool.title = "Time a query (before/after)";
  tool.description =
      "Runs a read-only query several times on a configured database and reports min, median, p95, max and mean "
      "execution time, the buffers (shared hit/read) and the plan's scans, for measuring a change before and after. "
      "The query goes through dbopt's safe executor (one SELECT/VALUES/EXPLAIN/SHOW statement, READ ONLY "
      "transaction, statement timeout, rolled back); what it refuses is refused with the reason. With "
      "`candidate_indexes` on a database the config marks `scratch: true`, it measures, builds those indexes for "
      "real, measures again and rolls everything back, reporting the speed-up, each index's size, build time and "
      "the lock it held; elsewhere use explain_query's hypothetical_indexes for estimates. Sends progress after each "
      "run and stops when cancelled.";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "sql": {"type": "string", "minLength": 1, "description": "The query to time (read-only)."},
      "database": {"type": "string", "description": "Configured database name; the default database when absent."},
      "runs": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10},
      "warmup": {"type": "integer", "minimum": 0, "maximum": 100, "default": 1, "description": "Untimed runs first, to warm the cache."},
      "candidate_indexes": {"type": "array", "maxItems": 20, "items": {"type": "string", "minLength": 1},
        "description": "CREATE INDEX [CONCURRENTLY] statements to build for real between the before and after runs (scratch databases only; rolled back)."}
    },
    "required": ["sql"],
    "additionalProperties": false
  })json");
  const Json measurement = Json::parse(R"json({
    "type": "object",
    "properties": {
      "rows": {"type": "integer"},
      "timings_ms": {
        "type": "object",
        "properties": {
          "min": {"type": "number"}, "median": {"type": "number"}, "p95": {"type": "number"},
          "max": {"type": "number"}, "mean": {"type": "number"}
        },
        "required": ["min", "median", "p95", "max", "mean"]
      },
      "samples_ms": {"type": "array", "items": {"type": "number"}},
      "buffers": {"type": "object", "properties": {"shared_hit": {"type": "integer"}, "shared_read": {"type": "integer"},
        "temp_read": {"type": "integer"}, "temp_written": {"type": "integer"}}},
      "plan_scans": {"type": "array", "items": {"type": "string"}},
      "parallel_workers": {"type": "object", "description": "Gather workers of the measured plan (EXPLAIN ANALYZE): the runs execute the statement as the application does, not through a cursor, so parallel plans stay parallel.",
        "properties": {"planned": {"type": "integer"}, "launched": {"type": "integer"}}, "required": ["planned", "launched"]}
    },
    "required": ["rows", "timings_ms", "samples_ms", "buffers", "plan_scans", "parallel_workers"]
  })json");
  tool.output_schema = measurement;
  tool.output_schema["properties"]["database"] = {{"type", "string"}};
  tool.output_schema["properties"]["runs"] = {{"type", "integer"}};
  tool.output_schema["properties"]["warmup"] = {{"type", "integer"}};
  tool.output_schema["properties"]["after"] = measurement;
  tool.output_schema["properties"]["median_speedup"] = {{"type", "number"}};
  tool.output_schema["properties"]["indexes_built"] = Json::parse(R"json({"type": "array", "items": {"type": "object",
    "properties": {"statement": {"type": "string"}, "index_name": {"type": "string"}, "table": {"type": "string"},
      "build_ms": {"type": "number"}, "size_bytes": {"type": "integer"}, "lock_mode": {"type": "string"}},
    "required": ["statement", "index_name", "table", "build_ms", "size_bytes", "lock_mode"]}})json");
  for (const char* field : {"database", "runs", "warmup"}) tool.output_schema["required"].push_back(field);
  tool.annotations = {.read_only = true, .destructive = false, .idempotent = true, .open_world = false};
  tool.handler = run_benchmark;
  return tool;
}

}  // namespace dbopt::tools
