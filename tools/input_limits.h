// Input limits: what one tool call may send, checked by ToolRegistry::call
// before the schema and the handler, so MCP (stdio and HTTP), REST and
// `dbopt call` refuse the same inputs in the same words.
//
// Each string argument has a kind, from its field name (or the name of the
// array or object it sits in): SQL (sql, queries, schema, schema_ddl, index
// definitions), a plan (plan), a log (log), or other text. Each kind has a
// byte limit; SQL also has a statement count over the whole call and an
// expression depth (libpg_query recurses per level and aborts the process
// when it runs out of stack or memory, so its input is bounded here first).
// The call's working memory is estimated from the sizes (bytes of memory per
// byte of input, measured in bench/README.md) and bounded too. No string
// argument but a log may hold a NUL byte. Cost: one pass over the strings.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/common/settings.h"

namespace dbopt::tools {

// Working memory per byte of input, measured as peak RSS growth over input
// size (bench/README.md, "Input limits"): libpg_query's parse tree and its
// JSON, the plan model and metrics, the log reader's statements and shapes.
inline constexpr long long kMemoryPerSqlByte = 180;
inline constexpr long long kMemoryPerPlanByte = 20;
inline constexpr long long kMemoryPerLogByte = 10;
inline constexpr long long kMemoryPerTextByte = 2;

struct InputCheck {
  // The first limit the arguments break, as a message naming the argument,
  // the size seen, the limit and the config key that raises it.
  std::optional<std::string> refusal;
  std::size_t string_bytes = 0;  // all string arguments together (of those checked)
};
InputCheck check_input_limits(const nlohmann::json& arguments, const LimitSettings& limits);

}  // namespace dbopt::tools
