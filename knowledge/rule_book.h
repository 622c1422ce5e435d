// RuleBook: every curated rule, loaded from YAML files and validated.
//
// load_directory() reads every *.yaml file of a directory (knowledge/rules/:
// one file per category). A file looks like
//
//   category: plan
//   rules:
//     - id: PLAN_SEQ_SCAN_LARGE_FILTER
//       title: ...
//       severity: high            # info | low | medium | high | critical
//       thresholds:               # optional; plain numbers, snake_case names
//         min_rows_removed_share: 0.9
//       summary: "{{node}} ..."   # one line, template
//       why: |                    # markdown
//       fix: |                    # markdown template
//       references:
//         - title: ...
//           url: https://www.postgresql.org/docs/15/...
//
// Validation is strict, because a rule that loads wrong gives wrong advice
// quietly: unknown keys, missing or empty fields, ids not matching
// ^[A-Z][A-Z0-9_]+$, ids seen twice (in any files), unknown severity or
// category, non-numeric thresholds, malformed {{placeholders}} and non-https
// references all throw dbopt::Error(invalid_argument) whose message names the
// file (and line), the rule and the field.
//
// Immutable after loading; safe to share between threads.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "knowledge/rule.h"

namespace dbopt::knowledge {

class RuleBook {
 public:
  RuleBook() = default;

  // Throws dbopt::Error(not_found) when the directory does not exist and
  // Error(invalid_argument) when it holds no *.yaml file or a file is invalid.
  static RuleBook load_directory(const std::filesystem::path& directory);
  // One file's text; `source_name` stands for the file in messages.
  static RuleBook load_text(std::string_view yaml, std::string_view source_name);

  // Sorted by id.
  const std::vector<Rule>& rules() const { return rules_; }
  std::vector<const Rule*> rules_in(Category category) const;
  const Rule* find(std::string_view id) const;
  bool contains(std::string_view id) const { return find(id) != nullptr; }
  // Throws dbopt::Error(not_found) naming the id.
  const Rule& rule(std::string_view id) const;
  // Throws dbopt::Error(not_found) naming the rule and the threshold.
  double threshold(std::string_view rule_id, std::string_view name) const;

 private:
  // Adds one file's rules; ids must be new to the book.
  void add_file(std::string_view yaml, std::string_view source_name);

  std::vector<Rule> rules_;
};

}  // namespace dbopt::knowledge
