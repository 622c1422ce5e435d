// benchmark_query through the registry, live against the test PostgreSQL:
// timings, buffers and plan shape, and the real before/after index build on
// the scratch database. Timings are reported, never asserted (they vary).
#include <atomic>
#include <chrono>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/pg/database_pool.h"
#include "tests/unit/pg/pg_test_env.h"
#include "tools/builtin_tools.h"
#include "tools/tool_registry.h"

namespace dbopt::tools {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class BenchmarkQueryLive : public ::testing::Test {
 protected:
  void SetUp() override {
    DBOPT_REQUIRE_TEST_DATABASE();
    settings_ = pg::testing::test_settings();
    pool_ = std::make_unique<pg::DatabasePool>(settings_);
    registry_.add(make_benchmark_query_tool());
  }
  ToolResult call(const Json& args) {
    CancellationToken cancel;
    ToolContext ctx{.settings = settings_, .cancel = cancel, .databases = pool_.get()};
    ctx.progress = [this](double done, std::optional<double> total, const std::string&) {
      progress_.push_back(done);
      if (total) {
        EXPECT_LE(done, *total);
      }
    };
    return registry_.call("benchmark_query", args, ctx);
  }
  std::string order_items_indexes() {
    return pg::testing::superuser_scalar(pg::testing::scratch_url(),
                                         "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes "
                                         "WHERE tablename = 'order_items'");
  }

  Settings settings_;
  std::unique_ptr<pg::DatabasePool> pool_;
  ToolRegistry registry_;
  std::vector<double> progress_;
};

TEST_F(BenchmarkQueryLive, ReportsTimingsBuffersAndThePlansScans) {
  const ToolResult r = call({{"sql", "SELECT * FROM orders WHERE customer_id = 42"}, {"runs", 3}, {"warmup", 0}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  const Json& out = r.structured;
  EXPECT_EQ(out["samples_ms"].size(), 3u);
  EXPECT_LE(out["timings_ms"]["min"].get<double>(), out["timings_ms"]["max"].get<double>());
  EXPECT_EQ(out["rows"], std::stoll(pg::testing::superuser_scalar(
                             pg::testing::database_url(), "SELECT count(*) FROM orders WHERE customer_id = 42")));
  EXPECT_GT(out["buffers"]["shared_hit"].get<long long>() + out["buffers"]["shared_read"].get<long long>(), 0);
  EXPECT_THAT(out["plan_scans"].dump(), HasSubstr("orders_customer_id_idx"));
  EXPECT_FALSE(out.contains("after"));
  EXPECT_EQ(progress_, (std::vector<double>{1, 2, 3}));
}

TEST_F(BenchmarkQueryLive, TimedRunsOfAParallelPlanRunWithParallelWorkers) {
  // A cursor (DECLARE ... FETCH) would plan this serially; the application
  // runs it as a plain statement, with a Gather and its workers.
  const std::string sql = "SELECT count(*) FROM order_items WHERE md5(id::text) LIKE '%ab%'";
  std::atomic<bool> done{false};
  int samples_with_workers = 0;
  std::thread watcher([&] {
    while (!done) {
      const std::string workers = pg::testing::superuser_scalar(
          pg::testing::database_url(),
          "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'parallel worker' AND query LIKE "
          "'%FROM order_items WHERE md5(id::text)%' AND query NOT LIKE '%EXPLAIN%'");
      if (workers != "0") ++samples_with_workers;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  const ToolResult r = call({{"sql", sql}, {"runs", 5}, {"warmup", 0}});
  done = true;
  watcher.join();
  ASSERT_FALSE(r.is_error) << r.markdown;
  EXPECT_GT(r.structured["parallel_workers"]["planned"].get<int>(), 0) << r.markdown;
  EXPECT_GT(r.structured["parallel_workers"]["launched"].get<int>(), 0) << r.markdown;
  EXPECT_THAT(r.markdown, HasSubstr("parallel plan"));
  EXPECT_GT(samples_with_workers, 0) << "the timed runs, not only the EXPLAIN ANALYZE, ran with parallel workers";
}

TEST_F(BenchmarkQueryLive, CandidateIndexOnScratchIsBuiltMeasuredAndRolledBack) {
  const std::string before_indexes = order_items_indexes();
  const ToolResult r =
      call({{"sql", "SELECT sum(quantity) FROM order_items WHERE product_id = 17"},
            {"database", "scratch"},
            {"runs", 3},
            {"candidate_indexes", {"CREATE INDEX CONCURRENTLY bench_items_product ON order_items (product_id)"}}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  const Json& out = r.structured;
  EXPECT_THAT(out["plan_scans"].dump(), Not(HasSubstr("bench_items_product")));
  EXPECT_THAT(out["after"]["plan_scans"].dump(), HasSubstr("bench_items_product"));
  EXPECT_EQ(out["rows"], out["after"]["rows"]);
  const auto pages = [](const Json& m) {
    return m["buffers"]["shared_hit"].get<long long>() + m["buffers"]["shared_read"].get<long long>();
  };
  EXPECT_LT(pages(out["after"]), pages(out)) << "the index reads less than the whole table";
  ASSERT_EQ(out["indexes_built"].size(), 1u);
  const Json& built = out["indexes_built"][0];
  EXPECT_EQ(built["statement"], "CREATE INDEX bench_items_product ON order_items (product_id)");
  EXPECT_GT(built["size_bytes"].get<long long>(), 0);
  EXPECT_THAT(built["lock_mode"].get<std::string>(), HasSubstr("ShareLock"));
  EXPECT_THAT(r.markdown, HasSubstr("rolled back"));
  EXPECT_EQ(progress_.size(), 6u);
  EXPECT_EQ(order_items_indexes(), before_indexes) << "the candidate index must not remain";
}

TEST_F(BenchmarkQueryLive, CandidateIndexesNeedAScratchDatabase) {
  const std::string before_indexes = order_items_indexes();
  const ToolResult r = call({{"sql", "SELECT 1"},
                             {"database", "default"},
                             {"candidate_indexes", {"CREATE INDEX ON order_items (product_id)"}}});
  ASSERT_TRUE(r.is_error);
  EXPECT_EQ(r.error_code, ErrorCode::permission_denied);
  EXPECT_THAT(r.markdown, HasSubstr("scratch: true"));

  const ToolResult bad =
      call({{"sql", "SELECT 1"}, {"database", "scratch"}, {"candidate_indexes", {"DROP TABLE orders"}}});
  ASSERT_TRUE(bad.is_error);
  EXPECT_THAT(bad.markdown, HasSubstr("candidate_indexes[0]"));
  EXPECT_EQ(order_items_indexes(), before_indexes);
}

}  // namespace
}  // namespace dbopt::tools
