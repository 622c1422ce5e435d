// SessionStore: optimization sessions. start_session issues an id; every tool
// call that passes it as its `session` argument is recorded (arguments,
// structured result, markdown), and session_report turns the records into the
// write-up. The id is an ordinary tool argument, so sessions work the same for
// stateless (2026-07-28) and session-based MCP clients, REST and the CLI.
//
// In memory, per server process: at most max_sessions sessions (the least
// recently used goes first) of at most max_entries calls each (the oldest
// calls after the first go first). Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace dbopt::tools {

struct SessionEntry {
  std::string tool;
  nlohmann::json arguments;   // as called, without `session`
  nlohmann::json structured;  // the tool's structured result (null for errors)
  std::string markdown;
  bool is_error = false;
  std::chrono::system_clock::time_point at;
};

struct SessionSnapshot {
  std::string id;
  std::string title;
  std::chrono::system_clock::time_point created;
  std::vector<SessionEntry> entries;  // in call order
  std::size_t dropped_entries = 0;    // calls forgotten because of max_entries
};

class SessionStore {
 public:
  explicit SessionStore(std::size_t max_sessions = 1000, std::size_t max_entries = 500);

  std::string create(std::string title);  // returns the new id
  bool exists(const std::string& id) const;
  // Returns false when the session does not exist (any more).
  bool record(const std::string& id, SessionEntry entry);
  std::optional<SessionSnapshot> snapshot(const std::string& id) const;
  std::vector<std::string> ids() const;  // most recently used first

 private:
  struct Session {
    SessionSnapshot data;
    std::list<std::string>::iterator recency;
  };
  void touch(Session& session) const;

  const std::size_t max_sessions_, max_entries_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Session> sessions_;
  mutable std::list<std::string> recency_;  // front: most recently used
};

}  // namespace dbopt::tools
