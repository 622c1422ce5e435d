// dbopt::Error: the one error type that crosses module boundaries.
//
// Every module throws dbopt::Error (never a bare std::exception) for failures a
// caller must handle. The code says what kind of failure it is, so the server
// can map it to a tool error, a JSON-RPC error or an HTTP status without
// parsing messages; `fix` tells the user what to do about it.
#pragma once

#include <stdexcept>
#include <string>

namespace dbopt {

enum class ErrorCode {
  invalid_argument,   // the caller's input is wrong (bad SQL, bad field); fixable by the user
  not_found,          // a named thing (database, tool, rule, resource) does not exist
  permission_denied,  // refused by policy (safe executor, config flags)
  unavailable,        // a dependency (database, Linear) cannot be reached right now
  cancelled,          // the caller cancelled the work
  deadline_exceeded,  // the work ran past its time limit
  unimplemented,      // the capability is not built yet
  internal,           // a bug in dbopt
};

const char* to_string(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, std::string message, std::string fix = {})
      : std::runtime_error(std::move(message)), code_(code), fix_(std::move(fix)) {}

  ErrorCode code() const { return code_; }
  // What the user can do about it; empty when there is nothing to say.
  const std::string& fix() const { return fix_; }
  // Message and fix in one sentence-like string, for people.
  std::string describe() const;

 private:
  ErrorCode code_;
  std::string fix_;
};

}  // namespace dbopt
