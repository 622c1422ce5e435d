// SafeExecutor against the real test database: what it runs, what it refuses,
// and, for every refusal, proof that the database did not change.
#include "core/pg/safe_executor.h"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "core/common/error.h"
#include "tests/unit/pg/pg_test_env.h"

namespace dbopt::pg {
namespace {

using namespace std::chrono_literals;
using testing::database_url;
using testing::scratch_url;
using testing::table_fingerprint;

class SafeExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DBOPT_REQUIRE_TEST_DATABASE();
    settings_ = testing::test_settings();
  }
  DatabasePool& pool() {
    if (!pool_) pool_ = std::make_unique<DatabasePool>(settings_);
    return *pool_;
  }
  SafeExecutor executor() { return SafeExecutor(pool()); }

  Settings settings_;
  std::unique_ptr<DatabasePool> pool_;
};

ErrorCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "expected a dbopt::Error";
  return ErrorCode::internal;
}

Error error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected a dbopt::Error";
  return Error(ErrorCode::internal, "no error");
}

TEST_F(SafeExecutorTest, SelectReturnsColumnsRowsAndNulls) {
  auto result = executor().run("default", "SELECT id, status, shipped_at FROM orders WHERE id <= 3 ORDER BY id");
  ASSERT_EQ(result.columns, (std::vector<std::string>{"id", "status", "shipped_at"}));
  ASSERT_EQ(result.rows.size(), 3u);
  EXPECT_EQ(result.row_count, 3u);
  EXPECT_FALSE(result.truncated);
  EXPECT_EQ(result.rows[0][0], "1");
  EXPECT_EQ(result.rows[2][0], "3");
  EXPECT_GE(result.elapsed_ms, 0.0);

  auto nulls = executor().run("", "SELECT NULL::text AS nothing, 'x' AS something");
  ASSERT_EQ(nulls.rows.size(), 1u);
  EXPECT_FALSE(nulls.rows[0][0].has_value());
  EXPECT_EQ(nulls.rows[0][1], "x");
}

TEST_F(SafeExecutorTest, ReturnsTheNoticesTheStatementRaised) {
  auto result = executor().run("default", "SELECT product_availability(17), product_availability(18)");
  EXPECT_EQ(result.rows.at(0).at(0), "discontinued");
  EXPECT_EQ(result.rows.at(0).at(1), "available");
  ASSERT_EQ(result.notices.size(), 1u);
  EXPECT_NE(result.notices[0].find("product 17 is no longer sold"), std::string::npos) << result.notices[0];
  // Notices belong to their statement: the next one starts clean.
  EXPECT_TRUE(executor().run("default", "SELECT product_availability(18)").notices.empty());
}

TEST_F(SafeExecutorTest, MaxRowsStopsEarlyAndSaysSo) {
  RunOptions options;
  options.max_rows = 10;
  auto limited = executor().run("default", "SELECT g FROM generate_series(1, 100) g;", options);
  EXPECT_EQ(limited.rows.size(), 10u);
  EXPECT_TRUE(limited.truncated);
  EXPECT_EQ(limited.rows[9][0], "10");

  options.max_rows = 2;
  auto values = executor().run("default", "VALUES (1), (2), (3)", options);
  EXPECT_EQ(values.rows.size(), 2u);
  EXPECT_TRUE(values.truncated);
  options.max_rows = 5;
  auto big = executor().run("default", "SELECT * FROM events ORDER BY id", options);
  EXPECT_EQ(big.rows.size(), 5u);
  EXPECT_TRUE(big.truncated);
  EXPECT_EQ(big.rows[4][0], "5");

  options.max_rows = 100;
  auto exact = executor().run("default", "SELECT g FROM generate_series(1, 100) g", options);
  EXPECT_EQ(exact.rows.size(), 100u);
  EXPECT_FALSE(exact.truncated);

  options.max_rows = 0;
  auto unlimited = executor().run("default", "-- a leading comment\nSELECT g FROM generate_series(1, 2500) g", options);
  EXPECT_EQ(unlimited.rows.size(), 2500u);
}

TEST_F(SafeExecutorTest, RunsInsideReadOnlyTransactionWithTimeouts) {
  settings_.databases[0].statement_timeout_ms = 4321;
  settings_.databases[0].lock_timeout_ms = 1234;
  auto ro = executor().run("default", "SHOW transaction_read_only");
  EXPECT_EQ(ro.rows.at(0).at(0), "on");
  auto st = executor().run("default", "SELECT current_setting('statement_timeout'), current_setting('lock_timeout')");
  EXPECT_EQ(st.rows.at(0).at(0), "4321ms");
  EXPECT_EQ(st.rows.at(0).at(1), "1234ms");
  auto app = executor().run("default", "SHOW application_name");
  EXPECT_EQ(app.rows.at(0).at(0), "dbopt");
}

// ---------------------------------------------------------------- refusals

struct RefusedCase {
  std::string name;
  std::string sql;
  std::string table_to_watch;           // fingerprinted before and after
  std::string relation_must_not_exist;  // a refused CREATE must not have made it
  bool may_be_parse_error = false;      // the policy may call it invalid input rather than a refusal
};

class RefusedStatementTest : public SafeExecutorTest, public ::testing::WithParamInterface<RefusedCase> {};

TEST_P(RefusedStatementTest, IsRefusedAndChangesNothing) {
  const RefusedCase& c = GetParam();
  const std::string before = table_fingerprint(database_url(), c.table_to_watch);
  const long long opened_before = pool().stats("default").opened_total;

  Error e = error_of([&] { executor().run("default", c.sql); });
  if (c.may_be_parse_error)
    EXPECT_TRUE(e.code() == ErrorCode::permission_denied || e.code() == ErrorCode::invalid_argument) << e.describe();
  else
    EXPECT_EQ(e.code(), ErrorCode::permission_denied) << e.describe();
  EXPECT_FALSE(std::string(e.what()).empty());

  EXPECT_EQ(table_fingerprint(database_url(), c.table_to_watch), before);
  if (!c.relation_must_not_exist.empty()) {
    EXPECT_FALSE(testing::relation_exists(database_url(), c.relation_must_not_exist));
  }
  // Refused before it reached the database: no connection was even needed.
  EXPECT_EQ(pool().stats("default").opened_total, opened_before);
}

INSTANTIATE_TEST_SUITE_P(
    EveryRefusedClass, RefusedStatementTest,
    ::testing::Values(
        RefusedCase{"pg_read_file_in_from", "SELECT * FROM pg_read_file('/etc/hostname') AS f(line)", "tenants", ""},
        RefusedCase{"pg_read_file_in_select_list", "SELECT length(pg_read_file('/etc/hostname'))", "tenants", ""},
        RefusedCase{"data_modifying_cte",
                    "WITH gone AS (DELETE FROM events WHERE id <= 500 RETURNING id) SELECT count(*) FROM gone",
                    "events", ""},
        RefusedCase{"for_update", "SELECT * FROM orders WHERE id = 1 FOR UPDATE", "orders", ""},
        RefusedCase{"two_statements", "SELECT 1; DELETE FROM events WHERE id <= 500", "events", "", true},
        RefusedCase{"delete", "DELETE FROM events WHERE id <= 500", "events", ""},
        RefusedCase{"update", "UPDATE orders SET status = 'cancelled' WHERE id <= 500", "orders", ""},
        RefusedCase{"create_table_as", "CREATE TABLE dbopt_refused_ctas AS SELECT * FROM tenants", "tenants",
                    "dbopt_refused_ctas"},
        RefusedCase{"select_into", "SELECT * INTO dbopt_refused_select_into FROM tenants", "tenants",
                    "dbopt_refused_select_into"},
        RefusedCase{"set_config", "SELECT set_config('transaction_read_only', 'off', true)", "tenants", ""},
        // pid -1: harmless even if the policy let it through.
        RefusedCase{"terminate_backend", "SELECT pg_terminate_backend(-1)", "tenants", ""}),
    [](const ::testing::TestParamInfo<RefusedCase>& info) { return info.param.name; });

TEST_F(SafeExecutorTest, RefusalNamesTheReasonAndTheFix) {
  Error e = error_of([&] { executor().run("default", "DELETE FROM events WHERE id = 1"); });
  EXPECT_EQ(e.code(), ErrorCode::permission_denied);
  EXPECT_NE(std::string(e.what()).find("refused"), std::string::npos) << e.what();
  EXPECT_FALSE(e.fix().empty());
}

// The policy cannot know what a user function does; READ ONLY stops the write anyway.
TEST_F(SafeExecutorTest, WriteInsideAFunctionIsBlockedByReadOnlyTransaction) {
  const std::string before = table_fingerprint(database_url(), "events");
  for (const char* sql : {"SELECT record_order_view(1)", "SELECT * FROM record_order_view(2)",
                          "EXPLAIN (ANALYZE) SELECT record_order_view(3)"}) {
    Error e = error_of([&] { executor().run("default", sql); });
    EXPECT_EQ(e.code(), ErrorCode::permission_denied) << sql << ": " << e.describe();
    EXPECT_NE(std::string(e.what()).find("read-only transaction"), std::string::npos)
        << sql << " was not stopped by the READ ONLY transaction: " << e.what();
  }
  EXPECT_EQ(table_fingerprint(database_url(), "events"), before);
  // The aborted transactions were rolled back: the pooled connection still works.
  EXPECT_EQ(executor().run("default", "SELECT 1").rows.at(0).at(0), "1");
}

TEST_F(SafeExecutorTest, ExplainAnalyzeOfDeleteIsRefusedByDefault) {
  const std::string before = table_fingerprint(database_url(), "events");
  const std::string sql = "EXPLAIN ANALYZE DELETE FROM events WHERE id <= 1000";
  // Caller did not ask.
  EXPECT_EQ(code_of([&] { executor().run("default", sql); }), ErrorCode::permission_denied);
  // Caller asked, but the config does not allow it for this database.
  RunOptions ask;
  ask.allow_analyze_write = true;
  Error e = error_of([&] { executor().run("default", sql, ask); });
  EXPECT_EQ(e.code(), ErrorCode::permission_denied);
  EXPECT_NE(e.fix().find("allow_analyze_writes"), std::string::npos) << e.fix();
  // Config allows it (scratch), but the caller did not ask.
  EXPECT_EQ(code_of([&] { executor().run("scratch", sql); }), ErrorCode::permission_denied);
  // The explain() convenience goes through the same gate.
  ExplainOptions analyze;
  analyze.analyze = true;
  EXPECT_EQ(code_of([&] { executor().explain("default", "DELETE FROM events WHERE id <= 1000", analyze, ask); }),
            ErrorCode::permission_denied);
  EXPECT_EQ(table_fingerprint(database_url(), "events"), before);
}

TEST_F(SafeExecutorTest, ExplainAnalyzeOfDeleteOnScratchRunsAndIsRolledBack) {
  const std::string before = table_fingerprint(scratch_url(), "events");
  RunOptions ask;
  ask.allow_analyze_write = true;
  auto result = executor().run("scratch", "EXPLAIN (ANALYZE, FORMAT JSON) DELETE FROM events WHERE id <= 1000", ask);
  ASSERT_EQ(result.rows.size(), 1u);
  const std::string plan = result.rows[0][0].value_or("");
  EXPECT_NE(plan.find("\"Operation\": \"Delete\""), std::string::npos) << plan;
  EXPECT_NE(plan.find("\"Actual Rows\": 1000"), std::string::npos) << "the DELETE really ran: " << plan;

  ExplainOptions analyze;
  analyze.analyze = true;
  analyze.buffers = true;
  std::string json = executor().explain("scratch", "DELETE FROM events WHERE id <= 1000", analyze, ask);
  EXPECT_NE(json.find("\"Actual Rows\": 1000"), std::string::npos) << json;

  EXPECT_EQ(table_fingerprint(scratch_url(), "events"), before) << "the analyzed DELETE was not rolled back";
}

TEST_F(SafeExecutorTest, StatementTimeoutIsDeadlineExceeded) {
  settings_.databases[0].statement_timeout_ms = 200;
  const auto started = std::chrono::steady_clock::now();
  Error e = error_of([&] { executor().run("default", "SELECT pg_sleep(5)"); });
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(e.code(), ErrorCode::deadline_exceeded) << e.describe();
  EXPECT_NE(std::string(e.what()).find("200 ms"), std::string::npos) << e.what();
  EXPECT_NE(e.fix().find("statement_timeout_ms"), std::string::npos) << e.fix();
  EXPECT_LT(took, 3s);
  EXPECT_EQ(executor().run("default", "SELECT 2").rows.at(0).at(0), "2");
}

TEST_F(SafeExecutorTest, TokenDeadlineLowersTheStatementTimeout) {
  CancellationToken token(std::chrono::steady_clock::now() + 400ms);
  RunOptions options;
  options.cancel = &token;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(code_of([&] { executor().run("default", "SELECT pg_sleep(10)", options); }), ErrorCode::deadline_exceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  // Past the deadline: refused before anything is sent.
  EXPECT_EQ(code_of([&] { executor().run("default", "SELECT 1", options); }), ErrorCode::deadline_exceeded);
}

TEST_F(SafeExecutorTest, CancellingTheTokenCancelsTheRunningQuery) {
  CancellationToken token;
  RunOptions options;
  options.cancel = &token;
  std::thread canceller([&] {
    std::this_thread::sleep_for(300ms);
    token.cancel();
  });
  const auto started = std::chrono::steady_clock::now();
  Error e = error_of([&] { executor().run("default", "SELECT pg_sleep(10) AS dbopt_cancel_probe", options); });
  const auto took = std::chrono::steady_clock::now() - started;
  canceller.join();
  EXPECT_EQ(e.code(), ErrorCode::cancelled) << e.describe();
  EXPECT_LT(took, 3s);
  EXPECT_GE(took, 250ms);
  // The server stopped it too (not just the client giving up).
  EXPECT_EQ(testing::superuser_scalar(database_url(),
                                      "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE "
                                      "'%dbopt_cancel_probe%' AND pid <> pg_backend_pid()"),
            "0");
  EXPECT_EQ(executor().run("default", "SELECT 3").rows.at(0).at(0), "3");
}

TEST_F(SafeExecutorTest, UnknownDatabaseNamesTheConfiguredOnes) {
  Error e = error_of([&] { executor().run("warehouse", "SELECT 1"); });
  EXPECT_EQ(e.code(), ErrorCode::not_found);
  EXPECT_NE(std::string(e.what()).find("warehouse"), std::string::npos);
  EXPECT_NE(std::string(e.what()).find("'default'"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("'scratch'"), std::string::npos) << e.what();
}

TEST_F(SafeExecutorTest, UnreachableDatabaseErrorHasNoPassword) {
  const std::string secret = "Sup3rS3cretPw";
  for (const std::string& url : {"postgresql://dbopt:" + secret + "@127.0.0.1:1/nowhere",
                                 "host=127.0.0.1 port=1 user=dbopt password=" + secret + " dbname=nowhere"}) {
    Settings settings;
    DatabaseSettings db;
    db.name = "default";
    db.url = url;
    db.connect_timeout_s = 2;
    settings.databases.push_back(db);
    DatabasePool pool(settings);
    Error e = error_of([&] { SafeExecutor(pool).run("", "SELECT 1"); });
    EXPECT_EQ(e.code(), ErrorCode::unavailable);
    EXPECT_EQ(e.describe().find(secret), std::string::npos) << e.describe();
    EXPECT_NE(std::string(e.what()).find("127.0.0.1"), std::string::npos) << e.what();
  }
}

TEST_F(SafeExecutorTest, WrongPasswordErrorHasNoPassword) {
  std::string url = database_url();
  const auto at = url.find('@');
  const auto colon = url.rfind(':', at);
  ASSERT_NE(at, std::string::npos);
  url = url.substr(0, colon + 1) + "WrongPw4711" + url.substr(at);
  settings_.databases[0].url = url;
  Error e = error_of([&] { executor().run("default", "SELECT 1"); });
  EXPECT_EQ(e.code(), ErrorCode::unavailable);
  EXPECT_NE(std::string(e.what()).find("password authentication failed"), std::string::npos) << e.what();
  EXPECT_EQ(e.describe().find("WrongPw4711"), std::string::npos) << e.describe();
}

TEST_F(SafeExecutorTest, BoundParametersAreValuesNeverSql) {
  RunOptions bound;
  bound.params = {std::string("x'y; DROP TABLE orders; --"), std::nullopt, std::string("2")};
  auto result =
      executor().run("", "SELECT $1::text AS quoted, $2::text AS nothing, id FROM orders WHERE id = $3", bound);
  ASSERT_EQ(result.rows.size(), 1u);
  EXPECT_EQ(result.rows[0][0], "x'y; DROP TABLE orders; --");
  EXPECT_FALSE(result.rows[0][1].has_value());
  EXPECT_EQ(result.rows[0][2], "2");

  // EXPLAIN plans with the values: the custom plan shows them as constants.
  RunOptions value;
  value.params = {std::string("42")};
  ExplainOptions analyze;
  analyze.analyze = true;
  const std::string json = executor().explain("", "SELECT * FROM orders WHERE customer_id = $1", analyze, value);
  EXPECT_NE(json.find("'42'::bigint"), std::string::npos) << json;
  EXPECT_NE(json.find("\"Actual Rows\""), std::string::npos);

  // Too few values is PostgreSQL's error, a clear invalid_argument.
  RunOptions missing;
  missing.params = {std::string("1")};
  const Error wrong_count = error_of([&] { executor().run("", "SELECT $1::int + $2::int", missing); });
  EXPECT_EQ(wrong_count.code(), ErrorCode::invalid_argument) << wrong_count.what();
}

TEST_F(SafeExecutorTest, BadSqlIsInvalidArgument) {
  EXPECT_EQ(code_of([&] { executor().run("default", "SELEC 1"); }), ErrorCode::invalid_argument);
  Error e = error_of([&] { executor().run("default", "SELECT * FROM no_such_table"); });
  EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
  EXPECT_NE(std::string(e.what()).find("no_such_table"), std::string::npos) << e.what();
}

TEST_F(SafeExecutorTest, ErrorLinesCountFromTheCallersText) {
  // dbopt sends its own line (EXPLAIN, DECLARE CURSOR, PREPARE) before the text:
  // PostgreSQL's "LINE n" must still point into the caller's text.
  const std::string sql = "SELECT id\nFROM orders\nWHERE nope = 1";
  const std::string run = error_of([&] { executor().run("", sql); }).what();
  EXPECT_NE(run.find("LINE 3: WHERE nope = 1"), std::string::npos) << run;
  const std::string explained = error_of([&] { executor().explain("", sql, {}); }).what();
  EXPECT_NE(explained.find("LINE 3: WHERE nope = 1"), std::string::npos) << explained;
  ExplainOptions generic;
  generic.generic_plan = true;
  const std::string prepared =
      error_of([&] { executor().explain("", "SELECT id FROM orders WHERE nope = $1", generic); }).what();
  EXPECT_NE(prepared.find("LINE 1: SELECT id FROM orders WHERE nope = $1"), std::string::npos) << prepared;
}

TEST_F(SafeExecutorTest, ExplainReturnsJson) {
  std::string json = executor().explain("default", "SELECT * FROM orders WHERE customer_id = 42", {});
  EXPECT_EQ(json.front(), '[');
  EXPECT_NE(json.find("\"Plan\""), std::string::npos);
  EXPECT_NE(json.find("orders_customer_id_idx"), std::string::npos) << json;
  EXPECT_EQ(json.find("Actual Rows"), std::string::npos) << "ran without ANALYZE";

  ExplainOptions analyze;
  analyze.analyze = true;
  analyze.buffers = true;
  analyze.settings = true;
  std::string measured = executor().explain("default", "SELECT count(*) FROM orders WHERE status = 'pending'", analyze);
  EXPECT_NE(measured.find("\"Actual Rows\""), std::string::npos);
  EXPECT_NE(measured.find("\"Shared Hit Blocks\""), std::string::npos);
}

TEST_F(SafeExecutorTest, ExplainGenericPlanForPlaceholders) {
  PoolOptions one;
  one.max_connections_per_database = 1;
  pool_ = std::make_unique<DatabasePool>(settings_, one);
  ExplainOptions generic;
  generic.generic_plan = true;
  std::string json = executor().explain(
      "default", "SELECT o.id FROM orders o WHERE o.customer_id = $1 AND o.status = $2 LIMIT $3", generic);
  EXPECT_NE(json.find("orders_customer_id_idx"), std::string::npos) << json;
  // Nothing left behind in the pooled session.
  EXPECT_EQ(executor().run("default", "SELECT count(*) FROM pg_prepared_statements").rows.at(0).at(0), "0");
  EXPECT_EQ(pool().stats("default").opened_total, 1);

  generic.analyze = true;
  EXPECT_EQ(code_of([&] { executor().explain("default", "SELECT 1", generic); }), ErrorCode::invalid_argument);
  generic.analyze = false;
  // A statement PostgreSQL rejects while preparing it leaves nothing behind either.
  EXPECT_EQ(code_of([&] { executor().explain("default", "SELECT * FROM orders WHERE nope = $1", generic); }),
            ErrorCode::invalid_argument);
  EXPECT_EQ(executor().run("default", "SELECT count(*) FROM pg_prepared_statements").rows.at(0).at(0), "0");
}

TEST_F(SafeExecutorTest, ReaderRoleReadsAndCannotWrite) {
  if (testing::reader_url().empty()) GTEST_SKIP() << "DBOPT_TEST_READER_URL not set";
  auto result = executor().run("reader", "SELECT count(*) FROM tenants");
  EXPECT_EQ(result.rows.at(0).at(0), "40");
}

TEST_F(SafeExecutorTest, WorksThroughPgBouncerInTransactionMode) {
  if (testing::pgbouncer_url().empty()) GTEST_SKIP() << "DBOPT_TEST_PGBOUNCER_URL not set";
  testing::database_named(settings_, "bouncer").statement_timeout_ms = 300;
  for (int i = 0; i < 3; ++i) {
    auto result = executor().run("bouncer", "SELECT current_setting('statement_timeout'), count(*) FROM tenants");
    EXPECT_EQ(result.rows.at(0).at(0), "300ms");
    EXPECT_EQ(result.rows.at(0).at(1), "40");
  }
  EXPECT_EQ(code_of([&] { executor().run("bouncer", "SELECT pg_sleep(3)"); }), ErrorCode::deadline_exceeded);
  ExplainOptions generic;
  generic.generic_plan = true;
  EXPECT_NE(executor().explain("bouncer", "SELECT * FROM orders WHERE customer_id = $1", generic).find("\"Plan\""),
            std::string::npos);
}

}  // namespace
}  // namespace dbopt::pg
