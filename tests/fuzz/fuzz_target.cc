// One libFuzzer target: DBOPT_FUZZ_TARGET names the entry (tests/fuzz/fuzz_entries.h)
// in the list DBOPT_FUZZ_TARGETS (core_targets or server_targets).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "tests/fuzz/fuzz_entries.h"

namespace {

dbopt::fuzz::Entry entry() {
  static const dbopt::fuzz::Entry found = [] {
    dbopt::fuzz::quiet_logs();
    for (const auto& t : DBOPT_FUZZ_TARGETS())
      if (std::strcmp(t.name, DBOPT_FUZZ_TARGET) == 0) return t.run;
    __builtin_trap();  // a target the build names must exist
  }();
  return found;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  entry()(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
