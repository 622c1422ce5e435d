// Internal to core/rules: assembling a Finding and the text that goes into it.
//
// A FindingDraft collects evidence once and uses it twice: every number
// recorded with count()/share()/ms()/kb() goes into Finding::numbers as a
// value (ms() and kb() append the unit to the name: "disk" -> "disk_kb") and
// into the template values as text formatted for people, so the
// summary and the fix always quote the same figures as the evidence. emit()
// renders the rule's summary and fix; a placeholder the draft lacks is a
// checker bug and throws dbopt::Error(internal).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "knowledge/finding.h"
#include "knowledge/rule.h"

namespace dbopt::rules::detail {

class FindingDraft {
 public:
  FindingDraft(const knowledge::Rule& rule, knowledge::EvidenceSource source) : rule_(rule), source_(source) {}

  FindingDraft& at(knowledge::Location where) {
    where_ = std::move(where);
    return *this;
  }
  FindingDraft& saving(std::optional<double> share);

  FindingDraft& count(const std::string& name, double value);
  FindingDraft& share(const std::string& name, double value);
  FindingDraft& ms(const std::string& name, double value);
  FindingDraft& kb(const std::string& name, double value);
  FindingDraft& factor(const std::string& name, double value);
  // A number recorded as evidence without a template value.
  FindingDraft& number(const std::string& name, double value);
  // A string recorded as evidence and usable in templates.
  FindingDraft& fact(const std::string& name, std::string value);
  // A template value only (SQL fragments, formatted advice).
  FindingDraft& text(const std::string& name, std::string value);

  knowledge::Finding emit() const;

 private:
  const knowledge::Rule& rule_;
  knowledge::EvidenceSource source_;
  knowledge::Location where_;
  std::optional<double> saving_;
  std::map<std::string, double> numbers_;
  std::map<std::string, std::string> facts_;
  knowledge::TemplateValues values_;
};

// "198,002": whole numbers with thousands separators.
std::string format_count(double value);
// "99.0%", "100%", "<0.1%".
std::string format_share(double share);
// "0.42 ms", "74.5 ms", "1.23 s".
std::string format_ms(double ms);
// "752 kB", "6.5 MB", "1.2 GB".
std::string format_kb(double kb);
// "2.5", "45", "1,234", "infinitely".
std::string format_factor(double factor);
// The smallest power-of-two megabyte setting holding kb: "1MB", "16MB", "2GB".
std::string work_mem_setting(double kb);

// A name as SQL needs it: bare when a plain lower-case identifier that is
// not reserved, double-quoted otherwise.
std::string quote_ident(std::string_view name);
// schema.table, each part quoted as needed; schema may be empty.
std::string qualified_name(std::string_view schema, std::string_view table);

// An index key: a column (direction allowed: "amount DESC") or an expression.
struct IndexKey {
  std::string column;      // plain column name, unquoted
  std::string direction;   // "", "DESC", "ASC NULLS FIRST" ...
  std::string expression;  // set instead of column for expression keys
};
// "amount DESC, created_at"
std::string index_key_list(const std::vector<IndexKey>& keys);
// "orders_status_amount_idx", at most 63 bytes (PostgreSQL's NAMEDATALEN - 1).
std::string index_name(std::string_view table, const std::vector<IndexKey>& keys, std::string_view suffix = "idx");
// models.Index(fields=["status", "-amount"], name="...") or, when a key is
// an expression Django cannot spell from here, a Python comment pointing at
// the SQL (the templates put it on its own line inside a list).
std::string django_index(const std::vector<IndexKey>& keys, const std::string& name);

}  // namespace dbopt::rules::detail
