// benchmark_query: time a read-only query over repeated runs, for before/after measurements.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/pg/safe_executor.h"
#include "tools/builtin_tools.h"

namespace dbopt::tools {
namespace {

double percentile(std::vector<double> sorted, double p) {
  // nearest-rank: the smallest sample with at least p of the samples at or below it
  const size_t rank = static_cast<size_t>(std::ceil(p * sorted.size()));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

std::string ms(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", value);
  return text;
}

ToolResult run_benchmark(const Json& args, ToolContext& ctx) {
  if (!ctx.databases)
    throw Error(ErrorCode::invalid_argument, "benchmark_query needs a database, and none is configured.",
                "Set DATABASE_URL or add databases to the config file (config/README.md).");
  const std::string sql = args["sql"];
  const std::string database = args.value("database", "");
  const int runs = args.value("runs", 10);
  const int warmup = args.value("warmup", 1);
  pg::SafeExecutor executor(*ctx.databases);
  pg::RunOptions options;
  options.cancel = &ctx.cancel;
  options.max_rows = 0;

  size_t rows = 0;
  for (int i = 0; i < warmup; ++i) {
    ctx.cancel.check();
    rows = executor.run(database, sql, options).row_count;
  }
  std::vector<double> samples;
  for (int i = 1; i <= runs; ++i) {
    ctx.cancel.check();
    const pg::QueryResult result = executor.run(database, sql, options);
    rows = result.row_count;
    samples.push_back(result.elapsed_ms);
    ctx.progress(i, runs,
                 "run " + std::to_string(i) + " of " + std::to_string(runs) + ": " + ms(result.elapsed_ms) + " ms");
  }
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  const double mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / sorted.size();
  const std::string db_name = ctx.databases->database(database).name;

  ToolResult result;
  result.structured = {{"database", db_name},
                       {"runs", runs},
                       {"warmup", warmup},
                       {"rows", rows},
                       {"timings_ms",
                        {{"min", sorted.front()},
                         {"median", percentile(sorted, 0.5)},
                         {"p95", percentile(sorted, 0.95)},
                         {"max", sorted.back()},
                         {"mean", mean}}},
                       {"samples_ms", samples}};
  result.markdown = "## benchmark_query on `" + db_name + "`\n\n" + std::to_string(runs) + " timed runs after " +
                    std::to_string(warmup) + " warm-up, " + std::to_string(rows) +
                    " rows each. Measured in the database (read-only transaction, rolled back).\n\n"
                    "| min | median | p95 | max | mean |\n|---|---|---|---|---|\n| " +
                    ms(sorted.front()) + " ms | " + ms(percentile(sorted, 0.5)) + " ms | " +
                    ms(percentile(sorted, 0.95)) + " ms | " + ms(sorted.back()) + " ms | " + ms(mean) + " ms |\n";
  return result;
}

}  // namespace

Tool make_benchmark_query_tool() {
  Tool tool;
  tool.name = "benchmark_query";
  tool.title = "Time a query (before/after)";
  tool.description =
      "Runs a read-only query several times on a configured database and reports min, median, p95, max and mean "
      "execution time, for measuring a change before and after. The query goes through dbopt's safe executor "
      "(one SELECT/VALUES/EXPLAIN/SHOW statement, READ ONLY transaction, statement timeout, rolled back); what it "
      "refuses is refused with the reason. Sends progress after each run and stops when cancelled.";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "sql": {"type": "string", "minLength": 1, "description": "The query to time (read-only)."},
      "database": {"type": "string", "description": "Configured database name; the default database when absent."},
      "runs": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10},
      "warmup": {"type": "integer", "minimum": 0, "maximum": 100, "default": 1, "description": "Untimed runs first, to warm the cache."}
    },
    "required": ["sql"],
    "additionalProperties": false
  })json");
  tool.output_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "database": {"type": "string"},
      "runs": {"type": "integer"},
      "warmup": {"type": "integer"},
      "rows": {"type": "integer"},
      "timings_ms": {
        "type": "object",
        "properties": {
          "min": {"type": "number"}, "median": {"type": "number"}, "p95": {"type": "number"},
          "max": {"type": "number"}, "mean": {"type": "number"}
        },
        "required": ["min", "median", "p95", "max", "mean"]
      },
      "samples_ms": {"type": "array", "items": {"type": "number"}}
    },
    "required": ["database", "runs", "warmup", "rows", "timings_ms", "samples_ms"]
  })json");
  tool.annotations = {.read_only = true, .destructive = false, .idempotent = true, .open_world = false};
  tool.handler = run_benchmark;
  return tool;
}

}  // namespace dbopt::tools
