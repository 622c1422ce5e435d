// PromptLibrary: the MCP prompts, loaded from prompts/*.md.
//
// Each file is markdown with a small header between "---" lines:
//   name: optimize_slow_query
//   title: Optimize a slow query
//   description: One paragraph an assistant reads to choose the prompt.
//   argument: sql (required) The query's SQL text.
//   complete: framework django sqlalchemy rails   (values for completion/complete;
//   complete: database @databases                  @databases = the configured names)
// The body may use {{argument}} placeholders; render() fills them. Loading
// fails loudly (std::runtime_error naming the file and line) on a malformed
// header. Read-only after load: thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dbopt::server {

struct PromptArgument {
  std::string name;
  std::string description;
  bool required = false;
  std::vector<std::string> completions;  // known values, offered by completion/complete
  bool completes_databases = false;      // the configured database names are its values
};

struct Prompt {
  std::string name, title, description, body;
  std::vector<PromptArgument> arguments;
};

class PromptLibrary {
 public:
  static PromptLibrary load_directory(const std::string& directory);
  static Prompt parse(const std::string& text, const std::string& origin);

  void add(Prompt prompt);  // keeps name order

  const std::vector<Prompt>& prompts() const { return prompts_; }  // in name order
  const Prompt* find(const std::string& name) const;
  // Throws std::invalid_argument naming a missing required argument.
  static std::string render(const Prompt& prompt, const std::map<std::string, std::string>& arguments);

 private:
  std::vector<Prompt> prompts_;
};

}  // namespace dbopt::server
