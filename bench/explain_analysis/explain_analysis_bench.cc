// explain_analysis_bench: speed and peak memory of explain_query's analysis,
// one measurement per process so getrusage's peak RSS belongs to it alone.
//
//   explain_analysis_bench MODE INPUT [--rules DIR] [--repeat N]
//
// SQL modes read INPUT as one query per line (gen_corpus.py), single thread:
//   sql-floor   libpg_query's pg_query_parse alone (the anchor: the raw
//               parser, which dbopt cannot beat since it calls it)
//   sql-floor-protobuf  pg_query_parse_protobuf alone: the same parser with
//               libpg_query's protobuf output instead of JSON text
//   sql-floor-json  pg_query_parse + nlohmann::json::parse of its JSON tree:
//               the route core/sql takes to its model, without the model
//   sql-parse   dbopt's sql::parse_query (parser + query model)
//   sql         sql::parse_query + rules::check_query: what explain_query does
//               with a query's text
// Plan modes read INPUT as EXPLAIN (FORMAT JSON) output (capture_plan.py):
//   plan-floor  nlohmann::json::accept of the text (the anchor: the JSON
//               library dbopt's SAX reader uses, validating the text and
//               building nothing)
//   plan-dom    nlohmann::json::parse into a DOM: what reading the plan
//               through a JSON tree would cost before any analysis
//   plan        plan::parse_explain_json + derive_metrics + check_plan
//   plan-tool   the explain_query tool offline, as a client calls it: argument
//               validation, the above, rendering, output-schema check
//
// Each mode runs once to warm up, then N timed repetitions (default 5 passes
// over the corpus, 10 runs of the plan), and prints one JSON line: the median
// and best repetition in wall time, the median in CPU time, items per second,
// peak RSS, and the RSS before the timed work began (input and rules loaded).
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include <pg_query.h>
#include <nlohmann/json.hpp>

#include "core/plan/explain_reader.h"
#include "core/plan/plan_metrics.h"
#include "core/rules/plan_checker.h"
#include "core/rules/query_checker.h"
#include "core/sql/query_model.h"
#include "knowledge/rule_book.h"
#include "tools/builtin_tools.h"
#include "tools/tool_registry.h"

namespace {

using Clock = std::chrono::steady_clock;

long peak_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;  // kilobytes on Linux
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

// CPU time of this process: on a shared, loaded machine it tracks the work
// done far better than wall time, which includes waiting for a core.
double cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

struct Timing {
  std::vector<double> seconds;      // wall time per repetition
  std::vector<double> cpu_seconds;  // CPU time per repetition
  long long checksum = 0;           // findings or nodes seen, so no work is optimised away
};

template <typename Work>
Timing repeat(int repetitions, Work&& work) {
  Timing timing;
  timing.checksum += work();  // warm-up: caches, allocator, page faults
  for (int i = 0; i < repetitions; ++i) {
    const auto start = Clock::now();
    const double cpu_start = cpu_seconds();
    timing.checksum += work();
    timing.cpu_seconds.push_back(cpu_seconds() - cpu_start);
    timing.seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  return timing;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: explain_analysis_bench "
                 "sql-floor|sql-floor-protobuf|sql-floor-json|sql-parse|sql|plan-floor|plan-dom|plan|plan-tool INPUT "
                 "[--rules DIR] [--repeat N]\n";
    return 2;
  }
  const std::string mode = argv[1];
  const std::string input = argv[2];
  std::string rules_dir = "knowledge/rules";
  int repetitions = mode.rfind("sql", 0) == 0 ? 5 : 10;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--rules") {
      rules_dir = argv[i + 1];
    } else if (flag == "--repeat") {
      repetitions = std::stoi(argv[i + 1]);
    }
  }

  try {
    const auto rules = dbopt::knowledge::RuleBook::load_directory(rules_dir);
    nlohmann::json out = {{"mode", mode}};
    Timing timing;
    std::size_t items = 0;

    if (mode.rfind("sql", 0) == 0) {
      const std::vector<std::string> corpus = read_lines(input);
      items = corpus.size();
      out["corpus_bytes"] = std::accumulate(corpus.begin(), corpus.end(), std::size_t{0},
                                            [](std::size_t sum, const std::string& q) { return sum + q.size(); });
      out["baseline_rss_kb"] = peak_rss_kb();
      if (mode == "sql-floor") {
        timing = repeat(repetitions, [&] {
          long long errors = 0;
          for (const auto& q : corpus) {
            PgQueryParseResult result = pg_query_parse(q.c_str());
            errors += result.error != nullptr;
            pg_query_free_parse_result(result);
          }
          return errors;
        });
      } else if (mode == "sql-floor-protobuf") {
        timing = repeat(repetitions, [&] {
          long long bytes = 0;
          for (const auto& q : corpus) {
            PgQueryProtobufParseResult result = pg_query_parse_protobuf(q.c_str());
            bytes += static_cast<long long>(result.parse_tree.len);
            pg_query_free_protobuf_parse_result(result);
          }
          return bytes;
        });
      } else if (mode == "sql-floor-json") {
        timing = repeat(repetitions, [&] {
          long long keys = 0;
          for (const auto& q : corpus) {
            PgQueryParseResult result = pg_query_parse(q.c_str());
            if (result.error == nullptr)
              keys += static_cast<long long>(nlohmann::json::parse(result.parse_tree).size());
            pg_query_free_parse_result(result);
          }
          return keys;
        });
      } else if (mode == "sql-parse") {
        timing = repeat(repetitions, [&] {
          long long tables = 0;
          for (const auto& q : corpus) tables += static_cast<long long>(dbopt::sql::parse_query(q).tables.size());
          return tables;
        });
      } else if (mode == "sql") {
        timing = repeat(repetitions, [&] {
          long long findings = 0;
          for (const auto& q : corpus)
            findings += static_cast<long long>(dbopt::rules::check_query(dbopt::sql::parse_query(q), rules).size());
          return findings;
        });
      } else {
        throw std::runtime_error("unknown mode " + mode);
      }
    } else {
      const std::string text = read_file(input);
      items = 1;
      out["plan_bytes"] = text.size();
      {
        const dbopt::plan::Plan plan = dbopt::plan::parse_explain_json(text);
        out["plan_nodes"] = dbopt::plan::preorder(plan).size();
      }
      dbopt::tools::ToolRegistry registry;
      registry.add(dbopt::tools::make_explain_query_tool());
      dbopt::Settings settings;
      dbopt::CancellationToken cancel;
      const nlohmann::json args = {{"plan", text}};
      out["baseline_rss_kb"] = peak_rss_kb();
      if (mode == "plan-floor") {
        timing = repeat(repetitions, [&] { return static_cast<long long>(nlohmann::json::accept(text)); });
      } else if (mode == "plan-dom") {
        timing = repeat(repetitions, [&] { return static_cast<long long>(nlohmann::json::parse(text).size()); });
      } else if (mode == "plan") {
        timing = repeat(repetitions, [&] {
          const dbopt::plan::Plan plan = dbopt::plan::parse_explain_json(text);
          const dbopt::plan::PlanMetrics metrics = dbopt::plan::derive_metrics(plan);
          return static_cast<long long>(dbopt::rules::check_plan(plan, metrics, rules).size() + metrics.nodes.size());
        });
      } else if (mode == "plan-tool") {
        timing = repeat(repetitions, [&] {
          dbopt::tools::ToolContext ctx{.settings = settings, .cancel = cancel, .databases = nullptr, .rules = &rules};
          const dbopt::tools::ToolResult result = registry.call("explain_query", args, ctx);
          if (result.is_error) throw std::runtime_error(result.markdown);
          return static_cast<long long>(result.structured["findings"].size() + result.markdown.size());
        });
      } else {
        throw std::runtime_error("unknown mode " + mode);
      }
    }

    const double med = median(timing.seconds);
    const double best = *std::min_element(timing.seconds.begin(), timing.seconds.end());
    out["items"] = items;
    out["repetitions"] = timing.seconds.size();
    out["median_ms"] = med * 1000;
    out["best_ms"] = best * 1000;
    out["per_second_median"] = items / med;
    out["per_second_best"] = items / best;
    const double cpu_median = median(timing.cpu_seconds);
    out["median_cpu_ms"] = cpu_median * 1000;
    out["per_cpu_second_median"] = items / cpu_median;
    out["peak_rss_kb"] = peak_rss_kb();
    out["checksum"] = timing.checksum;
    std::cout << out.dump() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "explain_analysis_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
