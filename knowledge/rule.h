// Rule: one piece of curated performance advice, as the knowledge base holds it.
//
// Rules are data (knowledge/rules/*.yaml, read by RuleBook), so a DBA can
// review and extend the advice without reading C++. A rule names when it fires
// (thresholds, read by name from the checkers), why it matters, how to fix it
// (markdown with SQL and Django templates) and where PostgreSQL documents it.
//
// Templates: summary and fix may hold {{placeholder}} names that a checker
// fills for the case at hand (table, columns, the work_mem that fits a spill).
// Rendering refuses to leave a placeholder unfilled: a missing value is a bug
// in the checker, reported as dbopt::Error(internal) naming rule and name.
//
// Plain value type; immutable once loaded; safe to share between threads.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dbopt::knowledge {

// Ordered: a higher value is more urgent, so findings sort by it.
enum class Severity { info, low, medium, high, critical };
const char* to_string(Severity severity);
std::optional<Severity> parse_severity(std::string_view text);

// What a rule looks at. One rule file per category (plan.yaml, query.yaml ...).
enum class Category {
  plan,       // an EXPLAIN plan and its derived metrics
  query,      // the SQL text of one statement
  index,      // index definitions and index advice
  schema,     // table definitions (DDL)
  workload,   // many statements: logs, pg_stat_statements, N+1 patterns
  pool,       // connection pools and server settings
  migration,  // schema changes and their locks
  health,     // a live database's statistics, catalogs and settings (check_health)
  scale,      // caching, materialized views, partitioning, replicas, sharding (advise_scale)
};
const char* to_string(Category category);
std::optional<Category> parse_category(std::string_view text);

struct Reference {
  std::string title;
  std::string url;
  bool operator==(const Reference&) const = default;
};

// Values for a template's {{placeholders}}, by name.
using TemplateValues = std::map<std::string, std::string, std::less<>>;

struct Rule {
  std::string id;  // stable, ^[A-Z][A-Z0-9_]+$, e.g. PLAN_SEQ_SCAN_LARGE_FILTER
  std::string title;
  Category category = Category::plan;
  Severity severity = Severity::medium;
  // When the rule fires, by name (min_rows_removed_share: 0.9). Units are in the name.
  std::map<std::string, double, std::less<>> thresholds;
  std::string summary;  // one line, template: what was seen in this case
  std::string why;      // markdown: why it costs time
  std::string fix;      // markdown template: what to change, with SQL / Django
  std::vector<Reference> references;
  std::string source;  // the file the rule came from, for messages

  // Throws dbopt::Error(not_found) naming the rule and the threshold.
  double threshold(std::string_view name) const;

  std::string render_summary(const TemplateValues& values) const;
  std::string render_fix(const TemplateValues& values) const;

  bool operator==(const Rule&) const = default;
};

// The {{names}} a template uses, in order of first appearance.
std::vector<std::string> template_placeholders(std::string_view text);

// Replaces every {{name}} with values[name]. Throws dbopt::Error(internal) when
// a name has no value; `context` (a rule id) goes into that message.
std::string render_template(std::string_view text, const TemplateValues& values, std::string_view context);

}  // namespace dbopt::knowledge
