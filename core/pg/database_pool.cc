#include "core/pg/database_pool.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <utility>

#include <spdlog/spdlog.h>
#include <pqxx/except>

#include "core/common/error.h"
#include "core/pg/detail/connection.h"
#include "core/pg/detail/conninfo.h"

namespace dbopt::pg {
namespace {

using Clock = std::chrono::steady_clock;

// libpq's messages span lines ("...failed: Connection refused\n\tIs the server running..."): one line reads better.
std::string one_line(std::string text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

struct IdleConnection {
  std::unique_ptr<detail::Connection> connection;
  Clock::time_point since;
};

struct DatabasePool::Slot {
  DatabaseSettings settings;
  std::string conninfo;              // settings.url + connect_timeout + application_name
  std::vector<IdleConnection> idle;  // most recently used last
  int open = 0;
  long long opened_total = 0;
  long long discarded_total = 0;
  std::condition_variable released;
};

struct DatabasePool::State {
  PoolOptions options;
  std::string default_name;
  std::vector<std::unique_ptr<Slot>> slots;
  mutable std::mutex mutex;
};

// ---------------------------------------------------------------- Lease

DatabasePool::Lease::Lease(DatabasePool* pool, Slot* slot, std::unique_ptr<detail::Connection> connection, bool reused)
    : pool_(pool), slot_(slot), connection_(std::move(connection)), reused_(reused) {}

DatabasePool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      slot_(std::exchange(other.slot_, nullptr)),
      connection_(std::move(other.connection_)),
      reused_(other.reused_),
      broken_(other.broken_) {}

DatabasePool::Lease& DatabasePool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    release();
    pool_ = std::exchange(other.pool_, nullptr);
    slot_ = std::exchange(other.slot_, nullptr);
    connection_ = std::move(other.connection_);
    reused_ = other.reused_;
    broken_ = other.broken_;
  }
  return *this;
}

DatabasePool::Lease::~Lease() { release(); }

const DatabaseSettings& DatabasePool::Lease::database() const { return slot_->settings; }

void DatabasePool::Lease::release() {
  if (pool_ && connection_) pool_->give_back(*slot_, std::move(connection_), broken_);
  pool_ = nullptr;
  slot_ = nullptr;
  connection_.reset();
}

// ---------------------------------------------------------------- DatabasePool

DatabasePool::DatabasePool(const Settings& settings, PoolOptions options) : state_(std::make_unique<State>()) {
  state_->options = options;
  state_->options.max_connections_per_database = std::max(1, options.max_connections_per_database);
  state_->options.max_idle_per_database = std::max(0, options.max_idle_per_database);
  state_->default_name = settings.default_database;
  for (const auto& db : settings.databases) {
    for (const auto& existing : state_->slots)
      if (existing->settings.name == db.name)
        throw Error(ErrorCode::invalid_argument, "Two databases in the config are named '" + db.name + "'.",
                    "Give each entry under databases a unique name.");
    auto slot = std::make_unique<Slot>();
    slot->settings = db;
    slot->conninfo = detail::with_client_params(db.url, db.connect_timeout_s, "dbopt");
    state_->slots.push_back(std::move(slot));
  }
}

DatabasePool::~DatabasePool() { close_idle(); }

std::vector<std::string> DatabasePool::database_names() const {
  std::vector<std::string> names;
  for (const auto& slot : state_->slots) names.push_back(slot->settings.name);
  return names;
}

DatabasePool::Slot& DatabasePool::slot(const std::string& name) const {
  const std::string& wanted = name.empty() ? state_->default_name : name;
  for (const auto& slot : state_->slots)
    if (slot->settings.name == wanted) return *slot;
  std::string known;
  for (const auto& slot : state_->slots) known += (known.empty() ? "'" : ", '") + slot->settings.name + "'";
  if (known.empty())
    throw Error(ErrorCode::not_found, "Unknown database '" + wanted + "': no databases are configured.",
                "Set DATABASE_URL or add a databases entry to the config.");
  throw Error(ErrorCode::not_found, "Unknown database '" + wanted + "'. Configured databases: " + known + ".",
              "Use one of the configured names, or add '" + wanted + "' to the config.");
}

const DatabaseSettings& DatabasePool::database(const std::string& name) const { return slot(name).settings; }

DatabasePool::Lease DatabasePool::acquire(const std::string& name, const CancellationToken* cancel) {
  Slot& s = slot(name);
  const auto& options = state_->options;
  const auto give_up_at = Clock::now() + options.acquire_timeout;
  std::vector<std::unique_ptr<detail::Connection>> stale;  // closed after the lock is dropped
  std::unique_lock lock(state_->mutex);
  for (;;) {
    if (cancel) cancel->check();
    const auto now = Clock::now();
    // Drop idle connections that sat too long: the server may have a shorter idle limit, and
    // holding them serves nobody.
    std::erase_if(s.idle, [&](IdleConnection& idle) {
      if (now - idle.since < options.idle_timeout) return false;
      stale.push_back(std::move(idle.connection));
      --s.open;
      return true;
    });
    if (!s.idle.empty()) {
      auto connection = std::move(s.idle.back().connection);
      s.idle.pop_back();
      lock.unlock();
      stale.clear();
      return Lease(this, &s, std::move(connection), /*reused=*/true);
    }
    if (s.open < options.max_connections_per_database) {
      ++s.open;  // reserve the place; connecting happens without the lock
      lock.unlock();
      stale.clear();
      try {
        auto connection = std::make_unique<detail::Connection>(s.conninfo);
        std::lock_guard relock(state_->mutex);
        ++s.opened_total;
        return Lease(this, &s, std::move(connection), /*reused=*/false);
      } catch (const std::exception& e) {
        {
          std::lock_guard relock(state_->mutex);
          --s.open;
        }
        s.released.notify_one();
        std::string message = one_line(detail::scrub_password(e.what(), s.settings.url));
        spdlog::warn("pg: cannot connect to database '{}' ({}): {}", s.settings.name, redact_dsn(s.settings.url),
                     message);
        throw Error(
            ErrorCode::unavailable,
            "Cannot connect to database '" + s.settings.name + "' (" + redact_dsn(s.settings.url) + "): " + message,
            "Check that the server is running and reachable from dbopt, and that the URL and credentials "
            "of database '" +
                s.settings.name + "' in the config are right.");
      }
    }
    if (now >= give_up_at)
      throw Error(ErrorCode::unavailable,
                  "All " + std::to_string(options.max_connections_per_database) +
                      " connections dbopt keeps to database '" + s.settings.name + "' stayed busy for " +
                      std::to_string(options.acquire_timeout.count()) + " ms.",
                  "Retry when fewer tool calls run against this database at once.");
    // Wake up now and then to notice cancellation: the token has no callback.
    s.released.wait_for(lock, std::chrono::milliseconds(50));
  }
}

void DatabasePool::give_back(Slot& s, std::unique_ptr<detail::Connection> connection, bool broken) {
  std::unique_ptr<detail::Connection> to_close;
  {
    std::lock_guard lock(state_->mutex);
    if (broken || !connection->is_open()) {
      to_close = std::move(connection);
      --s.open;
      ++s.discarded_total;
    } else if (static_cast<int>(s.idle.size()) >= state_->options.max_idle_per_database) {
      to_close = std::move(connection);
      --s.open;
    } else {
      s.idle.push_back({std::move(connection), Clock::now()});
    }
  }
  s.released.notify_one();
  // to_close goes out of scope here, outside the lock: closing talks to the server.
}

PoolStats DatabasePool::stats(const std::string& name) const {
  Slot& s = slot(name);
  std::lock_guard lock(state_->mutex);
  PoolStats stats;
  stats.open = s.open;
  stats.idle = static_cast<int>(s.idle.size());
  stats.in_use = s.open - stats.idle;
  stats.opened_total = s.opened_total;
  stats.discarded_total = s.discarded_total;
  return stats;
}

void DatabasePool::close_idle() {
  std::vector<std::unique_ptr<detail::Connection>> to_close;
  {
    std::lock_guard lock(state_->mutex);
    for (auto& s : state_->slots) {
      for (auto& idle : s->idle) to_close.push_back(std::move(idle.connection));
      s->open -= static_cast<int>(s->idle.size());
      s->idle.clear();
    }
  }
  for (auto& s : state_->slots) s->released.notify_all();
}

}  // namespace dbopt::pg
