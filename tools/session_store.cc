#include "tools/session_store.h"

#include <random>

namespace dbopt::tools {
namespace {

// 128 random bits: ids are capabilities (whoever has one reads the session).
std::string new_id() {
  static thread_local std::random_device device;
  static const char* hex = "0123456789abcdef";
  std::string id = "s_";
  for (int i = 0; i < 4; ++i) {
    std::uint32_t bits = device();
    for (int j = 0; j < 8; ++j, bits >>= 4) id += hex[bits & 0xf];
  }
  return id;
}

}  // namespace

SessionStore::SessionStore(std::size_t max_sessions, std::size_t max_entries)
    : max_sessions_(std::max<std::size_t>(1, max_sessions)), max_entries_(std::max<std::size_t>(2, max_entries)) {}

void SessionStore::touch(Session& session) const { recency_.splice(recency_.begin(), recency_, session.recency); }

std::string SessionStore::create(std::string title) {
  std::lock_guard lock(mutex_);
  while (sessions_.size() >= max_sessions_) {
    sessions_.erase(recency_.back());
    recency_.pop_back();
  }
  std::string id = new_id();
  recency_.push_front(id);
  Session& s = sessions_[id];
  s.data.id = id;
  s.data.title = std::move(title);
  s.data.created = std::chrono::system_clock::now();
  s.recency = recency_.begin();
  return id;
}

bool SessionStore::exists(const std::string& id) const {
  std::lock_guard lock(mutex_);
  return sessions_.count(id) > 0;
}

bool SessionStore::record(const std::string& id, SessionEntry entry) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return false;
  auto& entries = it->second.data.entries;
  if (entries.size() >= max_entries_) {
    entries.erase(entries.begin() + 1);  // keep the first call: it usually sets the scene
    ++it->second.data.dropped_entries;
  }
  entry.at = std::chrono::system_clock::now();
  entries.push_back(std::move(entry));
  touch(it->second);
  return true;
}

std::optional<SessionSnapshot> SessionStore::snapshot(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  return it->second.data;
}

std::vector<std::string> SessionStore::ids() const {
  std::lock_guard lock(mutex_);
  return {recency_.begin(), recency_.end()};
}

}  // namespace dbopt::tools
