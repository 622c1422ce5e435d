#include "core/health/health_checks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "core/common/error.h"
#include "core/sql/row_constant_calls.h"

namespace dbopt::health {
namespace {

using knowledge::EvidenceSource;
using knowledge::Finding;
using knowledge::Rule;
using knowledge::Severity;
using knowledge::TemplateValues;

// PostgreSQL stops assigning IDs 3 million before the 2^31 wraparound point.
constexpr double kIdsBeforeStop = 2147483647.0 - 3000000.0;

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

std::string percent(double share) { return fixed(share * 100, share < 0.1 ? 1 : 0) + "%"; }

std::string bytes(double b) {
  const char* units[] = {"bytes", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return fixed(b, u == 0 || b >= 100 ? 0 : 1) + " " + units[u];
}

// A size for a setting: "4GB", "160MB", "64kB".
std::string setting_size(double kb) {
  if (kb >= 1024 * 1024 && std::fmod(kb, 1024 * 1024) < 1) return fixed(kb / (1024 * 1024), 0) + "GB";
  if (kb >= 1024) return fixed(std::floor(kb / 1024), 0) + "MB";
  return fixed(std::max(kb, 64.0), 0) + "kB";
}

std::string duration(double s) {
  if (s < 120) return fixed(s, s < 10 ? 1 : 0) + " s";
  if (s < 7200) return fixed(s / 60, 0) + " min";
  if (s < 2 * 86400) return fixed(s / 3600, 1) + " h";
  return fixed(s / 86400, 1) + " days";
}

std::string one_line(std::string text, std::size_t max = 160) {
  for (char& c : text)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (text.size() > max) text = text.substr(0, max) + "...";
  return text.empty() ? "(none)" : text;
}

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

double kb_of(const SettingValue& v) {
  const double n = std::strtod(v.setting.c_str(), nullptr);
  if (v.unit == "8kB") return n * 8;
  if (v.unit == "kB") return n;
  if (v.unit == "MB") return n * 1024;
  if (v.unit == "B") return n / 1024;
  return n;
}

class Checker {
 public:
  Checker(const knowledge::RuleBook& rules, int limit, HealthReport& report)
      : rules_(rules), limit_(limit), report_(report) {}

  const Rule& rule(const char* id) const { return rules_.rule(id); }
  double threshold(const char* id, const char* name) const { return rules_.threshold(id, name); }

  // The rule's severity, raised to each (threshold, severity) the value reaches.
  Severity escalate(const char* id, double value, std::initializer_list<std::pair<const char*, Severity>> steps) const {
    Severity s = rule(id).severity;
    for (const auto& [name, severity] : steps)
      if (value >= threshold(id, name)) s = std::max(s, severity);
    return s;
  }

  void add(const char* id, Severity severity, knowledge::Location where, const TemplateValues& values,
           std::map<std::string, double> numbers, EvidenceSource source = EvidenceSource::measured) {
    if (++per_rule_[id] > limit_) return;
    const Rule& r = rule(id);
    Finding f;
    f.rule_id = r.id;
    f.title = r.title;
    f.category = r.category;
    f.severity = severity;
    f.where = std::move(where);
    f.summary = r.render_summary(values);
    f.fix = r.render_fix(values);
    f.source = source;
    f.numbers = std::move(numbers);
    report_.findings.push_back(std::move(f));
  }

  void note_limits() {
    for (const auto& [id, n] : per_rule_)
      if (n > limit_)
        report_.notes.push_back(id + ": " + std::to_string(n) + " findings, the first " + std::to_string(limit_) +
                                " shown (limit_per_check).");
  }

 private:
  const knowledge::RuleBook& rules_;
  int limit_;
  HealthReport& report_;
  std::map<std::string, int> per_rule_;
};

knowledge::Location on_table(const std::string& table, const std::string& text = "") {
  knowledge::Location l;
  l.table = table;
  l.text = text;
  return l;
}
knowledge::Location about(const std::string& text) {
  knowledge::Location l;
  l.text = text;
  return l;
}

void check_bloat(const HealthSnapshot& s, Checker& c) {
  if (s.table_bloat) {
    const double min_bytes = c.threshold("HEALTH_TABLE_BLOAT", "min_bloat_mb") * 1024 * 1024;
    for (const auto& t : *s.table_bloat) {
      const double share = t.table_bytes > 0 ? t.bloat_bytes / t.table_bytes : 0;
      if (t.bloat_bytes < min_bytes || share < c.threshold("HEALTH_TABLE_BLOAT", "min_bloat_share")) continue;
      c.add("HEALTH_TABLE_BLOAT", c.escalate("HEALTH_TABLE_BLOAT", share, {{"high_bloat_share", Severity::high}}),
            on_table(t.table),
            {{"table", t.table},
             {"bloat_share", percent(share)},
             {"table_size", bytes(t.table_bytes)},
             {"bloat_size", bytes(t.bloat_bytes)},
             {"method", t.measured ? "measured with pgstattuple_approx" : "estimated from pg_stats and reltuples"}},
            {{"table_bytes", t.table_bytes}, {"bloat_bytes", t.bloat_bytes}, {"bloat_share", share}},
            t.measured ? EvidenceSource::measured : EvidenceSource::estimated);
    }
  }
  if (s.index_bloat) {
    const double min_bytes = c.threshold("HEALTH_INDEX_BLOAT", "min_bloat_mb") * 1024 * 1024;
    for (const auto& i : *s.index_bloat) {
      const double share = i.index_bytes > 0 ? i.bloat_bytes / i.index_bytes : 0;
      if (i.bloat_bytes < min_bytes || share < c.threshold("HEALTH_INDEX_BLOAT", "min_bloat_share")) continue;
      c.add("HEALTH_INDEX_BLOAT", c.rule("HEALTH_INDEX_BLOAT").severity, on_table(i.table, i.index),
            {{"index", i.index},
             {"table", i.table},
             {"bloat_share", percent(share)},
             {"index_size", bytes(i.index_bytes)},
             {"bloat_size", bytes(i.bloat_bytes)}},
            {{"index_bytes", i.index_bytes}, {"bloat_bytes", i.bloat_bytes}, {"bloat_share", share}},
            EvidenceSource::estimated);
    }
  }
}

void check_vacuum(const HealthSnapshot& s, Checker& c) {
  if (!s.vacuum) return;
  for (const auto& t : *s.vacuum) {
    const double all = t.live_rows + t.dead_rows;
    const double dead_share = all > 0 ? t.dead_rows / all : 0;
    const std::string last_vacuum = t.last_vacuum.empty() ? "never" : t.last_vacuum;
    if (t.dead_rows >= c.threshold("HEALTH_DEAD_TUPLES", "min_dead_rows") &&
        dead_share >= c.threshold("HEALTH_DEAD_TUPLES", "min_dead_share"))
      c.add("HEALTH_DEAD_TUPLES", c.escalate("HEALTH_DEAD_TUPLES", dead_share, {{"high_dead_share", Severity::high}}),
            on_table(t.table),
            {{"table", t.table},
             {"dead_rows", count(t.dead_rows)},
             {"dead_share", percent(dead_share)},
             {"last_vacuum", last_vacuum}},
            {{"dead_rows", t.dead_rows}, {"live_rows", t.live_rows}, {"dead_share", dead_share}});
    const double modified_share = t.modified_since_analyze / std::max(t.live_rows, 1.0);
    if (t.modified_since_analyze >= c.threshold("HEALTH_ANALYZE_STALE", "min_modified_rows") &&
        modified_share >= c.threshold("HEALTH_ANALYZE_STALE", "min_modified_share"))
      c.add("HEALTH_ANALYZE_STALE", c.rule("HEALTH_ANALYZE_STALE").severity, on_table(t.table),
            {{"table", t.table},
             {"modified_rows", count(t.modified_since_analyze)},
             {"last_analyze", t.last_analyze.empty() ? "never" : t.last_analyze},
             {"modified_share", percent(modified_share)},
             {"rows", count(t.live_rows)}},
            {{"modified_since_analyze", t.modified_since_analyze},
             {"live_rows", t.live_rows},
             {"modified_share", modified_share}});
    if (t.autovacuum_disabled)
      c.add("HEALTH_AUTOVACUUM_DISABLED_TABLE", c.rule("HEALTH_AUTOVACUUM_DISABLED_TABLE").severity, on_table(t.table),
            {{"table", t.table}, {"dead_rows", count(t.dead_rows)}},
            {{"dead_rows", t.dead_rows}, {"live_rows", t.live_rows}});
  }
}

void check_wraparound(const HealthSnapshot& s, Checker& c) {
  if (!s.wraparound) return;
  const auto& w = *s.wraparound;
  const auto one = [&](const char* id, const FrozenAge& a, double age, double freeze_max_age) {
    if (age < c.threshold(id, "min_age")) return;
    c.add(id, c.escalate(id, age, {{"high_age", Severity::high}, {"critical_age", Severity::critical}}),
          a.target.empty() ? about(a.subject) : on_table(a.target),
          {{"subject", a.subject},
           {"age", count(age)},
           {"remaining", count(std::max(0.0, kIdsBeforeStop - age))},
           {"freeze_max_age", count(freeze_max_age)},
           {"target", a.target}},
          {{"age", age}, {"remaining", std::max(0.0, kIdsBeforeStop - age)}, {"freeze_max_age", freeze_max_age}});
  };
  for (const auto* list : {&w.databases, &w.tables})
    for (const auto& a : *list) {
      one("HEALTH_XID_WRAPAROUND", a, a.xid_age, w.freeze_max_age);
      one("HEALTH_MXID_WRAPAROUND", a, a.mxid_age, w.multixact_freeze_max_age);
    }
}

void check_cache(const HealthSnapshot& s, Checker& c) {
  if (!s.cache) return;
  const auto& x = *s.cache;
  const auto one = [&](const char* id, double hits, double reads) {
    const double all = hits + reads;
    if (all < c.threshold(id, "min_blocks")) return;
    const double ratio = hits / all;
    if (ratio >= c.threshold(id, "min_hit_ratio")) return;
    c.add(id, c.rule(id).severity, about("database " + x.database),
          {{"database", x.database},
           {"hit_ratio", percent(ratio)},
           {"hits", count(hits)},
           {"reads", count(reads)},
           {"stats_since",
            s.indexes && !s.indexes->stats_since.empty() ? s.indexes->stats_since : "the last statistics reset"}},
          {{"hit_ratio", ratio}, {"hits", hits}, {"reads", reads}});
  };
  one("HEALTH_CACHE_HIT_LOW", x.heap_hits, x.heap_reads);
  one("HEALTH_INDEX_HIT_LOW", x.index_hits, x.index_reads);
}

void check_indexes(const HealthSnapshot& s, Checker& c, HealthReport& report) {
  if (!s.indexes) return;
  const auto& x = *s.indexes;
  for (const auto& i : x.invalid)
    c.add("HEALTH_INDEX_INVALID", c.rule("HEALTH_INDEX_INVALID").severity, on_table(i.table, i.index),
          {{"index", i.index}, {"table", i.table}}, {{"index_bytes", i.bytes}});
  const bool young = x.stats_age_s < c.threshold("HEALTH_INDEX_UNUSED", "min_stats_age_days") * 86400;
  const std::string stats_note = x.stats_reset.empty()
                                     ? "never reset; counted from the server start " + x.postmaster_start
                                     : "reset " + x.stats_reset;
  for (const auto& i : x.unused)
    c.add("HEALTH_INDEX_UNUSED", young ? Severity::info : c.rule("HEALTH_INDEX_UNUSED").severity,
          on_table(i.table, i.index),
          {{"index", i.index},
           {"table", i.table},
           {"index_size", bytes(i.bytes)},
           {"stats_age", duration(x.stats_age_s)},
           {"stats_since", x.stats_since + ", " + stats_note},
           {"definition", i.definition}},
          {{"index_bytes", i.bytes}, {"idx_scan", 0}, {"stats_age_s", x.stats_age_s}});
  if (young && !x.unused.empty())
    report.notes.push_back("Unused indexes are reported as info only: the statistics cover " + duration(x.stats_age_s) +
                           " (since " + x.stats_since +
                           "), less than a full business cycle. Check again after a representative period.");
  if (x.unused_total > static_cast<int>(x.unused.size()))
    report.notes.push_back(std::to_string(x.unused_total) + " indexes have no scans; the " +
                           std::to_string(x.unused.size()) + " largest are listed.");
  for (const auto& group : x.duplicates) {
    std::vector<const IndexEntry*> order;
    for (const auto& e : group) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const IndexEntry* a, const IndexEntry* b) {
      const auto rank = [](const IndexEntry* e) { return std::tuple(e->primary, e->constraint, e->unique, e->scans); };
      if (rank(a) != rank(b)) return rank(a) > rank(b);
      return a->index < b->index;
    });
    const IndexEntry& kept = *order.front();
    const std::string reason = kept.primary      ? " (the primary key)"
                               : kept.constraint ? " (it backs a constraint)"
                               : kept.unique     ? " (it is unique)"
                                                 : " (" + count(kept.scans) + " scans)";
    for (std::size_t k = 1; k < order.size(); ++k) {
      const IndexEntry& drop = *order[k];
      if (drop.primary || drop.constraint) continue;
      c.add("HEALTH_INDEX_DUPLICATE", c.rule("HEALTH_INDEX_DUPLICATE").severity, on_table(drop.table, drop.index),
            {{"index", drop.index},
             {"table", drop.table},
             {"kept", kept.index},
             {"kept_reason", reason},
             {"index_size", bytes(drop.bytes)}},
            {{"index_bytes", drop.bytes},
             {"idx_scan", drop.scans},
             {"kept_idx_scan", kept.scans},
             {"stats_age_s", x.stats_age_s}});
    }
  }
}

void check_sequences(const HealthSnapshot& s, Checker& c) {
  if (!s.sequences) return;
  for (const auto& q : *s.sequences) {
    const double share = q.limit > 0 ? q.last_value / q.limit : 0;
    if (share < c.threshold("HEALTH_SEQUENCE_NEAR_LIMIT", "min_used_share")) continue;
    const bool narrow_column = q.column_type == "integer" || q.column_type == "smallint";
    std::string fix;
    if (narrow_column) fix += "ALTER TABLE " + q.owner_table + " ALTER COLUMN " + q.owner_column + " TYPE bigint;";
    if (q.type != "bigint" && !q.owned_by_identity)
      fix += std::string(fix.empty() ? "" : "\n") + "ALTER SEQUENCE " + q.sequence + " AS bigint;";
    if (fix.empty())
      fix = "-- " + q.sequence +
            " is bigint and so is its column: reset it only if old values are gone:\n"
            "ALTER SEQUENCE " +
            q.sequence + " RESTART WITH 1;";
    const std::string type = q.type + (q.column_type.empty() ? "" : ", column " + q.column_type);
    c.add("HEALTH_SEQUENCE_NEAR_LIMIT",
          c.escalate("HEALTH_SEQUENCE_NEAR_LIMIT", share, {{"high_used_share", Severity::high}}),
          on_table(q.owner_table, q.sequence),
          {{"sequence", q.sequence},
           {"owner", q.owner.empty() ? "not owned by a column" : q.owner},
           {"last_value", count(q.last_value)},
           {"limit", count(q.limit)},
           {"used_share", percent(share)},
           {"type", type},
           {"fix_sql", fix}},
          {{"last_value", q.last_value}, {"limit", q.limit}, {"used_share", share}});
  }
}

std::string who(const Session& s) {
  return "user " + s.user + (s.application.empty() ? "" : ", application " + s.application) + ", database " +
         s.database + ", client " + s.client;
}

void check_sessions(const HealthSnapshot& s, Checker& c) {
  if (!s.activity) return;
  const auto& a = *s.activity;
  if (a.max_connections > 0) {
    const double share = static_cast<double>(a.connections) / a.max_connections;
    if (share >= c.threshold("HEALTH_CONNECTIONS_HIGH", "min_used_share"))
      c.add("HEALTH_CONNECTIONS_HIGH",
            c.escalate("HEALTH_CONNECTIONS_HIGH", share, {{"high_used_share", Severity::high}}),
            about("max_connections"),
            {{"used", std::to_string(a.connections)},
             {"max_connections", std::to_string(a.max_connections)},
             {"used_share", percent(share)},
             {"reserved", std::to_string(a.superuser_reserved)},
             {"idle", std::to_string(a.idle_connections)}},
            {{"connections", a.connections},
             {"max_connections", a.max_connections},
             {"idle_connections", a.idle_connections},
             {"used_share", share}});
  }
  std::map<int, const Session*> by_pid;
  for (const auto& x : a.sessions) by_pid[x.pid] = &x;
  for (const auto& x : a.sessions) {
    const TemplateValues base = {
        {"pid", std::to_string(x.pid)}, {"who", who(x)}, {"user", quote_ident(x.user)}, {"query", one_line(x.query)}};
    if (x.state.starts_with("idle in transaction") &&
        x.state_age_s >= c.threshold("HEALTH_IDLE_IN_TRANSACTION", "min_idle_s")) {
      TemplateValues v = base;
      v["idle"] = duration(x.state_age_s);
      v["xact_age"] = duration(x.xact_age_s);
      c.add("HEALTH_IDLE_IN_TRANSACTION",
            c.escalate("HEALTH_IDLE_IN_TRANSACTION", x.state_age_s,
                       {{"medium_idle_s", Severity::medium}, {"high_idle_s", Severity::high}}),
            about("pid " + std::to_string(x.pid)), v,
            {{"pid", x.pid}, {"idle_s", x.state_age_s}, {"transaction_age_s", x.xact_age_s}});
    }
    if (x.state == "active" && x.query_age_s >= c.threshold("HEALTH_LONG_RUNNING_QUERY", "min_runtime_s")) {
      TemplateValues v = base;
      v["runtime"] = duration(x.query_age_s);
      c.add("HEALTH_LONG_RUNNING_QUERY",
            c.escalate("HEALTH_LONG_RUNNING_QUERY", x.query_age_s, {{"medium_runtime_s", Severity::medium}}),
            about("pid " + std::to_string(x.pid)), v, {{"pid", x.pid}, {"runtime_s", x.query_age_s}});
    }
  }
  // Blocking chains: each waiting session's root blocker; one finding per root.
  struct Chain {
    const Session* longest = nullptr;
    std::string path;
    int blocked = 0;
  };
  std::map<int, Chain> roots;
  for (const auto& x : a.sessions) {
    if (x.blocked_by.empty() || x.query_age_s < c.threshold("HEALTH_LOCK_BLOCKING", "min_wait_s")) continue;
    std::string path = std::to_string(x.pid);
    int root = x.blocked_by.front();
    std::set<int> seen = {x.pid};
    while (true) {
      path += " <- " + std::to_string(root);
      const auto it = by_pid.find(root);
      if (!seen.insert(root).second || it == by_pid.end() || it->second->blocked_by.empty()) break;
      root = it->second->blocked_by.front();
    }
    Chain& chain = roots[root];
    ++chain.blocked;
    if (!chain.longest || x.query_age_s > chain.longest->query_age_s) {
      chain.longest = &x;
      chain.path = path;
    }
  }
  for (const auto& [root, chain] : roots) {
    const auto it = by_pid.find(root);
    const Session* blocker = it == by_pid.end() ? nullptr : it->second;
    const Session& x = *chain.longest;
    const Severity severity = chain.blocked >= c.threshold("HEALTH_LOCK_BLOCKING", "critical_blocked_sessions")
                                  ? Severity::critical
                                  : c.rule("HEALTH_LOCK_BLOCKING").severity;
    c.add("HEALTH_LOCK_BLOCKING", severity, about("pid " + std::to_string(x.pid)),
          {{"pid", std::to_string(x.pid)},
           {"who", who(x)},
           {"wait", duration(x.query_age_s)},
           {"wait_event", x.wait_event.empty() ? "lock" : x.wait_event},
           {"blocker", std::to_string(root)},
           {"blocker_state", blocker ? blocker->state + " for " + duration(blocker->state_age_s) : "state unknown"},
           {"blocker_query", blocker ? one_line(blocker->query) : "(not visible to this role)"},
           {"chain", chain.path},
           {"blocked_count", std::to_string(chain.blocked)}},
          {{"pid", x.pid},
           {"blocking_pid", root},
           {"wait_s", x.query_age_s},
           {"blocked_sessions", chain.blocked},
           {"blocker_transaction_age_s", blocker ? blocker->xact_age_s : 0}});
  }
}

void check_replication(const HealthSnapshot& s, Checker& c) {
  if (!s.replication) return;
  for (const auto& slot : s.replication->slots) {
    if (slot.retained_bytes < c.threshold("HEALTH_REPLICATION_SLOT_WAL", "min_retained_mb") * 1024 * 1024) continue;
    c.add("HEALTH_REPLICATION_SLOT_WAL", slot.active ? c.rule("HEALTH_REPLICATION_SLOT_WAL").severity : Severity::high,
          about("slot " + slot.name),
          {{"slot", slot.name},
           {"slot_type", slot.type},
           {"activity", slot.active ? "active" : "inactive: no consumer is connected"},
           {"retained", bytes(slot.retained_bytes)}},
          {{"retained_bytes", slot.retained_bytes}, {"active", slot.active ? 1 : 0}});
  }
  for (const auto& r : s.replication->replicas) {
    if (r.replay_lag_s < c.threshold("HEALTH_REPLICA_LAG", "min_lag_s") &&
        r.lag_bytes < c.threshold("HEALTH_REPLICA_LAG", "min_lag_mb") * 1024 * 1024)
      continue;
    c.add("HEALTH_REPLICA_LAG", c.rule("HEALTH_REPLICA_LAG").severity, about("replica " + r.name),
          {{"replica", r.name.empty() ? "(no application_name)" : r.name},
           {"client", r.client},
           {"state", r.state},
           {"lag_time", duration(r.replay_lag_s)},
           {"lag_size", bytes(r.lag_bytes)}},
          {{"replay_lag_s", r.replay_lag_s}, {"lag_bytes", r.lag_bytes}});
  }
}

void check_checkpoints(const HealthSnapshot& s, Checker& c) {
  if (!s.checkpoints) return;
  const auto& k = *s.checkpoints;
  const double all = k.timed + k.requested;
  if (all >= c.threshold("HEALTH_CHECKPOINT_PRESSURE", "min_checkpoints") &&
      k.requested / all > c.threshold("HEALTH_CHECKPOINT_PRESSURE", "max_requested_share"))
    c.add("HEALTH_CHECKPOINT_PRESSURE", c.rule("HEALTH_CHECKPOINT_PRESSURE").severity, about("max_wal_size"),
          {{"requested", count(k.requested)},
           {"checkpoints", count(all)},
           {"stats_since", k.stats_since},
           {"requested_share", percent(k.requested / all)},
           {"max_wal_size", setting_size(k.max_wal_size_mb * 1024)},
           {"suggested_max_wal_size", setting_size(std::max(k.max_wal_size_mb * 4, 4096.0) * 1024)}},
          {{"checkpoints_timed", k.timed}, {"checkpoints_req", k.requested}, {"max_wal_size_mb", k.max_wal_size_mb}});
  const double written = k.buffers_checkpoint + k.buffers_clean + k.buffers_backend;
  if (written >= c.threshold("HEALTH_BGWRITER_PRESSURE", "min_buffers_written") &&
      k.buffers_backend / written >= c.threshold("HEALTH_BGWRITER_PRESSURE", "max_backend_share"))
    c.add("HEALTH_BGWRITER_PRESSURE", c.rule("HEALTH_BGWRITER_PRESSURE").severity, about("background writer"),
          {{"backend_share", percent(k.buffers_backend / written)},
           {"written", count(written)},
           {"stats_since", k.stats_since},
           {"backend_fsync", count(k.buffers_backend_fsync)},
           {"maxwritten_clean", count(k.maxwritten_clean)}},
          {{"buffers_backend", k.buffers_backend},
           {"buffers_written", written},
           {"buffers_backend_fsync", k.buffers_backend_fsync},
           {"maxwritten_clean", k.maxwritten_clean}});
}

void check_settings(const HealthSnapshot& s, const ServerFacts& facts, Checker& c) {
  if (!s.settings) return;
  const auto& settings = *s.settings;
  const auto value = [&](const char* name) -> const SettingValue* {
    const auto it = settings.find(name);
    return it == settings.end() ? nullptr : &it->second;
  };
  const auto is_off = [&](const char* name) { return value(name) && value(name)->setting == "off"; };
  const auto flag = [&](const char* id, const char* name) {
    if (is_off(name)) c.add(id, c.rule(id).severity, about(name), {}, {{std::string(name) + "_on", 0}});
  };
  flag("HEALTH_SETTING_FSYNC_OFF", "fsync");
  flag("HEALTH_SETTING_FULL_PAGE_WRITES_OFF", "full_page_writes");
  flag("HEALTH_SETTING_AUTOVACUUM_OFF", "autovacuum");

  const std::optional<double> ram_kb = facts.ram_gb ? std::optional<double>(*facts.ram_gb * 1024 * 1024) : std::nullopt;
  const SettingValue* shared_buffers = value("shared_buffers");
  if (ram_kb && shared_buffers) {
    const double kb = kb_of(*shared_buffers);
    const double share = kb / *ram_kb;
    const char* id = "HEALTH_SETTING_SHARED_BUFFERS";
    const bool low = share < c.threshold(id, "min_share_of_ram");
    if (low || share > c.threshold(id, "max_share_of_ram"))
      c.add(id, c.rule(id).severity, about("shared_buffers"),
            {{"shared_buffers", setting_size(kb)},
             {"share", percent(share)},
             {"ram", fixed(*facts.ram_gb, 0) + " GB"},
             {"direction", low ? "too small" : "too large"},
             {"suggested", setting_size(*ram_kb * c.threshold(id, "target_share_of_ram"))}},
            {{"shared_buffers_kb", kb}, {"ram_kb", *ram_kb}, {"share_of_ram", share}}, EvidenceSource::inferred);
  }
  const SettingValue* work_mem = value("work_mem");
  const SettingValue* max_connections = value("max_connections");
  if (work_mem && max_connections) {
    const char* id = "HEALTH_SETTING_WORK_MEM_TOTAL";
    const double kb = kb_of(*work_mem);
    const double connections = std::strtod(max_connections->setting.c_str(), nullptr);
    const double total_kb = kb * connections;
    const double limit_kb = ram_kb ? *ram_kb * c.threshold(id, "max_share_of_ram")
                                   : c.threshold(id, "max_total_gb_without_ram") * 1024 * 1024;
    if (total_kb > limit_kb) {
      // pgtune: (RAM - shared_buffers) / (max_connections x 3); 64MB when RAM is unknown.
      const double sb_kb = shared_buffers ? kb_of(*shared_buffers) : 0;
      const double suggested = ram_kb ? std::max(64.0, (*ram_kb - sb_kb) / (connections * 3)) : 64.0 * 1024;
      c.add(id, c.rule(id).severity, about("work_mem"),
            {{"work_mem", setting_size(kb)},
             {"max_connections", count(connections)},
             {"total", bytes(total_kb * 1024)},
             {"comparison", ram_kb ? "more than the server's " + fixed(*facts.ram_gb, 0) + " GB RAM"
                                   : "more than most servers have (RAM not given: pass server.memory_gb)"},
             {"suggested", setting_size(std::min(suggested, kb))}},
            {{"work_mem_kb", kb}, {"max_connections", connections}, {"total_kb", total_kb}},
            ram_kb ? EvidenceSource::inferred : EvidenceSource::measured);
    }
  }
  const SettingValue* random_page_cost = value("random_page_cost");
  if (random_page_cost && facts.storage && (*facts.storage == "ssd" || *facts.storage == "san")) {
    const char* id = "HEALTH_SETTING_RANDOM_PAGE_COST_SSD";
    const double cost = std::strtod(random_page_cost->setting.c_str(), nullptr);
    if (cost > c.threshold(id, "max_on_ssd"))
      c.add(id, c.rule(id).severity, about("random_page_cost"),
            {{"value", random_page_cost->setting},
             {"storage", *facts.storage},
             {"suggested", fixed(c.threshold(id, "suggested_on_ssd"), 1)}},
            {{"random_page_cost", cost}}, EvidenceSource::inferred);
  }
  if (facts.workload && (*facts.workload == "oltp" || *facts.workload == "web") && value("jit") &&
      value("jit")->setting == "on")
    c.add("HEALTH_SETTING_JIT_OLTP", c.rule("HEALTH_SETTING_JIT_OLTP").severity, about("jit"),
          {{"jit_above_cost", value("jit_above_cost") ? value("jit_above_cost")->setting : "100000"},
           {"workload", *facts.workload},
           {"database", quote_ident(s.database_name)}},
          {{"jit_on", 1}}, EvidenceSource::inferred);
}

void check_policies(const HealthSnapshot& s, Checker& c) {
  if (!s.policies) return;
  for (const auto& p : *s.policies) {
    std::vector<std::string> calls;
    std::string clauses;
    for (const auto& [keyword, expression] : {std::pair<const char*, const std::string*>{"USING", &p.using_expression},
                                              {"WITH CHECK", &p.check_expression}}) {
      if (expression->empty()) continue;
      std::vector<sql::CallSpan> found;
      try {
        found = sql::row_constant_calls(*expression);
      } catch (const Error&) {
        continue;
      }
      if (found.empty()) continue;
      for (const auto& f : found)
        if (std::find(calls.begin(), calls.end(), f.text) == calls.end()) calls.push_back(f.text);
      clauses += std::string(" ") + keyword + " (" + sql::wrap_in_select(*expression, found) + ")";
    }
    if (calls.empty()) continue;
    std::string list;
    for (const auto& call : calls) list += (list.empty() ? "" : ", ") + call;
    c.add("HEALTH_RLS_INITPLAN", c.rule("HEALTH_RLS_INITPLAN").severity, on_table(p.table, p.name),
          {{"policy", quote_ident(p.name)},
           {"table", p.table},
           {"calls", list},
           {"fix_sql", "ALTER POLICY " + quote_ident(p.name) + " ON " + p.table + clauses + ";"}},
          {{"per_row_calls", static_cast<double>(calls.size())}});
  }
  // Permissive policies that apply to the same table, role and command.
  std::map<std::tuple<std::string, std::string, std::vector<std::string>>, std::vector<std::string>> groups;
  std::map<std::string, std::vector<const Policy*>> by_table;
  for (const auto& p : *s.policies)
    if (p.permissive) by_table[p.table].push_back(&p);
  for (const auto& [table, policies] : by_table) {
    std::set<std::string> roles;
    for (const auto* p : policies) roles.insert(p->roles.begin(), p->roles.end());
    for (const auto& role : roles)
      for (const char* action : {"SELECT", "INSERT", "UPDATE", "DELETE"}) {
        std::vector<std::string> names;
        for (const auto* p : policies) {
          const bool applies_to_role = std::find(p->roles.begin(), p->roles.end(), role) != p->roles.end() ||
                                       std::find(p->roles.begin(), p->roles.end(), "public") != p->roles.end();
          if (applies_to_role && (p->command == action || p->command == "ALL")) names.push_back(p->name);
        }
        if (names.size() >= 2) groups[{table, role, names}].push_back(action);
      }
  }
  for (const auto& [key, actions] : groups) {
    const auto& [table, role, names] = key;
    std::string action_list, policy_list, conditions, drops, merged = "merged";
    for (const auto& a : actions) action_list += (action_list.empty() ? "" : ", ") + a;
    for (const auto& n : names) {
      policy_list += (policy_list.empty() ? "" : ", ") + quote_ident(n);
      merged += "_" + n;
      drops += "DROP POLICY " + quote_ident(n) + " ON " + table + ";\n";
      for (const auto& p : *s.policies)
        if (p.table == table && p.name == n && !p.using_expression.empty())
          conditions += std::string(conditions.empty() ? "" : " OR ") + "(" + p.using_expression + ")";
    }
    const std::string for_action = actions.size() == 4 ? "ALL" : actions.front();
    const std::string fix = "CREATE POLICY " + quote_ident(merged) + " ON " + table + " AS PERMISSIVE FOR " +
                            for_action + " TO " + quote_ident(role) + " USING (" +
                            (conditions.empty() ? "true" : conditions) + ");\n" + drops +
                            "-- a policy FOR ALL also covers the other commands: keep its WITH CHECK, "
                            "and re-create it for the commands the merged policy does not cover";
    c.add("HEALTH_RLS_MULTIPLE_PERMISSIVE", c.rule("HEALTH_RLS_MULTIPLE_PERMISSIVE").severity,
          on_table(table, policy_list),
          {{"table", table},
           {"count", std::to_string(names.size())},
           {"policies", policy_list},
           {"role", role},
           {"action", action_list},
           {"fix_sql", fix}},
          {{"policies", static_cast<double>(names.size())}});
  }
}

void check_foreign_keys(const HealthSnapshot& s, Checker& c) {
  if (!s.foreign_keys) return;
  for (const auto& k : *s.foreign_keys) {
    std::string columns;
    for (const auto& col : k.columns) columns += (columns.empty() ? "" : ", ") + col;
    c.add("HEALTH_FK_UNINDEXED", c.rule("HEALTH_FK_UNINDEXED").severity, on_table(k.table, k.constraint),
          {{"table", k.table},
           {"columns", columns},
           {"referenced", k.referenced},
           {"constraint", quote_ident(k.constraint)},
           {"rows", count(k.rows)}},
          {{"rows", k.rows}});
  }
}

}  // namespace

std::map<std::string, SettingValue> settings_from_text(const std::map<std::string, std::string>& values) {
  // Base units of the memory settings the audit reads (pg_settings.unit).
  static const std::map<std::string, std::pair<std::string, double>> kMemory = {{"shared_buffers", {"8kB", 8}},
                                                                                {"work_mem", {"kB", 1}},
                                                                                {"maintenance_work_mem", {"kB", 1}},
                                                                                {"effective_cache_size", {"8kB", 8}},
                                                                                {"max_wal_size", {"MB", 1024}}};
  static const std::map<std::string, double> kUnits = {
      {"B", 1.0 / 1024}, {"kB", 1}, {"MB", 1024}, {"GB", 1024.0 * 1024}, {"TB", 1024.0 * 1024 * 1024}};
  std::map<std::string, SettingValue> out;
  for (const auto& [name, text] : values) {
    const auto memory = kMemory.find(name);
    if (memory == kMemory.end()) {
      out[name] = {text, ""};
      continue;
    }
    char* end = nullptr;
    const double n = std::strtod(text.c_str(), &end);
    std::string unit(end);
    unit.erase(0, unit.find_first_not_of(' '));
    const auto u = kUnits.find(unit);
    if (end == text.c_str() || (!unit.empty() && u == kUnits.end()))
      throw Error(ErrorCode::invalid_argument, "`settings." + name + "`: '" + text + "' is not a size.",
                  "Write it as in postgresql.conf: a number with B, kB, MB, GB or TB (\"4GB\"), or a plain number "
                  "in the setting's unit (" +
                      memory->second.first + ").");
    const double kb = unit.empty() ? n * memory->second.second : n * u->second;
    out[name] = {fixed(kb / memory->second.second, 0), memory->second.first};
  }
  return out;
}

HealthReport check_health(const HealthSnapshot& snapshot, const knowledge::RuleBook& rules, const ServerFacts& facts,
                          int limit_per_check) {
  HealthReport report;
  report.notes = snapshot.notes;
  Checker c(rules, limit_per_check, report);
  check_bloat(snapshot, c);
  check_vacuum(snapshot, c);
  check_wraparound(snapshot, c);
  check_cache(snapshot, c);
  check_indexes(snapshot, c, report);
  check_sequences(snapshot, c);
  check_sessions(snapshot, c);
  check_replication(snapshot, c);
  check_checkpoints(snapshot, c);
  check_settings(snapshot, facts, c);
  check_policies(snapshot, c);
  check_foreign_keys(snapshot, c);
  c.note_limits();
  std::stable_sort(report.findings.begin(), report.findings.end(),
                   [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
  return report;
}

}  // namespace dbopt::health
