#include "core/sql/statement_policy.h"

#include <gtest/gtest.h>

#include <string>

#include "core/common/error.h"

namespace dbopt::sql {
namespace {

void expect_allowed(const std::string& sql) {
  const StatementVerdict verdict = check_statement(sql);
  EXPECT_TRUE(verdict.allowed) << sql << " -> " << verdict.reason;
  EXPECT_TRUE(verdict.reason.empty()) << sql;
  EXPECT_FALSE(verdict.is_analyze_of_write) << sql;
}

// Refused outright, with a reason that contains `needle`.
void expect_refused(const std::string& sql, const std::string& needle) {
  const StatementVerdict verdict = check_statement(sql);
  EXPECT_FALSE(verdict.allowed) << sql;
  EXPECT_FALSE(verdict.is_analyze_of_write) << sql;
  EXPECT_NE(verdict.reason.find(needle), std::string::npos) << sql << " -> " << verdict.reason;
}

TEST(StatementPolicyTest, OrdinaryAnalyticalQueriesPass) {
  expect_allowed("SELECT 1");
  expect_allowed("VALUES (1, 'a'), (2, 'b')");
  expect_allowed("SHOW work_mem");
  expect_allowed("SHOW ALL");
  expect_allowed(
      "WITH monthly AS (SELECT date_trunc('month', o.created_at) AS month, u.region, sum(o.total) AS revenue "
      "FROM orders o JOIN users u ON u.id = o.user_id WHERE o.status = ANY($1) GROUP BY 1, 2) "
      "SELECT month, region, revenue, rank() OVER (PARTITION BY month ORDER BY revenue DESC) AS rank, "
      "lag(revenue) OVER w AS previous FROM monthly WINDOW w AS (PARTITION BY region ORDER BY month) "
      "ORDER BY month, rank LIMIT 100");
  expect_allowed("SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.id = t.id) UNION ALL SELECT * FROM v");
  expect_allowed("SELECT * FROM generate_series(1, 10) g, LATERAL (SELECT g * 2 AS d) x");
  expect_allowed("SELECT relname, n_live_tup FROM pg_stat_user_tables ORDER BY n_dead_tup DESC");
  expect_allowed("SELECT pg_size_pretty(pg_total_relation_size('orders')), current_setting('work_mem')");
  expect_allowed("TABLE orders");
}

TEST(StatementPolicyTest, HarmlessFunctionsNamedLikeRefusedOnesPass) {
  expect_allowed("SELECT pg_sleep(0.1)");  // bounded by statement_timeout
  expect_allowed("SELECT currval('orders_id_seq')");
  expect_allowed("SELECT txid_current_snapshot()");
  expect_allowed("SELECT lower(name), logins FROM users");  // "lo" is not "lo_"
  expect_allowed("SELECT pg_stat_get_live_tuples('t'::regclass)");
}

TEST(StatementPolicyTest, KindAndRunsStatement) {
  const StatementVerdict select = check_statement("SELECT 1");
  EXPECT_EQ(select.statement_kind, "select");
  EXPECT_TRUE(select.runs_statement);
  EXPECT_TRUE(select.explained_statement_kind.empty());
  const StatementVerdict show = check_statement("SHOW work_mem");
  EXPECT_EQ(show.statement_kind, "show");
  EXPECT_EQ(check_statement("VALUES (1)").statement_kind, "values");
}

TEST(StatementPolicyTest, RefusesFileFunctionsInFrom) {
  expect_refused("SELECT * FROM pg_read_file('/etc/passwd')",
                 "function pg_read_file in the FROM clause is refused: it reads files on the database server");
}

TEST(StatementPolicyTest, RefusesFunctionsInSubqueriesOfAnyDepth) {
  expect_refused("SELECT (SELECT pg_read_file('x'))",
                 "function pg_read_file in the select list of a subquery in the select list");
  expect_refused("SELECT * FROM t WHERE a IN (SELECT b FROM u WHERE c = (SELECT pg_ls_dir('/')))", "pg_ls_dir");
  expect_refused("SELECT * FROM (SELECT * FROM (SELECT pg_stat_file('x')) a) b", "pg_stat_file");
}

TEST(StatementPolicyTest, RefusesSchemaQualifiedAndUpperCaseNames) {
  expect_refused("SELECT \"PG_CATALOG\".\"PG_READ_FILE\"('/etc/passwd')", "PG_CATALOG.PG_READ_FILE");
  expect_refused("SELECT pg_catalog.pg_read_binary_file('x')", "pg_catalog.pg_read_binary_file");
  expect_refused("SELECT PG_TERMINATE_BACKEND(42)", "it ends another session");
  expect_refused("SELECT myschema.set_config('a', 'b', false)", "set_config");
}

TEST(StatementPolicyTest, RefusesFunctionsWhereverTheyHide) {
  expect_refused("select lo_import('/x')", "lo_import");
  expect_refused("SELECT * FROM t, LATERAL (SELECT pg_ls_dir(t.path)) s",
                 "in the select list of LATERAL subquery s in the FROM clause");
  expect_refused("SELECT * FROM t, LATERAL pg_ls_dir(t.path)", "in the FROM clause");
  expect_refused("SELECT * FROM t ORDER BY nextval('s')", "in the ORDER BY");
  expect_refused("SELECT CASE WHEN a THEN set_config('x', 'y', false) ELSE 'z' END FROM t", "set_config");
  expect_refused("SELECT coalesce(a, pg_cancel_backend(1)::text) FROM t", "pg_cancel_backend");
  expect_refused("SELECT * FROM t GROUP BY a HAVING count(*) > pg_advisory_lock(1)", "in the HAVING clause");
  expect_refused("SELECT * FROM t JOIN u ON u.id = t.id AND pg_notify('c', 'x') IS NOT NULL", "JOIN condition");
  expect_refused("SELECT sum(x) FILTER (WHERE dblink_exec('x') = 'ok') FROM t", "dblink_exec");
  expect_refused("SELECT * FROM t LIMIT (SELECT setval('s', 1))", "setval");
  expect_refused("VALUES (pg_reload_conf())", "pg_reload_conf");
  expect_refused("SELECT abs(length(pg_read_file('x')))", "pg_read_file");
  expect_refused("SELECT * FROM ROWS FROM (generate_series(1, 2), pg_ls_waldir()) r", "pg_ls_waldir");
  expect_refused("SELECT row_number() OVER (ORDER BY pg_try_advisory_lock(1)) FROM t", "pg_try_advisory_lock");
  expect_refused("SELECT query_to_xml('select pg_read_file(''x'')', true, true, '')", "runs SQL given as text");
  expect_refused("SELECT * FROM dblink('dbname=x', 'select 1') AS r(a int)", "another database connection");
}

TEST(StatementPolicyTest, RefusesEachDenylistFamily) {
  for (const char* call : {"pg_ls_logdir()",
                           "pg_file_write('a', 'b', false)",
                           "lo_export(1, '/x')",
                           "lo_unlink(1)",
                           "lo_from_bytea(0, 'x')",
                           "dblink_connect('x')",
                           "pg_rotate_logfile()",
                           "pg_switch_wal()",
                           "pg_create_restore_point('x')",
                           "pg_start_backup('x')",
                           "pg_backup_start('x')",
                           "pg_stop_backup()",
                           "pg_promote()",
                           "pg_advisory_xact_lock(1)",
                           "pg_logical_emit_message(true, 'p', 'x')",
                           "pg_replication_origin_create('x')",
                           "pg_create_logical_replication_slot('s', 'p')",
                           "pg_drop_replication_slot('s')",
                           "pg_import_system_collations('pg_catalog')",
                           "pg_stat_reset()",
                           "ts_stat('select 1')",
                           "pg_logical_slot_get_changes('s', NULL, NULL)"}) {
    const StatementVerdict verdict = check_statement(std::string("SELECT ") + call);
    EXPECT_FALSE(verdict.allowed) << call;
    EXPECT_NE(verdict.reason.find(" is refused: "), std::string::npos) << verdict.reason;
  }
}

TEST(StatementPolicyTest, RefusesDataModifyingCtes) {
  expect_refused("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
                 "data-modifying CTE \"d\" (DELETE) is refused");
  expect_refused("WITH i AS (INSERT INTO t VALUES (1) RETURNING id) SELECT * FROM i", "(INSERT)");
  expect_refused("WITH u AS (UPDATE t SET a = 1 RETURNING id) SELECT 1", "(UPDATE)");
  expect_refused("SELECT * FROM (WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d) s",
                 "in subquery s in the FROM clause");
}

TEST(StatementPolicyTest, RefusesLockingClausesAndSelectInto) {
  expect_refused("SELECT * FROM t FOR UPDATE", "locking clause FOR UPDATE is refused");
  expect_refused("SELECT * FROM t FOR SHARE SKIP LOCKED", "FOR SHARE");
  expect_refused("SELECT * FROM t WHERE id IN (SELECT id FROM u FOR NO KEY UPDATE)", "FOR NO KEY UPDATE");
  expect_refused("SELECT * INTO new_t FROM t", "SELECT INTO is refused: it creates the table new_t");
  expect_refused("EXPLAIN SELECT * INTO new_t FROM t", "SELECT INTO");
}

TEST(StatementPolicyTest, RefusesOtherStatementKinds) {
  expect_refused("DELETE FROM t", "DELETE statements are refused");
  expect_refused("UPDATE t SET a = 1", "UPDATE");
  expect_refused("INSERT INTO t VALUES (1)", "INSERT");
  expect_refused("COPY t TO STDOUT", "COPY");
  expect_refused("SET work_mem = '1GB'", "SET");
  expect_refused("DO $$ BEGIN PERFORM 1; END $$", "DO");
  expect_refused("CALL p()", "CALL");
  expect_refused("LISTEN c", "LISTEN");
  expect_refused("NOTIFY c", "NOTIFY");
  expect_refused("CREATE TABLE x (a int)", "CREATE TABLE");
  expect_refused("CREATE SEQUENCE s", "CreateSeqStmt");
  expect_refused("DROP TABLE t", "DROP");
  expect_refused("BEGIN", "TRANSACTION");
  expect_refused("EXPLAIN CREATE TABLE x AS SELECT 1", "EXPLAIN of CREATE TABLE AS is refused");
  expect_refused("EXPLAIN EXECUTE p", "EXPLAIN of EXECUTE");
  EXPECT_EQ(check_statement("DELETE FROM t").statement_kind, "delete");
}

TEST(StatementPolicyTest, ExplainAnalyzeOfAWriteNeedsTheFlag) {
  for (const char* sql : {"EXPLAIN ANALYZE DELETE FROM t", "EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1",
                          "EXPLAIN (ANALYZE true) INSERT INTO t VALUES (1)",
                          "EXPLAIN ANALYZE MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE"}) {
    const StatementVerdict verdict = check_statement(sql);
    EXPECT_FALSE(verdict.allowed) << sql;
    EXPECT_TRUE(verdict.is_analyze_of_write) << sql;
    EXPECT_TRUE(verdict.runs_statement) << sql;
    EXPECT_EQ(verdict.statement_kind, "explain");
    EXPECT_NE(verdict.reason.find("EXPLAIN ANALYZE runs the"), std::string::npos) << verdict.reason;
  }
  EXPECT_EQ(check_statement("EXPLAIN ANALYZE DELETE FROM t").explained_statement_kind, "delete");
}

TEST(StatementPolicyTest, ExplainAnalyzeOfAWriteWithWorseInsideIsRefusedOutright) {
  expect_refused("EXPLAIN ANALYZE DELETE FROM t WHERE id = pg_read_file('x')::int", "pg_read_file");
  expect_refused("EXPLAIN ANALYZE WITH d AS (DELETE FROM t RETURNING *) UPDATE u SET a = 1",
                 "data-modifying CTE \"d\"");
  expect_refused("EXPLAIN ANALYZE SELECT * FROM t FOR UPDATE", "locking clause");
  expect_refused("EXPLAIN ANALYZE WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "data-modifying CTE");
}

TEST(StatementPolicyTest, PlainExplainOnlyPlansSoWritesMayBeShown) {
  for (const char* sql :
       {"EXPLAIN DELETE FROM t", "EXPLAIN UPDATE t SET a = 1 WHERE id = 2", "EXPLAIN (ANALYZE false) DELETE FROM t",
        "EXPLAIN (ANALYZE off, COSTS off) DELETE FROM t", "EXPLAIN SELECT * FROM jobs FOR UPDATE SKIP LOCKED",
        "EXPLAIN WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d"}) {
    const StatementVerdict verdict = check_statement(sql);
    EXPECT_TRUE(verdict.allowed) << sql << " -> " << verdict.reason;
    EXPECT_FALSE(verdict.runs_statement) << sql;
    EXPECT_FALSE(verdict.is_analyze_of_write) << sql;
  }
  // ... but a refused function is refused even when only planned.
  expect_refused("EXPLAIN SELECT pg_read_file('x')", "pg_read_file");
}

TEST(StatementPolicyTest, ExplainAnalyzeOfAReadRuns) {
  const StatementVerdict verdict = check_statement("EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM t WHERE a = 1");
  EXPECT_TRUE(verdict.allowed);
  EXPECT_TRUE(verdict.runs_statement);
  EXPECT_EQ(verdict.explained_statement_kind, "select");
  // An unrecognized ANALYZE value counts as ANALYZE: a refusal never hinges on spelling.
  EXPECT_TRUE(check_statement("EXPLAIN (ANALYZE maybe) DELETE FROM t").is_analyze_of_write);
}

TEST(StatementPolicyTest, ThrowsForNotExactlyOneStatement) {
  try {
    check_statement("SELECT 1; SELECT 2");
    FAIL() << "two statements were accepted";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(error.what()).find("holds 2"), std::string::npos) << error.what();
  }
  EXPECT_THROW(check_statement("SELECT 1; DELETE FROM t"), Error);
  EXPECT_THROW(check_statement(""), Error);
  EXPECT_THROW(check_statement("/* nothing */"), Error);
  EXPECT_NO_THROW(check_statement("SELECT 1;"));
}

TEST(StatementPolicyTest, ThrowsForTextThatDoesNotParse) {
  try {
    check_statement("SELECT * FORM t");
    FAIL() << "bad SQL was accepted";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(error.what()).find("position 10"), std::string::npos) << error.what();
  }
  // A NUL byte would let "SELECT 1" hide what follows from the check.
  EXPECT_THROW(check_statement(std::string("SELECT 1\0; DELETE FROM t", 24)), Error);
}

}  // namespace
}  // namespace dbopt::sql
