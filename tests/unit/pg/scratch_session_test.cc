// ScratchSession against the real scratch database: a real index build that
// changes the plan and the time, reports its size and lock, and is gone after.
#include "core/pg/scratch_session.h"

#include <gtest/gtest.h>

#include "core/common/error.h"
#include "tests/unit/pg/pg_test_env.h"

namespace dbopt::pg {
namespace {

class ScratchSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DBOPT_REQUIRE_TEST_DATABASE();
    settings_ = testing::test_settings();
    pool_ = std::make_unique<DatabasePool>(settings_);
  }
  std::string indexes_on_order_items() {
    return testing::superuser_scalar(testing::scratch_url(),
                                     "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes "
                                     "WHERE tablename = 'order_items'");
  }
  Settings settings_;
  std::unique_ptr<DatabasePool> pool_;
};

TEST_F(ScratchSessionTest, RealIndexChangesThePlanAndIsRolledBack) {
  const std::string before = indexes_on_order_items();
  const std::string query = "SELECT count(*) FROM order_items WHERE product_id = 17";
  {
    ScratchSession session(*pool_, "scratch");
    ExplainOptions plain;
    EXPECT_EQ(session.explain(query, plain).find("order_items_product_id"), std::string::npos);
    const IndexBuild build =
        session.create_index("CREATE INDEX CONCURRENTLY order_items_product_id_scratch ON order_items (product_id)");
    EXPECT_EQ(build.statement, "CREATE INDEX order_items_product_id_scratch ON order_items (product_id)");
    EXPECT_EQ(build.index_name, "order_items_product_id_scratch");
    EXPECT_EQ(build.table, "order_items");
    EXPECT_GT(build.size_bytes, 1'000'000) << "500k rows of bigint";
    EXPECT_GT(build.build_ms, 0);
    EXPECT_NE(build.lock_mode.find("ShareLock"), std::string::npos) << build.lock_mode;
    EXPECT_NE(session.explain(query, plain).find("order_items_product_id_scratch"), std::string::npos);
    RunOptions options;
    EXPECT_EQ(session.run(query, options).rows.size(), 1u);
    // Other sessions never see the uncommitted index.
    EXPECT_EQ(indexes_on_order_items(), before);
  }
  EXPECT_EQ(indexes_on_order_items(), before);
}

TEST_F(ScratchSessionTest, RefusesDatabasesNotMarkedScratchAndWritesOtherThanTheIndex) {
  try {
    ScratchSession session(*pool_, "default");
    FAIL() << "default is not a scratch database";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::permission_denied);
    EXPECT_NE(e.fix().find("scratch: true"), std::string::npos);
  }
  ScratchSession session(*pool_, "scratch");
  RunOptions options;
  try {
    session.run("DELETE FROM orders", options);
    FAIL() << "a DELETE ran";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::permission_denied);
  }
  for (const char* not_an_index :
       {"DROP TABLE orders", "CREATE INDEX a ON orders (id); DROP TABLE orders", "SELECT 1"}) {
    try {
      session.create_index(not_an_index);
      FAIL() << not_an_index;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << not_an_index;
    }
  }
}

}  // namespace
}  // namespace dbopt::pg
