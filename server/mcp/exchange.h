// Exchange: where the answer to one request goes, whichever transport carried it.
//
// The dispatcher sends request-related notifications (progress, log messages)
// with notify() and ends the exchange with exactly one respond() or, for a
// cancelled request (which gets no answer), finish_without_response(). Either
// may happen on a worker thread; implementations are thread-safe.
// A transport that sees the client go away calls abandon(): that cancels the
// work behind the exchange.
#pragma once

#include <memory>
#include <mutex>

#include <nlohmann/json.hpp>

#include "core/common/cancellation.h"

namespace dbopt::mcp {

class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual void notify(const nlohmann::json& notification) = 0;
  virtual void respond(const nlohmann::json& response) = 0;
  virtual void finish_without_response() = 0;

  // The dispatcher attaches the token of a cancellable call (tools/call).
  void attach_cancellation(std::shared_ptr<CancellationToken> token) {
    std::lock_guard lock(token_mutex_);
    token_ = std::move(token);
  }
  void abandon() {
    std::lock_guard lock(token_mutex_);
    if (token_) token_->cancel();
  }

 private:
  std::mutex token_mutex_;
  std::shared_ptr<CancellationToken> token_;
};

}  // namespace dbopt::mcp
