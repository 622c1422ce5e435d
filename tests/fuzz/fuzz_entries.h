// Fuzz entries: one function per fuzzed input surface, shared by the
// libFuzzer targets (tests/fuzz/fuzz_target.cc, built by scripts/fuzz) and
// the regression replay in the unit tests (tests/unit/fuzz), so a crash found
// by fuzzing is replayed through exactly the code that crashed.
//
// Each entry feeds the bytes to dbopt the way a client's input reaches it and
// returns normally when dbopt answered (a result or a clear error). A bug
// surfaces as a crash (ASan/UBSan), as an exception other than dbopt::Error,
// or as FuzzBug: an "Internal error ... This is a bug" answer, or stdio output
// that is not one JSON message per line.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dbopt::fuzz {

struct FuzzBug : std::logic_error {
  using std::logic_error::logic_error;
};

using Entry = void (*)(std::string_view input);

struct Target {
  const char* name;  // also the corpus folder: tests/fuzz-corpus/<name>/
  Entry run;
};

// The targets that need only core/ (SQL, EXPLAIN readers, log readers), and
// those that run the server or its tools (MCP, schemas, tool calls, config).
const std::vector<Target>& core_targets();
const std::vector<Target>& server_targets();

// Runs `run`; a dbopt::Error is a clear answer unless it is ErrorCode::internal (FuzzBug).
void expect_clear_errors(const std::function<void()>& run);

// Quiets dbopt's log (stderr) for fuzzing.
void quiet_logs();

}  // namespace dbopt::fuzz
