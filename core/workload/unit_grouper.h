// UnitGrouper: statements into units of work (one request, one job run).
//
// The key of a statement is, in order of preference: its request or trace id
// (JSON Lines), its database session (PostgreSQL logs: %c or the pid, with
// application_name), else the whole log as one stream. A unit ends at a
// `dbopt-unit:` marker (all open units), at the end of its session
// (disconnection), after a pause longer than gap_ms between two of its
// statements (when the log has times), when it holds max_events, and at the
// end of the input. A unit's key names its request, session, or the last
// marker before it ("log [handler_name]"). Memory is bounded: at most max_open units are kept open
// (the least recently used is closed first), each with at most max_events.
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

enum class GroupingKind { request, session, log };
inline const char* to_string(GroupingKind k) {
  return k == GroupingKind::request ? "request id" : k == GroupingKind::session ? "database session" : "whole log";
}

inline GroupingKind grouping_kind(const StatementEvent& e) {
  if (!e.request_id.empty()) return GroupingKind::request;
  if (!e.session.empty()) return GroupingKind::session;
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
      o.unit.key = label_.empty() ? key : key + " [" + label_ + "]";
      o.lru = std::prev(lru_.end());
      it = open_.emplace(key, std::move(o)).first;
    } else {
      lru_.splice(lru_.end(), lru_, it->second.lru);
    }
    if (e.ts_ms) it->second.last_ts = e.ts_ms;
    it->second.unit.items.push_back(std::move(item));
    if (it->second.unit.items.size() >= options_.max_events) close(it);
  }

  // A marker (session empty: every open unit; `label` names the units that
  // follow) or the end of a session.
  void boundary(const std::string& session, const std::string& label = {}) {
    if (session.empty()) {
      close_all();
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
  std::uint64_t kinds_[3] = {0, 0, 0};
  std::uint64_t gap_splits_ = 0;
  std::string label_;  // the last marker's name
  std::string key_;
};

}  // namespace dbopt::workload
