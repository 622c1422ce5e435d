#include "core/nplusone/detector.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "core/common/error.h"
#include "core/workload/shape_cache.h"
#include "knowledge/rule_book.h"

namespace dbopt::nplusone {
namespace {

using workload::LogRecord;
using workload::StackFrame;
using workload::StatementEvent;

constexpr int kSourceLookback = 10;
constexpr std::size_t kMaxSetTexts = 4096;

struct Event {
  std::uint32_t shape = 0;
  float duration_ms = NAN;
  std::uint64_t values = 0;  // hash of the constants and parameters
  int list_items = 0;
  std::uint32_t stack = 0;  // 0: none; else index + 1 into stacks_
  std::uint64_t line = 0;
  std::uint64_t set_values = 0;  // UPDATE: hash of the SET part's values; 0 otherwise
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

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }
bool contains_any(const std::string& s, std::initializer_list<const char*> parts) {
  return std::any_of(parts.begin(), parts.end(), [&](const char* p) { return contains(s, p); });
}
bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Installed packages, the standard library and the framework itself: not the application's own code.
bool library_frame(const std::string& file) {
  return contains_any(file,
                      {"site-packages/", "dist-packages/", "/usr/lib/python", "/lib/python3.", "<frozen", "/gems/",
                       "node_modules/", "/django/db/", "/django/core/", "/django/template/", "/django/utils/",
                       "/django/contrib/", "/django/views/", "/django/http/", "/django/test/", "/django/dispatch/"}) ||
         starts_with(file, "django/");
}
// A frame every request passes through (middleware): not where a loop is.
bool shared_frame(const StackFrame& f) { return contains(lower_ascii(f.file), "middleware"); }
// The database layer: the innermost end of a stack.
bool db_frame(const StackFrame& f) {
  return contains_any(f.file, {"/db/backends/", "django/db/", "psycopg", "sqlalchemy/engine", "sqlalchemy/orm",
                               "active_record", "/pg/lib/", "asyncpg"});
}
// The server's entry: the outermost end of a stack.
bool entry_frame(const StackFrame& f) {
  return shared_frame(f) ||
         contains_any(f.file, {"threading.py", "socketserver.py", "wsgi", "asgi", "/core/handlers/", "manage.py",
                               "gunicorn", "uvicorn", "run_handlers.py"}) ||
         f.function == "<module>" || f.function == "_bootstrap_inner";
}

Framework framework_hint(const std::string& text, bool& python) {
  const std::string t = lower_ascii(text);
  if (contains_any(t, {"graphene", "strawberry", "ariadne"})) {
    python = true;
    return Framework::graphql;
  }
  if (contains_any(t, {"graphql", "apollo", "mercurius", "graphql-yoga"})) return Framework::graphql;
  if (contains(t, "django")) {
    python = true;
    return Framework::django;
  }
  if (contains(t, "sqlalchemy")) {
    python = true;
    return Framework::sqlalchemy;
  }
  if (contains_any(t, {"rails", "active_record", "activerecord"})) return Framework::rails;
  return Framework::auto_detect;
}

std::string format_ms(double ms) {
  std::ostringstream out;
  out.precision(ms < 10 ? 3 : 1);
  out << std::fixed << ms;
  return out.str();
}

std::string percent(double share) {
  std::ostringstream out;
  out.precision(0);
  out << std::fixed << share * 100 << "%";
  return out.str();
}

// A value as a Python literal: Django's args are reprs already; SQL literals and bind values are converted.
std::string python_literal(std::string v) {
  while (!v.empty() && v.front() == ' ') v.erase(v.begin());
  while (!v.empty() && v.back() == ' ') v.pop_back();
  const std::string l = lower_ascii(v);
  if (l == "true" || l == "t") return "True";
  if (l == "false" || l == "f") return "False";
  if (l == "null" || l == "none") return "None";
  if (!v.empty() && (v.front() == '\'' || v.front() == '"')) return v;
  const bool numeric = !v.empty() && std::all_of(v.begin(), v.end(),
                                                 [](char c) { return (c >= '0' && c <= '9') || c == '.' || c == '-'; });
  return numeric ? v : "'" + v + "'";
}

std::size_t find_word(std::string_view s, std::string_view word, bool last) {
  std::size_t found = std::string_view::npos;
  for (std::size_t at = s.find(word); at != std::string_view::npos; at = s.find(word, at + 1)) {
    found = at;
    if (!last) break;
  }
  return found;
}

// The SET part of an UPDATE: its values' hash and, as Django keyword arguments, its assignments
// ("published=True"); an assignment that is not column = value (price = price + 1) gives no text.
std::uint64_t update_set_values(const std::string& sql, const std::vector<std::string>& params, std::string* text) {
  const std::string_view s(sql);
  const auto set = find_word(s, " SET ", false);
  const auto where = find_word(s, " WHERE ", true);
  if (set == std::string_view::npos || where == std::string_view::npos || where < set) return 0;
  const std::string_view part = s.substr(set + 5, where - set - 5);
  std::uint64_t hash = workload::hash_bytes(part);
  std::vector<std::string> assignments;
  bool plain = true;
  std::size_t param = 0;
  std::size_t start = 0;
  char quote = 0;
  int depth = 0;
  for (std::size_t i = 0; i <= part.size(); ++i) {
    const char c = i < part.size() ? part[i] : ',';
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '\'') quote = c;
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c != ',' || depth != 0) continue;
    const std::string_view item = part.substr(start, i - start);
    start = i + 1;
    const auto eq = item.find(" = ");
    if (eq == std::string_view::npos) {
      plain = false;
      continue;
    }
    std::string column(item.substr(0, eq));
    std::erase(column, '"');
    while (!column.empty() && column.front() == ' ') column.erase(column.begin());
    if (const auto dot = column.rfind('.'); dot != std::string::npos) column = column.substr(dot + 1);
    std::string value(item.substr(eq + 3));
    if (value == "%s" || value == "?" || (value.size() > 1 && value[0] == '$')) {
      if (param >= params.size()) {
        plain = false;
        continue;
      }
      hash = workload::hash_bytes(params[param], hash * 1099511628211ULL + 1);
      value = params[param++];
    } else if (value.find_first_of(" +-*/\"") != std::string::npos && value.front() != '\'') {
      plain = false;  // an expression of columns, not a value
    }
    assignments.push_back(column + "=" + python_literal(value));
  }
  if (text) {
    text->clear();
    if (plain)
      for (const auto& a : assignments) *text += (text->empty() ? "" : ", ") + a;
  }
  return hash | 1;  // never 0: 0 means "not an UPDATE"
}

class Detector {
 public:
  explicit Detector(const Options& options)
      : options_(options),
        grouper_(options.grouping, [this](workload::UnitGrouper<Event>::Unit&& u) { analyze(std::move(u)); }) {}

  void add(LogRecord& rec) {
    if (rec.kind == LogRecord::Kind::unit_boundary) {
      grouper_.boundary(rec.session, rec.unit, rec.thread);
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
    const std::size_t known_stacks = stacks_.size();
    if (!e.stack.empty()) ev.stack = intern_stack(e.stack);
    const bool new_stack = stacks_.size() != known_stacks;
    // Evidence of the framework: looked for only in what is new (a hot path on large logs).
    if (framework_ == Framework::auto_detect &&
        (!e.framework.empty() || new_stack || (!e.application.empty() && new_application(e.application))))
      read_framework(e, new_stack);
    ++statements_;
    const auto& shape = cache_.shape(ev.shape);
    if (!shape.model) {
      ++unparsed_;
    } else if (shape.model->kind == sql::StatementKind::update) {
      std::string text;
      ev.set_values = update_set_values(e.sql, e.params, &text);
      if (ev.set_values && !set_texts_.contains(ev.set_values)) {
        if (set_texts_.size() >= kMaxSetTexts) set_texts_.clear();  // bounded; a later loop re-adds its own
        set_texts_.emplace(ev.set_values, std::move(text));
      }
    }
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
    r.grouping = grouping(read);
    if (read.format == workload::LogFormat::django && framework_ == Framework::auto_detect) {
      framework_ = Framework::django;
      python_ = true;
      evidence_ = "a Django SQL debug log";
    }
    resolve_framework(r);
    for (auto& [key, state] : groups_) {
      Group& g = state.group;
      place_call_sites(state);
      rate(g);
      if (r.framework != Framework::django) g.fix.django.clear();  // a related name Django would not invent here
      if (r.framework == Framework::graphql)
        g.fix.graphql = dataloader(state.plan, facts(state.shape),
                                   state.source_shape == UINT32_MAX ? nullptr : &facts(state.source_shape), r.python);
      (g.reported ? r.groups : r.not_reported).push_back(std::move(g));
    }
    auto order = [&](const Group& a, const Group& b) {
      if (a.total_ms != b.total_ms) return a.total_ms > b.total_ms;
      if (a.share() != b.share()) return a.share() > b.share();
      if (a.executions != b.executions) return a.executions > b.executions;
      return a.first_line < b.first_line;
    };
    std::sort(r.groups.begin(), r.groups.end(), order);
    std::sort(r.not_reported.begin(), r.not_reported.end(), order);
    if (!options_.verbose) r.not_reported.clear();
    return r;
  }

 private:
  struct GroupState {
    Group group;
    FixPlan plan;
    std::uint32_t shape = 0, source_shape = UINT32_MAX;
    std::uint32_t stack = 0, source_stack = 0;
    std::uint64_t last_unit = 0;
  };

  std::string grouping(const workload::ReadStats& read) const {
    std::string out;
    for (const auto k : workload::kGroupingKinds)
      if (grouper_.keyed(k)) out += (out.empty() ? "" : ", ") + std::string(to_string(k));
    if (out.empty()) out = "none (no statements)";
    if (read.markers) out += "; split at " + std::to_string(read.markers) + " dbopt-unit: markers";
    if (grouper_.gap_splits())
      out += "; split at " + std::to_string(grouper_.gap_splits()) + " pauses over " +
             format_ms(options_.grouping.gap_ms) + " ms";
    return out;
  }

  bool new_application(const std::string& name) {
    if (checked_applications_.size() >= kMaxApplications) return false;  // enough seen to know
    return checked_applications_.insert(name).second;
  }

  void read_framework(const StatementEvent& e, bool new_stack) {
    if (!e.framework.empty()) {
      try {
        framework_ = parse_framework(e.framework);
      } catch (const Error&) {
        framework_ = framework_hint(e.framework, python_);
      }
      evidence_ = "the log's framework field (" + e.framework + ")";
    } else if (!e.application.empty() &&
               (framework_ = framework_hint(e.application, python_)) != Framework::auto_detect) {
      evidence_ = "application_name " + e.application;
    } else if (new_stack) {
      for (const auto& f : e.stack) {
        bool python = false;
        const Framework hint = framework_hint(f.file, python);
        if (hint != Framework::auto_detect) {
          framework_ = hint;
          python_ = python_ || python;
          evidence_ = "the stacks (" + f.file + ")";
          break;
        }
      }
    }
  }

  void resolve_framework(Result& r) {
    r.python = python_;
    if (options_.framework != Framework::auto_detect) {
      r.framework = options_.framework;
      r.framework_evidence = "given";
      return;
    }
    if (framework_ != Framework::auto_detect) {
      r.framework = framework_;
      r.framework_evidence = evidence_;
      return;
    }
    // Django's <app>_<model> table names; plain names (orders) are no evidence.
    const bool django = !options_.schema.models.empty() ||
                        std::any_of(groups_.begin(), groups_.end(),
                                    [](const auto& g) { return g.second.group.table.find('_') != std::string::npos; });
    r.framework = django ? Framework::django : Framework::generic;
    r.framework_evidence = !options_.schema.models.empty() ? "the models given"
                           : django                        ? "Django's <app>_<model> table names in the SQL"
                                    : "nothing in the log names it; no Django names are invented";
  }

  Framework plan_framework() const {
    return options_.framework != Framework::auto_detect ? options_.framework : framework_;
  }

  // ---- stacks

  std::uint32_t intern_stack(const std::vector<StackFrame>& stack) {
    stack_key_.clear();
    for (const auto& f : stack) {
      stack_key_ += f.file;
      stack_key_ += ':';
      stack_key_ += std::to_string(f.line);
      stack_key_ += ':';
      stack_key_ += f.function;
      stack_key_ += '\n';
    }
    const auto found = stack_ids_.find(stack_key_);
    if (found != stack_ids_.end()) return found->second;
    if (stacks_.size() >= kMaxStacks) return 0;  // bounded: call sites only for the stacks seen first
    // Which end is innermost: the database layer's end, or the end away from the server's entry.
    if (stack.size() >= 2) {
      const bool front_db = db_frame(stack.front()), back_db = db_frame(stack.back());
      const bool front_entry = entry_frame(stack.front()), back_entry = entry_frame(stack.back());
      if ((front_db && !back_db) || (back_entry && !front_entry)) ++innermost_first_;
      if ((back_db && !front_db) || (front_entry && !back_entry)) ++outermost_first_;
    }
    // How many distinct stacks each application frame is in: one in nearly all of them is shared (a wrapper).
    std::set<std::string> frames;
    for (const auto& f : stack)
      if (!library_frame(f.file)) frames.insert(frame_key(f));
    for (const auto& k : frames) ++frame_stacks_[k];
    python_ = python_ || std::any_of(stack.begin(), stack.end(), [](const auto& f) { return f.file.ends_with(".py"); });
    stacks_.push_back(stack);
    const auto id = static_cast<std::uint32_t>(stacks_.size());
    stack_ids_.emplace(stack_key_, id);
    return id;
  }

  // The application's own frames, outermost first.
  std::vector<const StackFrame*> app_frames(std::uint32_t id) const {
    std::vector<const StackFrame*> out;
    if (id == 0) return out;
    for (const auto& f : stacks_[id - 1])
      if (!library_frame(f.file)) out.push_back(&f);
    if (innermost_first_ > outermost_first_) std::reverse(out.begin(), out.end());
    return out;
  }

  static std::string frame_key(const StackFrame& f) { return f.file + ":" + std::to_string(f.line); }

  // Middleware, or a frame in nearly every distinct stack of a log with many (a query wrapper, the server).
  bool every_request_passes(const StackFrame& f) const {
    if (shared_frame(f)) return true;
    if (stacks_.size() < kManyStacks) return false;
    const auto it = frame_stacks_.find(frame_key(f));
    return it != frame_stacks_.end() && it->second * 10 >= stacks_.size() * 9;
  }

  void place_call_sites(GroupState& s) {
    const auto repeated = app_frames(s.stack);
    if (repeated.empty()) return;
    const StackFrame* site = nullptr;
    for (auto it = repeated.rbegin(); it != repeated.rend() && !site; ++it)
      if (!every_request_passes(**it)) site = *it;
    if (!site) site = repeated.back();
    s.group.call_site = CallSite{site->file, site->line, site->function};
    // The loop: where the repeated query's stack leaves the source query's.
    const auto source = app_frames(s.source_stack);
    if (source.empty()) return;
    std::size_t i = 0;
    while (i < repeated.size() && i < source.size() && *repeated[i] == *source[i]) ++i;
    if (i < repeated.size() && !every_request_passes(*repeated[i]))
      s.group.loop_site = CallSite{repeated[i]->file, repeated[i]->line, repeated[i]->function};
  }

  // ---- severity

  void rate(Group& g) const {
    const Thresholds& t = thresholds(g.kind);
    const double per_unit = g.units ? g.total_ms / static_cast<double>(g.units) : g.total_ms;
    // Every statement logged as 0 ms (Django logs seconds to 3 decimals) is below
    // the log's resolution, not free: the count decides, as without durations.
    if (g.timed && g.total_ms > 0) {
      g.severity = per_unit >= t.high_unit_ms || g.share() >= t.high_share       ? "high"
                   : per_unit >= t.medium_unit_ms || g.share() >= t.medium_share ? "medium"
                                                                                 : "low";
      g.severity_reason = format_ms(per_unit) + " ms per unit of work, " + percent(g.share()) +
                          " of its database time, " + std::to_string(g.n) + " round trips where 1 would do";
    } else {
      const auto n = static_cast<std::int64_t>(g.n);
      g.severity = n >= t.high_repeats ? "high" : n >= t.medium_repeats ? "medium" : "low";
      g.severity_reason = std::to_string(g.n) + " round trips where 1 would do (" +
                          (g.timed ? "each logged as 0 ms, below the log's resolution" : "no durations in the log") +
                          ")";
    }
  }

  // ---- loops

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

  // A run of one shape in the unit's statements.
  struct Token {
    std::uint32_t shape;
    int first;
    int count;
  };

  void analyze(workload::UnitGrouper<Event>::Unit&& unit) {
    ++units_;
    double unit_ms = 0;
    std::vector<const Event*> seq;
    seq.reserve(unit.items.size());
    for (const auto& e : unit.items) {
      if (!std::isnan(e.duration_ms)) unit_ms += e.duration_ms;
      if (cache_.shape(e.shape).model && relevant(e.shape)) seq.push_back(&e);
    }
    std::vector<Token>& tokens = tokens_;  // reused: no allocation per unit
    tokens.clear();
    for (int i = 0; i < static_cast<int>(seq.size()); ++i) {
      if (!tokens.empty() && tokens.back().shape == seq[i]->shape)
        ++tokens.back().count;
      else
        tokens.push_back({seq[i]->shape, i, 1});
    }
    consumed_.assign(seq.size(), false);
    const int t = static_cast<int>(tokens.size());
    const int max_period = std::max({options_.read.max_period, options_.count.max_period, options_.write.max_period});
    // An outer loop needs as many iterations as a loop needs repeats; fewer are separate runs.
    const int min_iterations =
        std::max(2, std::min({options_.read.min_repeats, options_.count.min_repeats, options_.write.min_repeats}));
    int i = 0;
    while (i < t) {
      int period = 0, reps = 0;
      for (int p = 2; p <= max_period && i + 2 * p <= t; ++p) {
        bool distinct = true;  // a body with a shape twice is a shorter period
        for (int a = 0; a < p && distinct; ++a)
          for (int b = a + 1; b < p; ++b)
            if (tokens[i + a].shape == tokens[i + b].shape) distinct = false;
        if (!distinct) break;
        int k = 1;
        while (i + (k + 1) * p <= t) {
          bool same = true;
          for (int a = 0; a < p && same; ++a) same = tokens[i + k * p + a].shape == tokens[i + a].shape;
          if (!same) break;
          ++k;
        }
        // A body statement repeated within each iteration is an inner loop (one author, then one
        // query per book, request after request in a log without request boundaries): those runs
        // are loops of their own, after the statement before them, not one outer loop's body.
        bool inner_loop = false;
        for (int a = 0; a < p && !inner_loop; ++a) inner_loop = tokens[i + a].count >= min_iterations;
        if (inner_loop) break;
        if (k >= min_iterations) {
          period = p;
          reps = k;
          break;
        }
      }
      if (period > 0) {
        std::vector<std::vector<const Event*>> body(period);
        for (int k = 0; k < reps; ++k)
          for (int a = 0; a < period; ++a) {
            const Token& tok = tokens[i + k * period + a];
            for (int c = 0; c < tok.count; ++c) body[a].push_back(seq[tok.first + c]);
          }
        loop(unit, seq, tokens[i].first, body, unit_ms);
        for (int x = tokens[i].first; x < tokens[i + period * reps - 1].first + tokens[i + period * reps - 1].count;
             ++x)
          consumed_[x] = true;
        i += period * reps;
      } else if (tokens[i].count >= 2) {
        std::vector<std::vector<const Event*>> body(1);
        for (int c = 0; c < tokens[i].count; ++c) body[0].push_back(seq[tokens[i].first + c]);
        loop(unit, seq, tokens[i].first, body, unit_ms);
        for (int c = 0; c < tokens[i].count; ++c) consumed_[tokens[i].first + c] = true;
        ++i;
      } else {
        ++i;
      }
    }
  }

  enum class Why { few, same_values, batched, no_source, fast, reported };

  // One loop starting at seq[start]: body[a] holds every execution of the a-th statement of the loop body.
  void loop(const workload::UnitGrouper<Event>::Unit& unit, const std::vector<const Event*>& seq, int start,
            const std::vector<std::vector<const Event*>>& body, double unit_ms) {
    const int period = static_cast<int>(body.size());
    auto in_body = [&](std::uint32_t shape) {
      return std::any_of(body.begin(), body.end(), [&](const auto& b) { return b.front()->shape == shape; });
    };
    // The source: the nearest earlier read that is not part of this loop or an earlier one.
    const ShapeFacts* source = nullptr;
    std::uint32_t source_shape = UINT32_MAX, source_stack = 0;
    for (int s = start - 1; s >= 0 && s >= start - kSourceLookback; --s) {
      if (consumed_[s] || in_body(seq[s]->shape)) continue;
      const auto& f = facts(seq[s]->shape);
      if (f.is_read() && !f.count_only && !f.exists_only) {
        source = &f;
        source_shape = seq[s]->shape;
        source_stack = seq[s]->stack;
        break;
      }
    }
    // Evidence over the executions of each body statement.
    std::vector<std::size_t> distinct_values(period);
    std::vector<std::string> same_set(period);
    std::vector<double> totals(period);
    std::vector<bool> timed(period, true), batched(period, true);
    plan_key_.assign(to_string(plan_framework()));
    plan_key_ += std::to_string(source_shape);
    for (int a = 0; a < period; ++a) {
      values_.clear();
      bool same_set_values = true;
      for (const Event* e : body[a]) {
        if (std::isnan(e->duration_ms))
          timed[a] = false;
        else
          totals[a] += e->duration_ms;
        values_.push_back(e->values);
        same_set_values = same_set_values && e->set_values == body[a].front()->set_values;
        if (e->list_items <= 1) batched[a] = false;
      }
      std::sort(values_.begin(), values_.end());
      distinct_values[a] = static_cast<std::size_t>(std::unique(values_.begin(), values_.end()) - values_.begin());
      if (const auto set_values = body[a].front()->set_values; same_set_values && set_values != 0)
        if (const auto it = set_texts_.find(set_values); it != set_texts_.end()) same_set[a] = it->second;
      plan_key_ += '/' + std::to_string(body[a].front()->shape) + same_set[a];
    }
    // The plans of a loop depend on its shapes only: computed once per kind of loop.
    std::vector<const ShapeFacts*> before;
    for (int a = 0; a < period; ++a) before.push_back(&facts(body[a].front()->shape));
    auto cached = plans_.find(plan_key_);
    if (cached == plans_.end()) {
      if (plans_.size() >= kMaxPlans) plans_.clear();
      std::vector<FixPlan> plans;
      plans.reserve(period);
      std::vector<const ShapeFacts*> earlier;
      std::vector<const FixPlan*> earlier_plans;
      for (int a = 0; a < period; ++a) {
        plans.push_back(
            plan_fix(*before[a], source, earlier, earlier_plans, options_.schema, plan_framework(), same_set[a]));
        earlier.push_back(before[a]);
        earlier_plans.push_back(&plans.back());
      }
      cached = plans_.emplace(plan_key_, std::move(plans)).first;
    }
    const std::vector<FixPlan>& plans = cached->second;
    std::vector<Why> whys(period);
    for (int a = 0; a < period; ++a) {
      const ShapeFacts& r = *before[a];
      const FixPlan& plan = plans[a];
      const Thresholds& t = thresholds(plan.kind);
      const auto n = static_cast<int>(body[a].size());
      Why why = Why::reported;
      if (n < t.min_repeats)
        why = Why::few;
      else if (distinct_values[a] == 1)
        why = Why::same_values;
      else if (batched[a])
        why = Why::batched;
      else if (!r.is_write() && !source && plan.kind != Kind::get_in_loop)
        why = Why::no_source;
      else if (timed[a] && t.min_total_ms > 0 && totals[a] < t.min_total_ms)
        why = Why::fast;
      whys[a] = why;
    }
    // One fix for the loop: the reported statements' relations combined.
    FixParts combined;
    for (int a = 0; a < period; ++a)
      if (whys[a] == Why::reported && !plans[a].parts.owner.empty()) merge(combined, plans[a].parts);
    for (int a = 0; a < period; ++a)
      record(unit, body[a], plans[a], period, whys[a], totals[a], timed[a], unit_ms, source, source_shape, source_stack,
             before, combined);
  }

  void record(const workload::UnitGrouper<Event>::Unit& unit, const std::vector<const Event*>& runs,
              const FixPlan& plan, int period, Why why, double total, bool timed, double unit_ms,
              const ShapeFacts* source, std::uint32_t source_shape, std::uint32_t source_stack,
              const std::vector<const ShapeFacts*>& before, const FixParts& combined) {
    const std::uint32_t shape = runs.front()->shape;
    const ShapeFacts& r = facts(shape);
    const Thresholds& t = thresholds(plan.kind);
    const auto n = runs.size();
    auto reason = [&]() -> std::string {
      switch (why) {
        case Why::few:
          return "ran " + std::to_string(n) + " times in one loop, fewer than min_repeats " +
                 std::to_string(t.min_repeats);
        case Why::same_values:
          return "the very same statement with the same values " + std::to_string(n) +
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
      return std::to_string(n) + " statements of the same shape with different values" +
             (period > 1 ? " in a loop body of " + std::to_string(period) + " statements" : std::string()) +
             (source ? ", after the source query" : std::string()) +
             (!timed      ? ", count only (no durations in the log)"
              : total > 0 ? ", " + format_ms(total) + " ms in all"
                          : ", each logged as 0 ms (below the log's resolution)");
    };
    group_key_.clear();
    group_key_ += std::to_string(shape);
    group_key_ += '/';
    group_key_ += std::to_string(source_shape);
    group_key_ += '/';
    group_key_ += to_string(plan.kind);
    group_key_ += '/';
    group_key_ += std::to_string(static_cast<int>(why));
    auto [it, fresh] = groups_.try_emplace(group_key_);
    GroupState& state = it->second;
    Group& g = state.group;
    if (fresh) {
      g.kind = plan.kind;
      g.rule_id = rule_for(plan.kind);
      g.repeated_query = cache_.shape(shape).normalized;
      if (source) g.source_query = source->normalized;
      if (plan.via >= 0) g.via_query = before[plan.via]->normalized;
      g.table = r.table;
      g.period = period;
      g.fix = plan.text;
      if (!plan.parts.owner.empty() && !combined.owner.empty()) g.fix.django = render(combined);
      g.first_unit = unit.key;
      g.first_line = runs.front()->line;
      g.reported = why == Why::reported;
      g.reason = reason();
      g.timed = timed;
      state.plan = plan;
      state.shape = shape;
      state.source_shape = source_shape;
      state.stack = runs.front()->stack;
      state.source_stack = source_stack;
    }
    g.timed = g.timed && timed;
    g.n = std::max<std::uint64_t>(g.n, n);
    g.executions += n;
    g.loops += 1;
    if (state.last_unit != units_) {
      state.last_unit = units_;
      g.units += 1;
      g.unit_total_ms += unit_ms;
    }
    g.total_ms += total;
    if (!state.stack) state.stack = runs.front()->stack;
  }

  static constexpr std::size_t kMaxStacks = 100000;
  static constexpr std::size_t kManyStacks = 10;
  static constexpr std::size_t kMaxPlans = 10000;
  static constexpr std::size_t kMaxApplications = 10000;

  Options options_;
  workload::ShapeCache cache_;
  workload::UnitGrouper<Event> grouper_;
  std::unordered_map<std::uint32_t, ShapeFacts> facts_;
  std::map<std::string, GroupState> groups_;
  std::string group_key_;
  std::vector<bool> consumed_;
  std::vector<Token> tokens_;
  std::vector<std::uint64_t> values_;
  std::unordered_map<std::string, std::vector<FixPlan>> plans_;  // by source and body shapes
  std::string plan_key_;
  std::vector<std::vector<StackFrame>> stacks_;
  std::unordered_map<std::string, std::uint32_t> stack_ids_;
  std::string stack_key_;
  std::unordered_map<std::string, std::size_t> frame_stacks_;
  std::uint64_t innermost_first_ = 0, outermost_first_ = 0;
  std::unordered_map<std::uint64_t, std::string> set_texts_;
  std::uint64_t units_ = 0;
  std::uint64_t statements_ = 0;
  std::uint64_t unparsed_ = 0;
  bool all_timed_ = true;
  Framework framework_ = Framework::auto_detect;
  std::string evidence_;
  std::unordered_set<std::string> checked_applications_;
  bool python_ = false;
};

Thresholds read_thresholds(const knowledge::RuleBook& rules, const char* id, std::optional<int> min_repeats,
                           std::optional<double> min_total_ms) {
  Thresholds t;
  t.min_repeats = min_repeats ? *min_repeats : static_cast<int>(rules.threshold(id, "min_repeats"));
  t.min_total_ms = min_total_ms ? *min_total_ms : rules.threshold(id, "min_total_ms");
  t.max_period = static_cast<int>(rules.threshold(id, "max_loop_body_statements"));
  t.high_unit_ms = rules.threshold(id, "high_ms_per_unit");
  t.medium_unit_ms = rules.threshold(id, "medium_ms_per_unit");
  t.high_share = rules.threshold(id, "high_share");
  t.medium_share = rules.threshold(id, "medium_share");
  t.high_repeats = static_cast<int>(rules.threshold(id, "high_repeats"));
  t.medium_repeats = static_cast<int>(rules.threshold(id, "medium_repeats"));
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
