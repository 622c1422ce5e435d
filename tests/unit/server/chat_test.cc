// `dbopt chat` driven as a user would: a scripted session through the same
// Chat object `dbopt chat` uses on a pipe, and the real binary on a
// pseudo-terminal (line editing, prompts, Ctrl-D).
#include "server/chat.h"

#include <pty.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace dbopt::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const char* kPlan =
    "Seq Scan on orders  (cost=0.00..4082.00 rows=1000 width=40) (actual time=0.020..35.100 rows=1000 loops=1)\n"
    "  Filter: (status = 'refunded'::text)\n"
    "  Rows Removed by Filter: 199000\n"
    "Planning Time: 0.100 ms\n"
    "Execution Time: 35.400 ms\n";

TEST(Chat, ScriptedSessionRunsTheRightToolsAndReportsThem) {
  App app(Settings{});
  std::ostringstream out;
  Chat chat(app, out);
  ASSERT_FALSE(chat.session().empty());
  std::istringstream script(std::string("/tools\n") + kPlan + "\n" +
                            "SELECT *\n  FROM orders\n WHERE customer_id = 42;\n"
                            "/nope\n/report\n/file\n/quit\nSELECT 'never reached';\n");
  EXPECT_EQ(chat.run(/*interactive=*/false, script), 1) << "the unknown command counts as a failure";
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("  suggest_indexes: "));
  EXPECT_THAT(text, HasSubstr("[explain_query]"));
  EXPECT_THAT(text, HasSubstr("Seq Scan on orders"));  // the plan's analysis
  EXPECT_THAT(text, HasSubstr("Unknown command /nope"));
  EXPECT_THAT(text, HasSubstr("# Performance report: dbopt chat"));
  EXPECT_THAT(text, HasSubstr("2 tool call(s)")) << "the plan and the SQL, both in the chat's session";
  EXPECT_THAT(text, HasSubstr("dbopt-fingerprint:")) << "the dry-run task shows its description";
  EXPECT_THAT(text, Not(HasSubstr("never reached")));
}

TEST(Chat, CommandsWithoutSqlUseTheLastStatementAndEndAPasteMissingItsSemicolon) {
  App app(Settings{});
  std::ostringstream out;
  Chat chat(app, out);
  // The SELECT has no ';': the next slash command ends it instead of joining it.
  std::istringstream script(
      "/indexes\n"
      "SELECT id FROM orders\n WHERE status = 'paid'\n"
      "/indexes\n/bench\n/report\n");
  chat.run(/*interactive=*/false, script);
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("usage: /indexes SQL; SQL; ... (or paste a statement first)"));
  const std::string last = "(the last statement: SELECT id FROM orders\n WHERE status = 'paid')";
  const auto explained = text.find("[explain_query]");
  const auto first = text.find(last);
  ASSERT_NE(explained, std::string::npos) << text;
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_LT(explained, first) << "the statement ran before the command that follows it";
  EXPECT_NE(text.find(last, first + 1), std::string::npos) << "/bench used it too: " << text;
  EXPECT_THAT(text, HasSubstr("# Index advice"));
  EXPECT_THAT(text, HasSubstr("benchmark_query needs a database")) << "no database here: the call itself was made";
  EXPECT_THAT(text, HasSubstr("3 tool call(s)")) << "explain_query, suggest_indexes, benchmark_query";
}

TEST(Chat, PastesAreClassified) {
  App app(Settings{});
  std::ostringstream out;
  Chat chat(app, out);
  EXPECT_EQ(chat.classify(kPlan).tool, "explain_query");
  EXPECT_TRUE(chat.classify(kPlan).arguments.contains("plan"));
  EXPECT_EQ(chat.classify("SELECT 1;").arguments["sql"], "SELECT 1;");
  const auto log = std::filesystem::temp_directory_path() / "dbopt-chat-test.log";
  std::ofstream(log) << "(0.001) SELECT 1; args=()\n";
  const Chat::Call call = chat.classify(log.string());
  EXPECT_EQ(call.tool, "detect_n_plus_one");
  EXPECT_EQ(call.arguments["log_path"], log.string());
  std::filesystem::remove(log);
  EXPECT_EQ(chat.classify("  \n").tool, "");
}

// Reads from the terminal until `needle` appears at or after `from`, the
// terminal closes, or `seconds` pass.
std::string read_until(int fd, const std::string& needle, std::string& seen, std::size_t from = 0, int seconds = 30) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  char buffer[4096];
  while (seen.find(needle, from) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(fd, &fds);
    timeval tv{0, 200000};
    if (select(fd + 1, &fds, nullptr, nullptr, &tv) > 0) {
      const ssize_t n = read(fd, buffer, sizeof buffer);
      if (n <= 0) break;
      seen.append(buffer, static_cast<std::size_t>(n));
    }
  }
  return seen;
}

// True once the program on the terminal reads keys one by one (libedit's edit mode).
bool wait_for_raw_mode(int fd) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  termios mode{};
  while (std::chrono::steady_clock::now() < deadline) {
    if (tcgetattr(fd, &mode) == 0 && !(mode.c_lflag & ICANON)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(Chat, TerminalSessionWithPromptsHistoryAndCtrlD) {
  const auto home = std::filesystem::temp_directory_path() / ("dbopt-chat-home-" + std::to_string(getpid()));
  std::filesystem::create_directories(home);
  int terminal = -1;
  const pid_t child = forkpty(&terminal, nullptr, nullptr, nullptr);
  ASSERT_GE(child, 0);
  if (child == 0) {
    setenv("HOME", home.c_str(), 1);
    setenv("TERM", "dumb", 1);
    unsetenv("DATABASE_URL");
    execl(DBOPT_BINARY, DBOPT_BINARY, "--log-level", "off", "chat", static_cast<char*>(nullptr));
    _exit(127);
  }
  std::string seen;
  EXPECT_THAT(read_until(terminal, "dbopt> ", seen), HasSubstr("dbopt chat: session s_"));
  ASSERT_TRUE(wait_for_raw_mode(terminal)) << seen;
  const std::string typed = "SELECT id\nFROM orders WHERE status = 'open';\n";
  ASSERT_EQ(write(terminal, typed.data(), typed.size()), static_cast<ssize_t>(typed.size()));
  EXPECT_THAT(read_until(terminal, "[explain_query]", seen), HasSubstr("   ...> "))
      << "an unfinished statement asks for more";
  const std::size_t answer = seen.find("[explain_query]");
  EXPECT_NE(read_until(terminal, "dbopt> ", seen, answer).find("dbopt> ", answer), std::string::npos)
      << "a new prompt after the answer: " << seen;
  EXPECT_THAT(seen.substr(answer), HasSubstr("## explain_query: SQL text only"));
  // Ctrl-D leaves. Typed before the line editor has put the terminal in raw
  // mode, the kernel would turn it into an end-of-file marker that the editor
  // then reads as a character (a user typing ahead gets the same): wait for raw mode.
  ASSERT_TRUE(wait_for_raw_mode(terminal)) << seen;
  ASSERT_EQ(write(terminal, "\x04", 1), 1);
  // Keep reading the terminal while the child shuts down (a full terminal
  // buffer would block it); sanitizer builds on a busy machine exit slowly.
  int status = 0;
  bool exited = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (!exited && std::chrono::steady_clock::now() < deadline) {
    read_until(terminal, "\x01never\x01", seen, seen.size(), 1);  // drains for a second, or until EOF
    exited = waitpid(child, &status, WNOHANG) == child;
  }
  if (!exited) {
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
  }
  EXPECT_TRUE(exited && WIFEXITED(status) && WEXITSTATUS(status) == 0) << seen;
  std::ifstream history(home / ".dbopt_history");
  std::stringstream saved;
  saved << history.rdbuf();
  EXPECT_THAT(saved.str(), HasSubstr("'open';")) << "the statement is kept in the history file (vis-encoded)";
  close(terminal);
  std::filesystem::remove_all(home);
}

}  // namespace
}  // namespace dbopt::server
