#include "core/rules/finding_draft.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace dbopt::rules::detail {
namespace {

std::string printf_string(const char* format, double value) {
  std::array<char, 64> buffer{};
  std::snprintf(buffer.data(), buffer.size(), format, value);
  return buffer.data();
}

// Reserved words a bare identifier may not be (PostgreSQL's reserved list,
// the ones a column or table is plausibly named after).
constexpr std::array<std::string_view, 40> kReserved{
    "all",  "analyse", "analyze", "and",    "any",        "array",   "as",      "asc",   "both",     "case",
    "cast", "check",   "collate", "column", "constraint", "create",  "default", "desc",  "distinct", "do",
    "else", "end",     "except",  "false",  "for",        "foreign", "from",    "grant", "group",    "having",
    "in",   "limit",   "not",     "null",   "offset",     "on",      "or",      "order", "table",    "user"};

bool is_plain_identifier(std::string_view name) {
  if (name.empty() || !((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_')) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '$')) return false;
  }
  return std::find(kReserved.begin(), kReserved.end(), name) == kReserved.end();
}

}  // namespace

FindingDraft& FindingDraft::saving(std::optional<double> share) {
  if (share) saving_ = std::clamp(*share, 0.0, 1.0);
  return *this;
}

FindingDraft& FindingDraft::count(const std::string& name, double value) {
  numbers_[name] = value;
  values_[name] = format_count(value);
  return *this;
}

FindingDraft& FindingDraft::share(const std::string& name, double value) {
  numbers_[name] = value;
  values_[name] = format_share(value);
  return *this;
}

FindingDraft& FindingDraft::ms(const std::string& name, double value) {
  numbers_[name + "_ms"] = value;
  values_[name] = format_ms(value);
  return *this;
}

FindingDraft& FindingDraft::kb(const std::string& name, double value) {
  numbers_[name + "_kb"] = value;
  values_[name] = format_kb(value);
  return *this;
}

FindingDraft& FindingDraft::factor(const std::string& name, double value) {
  numbers_[name] = value;
  values_[name] = format_factor(value);
  return *this;
}

FindingDraft& FindingDraft::number(const std::string& name, double value) {
  numbers_[name] = value;
  return *this;
}

FindingDraft& FindingDraft::fact(const std::string& name, std::string value) {
  values_[name] = value;
  facts_[name] = std::move(value);
  return *this;
}

FindingDraft& FindingDraft::text(const std::string& name, std::string value) {
  values_[name] = std::move(value);
  return *this;
}

knowledge::Finding FindingDraft::emit() const {
  knowledge::Finding finding;
  finding.rule_id = rule_.id;
  finding.title = rule_.title;
  finding.category = rule_.category;
  finding.severity = rule_.severity;
  finding.where = where_;
  finding.source = source_;
  finding.numbers = numbers_;
  finding.facts = facts_;
  finding.saving_share = saving_;
  finding.summary = rule_.render_summary(values_);
  finding.fix = rule_.render_fix(values_);
  return finding;
}

std::string format_count(double value) {
  if (!std::isfinite(value)) return value > 0 ? "infinitely many" : "n/a";
  const bool negative = value < 0;
  auto whole = static_cast<long long>(std::llround(std::fabs(value)));
  std::string digits = std::to_string(whole);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return negative ? "-" + out : out;
}

std::string format_share(double share) {
  const double percent = share * 100;
  if (percent > 0 && percent < 0.1) return "<0.1%";
  if (percent >= 99.95 && percent < 100) return "99.9%";
  if (percent == 100) return "100%";
  return printf_string("%.1f%%", percent);
}

std::string format_ms(double ms) {
  if (ms >= 1000) return printf_string("%.2f s", ms / 1000);
  if (ms >= 10) return printf_string("%.1f ms", ms);
  return printf_string("%.2f ms", ms);
}

std::string format_kb(double kb) {
  if (kb >= 1024.0 * 1024) return printf_string("%.1f GB", kb / (1024.0 * 1024));
  if (kb >= 1024) return printf_string("%.1f MB", kb / 1024);
  return format_count(kb) + " kB";
}

std::string format_factor(double factor) {
  if (!std::isfinite(factor)) return "infinitely";
  if (factor < 10) return printf_string("%.1f", factor);
  return format_count(factor);
}

std::string work_mem_setting(double kb) {
  const double mb = std::max(1.0, std::ceil(kb / 1024));
  long long setting = 1;
  while (setting < mb) setting *= 2;
  if (setting >= 1024) return std::to_string(setting / 1024) + "GB";
  return std::to_string(setting) + "MB";
}

std::string quote_ident(std::string_view name) {
  if (is_plain_identifier(name)) return std::string(name);
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string qualified_name(std::string_view schema, std::string_view table) {
  return schema.empty() ? quote_ident(table) : quote_ident(schema) + "." + quote_ident(table);
}

std::string index_key_list(const std::vector<IndexKey>& keys) {
  std::string out;
  for (const auto& key : keys) {
    if (!out.empty()) out += ", ";
    out += key.expression.empty() ? quote_ident(key.column) : "(" + key.expression + ")";
    if (!key.direction.empty()) out += " " + key.direction;
  }
  return out;
}

std::string index_name(std::string_view table, const std::vector<IndexKey>& keys, std::string_view suffix) {
  std::string name(table);
  for (const auto& key : keys) {
    name += "_";
    name += key.expression.empty() ? key.column : key.expression;
  }
  std::string clean;
  for (char c : name) {
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    const bool keep = (lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9');
    if (keep) {
      clean += lower;
    } else if (!clean.empty() && clean.back() != '_') {
      clean += '_';
    }
  }
  while (!clean.empty() && clean.back() == '_') clean.pop_back();
  const std::string tail = "_" + std::string(suffix);
  if (clean.size() + tail.size() > 63) clean.resize(63 - tail.size());
  while (!clean.empty() && clean.back() == '_') clean.pop_back();
  if (clean.empty() || !(clean[0] >= 'a' && clean[0] <= 'z')) clean = "dbopt" + (clean.empty() ? "" : "_" + clean);
  return clean + tail;
}

std::string django_index(const std::vector<IndexKey>& keys, const std::string& name) {
  std::string fields;
  for (const auto& key : keys) {
    if (!key.expression.empty()) {
      return "# an expression key: create it with migrations.RunSQL and the CREATE INDEX above";
    }
    if (!fields.empty()) fields += ", ";
    const bool descending = key.direction.rfind("DESC", 0) == 0;
    fields += "\"" + std::string(descending ? "-" : "") + key.column + "\"";
  }
  return "models.Index(fields=[" + fields + "], name=\"" + name + "\")";
}

}  // namespace dbopt::rules::detail
