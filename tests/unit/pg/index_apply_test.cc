// apply_index_statement against the real scratch database: only CONCURRENTLY
// index statements, only where allowed, and never an endless wait behind
// another session's lock.
#include "core/pg/index_apply.h"

#include <cctype>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "core/common/error.h"
#include "tests/unit/pg/pg_test_env.h"

namespace dbopt::pg {
namespace {

// Each test has its own table: ctest runs the tests of a suite in parallel.
class IndexApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    table_ = std::string("apply_test_") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : table_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    DBOPT_REQUIRE_TEST_DATABASE();
    settings_ = testing::test_settings();
    testing::database_named(settings_, "scratch").allow_apply = true;
    testing::database_named(settings_, "scratch").lock_timeout_ms = 300;
    pool_ = std::make_unique<DatabasePool>(settings_);
    pqxx::connection conn(testing::scratch_url());
    pqxx::nontransaction tx(conn);
    tx.exec("DROP TABLE IF EXISTS " + table_);
    tx.exec("CREATE TABLE " + table_ + " AS SELECT g AS id, g % 10 AS v FROM generate_series(1, 1000) g");
  }
  void TearDown() override {
    if (testing::scratch_url().empty()) return;
    pqxx::connection conn(testing::scratch_url());
    pqxx::nontransaction(conn).exec("DROP TABLE IF EXISTS " + table_);
  }
  std::string indexes() {
    return testing::superuser_scalar(testing::scratch_url(),
                                     "SELECT count(*) FROM pg_indexes WHERE tablename = '" + table_ + "'");
  }
  std::string on_table(const std::string& what) { return what + " " + table_ + " (v)"; }  // "CREATE INDEX ... ON t (v)"
  std::string table_;
  Settings settings_;
  std::unique_ptr<DatabasePool> pool_;
};

TEST_F(IndexApplyTest, BuildsAndDropsConcurrentlyWhereAllowed) {
  apply_index_statement(*pool_, "scratch", on_table("CREATE INDEX CONCURRENTLY " + table_ + "_v ON"));
  EXPECT_EQ(indexes(), "1");
  apply_index_statement(*pool_, "scratch", "DROP INDEX CONCURRENTLY " + table_ + "_v");
  EXPECT_EQ(indexes(), "0");
  for (const std::string& refused : {on_table("CREATE INDEX " + table_ + "_v ON"), "DROP TABLE " + table_,
                                     on_table("CREATE INDEX CONCURRENTLY a ON") + "; DROP TABLE " + table_}) {
    try {
      apply_index_statement(*pool_, "scratch", refused);
      ADD_FAILURE() << refused;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::permission_denied) << refused;
    }
  }
  try {
    apply_index_statement(*pool_, "default", "CREATE INDEX CONCURRENTLY x ON orders (status)");
    ADD_FAILURE() << "default does not allow apply";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::permission_denied);
  }
  EXPECT_EQ(indexes(), "0");
}

TEST_F(IndexApplyTest, GivesUpBehindAnotherSessionsLockAndChangesNothing) {
  pqxx::connection holder(testing::scratch_url());
  pqxx::work hold(holder);
  hold.exec("LOCK TABLE " + table_ + " IN SHARE UPDATE EXCLUSIVE MODE");  // as VACUUM or another build would
  try {
    apply_index_statement(*pool_, "scratch", on_table("CREATE INDEX CONCURRENTLY " + table_ + "_v ON"));
    ADD_FAILURE() << "the build ran through another session's lock";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unavailable) << e.what();
    EXPECT_NE(std::string(e.what()).find("lock_timeout (300 ms)"), std::string::npos) << e.what();
  }
  hold.abort();
  EXPECT_EQ(indexes(), "0") << "no index (not even an INVALID one) was left";
}

}  // namespace
}  // namespace dbopt::pg
