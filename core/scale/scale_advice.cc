#include "core/scale/scale_advice.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <regex>
#include <set>

#include "core/common/error.h"

namespace dbopt::scale {
namespace {

using knowledge::EvidenceSource;
using knowledge::Finding;
using knowledge::Rule;
using knowledge::TemplateValues;

constexpr double kGiB = 1024.0 * 1024 * 1024;
constexpr double kMiB = 1024.0 * 1024;

// A tenant key is a column named like one (tenant_id, account_id, ...) that
// most tables carrying it reference by foreign key: a shop's customer_id is
// referenced by many tables too, but a customer is not a tenant.
const std::regex kTenantColumn(R"(^(tenant|account|organization|organisation|org|company|workspace|team)_id$)");

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string count(double v) {
  std::string digits = fixed(std::round(v), 0);
  std::string out;
  const std::size_t sign = digits.starts_with('-') ? 1 : 0;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > sign && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string ratio_text(double r) { return r >= 100 ? count(r) : fixed(r, r >= 10 ? 0 : 1); }
std::string percent(double share) { return fixed(share * 100, share < 0.1 ? 1 : 0) + "%"; }
std::string ms_text(double ms) { return ms >= 100 ? count(ms) : fixed(ms, ms >= 10 ? 1 : 2); }

std::string bytes(double b) {
  const char* units[] = {"bytes", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return fixed(b, u == 0 || b >= 100 ? 0 : 1) + " " + units[u];
}

std::string gb_text(double gb) { return fixed(gb, gb >= 10 || gb == std::floor(gb) ? 0 : 1) + " GB"; }

std::string quote_ident(const std::string& name) {
  bool plain = !name.empty() && (std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_');
  for (char c : name)
    plain = plain &&
            (std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_');
  if (plain) return name;
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string qualified(const std::string& schema, const std::string& name) {
  return quote_ident(schema) + "." + quote_ident(name);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "order_items" -> "OrderItem": Django's default model for a table, guessed.
std::string model_name(const std::string& table) {
  std::string singular = table;
  if (singular.ends_with("ies") && singular.size() > 3)
    singular = singular.substr(0, singular.size() - 3) + "y";
  else if (singular.ends_with("sses") || singular.ends_with("xes") || singular.ends_with("ches"))
    singular = singular.substr(0, singular.size() - 2);
  else if (singular.ends_with("s") && !singular.ends_with("ss") && singular.size() > 1)
    singular.pop_back();
  std::string out;
  bool up = true;
  for (char c : singular) {
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      up = true;
      continue;
    }
    out += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    up = false;
  }
  return out.empty() ? "Model" : out;
}

std::string snake(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else if (!out.empty() && out.back() != '_')
      out += '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

bool is_time_type(const std::string& type) { return type.starts_with("timestamp") || type == "date"; }

bool is_select(const std::string& query) {
  static const std::regex select(R"(^\s*(select|with)\b)", std::regex::icase);
  static const std::regex writes(R"(\b(insert|update|delete|merge)\b)", std::regex::icase);
  return std::regex_search(query, select) && !std::regex_search(query, writes);
}

bool is_aggregate(const std::string& query) {
  static const std::regex agg(R"(\bgroup\s+by\b|\b(count|sum|avg)\s*\()", std::regex::icase);
  return std::regex_search(query, agg);
}

// The tables a statement names: after FROM (with comma-separated lists) and
// JOIN, bare (schema dropped), lower-case unless quoted. Functions and
// subqueries in FROM come out as names no table has, or not at all.
std::vector<std::string> referenced_names(const std::string& query) {
  std::vector<std::string> tokens;  // identifiers (quoted ones keep their quotes) and , . ( )
  for (std::size_t i = 0; i < query.size();) {
    const char c = query[i];
    if (c == '"') {
      const auto close = query.find('"', i + 1);
      const std::size_t stop = close == std::string::npos ? query.size() : close + 1;
      tokens.push_back(query.substr(i, stop - i));
      i = stop;
    } else if (c == '\'') {
      const auto close = query.find('\'', i + 1);
      i = close == std::string::npos ? query.size() : close + 1;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t j = i;
      while (j < query.size() &&
             (std::isalnum(static_cast<unsigned char>(query[j])) || query[j] == '_' || query[j] == '$'))
        ++j;
      tokens.push_back(query.substr(i, j - i));
      i = j;
    } else {
      if (c == ',' || c == '.' || c == '(' || c == ')') tokens.emplace_back(1, c);
      ++i;
    }
  }
  static const std::set<std::string> keywords{
      "where", "join",  "inner",  "left",   "right",  "full",  "cross",     "on",        "using",
      "group", "order", "limit",  "offset", "having", "union", "window",    "natural",   "lateral",
      "for",   "set",   "values", "select", "except", "fetch", "intersect", "returning", "tablesample"};
  const auto is_name = [&](std::size_t k) {
    return k < tokens.size() &&
           (tokens[k][0] == '"' || std::isalpha(static_cast<unsigned char>(tokens[k][0])) || tokens[k][0] == '_');
  };
  std::vector<std::string> out;
  const auto add = [&](std::string name) {
    if (name.size() >= 2 && name.front() == '"')
      name = name.substr(1, name.size() - 2);
    else
      name = lower(name);
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  };
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string word = lower(tokens[i]);
    if (word != "from" && word != "join") continue;
    std::size_t j = i + 1;
    while (true) {
      if (j < tokens.size() && lower(tokens[j]) == "only") ++j;
      if (!is_name(j) || keywords.contains(lower(tokens[j]))) break;
      std::string name = tokens[j];
      while (j + 2 < tokens.size() && tokens[j + 1] == "." && is_name(j + 2)) {
        name = tokens[j + 2];
        j += 2;
      }
      add(name);
      ++j;
      if (j < tokens.size() && lower(tokens[j]) == "as")
        j += 2;  // AS alias
      else if (is_name(j) && !keywords.contains(lower(tokens[j])))
        ++j;  // alias
      if (word == "from" && j < tokens.size() && tokens[j] == ",") {
        ++j;
        continue;
      }
      break;
    }
  }
  return out;
}

// `SELECT list FROM from WHERE a = $1 AND b = $2 [GROUP BY g]` (nothing else)
// as `SELECT a, b, list FROM from GROUP BY a, b[, g]`; no columns when the
// statement has another shape or other parameters.
struct ParameterRewrite {
  std::vector<std::string> columns;  // as written (possibly qualified)
  std::string rewritten;
};
ParameterRewrite parameter_equalities(const std::string& flat) {
  static const std::regex shape(
      R"(^\s*select\s+(.*?)\s+from\s+(.*?)\s+where\s+(.*?)(?:\s+group\s+by\s+(.*?))?\s*;?\s*$)", std::regex::icase);
  static const std::regex other(
      R"(\b(order\s+by|limit|offset|having|union|intersect|except|join|distinct)\b|\(\s*select\b)", std::regex::icase);
  static const std::regex conjunct_split(R"(\s+and\s+)", std::regex::icase);
  static const std::regex equality(R"(^\s*((?:[A-Za-z_]\w*\.)?[A-Za-z_]\w*)\s*=\s*\$\d+\s*$)");
  ParameterRewrite out;
  std::smatch m;
  if (std::regex_search(flat, other) || !std::regex_match(flat, m, shape)) return out;
  const std::string where = m[3];
  std::vector<std::string> columns;
  for (std::sregex_token_iterator it(where.begin(), where.end(), conjunct_split, -1), end; it != end; ++it) {
    const std::string conjunct = *it;
    std::smatch cm;
    if (!std::regex_match(conjunct, cm, equality)) return out;
    columns.push_back(cm[1]);
  }
  std::string cols;
  for (const auto& c : columns) cols += (cols.empty() ? "" : ", ") + c;
  const std::string group = m[4];
  if (group.find('$') != std::string::npos || std::string(m[1]).find('$') != std::string::npos ||
      std::string(m[2]).find('$') != std::string::npos)
    return out;
  out.columns = columns;
  out.rewritten = "SELECT " + cols + ", " + std::string(m[1]) + " FROM " + std::string(m[2]) + " GROUP BY " + cols +
                  (group.empty() ? "" : ", " + group);
  return out;
}

// Does the query filter on `column` (a WHERE clause that names it)?
bool filters_on(const std::string& query, const std::string& column) {
  const std::string q = lower(query);
  const auto where = q.find("where");
  if (where == std::string::npos) return false;
  const std::regex col("\\b" + lower(column) + "\\b");
  return std::regex_search(q.begin() + static_cast<std::ptrdiff_t>(where), q.end(), col);
}

std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return text;
}

struct Profiled {
  TableProfile profile;
  const ScaleTable* table = nullptr;
  double ins = 0, upd = 0, del = 0, hot = 0, seq = 0, idx = 0;
};

class Advisor {
 public:
  Advisor(const ScaleSnapshot& s, const knowledge::RuleBook& rules, const std::set<ScaleFocus>& focus)
      : s_(s), rules_(rules), focus_(focus) {}

  ScaleAdvice run() {
    profile_tables();
    detect_tenant_key();
    if (wants(ScaleFocus::cache)) cache();
    if (wants(ScaleFocus::materialized_views)) materialized_views();
    if (wants(ScaleFocus::time_series)) time_series();
    if (wants(ScaleFocus::replicas)) replicas();
    if (wants(ScaleFocus::sharding)) sharding();
    if (!s_.statements_available && !s_.statements_note.empty()) out_.notes.push_back(s_.statements_note);
    if (s_.stats_age_s > 0 && s_.stats_age_s < 86400)
      out_.notes.push_back("The counters cover only " + fixed(s_.stats_age_s / 3600, 1) + " h (statistics since " +
                           (s_.stats_since.empty() ? "recently" : s_.stats_since) +
                           "): a day or a week of normal traffic classifies tables more reliably.");
    for (const auto& n : s_.notes) out_.notes.push_back(n);
    knowledge::sort_by_impact(out_.findings);
    for (auto& p : profiles_) out_.tables.push_back(std::move(p.profile));
    return std::move(out_);
  }

 private:
  bool wants(ScaleFocus f) const { return focus_.empty() || focus_.contains(f); }
  bool has_extension(const char* name) const {
    return std::find(s_.extensions.begin(), s_.extensions.end(), name) != s_.extensions.end();
  }
  double t(const char* rule, const char* name) const { return rules_.threshold(rule, name); }

  Finding make(const char* rule_id, const TemplateValues& values, const std::string& table) {
    const Rule& rule = rules_.rule(rule_id);
    Finding f;
    f.rule_id = rule.id;
    f.title = rule.title;
    f.category = rule.category;
    f.severity = rule.severity;
    f.where.table = table;
    f.summary = rule.render_summary(values);
    f.fix = rule.render_fix(values);
    f.source = EvidenceSource::measured;
    return f;
  }

  // Per table, partitions folded into their parent.
  void profile_tables() {
    std::map<std::string, std::size_t> index;
    for (const auto& t : s_.tables) {
      if (!t.partition_of.empty() && s_.find(t.partition_of)) continue;
      index[t.table] = profiles_.size();
      Profiled p;
      p.table = &t;
      p.profile.table = t.table;
      p.profile.total_bytes = t.total_bytes;
      profiles_.push_back(p);
    }
    for (const auto& t : s_.tables) {
      const std::string owner =
          !t.partition_of.empty() && s_.find(t.partition_of) ? s_.find(t.partition_of)->table : t.table;
      Profiled& p = profiles_[index[owner]];
      p.seq += t.seq_scan;
      p.idx += t.idx_scan;
      p.ins += t.n_tup_ins;
      p.upd += t.n_tup_upd;
      p.del += t.n_tup_del;
      p.hot += t.n_tup_hot_upd;
      // n_live_tup is 0 after a statistics reset until the next ANALYZE: at least the rows kept since.
      p.profile.live_rows += std::max(t.n_live_tup, t.n_tup_ins - t.n_tup_del);
      if (owner != t.table && !p.table->partitioned) p.profile.total_bytes += t.total_bytes;
    }
    const double min_reads = t("SCALE_CACHE_TABLE", "min_reads");
    const double read_heavy = t("SCALE_CACHE_TABLE", "min_read_write_ratio");
    const double min_writes = t("SCALE_NOT_CACHE_WRITE_HEAVY", "min_writes");
    const double write_heavy = t("SCALE_NOT_CACHE_WRITE_HEAVY", "max_read_write_ratio");
    const double min_inserts = t("SCALE_TIMESERIES_BRIN", "min_inserts");
    const double max_change = t("SCALE_TIMESERIES_BRIN", "max_change_share");
    const double min_corr = t("SCALE_TIMESERIES_BRIN", "min_correlation");
    const double min_rows = t("SCALE_TIMESERIES_BRIN", "min_rows");
    // Foreign-key checks: each row inserted into a referencing table is one index scan here.
    for (const auto& p : profiles_)
      for (const auto& fk : p.table->foreign_keys) {
        const ScaleTable* referenced = s_.find(fk.referenced);
        if (!referenced || referenced == p.table) continue;
        for (auto& q : profiles_)
          if (q.table == referenced) q.profile.fk_check_reads += p.ins;
      }
    for (auto& p : profiles_) {
      TableProfile& tp = p.profile;
      // (a check on a small table is a sequential scan: the planner's choice)
      tp.fk_check_reads = std::min(tp.fk_check_reads, p.seq + p.idx);
      tp.reads = p.seq + p.idx - tp.fk_check_reads;
      tp.writes = p.ins + p.upd + p.del;
      if (tp.writes > 0) tp.read_write_ratio = tp.reads / tp.writes;
      if (tp.reads >= min_reads && (!tp.read_write_ratio || *tp.read_write_ratio >= read_heavy))
        tp.labels.push_back("read_heavy");
      // Time series: append-only, stored in the order of a date/time column.
      if (p.ins >= min_inserts && (p.upd + p.del) <= max_change * p.ins && tp.live_rows >= min_rows) {
        const ScaleColumn* best = nullptr;
        for (const auto& c : p.table->columns)
          if (is_time_type(c.type) && c.correlation && *c.correlation >= min_corr &&
              (!best || *c.correlation > *best->correlation))
            best = &c;
        if (!best && p.table->partitioned) {  // a partitioned parent: its range key
          for (const auto& c : p.table->columns)
            if (is_time_type(c.type) && p.table->partition_key.find(c.name) != std::string::npos) best = &c;
        }
        if (best) {
          tp.labels.push_back("time_series");
          tp.time_column = best->name;
          tp.correlation = best->correlation;
        }
      }
      // Write-heavy: rows change about as often as they are read. An append-only
      // time series is written more than read too, but its advice is BRIN and
      // partitioning, not HOT updates.
      if (!tp.has("time_series") && tp.writes >= min_writes && tp.read_write_ratio &&
          *tp.read_write_ratio <= write_heavy)
        tp.labels.push_back("write_heavy");
    }
    std::stable_sort(profiles_.begin(), profiles_.end(), [](const Profiled& a, const Profiled& b) {
      return a.profile.total_bytes > b.profile.total_bytes;
    });
  }

  void detect_tenant_key() {
    // column -> tables carrying it, and how many reference one table by it.
    struct Candidate {
      std::vector<Profiled*> tables;
      std::map<std::string, int> referenced;
    };
    std::map<std::string, Candidate> candidates;
    for (auto& p : profiles_)
      for (const auto& c : p.table->columns) {
        if (!std::regex_match(c.name, kTenantColumn)) continue;
        Candidate& cand = candidates[c.name];
        cand.tables.push_back(&p);
        for (const auto& fk : p.table->foreign_keys)
          if (fk.columns.size() == 1 && fk.columns[0] == c.name) ++cand.referenced[fk.referenced];
      }
    const double min_tables = t("SCALE_SHARD_CITUS", "min_tenant_tables");
    const double min_fk_share = t("SCALE_SHARD_CITUS", "min_fk_share");
    std::string best;
    std::size_t best_count = 0;
    for (const auto& [column, cand] : candidates) {
      int fk = 0;
      std::string referenced;
      for (const auto& [table, n] : cand.referenced)
        if (n > fk) {
          fk = n;
          referenced = table;
        }
      if (cand.tables.size() < min_tables || fk < min_fk_share * cand.tables.size()) continue;
      if (cand.tables.size() > best_count) {
        best = column;
        best_count = cand.tables.size();
        tenant_table_ = referenced;
      }
    }
    if (best.empty()) return;
    out_.tenant_key = best;
    for (Profiled* p : candidates[best].tables) p->profile.labels.push_back("tenant_keyed");
  }

  const Profiled* profile_of(const std::string& bare) const {
    for (const auto& p : profiles_)
      if (p.table->name == bare || lower(p.table->name) == bare) return &p;
    return nullptr;
  }

  double timeout_for(const TableProfile& tp, const char* rule) const {
    const double lo = t(rule, "min_cache_timeout_s"), hi = t(rule, "max_cache_timeout_s");
    if (tp.writes <= 0 || s_.stats_age_s <= 0) return hi;
    return std::clamp(std::round(s_.stats_age_s / tp.writes), lo, hi);
  }

  void cache() {
    for (auto& p : profiles_) {
      const TableProfile& tp = p.profile;
      if (tp.has("read_heavy")) {
        const std::string model = model_name(p.table->name);
        const double timeout = timeout_for(tp, "SCALE_CACHE_TABLE");
        TemplateValues v{{"table", tp.table},
                         {"reads", count(tp.reads)},
                         {"writes", count(tp.writes)},
                         {"ratio", tp.read_write_ratio ? ratio_text(*tp.read_write_ratio) : "no writes, unbounded"},
                         {"read_share", percent(tp.reads / std::max(tp.reads + tp.writes, 1.0))},
                         {"model", model},
                         {"app", p.table->schema == "public" ? "myapp" : snake(p.table->schema)},
                         {"timeout_s", fixed(timeout, 0)},
                         {"model_lower", snake(p.table->name)},
                         {"cache_prefix", snake(p.table->name)}};
        Finding f = make("SCALE_CACHE_TABLE", v, tp.table);
        f.numbers = {{"reads", tp.reads},
                     {"seq_scan", p.seq},
                     {"idx_scan", p.idx},
                     {"fk_check_reads_estimated", tp.fk_check_reads},
                     {"writes", tp.writes},
                     {"cache_timeout_s", timeout},
                     {"total_bytes", tp.total_bytes}};
        if (tp.read_write_ratio) f.numbers["read_write_ratio"] = *tp.read_write_ratio;
        f.facts["model_guessed"] = model;
        out_.findings.push_back(std::move(f));
      }
      if (tp.has("write_heavy")) {
        TemplateValues v{{"table", tp.table},
                         {"writes", count(tp.writes)},
                         {"updates", count(p.upd)},
                         {"deletes", count(p.del)},
                         {"inserts", count(p.ins)},
                         {"reads", count(tp.reads)},
                         {"ratio", ratio_text(tp.read_write_ratio.value_or(0))},
                         {"hot_share", p.upd > 0 ? percent(p.hot / p.upd) : std::string("n/a (no updates)")}};
        Finding f = make("SCALE_NOT_CACHE_WRITE_HEAVY", v, tp.table);
        f.numbers = {{"reads", tp.reads},
                     {"writes", tp.writes},
                     {"n_tup_ins", p.ins},
                     {"n_tup_upd", p.upd},
                     {"n_tup_del", p.del},
                     {"n_tup_hot_upd", p.hot},
                     {"read_write_ratio", tp.read_write_ratio.value_or(0)}};
        out_.findings.push_back(std::move(f));
      }
    }
    if (!s_.statements_available) return;
    const double min_calls = t("SCALE_CACHE_QUERY", "min_calls"), min_mean = t("SCALE_CACHE_QUERY", "min_mean_ms");
    const double min_ratio = t("SCALE_CACHE_QUERY", "min_table_read_write_ratio");
    for (const auto& q : s_.statements) {
      if (q.calls < min_calls || q.mean_ms < min_mean || !is_select(q.query)) continue;
      std::vector<const Profiled*> read;
      bool stable = true;
      for (const auto& name : referenced_names(q.query)) {
        const Profiled* p = profile_of(name);
        if (!p) continue;  // a CTE or function name
        read.push_back(p);
        if (p->profile.read_write_ratio && *p->profile.read_write_ratio < min_ratio) stable = false;
      }
      if (read.empty() || !stable) continue;
      std::string tables, names;
      double timeout = t("SCALE_CACHE_QUERY", "max_cache_timeout_s");
      for (const Profiled* p : read) {
        tables += (tables.empty() ? "" : ", ") + p->profile.table;
        names += std::string(names.empty() ? "" : ", ") + "\"" + p->table->name + "\"";
        timeout = std::min(timeout, timeout_for(p->profile, "SCALE_CACHE_QUERY"));
      }
      const std::string id = q.queryid.empty() ? std::string("?") : q.queryid;
      std::string key = "query_" + id;
      for (char& c : key)
        if (c == '-') c = 'm';
      TemplateValues v{{"queryid", id},
                       {"calls", count(q.calls)},
                       {"mean_ms", ms_text(q.mean_ms)},
                       {"total_ms", count(q.total_ms)},
                       {"tables", tables},
                       {"timeout_s", fixed(timeout, 0)},
                       {"cache_key", key},
                       {"table_names", "{" + names + "}"},
                       {"query", q.query}};
      Finding f = make("SCALE_CACHE_QUERY", v, read.front()->profile.table);
      f.where.text = one_line(q.query);
      f.numbers = {{"calls", q.calls}, {"mean_ms", q.mean_ms}, {"total_ms", q.total_ms}, {"cache_timeout_s", timeout}};
      if (s_.statements_total_ms > 0) f.saving_share = std::min(1.0, q.total_ms / s_.statements_total_ms);
      f.facts["queryid"] = q.queryid;
      out_.findings.push_back(std::move(f));
    }
  }

  void materialized_views() {
    if (!s_.statements_available) return;
    const double min_calls = t("SCALE_MATERIALIZED_VIEW", "min_calls");
    const double min_mean = t("SCALE_MATERIALIZED_VIEW", "min_mean_ms");
    const double budget = t("SCALE_MATERIALIZED_VIEW", "staleness_budget_s");
    const double headroom = t("SCALE_MATERIALIZED_VIEW", "min_refresh_headroom");
    static const std::regex group_by(R"(\bgroup\s+by\s+(.*?)(\s+(having|order|limit|offset|window)\b|\)|;|$))",
                                     std::regex::icase);
    static const std::regex simple_col(R"(^\s*(?:[A-Za-z_]\w*\.)?([A-Za-z_]\w*)\s*$)");
    static const std::regex param(R"(\$\d+)");
    for (const auto& q : s_.statements) {
      if (q.calls < min_calls || q.mean_ms < min_mean || !is_select(q.query) || !is_aggregate(q.query)) continue;
      const auto names = referenced_names(q.query);
      const Profiled* main = nullptr;
      for (const auto& n : names)
        if ((main = profile_of(n))) break;
      const std::string base = main ? main->table->name : std::string("query");
      const std::string schema = main ? main->table->schema : std::string("public");
      std::string suffix = q.queryid.empty() ? "1" : q.queryid.substr(q.queryid.size() > 6 ? q.queryid.size() - 6 : 0);
      for (char& c : suffix)
        if (c == '-') c = 'm';
      const std::string view_name = snake("mv_" + base + "_" + suffix);
      const std::string view = qualified(schema, view_name);
      // Equality filters on parameters (WHERE organization_id = $1) become GROUP BY columns, so that one view
      // serves every value; any other parameter stays for the user to replace.
      const std::string flat = one_line(q.query);
      std::string view_query = q.query, param_note;
      const auto equality_columns = parameter_equalities(flat);
      if (!equality_columns.columns.empty()) {
        view_query = equality_columns.rewritten;
        std::string cols;
        for (const auto& c : equality_columns.columns) cols += (cols.empty() ? "" : ", ") + c;
        param_note = " (its `= $n` filters on " + cols + " became GROUP BY columns: read the view with WHERE " + cols +
                     " = the value)";
      } else if (std::regex_search(q.query, param)) {
        param_note = " (this statement has $n parameters, which a view cannot take)";
      }
      // The unique index REFRESH ... CONCURRENTLY needs: on the GROUP BY columns.
      std::string unique_index, concurrently = "CONCURRENTLY ";
      std::smatch m;
      const std::string view_flat = one_line(view_query);
      if (std::regex_search(view_flat, m, group_by)) {
        std::vector<std::string> cols;
        bool simple = true;
        std::string item;
        std::string list = m[1];
        std::size_t start = 0;
        for (std::size_t i = 0; i <= list.size(); ++i)
          if (i == list.size() || list[i] == ',') {
            item = list.substr(start, i - start);
            start = i + 1;
            std::smatch cm;
            if (std::regex_match(item, cm, simple_col))
              cols.push_back(cm[1]);
            else
              simple = false;
          }
        if (simple && !cols.empty()) {
          std::string joined;
          for (const auto& c : cols) joined += (joined.empty() ? "" : ", ") + c;
          unique_index = "CREATE UNIQUE INDEX ON " + view + " (" + joined + ");  -- one row per group";
        } else {
          unique_index =
              "-- GROUP BY has expressions: alias them in the SELECT list and create a UNIQUE index on those "
              "aliases\n-- (REFRESH ... CONCURRENTLY needs one), e.g. CREATE UNIQUE INDEX ON " +
              view + " (day, ...);";
        }
      } else {
        unique_index = "-- one row: a plain REFRESH is quick, so no unique index is needed";
        concurrently = "";
      }
      const double interval = std::max(budget, std::ceil(headroom * q.mean_ms / 1000.0));
      std::string cron, interval_text;
      const int minutes = std::max(1, static_cast<int>(std::ceil(interval / 60)));
      if (minutes < 60) {
        cron = minutes == 1 ? "* * * * *" : "*/" + std::to_string(minutes) + " * * * *";
        interval_text = std::to_string(minutes) + " min";
      } else {
        const int hours = std::min(24, (minutes + 59) / 60);
        cron = hours >= 24 ? "0 3 * * *" : hours == 1 ? "0 * * * *" : "0 */" + std::to_string(hours) + " * * *";
        interval_text = hours >= 24 ? "day" : std::to_string(hours) + " h";
      }
      TemplateValues v{{"queryid", q.queryid.empty() ? std::string("?") : q.queryid},
                       {"calls", count(q.calls)},
                       {"mean_ms", ms_text(q.mean_ms)},
                       {"total_ms", count(q.total_ms)},
                       {"interval_text", interval_text},
                       {"parameter_note", param_note},
                       {"view", view},
                       {"query", view_query},
                       {"unique_index", unique_index},
                       {"view_name", view_name},
                       {"cron", cron},
                       {"cron_note", has_extension("pg_cron") ? "installed in this database"
                                                              : "not installed here: it needs its package and "
                                                                "shared_preload_libraries on the server"},
                       {"concurrently", concurrently}};
      Finding f = make("SCALE_MATERIALIZED_VIEW", v, main ? main->profile.table : std::string());
      f.where.text = flat;
      f.numbers = {
          {"calls", q.calls}, {"mean_ms", q.mean_ms}, {"total_ms", q.total_ms}, {"refresh_interval_s", interval}};
      if (s_.statements_total_ms > 0) f.saving_share = std::min(1.0, q.total_ms / s_.statements_total_ms);
      f.facts["queryid"] = q.queryid;
      out_.findings.push_back(std::move(f));
    }
  }

  // Of the statement time on a table, the share whose WHERE names `column`; absent without statements.
  std::optional<double> filtered_share(const Profiled& p, const std::string& column) const {
    if (!s_.statements_available) return std::nullopt;
    double all = 0, filtered = 0;
    for (const auto& q : s_.statements) {
      const auto names = referenced_names(q.query);
      if (std::find(names.begin(), names.end(), lower(p.table->name)) == names.end() &&
          std::find(names.begin(), names.end(), p.table->name) == names.end())
        continue;
      if (!is_select(q.query)) continue;  // inserts name no filter and need none
      all += q.total_ms;
      if (filters_on(q.query, column)) filtered += q.total_ms;
    }
    if (all <= 0) return std::nullopt;
    return filtered / all;
  }

  void time_series() {
    const double large_gb = t("SCALE_TIMESERIES_BRIN", "large_table_gb");
    const double min_gb = t("SCALE_TIMESERIES_PARTITION", "min_table_gb");
    const double min_filtered = t("SCALE_TIMESERIES_PARTITION", "min_filtered_share");
    for (const auto& p : profiles_) {
      const TableProfile& tp = p.profile;
      if (!tp.has("time_series")) continue;
      const std::string& col = tp.time_column;
      const std::string corr = tp.correlation ? fixed(*tp.correlation, 3) : std::string("n/a");
      bool has_brin = false;
      for (const auto& def : p.table->brin_indexes)
        if (def.find("(" + col + ")") != std::string::npos || def.find(quote_ident(col)) != std::string::npos)
          has_brin = true;
      if (!has_brin && !p.table->partitioned) {
        const double ppr = tp.total_bytes >= large_gb * kGiB ? t("SCALE_TIMESERIES_BRIN", "large_table_pages_per_range")
                                                             : t("SCALE_TIMESERIES_BRIN", "pages_per_range");
        TemplateValues v{{"table", tp.table},
                         {"inserts", count(p.ins)},
                         {"changes", count(p.upd + p.del)},
                         {"column", quote_ident(col)},
                         {"correlation", corr},
                         {"index_name", quote_ident(snake(p.table->name + "_" + col + "_brin"))},
                         {"pages_per_range", fixed(ppr, 0)},
                         {"btree_note", "A B-tree on " + quote_ident(col) +
                                            " that serves only time ranges can go once EXPLAIN ANALYZE shows the "
                                            "BRIN index used. "}};
        Finding f = make("SCALE_TIMESERIES_BRIN", v, tp.table);
        f.where.column = col;
        f.numbers = {{"n_tup_ins", p.ins},
                     {"n_tup_upd", p.upd},
                     {"n_tup_del", p.del},
                     {"live_rows", tp.live_rows},
                     {"total_bytes", tp.total_bytes},
                     {"pages_per_range", ppr}};
        if (tp.correlation) f.numbers["correlation"] = *tp.correlation;
        out_.findings.push_back(std::move(f));
      }
      if (p.table->partitioned) {
        out_.notes.push_back(tp.table + " is already partitioned (" + p.table->partition_key + ", " +
                             std::to_string(p.table->partitions) + " partitions): no partitioning advice.");
        continue;
      }
      const auto share = filtered_share(p, col);
      const std::string size = bytes(tp.total_bytes);
      std::string reason;
      if (tp.total_bytes < min_gb * kGiB)
        reason = "it holds " + size + ", under " + gb_text(min_gb) + ", so one table and its indexes stay quick";
      else if (share && *share < min_filtered)
        reason = "only " + percent(*share) + " of its query time filters on " + col +
                 " (partition pruning needs that filter; the other queries would read every partition)";
      if (!reason.empty()) {
        TemplateValues v{
            {"table", tp.table},
            {"column", quote_ident(col)},
            {"reason", reason},
            // Not partitioned here, so BRIN was advised above or exists already.
            {"brin_hint", std::string(" (a BRIN index on ") + quote_ident(col) + " serves its time ranges)"},
            {"min_size", gb_text(min_gb)}};
        Finding f = make("SCALE_PARTITION_NOT_HELPFUL", v, tp.table);
        f.where.column = col;
        f.numbers = {{"total_bytes", tp.total_bytes}, {"min_table_bytes", min_gb * kGiB}};
        if (share) f.numbers["filtered_share"] = *share;
        out_.findings.push_back(std::move(f));
        continue;
      }
      const std::string& schema = p.table->schema;
      const std::string& name = p.table->name;
      std::string pk_sql;
      if (p.table->primary_key.empty()) {
        pk_sql = "-- " + tp.table + " has no primary key; add one that includes " + quote_ident(col) + " if needed.";
      } else {
        std::string cols;
        bool has_col = false;
        for (const auto& c : p.table->primary_key) {
          cols += (cols.empty() ? "" : ", ") + quote_ident(c);
          has_col = has_col || c == col;
        }
        if (!has_col) cols += ", " + quote_ident(col);
        pk_sql = "ALTER TABLE " + qualified(schema, name + "_partitioned") + " ADD PRIMARY KEY (" + cols + ");";
      }
      std::string filter_evidence;
      if (share)
        filter_evidence = ", and " + percent(*share) + " of its query time filters on " + col;
      else
        filter_evidence = " (no pg_stat_statements figures for its queries: check that they filter on " + col + ")";
      TemplateValues v{
          {"table", tp.table},
          {"size", size},
          {"column", quote_ident(col)},
          {"filter_evidence", filter_evidence},
          {"new_table", qualified(schema, name + "_partitioned")},
          {"primary_key_sql", pk_sql},
          {"schema", schema},
          {"name", name},
          {"default_partition", qualified(schema, name + "_default")},
          {"old_name", quote_ident(name + "_unpartitioned")},
          {"name_ident", quote_ident(name)},
          {"partman_note", has_extension("pg_partman") ? "installed in this database: skip the CREATE EXTENSION"
                                                       : "not installed here: it needs its package on the server"},
          {"retention_months", fixed(t("SCALE_TIMESERIES_PARTITION", "retention_months"), 0)},
          {"oldest_partition", quote_ident(schema) + "." + name + "_pYYYY_MM /* the oldest month */"}};
      Finding f = make("SCALE_TIMESERIES_PARTITION", v, tp.table);
      f.where.column = col;
      f.numbers = {{"total_bytes", tp.total_bytes}, {"live_rows", tp.live_rows}, {"n_tup_ins", p.ins}};
      if (share) f.numbers["filtered_share"] = *share;
      out_.findings.push_back(std::move(f));
    }
  }

  void replicas() {
    double reads = 0, writes = 0;
    for (const auto& p : profiles_) {
      reads += p.profile.reads;
      writes += p.profile.writes;
    }
    const double min_ratio = t("SCALE_READ_REPLICA", "min_read_write_ratio");
    if (reads < t("SCALE_READ_REPLICA", "min_reads") || (writes > 0 && reads / writes < min_ratio)) {
      out_.notes.push_back("Read replica: not advised: " + count(reads) + " reads for " + count(writes) +
                           " written rows" + (writes > 0 ? " (" + ratio_text(reads / writes) + " per write)" : "") +
                           "; a replica pays off from " + count(t("SCALE_READ_REPLICA", "min_reads")) + " reads at " +
                           ratio_text(min_ratio) + " or more per write.");
      return;
    }
    std::optional<double> select_share;
    if (s_.statements_available) {
      double all = 0, sel = 0;
      for (const auto& q : s_.statements) {
        all += q.total_ms;
        if (is_select(q.query)) sel += q.total_ms;
      }
      if (all > 0) select_share = sel / all;
      if (select_share && *select_share < t("SCALE_READ_REPLICA", "min_select_time_share")) {
        out_.notes.push_back("Read replica: not advised: SELECT statements take only " + percent(*select_share) +
                             " of the statement time.");
        return;
      }
    }
    TemplateValues v{{"ratio", writes > 0 ? ratio_text(reads / writes) : std::string("unboundedly")},
                     {"reads", count(reads)},
                     {"writes", count(writes)},
                     {"select_share_text",
                      select_share ? "; SELECT statements take " + percent(*select_share) + " of the statement time"
                                   : std::string()}};
    Finding f = make("SCALE_READ_REPLICA", v, "");
    f.numbers = {{"reads", reads}, {"writes", writes}};
    if (writes > 0) f.numbers["read_write_ratio"] = reads / writes;
    if (select_share) f.numbers["select_time_share"] = *select_share;
    out_.findings.push_back(std::move(f));
  }

  void sharding() {
    if (out_.tenant_key.empty()) {
      out_.notes.push_back(
          "Sharding: no tenant key found (a column such as tenant_id, account_id or organization_id on at least " +
          fixed(t("SCALE_SHARD_CITUS", "min_tenant_tables"), 0) +
          " tables, most with a foreign key on it to one table), so sharding was not judged.");
      return;
    }
    const std::string& key = out_.tenant_key;
    double size = 0;
    int tenant_tables = 0;
    std::string distributed, reference, local, pk_note;
    const Profiled* tenant = nullptr;
    for (const auto& p : profiles_)
      if (p.profile.table == tenant_table_) tenant = &p;
    if (tenant) {
      size += tenant->profile.total_bytes;
      const std::string pk = tenant->table->primary_key.size() == 1 ? tenant->table->primary_key[0] : "id";
      distributed += "SELECT create_distributed_table('" + tenant->profile.table + "', '" + pk + "');\n";
    }
    const double max_ref = t("SCALE_SHARD_CITUS", "max_reference_table_mb") * kMiB;
    for (const auto& p : profiles_) {
      if (&p == tenant) continue;
      if (p.profile.has("tenant_keyed")) {
        ++tenant_tables;
        size += p.profile.total_bytes;
        distributed += "SELECT create_distributed_table('" + p.profile.table + "', '" + key + "'" +
                       (tenant ? ", colocate_with => '" + tenant->profile.table + "'" : std::string()) + ");\n";
        const auto& pk = p.table->primary_key;
        if (!pk.empty() && std::find(pk.begin(), pk.end(), key) == pk.end()) {
          std::string cols;
          for (const auto& c : pk) cols += (cols.empty() ? "" : ", ") + c;
          pk_note += "- " + p.profile.table + ": primary key (" + cols + ") becomes (" + key + ", " + cols + ")\n";
        }
      } else if (p.profile.total_bytes <= max_ref) {
        reference += "SELECT create_reference_table('" + p.profile.table + "');  -- " + bytes(p.profile.total_bytes) +
                     ", no " + key + "\n";
      } else {
        local += "-- " + p.profile.table + " (" + bytes(p.profile.total_bytes) + ") has no " + key +
                 ": add it and distribute, or keep it on the coordinator\n";
      }
    }
    const double min_gb = t("SCALE_SHARD_CITUS", "min_total_gb");
    TemplateValues v{{"tenant_key", key},
                     {"tenant_tables", std::to_string(tenant_tables)},
                     {"size", bytes(size)},
                     {"min_size", gb_text(min_gb)}};
    const bool shard = size >= min_gb * kGiB;
    if (shard) {
      std::string sql = distributed + reference + local;
      while (!sql.empty() && sql.back() == '\n') sql.pop_back();
      v["citus_sql"] = sql;
      v["primary_key_note"] = pk_note.empty()
                                  ? std::string()
                                  : "Distributed tables' primary keys and unique constraints must include " + key +
                                        ":\n\n" + pk_note + "\n";
    }
    Finding f = make(shard ? "SCALE_SHARD_CITUS" : "SCALE_SHARD_NOT_NEEDED", v, tenant_table_);
    f.where.column = key;
    f.numbers = {{"tenant_tables", static_cast<double>(tenant_tables)},
                 {"total_bytes", size},
                 {"min_total_bytes", min_gb * kGiB}};
    f.facts["tenant_key"] = key;
    f.facts["tenant_table"] = tenant_table_;
    out_.findings.push_back(std::move(f));
  }

  const ScaleSnapshot& s_;
  const knowledge::RuleBook& rules_;
  const std::set<ScaleFocus>& focus_;
  std::vector<Profiled> profiles_;
  std::string tenant_table_;
  ScaleAdvice out_;
};

}  // namespace

const char* to_string(ScaleFocus focus) {
  switch (focus) {
    case ScaleFocus::cache:
      return "cache";
    case ScaleFocus::materialized_views:
      return "materialized_views";
    case ScaleFocus::time_series:
      return "time_series";
    case ScaleFocus::replicas:
      return "replicas";
    case ScaleFocus::sharding:
      return "sharding";
  }
  return "cache";
}

std::optional<ScaleFocus> parse_scale_focus(const std::string& text) {
  for (ScaleFocus f : all_scale_focuses())
    if (text == to_string(f)) return f;
  return std::nullopt;
}

const std::vector<ScaleFocus>& all_scale_focuses() {
  static const std::vector<ScaleFocus> all{ScaleFocus::cache, ScaleFocus::materialized_views, ScaleFocus::time_series,
                                           ScaleFocus::replicas, ScaleFocus::sharding};
  return all;
}

bool TableProfile::has(const std::string& label) const {
  return std::find(labels.begin(), labels.end(), label) != labels.end();
}

ScaleAdvice advise_scale(const ScaleSnapshot& snapshot, const knowledge::RuleBook& rules,
                         const std::set<ScaleFocus>& focus) {
  return Advisor(snapshot, rules, focus).run();
}

}  // namespace dbopt::scale
