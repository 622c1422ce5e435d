// UnitGrouper: statements into units of work (one request, one job run).
//
// The key of a statement is, in order of preference: its request or trace id
// (JSON Lines), the application's thread (Django log prefix, JSON Lines
// "thread"), its database session (PostgreSQL logs: %c or the pid, with
// application_name), its application_name alone, else the whole log as one
// stream. Interleaved requests (several threads or sessions at once) stay
// apart because each key has its own open unit. A unit ends at a
// `dbopt-unit:` marker (the marker's thread only, when the marker line names
// one; else all open units), at the end of its session (disconnection), after
// a pause longer than gap_ms between two of its statements (when the log has
// times), when it holds max_events, and at the end of the input. A unit's key
// names its request, thread, session, or the last marker before it
// ("log [handler_name]"). Memory is bounded: at most max_open units are kept
// open (the least recently used is closed first), each with at most max_events.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/workload/statement_event.h"

namespace dbopt::workload {

struct GroupingOptions {
  double gap_ms = 1000;
  std::size_t max_events = 20000;
  std::size_t max_open = 5000;
};

enum class GroupingKind { request, thread, session, application, log };
inline constexpr GroupingKind kGroupingKinds[] = {GroupingKind::request, GroupingKind::thread, GroupingKind::session,
                                                  GroupingKind::application, GroupingKind::log};
inline const char* to_string(GroupingKind k) {
  switch (k) {
    case GroupingKind::request:
      return "request id";
    case GroupingKind::thread:
      return "thread name";
    case GroupingKind::session:
      return "database connection (pid/session id with application_name, or Django's database alias)";
    case GroupingKind::application:
      return "application_name";
    case GroupingKind::log:
      break;
  }
  return "whole log";
}

inline GroupingKind grouping_kind(const StatementEvent& e) {
  if (!e.request_id.empty()) return GroupingKind::request;
  if (!e.thread.empty()) return GroupingKind::thread;
  if (!e.session.empty()) return GroupingKind::session;
  if (!e.application.empty()) return GroupingKind::application;
  return GroupingKind::log;
}

template <class Item>
class UnitGrouper {
 public:
  struct Unit {
    std::string key;
    std::vector<Item> items;
  };
  using UnitSink = std::function<void(Unit&&)>;

  UnitGrouper(GroupingOptions options, UnitSink sink) : options_(options), sink_(std::move(sink)) {}

  void add(const StatementEvent& e, Item item) {
    std::string& key = key_;  // reused buffer: no allocation per statement
    key.clear();
    switch (grouping_kind(e)) {
      case GroupingKind::request:
        key += "request ";
        key += e.request_id;
        break;
      case GroupingKind::thread:
        key += "thread ";
        key += e.thread;
        break;
      case GroupingKind::application:
        key += "application ";
        key += e.application;
        break;
      case GroupingKind::session:
        key += "session ";
        key += e.session;
        if (!e.application.empty()) {
          key += " (";
          key += e.application;
          key += ')';
        }
        break;
      case GroupingKind::log:
        key += "log";
        break;
    }
    ++kinds_[static_cast<int>(grouping_kind(e))];
    auto it = open_.find(key);
    if (it != open_.end() && e.ts_ms && it->second.last_ts && *e.ts_ms - *it->second.last_ts > options_.gap_ms) {
      ++gap_splits_;
      close(it);
      it = open_.end();
    }
    if (it == open_.end()) {
      if (open_.size() >= options_.max_open) close(open_.find(lru_.front()));
      lru_.push_back(key);
      Open o;
      const auto own = labels_.find(key);
      const std::string& label = own != labels_.end() ? own->second : label_;
      o.unit.key = label.empty() ? key : key + " [" + label + "]";
      o.lru = std::prev(lru_.end());
      it = open_.emplace(key, std::move(o)).first;
    } else {
      lru_.splice(lru_.end(), lru_, it->second.lru);
    }
    if (e.ts_ms) it->second.last_ts = e.ts_ms;
    it->second.unit.items.push_back(std::move(item));
    if (it->second.unit.items.size() >= options_.max_events) close(it);
  }

  // A marker of one thread (its unit ends; `label` names the thread's next
  // units), a marker for all (session and thread empty: every open unit ends;
  // `label` names the units that follow) or the end of a session.
  void boundary(const std::string& session, const std::string& label = {}, const std::string& thread = {}) {
    if (!thread.empty()) {
      const std::string key = "thread " + thread;
      close(open_.find(key));
      if (labels_.size() >= options_.max_open) labels_.clear();  // bounded: a server may name a thread per request
      labels_[key] = label;
      return;
    }
    if (session.empty()) {
      close_all();
      labels_.clear();
      label_ = label;
      return;
    }
    for (auto it = open_.begin(); it != open_.end();) {
      const std::string prefix = "session " + session;
      if (it->first == prefix || it->first.rfind(prefix + " (", 0) == 0) {
        auto next = std::next(it);
        close(it);
        it = next;
      } else {
        ++it;
      }
    }
  }

  void close_all() {
    // Oldest first, so units come out roughly in log order.
    while (!lru_.empty()) close(open_.find(lru_.front()));
  }

  // How many statements were keyed by request id, session, or the whole log.
  std::uint64_t keyed(GroupingKind k) const { return kinds_[static_cast<int>(k)]; }
  std::uint64_t gap_splits() const { return gap_splits_; }

 private:
  struct Open {
    Unit unit;
    std::optional<double> last_ts;
    std::list<std::string>::iterator lru;
  };

  void close(typename std::unordered_map<std::string, Open>::iterator it) {
    if (it == open_.end()) return;
    Unit unit = std::move(it->second.unit);
    lru_.erase(it->second.lru);
    open_.erase(it);
    if (!unit.items.empty()) sink_(std::move(unit));
  }

  GroupingOptions options_;
  UnitSink sink_;
  std::unordered_map<std::string, Open> open_;
  std::list<std::string> lru_;
  std::uint64_t kinds_[5] = {0, 0, 0, 0, 0};
  std::uint64_t gap_splits_ = 0;
  std::string label_;                                    // the last marker's name
  std::unordered_map<std::string, std::string> labels_;  // the last marker's name per thread
  std::string key_;
};

}  // namespace dbopt::workload
