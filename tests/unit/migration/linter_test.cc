// lint_migration's rules from the text alone and with table facts: every rule
// fires on the statement it is about and stays quiet on its safe form.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "core/common/error.h"
#include "core/migration/migration_linter.h"
#include "core/sql/schema_change.h"
#include "knowledge/rule_book.h"

namespace dbopt::migration {
namespace {

const knowledge::RuleBook& rules() {
  static const knowledge::RuleBook book =
      knowledge::RuleBook::load_directory(std::string(DBOPT_SOURCE_DIR) + "/knowledge/rules");
  return book;
}

MigrationLint lint(const std::string& sql, const MigrationContext& context = {}, LintOptions options = {}) {
  return lint_migration(sql, rules(), context, options);
}

const knowledge::Finding* fired(const MigrationLint& l, const std::string& rule) {
  auto it = std::find_if(l.findings.begin(), l.findings.end(), [&](const auto& f) { return f.rule_id == rule; });
  return it == l.findings.end() ? nullptr : &*it;
}

std::string ids(const MigrationLint& l) {
  std::string out;
  for (const auto& f : l.findings) out += f.rule_id + "(" + knowledge::to_string(f.severity) + ") ";
  return out;
}

// Each rule: a statement that must fire it, and its safe form that must not.
struct Case {
  const char* rule;
  const char* fires;
  const char* quiet;
};
void PrintTo(const Case& c, std::ostream* out) { *out << c.rule << ": " << c.fires; }

class EveryRule : public ::testing::TestWithParam<Case> {};

TEST_P(EveryRule, FiresOnTheRiskAndNotOnTheSafeForm) {
  const Case& c = GetParam();
  const MigrationLint risky = lint(c.fires);
  EXPECT_NE(fired(risky, c.rule), nullptr) << c.fires << "\n" << ids(risky);
  const MigrationLint safe = lint(c.quiet);
  EXPECT_EQ(fired(safe, c.rule), nullptr) << c.quiet << "\n" << ids(safe);
}

INSTANTIATE_TEST_SUITE_P(
    Migration, EveryRule,
    ::testing::Values(
        Case{"MIGRATION_INDEX_NOT_CONCURRENT", "CREATE INDEX ON orders (status);",
             "CREATE INDEX CONCURRENTLY ON orders (status);"},
        Case{"MIGRATION_INDEX_NOT_CONCURRENT", "CREATE UNIQUE INDEX orders_code ON orders (code);",
             "CREATE TABLE orders2 (id bigint, status text); CREATE INDEX ON orders2 (status);"},
        Case{"MIGRATION_CONCURRENTLY_IN_TRANSACTION", "BEGIN; CREATE INDEX CONCURRENTLY ON orders (status); COMMIT;",
             "CREATE INDEX CONCURRENTLY ON orders (status);"},
        Case{"MIGRATION_DROP_INDEX_NOT_CONCURRENT", "DROP INDEX orders_status_idx;",
             "DROP INDEX CONCURRENTLY orders_status_idx;"},
        Case{"MIGRATION_ADD_COLUMN_REWRITES", "ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();",
             "ALTER TABLE orders ADD COLUMN x int NOT NULL DEFAULT 0;"},
        Case{"MIGRATION_ADD_COLUMN_REWRITES", "ALTER TABLE orders ADD COLUMN seq bigserial;",
             "ALTER TABLE orders ADD COLUMN created timestamptz DEFAULT now();"},
        Case{"MIGRATION_ADD_REQUIRED_COLUMN", "ALTER TABLE orders ADD COLUMN x int NOT NULL;",
             "ALTER TABLE orders ADD COLUMN x int NOT NULL DEFAULT 0;"},
        Case{
            "MIGRATION_FOREIGN_KEY_VALIDATES",
            "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);",
            "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) "
            "NOT VALID; ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;"},
        Case{"MIGRATION_FOREIGN_KEY_VALIDATES", "ALTER TABLE orders ADD COLUMN shop_id bigint REFERENCES shops (id);",
             "ALTER TABLE orders ADD COLUMN shop_id bigint;"},
        Case{"MIGRATION_CHECK_VALIDATES", "ALTER TABLE orders ADD CONSTRAINT positive CHECK (total >= 0);",
             "ALTER TABLE orders ADD CONSTRAINT positive CHECK (total >= 0) NOT VALID;"},
        Case{"MIGRATION_SET_NOT_NULL_SCANS", "ALTER TABLE orders ALTER COLUMN status SET NOT NULL;",
             "ALTER TABLE orders ADD CONSTRAINT status_nn CHECK (status IS NOT NULL) NOT VALID;\n"
             "ALTER TABLE orders VALIDATE CONSTRAINT status_nn;\n"
             "ALTER TABLE orders ALTER COLUMN status SET NOT NULL;"},
        Case{"MIGRATION_UNIQUE_BUILDS_INDEX", "ALTER TABLE orders ADD CONSTRAINT orders_code_key UNIQUE (code);",
             "ALTER TABLE orders ADD CONSTRAINT orders_code_key UNIQUE USING INDEX orders_code_idx;"},
        Case{"MIGRATION_EXCLUSION_CONSTRAINT",
             "ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);",
             "ALTER TABLE bookings ADD CONSTRAINT positive CHECK (room > 0) NOT VALID;"},
        Case{"MIGRATION_COLUMN_TYPE_REWRITES", "ALTER TABLE orders ALTER COLUMN quantity TYPE bigint;",
             "ALTER TABLE orders ALTER COLUMN quantity SET DEFAULT 1;"},
        Case{"MIGRATION_RENAME_COLUMN", "ALTER TABLE orders RENAME COLUMN total TO amount;",
             "ALTER TABLE orders ADD COLUMN amount numeric;"},
        Case{"MIGRATION_RENAME_TABLE", "ALTER TABLE orders RENAME TO purchases;",
             "CREATE TABLE purchases (id bigint); ALTER TABLE purchases RENAME TO purchases2;"},
        Case{"MIGRATION_DROP_COLUMN", "ALTER TABLE orders DROP COLUMN note;",
             "ALTER TABLE orders ALTER COLUMN note SET STATISTICS 500;"},
        Case{"MIGRATION_DROP_NOT_NULL", "ALTER TABLE orders ALTER COLUMN note DROP NOT NULL;",
             "ALTER TABLE orders ALTER COLUMN note SET DEFAULT '';"},
        Case{"MIGRATION_DROP_TABLE", "DROP TABLE orders;", "CREATE TABLE scratch (id bigint); DROP TABLE scratch;"},
        Case{"MIGRATION_DROP_DATABASE", "DROP DATABASE shop;", "CREATE TABLE scratch (id bigint);"},
        Case{"MIGRATION_TRUNCATE", "TRUNCATE orders CASCADE;", "TRUNCATE orders;"},
        Case{"MIGRATION_TABLE_REWRITE_COMMAND", "VACUUM FULL orders;", "VACUUM (ANALYZE) orders;"},
        Case{"MIGRATION_TABLE_REWRITE_COMMAND", "CLUSTER orders USING orders_pkey;", "ANALYZE orders;"},
        Case{"MIGRATION_REINDEX_NOT_CONCURRENT", "REINDEX TABLE orders;", "REINDEX TABLE CONCURRENTLY orders;"},
        Case{"MIGRATION_REFRESH_NOT_CONCURRENT", "REFRESH MATERIALIZED VIEW daily_sales;",
             "REFRESH MATERIALIZED VIEW CONCURRENTLY daily_sales;"},
        Case{"MIGRATION_DETACH_PARTITION_NOT_CONCURRENT", "ALTER TABLE events DETACH PARTITION events_2024;",
             "ALTER TABLE events DETACH PARTITION events_2024 CONCURRENTLY;"},
        Case{"MIGRATION_LOCK_TABLE", "BEGIN; LOCK TABLE orders; COMMIT;",
             "BEGIN; LOCK TABLE orders IN ROW EXCLUSIVE MODE; COMMIT;"},
        Case{"MIGRATION_LOCK_TIMEOUT_MISSING", "ALTER TABLE orders ADD COLUMN x int;",
             "SET lock_timeout = '2s'; ALTER TABLE orders ADD COLUMN x int;"},
        Case{"MIGRATION_STATEMENT_TIMEOUT_MISSING", "ALTER TABLE orders ALTER COLUMN quantity TYPE bigint;",
             "SET statement_timeout = '5min'; ALTER TABLE orders ALTER COLUMN quantity TYPE bigint;"},
        Case{"MIGRATION_LOCKS_HELD_TOO_LONG",
             "BEGIN;\nALTER TABLE orders ADD COLUMN x int;\nCREATE INDEX ON customers (email);\nCOMMIT;",
             "BEGIN;\nALTER TABLE orders ADD COLUMN x int;\nCOMMIT;\nCREATE INDEX CONCURRENTLY ON customers (email);"},
        Case{"MIGRATION_UNBATCHED_BACKFILL", "UPDATE orders SET status = 'new';",
             "UPDATE orders SET status = 'new' WHERE id = 1;"},
        Case{"MIGRATION_UNCOMMITTED_TRANSACTION", "BEGIN; ALTER TABLE orders ADD COLUMN x int;",
             "BEGIN; ALTER TABLE orders ADD COLUMN x int; COMMIT;"},
        Case{"MIGRATION_DOMAIN_CONSTRAINT", "CREATE DOMAIN positive_int AS int CHECK (VALUE > 0);",
             "CREATE DOMAIN plain_int AS int;"},
        Case{"MIGRATION_PREFER_BIGINT", "CREATE TABLE items (id serial PRIMARY KEY, name text);",
             "CREATE TABLE items (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, quantity int);"},
        Case{"MIGRATION_PREFER_TEXT_AND_TIMESTAMPTZ", "CREATE TABLE items (id bigint, created timestamp);",
             "CREATE TABLE items (id bigint, created timestamptz);"}),
    // Test names from the rule, so ctest shows which rule failed.
    [](const ::testing::TestParamInfo<Case>& info) {
      return std::string(info.param.rule) + "_" + std::to_string(info.index);
    });

TEST(LintMigration, TheIssuesExampleGetsItsSafeForm) {
  const MigrationLint l =
      lint("ALTER TABLE orders ADD COLUMN x int NOT NULL DEFAULT 0;\nCREATE INDEX ON orders(status);");
  ASSERT_EQ(l.statements.size(), 2u);
  // A constant default is a catalog change since PostgreSQL 11: no rewrite, needs only a lock timeout.
  EXPECT_EQ(l.statements[0].lock, "ACCESS EXCLUSIVE");
  EXPECT_FALSE(l.statements[0].rewrites);
  EXPECT_EQ(l.statements[0].verdict, "needs care") << ids(l);
  EXPECT_EQ(l.statements[1].lock, "SHARE");
  EXPECT_EQ(l.statements[1].verdict, "unsafe");
  EXPECT_NE(l.safe_script.find("SET lock_timeout = '2s';"), std::string::npos) << l.safe_script;
  EXPECT_NE(l.safe_script.find("CREATE INDEX CONCURRENTLY ON orders(status);"), std::string::npos) << l.safe_script;
  EXPECT_TRUE(l.django_atomic_false);
}

TEST(LintMigration, BeforeVersion11AnyDefaultRewrites) {
  MigrationContext pg10;
  pg10.server_version_num = 100000;
  EXPECT_NE(
      fired(lint("ALTER TABLE orders ADD COLUMN x int NOT NULL DEFAULT 0;", pg10), "MIGRATION_ADD_COLUMN_REWRITES"),
      nullptr);
}

TEST(LintMigration, DjangoSqlmigrateOutputMovesConcurrentlyOutOfTheTransaction) {
  const std::string sql =
      "BEGIN;\n--\n-- Add field status to order\n--\n"
      "ALTER TABLE \"shop_order\" ADD COLUMN \"status\" varchar(20) DEFAULT 'new' NOT NULL;\n"
      "ALTER TABLE \"shop_order\" ALTER COLUMN \"status\" DROP DEFAULT;\n"
      "CREATE INDEX \"shop_order_status_idx\" ON \"shop_order\" (\"status\");\nCOMMIT;\n";
  const MigrationLint l = lint(sql);
  ASSERT_EQ(l.statements.size(), 5u);
  EXPECT_EQ(l.statements[1].line, 5);
  EXPECT_TRUE(l.statements[3].in_transaction);
  EXPECT_NE(fired(l, "MIGRATION_INDEX_NOT_CONCURRENT"), nullptr) << ids(l);
  // The index build would hold the ALTERs' ACCESS EXCLUSIVE to COMMIT.
  EXPECT_NE(fired(l, "MIGRATION_LOCKS_HELD_TOO_LONG"), nullptr) << ids(l);
  const auto at = l.safe_script.find("CREATE INDEX CONCURRENTLY");
  ASSERT_NE(at, std::string::npos) << l.safe_script;
  EXPECT_NE(l.safe_script.rfind("COMMIT;\n", at), std::string::npos) << l.safe_script;
  EXPECT_EQ(fired(l, "MIGRATION_ADD_COLUMN_REWRITES"), nullptr) << ids(l);
}

TEST(LintMigration, SafeFormsSpellTheZeroDowntimeSteps) {
  const MigrationLint fk = lint("ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers (id);");
  ASSERT_EQ(fk.statements.size(), 1u);
  const auto& steps = fk.statements[0].safe_form;
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].sql,
            "ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers "
            "(id) NOT VALID");
  EXPECT_EQ(steps[1].sql, "ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_id_fkey");
  EXPECT_TRUE(steps[1].new_transaction);
  EXPECT_EQ(fk.statements[0].lock, "SHARE ROW EXCLUSIVE");
  ASSERT_EQ(fk.statements[0].other_locks.size(), 1u);
  EXPECT_EQ(fk.statements[0].other_locks[0], "SHARE ROW EXCLUSIVE on customers");

  const MigrationLint nn = lint("ALTER TABLE orders ALTER COLUMN status SET NOT NULL;");
  ASSERT_EQ(nn.statements[0].safe_form.size(), 4u);
  EXPECT_EQ(nn.statements[0].safe_form[0].sql,
            "ALTER TABLE orders ADD CONSTRAINT orders_status_not_null CHECK (status IS NOT NULL) NOT VALID");
  EXPECT_EQ(nn.statements[0].safe_form[2].sql, "ALTER TABLE orders ALTER COLUMN status SET NOT NULL");

  const MigrationLint uuid = lint("ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();");
  const auto& u = uuid.statements[0].safe_form;
  ASSERT_EQ(u.size(), 3u);
  EXPECT_EQ(u[0].sql, "ALTER TABLE orders ADD COLUMN token uuid");
  EXPECT_EQ(u[1].sql, "ALTER TABLE orders ALTER COLUMN token SET DEFAULT gen_random_uuid()");
  EXPECT_TRUE(u[2].repeat_until_done);
  EXPECT_EQ(
      u[2].sql,
      "UPDATE orders SET token = gen_random_uuid() WHERE ctid = ANY (ARRAY(SELECT ctid FROM orders WHERE token IS "
      "NULL LIMIT 5000))");

  const MigrationLint uq = lint("ALTER TABLE orders ADD CONSTRAINT orders_code_key UNIQUE (code);");
  ASSERT_EQ(uq.statements[0].safe_form.size(), 2u);
  EXPECT_EQ(uq.statements[0].safe_form[0].sql, "CREATE UNIQUE INDEX CONCURRENTLY orders_code_key ON orders (code)");
  EXPECT_TRUE(uq.statements[0].safe_form[0].outside_transaction);
  EXPECT_EQ(uq.statements[0].safe_form[1].sql,
            "ALTER TABLE orders ADD CONSTRAINT orders_code_key UNIQUE USING INDEX orders_code_key");
}

TEST(LintMigration, BackfillsAreBatchedAndEnd) {
  // Constant assignments: the batch finds the rows still to change, so repeating it ends.
  const MigrationLint constant = lint("UPDATE orders SET status = 'new', flag = true;");
  ASSERT_EQ(constant.statements[0].safe_form.size(), 1u);
  EXPECT_EQ(constant.statements[0].safe_form[0].sql,
            "UPDATE orders SET status = 'new', flag = true WHERE ctid = ANY (ARRAY(SELECT ctid FROM orders WHERE "
            "(status = 'new' AND flag = true) IS NOT TRUE LIMIT 5000))");
  EXPECT_TRUE(constant.statements[0].safe_form[0].repeat_until_done);
  // Not constant (it would never settle): ranges of the key, no repeat-until-done step.
  const MigrationLint counter = lint("UPDATE orders SET quantity = quantity + 1;");
  EXPECT_TRUE(counter.statements[0].safe_form.empty());
  const auto* f = fired(counter, "MIGRATION_UNBATCHED_BACKFILL");
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->fix.find("WHERE id >= :first AND id < :first + 5000"), std::string::npos) << f->fix;
}

TEST(LintMigration, TableFactsSetTheEstimateNotTheVerdict) {
  MigrationContext live;
  live.live = true;
  live.tables["orders"] = {
      .total_bytes = 8.0 * 1024 * 1024 * 1024, .rows = 50e6, .column_types = {{"code", "character varying(20)"}}};
  live.tables["tiny"] = {.total_bytes = 64 * 1024, .rows = 100, .column_types = {}};
  const MigrationLint big = lint("CREATE INDEX ON orders (status);", live);
  const auto* f = fired(big, "MIGRATION_INDEX_NOT_CONCURRENT");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, knowledge::Severity::high);
  ASSERT_TRUE(big.statements[0].estimated_seconds.has_value());
  EXPECT_GT(*big.statements[0].estimated_seconds, 60);  // 8 GB at the stated 40 MB/s
  EXPECT_NE(f->summary.find("8.0 GB"), std::string::npos) << f->summary;

  // A small table here does not make it safe: the migration runs on production too. The estimate says how brief.
  const MigrationLint small = lint("CREATE INDEX ON tiny (status);", live);
  const auto* g = fired(small, "MIGRATION_INDEX_NOT_CONCURRENT");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->severity, knowledge::Severity::high) << g->summary;
  EXPECT_NE(g->summary.find("at its 64 kB (estimated)"), std::string::npos) << g->summary;

  // A table that does not exist yet cannot block anyone.
  EXPECT_TRUE(lint("CREATE INDEX ON not_there (x);", live).findings.empty());

  // varchar(20) -> varchar(50) keeps the bytes: no rewrite; to int it rewrites.
  const MigrationLint widen = lint("ALTER TABLE orders ALTER COLUMN code TYPE varchar(50);", live);
  EXPECT_FALSE(widen.statements[0].rewrites);
  EXPECT_EQ(fired(widen, "MIGRATION_COLUMN_TYPE_REWRITES"), nullptr) << ids(widen);
  const MigrationLint to_int = lint("ALTER TABLE orders ALTER COLUMN code TYPE integer USING code::integer;", live);
  EXPECT_TRUE(to_int.statements[0].rewrites);
  EXPECT_NE(fired(to_int, "MIGRATION_COLUMN_TYPE_REWRITES"), nullptr);
}

TEST(LintMigration, BadSqlIsAClearError) {
  try {
    lint("ALTER TABLE orders ADD COLUMN;");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("position"), std::string::npos) << e.what();
  }
}

TEST(SchemaChange, ReadsTheActionsOfAnAlterTable) {
  const auto changes = sql::read_schema_changes(
      "ALTER TABLE public.orders ADD COLUMN x int NOT NULL DEFAULT 0, ALTER COLUMN y TYPE bigint, "
      "ADD CONSTRAINT c CHECK (a > 0) NOT VALID;");
  ASSERT_EQ(changes.size(), 1u);
  const auto& c = changes[0];
  EXPECT_EQ(c.table, "public.orders");
  ASSERT_EQ(c.actions.size(), 3u);
  EXPECT_EQ(c.actions[0].kind, sql::AlterAction::Kind::add_column);
  EXPECT_EQ(c.actions[0].definition.default_text, "0");
  EXPECT_TRUE(c.actions[0].definition.not_null);
  EXPECT_EQ(c.actions[0].text, "ADD COLUMN x int NOT NULL DEFAULT 0");
  EXPECT_EQ(c.actions[1].definition.type, "int8");
  EXPECT_TRUE(c.actions[2].not_valid);
  EXPECT_EQ(c.actions[2].text, "ADD CONSTRAINT c CHECK (a > 0) NOT VALID");
}

}  // namespace
}  // namespace dbopt::migration
