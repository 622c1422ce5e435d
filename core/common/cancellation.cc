#include "core/common/cancellation.h"

#include "core/common/error.h"

namespace dbopt {

long long CancellationToken::remaining_ms() const {
  if (deadline_ == Clock::time_point::max()) return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
  return left > 0 ? left : 0;
}

void CancellationToken::check() const {
  if (cancelled()) throw Error(ErrorCode::cancelled, "The request was cancelled by the client.");
  if (expired())
    throw Error(ErrorCode::deadline_exceeded, "The request ran past its time limit.",
                "Raise limits.tool_timeout_ms in the config, or narrow the input.");
}

}  // namespace dbopt
