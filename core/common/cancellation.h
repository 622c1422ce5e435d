// CancellationToken: cooperative cancellation and a deadline for one unit of work.
//
// The server creates one per tool call; the client's notifications/cancelled, a
// disconnect or the call's time limit trips it. Long-running code calls
// check() at safe points (between queries, between candidate evaluations);
// check() throws dbopt::Error(cancelled | deadline_exceeded). Thread-safe:
// cancel() may be called from any thread while the work runs on another.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

namespace dbopt {

class CancellationToken {
 public:
  using Clock = std::chrono::steady_clock;

  CancellationToken() = default;
  explicit CancellationToken(Clock::time_point deadline) : deadline_(deadline) {}
  CancellationToken(const CancellationToken&) = delete;
  CancellationToken& operator=(const CancellationToken&) = delete;

  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  bool expired() const { return Clock::now() >= deadline_; }
  bool stop_requested() const { return cancelled() || expired(); }
  Clock::time_point deadline() const { return deadline_; }
  // Milliseconds left before the deadline (0 when past it); for statement_timeout.
  long long remaining_ms() const;

  // Throws dbopt::Error when cancelled or past the deadline.
  void check() const;

 private:
  std::atomic<bool> cancelled_{false};
  Clock::time_point deadline_ = Clock::time_point::max();
};

}  // namespace dbopt
