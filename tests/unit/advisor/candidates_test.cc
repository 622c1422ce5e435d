// Candidate generation and drop advice without a database: the shapes the
// advisor proposes from a query's model and a catalog, and what it must not
// propose.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/advisor/advisor.h"
#include "core/advisor/candidates.h"
#include "core/sql/query_model.h"
#include "knowledge/rule_book.h"

namespace dbopt::advisor {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const knowledge::RuleBook& rules() {
  static const auto book = knowledge::RuleBook::load_directory(DBOPT_SOURCE_DIR "/knowledge/rules");
  return book;
}

std::vector<Candidate> candidates(const std::string& sql, const Catalog& catalog = {}) {
  return candidates_for(sql::parse_query(sql), 0, catalog, CandidateLimits::from_rules(&rules(), 3));
}

const Candidate* find(const std::vector<Candidate>& all, const std::string& kind) {
  for (const auto& c : all)
    if (c.kind == kind) return &c;
  return nullptr;
}

std::vector<std::string> identities(const std::vector<Candidate>& all) {
  std::vector<std::string> out;
  for (const auto& c : all) out.push_back(c.identity());
  return out;
}

TEST(Candidates, EqualityColumnsComeBeforeTheRangeColumn) {
  const auto all = candidates("SELECT id FROM orders WHERE created_at > $1 AND tenant_id = $2");
  const auto* c = find(all, "btree");
  ASSERT_NE(c, nullptr) << ::testing::PrintToString(identities(all));
  EXPECT_THAT(c->keys, ElementsAre("tenant_id", "created_at"));
  EXPECT_EQ(c->rule_id, "INDEX_BTREE_EQUALITY_THEN_RANGE");
}

TEST(Candidates, OrderByLimitShapeKeepsTheDirection) {
  const auto all =
      candidates("SELECT * FROM orders WHERE tenant_id = $1 AND status = $2 ORDER BY created_at DESC LIMIT 20");
  const auto* c = find(all, "order_by");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->keys.back(), "created_at DESC");
  EXPECT_EQ(c->keys.size(), 3u);
  EXPECT_EQ(c->rule_id, "INDEX_BTREE_ORDER_LIMIT");
  EXPECT_THAT(c->ddl(), HasSubstr("CREATE INDEX CONCURRENTLY"));
}

TEST(Candidates, OrderByOnAnotherTableGivesNoOrderShape) {
  const auto all = candidates(
      "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.tenant_id = 1 ORDER BY c.name LIMIT "
      "5");
  for (const auto& c : all)
    if (c.table == "orders") {
      EXPECT_NE(c.kind, "order_by") << c.identity();
    }
}

TEST(Candidates, CoveringOnlyWhenTheQueryNamesFewColumns) {
  const auto narrow = candidates("SELECT tenant_id, total FROM orders WHERE customer_id = $1");
  const auto* c = find(narrow, "covering");
  ASSERT_NE(c, nullptr);
  EXPECT_THAT(c->include, ElementsAre("tenant_id", "total"));
  EXPECT_EQ(find(candidates("SELECT * FROM orders WHERE customer_id = $1"), "covering"), nullptr);
}

TEST(Candidates, ExpressionKeyForAFunctionOnTheColumn) {
  const auto all = candidates("SELECT * FROM customers WHERE lower(email) = $1");
  const auto* c = find(all, "expression");
  ASSERT_NE(c, nullptr);
  EXPECT_THAT(c->keys, ElementsAre("(lower(email))"));
  EXPECT_EQ(c->rule_id, "INDEX_EXPRESSION");
  EXPECT_EQ(find(candidates("SELECT * FROM customers WHERE email = $1"), "expression"), nullptr);
}

TEST(Candidates, GinForJsonbContainmentAndNotForEquality) {
  const auto all = candidates("SELECT * FROM orders WHERE attrs @> '{\"a\": 1}'");
  const auto* c = find(all, "gin");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->method, "gin");
  EXPECT_FALSE(c->costable);
  EXPECT_EQ(c->rule_id, "INDEX_GIN_JSONB");
  EXPECT_EQ(find(candidates("SELECT * FROM orders WHERE attrs = '{}'"), "gin"), nullptr);
}

TEST(Candidates, FullTextGinOnTheTsvectorExpression) {
  const auto all = candidates("SELECT id FROM documents WHERE to_tsvector('english', body) @@ to_tsquery('planner')");
  const auto* c = find(all, "gin");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->rule_id, "INDEX_GIN_FULLTEXT");
  EXPECT_THAT(c->keys[0], HasSubstr("to_tsvector"));
}

TEST(Candidates, TrigramOnlyForALeadingWildcard) {
  const auto all = candidates("SELECT * FROM customers WHERE name ILIKE '%smith%'");
  const auto* c = find(all, "trigram");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->keys[0], "name gin_trgm_ops");
  EXPECT_EQ(c->extension, "pg_trgm");  // the catalog does not list it
  Catalog with_trgm;
  with_trgm.extensions = {"pg_trgm"};
  with_trgm.tables.push_back({.name = "customers"});
  const auto installed = candidates("SELECT * FROM customers WHERE name ILIKE '%smith%'", with_trgm);
  ASSERT_NE(find(installed, "trigram"), nullptr);
  EXPECT_EQ(find(installed, "trigram")->extension, "");
  EXPECT_EQ(find(candidates("SELECT * FROM customers WHERE name LIKE 'smith%'"), "trigram"), nullptr);
}

TEST(Candidates, JoinColumnOfTheJoinedTable) {
  const auto all = candidates("SELECT o.id FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.email = $1");
  bool found = false;
  for (const auto& c : all)
    if (c.kind == "join" && c.table == "orders" && c.keys == std::vector<std::string>{"customer_id"}) found = true;
  EXPECT_TRUE(found) << ::testing::PrintToString(identities(all));
}

TEST(Candidates, PartialNeedsStatisticsThatSayTheValueIsRare) {
  Catalog catalog;
  TableInfo orders{.name = "orders", .rows = 100000, .analyzed = true, .has_stats = true};
  ColumnStats status;
  status.common_values = {"closed", "pending", "open"};
  status.common_freqs = {0.95, 0.04, 0.01};
  status.n_distinct = 3;
  orders.columns["status"] = status;
  orders.columns["created_at"] = ColumnStats{.n_distinct = -1};
  catalog.tables.push_back(orders);
  const auto rare = candidates("SELECT * FROM orders WHERE status = 'open' ORDER BY created_at LIMIT 10", catalog);
  const auto* c = find(rare, "partial");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->where, "status = 'open'");
  EXPECT_THAT(c->keys, ElementsAre("created_at"));
  EXPECT_EQ(
      find(candidates("SELECT * FROM orders WHERE status = 'closed' ORDER BY created_at LIMIT 10", catalog), "partial"),
      nullptr);
  // A rare value of a many-valued column (an id) is no partial index.
  catalog.tables[0].columns["customer_id"] = ColumnStats{.n_distinct = -0.1};
  EXPECT_EQ(
      find(candidates("SELECT * FROM orders WHERE customer_id = 42 ORDER BY created_at LIMIT 10", catalog), "partial"),
      nullptr);
  // Without statistics (offline) nothing says the value is rare.
  EXPECT_EQ(find(candidates("SELECT * FROM orders WHERE status = 'open' ORDER BY created_at LIMIT 10"), "partial"),
            nullptr);
}

// The multi-tenant list view: the rare status and the soft-delete condition go into the WHERE,
// the tenant leads, the ORDER BY follows; no key is spent on deleted_at.
TEST(Candidates, PartialTakesEveryFixedConditionAndKeepsTheOrderBy) {
  Catalog catalog;
  TableInfo tickets{.name = "tickets", .rows = 1e6, .analyzed = true, .has_stats = true};
  tickets.columns["tenant_id"] = ColumnStats{.n_distinct = 2000};
  tickets.columns["status"] =
      ColumnStats{.n_distinct = 3, .common_values = {"closed", "pending", "open"}, .common_freqs = {0.92, 0.03, 0.05}};
  tickets.columns["deleted_at"] = ColumnStats{.null_frac = 0.97, .n_distinct = -0.03};
  tickets.columns["created_at"] = ColumnStats{.n_distinct = -1};
  catalog.tables.push_back(tickets);
  const auto all = candidates(
      "SELECT id FROM tickets WHERE tenant_id = $1 AND status = 'open' AND deleted_at IS NULL "
      "ORDER BY created_at DESC LIMIT 20",
      catalog);
  const auto* partial = find(all, "partial");
  ASSERT_NE(partial, nullptr) << ::testing::PrintToString(identities(all));
  EXPECT_THAT(partial->keys, ElementsAre("tenant_id", "created_at DESC"));
  EXPECT_EQ(partial->where, "status = 'open' AND deleted_at IS NULL");
  // The full B-tree keeps the selective columns in order and leaves deleted_at IS NULL (97%) to the filter.
  const auto* ordered = find(all, "order_by");
  ASSERT_NE(ordered, nullptr);
  EXPECT_THAT(ordered->keys, ElementsAre("tenant_id", "status", "created_at DESC"));
  // Under LIMIT there is no covering variant: the limit bounds the heap fetches, not the index's size.
  EXPECT_EQ(find(all, "covering"), nullptr);
  // A common status is no partial index of its own, but soft deletes alone still make one.
  const auto closed = candidates(
      "SELECT id FROM tickets WHERE tenant_id = $1 AND status = 'closed' AND deleted_at IS NULL "
      "ORDER BY created_at DESC LIMIT 20",
      catalog);
  const auto* soft = find(closed, "partial");
  ASSERT_NE(soft, nullptr);
  EXPECT_EQ(soft->where, "deleted_at IS NULL");
  EXPECT_THAT(soft->keys, ElementsAre("tenant_id", "created_at DESC"));
}

// deleted_at < $1 on soft-deleted rows (97% NULL): the range implies IS NOT NULL,
// so (deleted_at) WHERE deleted_at IS NOT NULL holds 3% of the rows. Not for a
// column that is rarely NULL.
TEST(Candidates, RangeOnAMostlyNullColumnAlsoGetsAnIsNotNullPartial) {
  Catalog catalog;
  TableInfo tickets{.name = "tickets", .rows = 1e6, .analyzed = true, .has_stats = true};
  tickets.columns["deleted_at"] = ColumnStats{.null_frac = 0.97, .n_distinct = -0.03};
  tickets.columns["created_at"] = ColumnStats{.null_frac = 0.0, .n_distinct = -1};
  catalog.tables.push_back(tickets);
  const auto all = candidates("SELECT id FROM tickets WHERE deleted_at < '2023-03-01' LIMIT 1000", catalog);
  const auto* partial = find(all, "partial");
  ASSERT_NE(partial, nullptr) << ::testing::PrintToString(identities(all));
  EXPECT_THAT(partial->keys, ElementsAre("deleted_at"));
  EXPECT_EQ(partial->where, "deleted_at IS NOT NULL");
  EXPECT_THAT(partial->reason, HasSubstr("keeps 3.00% of the rows (pg_stats null_frac)"));
  EXPECT_NE(find(all, "btree"), nullptr) << "the full index stays a candidate: costing decides";
  EXPECT_EQ(find(candidates("SELECT id FROM tickets WHERE created_at < '2023-03-01' LIMIT 1000", catalog), "partial"),
            nullptr);
}

TEST(Candidates, TrigramForDjangoIcontainsAndNotForShortPatterns) {
  const auto all = candidates("SELECT id FROM tickets WHERE UPPER(title::text) LIKE UPPER('%refund%')");
  const auto* c = find(all, "trigram");
  ASSERT_NE(c, nullptr) << ::testing::PrintToString(identities(all));
  EXPECT_THAT(c->keys[0], HasSubstr("upper"));
  EXPECT_THAT(c->keys[0], HasSubstr("gin_trgm_ops"));
  // Fewer than three literal characters: a trigram index cannot narrow the search.
  EXPECT_EQ(find(candidates("SELECT id FROM tickets WHERE title ILIKE '%ab%'"), "trigram"), nullptr);
}

TEST(Candidates, JsonbContainmentUsesJsonbPathOpsWhenTheColumnIsJsonb) {
  Catalog catalog;
  TableInfo events{.name = "events", .rows = 1e6, .analyzed = true, .has_stats = true};
  events.columns["props"] = ColumnStats{.type = "jsonb"};
  catalog.tables.push_back(events);
  const auto containment = candidates("SELECT id FROM events WHERE props @> '{\"a\": 1}'", catalog);
  const auto* c = find(containment, "gin");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->keys[0], "props jsonb_path_ops");
  // The existence operator needs the default operator class.
  const auto existence = candidates("SELECT id FROM events WHERE props ? 'a'", catalog);
  const auto* exists = find(existence, "gin");
  ASSERT_NE(exists, nullptr);
  EXPECT_EQ(exists->keys[0], "props");
}

TEST(IndexSize, DeduplicationShrinksLowCardinalityKeysOnly) {
  Catalog catalog;
  TableInfo t{.name = "events", .rows = 1e6, .analyzed = true};
  t.columns["tenant_id"] = ColumnStats{.n_distinct = 2000, .avg_width = 4};
  t.columns["id"] = ColumnStats{.n_distinct = -1, .avg_width = 8};
  catalog.tables.push_back(t);
  Candidate low{.table = "events", .keys = {"tenant_id"}};
  Candidate unique{.table = "events", .keys = {"id"}};
  const long long hypopg = 30'000'000;
  EXPECT_LT(deduplicated_btree_size(low, catalog, hypopg), hypopg / 2);
  EXPECT_EQ(deduplicated_btree_size(unique, catalog, hypopg), hypopg);
  // INCLUDE columns turn deduplication off; an expression key has no statistics to go by.
  Candidate covering = low;
  covering.include = {"id"};
  EXPECT_EQ(deduplicated_btree_size(covering, catalog, hypopg), hypopg);
  Candidate expression{.table = "events", .keys = {"(lower(kind))"}};
  EXPECT_EQ(deduplicated_btree_size(expression, catalog, hypopg), hypopg);
}

TEST(Candidates, BrinOnlyForHighCorrelationOnLargeAppendOnlyTables) {
  Catalog catalog;
  TableInfo events{.name = "events", .rows = 1e6, .analyzed = true, .has_stats = true, .inserts = 1000000};
  events.columns["created_at"] = ColumnStats{.n_distinct = -1, .correlation = 0.999};
  events.columns["shuffled_at"] = ColumnStats{.n_distinct = -1, .correlation = 0.01};
  catalog.tables.push_back(events);
  EXPECT_NE(find(candidates("SELECT count(*) FROM events WHERE created_at > $1", catalog), "brin"), nullptr);
  EXPECT_EQ(find(candidates("SELECT count(*) FROM events WHERE shuffled_at > $1", catalog), "brin"), nullptr);
  catalog.tables[0].updates = 500000;  // not append-only
  EXPECT_EQ(find(candidates("SELECT count(*) FROM events WHERE created_at > $1", catalog), "brin"), nullptr);
}

TEST(Candidates, AnExistingIndexSuppressesOrIsWidened) {
  const Catalog catalog = catalog_from_ddl(
      "CREATE TABLE orders (id int, tenant_id int, created_at timestamp);"
      "CREATE INDEX orders_tenant ON orders (tenant_id);"
      "CREATE INDEX orders_created ON orders (created_at, id);");
  const auto served = candidates("SELECT * FROM orders WHERE created_at > $1", catalog);
  EXPECT_EQ(find(served, "btree"), nullptr) << "orders_created already starts with created_at";
  const auto widened = candidates("SELECT * FROM orders WHERE tenant_id = $1 AND created_at > $2", catalog);
  const auto* c = find(widened, "btree");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->widens, "orders_tenant");
}

TEST(Candidates, MaxColumnsCapsTheKeys) {
  const auto all = candidates_for(sql::parse_query("SELECT * FROM t WHERE a = 1 AND b = 2 AND c = 3 AND d > 4"), 0, {},
                                  CandidateLimits::from_rules(&rules(), 2));
  for (const auto& c : all) EXPECT_LE(c.keys.size(), 2u) << c.identity();
}

TEST(DropAdvice, DuplicatePrefixUnusedAndInvalid) {
  Catalog catalog;
  TableInfo t{.schema = "s", .name = "t"};
  t.indexes.push_back(
      {.name = "t_pkey", .keys = {"id"}, .unique = true, .primary = true, .constraint = true, .scans = 0});
  t.indexes.push_back({.name = "t_a", .keys = {"a"}, .scans = 5});
  t.indexes.push_back({.name = "t_a_b", .keys = {"a", "b"}, .scans = 7});
  t.indexes.push_back({.name = "t_c1", .keys = {"c"}, .scans = 3});
  t.indexes.push_back({.name = "t_c2", .keys = {"c"}, .scans = 3});
  t.indexes.push_back({.name = "t_d", .keys = {"d"}, .scans = 0});
  t.indexes.push_back({.name = "t_e_unique", .keys = {"e"}, .unique = true, .scans = 0});
  t.indexes.push_back({.name = "t_f", .keys = {"f"}, .valid = false, .scans = 0});
  catalog.tables.push_back(t);
  std::map<std::string, std::string> by_index;
  for (const auto& d : drop_advice(catalog)) {
    by_index[d.index] = d.rule_id;
    EXPECT_EQ(d.ddl, "DROP INDEX CONCURRENTLY " + d.index + ";");
  }
  EXPECT_EQ(by_index["t_a"], "INDEX_PREFIX_REDUNDANT");
  EXPECT_EQ(by_index["t_c2"], "INDEX_DUPLICATE");
  EXPECT_EQ(by_index["t_d"], "INDEX_UNUSED");
  EXPECT_EQ(by_index["t_f"], "INDEX_INVALID");
  EXPECT_FALSE(by_index.contains("t_pkey"));
  EXPECT_FALSE(by_index.contains("t_e_unique")) << "a unique index enforces something even when never scanned";
  EXPECT_FALSE(by_index.contains("t_c1"));
  EXPECT_FALSE(by_index.contains("t_a_b"));
}

TEST(Offline, RuleBasedCandidatesAreLabelledAndBadQueriesListed) {
  const std::vector<WorkloadQuery> workload = {{"SELECT * FROM orders WHERE customer_id = 42", 1000},
                                               {"SELEC nonsense", 1},
                                               {"SELECT * FROM unknown_table WHERE x = 1", 1},
                                               {"CREATE TABLE x (a int)", 1}};
  const auto r = advise_offline("CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL);", workload,
                                {}, &rules());
  EXPECT_EQ(r.mode, "rule_based");
  ASSERT_EQ(r.unverified.size(), 1u);
  EXPECT_FALSE(r.unverified[0].verified);
  EXPECT_THAT(r.unverified[0].evidence, HasSubstr("Unverified"));
  EXPECT_THAT(r.unverified[0].candidate.keys, ElementsAre("customer_id"));
  ASSERT_EQ(r.skipped.size(), 3u);
  EXPECT_THAT(r.skipped[0].reason, HasSubstr("does not parse"));
  EXPECT_THAT(r.skipped[1].reason, HasSubstr("unknown_table"));
  EXPECT_THAT(r.skipped[2].reason, HasSubstr("no plan"));
}

TEST(Offline, DuplicateIndexesInTheDdlAreFound) {
  const auto r =
      advise_offline("CREATE TABLE t (a int, b int); CREATE INDEX t_a ON t (a); CREATE INDEX t_a_again ON t (a);",
                     {{"SELECT * FROM t WHERE b = 1", 1}}, {}, &rules());
  ASSERT_EQ(r.drops.size(), 1u);
  EXPECT_EQ(r.drops[0].index, "t_a_again");
  EXPECT_EQ(r.drops[0].rule_id, "INDEX_DUPLICATE");
}

}  // namespace
}  // namespace dbopt::advisor

namespace dbopt::advisor {
namespace {

// Every index rule: a case where it fires and one where it must stay quiet.
struct RuleCase {
  std::string rule_id;
  bool fires;
  std::string sql;
};

Catalog stats_catalog() {
  Catalog catalog;
  TableInfo orders{.name = "orders", .rows = 1e6, .analyzed = true, .has_stats = true, .inserts = 1000000};
  ColumnStats status;
  status.common_values = {"closed", "open"};
  status.common_freqs = {0.98, 0.02};
  status.n_distinct = 2;
  orders.columns["status"] = status;
  orders.columns["created_at"] = ColumnStats{.n_distinct = -1, .correlation = 1.0};
  orders.columns["shuffled_at"] = ColumnStats{.n_distinct = -1, .correlation = 0.0};
  catalog.tables.push_back(orders);
  catalog.tables.push_back({.name = "customers"});
  catalog.tables.push_back({.name = "documents"});
  return catalog;
}

const std::vector<RuleCase>& rule_cases() {
  static const std::vector<RuleCase> cases = {
      {"INDEX_BTREE_EQUALITY_THEN_RANGE", true, "SELECT * FROM orders WHERE tenant_id = 1 AND created_at > $1"},
      {"INDEX_BTREE_EQUALITY_THEN_RANGE", false, "SELECT * FROM orders WHERE tenant_id <> 1"},
      {"INDEX_BTREE_ORDER_LIMIT", true, "SELECT * FROM orders WHERE tenant_id = 1 ORDER BY created_at DESC LIMIT 5"},
      {"INDEX_BTREE_ORDER_LIMIT", false, "SELECT * FROM orders WHERE tenant_id = 1 ORDER BY lower(note) LIMIT 5"},
      {"INDEX_JOIN_COLUMN", true, "SELECT 1 FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.id = 5"},
      {"INDEX_JOIN_COLUMN", false, "SELECT 1 FROM orders o WHERE o.customer_id = 5"},
      {"INDEX_COVERING", true, "SELECT total FROM orders WHERE customer_id = $1"},
      {"INDEX_COVERING", false, "SELECT * FROM orders WHERE customer_id = $1"},
      {"INDEX_PARTIAL", true, "SELECT id FROM orders WHERE status = 'open' ORDER BY created_at LIMIT 5"},
      {"INDEX_PARTIAL", false, "SELECT id FROM orders WHERE status = 'closed' ORDER BY created_at LIMIT 5"},
      {"INDEX_EXPRESSION", true, "SELECT * FROM customers WHERE lower(email) = $1"},
      {"INDEX_EXPRESSION", false, "SELECT * FROM customers WHERE email = $1"},
      {"INDEX_GIN_JSONB", true, "SELECT * FROM orders WHERE attrs ? 'gift'"},
      {"INDEX_GIN_JSONB", false, "SELECT * FROM orders WHERE attrs->>'gift' = 'yes'"},
      {"INDEX_GIN_JSONB", true, "SELECT * FROM orders WHERE tags && ARRAY['t1']"},
      {"INDEX_GIN_JSONB", false, "SELECT * FROM orders WHERE tags[1] = 't1'"},
      {"INDEX_GIN_FULLTEXT", true, "SELECT id FROM documents WHERE to_tsvector('simple', body) @@ to_tsquery('x')"},
      {"INDEX_GIN_FULLTEXT", false, "SELECT id FROM documents WHERE body = 'x'"},
      {"INDEX_TRGM", true, "SELECT * FROM customers WHERE name LIKE '%ann%'"},
      {"INDEX_TRGM", false, "SELECT * FROM customers WHERE name LIKE 'ann%'"},
      {"INDEX_BRIN", true, "SELECT count(*) FROM orders WHERE created_at >= $1"},
      {"INDEX_BRIN", false, "SELECT count(*) FROM orders WHERE shuffled_at >= $1"},
  };
  return cases;
}

TEST(IndexRules, EveryCandidateRuleFiresOnItsCaseAndStaysQuietOnTheOther) {
  const Catalog catalog = stats_catalog();
  for (const auto& c : rule_cases()) {
    SCOPED_TRACE(c.rule_id + ": " + c.sql);
    const auto all = candidates_for(sql::parse_query(c.sql), 0, catalog, CandidateLimits::from_rules(&rules(), 3));
    const bool fired = std::any_of(all.begin(), all.end(), [&](const Candidate& x) { return x.rule_id == c.rule_id; });
    EXPECT_EQ(fired, c.fires) << ::testing::PrintToString(identities(all));
    for (const auto& x : all) {
      const auto& rule = rules().rule(x.rule_id);  // throws for an id the knowledge base lacks
      EXPECT_EQ(rule.render_summary({{"table", x.table}, {"ddl", x.ddl()}, {"reason", x.reason}}).find("{{"),
                std::string::npos);
    }
  }
}

TEST(IndexRules, WriteOverheadNamesTheHotBreakingColumn) {
  const std::vector<WorkloadQuery> breaks = {{"SELECT * FROM t WHERE status = $1", 10},
                                             {"UPDATE t SET status = $1 WHERE id = $2", 10}};
  const auto fired = advise_offline("CREATE TABLE t (id int, status int, note text);", breaks, {}, &rules());
  ASSERT_FALSE(fired.unverified.empty());
  EXPECT_TRUE(fired.unverified[0].writes.breaks_hot);
  EXPECT_EQ(fired.unverified[0].writes.hot_columns, std::vector<std::string>{"status"});
  const std::vector<WorkloadQuery> keeps = {{"SELECT * FROM t WHERE status = $1", 10},
                                            {"UPDATE t SET note = $1 WHERE id = $2", 10}};
  const auto quiet = advise_offline("CREATE TABLE t (id int, status int, note text);", keeps, {}, &rules());
  ASSERT_FALSE(quiet.unverified.empty());
  for (const auto& r : quiet.unverified)
    if (r.candidate.keys == std::vector<std::string>{"status"}) {
      EXPECT_FALSE(r.writes.breaks_hot);
    }
  EXPECT_EQ(quiet.unverified[0].writes.workload_writes, 10);
  EXPECT_GT(rules().threshold("INDEX_WRITE_OVERHEAD", "cost_per_written_row"), 0);
}

TEST(IndexRules, EveryIndexRuleHasCases) {
  // Drop rules: DropAdvice.DuplicatePrefixUnusedAndInvalid; write overhead: above; foreign keys need
  // pg_constraint: SuggestIndexesLive.UnindexedForeignKeyIsReported / ForeignKeyQuietWhenIndexed.
  std::set<std::string> elsewhere = {"INDEX_UNUSED",  "INDEX_DUPLICATE",      "INDEX_PREFIX_REDUNDANT",
                                     "INDEX_INVALID", "INDEX_WRITE_OVERHEAD", "INDEX_FK_UNINDEXED"};
  for (const auto* rule : rules().rules_in(knowledge::Category::index)) {
    if (elsewhere.contains(rule->id)) continue;
    int fires = 0, quiet = 0;
    for (const auto& c : rule_cases())
      if (c.rule_id == rule->id) (c.fires ? fires : quiet)++;
    EXPECT_GT(fires, 0) << rule->id;
    EXPECT_GT(quiet, 0) << rule->id;
  }
}

}  // namespace
}  // namespace dbopt::advisor

namespace dbopt::advisor {
namespace {

// Found by the billing bench: two partial indexes on (org_id) with different
// predicates got one name, and the second CREATE INDEX failed.
TEST(CandidateName, PartialIndexesWithDifferentPredicatesHaveDifferentNames) {
  Candidate a;
  a.table = "crm_contact";
  a.keys = {"org_id"};
  a.where = "deleted_at IS NULL";
  Candidate b = a;
  b.where = "is_archived AND deleted_at IS NULL";
  EXPECT_EQ(a.name(), "crm_contact_org_id_deleted_at_partial_idx");
  EXPECT_EQ(b.name(), "crm_contact_org_id_is_archived_deleted_at_partial_idx");
  b.where = "status = 'open'::text";
  EXPECT_EQ(b.name(), "crm_contact_org_id_status_partial_idx") << "literals and casts are not columns";
  b.keys = {"deleted_at"};
  b.where = "deleted_at IS NOT NULL";
  EXPECT_EQ(b.name(), "crm_contact_deleted_at_partial_idx") << "a key column is named once";
}

}  // namespace
}  // namespace dbopt::advisor
