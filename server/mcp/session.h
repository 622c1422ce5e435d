// Session: what the server remembers about one MCP client connection.
//
// For stdio there is one session for the process; for Streamable HTTP one per
// Mcp-Session-Id (session-based protocol versions); a stateless 2026-07-28
// request over HTTP gets a throwaway session. Thread-safe: the reader thread
// cancels requests while worker threads finish them.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "core/common/cancellation.h"

namespace dbopt::mcp {

class Session {
 public:
  explicit Session(std::string id = {}) : id_(std::move(id)) { touch(); }

  const std::string& id() const { return id_; }

  // The version agreed in initialize; empty before initialize.
  std::string protocol_version() const {
    std::lock_guard lock(mutex_);
    return protocol_version_;
  }
  void set_protocol_version(std::string version) {
    std::lock_guard lock(mutex_);
    protocol_version_ = std::move(version);
  }
  bool initialized() const { return !protocol_version().empty(); }

  // Minimum log level index (see mcp_server.cc) for notifications/message; -1: none requested.
  std::atomic<int> log_level{-1};

  void register_request(const nlohmann::json& id, std::shared_ptr<CancellationToken> token) {
    std::lock_guard lock(mutex_);
    in_flight_[id.dump()] = std::move(token);
  }
  void finish_request(const nlohmann::json& id) {
    std::lock_guard lock(mutex_);
    in_flight_.erase(id.dump());
  }
  // Returns false when no such request is running (already finished, or unknown).
  bool cancel_request(const nlohmann::json& id) {
    std::lock_guard lock(mutex_);
    auto it = in_flight_.find(id.dump());
    if (it == in_flight_.end()) return false;
    it->second->cancel();
    return true;
  }
  void cancel_all() {
    std::lock_guard lock(mutex_);
    for (auto& [id, token] : in_flight_) token->cancel();
  }

  void touch() { last_used_ns_ = std::chrono::steady_clock::now().time_since_epoch().count(); }
  std::chrono::steady_clock::time_point last_used() const {
    return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(last_used_ns_.load()));
  }

 private:
  const std::string id_;
  mutable std::mutex mutex_;
  std::string protocol_version_;
  std::map<std::string, std::shared_ptr<CancellationToken>> in_flight_;
  std::atomic<long long> last_used_ns_{0};
};

}  // namespace dbopt::mcp
