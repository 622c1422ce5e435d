#include "tests/fuzz/fuzz_entries.h"

#include <spdlog/spdlog.h>

#include <sstream>

#include "core/common/error.h"
#include "core/plan/explain_reader.h"
#include "core/plan/plan_metrics.h"
#include "core/sql/fingerprint.h"
#include "core/sql/query_model.h"
#include "core/sql/statement_policy.h"
#include "core/workload/log_reader.h"

namespace dbopt::fuzz {

void quiet_logs() { spdlog::set_level(spdlog::level::off); }

void expect_clear_errors(const std::function<void()>& run) {
  try {
    run();
  } catch (const Error& e) {
    if (e.code() == ErrorCode::internal) throw FuzzBug(e.what());
  }
}

namespace {

void sql(std::string_view input) {
  expect_clear_errors([&] { sql::parse_query(input); });
  expect_clear_errors([&] { sql::parse_script(input); });
  expect_clear_errors([&] { sql::fingerprint(input); });
  expect_clear_errors([&] { sql::normalize(input); });
  expect_clear_errors([&] { sql::check_statement(input); });
  expect_clear_errors([&] { sql::split_statements(input); });
}

void explain(std::string_view input, plan::Plan (*reader)(std::string_view)) {
  expect_clear_errors([&] {
    const plan::Plan plan = reader(input);
    plan::derive_metrics(plan);
  });
}
void explain_text(std::string_view input) { explain(input, plan::parse_explain_text); }
void explain_json(std::string_view input) { explain(input, plan::parse_explain_json); }

template <workload::LogFormat Format>
void log_reader(std::string_view input) {
  std::istringstream in{std::string(input)};
  workload::ReadOptions options;
  options.format = Format;
  expect_clear_errors([&] { workload::read_log(in, options, [](workload::LogRecord&) {}); });
}

}  // namespace

const std::vector<Target>& core_targets() {
  static const std::vector<Target> all = {
      {"sql", sql},
      {"explain_text", explain_text},
      {"explain_json", explain_json},
      {"log_django", log_reader<workload::LogFormat::django>},
      {"log_postgres_stderr", log_reader<workload::LogFormat::postgres_stderr>},
      {"log_postgres_csv", log_reader<workload::LogFormat::postgres_csv>},
      {"log_postgres_json", log_reader<workload::LogFormat::postgres_json>},
      {"log_jsonl", log_reader<workload::LogFormat::jsonl>},
  };
  return all;
}

}  // namespace dbopt::fuzz
