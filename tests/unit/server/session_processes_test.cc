// Sessions across processes: `dbopt call start_session` in one process, tool
// calls with its id in others (some at the same time), the report in a last
// one, as a person or a script uses the CLI. Each process is a fresh server,
// so this is also a session surviving restarts.
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace dbopt::server {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

const char* kPlan =
    "Seq Scan on orders  (cost=0.00..4082.00 rows=1000 width=40) (actual time=0.020..35.100 rows=1000 loops=1)\\n"
    "  Filter: (status = 'refunded'::text)\\n"
    "  Rows Removed by Filter: 199000\\n"
    "Execution Time: 35.400 ms";

// Runs a shell command and returns its standard output.
std::string output_of(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return out;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  ::pclose(pipe);
  return out;
}

TEST(SessionProcesses, CliCallsShareOneSessionThroughTheStateDirectory) {
  std::string pattern = (std::filesystem::temp_directory_path() / "dbopt-cli-sessions-XXXXXX").string();
  const std::filesystem::path state = ::mkdtemp(pattern.data());
  // XDG_STATE_HOME is where a user's sessions go when the config names no directory.
  const std::string dbopt =
      "env -u DATABASE_URL -u DBOPT_SESSIONS_DIR XDG_STATE_HOME=" + state.string() + " " DBOPT_BINARY;

  const Json started = Json::parse(output_of(dbopt + " call --json start_session '{\"title\": \"over the CLI\"}'"));
  const std::string id = started["structuredContent"]["session"];
  EXPECT_TRUE(std::filesystem::exists(state / "dbopt" / "sessions" / (id + ".json")));

  // Six processes at once record into the same session.
  std::string calls;
  for (int i = 0; i < 6; ++i)
    calls +=
        dbopt + " call explain_query '{\"plan\": \"" + kPlan + "\", \"session\": \"" + id + "\"}' >/dev/null 2>&1 & ";
  output_of("{ " + calls + "wait; }");

  const Json report = Json::parse(output_of(dbopt + " call --json session_report '{\"session\": \"" + id + "\"}'"));
  ASSERT_FALSE(report["isError"].get<bool>()) << report.dump(2);
  EXPECT_EQ(report["structuredContent"]["calls"], 6) << "no concurrent write lost another's call";
  EXPECT_THAT(report["markdown"].get<std::string>(), HasSubstr("# Performance report: over the CLI"));
  EXPECT_THAT(report["markdown"].get<std::string>(), HasSubstr("PLAN_SEQ_SCAN_LARGE_FILTER"));

  const Json traversal =
      Json::parse(output_of(dbopt + " call --json session_report '{\"session\": \"../../etc/passwd\"}'"));
  EXPECT_TRUE(traversal["isError"].get<bool>());
  std::filesystem::remove_all(state);
}

}  // namespace
}  // namespace dbopt::server
