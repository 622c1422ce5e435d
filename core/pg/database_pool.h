// DatabasePool: connections to the user's databases named in the config.
//
// Built from Settings (each DatabaseSettings by name; DATABASE_URL is
// "default"). acquire() hands out a Lease on one connection: an idle one when
// there is one, else a new one, up to a small bound per database; a caller
// over the bound waits (cancellable) for a release. Connections open with the
// database's connect_timeout and application_name=dbopt. Idle connections are
// few and are closed after a short idle time, so dbopt holds no connection
// across requests without need; broken ones are discarded, never reused.
//
// Errors (dbopt::Error): an unknown name -> not_found listing the configured
// names; a server that cannot be reached or refuses the login -> unavailable
// with the DSN (password masked) and libpq's message (password scrubbed).
//
// Thread-safe. A Lease belongs to one thread at a time and must not outlive
// the pool. The connection behind a Lease is only usable inside core/pg
// (core/pg/detail/connection.h): tools run SQL through SafeExecutor.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/common/cancellation.h"
#include "core/common/settings.h"

namespace dbopt::pg {

namespace detail {
class Connection;
}

struct PoolOptions {
  int max_connections_per_database = 4;  // matches the default worker count
  int max_idle_per_database = 2;
  std::chrono::milliseconds idle_timeout{60'000};
  // How long acquire() waits for a busy database before giving up (unavailable).
  std::chrono::milliseconds acquire_timeout{10'000};
};

struct PoolStats {
  int open = 0;  // idle + in use (+ being opened)
  int idle = 0;
  int in_use = 0;
  long long opened_total = 0;     // connections opened since the pool was built
  long long discarded_total = 0;  // connections closed because they broke or were marked broken
};

class DatabasePool {
 public:
  struct Slot;  // one configured database (defined in the .cc)

  // One borrowed connection; returns it to the pool (or discards it) when destroyed.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    explicit operator bool() const { return connection_ != nullptr; }
    detail::Connection& connection() const { return *connection_; }
    const DatabaseSettings& database() const;
    // True when the connection came from the idle list (it may have gone stale meanwhile).
    bool reused() const { return reused_; }
    // Close the connection instead of returning it: its session state is unknown.
    void discard() { broken_ = true; }
    // Give the connection back now (or close it, after discard()).
    void release();

   private:
    friend class DatabasePool;
    Lease(DatabasePool* pool, Slot* slot, std::unique_ptr<detail::Connection> connection, bool reused);

    DatabasePool* pool_ = nullptr;
    Slot* slot_ = nullptr;
    std::unique_ptr<detail::Connection> connection_;
    bool reused_ = false;
    bool broken_ = false;
  };

  // Throws Error(invalid_argument) when two databases share a name.
  explicit DatabasePool(const Settings& settings, PoolOptions options = {});
  ~DatabasePool();
  DatabasePool(const DatabasePool&) = delete;
  DatabasePool& operator=(const DatabasePool&) = delete;

  std::vector<std::string> database_names() const;
  // The settings of the named database ("" = the default one); throws not_found.
  const DatabaseSettings& database(const std::string& name) const;

  // A connection to the named database ("" = the default one). Waits while the
  // database's connections are all busy; throws not_found, unavailable,
  // cancelled or deadline_exceeded (from the token).
  Lease acquire(const std::string& name, const CancellationToken* cancel = nullptr);

  PoolStats stats(const std::string& name) const;
  // Closes every idle connection (e.g. before shutdown or after a config change).
  void close_idle();

 private:
  Slot& slot(const std::string& name) const;
  void give_back(Slot& slot, std::unique_ptr<detail::Connection> connection, bool broken);

  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace dbopt::pg
