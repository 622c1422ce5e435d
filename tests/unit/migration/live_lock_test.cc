// The locks and rewrites lint_migration claims, checked on the real test
// PostgreSQL 15: each risky statement runs inside a transaction on one
// connection while a second connection reads pg_locks for that backend; the
// table's relfilenode before and after tells a rewrite. Everything is rolled
// back. Also: lint_migration with a database reads the real sizes and column
// types and never runs the migration.
#include <unistd.h>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <map>
#include <string>

#include "core/common/settings.h"
#include "core/migration/migration_linter.h"
#include "core/pg/database_pool.h"
#include "knowledge/rule_book.h"

namespace dbopt::migration {
namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

const knowledge::RuleBook& rules() {
  static const knowledge::RuleBook book =
      knowledge::RuleBook::load_directory(std::string(DBOPT_SOURCE_DIR) + "/knowledge/rules");
  return book;
}

// pg_locks' mode for the linter's lock name: "SHARE ROW EXCLUSIVE" -> "ShareRowExclusiveLock".
std::string pg_locks_mode(const std::string& lock) {
  std::string out;
  bool upper = true;
  for (char c : lock) {
    if (c == ' ') {
      upper = true;
      continue;
    }
    out += upper ? c : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    upper = false;
  }
  return out + "Lock";
}

class MigrationLocks : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = env_or_empty("DBOPT_TEST_DATABASE_URL");
    if (url_.empty()) GTEST_SKIP() << "DBOPT_TEST_DATABASE_URL is not set: run scripts/test-services start first.";
    schema_ = "lint_" + std::to_string(getpid());
    exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE; CREATE SCHEMA " + schema_ + ";" + "CREATE TABLE " + schema_ +
         ".customers (id bigint PRIMARY KEY, email text);" + "CREATE TABLE " + schema_ +
         ".orders (id bigint PRIMARY KEY, customer_id bigint, status text, code varchar(20), quantity int, total "
         "numeric);" +
         "INSERT INTO " + schema_ + ".customers SELECT g, 'c' || g FROM generate_series(1, 100) g;" + "INSERT INTO " +
         schema_ + ".orders SELECT g, 1 + g % 100, 'new', 'C' || g, 1, 10 FROM generate_series(1, 2000) g;" +
         "CREATE INDEX orders_status_idx ON " + schema_ + ".orders (status);" + "CREATE TABLE " + schema_ +
         ".events (id bigint, ts date) PARTITION BY RANGE (ts);" + "CREATE TABLE " + schema_ +
         ".events_2024 PARTITION OF " + schema_ + ".events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');" +
         "ANALYZE " + schema_ + ".orders;");
  }
  void TearDown() override {
    if (!url_.empty()) exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
  }
  void exec(const std::string& sql) {
    pqxx::connection c(url_);
    pqxx::nontransaction tx(c);
    tx.exec(sql);
  }
  std::string q(const std::string& table) const { return schema_ + "." + table; }

  // Runs `statement` in a transaction and returns the strongest lock that
  // backend holds on each of `tables`, and whether `table` got a new relfilenode.
  struct Observed {
    std::map<std::string, std::string> locks;
    bool rewrote = false;
  };
  Observed observe(const std::string& statement, const std::vector<std::string>& tables) {
    pqxx::connection runner(url_), watcher(url_);
    pqxx::work tx(runner);
    const std::string main_table = q(tables.front());
    const std::string before = tx.exec("SELECT pg_relation_filenode('" + main_table + "')")[0][0].c_str();
    const std::string pid = tx.exec("SELECT pg_backend_pid()")[0][0].c_str();
    tx.exec(statement);
    const std::string after = tx.exec("SELECT pg_relation_filenode('" + main_table + "')")[0][0].c_str();
    Observed o;
    o.rewrote = before != after;
    pqxx::nontransaction look(watcher);
    for (const auto& t : tables) {
      // The strongest mode, by PostgreSQL's order of the modes.
      const auto r = look.exec(
          "SELECT mode FROM pg_locks WHERE locktype = 'relation' AND pid = " + pid + " AND relation = '" + q(t) +
          "'::regclass ORDER BY array_position(ARRAY['AccessShareLock','RowShareLock','RowExclusiveLock',"
          "'ShareUpdateExclusiveLock','ShareLock','ShareRowExclusiveLock','ExclusiveLock','AccessExclusiveLock'], "
          "mode) DESC LIMIT 1");
      o.locks[t] = r.empty() ? "" : r[0][0].c_str();
    }
    tx.abort();
    return o;
  }

  std::string url_, schema_;
};

struct LockCase {
  const char* statement;  // {s} is the test's schema
  bool rewrites;
  const char* other_table;  // a second table whose lock the linter names, or ""
};

std::string fill(std::string text, const std::string& schema) {
  for (std::size_t at; (at = text.find("{s}")) != std::string::npos;) text.replace(at, 3, schema);
  return text;
}

TEST_F(MigrationLocks, ClaimedLocksAndRewritesAreWhatPostgresTakes) {
  const std::vector<LockCase> cases{
      {"CREATE INDEX ON {s}.orders (code)", false, ""},
      {"DROP INDEX {s}.orders_status_idx", false, ""},
      {"ALTER TABLE {s}.orders ADD COLUMN x int NOT NULL DEFAULT 0", false, ""},
      {"ALTER TABLE {s}.orders ADD COLUMN created timestamptz DEFAULT now()", false, ""},
      {"ALTER TABLE {s}.orders ADD COLUMN token uuid DEFAULT gen_random_uuid()", true, ""},
      {"ALTER TABLE {s}.orders ADD COLUMN seq bigserial", true, ""},
      {"ALTER TABLE {s}.orders ADD CONSTRAINT fk FOREIGN KEY (customer_id) REFERENCES {s}.customers (id)", false,
       "customers"},
      {"ALTER TABLE {s}.orders ADD CONSTRAINT fk FOREIGN KEY (customer_id) REFERENCES {s}.customers (id) NOT VALID",
       false, "customers"},
      {"ALTER TABLE {s}.orders ADD CONSTRAINT positive CHECK (total >= 0)", false, ""},
      {"ALTER TABLE {s}.orders ADD CONSTRAINT positive CHECK (total >= 0) NOT VALID", false, ""},
      {"ALTER TABLE {s}.orders ALTER COLUMN status SET NOT NULL", false, ""},
      {"ALTER TABLE {s}.orders ALTER COLUMN quantity TYPE bigint", true, ""},
      {"ALTER TABLE {s}.orders ADD CONSTRAINT code_key UNIQUE (code)", false, ""},
      {"ALTER TABLE {s}.orders RENAME COLUMN total TO amount", false, ""},
      {"ALTER TABLE {s}.orders ALTER COLUMN code SET STATISTICS 500", false, ""},
      {"ALTER TABLE {s}.orders SET (fillfactor = 70)", false, ""},
      {"ALTER TABLE {s}.orders DROP COLUMN total", false, ""},
      {"REINDEX TABLE {s}.orders", false, ""},
      {"LOCK TABLE {s}.orders IN SHARE MODE", false, ""},
      {"UPDATE {s}.orders SET status = 'old'", false, ""},
      {"ALTER TABLE {s}.events DETACH PARTITION {s}.events_2024", false, ""},
  };
  for (const auto& c : cases) {
    const std::string statement = fill(c.statement, schema_);
    SCOPED_TRACE(statement);
    const MigrationLint lint = lint_migration(statement + ";", rules());
    ASSERT_EQ(lint.statements.size(), 1u);
    const StatementLint& claim = lint.statements[0];
    const std::string table = claim.table.substr(claim.table.rfind('.') + 1);
    std::vector<std::string> tables{table == "orders_status_idx" ? "orders" : table};
    if (*c.other_table) tables.push_back(c.other_table);
    Observed seen = observe(statement, tables);
    // DROP INDEX names the index: its table's lock is what blocks the application.
    EXPECT_EQ(pg_locks_mode(claim.lock), seen.locks[tables[0]]);
    EXPECT_EQ(claim.rewrites, seen.rewrote);
    EXPECT_EQ(claim.rewrites, c.rewrites);
    if (*c.other_table) {
      ASSERT_EQ(claim.other_locks.size(), 1u);
      const std::string other = claim.other_locks[0].substr(0, claim.other_locks[0].find(" on "));
      EXPECT_EQ(pg_locks_mode(other), seen.locks[c.other_table]);
    }
  }
}

TEST_F(MigrationLocks, WithADatabaseTheRealTypesAndSizesAreUsedAndNothingRuns) {
  Settings settings;
  DatabaseSettings db;
  db.name = "test";
  db.url = url_;
  settings.databases.push_back(db);
  settings.default_database = "test";
  pg::DatabasePool pool(settings);
  const std::string sql = "ALTER TABLE " + q("orders") + " ALTER COLUMN code TYPE varchar(50);\nALTER TABLE " +
                          q("orders") + " ADD COLUMN token uuid DEFAULT gen_random_uuid();\nCREATE INDEX ON " +
                          q("brand_new") + " (x);";
  const MigrationContext context = read_migration_context(pool, "test", tables_of(sql));
  EXPECT_TRUE(context.live);
  EXPECT_GE(context.server_version_num, 150000);
  ASSERT_TRUE(context.tables.contains(q("orders")));
  EXPECT_EQ(context.tables.at(q("orders")).column_types.at("code"), "character varying(20)");
  EXPECT_GT(context.tables.at(q("orders")).total_bytes, 0);
  EXPECT_FALSE(context.tables.contains(q("brand_new")));

  const MigrationLint lint = lint_migration(sql, rules(), context);
  ASSERT_EQ(lint.statements.size(), 3u);
  EXPECT_FALSE(lint.statements[0].rewrites);  // varchar(20) -> varchar(50): the same bytes
  EXPECT_TRUE(lint.statements[1].rewrites);
  ASSERT_TRUE(lint.statements[1].estimated_seconds.has_value());
  EXPECT_TRUE(lint.statements[2].new_table);
  EXPECT_TRUE(lint.statements[2].findings.empty());

  // Nothing was run: the column keeps its type and no column was added.
  pqxx::connection c(url_);
  pqxx::nontransaction tx(c);
  EXPECT_EQ(std::string(tx.exec("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '" +
                                q("orders") + "'::regclass AND attname = 'code'")[0][0]
                            .c_str()),
            "character varying(20)");
  EXPECT_EQ(tx.exec("SELECT 1 FROM pg_attribute WHERE attrelid = '" + q("orders") + "'::regclass AND attname = 'token'")
                .size(),
            0u);
}

}  // namespace
}  // namespace dbopt::migration
