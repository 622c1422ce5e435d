#include "tools/builtin_tools.h"
#include "tools/tool_registry.h"

namespace dbopt::tools {

void register_builtin_tools(ToolRegistry& registry) {
  registry.add(make_explain_query_tool());
  registry.add(make_suggest_indexes_tool());
  registry.add(make_detect_n_plus_one_tool());
  registry.add(make_tune_pool_tool());
  registry.add(make_create_perf_task_tool());
  registry.add(make_find_perf_tasks_tool());
  registry.add(make_benchmark_query_tool());
  registry.add(make_start_session_tool());
  registry.add(make_session_report_tool());
  registry.add(make_check_health_tool());
  registry.add(make_top_queries_tool());
  registry.add(make_lint_migration_tool());
  registry.add(make_advise_scale_tool());
}

}  // namespace dbopt::tools
