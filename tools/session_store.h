// SessionStore: optimization sessions. start_session issues an id; every tool
// call that passes it as its `session` argument is recorded (arguments,
// structured result, markdown), and session_report turns the records into the
// write-up. The id is an ordinary tool argument, so sessions work the same for
// stateless (2026-07-28) and session-based MCP clients, REST and the CLI.
//
// Sessions are files, one JSON document per session in `directory`
// (default_session_directory(): the user's state directory), so a session
// started by one `dbopt call` is there for the next process and survives a
// server restart. Every change is written to a temporary file and renamed
// over the old one (readers never see half a file) under an exclusive
// flock() on the directory's lock file (concurrent writers, in this process
// or in others, do not lose each other's calls). Bounds: at most
// max_sessions sessions (creating one more removes the least recently used),
// at most max_entries calls each (the oldest calls after the first go
// first), at most max_bytes per session file (a call that would go beyond is
// refused with Error(invalid_argument) naming the limit). Ids are "s_" and
// 32 hex digits; anything else is never turned into a path. Thread-safe and
// process-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
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

struct SessionStoreOptions {
  // Empty: a private temporary directory, removed with the store (tests,
  // or a machine without a state directory).
  std::filesystem::path directory;
  std::size_t max_sessions = 1000;
  std::size_t max_entries = 500;
  std::size_t max_bytes = 16 * 1024 * 1024;
};

// $XDG_STATE_HOME/dbopt/sessions, else ~/.local/state/dbopt/sessions; empty
// when neither variable is set.
std::filesystem::path default_session_directory();

class SessionStore {
 public:
  // Throws Error(unavailable) when the directory cannot be created.
  explicit SessionStore(SessionStoreOptions options = {});
  ~SessionStore();
  SessionStore(const SessionStore&) = delete;
  SessionStore& operator=(const SessionStore&) = delete;

  // "s_" and 32 lower-case hex digits, as create() makes them.
  static bool valid_id(const std::string& id);

  std::string create(std::string title);  // returns the new id
  bool exists(const std::string& id) const;
  // Returns false when the session does not exist (any more); throws
  // Error(invalid_argument) when the call would take it past max_bytes.
  bool record(const std::string& id, SessionEntry entry);
  std::optional<SessionSnapshot> snapshot(const std::string& id) const;
  std::vector<std::string> ids() const;  // most recently used first
  const std::filesystem::path& directory() const { return options_.directory; }

 private:
  std::filesystem::path path_of(const std::string& id) const;
  void write(const SessionSnapshot& session) const;

  SessionStoreOptions options_;
  bool owns_directory_ = false;
};

}  // namespace dbopt::tools
