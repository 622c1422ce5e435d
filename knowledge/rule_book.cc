#include "knowledge/rule_book.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "core/common/error.h"

namespace dbopt::knowledge {
namespace {

const std::set<std::string, std::less<>> kFileKeys{"category", "rules"};
const std::set<std::string, std::less<>> kRuleKeys{"id",      "title", "severity", "thresholds",
                                                   "summary", "why",   "fix",      "references"};
const std::set<std::string, std::less<>> kReferenceKeys{"title", "url"};

// Builds messages that say where the problem is: file:line, rule, field.
class Context {
 public:
  explicit Context(std::string_view source) : source_(source) {}

  void set_rule(std::string rule) { rule_ = std::move(rule); }

  [[noreturn]] void fail(const YAML::Node& at, std::string_view field, std::string_view problem) const {
    std::string where = source_;
    if (at.IsDefined() && at.Mark().line >= 0) where += ":" + std::to_string(at.Mark().line + 1);
    std::string message = where + ": ";
    if (!rule_.empty()) message += "rule " + rule_ + ": ";
    if (!field.empty()) message += "field '" + std::string(field) + "': ";
    message += problem;
    throw Error(ErrorCode::invalid_argument, message,
                "correct the rule file; knowledge/rule_book.h describes the format");
  }

  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::string rule_;
};

void reject_unknown_keys(const YAML::Node& map, const std::set<std::string, std::less<>>& known, const Context& ctx,
                         std::string_view where) {
  for (const auto& entry : map) {
    const std::string key = entry.first.Scalar();
    if (!known.contains(key)) {
      std::string allowed;
      for (const auto& k : known) allowed += (allowed.empty() ? "" : ", ") + k;
      ctx.fail(entry.first, key, "unknown key in " + std::string(where) + " (known: " + allowed + ")");
    }
  }
}

std::string trimmed(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return {};
  const auto end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

// A required non-empty string; one_line refuses line breaks (titles, summaries).
std::string required_text(const YAML::Node& map, std::string_view key, const Context& ctx, bool one_line) {
  const YAML::Node node = map[std::string(key)];
  if (!node.IsDefined() || node.IsNull()) ctx.fail(map, key, "missing");
  if (!node.IsScalar()) ctx.fail(node, key, "must be text");
  std::string value = trimmed(node.Scalar());
  if (value.empty()) ctx.fail(node, key, "is empty");
  if (one_line && value.find('\n') != std::string::npos) ctx.fail(node, key, "must be one line");
  return value;
}

bool is_rule_id(std::string_view id) {
  if (id.size() < 2 || !(id[0] >= 'A' && id[0] <= 'Z')) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; });
}

bool is_snake_case(std::string_view name) {
  if (name.empty() || !(name[0] >= 'a' && name[0] <= 'z')) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

// Every "{{" opens a well-formed {{snake_case}} placeholder: a typo would
// otherwise reach users as literal braces.
void check_template(const YAML::Node& map, std::string_view key, const std::string& text, const Context& ctx) {
  std::size_t at = 0;
  while ((at = text.find("{{", at)) != std::string::npos) {
    const std::size_t close = text.find("}}", at + 2);
    if (close == std::string::npos) ctx.fail(map[std::string(key)], key, "'{{' without a closing '}}'");
    const std::string name = text.substr(at + 2, close - at - 2);
    if (!is_snake_case(name)) {
      ctx.fail(map[std::string(key)], key, "placeholder {{" + name + "}} is not a snake_case name");
    }
    at = close + 2;
  }
}

double threshold_value(const YAML::Node& node, const std::string& name, const Context& ctx) {
  const std::string field = "thresholds." + name;
  // A quoted scalar ("0.9") is text to YAML; only plain numbers are numbers.
  if (!node.IsScalar() || node.Tag() == "!") ctx.fail(node, field, "must be a plain number");
  const std::string& text = node.Scalar();
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(value)) {
    ctx.fail(node, field, "'" + text + "' is not a finite number");
  }
  return value;
}

Rule read_rule(const YAML::Node& node, Category category, Context& ctx) {
  ctx.set_rule("");
  if (!node.IsMap()) ctx.fail(node, "rules", "each rule must be a mapping");
  const YAML::Node id_node = node["id"];
  if (!id_node.IsDefined() || !id_node.IsScalar()) ctx.fail(node, "id", "missing");
  Rule rule;
  rule.id = trimmed(id_node.Scalar());
  ctx.set_rule(rule.id.empty() ? std::string("(no id)") : rule.id);
  if (!is_rule_id(rule.id)) ctx.fail(id_node, "id", "'" + rule.id + "' does not match ^[A-Z][A-Z0-9_]+$");
  reject_unknown_keys(node, kRuleKeys, ctx, "a rule");

  rule.category = category;
  rule.source = ctx.source();
  rule.title = required_text(node, "title", ctx, true);
  const std::string severity = required_text(node, "severity", ctx, true);
  const auto parsed_severity = parse_severity(severity);
  if (!parsed_severity) {
    ctx.fail(node["severity"], "severity", "'" + severity + "' is not one of info, low, medium, high, critical");
  }
  rule.severity = *parsed_severity;
  rule.summary = required_text(node, "summary", ctx, true);
  rule.why = required_text(node, "why", ctx, false);
  rule.fix = required_text(node, "fix", ctx, false);
  check_template(node, "summary", rule.summary, ctx);
  check_template(node, "fix", rule.fix, ctx);
  if (!template_placeholders(rule.why).empty()) {
    ctx.fail(node["why"], "why", "holds a {{placeholder}}; only summary and fix are rendered per case");
  }

  if (const YAML::Node thresholds = node["thresholds"]; thresholds.IsDefined() && !thresholds.IsNull()) {
    if (!thresholds.IsMap()) ctx.fail(thresholds, "thresholds", "must be a mapping of name: number");
    for (const auto& entry : thresholds) {
      const std::string name = entry.first.Scalar();
      if (!is_snake_case(name)) ctx.fail(entry.first, "thresholds." + name, "name must be snake_case");
      rule.thresholds.emplace(name, threshold_value(entry.second, name, ctx));
    }
  }

  const YAML::Node references = node["references"];
  if (!references.IsDefined() || references.IsNull()) ctx.fail(node, "references", "missing");
  if (!references.IsSequence() || references.size() == 0) {
    ctx.fail(references, "references", "must be a non-empty list of {title, url}");
  }
  for (const auto& entry : references) {
    if (!entry.IsMap()) ctx.fail(entry, "references", "each reference must be a mapping with title and url");
    reject_unknown_keys(entry, kReferenceKeys, ctx, "a reference");
    Reference reference{required_text(entry, "title", ctx, true), required_text(entry, "url", ctx, true)};
    if (reference.url.rfind("https://", 0) != 0 || reference.url.find(' ') != std::string::npos) {
      ctx.fail(entry["url"], "references.url", "'" + reference.url + "' is not an https:// URL");
    }
    rule.references.push_back(std::move(reference));
  }
  return rule;
}

}  // namespace

RuleBook RuleBook::load_directory(const std::filesystem::path& directory) {
  std::error_code error;
  if (!std::filesystem::is_directory(directory, error)) {
    throw Error(ErrorCode::not_found, "rule directory " + directory.string() + " does not exist",
                "set knowledge_dir (or DBOPT_KNOWLEDGE_DIR) to the knowledge/rules folder");
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (entry.is_regular_file() && entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  if (files.empty()) {
    throw Error(ErrorCode::invalid_argument, "rule directory " + directory.string() + " holds no *.yaml file",
                "point knowledge_dir at the knowledge/rules folder");
  }
  std::sort(files.begin(), files.end());  // same book, same order, on every machine
  RuleBook book;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(ErrorCode::unavailable, "cannot read rule file " + file.string());
    std::ostringstream text;
    text << in.rdbuf();
    book.add_file(text.str(), file.string());
  }
  return book;
}

RuleBook RuleBook::load_text(std::string_view yaml, std::string_view source_name) {
  RuleBook book;
  book.add_file(yaml, source_name);
  return book;
}

void RuleBook::add_file(std::string_view yaml, std::string_view source_name) {
  Context ctx(source_name);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    throw Error(ErrorCode::invalid_argument,
                std::string(source_name) + ":" + std::to_string(e.mark.line + 1) + ":" +
                    std::to_string(e.mark.column + 1) + ": not valid YAML: " + e.msg,
                "correct the rule file's syntax");
  }
  if (!root.IsMap()) ctx.fail(root, "", "a rule file is a mapping with 'category' and 'rules'");
  reject_unknown_keys(root, kFileKeys, ctx, "a rule file");
  const std::string category_text = required_text(root, "category", ctx, true);
  const auto category = parse_category(category_text);
  if (!category) {
    ctx.fail(root["category"], "category",
             "'" + category_text + "' is not one of plan, query, index, schema, workload, pool, migration");
  }
  const YAML::Node rules = root["rules"];
  if (!rules.IsDefined() || !rules.IsSequence() || rules.size() == 0) {
    ctx.fail(root, "rules", "must be a non-empty list of rules");
  }

  std::vector<Rule> loaded;
  for (const auto& node : rules) {
    Rule rule = read_rule(node, *category, ctx);
    const auto same_id = [&](const Rule& other) { return other.id == rule.id; };
    if (const auto it = std::find_if(rules_.begin(), rules_.end(), same_id); it != rules_.end()) {
      ctx.fail(node["id"], "id", "duplicate id, already defined in " + it->source);
    }
    if (std::any_of(loaded.begin(), loaded.end(), same_id)) ctx.fail(node["id"], "id", "duplicate id in this file");
    loaded.push_back(std::move(rule));
  }
  for (auto& rule : loaded) rules_.push_back(std::move(rule));
  std::sort(rules_.begin(), rules_.end(), [](const Rule& a, const Rule& b) { return a.id < b.id; });
}

std::vector<const Rule*> RuleBook::rules_in(Category category) const {
  std::vector<const Rule*> out;
  for (const auto& rule : rules_) {
    if (rule.category == category) out.push_back(&rule);
  }
  return out;
}

const Rule* RuleBook::find(std::string_view id) const {
  const auto it = std::lower_bound(rules_.begin(), rules_.end(), id,
                                   [](const Rule& rule, std::string_view key) { return rule.id < key; });
  return it != rules_.end() && it->id == id ? &*it : nullptr;
}

const Rule& RuleBook::rule(std::string_view id) const {
  if (const Rule* found = find(id)) return *found;
  throw Error(ErrorCode::not_found, "no rule with id " + std::string(id),
              "list the rules (dbopt://knowledge/rules) for the ids there are");
}

double RuleBook::threshold(std::string_view rule_id, std::string_view name) const {
  return rule(rule_id).threshold(name);
}

}  // namespace dbopt::knowledge
