// ToolRegistry: the one list of tools that MCP, REST and the CLI all serve.
//
// add() checks a tool's declaration once (unique snake_case name, schemas in
// the validator's subset). call() is the single entry point every face uses:
// it validates the arguments, runs the handler, turns user-fixable errors into
// isError results, and checks the structured result against the output schema.
// After registration the registry is read-only, so call() is thread-safe.
#pragma once

#include <string>
#include <vector>

#include "tools/tool.h"

namespace dbopt::tools {

class ToolRegistry {
 public:
  // Throws std::logic_error on a duplicate or malformed declaration.
  void add(Tool tool);

  const Tool* find(const std::string& name) const;
  // In name order, so lists are deterministic (clients cache them).
  const std::vector<Tool>& tools() const { return tools_; }

  // Runs one tool. Throws dbopt::Error(not_found) for an unknown tool and
  // rethrows Error(cancelled) (a cancelled call gets no answer); every other
  // failure comes back as a ToolResult with is_error set.
  ToolResult call(const std::string& name, const Json& arguments, ToolContext& context) const;

 private:
  ToolResult run_handler(const Tool& tool, const Json& args, ToolContext& context) const;
  std::vector<Tool> tools_;
};

// The tools dbopt ships, in one place.
void register_builtin_tools(ToolRegistry& registry);

}  // namespace dbopt::tools
