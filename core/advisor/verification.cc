#include "core/advisor/verification.h"

#include <algorithm>

#include "core/common/error.h"
#include "core/pg/scratch_session.h"
#include "core/plan/explain_reader.h"
#include "core/sql/query_model.h"

namespace dbopt::advisor {
namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

Verification verify_on_scratch(pg::DatabasePool& pool, const std::string& database,
                               const std::vector<WorkloadQuery>& workload, const std::vector<std::string>& create_index,
                               int runs, std::chrono::steady_clock::time_point deadline,
                               const CancellationToken& cancel) {
  Verification out;
  pg::ScratchSession session(pool, database, &cancel);
  const pg::RunOptions options{.cancel = &cancel, .max_rows = 0};
  auto past_deadline = [&] { return std::chrono::steady_clock::now() > deadline; };
  auto time_once = [&](const std::string& sql) {
    const auto plan = plan::parse_explain_json(session.explain(sql, {.analyze = true}, options));
    return plan.execution_time_ms.value_or(0);
  };
  auto timed = [&](const std::string& sql) {
    time_once(sql);  // warm-up: the data in cache, as for the application
    std::vector<double> samples;
    for (int i = 0; i < std::max(1, runs); ++i) samples.push_back(time_once(sql));
    return median(samples);
  };

  for (std::size_t i = 0; i < workload.size(); ++i) {
    StatementTiming t{.query = static_cast<int>(i)};
    try {
      const sql::QueryModel model = sql::parse_query(workload[i].sql);
      if (model.kind != sql::StatementKind::select)
        t.not_measured = "a write: dbopt does not run it (its index overhead is in the write estimate)";
      else if (model.parameter_count > 0)
        t.not_measured = "has $n placeholders: it needs values to run";
    } catch (const Error& e) {
      t.not_measured = std::string("does not parse: ") + e.what();
    }
    out.statements.push_back(std::move(t));
  }

  for (auto& t : out.statements) {
    if (!t.not_measured.empty()) continue;
    if (past_deadline()) {
      t.not_measured = "the time limit came first";
      out.complete = false;
      continue;
    }
    cancel.check();
    t.before_ms = timed(workload[static_cast<std::size_t>(t.query)].sql);
  }
  for (const auto& statement : create_index) {
    if (past_deadline()) {
      out.complete = false;
      break;
    }
    const pg::IndexBuild b = session.create_index(statement);
    out.built.push_back({b.statement, b.build_ms, b.size_bytes});
    out.index_bytes += b.size_bytes;
  }
  for (auto& t : out.statements) {
    if (!t.not_measured.empty()) continue;
    if (past_deadline() || out.built.size() < create_index.size()) {
      t.not_measured = "the time limit came first";
      out.complete = false;
      continue;
    }
    cancel.check();
    t.after_ms = timed(workload[static_cast<std::size_t>(t.query)].sql);
    out.before_ms += workload[static_cast<std::size_t>(t.query)].calls * t.before_ms;
    out.after_ms += workload[static_cast<std::size_t>(t.query)].calls * t.after_ms;
  }
  return out;
}

}  // namespace dbopt::advisor
