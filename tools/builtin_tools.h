// Constructors of dbopt's tools; register_builtin_tools() (tool_registry.h) adds them all.
#pragma once

#include "tools/tool.h"

namespace dbopt::tools {

Tool make_explain_query_tool();
Tool make_suggest_indexes_tool();
Tool make_detect_n_plus_one_tool();
Tool make_tune_pool_tool();
Tool make_create_perf_task_tool();
Tool make_find_perf_tasks_tool();
Tool make_benchmark_query_tool();
Tool make_start_session_tool();
Tool make_session_report_tool();
Tool make_check_health_tool();
Tool make_top_queries_tool();
Tool make_lint_migration_tool();
Tool make_advise_scale_tool();

}  // namespace dbopt::tools
