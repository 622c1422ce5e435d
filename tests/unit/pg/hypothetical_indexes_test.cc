// HypotheticalIndexSession against the real test database (HypoPG installed
// by scripts/test-services).
#include "core/pg/hypothetical_indexes.h"

#include <gtest/gtest.h>

#include "core/common/error.h"
#include "core/pg/safe_executor.h"
#include "tests/unit/pg/pg_test_env.h"

namespace dbopt::pg {
namespace {

// order_items.product_id is a foreign key the seed leaves unindexed on purpose;
// product 2500 is one of the rarer ones (about 60 of 500,000 rows).
constexpr const char* kQuery = "SELECT * FROM order_items WHERE product_id = 2500";
constexpr const char* kIndex = "CREATE INDEX ON order_items (product_id)";

class HypotheticalIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DBOPT_REQUIRE_TEST_DATABASE();
    settings_ = testing::test_settings();
  }
  Settings settings_;
};

TEST(RequireSingleCreateIndex, AcceptsOnlyOneCreateIndex) {
  EXPECT_NO_THROW(require_single_create_index("CREATE INDEX ON orders (status)"));
  EXPECT_NO_THROW(
      require_single_create_index("create unique index concurrently if not exists o_idx on orders "
                                  "using btree (customer_id, created_at desc) where status <> 'pending';"));
  for (const char* bad : {"DROP TABLE orders", "CREATE INDEX ON orders (status); DROP TABLE orders", "SELECT 1",
                          "CREATE INDEX ON", "", "CREATE TABLE t (i int)"}) {
    try {
      require_single_create_index(bad);
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << bad;
    }
  }
}

TEST_F(HypotheticalIndexTest, IndexOnUnindexedFilterColumnLowersTheCost) {
  DatabasePool pool(settings_);
  HypotheticalIndexSession session(pool, "default");
  EXPECT_FALSE(session.hypopg_version().empty());
  const double before = session.explain_total_cost(kQuery);

  HypotheticalIndex index = session.create_index(kIndex);
  EXPECT_GT(index.oid, 0u);
  EXPECT_NE(index.name.find("order_items"), std::string::npos) << index.name;
  EXPECT_EQ(index.table, "public.order_items");
  EXPECT_GT(index.estimated_size_bytes, 1024 * 1024) << "500k rows need more than 1 MB";
  EXPECT_NE(index.definition.find("product_id"), std::string::npos) << index.definition;

  const double after = session.explain_total_cost(kQuery);
  EXPECT_LT(after, before / 5) << "before " << before << ", after " << after;
  EXPECT_NE(session.explain_json(kQuery).find(index.name), std::string::npos) << "the plan uses the index";

  // $n placeholders (pg_stat_statements style) are costed with a generic plan.
  EXPECT_LT(session.explain_total_cost("SELECT * FROM order_items WHERE product_id = $1", true), before / 5);

  ASSERT_EQ(session.list().size(), 1u);
  session.drop_index(index.oid);
  EXPECT_TRUE(session.list().empty());
  EXPECT_DOUBLE_EQ(session.explain_total_cost(kQuery), before);
  // Nothing real was built.
  EXPECT_EQ(testing::superuser_scalar(testing::database_url(),
                                      "SELECT count(*) FROM pg_indexes WHERE tablename = 'order_items'"),
            "2");  // the primary key and order_items_order_id_idx
}

TEST_F(HypotheticalIndexTest, SessionEndResetsTheReusedConnection) {
  PoolOptions one;
  one.max_connections_per_database = 1;
  DatabasePool pool(settings_, one);
  SafeExecutor executor(pool);
  const auto pid = executor.run("default", "SELECT pg_backend_pid()").rows.at(0).at(0);
  {
    HypotheticalIndexSession session(pool, "default");
    session.create_index(kIndex);
    session.create_index("CREATE INDEX ON orders (status, created_at)");
    EXPECT_EQ(session.list().size(), 2u);
  }
  // Same backend (one connection, reused), and HypoPG has nothing left in it.
  EXPECT_EQ(executor.run("default", "SELECT pg_backend_pid()").rows.at(0).at(0), pid);
  EXPECT_EQ(executor.run("default", "SELECT count(*) FROM hypopg_list_indexes").rows.at(0).at(0), "0");
  EXPECT_EQ(pool.stats("default").opened_total, 1);
  HypotheticalIndexSession next(pool, "default");
  EXPECT_TRUE(next.list().empty());
}

TEST_F(HypotheticalIndexTest, FailedCallsLeaveTheSessionUsable) {
  DatabasePool pool(settings_);
  HypotheticalIndexSession session(pool, "default");
  try {
    session.create_index("CREATE INDEX ON order_items (no_such_column)");
    ADD_FAILURE() << "expected invalid_argument";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << e.describe();
    EXPECT_NE(std::string(e.what()).find("no_such_column"), std::string::npos) << e.what();
  }
  try {
    session.create_index("DROP TABLE orders");
    ADD_FAILURE() << "expected invalid_argument";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
  }
  try {
    session.explain_json("SELECT * FROM pg_read_file('/etc/hostname') f");
    ADD_FAILURE() << "expected permission_denied";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::permission_denied);
  }
  EXPECT_TRUE(testing::relation_exists(testing::database_url(), "orders"));
  EXPECT_NO_THROW(session.create_index(kIndex));
  EXPECT_EQ(session.list().size(), 1u);
}

TEST_F(HypotheticalIndexTest, MissingExtensionIsUnavailableWithTheFix) {
  const std::string db_name = "dbopt_pg_test_no_hypopg";
  const auto admin = [&](const std::string& sql) {
    pqxx::connection conn(testing::database_url());
    pqxx::nontransaction tx(conn);
    tx.exec(sql);
  };
  admin("DROP DATABASE IF EXISTS " + db_name + " WITH (FORCE)");
  admin("CREATE DATABASE " + db_name + " TEMPLATE template0");
  std::string url = testing::database_url();
  url = url.substr(0, url.rfind('/') + 1) + db_name;
  Settings settings;
  DatabaseSettings db;
  db.name = "plain";
  db.url = url;
  settings.databases.push_back(db);
  {
    DatabasePool pool(settings);
    try {
      HypotheticalIndexSession session(pool, "plain");
      ADD_FAILURE() << "expected unavailable";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::unavailable);
      EXPECT_NE(e.fix().find("CREATE EXTENSION hypopg"), std::string::npos) << e.fix();
    }
  }
  // dbopt did not install it behind anyone's back.
  EXPECT_EQ(testing::superuser_scalar(url, "SELECT count(*) FROM pg_extension WHERE extname = 'hypopg'"), "0");
  admin("DROP DATABASE IF EXISTS " + db_name + " WITH (FORCE)");
}

TEST_F(HypotheticalIndexTest, WorksThroughPgBouncerInTransactionMode) {
  if (testing::pgbouncer_url().empty()) GTEST_SKIP() << "DBOPT_TEST_PGBOUNCER_URL not set";
  DatabasePool pool(settings_);
  HypotheticalIndexSession session(pool, "bouncer");
  const double before = session.explain_total_cost(kQuery);
  session.create_index(kIndex);
  EXPECT_LT(session.explain_total_cost(kQuery), before / 5);
}

TEST_F(HypotheticalIndexTest, CancelledTokenStopsTheSession) {
  DatabasePool pool(settings_);
  CancellationToken token;
  HypotheticalIndexSession session(pool, "default", &token);
  session.create_index(kIndex);
  token.cancel();
  try {
    session.explain_total_cost(kQuery);
    ADD_FAILURE() << "expected cancelled";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::cancelled);
  }
}

}  // namespace
}  // namespace dbopt::pg
