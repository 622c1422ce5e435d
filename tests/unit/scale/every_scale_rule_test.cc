// Every rule of knowledge/rules/scale.yaml, offline on snapshot JSON: a case
// that makes it fire and one that must not.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/common/error.h"
#include "scale_test_support.h"

namespace dbopt::scale {
namespace {

using namespace testing;
using ::testing::HasSubstr;
using ::testing::Not;

// A shop: a read-mostly catalogue, a churning cart, an append-only event log.
Json products() { return table("products", 100, 50000, 50, 20, 0, 5000, 5 * kMB); }
Json cart_items() { return table("cart_items", 10, 3000, 4000, 3000, 3500, 2000, 1 * kMB); }
Json events(double bytes = 20 * kGB, double correlation = 0.999, double updates = 0) {
  Json t = table("events", 10, 500, 2000000, updates, 0, 2000000, bytes);
  add_column(t, "created_at", "timestamp with time zone", correlation);
  add_column(t, "payload", "jsonb");
  return t;
}

// ---- SCALE_CACHE_TABLE

TEST(CacheTable, FiresOnAReadHeavyTableWithTheDjangoPatternAndInvalidation) {
  const auto a = advise(snapshot({products(), cart_items()}));
  const auto* f = finding(a, "SCALE_CACHE_TABLE", "public.products");
  ASSERT_NE(f, nullptr) << ids_of(a);
  EXPECT_THAT(f->summary, HasSubstr("50,100 times for 70 written rows"));
  EXPECT_NEAR(f->numbers.at("read_write_ratio"), 50100.0 / 70, 0.01);
  EXPECT_THAT(f->fix, HasSubstr("cache.get_or_set(f\"products:{pk}\""));
  EXPECT_THAT(f->fix, HasSubstr("@receiver([post_save, post_delete], sender=Product)"));
  EXPECT_THAT(f->fix, HasSubstr("cache.delete(f\"products:{instance.pk}\")"));
  // The timeout is the mean time between writes (7 days / 70 writes = 8640 s), capped at max_cache_timeout_s.
  EXPECT_EQ(f->numbers.at("cache_timeout_s"), shipped_rules().threshold("SCALE_CACHE_TABLE", "max_cache_timeout_s"));
  EXPECT_EQ(finding(a, "SCALE_CACHE_TABLE", "public.cart_items"), nullptr) << ids_of(a);
}

TEST(CacheTable, DoesNotFireBelowMinReads) {
  const auto a = advise(snapshot({table("settings", 5, 100, 0, 0, 0, 10, 16384)}));
  EXPECT_EQ(finding(a, "SCALE_CACHE_TABLE"), nullptr) << ids_of(a);
  EXPECT_THAT(profile(a, "public.settings")->labels, Not(::testing::Contains("read_heavy")));
}

TEST(CacheTable, ForeignKeyChecksDoNotMakeATableReadHeavy) {
  // 40,000 index scans on accounts, all from checking the 40,000 rows inserted into events.
  Json accounts = table("accounts", 0, 40000, 0, 10, 0, 40, 65536);
  Json events = table("events", 0, 0, 40000, 0, 0, 40000, 8 * kMB);
  add_fk(events, "account_id", "public.accounts");
  const auto a = advise(snapshot({accounts, events}));
  EXPECT_EQ(finding(a, "SCALE_CACHE_TABLE", "public.accounts"), nullptr) << ids_of(a);
  EXPECT_EQ(profile(a, "public.accounts")->fk_check_reads, 40000);
  EXPECT_EQ(profile(a, "public.accounts")->reads, 0);
  // Application reads on top of the checks still count.
  accounts["idx_scan"] = 80000;
  const auto b = advise(snapshot({accounts, events}));
  ASSERT_NE(finding(b, "SCALE_CACHE_TABLE", "public.accounts"), nullptr) << ids_of(b);
  EXPECT_EQ(finding(b, "SCALE_CACHE_TABLE", "public.accounts")->numbers.at("reads"), 40000);
}

// ---- SCALE_NOT_CACHE_WRITE_HEAVY

TEST(NotCacheWriteHeavy, FiresOnAChurningTableWithItsCounts) {
  const auto a = advise(snapshot({products(), cart_items()}));
  const auto* f = finding(a, "SCALE_NOT_CACHE_WRITE_HEAVY", "public.cart_items");
  ASSERT_NE(f, nullptr) << ids_of(a);
  EXPECT_THAT(f->summary, HasSubstr("10,500 rows written (3,000 updates, 3,500 deletes, 4,000 inserts)"));
  EXPECT_EQ(f->severity, knowledge::Severity::info);
  EXPECT_EQ(finding(a, "SCALE_NOT_CACHE_WRITE_HEAVY", "public.products"), nullptr) << ids_of(a);
  EXPECT_THAT(profile(a, "public.cart_items")->labels, ::testing::Contains("write_heavy"));
}

TEST(NotCacheWriteHeavy, DoesNotFireOnAFewWrites) {
  const auto a = advise(snapshot({table("t", 0, 10, 100, 100, 0, 100, 8192)}));  // 200 writes < min_writes
  EXPECT_EQ(finding(a, "SCALE_NOT_CACHE_WRITE_HEAVY"), nullptr) << ids_of(a);
}

// ---- SCALE_CACHE_QUERY

TEST(CacheQuery, FiresOnAFrequentExpensiveReadOfStableTables) {
  Json categories = table("categories", 10, 20000, 5, 0, 0, 40, 65536);
  const auto a = advise(snapshot(
      {products(), cart_items(), categories},
      {statement("42",
                 "SELECT p.id, p.name FROM products p JOIN categories c ON c.id = p.category_id WHERE c.slug = $1",
                 5000, 6.5),
       statement("43", "SELECT * FROM cart_items WHERE cart_id = $1", 9000, 3)}));
  const auto* f = finding(a, "SCALE_CACHE_QUERY");
  ASSERT_NE(f, nullptr) << ids_of(a);
  EXPECT_EQ(f->facts.at("queryid"), "42");
  EXPECT_THAT(f->summary, HasSubstr("5,000 times at 6.50 ms"));
  EXPECT_THAT(f->summary, HasSubstr("public.products, public.categories"));
  EXPECT_THAT(f->fix, HasSubstr("{\"products\", \"categories\"}"));
  EXPECT_THAT(f->fix, HasSubstr("@receiver([post_save, post_delete])"));
  // The write-heavy cart_items query is not a candidate.
  for (const auto& g : a.findings) {
    if (g.rule_id == "SCALE_CACHE_QUERY") {
      EXPECT_NE(g.facts.at("queryid"), "43");
    }
  }
}

TEST(CacheQuery, ATableInACommaJoinCountsToo) {
  // cart_items is write-heavy: a query reading it in a comma-separated FROM list is not stable.
  const auto a =
      advise(snapshot({products(), cart_items()},
                      {statement("44",
                                 "SELECT p.name FROM public.products AS p, cart_items ci WHERE ci.product_id "
                                 "= p.id AND ci.cart_id = $1",
                                 5000, 6)}));
  EXPECT_EQ(finding(a, "SCALE_CACHE_QUERY"), nullptr) << ids_of(a);
}

TEST(CacheQuery, DoesNotFireBelowMinCallsOrWithoutStatements) {
  auto a = advise(snapshot({products()}, {statement("1", "SELECT * FROM products WHERE id = $1", 10, 50)}));
  EXPECT_EQ(finding(a, "SCALE_CACHE_QUERY"), nullptr) << ids_of(a);
  a = advise(snapshot({products()}));
  EXPECT_EQ(finding(a, "SCALE_CACHE_QUERY"), nullptr) << ids_of(a);
  EXPECT_THAT(a.notes, ::testing::Contains(HasSubstr("shared_preload_libraries")));
}

// ---- SCALE_MATERIALIZED_VIEW

TEST(MaterializedView, FiresOnAnExpensiveAggregateWithUniqueIndexAndSchedule) {
  const auto a = advise(snapshot(
      {products()},
      {statement("-77", "SELECT category_id, count(*), sum(price) FROM products GROUP BY category_id", 200, 80)}));
  const auto* f = finding(a, "SCALE_MATERIALIZED_VIEW");
  ASSERT_NE(f, nullptr) << ids_of(a);
  EXPECT_THAT(f->fix, HasSubstr("CREATE MATERIALIZED VIEW public.mv_products_m77 AS"));
  EXPECT_THAT(f->fix, HasSubstr("CREATE UNIQUE INDEX ON public.mv_products_m77 (category_id)"));
  EXPECT_THAT(f->fix, HasSubstr("REFRESH MATERIALIZED VIEW CONCURRENTLY public.mv_products_m77"));
  EXPECT_THAT(f->fix, HasSubstr("cron.schedule('refresh_mv_products_m77', '*/15 * * * *'"));
  EXPECT_EQ(f->numbers.at("refresh_interval_s"), 900);
  EXPECT_THAT(f->fix, HasSubstr("with pg_cron (not installed here"));
}

TEST(MaterializedView, ASlowAggregateGetsALongerIntervalAndNoGroupByMeansNoConcurrently) {
  const auto a =
      advise(snapshot({products()}, {statement("5", "SELECT count(*) FROM products WHERE price > $1", 50, 200000)}));
  const auto* f = finding(a, "SCALE_MATERIALIZED_VIEW");
  ASSERT_NE(f, nullptr) << ids_of(a);
  EXPECT_EQ(f->numbers.at("refresh_interval_s"), 2000);  // 10 x 200 s, past the 900 s budget
  EXPECT_THAT(f->fix, HasSubstr("REFRESH MATERIALIZED VIEW public.mv_products_5"));
  EXPECT_THAT(f->fix, HasSubstr("$n parameters"));
}

TEST(MaterializedView, EqualityParametersBecomeGroupByColumns) {
  Json readings = events();
  const auto a = advise(
      snapshot({readings}, {statement("8",
                                      "SELECT device_id, avg(value), max(value) FROM events WHERE organization_id = $1 "
                                      "AND kind = $2 GROUP BY device_id",
                                      30, 40)}));
  const auto* f = finding(a, "SCALE_MATERIALIZED_VIEW");
  ASSERT_NE(f, nullptr) << ids_of(a);
  EXPECT_THAT(f->fix, HasSubstr("SELECT organization_id, kind, device_id, avg(value), max(value) FROM events GROUP BY "
                                "organization_id, kind, device_id;"));
  EXPECT_THAT(f->fix, HasSubstr("CREATE UNIQUE INDEX ON public.mv_events_8 (organization_id, kind, device_id)"));
  EXPECT_THAT(f->fix, HasSubstr("read the view with WHERE organization_id, kind = the value"));
  EXPECT_THAT(f->fix, Not(HasSubstr("$1")));
  // A range parameter is left for the user, and said so.
  const auto b = advise(snapshot(
      {readings}, {statement("9", "SELECT count(*) FROM events WHERE created_at >= $1 AND created_at < $2", 30, 40)}));
  ASSERT_NE(finding(b, "SCALE_MATERIALIZED_VIEW"), nullptr) << ids_of(b);
  EXPECT_THAT(finding(b, "SCALE_MATERIALIZED_VIEW")->fix, HasSubstr("$n parameters, which a view cannot take"));
}

TEST(MaterializedView, DoesNotFireOnAPlainReadOrACheapAggregate) {
  const auto a = advise(snapshot({products()}, {statement("1", "SELECT * FROM products WHERE id = $1", 900, 90),
                                                statement("2", "SELECT count(*) FROM products", 900, 1)}));
  EXPECT_EQ(finding(a, "SCALE_MATERIALIZED_VIEW"), nullptr) << ids_of(a);
}

// ---- SCALE_TIMESERIES_BRIN

TEST(TimeseriesBrin, FiresOnAnAppendOnlyTableInTimeOrder) {
  const auto a = advise(snapshot({events(20 * kGB)}));
  const auto* f = finding(a, "SCALE_TIMESERIES_BRIN", "public.events");
  ASSERT_NE(f, nullptr) << ids_of(a);
  EXPECT_THAT(f->summary, HasSubstr("correlation 0.999"));
  EXPECT_THAT(f->fix, HasSubstr("USING brin (created_at) WITH (pages_per_range = 128, autosummarize = on)"));
  const auto small = advise(snapshot({events(200 * kMB)}));
  ASSERT_NE(finding(small, "SCALE_TIMESERIES_BRIN"), nullptr) << ids_of(small);
  EXPECT_THAT(finding(small, "SCALE_TIMESERIES_BRIN")->fix, HasSubstr("pages_per_range = 32"));
  EXPECT_EQ(profile(a, "public.events")->time_column, "created_at");
}

TEST(TimeseriesBrin, DoesNotFireWhenUpdatedOutOfOrderOrAlreadyIndexed) {
  auto a = advise(snapshot({events(20 * kGB, 0.999, 500000)}));  // 25% updated: not append-only
  EXPECT_EQ(finding(a, "SCALE_TIMESERIES_BRIN"), nullptr) << ids_of(a);
  a = advise(snapshot({events(20 * kGB, 0.3)}));  // not stored in time order
  EXPECT_EQ(finding(a, "SCALE_TIMESERIES_BRIN"), nullptr) << ids_of(a);
  Json t = events();
  t["brin_indexes"] = {"CREATE INDEX events_created_brin ON public.events USING brin (created_at)"};
  a = advise(snapshot({t}));
  EXPECT_EQ(finding(a, "SCALE_TIMESERIES_BRIN"), nullptr) << ids_of(a);
}

// ---- SCALE_TIMESERIES_PARTITION and SCALE_PARTITION_NOT_HELPFUL

Json event_statements(bool filtered) {
  return {statement("9",
                    filtered ? "SELECT count(*) FROM events WHERE created_at >= $1 AND created_at < $2"
                             : "SELECT * FROM events WHERE payload ->> $1 = $2",
                    1000, 40),
          statement("10", "INSERT INTO events (created_at, payload) VALUES ($1, $2)", 2000000, 0.05)};
}

TEST(TimeseriesPartition, FiresOnALargeTimeSeriesQueriedByTime) {
  const auto a = advise(snapshot({events(20 * kGB)}, event_statements(true)));
  const auto* f = finding(a, "SCALE_TIMESERIES_PARTITION", "public.events");
  ASSERT_NE(f, nullptr) << ids_of(a);
  EXPECT_THAT(f->summary, HasSubstr("100% of its query time filters on created_at"));
  EXPECT_THAT(f->fix, HasSubstr("PARTITION BY RANGE (created_at)"));
  EXPECT_THAT(f->fix, HasSubstr("ADD PRIMARY KEY (id, created_at)"));
  EXPECT_THAT(f->fix, HasSubstr("CREATE TABLE public.events_default PARTITION OF public.events_partitioned DEFAULT"));
  EXPECT_THAT(f->fix, HasSubstr("DETACH PARTITION public.events_pYYYY_MM"));
  EXPECT_THAT(f->fix, HasSubstr("CONCURRENTLY"));
  EXPECT_THAT(f->fix, HasSubstr("partman.create_parent(p_parent_table := 'public.events_partitioned'"));
  EXPECT_THAT(f->fix, HasSubstr("not installed here: it needs its package on the server"));
  Json with_partman = snapshot({events(20 * kGB)}, event_statements(true));
  with_partman["extensions"] = {"pg_partman", "pg_stat_statements"};
  const auto b = advise(with_partman);
  ASSERT_NE(finding(b, "SCALE_TIMESERIES_PARTITION"), nullptr) << ids_of(b);
  EXPECT_THAT(finding(b, "SCALE_TIMESERIES_PARTITION")->fix, HasSubstr("installed in this database: skip the CREATE"));
  EXPECT_EQ(finding(a, "SCALE_PARTITION_NOT_HELPFUL"), nullptr) << ids_of(a);
}

TEST(TimeseriesPartition, DoesNotFireOnASmallTable) {
  const auto a = advise(snapshot({events(300 * kMB)}, event_statements(true)));
  EXPECT_EQ(finding(a, "SCALE_TIMESERIES_PARTITION"), nullptr) << ids_of(a);
}

TEST(PartitionNotHelpful, FiresOnASmallTimeSeriesAndOnQueriesWithoutTheKey) {
  auto a = advise(snapshot({events(300 * kMB)}, event_statements(true)));
  const auto* f = finding(a, "SCALE_PARTITION_NOT_HELPFUL", "public.events");
  ASSERT_NE(f, nullptr) << ids_of(a);
  EXPECT_THAT(f->summary, HasSubstr("it holds 300 MB, under 10 GB"));
  a = advise(snapshot({events(20 * kGB)}, event_statements(false)));
  f = finding(a, "SCALE_PARTITION_NOT_HELPFUL", "public.events");
  ASSERT_NE(f, nullptr) << ids_of(a);
  EXPECT_THAT(f->summary, HasSubstr("only 0.0% of its query time filters on created_at"));
  EXPECT_EQ(finding(a, "SCALE_TIMESERIES_PARTITION"), nullptr) << ids_of(a);
}

TEST(PartitionNotHelpful, DoesNotFireOnATableThatIsNoTimeSeries) {
  const auto a = advise(snapshot({products(), cart_items()}));
  EXPECT_EQ(finding(a, "SCALE_PARTITION_NOT_HELPFUL"), nullptr) << ids_of(a);
}

TEST(TimeseriesPartition, AnAlreadyPartitionedTableIsFoldedAndNotAdvisedAgain) {
  Json parent = table("metrics", 0, 0, 0, 0, 0, 0, 0);
  parent["partitioned"] = true;
  parent["partition_key"] = "RANGE (ts)";
  parent["partitions"] = 2;
  add_column(parent, "ts", "timestamp with time zone");
  Json p1 = table("metrics_p1", 5, 100, 600000, 0, 0, 600000, 15 * kGB);
  Json p2 = table("metrics_p2", 5, 100, 600000, 0, 0, 600000, 15 * kGB);
  p1["partition_of"] = p2["partition_of"] = "public.metrics";
  parent["total_bytes"] = 30 * kGB;
  const auto a = advise(snapshot({parent, p1, p2}));
  ASSERT_EQ(a.tables.size(), 1u) << ids_of(a);
  EXPECT_EQ(a.tables[0].writes, 1200000);
  EXPECT_THAT(a.tables[0].labels, ::testing::Contains("time_series"));
  EXPECT_EQ(finding(a, "SCALE_TIMESERIES_PARTITION"), nullptr) << ids_of(a);
  EXPECT_EQ(finding(a, "SCALE_TIMESERIES_BRIN"), nullptr) << ids_of(a);
}

// ---- SCALE_READ_REPLICA

TEST(ReadReplica, FiresOnAReadHeavyWorkloadWithRouterAndWhatBreaks) {
  const auto a = advise(snapshot({products(), table("categories", 0, 30000, 10, 0, 0, 40, 65536)},
                                 {statement("1", "SELECT * FROM products WHERE id = $1", 50000, 1),
                                  statement("2", "UPDATE products SET stock = $1 WHERE id = $2", 20, 1)}));
  const auto* f = finding(a, "SCALE_READ_REPLICA");
  ASSERT_NE(f, nullptr) << ids_of(a);
  EXPECT_THAT(f->summary, HasSubstr("SELECT statements take 100% of the statement time"));
  EXPECT_THAT(f->fix, HasSubstr("def db_for_read(self, model, **hints):"));
  EXPECT_THAT(f->fix, HasSubstr("def db_for_write(self, model, **hints):"));
  EXPECT_THAT(f->fix, HasSubstr("DATABASE_ROUTERS"));
  EXPECT_THAT(f->fix, HasSubstr("using(\"default\")"));
}

TEST(ReadReplica, DoesNotFireOnAWriteHeavyWorkload) {
  const auto a = advise(snapshot({cart_items(), events()}));
  EXPECT_EQ(finding(a, "SCALE_READ_REPLICA"), nullptr) << ids_of(a);
  EXPECT_THAT(a.notes,
              ::testing::Contains(HasSubstr("Read replica: not advised: 3,520 reads for 2,010,500 written rows")));
}

// ---- SCALE_SHARD_CITUS and SCALE_SHARD_NOT_NEEDED

Json tenant_schema(double tenant_table_bytes) {
  Json accounts = table("accounts", 0, 9000, 50, 10, 0, 50, 65536);
  Json countries = table("countries", 0, 4000, 0, 0, 0, 200, 32768);
  Json out = {accounts, countries};
  for (const char* name : {"projects", "tasks", "comments"}) {
    Json t = table(name, 0, 20000, 1000, 500, 0, 100000, tenant_table_bytes);
    add_column(t, "account_id", "bigint");
    add_fk(t, "account_id", "public.accounts");
    out.push_back(t);
  }
  return out;
}

TEST(ShardCitus, FiresPastTheSizeThresholdWithDistributionByTheTenantKey) {
  const auto a = advise(snapshot(tenant_schema(60 * kGB)));
  EXPECT_EQ(a.tenant_key, "account_id");
  const auto* f = finding(a, "SCALE_SHARD_CITUS");
  ASSERT_NE(f, nullptr) << ids_of(a);
  EXPECT_THAT(f->fix, HasSubstr("SELECT create_distributed_table('public.accounts', 'id');"));
  EXPECT_THAT(f->fix, HasSubstr("SELECT create_distributed_table('public.tasks', 'account_id', colocate_with => "
                                "'public.accounts');"));
  EXPECT_THAT(f->fix, HasSubstr("SELECT create_reference_table('public.countries');"));
  EXPECT_THAT(f->fix, HasSubstr("public.tasks: primary key (id) becomes (account_id, id)"));
  EXPECT_EQ(finding(a, "SCALE_SHARD_NOT_NEEDED"), nullptr) << ids_of(a);
  EXPECT_THAT(profile(a, "public.projects")->labels, ::testing::Contains("tenant_keyed"));
  EXPECT_THAT(profile(a, "public.countries")->labels, Not(::testing::Contains("tenant_keyed")));
}

TEST(ShardNotNeeded, FiresBelowTheSizeThreshold) {
  const auto a = advise(snapshot(tenant_schema(2 * kGB)));
  const auto* f = finding(a, "SCALE_SHARD_NOT_NEEDED");
  ASSERT_NE(f, nullptr) << ids_of(a);
  EXPECT_THAT(f->summary, HasSubstr("account_id is the tenant key of 3 tables"));
  EXPECT_THAT(f->summary, HasSubstr("do not shard"));
  EXPECT_EQ(finding(a, "SCALE_SHARD_CITUS"), nullptr) << ids_of(a);
}

TEST(ShardNotNeeded, NeitherFiresWithoutATenantKey) {
  // A shop: many tables reference customers, but customer_id is not a tenant key.
  Json customers = table("customers", 0, 9000, 50, 10, 0, 50, 65536);
  Json tables = {customers};
  for (const char* name : {"orders", "addresses", "reviews"}) {
    Json t = table(name, 0, 1000, 100, 0, 0, 100, 200 * kGB);
    add_column(t, "customer_id", "bigint");
    add_fk(t, "customer_id", "public.customers");
    tables.push_back(t);
  }
  // account_id columns without foreign keys are not a tenant key either.
  Json loose = table("audit", 0, 10, 10, 0, 0, 10, 8192);
  add_column(loose, "account_id", "bigint");
  tables.push_back(loose);
  const auto a = advise(snapshot(tables));
  EXPECT_EQ(a.tenant_key, "");
  EXPECT_EQ(finding(a, "SCALE_SHARD_CITUS"), nullptr) << ids_of(a);
  EXPECT_EQ(finding(a, "SCALE_SHARD_NOT_NEEDED"), nullptr) << ids_of(a);
}

// ---- focus, shapes, errors

TEST(Focus, LimitsTheFindingsToTheAreasAsked) {
  Json tables = tenant_schema(2 * kGB);
  tables.push_back(products());
  tables.push_back(events());
  const auto a = advise(snapshot(tables), {ScaleFocus::time_series});
  ASSERT_FALSE(a.findings.empty());
  for (const auto& f : a.findings) EXPECT_THAT(f.rule_id, ::testing::StartsWith("SCALE_TIMESERIES")) << ids_of(a);
  EXPECT_EQ(a.tables.size(), 7u);  // every table is still profiled
}

TEST(Snapshot, RoundTripsThroughJson) {
  Json t = events();
  add_fk(t, "account_id", "accounts");
  const ScaleSnapshot s = scale_snapshot_from_json(snapshot({t}, event_statements(true)).dump());
  const ScaleSnapshot back = scale_snapshot_from_json(scale_snapshot_to_json(s));
  ASSERT_EQ(back.tables.size(), 1u);
  EXPECT_EQ(back.tables[0].table, "public.events");
  EXPECT_EQ(back.tables[0].n_tup_ins, 2000000);
  EXPECT_EQ(back.tables[0].foreign_keys[0].referenced, "public.accounts");
  ASSERT_TRUE(back.tables[0].columns[1].correlation.has_value());
  EXPECT_DOUBLE_EQ(*back.tables[0].columns[1].correlation, 0.999);
  EXPECT_EQ(back.statements.size(), 2u);
  EXPECT_TRUE(back.statements_available);
}

TEST(Snapshot, BadJsonNamesTheField) {
  try {
    scale_snapshot_from_json(R"({"tables": [{"table": "t", "idx_scan": "many"}]})");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_THAT(e.what(), HasSubstr("tables[0].idx_scan must be a number"));
  }
  EXPECT_THROW(scale_snapshot_from_json("{"), Error);
  EXPECT_THROW(scale_snapshot_from_json(R"({"tables": [{}]})"), Error);
}

}  // namespace
}  // namespace dbopt::scale
