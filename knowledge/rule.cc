#include "knowledge/rule.h"

#include <array>
#include <utility>

#include "core/common/error.h"

namespace dbopt::knowledge {
namespace {

constexpr std::array<std::pair<Severity, const char*>, 5> kSeverities{{
    {Severity::info, "info"},
    {Severity::low, "low"},
    {Severity::medium, "medium"},
    {Severity::high, "high"},
    {Severity::critical, "critical"},
}};

constexpr std::array<std::pair<Category, const char*>, 9> kCategories{{
    {Category::plan, "plan"},
    {Category::query, "query"},
    {Category::index, "index"},
    {Category::schema, "schema"},
    {Category::workload, "workload"},
    {Category::pool, "pool"},
    {Category::migration, "migration"},
    {Category::health, "health"},
    {Category::scale, "scale"},
}};

bool is_placeholder_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

// Calls on_placeholder(name) for each {{name}} and on_text(text) for the text
// between them. Malformed braces are left to the validator; here they are text.
template <typename OnText, typename OnPlaceholder>
void scan_template(std::string_view text, OnText on_text, OnPlaceholder on_placeholder) {
  std::size_t done = 0;
  std::size_t at = 0;
  while ((at = text.find("{{", at)) != std::string_view::npos) {
    const std::size_t close = text.find("}}", at + 2);
    if (close == std::string_view::npos) break;
    const std::string_view name = text.substr(at + 2, close - at - 2);
    bool valid = !name.empty();
    for (char c : name) valid = valid && is_placeholder_char(c);
    if (!valid) {
      at += 2;
      continue;
    }
    on_text(text.substr(done, at - done));
    on_placeholder(name);
    done = at = close + 2;
  }
  on_text(text.substr(done));
}

}  // namespace

const char* to_string(Severity severity) {
  for (const auto& [value, name] : kSeverities) {
    if (value == severity) return name;
  }
  return "unknown";
}

std::optional<Severity> parse_severity(std::string_view text) {
  for (const auto& [value, name] : kSeverities) {
    if (text == name) return value;
  }
  return std::nullopt;
}

const char* to_string(Category category) {
  for (const auto& [value, name] : kCategories) {
    if (value == category) return name;
  }
  return "unknown";
}

std::optional<Category> parse_category(std::string_view text) {
  for (const auto& [value, name] : kCategories) {
    if (text == name) return value;
  }
  return std::nullopt;
}

double Rule::threshold(std::string_view name) const {
  if (const auto it = thresholds.find(name); it != thresholds.end()) return it->second;
  throw Error(ErrorCode::not_found, "rule " + id + " has no threshold '" + std::string(name) + "'",
              "add it under thresholds: in " + (source.empty() ? std::string("its rule file") : source));
}

std::string Rule::render_summary(const TemplateValues& values) const {
  return render_template(summary, values, id + " summary");
}

std::string Rule::render_fix(const TemplateValues& values) const { return render_template(fix, values, id + " fix"); }

std::vector<std::string> template_placeholders(std::string_view text) {
  std::vector<std::string> names;
  scan_template(
      text, [](std::string_view) {},
      [&](std::string_view name) {
        for (const auto& seen : names) {
          if (seen == name) return;
        }
        names.emplace_back(name);
      });
  return names;
}

std::string render_template(std::string_view text, const TemplateValues& values, std::string_view context) {
  std::string out;
  out.reserve(text.size() + 64);
  scan_template(
      text, [&](std::string_view part) { out.append(part); },
      [&](std::string_view name) {
        const auto it = values.find(name);
        if (it == values.end()) {
          throw Error(ErrorCode::internal,
                      std::string(context) + ": no value for placeholder {{" + std::string(name) + "}}");
        }
        out.append(it->second);
      });
  return out;
}

}  // namespace dbopt::knowledge
