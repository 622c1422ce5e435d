// check_plan on real PostgreSQL 15 plans: the fix carries this plan's names
// and numbers, findings are ordered by what they could save, and thresholds
// come from the rule book, not from the code.
#include "core/rules/plan_checker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "core/common/error.h"
#include "rule_cases.h"

namespace dbopt::rules {
namespace {

using knowledge::EvidenceSource;
using knowledge::Finding;
using testing::analyze;
using testing::fixture_with;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::read_fixture;
using testing::shipped_rules;

std::vector<Finding> check(const std::string& explain, const knowledge::RuleBook& book = shipped_rules()) {
  const auto analyzed = analyze(explain);
  return check_plan(analyzed->plan, analyzed->metrics, book);
}

// The one finding of rule `id` (a copy: callers pass temporaries).
Finding only(const std::vector<Finding>& findings, const std::string& id) {
  const auto count = std::count_if(findings.begin(), findings.end(), [&](const Finding& f) { return f.rule_id == id; });
  EXPECT_EQ(count, 1) << id;
  const auto it = std::find_if(findings.begin(), findings.end(), [&](const Finding& f) { return f.rule_id == id; });
  return it == findings.end() ? Finding{} : *it;
}

TEST(PlanChecker, SortSpillNamesTheWorkMemThatFitsTheSpill) {
  const auto findings = check(read_fixture("sort_external.json"));
  const Finding spill = only(findings, "PLAN_SORT_SPILL");
  // 6688 kB on disk x 1.5 = 9.8 MB, rounded up to a power of two.
  EXPECT_EQ(spill.numbers.at("disk_kb"), 6688);
  EXPECT_EQ(spill.facts.at("work_mem"), "16MB");
  EXPECT_THAT(spill.fix, HasSubstr("SET LOCAL work_mem = '16MB';"));
  EXPECT_THAT(spill.summary, HasSubstr("work_mem = 64kB"));
  EXPECT_THAT(spill.fix,
              HasSubstr("CREATE INDEX CONCURRENTLY orders_amount_created_at_idx ON orders (amount DESC, created_at);"));
  EXPECT_EQ(spill.source, EvidenceSource::measured);
  EXPECT_EQ(spill.where.plan_node_id, 0u);
}

TEST(PlanChecker, IoAdviceAsksForTrackIoTimingOnlyWhenItIsOff) {
  const Finding off = only(check(testing::cold_cache_scan()), "PLAN_IO_BOUND");
  EXPECT_THAT(off.fix, HasSubstr("SET track_io_timing = on;"));

  // I/O timings in the plan: only track_io_timing produces them.
  const Finding timed = only(check(testing::cold_cache_scan_with_io_timings()), "PLAN_IO_BOUND");
  EXPECT_THAT(timed.fix, Not(HasSubstr("SET track_io_timing")));
  EXPECT_THAT(timed.fix, HasSubstr("track_io_timing is already on"));
  EXPECT_THAT(timed.summary, HasSubstr("I/O Read Time 610.2 ms"));

  // The Settings section (or the live SHOW explain_query adds to it) says so.
  std::string with_setting = testing::cold_cache_scan();
  with_setting.insert(with_setting.find("Planning Time"), "Settings: track_io_timing = 'on'\n");
  const Finding set = only(check(with_setting), "PLAN_IO_BOUND");
  EXPECT_THAT(set.fix, Not(HasSubstr("SET track_io_timing")));
}

TEST(PlanChecker, EstimatedSelectiveScanCountsEveryParallelProcess) {
  const std::string plan = R"(Gather  (cost=1000.00..26175.43 rows=15 width=44)
  Workers Planned: 2
  ->  Parallel Seq Scan on orders  (cost=0.00..25173.93 rows=6 width=44)
        Filter: (customer_id = 42)
)";
  const auto analyzed = analyze(plan);
  const auto findings = check_plan(analyzed->plan, analyzed->metrics, shipped_rules(),
                                   {{"orders", {.rows = 2'000'000, .pages = 16'667}}});
  const Finding scan = only(findings, "PLAN_SELECTIVE_SCAN_ESTIMATED");
  EXPECT_EQ(scan.source, EvidenceSource::estimated);
  EXPECT_DOUBLE_EQ(scan.numbers.at("rows_returned"), 6 * 2.4) << "2 workers + the leader's 0.4";
  EXPECT_EQ(scan.numbers.at("table_rows"), 2'000'000);
  EXPECT_THAT(scan.summary, HasSubstr("Parallel Seq Scan on orders"));
  EXPECT_THAT(scan.summary, HasSubstr("2,000,000 rows"));
  EXPECT_THAT(scan.fix, HasSubstr("CREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);"));
  ASSERT_TRUE(scan.saving_share);
  EXPECT_GT(*scan.saving_share, 0.9) << "the scan is nearly all of the plan's cost";
}

// WHERE customer_id = 42 ORDER BY created_at DESC LIMIT 10: the index that
// serves it leads with the equality and continues in the sort's order.
TEST(PlanChecker, ScanUnderATopNSortGetsTheSortColumnsAfterTheEqualities) {
  const std::string top_n = R"(Limit  (cost=26753.75..26754.92 rows=10 width=44)
  ->  Gather Merge  (cost=26753.75..26757.71 rows=34 width=44)
        Workers Planned: 2
        ->  Sort  (cost=25753.73..25753.77 rows=17 width=44)
              Sort Key: created_at DESC
              ->  Parallel Seq Scan on orders  (cost=0.00..25753.36 rows=17 width=44)
                    Filter: (customer_id = 42)
)";
  const TableSizes sizes = {{"orders", {.rows = 2'000'000, .pages = 16'667}}};
  auto analyzed = analyze(top_n);
  const Finding scan =
      only(check_plan(analyzed->plan, analyzed->metrics, shipped_rules(), sizes), "PLAN_SELECTIVE_SCAN_ESTIMATED");
  EXPECT_THAT(scan.fix, HasSubstr("ON orders (customer_id, created_at DESC);")) << scan.fix;
  // Without the LIMIT the whole result is sorted anyway: the filter's columns only.
  std::string no_limit = top_n.substr(top_n.find("Gather Merge"));
  analyzed = analyze(no_limit);
  const Finding all =
      only(check_plan(analyzed->plan, analyzed->metrics, shipped_rules(), sizes), "PLAN_SELECTIVE_SCAN_ESTIMATED");
  EXPECT_THAT(all.fix, HasSubstr("ON orders (customer_id);")) << all.fix;
  // A range filter stays the last key: (created_at > ...) ORDER BY total is not served in order.
  std::string range = top_n;
  range.replace(range.find("(customer_id = 42)"), 18, "(total > 100)");
  analyzed = analyze(range);
  const auto ranged = check_plan(analyzed->plan, analyzed->metrics, shipped_rules(), sizes);
  for (const auto& f : ranged) EXPECT_THAT(f.fix, Not(HasSubstr("created_at DESC"))) << f.rule_id;
}

TEST(PlanChecker, HashAggregateSpillAccountsForHashMemMultiplier) {
  // 7416 kB x 1.5 / hash_mem_multiplier 2 (PostgreSQL 15's default) = 5.4 MB -> 8MB.
  const Finding spill = only(check(read_fixture("hashagg_spill.json")), "PLAN_HASHAGG_SPILL");
  EXPECT_EQ(spill.facts.at("work_mem"), "8MB");
  EXPECT_THAT(spill.fix, HasSubstr("hash_mem_multiplier = 2"));

  // With the multiplier the plan's SETTINGS report, the advice follows it.
  const auto edited = fixture_with("hashagg_spill.txt", "Settings: ", "Settings: hash_mem_multiplier = '1', ");
  const Finding with_one = only(check(edited), "PLAN_HASHAGG_SPILL");
  EXPECT_EQ(with_one.facts.at("work_mem"), "16MB");
}

TEST(PlanChecker, HashBatchesSizeTheWholeHashTable) {
  // 16 batches x 82 kB peak = 1.3 MB; x 1.5 / 2 = 984 kB -> 1MB.
  const Finding batches = only(check(read_fixture("hash_join_batches.json")), "PLAN_HASH_BATCHES");
  EXPECT_EQ(batches.numbers.at("batches"), 16);
  EXPECT_EQ(batches.facts.at("work_mem"), "1MB");
  EXPECT_THAT(batches.fix, HasSubstr("ANALYZE customers;"));
  // The spill is paid in the join above, so its time counts as the saving.
  EXPECT_GT(*batches.saving_share, 0.4);
}

TEST(PlanChecker, SeqScanAdviceIndexesTheSelectiveColumn) {
  const Finding scan = only(check(read_fixture("seq_scan_filter.json")), "PLAN_SEQ_SCAN_LARGE_FILTER");
  // "note IS NOT NULL" is not selective: the index is on amount alone.
  EXPECT_THAT(scan.fix, HasSubstr("CREATE INDEX CONCURRENTLY orders_amount_idx ON orders (amount);"));
  EXPECT_THAT(scan.fix, HasSubstr("models.Index(fields=[\"amount\"], name=\"orders_amount_idx\")"));
  EXPECT_EQ(scan.numbers.at("rows_scanned"), 200000);
  EXPECT_NEAR(scan.numbers.at("removed_share"), 0.99, 0.001);
  EXPECT_EQ(scan.where.table, "orders");
  EXPECT_NEAR(*scan.saving_share, 0.998, 0.001);
}

TEST(PlanChecker, EqualityColumnsLeadTheSuggestedIndex) {
  const std::string plan =
      R"(Seq Scan on orders  (cost=0.00..5000.00 rows=10 width=14) (actual time=0.010..50.000 rows=12 loops=1)
  Filter: ((created_at > '2024-01-01'::date) AND (status = 'pending'::text))
  Rows Removed by Filter: 199988
Execution Time: 50.100 ms
)";
  const Finding scan = only(check(plan), "PLAN_SEQ_SCAN_LARGE_FILTER");
  EXPECT_THAT(scan.fix, HasSubstr("ON orders (status, created_at);"));
}

TEST(PlanChecker, FindingsAreOrderedByWhatTheyCouldSave) {
  const auto findings = check(read_fixture("initplan_subplan.json"));
  ASSERT_GE(findings.size(), 3u);
  for (std::size_t i = 1; i < findings.size(); ++i) {
    EXPECT_GE(findings[i - 1].saving_share.value_or(0), findings[i].saving_share.value_or(0)) << i;
  }
  EXPECT_EQ(findings.back().rule_id, "PLAN_SUBPLAN_PER_ROW");
}

TEST(PlanChecker, CastFindingNamesColumnAndType) {
  const Finding cast = only(check(read_fixture("initplan_subplan.json")), "PLAN_IMPLICIT_CAST_IN_CONDITION");
  EXPECT_EQ(cast.facts.at("column"), "id");
  EXPECT_EQ(cast.facts.at("cast_type"), "numeric");
  EXPECT_EQ(cast.where.column, "id");
  EXPECT_THAT(cast.fix, HasSubstr("CREATE INDEX CONCURRENTLY ON customers ((id::numeric));"));
}

TEST(PlanChecker, PlainExplainFindingsAreEstimates) {
  const std::string plan = R"(Seq Scan on customers c  (cost=0.00..448.00 rows=6667 width=18)
  Filter: ((id)::numeric > 5.5)
)";
  const auto findings = check(plan);
  const Finding cast = only(findings, "PLAN_IMPLICIT_CAST_IN_CONDITION");
  EXPECT_EQ(cast.source, EvidenceSource::estimated);
  EXPECT_FALSE(cast.saving_share.has_value());
  EXPECT_THAT(cast.summary, HasSubstr("column id is cast to numeric"));
}

TEST(PlanChecker, UnderestimatedNestedLoopSuggestsExtendedStatistics) {
  const auto findings =
      check(R"(Nested Loop  (cost=0.29..50.00 rows=5 width=28) (actual time=0.050..900.000 rows=50000 loops=1)
  ->  Seq Scan on customers c  (cost=0.00..40.00 rows=5 width=18) (actual time=0.010..20.000 rows=5000 loops=1)
        Filter: ((country = 'C07'::text) AND (city = 'Lyon'::text))
        Rows Removed by Filter: 15000
  ->  Index Scan using orders_customer_id_idx on orders o  (cost=0.29..2.00 rows=1 width=18) (actual time=0.010..0.170 rows=10 loops=5000)
        Index Cond: (customer_id = c.id)
Execution Time: 910.000 ms
)");
  const Finding loop = only(findings, "PLAN_MISESTIMATE_NESTED_LOOP");
  EXPECT_EQ(loop.numbers.at("planned_rows"), 5);
  EXPECT_EQ(loop.numbers.at("actual_rows"), 5000);
  EXPECT_EQ(loop.numbers.at("loops"), 5000);
  EXPECT_THAT(loop.fix, HasSubstr("ON country, city FROM customers;"));
  EXPECT_THAT(loop.fix, HasSubstr("CREATE STATISTICS customers_country_city_stats"));
}

TEST(PlanChecker, NestedLoopInnerIndexIsOnTheJoinColumn) {
  const std::string plan =
      R"(Nested Loop  (cost=0.00..5000.00 rows=100 width=16) (actual time=0.100..2000.000 rows=100 loops=1)
  Join Filter: (a.x = b.y)
  Rows Removed by Join Filter: 999900
  ->  Seq Scan on a  (cost=0.00..10.00 rows=100 width=8) (actual time=0.010..0.100 rows=100 loops=1)
  ->  Seq Scan on b  (cost=0.00..20.00 rows=10000 width=8) (actual time=0.005..15.000 rows=10000 loops=100)
Execution Time: 2001.000 ms
)";
  const Finding inner = only(check(plan), "PLAN_NESTED_LOOP_LARGE_INNER");
  EXPECT_EQ(inner.numbers.at("inner_rows"), 1000000);
  EXPECT_THAT(inner.fix, HasSubstr("CREATE INDEX CONCURRENTLY b_y_idx ON b (y);"));
}

TEST(PlanChecker, TopNSortAdviceIndexesFilterThenSortKey) {
  const std::string plan =
      R"(Limit  (cost=9000.00..9000.01 rows=10 width=14) (actual time=120.000..120.010 rows=10 loops=1)
  ->  Sort  (cost=9000.00..9500.00 rows=200000 width=14) (actual time=119.990..119.995 rows=10 loops=1)
        Sort Key: created_at DESC
        Sort Method: top-N heapsort  Memory: 25kB
        ->  Seq Scan on orders  (cost=0.00..5000.00 rows=200000 width=14) (actual time=0.010..60.000 rows=200000 loops=1)
              Filter: (status = 'delivered'::text)
              Rows Removed by Filter: 20000
Execution Time: 120.100 ms
)";
  const Finding sort = only(check(plan), "PLAN_SORT_FOR_LIMIT");
  EXPECT_THAT(sort.fix, HasSubstr("ON orders (status, created_at DESC);"));
  EXPECT_THAT(sort.fix, HasSubstr("fields=[\"status\", \"-created_at\"]"));
}

TEST(PlanChecker, LossyBitmapWorkMemCoversEveryHeapBlock) {
  const Finding lossy = only(check(read_fixture("bitmap_lossy.json")), "PLAN_BITMAP_LOSSY");
  EXPECT_EQ(lossy.numbers.at("heap_blocks"), 2862);
  EXPECT_EQ(lossy.numbers.at("rows_rechecked"), 108103);
  EXPECT_EQ(lossy.facts.at("work_mem"), "1MB");
}

TEST(PlanChecker, TriggerFindingNamesTheConstraint) {
  const Finding trigger = only(check(read_fixture("insert_fk_trigger.txt")), "PLAN_SLOW_TRIGGERS");
  EXPECT_EQ(trigger.facts.at("trigger"), "for constraint orders_customer_id_fkey");
  EXPECT_EQ(trigger.numbers.at("calls"), 500);
  EXPECT_EQ(trigger.facts.at("statement"), "INSERT");
  EXPECT_THAT(trigger.fix, HasSubstr("Here the statement is INSERT on orders."));
  EXPECT_THAT(trigger.fix, HasSubstr("confrelid = 'orders'::regclass"));
}

TEST(PlanChecker, JsonAndTextOfTheSamePlanGiveTheSameRules) {
  for (const std::string name :
       {"bitmap_lossy", "cte_scan", "hash_join_batches", "hashagg_spill", "index_only_heap_fetches", "initplan_subplan",
        "insert_fk_trigger", "jit_aggregate", "memoize", "nested_loop", "parallel_gather", "seq_scan_filter",
        "sort_external", "estimate_only_join", "estimate_only_verbose"}) {
    SCOPED_TRACE(name);
    std::multiset<std::string> from_json;
    std::multiset<std::string> from_text;
    for (const auto& f : check(read_fixture(name + ".json"))) from_json.insert(f.rule_id);
    for (const auto& f : check(read_fixture(name + ".txt"))) from_text.insert(f.rule_id);
    EXPECT_EQ(from_json, from_text);
  }
}

const char* const kSeqScanRuleTemplate = R"(category: plan
rules:
  - id: PLAN_SEQ_SCAN_LARGE_FILTER
    title: Sequential scan throws away most of a large table
    severity: high
    thresholds:
      min_rows_scanned: 10000
      min_rows_removed_share: SHARE
    summary: "{{node}} {{rows_scanned}} {{removed_share}} {{rows_returned}} {{time}} {{time_share}}"
    why: Reads every row.
    fix: "CREATE INDEX ON {{table}} ({{index_columns}}); -- {{index_name}} {{django_index}} {{filter}}"
    references:
      - title: Indexes
        url: https://www.postgresql.org/docs/15/indexes.html
)";

knowledge::RuleBook seq_scan_book(const std::string& share) {
  std::string yaml = kSeqScanRuleTemplate;
  yaml.replace(yaml.find("SHARE"), 5, share);
  return knowledge::RuleBook::load_text(yaml, "test.yaml");
}

TEST(PlanChecker, ThresholdsComeFromTheRuleBook) {
  // The fixture's filter removes 99.0% of the rows.
  const std::string plan = read_fixture("seq_scan_filter.json");
  EXPECT_EQ(check(plan, seq_scan_book("0.98")).size(), 1u);
  EXPECT_TRUE(check(plan, seq_scan_book("0.995")).empty());
}

TEST(PlanChecker, RulesAbsentFromTheBookAreNotChecked) {
  // sort_external also spills, but this book knows only the seq-scan rule.
  for (const auto& f : check(read_fixture("sort_external.json"), seq_scan_book("0.9"))) {
    EXPECT_EQ(f.rule_id, "PLAN_SEQ_SCAN_LARGE_FILTER");
  }
}

TEST(PlanChecker, MissingThresholdIsAnErrorNamingIt) {
  std::string yaml = kSeqScanRuleTemplate;
  yaml.erase(yaml.find("      min_rows_removed_share: SHARE\n"),
             std::string("      min_rows_removed_share: SHARE\n").size());
  const auto book = knowledge::RuleBook::load_text(yaml, "test.yaml");
  try {
    check(read_fixture("seq_scan_filter.json"), book);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_found);
    EXPECT_THAT(e.what(), HasSubstr("PLAN_SEQ_SCAN_LARGE_FILTER"));
    EXPECT_THAT(e.what(), HasSubstr("min_rows_removed_share"));
  }
}

TEST(PlanChecker, RefusesMetricsOfAnotherPlanObject) {
  const auto analyzed = analyze(read_fixture("seq_scan_filter.json"));
  const plan::Plan copy = analyzed->plan;  // equal, but the metrics point into the original
  try {
    check_plan(copy, analyzed->metrics, shipped_rules());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::internal);
  }
}

TEST(PlanChecker, CoveringIndexAdviceForScatteredIndexScan) {
  const Finding reads = only(check(read_fixture("nested_loop.json")), "PLAN_LOW_READ_EFFICIENCY");
  EXPECT_EQ(reads.numbers.at("blocks"), 4012);
  EXPECT_THAT(reads.fix,
              HasSubstr("CREATE INDEX CONCURRENTLY orders_customer_id_covering_idx ON orders (customer_id)"));
  EXPECT_THAT(reads.fix, HasSubstr("CLUSTER orders USING orders_customer_id_idx;"));
}

TEST(PlanChecker, EstimateOnlyPlansGiveNoMeasuredFindings) {
  for (const std::string name : {"estimate_only_join.json", "estimate_only_verbose.json"}) {
    for (const auto& f : check(read_fixture(name))) EXPECT_NE(f.source, EvidenceSource::measured) << f.rule_id;
  }
}

}  // namespace
}  // namespace dbopt::rules
