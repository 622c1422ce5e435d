// Replays the fuzz regression corpus (tests/fuzz-corpus/<target>/: every input
// that crashed dbopt or reached a new corner while fuzzing) through the same
// entries the libFuzzer targets call, so each fixed crash stays fixed in the
// ordinary release and ASan test runs.
#include "tests/fuzz/fuzz_entries.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace dbopt::test {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> corpus_of(const std::string& target) {
  std::vector<fs::path> files;
  const fs::path dir = fs::path(DBOPT_SOURCE_DIR) / "tests" / "fuzz-corpus" / target;
  if (fs::is_directory(dir))
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

class CorpusReplay : public ::testing::TestWithParam<fuzz::Target> {};

TEST_P(CorpusReplay, EveryInputGetsAnAnswerOrAClearError) {
  const fuzz::Target& target = GetParam();
  const auto files = corpus_of(target.name);
  ASSERT_FALSE(files.empty()) << "tests/fuzz-corpus/" << target.name << "/ holds no inputs";
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    EXPECT_NO_THROW(target.run(bytes.str())) << file.filename();
  }
}

const auto target_name = [](const auto& info) { return std::string(info.param.name); };
INSTANTIATE_TEST_SUITE_P(Core, CorpusReplay, ::testing::ValuesIn(fuzz::core_targets()), target_name);
INSTANTIATE_TEST_SUITE_P(Server, CorpusReplay, ::testing::ValuesIn(fuzz::server_targets()), target_name);

}  // namespace
}  // namespace dbopt::test

int main(int argc, char** argv) {
  dbopt::fuzz::quiet_logs();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
