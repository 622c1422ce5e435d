#include "tools/input_limits.h"

#include <string_view>
#include <vector>

#include "core/sql/text_shape.h"

namespace dbopt::tools {
namespace {

using Json = nlohmann::json;

enum class InputKind { sql, plan, log, text };

// The field names whose strings are SQL, plans or logs, across every tool's
// input schema; an array's items and an object's fields without a kind of
// their own take the kind of the field that holds them.
std::optional<InputKind> kind_of_field(std::string_view name) {
  if (name == "sql" || name == "queries" || name == "schema" || name == "schema_ddl" ||
      name == "hypothetical_indexes" || name == "candidate_indexes")
    return InputKind::sql;
  if (name == "plan") return InputKind::plan;
  if (name == "log") return InputKind::log;
  return std::nullopt;
}

struct KindLimit {
  long long bytes;
  const char* key;
  long long memory_per_byte;
};

KindLimit limit_of(InputKind kind, const LimitSettings& limits) {
  switch (kind) {
    case InputKind::sql:
      return {limits.max_sql_bytes, "limits.max_sql_bytes", kMemoryPerSqlByte};
    case InputKind::plan:
      return {limits.max_plan_bytes, "limits.max_plan_bytes", kMemoryPerPlanByte};
    case InputKind::log:
      return {limits.max_log_bytes, "limits.max_log_bytes", kMemoryPerLogByte};
    case InputKind::text:
      break;
  }
  return {limits.max_text_bytes, "limits.max_text_bytes", kMemoryPerTextByte};
}

struct StringArgument {
  std::string path;  // `queries[2].sql`, for messages
  InputKind kind;
  const std::string* text;
};

// Every string in the arguments with its path and kind. Iterative: the
// arguments' depth is bounded by the transports, not by this walk's stack.
std::vector<StringArgument> string_arguments(const Json& arguments) {
  struct Pending {
    const Json* value;
    std::string path;
    InputKind kind;
  };
  std::vector<StringArgument> strings;
  std::vector<Pending> pending{{&arguments, "", InputKind::text}};
  while (!pending.empty()) {
    Pending item = std::move(pending.back());
    pending.pop_back();
    const Json& value = *item.value;
    if (value.is_string()) {
      strings.push_back({item.path, item.kind, &value.get_ref<const std::string&>()});
    } else if (value.is_object()) {
      for (auto it = value.begin(); it != value.end(); ++it)
        pending.push_back({&it.value(), item.path.empty() ? it.key() : item.path + "." + it.key(),
                           kind_of_field(it.key()).value_or(item.kind)});
    } else if (value.is_array()) {
      for (std::size_t i = 0; i < value.size(); ++i)
        pending.push_back({&value[i], item.path + "[" + std::to_string(i) + "]", item.kind});
    }
  }
  return strings;
}

std::string too_much(const std::string& what, long long seen, long long limit, const char* unit, const char* key) {
  return what + " is " + std::to_string(seen) + unit + "; the limit is " + std::to_string(limit) + unit + " (" + key +
         "). Send a smaller input, or raise " + key + " in the config file (config/README.md).";
}

}  // namespace

InputCheck check_input_limits(const Json& arguments, const LimitSettings& limits) {
  const std::vector<StringArgument> strings = string_arguments(arguments);
  InputCheck check;
  const auto refuse = [&](std::string why) {
    check.refusal = std::move(why);
    return check;
  };
  long long memory = 0;
  long long statements = 0;
  for (const auto& s : strings) {
    const std::string& text = *s.text;
    check.string_bytes += text.size();
    const KindLimit limit = limit_of(s.kind, limits);
    const auto size = static_cast<long long>(text.size());
    if (size > limit.bytes)
      return refuse(too_much("Argument `" + s.path + "`", size, limit.bytes, " bytes", limit.key));
    // Logs may hold binary garbage, which their readers skip and count.
    if (const auto nul = s.kind == InputKind::log ? std::string::npos : text.find('\0'); nul != std::string::npos)
      return refuse("Argument `" + s.path + "` contains a NUL byte at byte " + std::to_string(nul + 1) +
                    ": remove it (PostgreSQL text cannot hold one).");
    memory += size * limit.memory_per_byte;
    if (s.kind != InputKind::sql) continue;
    statements += static_cast<long long>(std::max<std::size_t>(1, sql::count_statements(text)));
    if (statements > limits.max_statements)
      return refuse(too_much("The number of SQL statements in this call (counted up to `" + s.path + "`)", statements,
                             limits.max_statements, "", "limits.max_statements"));
    const auto depth_limit = static_cast<std::size_t>(limits.max_parse_depth);
    if (text.size() > depth_limit && sql::estimated_depth(text, depth_limit) > depth_limit)
      return refuse("Argument `" + s.path + "` nests deeper than " + std::to_string(depth_limit) +
                    " levels (an operator, bracket, CASE, JOIN or UNION chain; limits.max_parse_depth). Split the "
                    "chain, use IN (...) or ANY($1) for long lists, or raise limits.max_parse_depth (at most 2000).");
  }
  const long long memory_limit = static_cast<long long>(limits.max_call_memory_mb) << 20;
  if (memory > memory_limit)
    return refuse("This call would need about " + std::to_string(memory >> 20) +
                  " MiB of working memory (estimated from the sizes of its SQL, plan and log arguments); the limit "
                  "is " +
                  std::to_string(limits.max_call_memory_mb) +
                  " MiB (limits.max_call_memory_mb). Send smaller inputs, or raise limits.max_call_memory_mb in the "
                  "config file (config/README.md).");
  return check;
}

}  // namespace dbopt::tools
