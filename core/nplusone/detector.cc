#include "core/nplusone/detector.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "core/common/error.h"
#include "core/workload/shape_cache.h"
#include "knowledge/rule_book.h"

namespace dbopt::nplusone {
namespace {

using workload::LogRecord;
using workload::StatementEvent;

constexpr int kSourceLookback = 10;

struct Event {
  std::uint32_t shape = 0;
  float duration_ms = NAN;
  std::uint64_t values = 0;  // hash of the constants and parameters
  int list_items = 0;
  std::uint32_t call_site = 0;  // 0: none; else index + 1 into call_sites_
  std::uint64_t line = 0;
};

const char* rule_for(Kind k) {
  switch (k) {
    case Kind::count_per_row:
    case Kind::exists_per_row:
      return "WORKLOAD_NPLUSONE_COUNT_LOOP";
    case Kind::insert_in_loop:
    case Kind::update_in_loop:
    case Kind::delete_in_loop:
      return "WORKLOAD_NPLUSONE_WRITE_LOOP";
    default:
      return "WORKLOAD_NPLUSONE_READ_LOOP";
  }
}

// Installed packages and the standard library: not the application's own code.
bool library_frame(const std::string& file) {
  static const char* kLibrary[] = {"site-packages/", "dist-packages/", "/usr/lib/python", "/lib/python3.",
                                   "<frozen",        "/gems/",         "node_modules/"};
  return std::any_of(std::begin(kLibrary), std::end(kLibrary),
                     [&](const char* p) { return file.find(p) != std::string::npos; });
}

Framework framework_of(const StatementEvent& e) {
  if (!e.framework.empty()) {
    try {
      return parse_framework(e.framework);
    } catch (const Error&) {
      return Framework::generic;
    }
  }
  for (const auto& f : e.stack) {
    if (f.file.find("/django/db/") != std::string::npos) return Framework::django;
    if (f.file.find("sqlalchemy") != std::string::npos) return Framework::sqlalchemy;
    if (f.file.find("active_record") != std::string::npos) return Framework::rails;
    if (f.file.find("graphql") != std::string::npos) return Framework::graphql;
  }
  return Framework::auto_detect;
}

std::string format_ms(double ms) {
  std::ostringstream out;
  out.precision(ms < 10 ? 3 : 1);
  out << std::fixed << ms;
  return out.str();
}

class Detector {
 public:
  explicit Detector(const Options& options)
      : options_(options),
        grouper_(options.grouping, [this](workload::UnitGrouper<Event>::Unit&& u) { analyze(std::move(u)); }) {}

  void add(LogRecord& rec) {
    if (rec.kind == LogRecord::Kind::unit_boundary) {
      grouper_.boundary(rec.session, rec.unit);
      return;
    }
    StatementEvent& e = rec.event;
    const auto interned = cache_.intern(e.sql);
    Event ev;
    ev.shape = interned.shape;
    if (e.duration_ms) {
      ev.duration_ms = static_cast<float>(*e.duration_ms);
    } else {
      all_timed_ = false;
    }
    ev.values = interned.scan.values_hash;
    for (const auto& p : e.params) ev.values = workload::hash_bytes(p, ev.values * 1099511628211ULL + 1);
    ev.list_items = interned.scan.max_list_items;
    ev.line = e.line;
    if (!e.stack.empty()) ev.call_site = intern_call_site(e.stack);
    if (framework_ == Framework::auto_detect) framework_ = framework_of(e);
    ++statements_;
    if (!cache_.shape(ev.shape).model) ++unparsed_;
    grouper_.add(e, ev);
  }

  Result finish(const workload::ReadStats& read) {
    grouper_.close_all();
    Result r;
    r.read = read;
    r.units = units_;
    r.distinct_shapes = cache_.size();
    r.parse_calls = cache_.parse_calls();
    r.unparsed_statements = unparsed_;
    r.timed = all_timed_ && statements_ > 0;
    r.framework = effective_framework();
    std::vector<std::string> used;
    for (const auto k :
         {workload::GroupingKind::request, workload::GroupingKind::session, workload::GroupingKind::log}) {
      if (grouper_.keyed(k)) used.push_back(to_string(k));
    }
    std::string grouping;
    for (const auto& u : used) grouping += (grouping.empty() ? "" : ", ") + u;
    if (grouping.empty()) grouping = "none (no statements)";
    if (read.markers) grouping += "; split at " + std::to_string(read.markers) + " dbopt-unit: markers";
    if (grouper_.gap_splits())
      grouping += "; split at " + std::to_string(grouper_.gap_splits()) + " pauses over " +
                  format_ms(options_.grouping.gap_ms) + " ms";
    r.grouping = grouping;
    for (auto& [key, g] : groups_) {
      (g.reported ? r.groups : r.not_reported).push_back(std::move(g));
    }
    auto order = [&](const Group& a, const Group& b) {
      if (a.total_ms != b.total_ms) return a.total_ms > b.total_ms;
      if (a.executions != b.executions) return a.executions > b.executions;
      return a.first_line < b.first_line;
    };
    std::sort(r.groups.begin(), r.groups.end(), order);
    std::sort(r.not_reported.begin(), r.not_reported.end(), order);
    if (!options_.verbose) r.not_reported.clear();
    return r;
  }

 private:
  Framework effective_framework() const {
    return options_.framework != Framework::auto_detect ? options_.framework : framework_;
  }

  std::uint32_t intern_call_site(const std::vector<workload::StackFrame>& stack) {
    // The innermost frame of the application's own code.
    for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
      if (library_frame(it->file)) continue;
      CallSite site{it->file, it->line, it->function};
      const std::string key = site.describe();
      const auto found = call_site_ids_.find(key);
      if (found != call_site_ids_.end()) return found->second;
      call_sites_.push_back(site);
      const auto id = static_cast<std::uint32_t>(call_sites_.size());
      call_site_ids_.emplace(key, id);
      return id;
    }
    return 0;
  }

  const ShapeFacts& facts(std::uint32_t shape) {
    auto it = facts_.find(shape);
    if (it == facts_.end()) it = facts_.emplace(shape, facts_of(cache_.shape(shape))).first;
    return it->second;
  }

  bool relevant(std::uint32_t shape) {
    const auto& f = facts(shape);
    return f.is_read() || f.is_write();
  }

  const Thresholds& thresholds(Kind k) const {
    const std::string rule = rule_for(k);
    return rule == "WORKLOAD_NPLUSONE_COUNT_LOOP"   ? options_.count
           : rule == "WORKLOAD_NPLUSONE_WRITE_LOOP" ? options_.write
                                                    : options_.read;
  }

  void analyze(workload::UnitGrouper<Event>::Unit&& unit) {
    ++units_;
    double unit_ms = 0;
    std::vector<const Event*> seq;
    seq.reserve(unit.items.size());
    for (const auto& e : unit.items) {
      if (!std::isnan(e.duration_ms)) unit_ms += e.duration_ms;
      if (cache_.shape(e.shape).model && relevant(e.shape)) seq.push_back(&e);
    }
    const int m = static_cast<int>(seq.size());
    const int max_period = std::max({options_.read.max_period, options_.count.max_period, options_.write.max_period});
    int i = 0;
    while (i < m) {
      int period = 0, reps = 0;
      for (int p = 1; p <= max_period && i + 2 * p <= m; ++p) {
        bool distinct = true;  // a body with a shape twice is a shorter period
        for (int a = 0; a < p && distinct; ++a)
          for (int b = a + 1; b < p; ++b)
            if (seq[i + a]->shape == seq[i + b]->shape) distinct = false;
        if (!distinct) break;
        int k = 1;
        while (i + (k + 1) * p <= m) {
          bool same = true;
          for (int a = 0; a < p; ++a)
            if (seq[i + k * p + a]->shape != seq[i + a]->shape) {
              same = false;
              break;
            }
          if (!same) break;
          ++k;
        }
        if (k >= 2) {
          period = p;
          reps = k;
          break;
        }
      }
      if (period == 0) {
        ++i;
        continue;
      }
      loop(unit, seq, i, period, reps, unit_ms);
      i += period * reps;
    }
  }

  // One loop: seq[start, start + period * reps), `reps` iterations of `period` statements.
  void loop(const workload::UnitGrouper<Event>::Unit& unit, const std::vector<const Event*>& seq, int start, int period,
            int reps, double unit_ms) {
    // The source: the nearest earlier read that is not part of the loop body.
    const ShapeFacts* source = nullptr;
    std::uint32_t source_shape = UINT32_MAX;
    for (int s = start - 1; s >= 0 && s >= start - kSourceLookback; --s) {
      bool in_body = false;
      for (int a = 0; a < period; ++a)
        if (seq[s]->shape == seq[start + a]->shape) in_body = true;
      const auto& f = facts(seq[s]->shape);
      if (!in_body && f.is_read() && !f.count_only && !f.exists_only) {
        source = &f;
        source_shape = seq[s]->shape;
        break;
      }
    }
    std::vector<const ShapeFacts*> before;
    std::vector<FixPlan> plans;
    plans.reserve(period);
    std::vector<const FixPlan*> before_plans;
    for (int a = 0; a < period; ++a) {
      const std::uint32_t shape = seq[start + a]->shape;
      const ShapeFacts& r = facts(shape);
      plans.push_back(plan_fix(r, source, before, before_plans, options_.foreign_keys, effective_framework()));
      const FixPlan& plan = plans.back();
      before.push_back(&r);
      before_plans.push_back(&plan);

      // Evidence over the iterations.
      double total = 0;
      bool timed = true;
      std::set<std::uint64_t> values;
      bool batched = true;
      std::uint32_t call_site = 0;
      for (int k = 0; k < reps; ++k) {
        const Event& e = *seq[start + k * period + a];
        if (std::isnan(e.duration_ms))
          timed = false;
        else
          total += e.duration_ms;
        values.insert(e.values);
        if (e.list_items <= 1) batched = false;
        if (!call_site) call_site = e.call_site;
      }
      const Thresholds& t = thresholds(plan.kind);
      // Why (not) reported; the text is written once per group, not per loop.
      enum class Why { few, same_values, batched, no_source, fast, reported };
      Why why = Why::reported;
      if (reps < t.min_repeats)
        why = Why::few;
      else if (values.size() == 1)
        why = Why::same_values;
      else if (batched)
        why = Why::batched;
      else if (!r.is_write() && !source && plan.kind != Kind::get_in_loop)
        why = Why::no_source;
      else if (timed && total < t.min_total_ms)
        why = Why::fast;
      const bool report = why == Why::reported;
      auto reason = [&]() -> std::string {
        switch (why) {
          case Why::few:
            return "ran " + std::to_string(reps) + " times in one loop, fewer than min_repeats " +
                   std::to_string(t.min_repeats);
          case Why::same_values:
            return "the very same statement with the same values " + std::to_string(reps) +
                   " times: a missing cache, not a loop over rows";
          case Why::batched:
            return "each statement already handles a batch (IN list or multi-row VALUES)";
          case Why::no_source:
            return "no earlier query in the unit returned the rows it runs for";
          case Why::fast:
            return "took " + format_ms(total) + " ms in all, less than min_total_ms " + format_ms(t.min_total_ms);
          case Why::reported:
            break;
        }
        return std::to_string(reps) + " statements of the same shape with different values" +
               (period > 1 ? " in a loop body of " + std::to_string(period) + " statements" : std::string()) +
               (source ? ", after the source query" : std::string()) +
               (timed ? ", " + format_ms(total) + " ms in all" : ", count only (no durations in the log)");
      };
      group_key_.clear();
      group_key_ += std::to_string(shape);
      group_key_ += '/';
      group_key_ += std::to_string(source_shape);
      group_key_ += '/';
      group_key_ += to_string(plan.kind);
      group_key_ += '/';
      group_key_ += std::to_string(static_cast<int>(why));
      const std::string& key = group_key_;
      auto [it, fresh] = groups_.try_emplace(key);
      Group& g = it->second;
      if (fresh) {
        g.kind = plan.kind;
        g.rule_id = rule_for(plan.kind);
        g.repeated_query = cache_.shape(shape).normalized;
        if (source) g.source_query = source->normalized;
        if (plan.via >= 0) g.via_query = before[plan.via]->normalized;
        g.table = r.table;
        g.period = period;
        g.fix = plan.text;
        g.first_unit = unit.key;
        g.first_line = seq[start + a]->line;
        g.reported = report;
        g.reason = reason();
        g.timed = timed;
      }
      g.timed = g.timed && timed;
      g.n = std::max<std::uint64_t>(g.n, static_cast<std::uint64_t>(reps));
      g.executions += static_cast<std::uint64_t>(reps);
      g.units += 1;
      g.total_ms += total;
      g.unit_total_ms += unit_ms;
      if (!g.call_site && call_site) g.call_site = call_sites_[call_site - 1];
    }
  }

  Options options_;
  workload::ShapeCache cache_;
  workload::UnitGrouper<Event> grouper_;
  std::unordered_map<std::uint32_t, ShapeFacts> facts_;
  std::map<std::string, Group> groups_;
  std::string group_key_;
  std::vector<CallSite> call_sites_;
  std::unordered_map<std::string, std::uint32_t> call_site_ids_;
  std::uint64_t units_ = 0;
  std::uint64_t statements_ = 0;
  std::uint64_t unparsed_ = 0;
  bool all_timed_ = true;
  Framework framework_ = Framework::auto_detect;
};

Thresholds read_thresholds(const knowledge::RuleBook& rules, const char* id, std::optional<int> min_repeats,
                           std::optional<double> min_total_ms) {
  Thresholds t;
  t.min_repeats = min_repeats ? *min_repeats : static_cast<int>(rules.threshold(id, "min_repeats"));
  t.min_total_ms = min_total_ms ? *min_total_ms : rules.threshold(id, "min_total_ms");
  t.max_period = static_cast<int>(rules.threshold(id, "max_loop_body_statements"));
  return t;
}

}  // namespace

std::string CallSite::describe() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  if (!function.empty()) out += " in " + function;
  return out;
}

Options options_from_rules(const knowledge::RuleBook& rules, std::optional<int> min_repeats,
                           std::optional<double> min_total_ms) {
  Options o;
  o.read = read_thresholds(rules, "WORKLOAD_NPLUSONE_READ_LOOP", min_repeats, min_total_ms);
  o.count = read_thresholds(rules, "WORKLOAD_NPLUSONE_COUNT_LOOP", min_repeats, min_total_ms);
  o.write = read_thresholds(rules, "WORKLOAD_NPLUSONE_WRITE_LOOP", min_repeats, min_total_ms);
  return o;
}

Result analyze_log(std::istream& in, const workload::ReadOptions& read, const Options& options,
                   const CancellationToken* cancel) {
  Detector d(options);
  const auto stats = workload::read_log(
      in, read, [&](LogRecord& rec) { d.add(rec); }, cancel);
  return d.finish(stats);
}

Result analyze_statements(const std::vector<std::string>& statements, const Options& options) {
  Detector d(options);
  const auto stats = workload::read_statements(statements, [&](LogRecord& rec) { d.add(rec); });
  return d.finish(stats);
}

}  // namespace dbopt::nplusone
