// Shared helpers of the scale tests: the shipped rules, snapshot builders, lookups.
#pragma once

#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>

#include "core/scale/scale_advice.h"
#include "knowledge/rule_book.h"

namespace dbopt::scale::testing {

using Json = nlohmann::json;

inline const knowledge::RuleBook& shipped_rules() {
  static const knowledge::RuleBook book =
      knowledge::RuleBook::load_directory(std::string(DBOPT_SOURCE_DIR) + "/knowledge/rules");
  return book;
}

constexpr double kMB = 1024.0 * 1024;
constexpr double kGB = 1024.0 * kMB;

inline Json table(const std::string& name, double seq, double idx, double ins, double upd, double del, double live,
                  double bytes) {
  return {{"table", "public." + name},
          {"seq_scan", seq},
          {"idx_scan", idx},
          {"n_tup_ins", ins},
          {"n_tup_upd", upd},
          {"n_tup_del", del},
          {"n_tup_hot_upd", upd / 2},
          {"n_live_tup", live},
          {"total_bytes", bytes},
          {"primary_key", {"id"}},
          {"columns", Json::array({{{"name", "id"}, {"type", "bigint"}}})}};
}

inline void add_column(Json& t, const std::string& name, const std::string& type,
                       std::optional<double> correlation = std::nullopt) {
  Json c = {{"name", name}, {"type", type}};
  if (correlation) c["correlation"] = *correlation;
  t["columns"].push_back(c);
}

inline void add_fk(Json& t, const std::string& column, const std::string& referenced) {
  t["foreign_keys"].push_back({{"columns", {column}}, {"referenced", referenced}, {"referenced_columns", {"id"}}});
}

inline Json statement(const std::string& queryid, const std::string& query, double calls, double mean_ms) {
  return {
      {"queryid", queryid}, {"query", query}, {"calls", calls}, {"mean_ms", mean_ms}, {"total_ms", calls * mean_ms}};
}

inline Json snapshot(Json tables, Json statements = nullptr) {
  Json s = {{"database_name", "shop"}, {"stats_age_s", 7 * 86400.0}, {"tables", std::move(tables)}};
  if (!statements.is_null()) s["statements"] = std::move(statements);
  return s;
}

inline ScaleAdvice advise(const Json& snap, const std::set<ScaleFocus>& focus = {}) {
  return advise_scale(scale_snapshot_from_json(snap.dump()), shipped_rules(), focus);
}

inline const knowledge::Finding* finding(const ScaleAdvice& a, const std::string& rule_id,
                                         const std::string& table = "") {
  auto it = std::find_if(a.findings.begin(), a.findings.end(), [&](const knowledge::Finding& f) {
    return f.rule_id == rule_id && (table.empty() || f.where.table == table);
  });
  return it == a.findings.end() ? nullptr : &*it;
}

inline const TableProfile* profile(const ScaleAdvice& a, const std::string& table) {
  auto it = std::find_if(a.tables.begin(), a.tables.end(), [&](const TableProfile& t) { return t.table == table; });
  return it == a.tables.end() ? nullptr : &*it;
}

inline std::string ids_of(const ScaleAdvice& a) {
  std::string out;
  for (const auto& f : a.findings) out += "\n  " + f.rule_id + " " + f.where.table + ": " + f.summary;
  return out;
}

}  // namespace dbopt::scale::testing
