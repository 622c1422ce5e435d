// Log readers: every format, multi-line statements, parameters, odd prefixes,
// and bad lines that must be skipped and counted, never a crash.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "core/common/error.h"
#include "core/workload/log_reader.h"

namespace dbopt::workload {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Read {
  ReadStats stats;
  std::vector<StatementEvent> events;
  std::vector<std::string> boundaries;  // marker names / "session <id>"
};

Read read_text(const std::string& text, ReadOptions options = {}) {
  std::istringstream in(text);
  Read r;
  r.stats = read_log(in, options, [&](LogRecord& rec) {
    if (rec.kind == LogRecord::Kind::statement)
      r.events.push_back(std::move(rec.event));
    else
      r.boundaries.push_back(!rec.thread.empty()   ? "thread " + rec.thread + ": " + rec.unit
                             : rec.session.empty() ? rec.unit
                                                   : "session " + rec.session);
  });
  return r;
}

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(DBOPT_FIXTURES_DIR) + "/logs/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing fixture " << name;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(StderrLog, ReadsDurationsParametersAndMultiLineStatements) {
  const Read r = read_text(fixture("stderr_pgbadger_like.log"));
  EXPECT_EQ(r.stats.format, LogFormat::postgres_stderr);
  EXPECT_EQ(r.stats.log_line_prefix, "%m [%p] user=%u,db=%d,app=%a,session=%c ");
  ASSERT_EQ(r.events.size(), 6u);
  const auto& e0 = r.events[0];
  EXPECT_EQ(e0.sql, "SELECT id, title FROM books WHERE author_id = $1");
  EXPECT_THAT(e0.params, ElementsAre("7"));
  ASSERT_TRUE(e0.duration_ms);
  EXPECT_DOUBLE_EQ(*e0.duration_ms, 0.512);
  EXPECT_EQ(e0.session, "65a1.1092");
  EXPECT_EQ(e0.application, "web");
  EXPECT_EQ(e0.line, 1u);
  ASSERT_TRUE(e0.ts_ms);
  // Tab-indented continuation lines belong to the statement; quotes stay intact.
  EXPECT_EQ(r.events[1].sql, "SELECT b.id,\n       b.title\nFROM books b\nWHERE b.note = 'it''s; here'");
  EXPECT_DOUBLE_EQ(*r.events[1].ts_ms - *e0.ts_ms, 100.0);
  // parse steps are not executions; a named prepared statement's parameters, NULL and commas inside quotes.
  EXPECT_EQ(r.events[2].sql, "UPDATE books SET price = $1 WHERE id = $2");
  EXPECT_THAT(r.events[2].params, ElementsAre("NULL", "a, b"));
  // log_statement + log_duration: the duration line completes the statement before it.
  EXPECT_EQ(r.events[3].sql, "SELECT 42");
  ASSERT_TRUE(r.events[3].duration_ms);
  EXPECT_DOUBLE_EQ(*r.events[3].duration_ms, 0.1);
  EXPECT_EQ(r.events[3].session, "65a1.1093");
  // The ERROR's STATEMENT did not run: not an event.
  for (const auto& e : r.events) EXPECT_NE(e.sql, "SELECT * FROM nope");
  // A truncated statement is still an event (the analyzer skips it); garbage and foreign lines are counted.
  EXPECT_EQ(r.events[4].sql, "SELECT * FROM books WHERE id = 1 LIMIT 2...");
  EXPECT_EQ(r.events[5].sql, "SELECT count(*) FROM books");
  EXPECT_EQ(r.stats.skipped_lines, 2u);
  EXPECT_THAT(r.boundaries, ElementsAre("session 65a1.1093"));
  EXPECT_EQ(r.stats.statements, 6u);
}

TEST(StderrLog, OddPrefixIsReadHeuristically) {
  const Read r = read_text(fixture("stderr_odd_prefix.log"));
  EXPECT_EQ(r.stats.format, LogFormat::postgres_stderr);
  EXPECT_THAT(r.stats.log_line_prefix, HasSubstr("heuristic"));
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].sql, "SELECT 1 FROM t WHERE a IN (1, 2, 3)");
  EXPECT_EQ(r.events[0].session, "777");
  EXPECT_DOUBLE_EQ(*r.events[1].duration_ms, 0.8);
  EXPECT_EQ(r.stats.skipped_lines, 0u);
}

// '%m [%p] app=%a ' is none of the detected prefixes; the heuristic still reads
// the application name (a GraphQL server's evidence) and the user and database.
TEST(StderrLog, HeuristicPrefixKeepsKeyValueFields) {
  const Read r = read_text(
      "2026-12-03 10:00:00.001 UTC [4242] app=apollo-graphql LOG:  duration: 0.412 ms  statement: SELECT 1\n"
      "2026-12-03 10:00:00.002 UTC [4243] user=api,db=shop,application_name=web-1 LOG:  duration: 0.1 ms  "
      "statement: SELECT 2\n"
      "2026-12-03 10:00:00.003 UTC [4244] myapp=x LOG:  duration: 0.1 ms  statement: SELECT 3\n");
  EXPECT_THAT(r.stats.log_line_prefix, HasSubstr("heuristic"));
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(r.events[0].application, "apollo-graphql");
  EXPECT_EQ(r.events[0].session, "4242");
  EXPECT_EQ(r.events[1].application, "web-1");
  EXPECT_EQ(r.events[2].application, "") << "myapp= is not app=";
}

TEST(StderrLog, GivenPrefixWithUnusualLiteralsAndOptionalPart) {
  const std::string log =
      "1795796125.123|4242|web-1|alice LOG:  duration: 3.5 ms  statement: SELECT 1\n"
      "1795796125.200|4242|LOG:  duration: 1.0 ms  statement: SELECT 2\n"
      "1795796125.300|4243|web-2|bob LOG:  statement: SELECT 3\n";
  ReadOptions options;
  options.format = LogFormat::postgres_stderr;
  options.log_line_prefix = "%n|%p|%q%a|%u ";
  const Read r = read_text(log, options);
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(r.events[0].application, "web-1");
  EXPECT_DOUBLE_EQ(*r.events[0].ts_ms, 1795796125123.0);
  EXPECT_EQ(r.events[1].sql, "SELECT 2");  // a background-style line stops at %q
  EXPECT_EQ(r.events[2].session, "4243");
  EXPECT_FALSE(r.events[2].duration_ms);
  EXPECT_EQ(r.stats.skipped_lines, 0u);
}

TEST(StderrLog, PrefixEndingInALonePercentIsRefused) {
  ReadOptions options;
  options.format = LogFormat::postgres_stderr;
  options.log_line_prefix = "%m %";
  try {
    read_text("x\n", options);
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_THAT(e.what(), HasSubstr("lone %"));
  }
}

TEST(CsvLog, QuotedFieldsSpanLinesAndBrokenRecordsAreCounted) {
  const Read r = read_text(fixture("csvlog_sample.csv"));
  EXPECT_EQ(r.stats.format, LogFormat::postgres_csv);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].sql, "SELECT id FROM books WHERE author_id = $1");
  EXPECT_THAT(r.events[0].params, ElementsAre("7"));
  EXPECT_EQ(r.events[0].session, "65a1.1092");
  EXPECT_EQ(r.events[0].application, "web");
  EXPECT_EQ(r.events[1].sql, "SELECT b.id,\n       b.title AS \"Title\"\nFROM books b");
  EXPECT_DOUBLE_EQ(*r.events[1].duration_ms, 1.25);
  // "not,a,csvlog,line" and the record the file ends inside.
  EXPECT_EQ(r.stats.skipped_lines, 2u);
}

TEST(JsonLog, ReadsMessagesDetailsAndSkipsCutLines) {
  const Read r = read_text(fixture("jsonlog_sample.json"));
  EXPECT_EQ(r.stats.format, LogFormat::postgres_json);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_THAT(r.events[0].params, ElementsAre("7"));
  EXPECT_EQ(r.events[0].session, "65a1.1092");
  EXPECT_EQ(r.events[1].sql, "SELECT b.id,\n       b.title\nFROM books b");
  EXPECT_EQ(r.stats.skipped_lines, 1u);
}

TEST(DjangoLog, Reads4xFormWithAliasMultiLineAndPlaceholders) {
  Read r = read_text(fixture("django_4x.log"));
  EXPECT_EQ(r.stats.format, LogFormat::django);
  ASSERT_EQ(r.events.size(), 5u);
  // The schema editor's form: ran, no duration.
  EXPECT_EQ(r.events[0].sql, "CREATE TABLE \"shop_tag\" (\"id\" serial NOT NULL PRIMARY KEY)");
  EXPECT_FALSE(r.events[0].duration_ms);
  r.events.erase(r.events.begin());
  EXPECT_EQ(r.events[0].sql, "SELECT \"shop_book\".\"id\" FROM \"shop_book\" WHERE \"shop_book\".\"author_id\" = 3");
  EXPECT_THAT(r.events[0].params, ElementsAre("3"));
  EXPECT_DOUBLE_EQ(*r.events[0].duration_ms, 2.0);
  EXPECT_EQ(r.events[0].session, "default");
  EXPECT_EQ(r.events[1].sql,
            "SELECT \"shop_book\".\"id\"\nFROM \"shop_book\"\nWHERE \"shop_book\".\"title\" = 'a; b' LIMIT 21");
  EXPECT_THAT(r.events[1].params, ElementsAre("'a; b'"));
  EXPECT_EQ(r.events[1].session, "replica");
  EXPECT_EQ(r.events[2].sql, "SELECT \"shop_tag\".\"id\" FROM \"shop_tag\" WHERE \"shop_tag\".\"id\" IN (%s, %s)");
  EXPECT_THAT(r.events[2].params, ElementsAre("1", "2"));
  // 3.2 form (no alias), args=None.
  EXPECT_EQ(r.events[3].sql, "SELECT 1");
  EXPECT_TRUE(r.events[3].params.empty());
  EXPECT_THAT(r.boundaries, ElementsAre("next_request"));
  EXPECT_EQ(r.stats.markers, 1u);
  // The record cut after "= " never ended: its line is counted.
  EXPECT_EQ(r.stats.skipped_lines, 1u);
}

// The formatter prefix names the thread: `[%(threadName)s]` (Python 3.10+ adds the target in
// parentheses) or `%(thread)d`; a bracketed time, level or logger name is no thread.
TEST(DjangoLog, ThreadFromTheFormatterPrefix) {
  const Read r = read_text(
      "2026-12-02 15:35:21,719 [Thread-1 (worker)] dbopt INFO dbopt-unit: forward_fk\n"
      "2026-12-02 15:35:21,850 [Thread-1 (worker)] django.db.backends DEBUG (0.011) SELECT 1; args=()\n"
      "[2026-12-02 15:35:21,851] [DEBUG] [django.db.backends] [ThreadPoolExecutor-0_3] (0.001) SELECT 2; args=()\n"
      "2026-12-02 15:35:21,880 139676862703296 django.db.backends DEBUG (0.033) SELECT 3; args=()\n"
      "2026-12-02 15:35:21,881 thread=4242424 (0.001) SELECT 4; args=()\n"
      "2026-12-02 15:35:21,882 django.db.backends DEBUG (0.001) SELECT 5; args=()\n");
  ASSERT_EQ(r.events.size(), 5u);
  EXPECT_EQ(r.events[0].thread, "Thread-1 (worker)");
  EXPECT_EQ(r.events[1].thread, "ThreadPoolExecutor-0_3");
  EXPECT_EQ(r.events[2].thread, "139676862703296");
  EXPECT_EQ(r.events[3].thread, "4242424");
  EXPECT_EQ(r.events[4].thread, "");
  EXPECT_THAT(r.boundaries, ElementsAre("thread Thread-1 (worker): forward_fk"));
}

TEST(JsonLines, ReadsAppEventsWithStacksInThreeShapes) {
  const Read r = read_text(fixture("app_events.jsonl"));
  EXPECT_EQ(r.stats.format, LogFormat::jsonl);
  ASSERT_EQ(r.events.size(), 3u);
  const auto& e = r.events[0];
  EXPECT_EQ(e.request_id, "req-1");
  EXPECT_THAT(e.params, ElementsAre("5"));
  EXPECT_DOUBLE_EQ(*e.duration_ms, 1.5);
  EXPECT_DOUBLE_EQ(*e.ts_ms, 1795796125500.0);
  ASSERT_EQ(e.stack.size(), 2u);
  EXPECT_EQ(e.stack[0], (StackFrame{"app/views.py", 10, "index"}));
  EXPECT_EQ(r.events[1].request_id, "t-9");
  EXPECT_EQ(r.events[1].stack[0], (StackFrame{"svc/api.py", 33, "get"}));
  EXPECT_EQ(r.events[2].request_id, "span-3");
  ASSERT_TRUE(r.events[2].ts_ms);
  ASSERT_EQ(r.events[2].stack.size(), 1u);
  EXPECT_EQ(r.events[2].stack[0], (StackFrame{"svc/api.py", 40, "post"}));
  // {"no_sql"}, [1, 2, 3] and the cut last line.
  EXPECT_EQ(r.stats.skipped_lines, 3u);
}

// Frames as "path:line function" (no "in"), innermost first, as some exporters write them.
TEST(JsonLines, FramesWithoutInAndAThreadField) {
  const Read r = read_text(
      R"({"sql": "SELECT 1", "thread": "Thread-7", "stack": ["blog/views.py:26 recent_posts", "n1site/middleware.py:38 __call__"]})"
      "\n");
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].thread, "Thread-7");
  ASSERT_EQ(r.events[0].stack.size(), 2u);
  EXPECT_EQ(r.events[0].stack[0], (StackFrame{"blog/views.py", 26, "recent_posts"}));
  EXPECT_EQ(r.events[0].stack[1], (StackFrame{"n1site/middleware.py", 38, "__call__"}));
}

TEST(Detection, UnknownTextIsAnErrorNamingTheFix) {
  try {
    read_text("hello\nworld\n");
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_THAT(e.fix(), HasSubstr("format"));
  }
}

TEST(BadInput, RandomBytesInEveryFormatNeverThrow) {
  std::mt19937 rng(42);
  std::string noise(200000, '\0');
  for (auto& c : noise) c = static_cast<char>(rng() % 256);
  for (const auto format : {LogFormat::django, LogFormat::postgres_stderr, LogFormat::postgres_csv,
                            LogFormat::postgres_json, LogFormat::jsonl}) {
    SCOPED_TRACE(to_string(format));
    ReadOptions options;
    options.format = format;
    Read r;
    EXPECT_NO_THROW(r = read_text(noise, options));
    EXPECT_GT(r.stats.skipped_lines, 0u);
    EXPECT_EQ(r.stats.bytes, noise.size());
  }
}

TEST(BadInput, GarbageBetweenGoodLinesOfARealLog) {
  std::string log = fixture("stderr_pgbadger_like.log");
  const std::string good = log;
  log.insert(log.find("2026-11-27 10:00:00.200"), std::string("\x01\x02\xff garbage\n"));
  const Read clean = read_text(good);
  const Read dirty = read_text(log);
  EXPECT_EQ(dirty.events.size(), clean.events.size());
  EXPECT_EQ(dirty.stats.skipped_lines, clean.stats.skipped_lines + 1);
}

TEST(Streaming, LinesLongerThanAChunkAndNoFinalNewline) {
  std::string sql = "SELECT '" + std::string(3u << 20, 'x') + "'";
  std::string log;
  for (int i = 0; i < 3; ++i) log += "(0.001) " + sql + "; args=()\n";
  log += "(0.002) SELECT 2; args=()";  // no newline at the end
  const Read r = read_text(log);
  ASSERT_EQ(r.events.size(), 4u);
  EXPECT_EQ(r.events[0].sql.size(), sql.size());
  EXPECT_EQ(r.events[3].sql, "SELECT 2");
}

TEST(BindParameters, QuotesNullsAndCommas) {
  EXPECT_THAT(parse_bind_parameters("$1 = '42', $2 = NULL, $3 = 'it''s, here'"),
              ElementsAre("42", "NULL", "it's, here"));
  EXPECT_TRUE(parse_bind_parameters("").empty());
}

TEST(Markers, FoundInAnyLine) {
  EXPECT_EQ(unit_marker("INFO dbopt-unit: checkout_view extra"), "checkout_view");
  EXPECT_EQ(unit_marker("dbopt-unit:"), "(unnamed)");
  EXPECT_EQ(unit_marker("nothing here"), "");
}

TEST(Inline, StatementsInOrder) {
  std::vector<std::string> got;
  const auto stats = read_statements({"SELECT 1", "SELECT 2"}, [&](LogRecord& r) { got.push_back(r.event.sql); });
  EXPECT_THAT(got, ElementsAre("SELECT 1", "SELECT 2"));
  EXPECT_EQ(stats.statements, 2u);
}

}  // namespace
}  // namespace dbopt::workload
