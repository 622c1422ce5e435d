// Shape keys (the cheap literal-stripping scan), the shape cache (libpg_query
// once per distinct key) and the grouping of statements into units of work.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/workload/shape_cache.h"
#include "core/workload/shape_key.h"
#include "core/workload/unit_grouper.h"

namespace dbopt::workload {
namespace {

using ::testing::ElementsAre;

std::string key_of(std::string_view sql, ShapeScan* scan = nullptr) {
  std::string key;
  const auto s = shape_key(sql, key);
  if (scan) *scan = s;
  return key;
}

TEST(ShapeKey, ConstantsAndPlaceholdersBecomeOneMark) {
  EXPECT_EQ(key_of("SELECT * FROM t WHERE a = 42 AND b = 'x''y' AND c = $3 AND d = %s AND e = -1.5e3"),
            "SELECT * FROM t WHERE a = ? AND b = ? AND c = ? AND d = ? AND e = -?");
  EXPECT_EQ(key_of("SELECT t1.c2, \"Col 3\" FROM t1 WHERE x = E'a\\'b'"),
            "SELECT t1.c2, \"Col 3\" FROM t1 WHERE x = ?");
  EXPECT_EQ(key_of("SELECT  1\n\t FROM t /* traceparent='00-ab' */ -- trailing\n;"), "SELECT ? FROM t");
}

TEST(ShapeKey, InListsOfAnyLengthAreOneShapeAndCounted) {
  ShapeScan three, one;
  EXPECT_EQ(key_of("SELECT * FROM t WHERE id IN (1, 2, 3)", &three), key_of("SELECT * FROM t WHERE id IN (7)", &one));
  EXPECT_EQ(three.max_list_items, 3);
  EXPECT_EQ(one.max_list_items, 1);
  EXPECT_EQ(key_of("SELECT * FROM t WHERE id = ANY(ARRAY[1,2])"), "SELECT * FROM t WHERE id = ANY(ARRAY[?])");
  // A function call's arguments are not a list to collapse.
  EXPECT_EQ(key_of("SELECT f(1, 2)"), "SELECT f(?, ?)");
}

TEST(ShapeKey, MultiRowValuesCollapseAndCountRows) {
  ShapeScan scan;
  const auto key = key_of("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z')", &scan);
  EXPECT_EQ(key, "INSERT INTO t (a, b) VALUES (?, ?)");
  EXPECT_EQ(scan.max_list_items, 3);
  EXPECT_EQ(key, key_of("INSERT INTO t (a, b) VALUES (9, 'q')"));
}

TEST(ShapeKey, ValuesHashTellsOtherValuesFromTheSameValues) {
  ShapeScan a, b, c;
  key_of("SELECT * FROM t WHERE id = 1", &a);
  key_of("SELECT * FROM t WHERE id = 2", &b);
  key_of("SELECT  *  FROM t WHERE id = 1", &c);
  EXPECT_NE(a.values_hash, b.values_hash);
  EXPECT_EQ(a.values_hash, c.values_hash);
}

TEST(ShapeKey, TruncatedStatementsAreFlagged) {
  ShapeScan scan;
  key_of("SELECT * FROM t WHERE id = 1 AND ...", &scan);
  EXPECT_TRUE(scan.truncated);
  key_of("SELECT '...'", &scan);
  EXPECT_FALSE(scan.truncated);
}

TEST(ShapeKey, AnyBytesAreSafe) {
  const std::string bytes("\x00\xff'unterminated \"also $$ and /* and %(", 38);
  EXPECT_NO_THROW(key_of(bytes));
}

TEST(DollarPlaceholders, DbApiParametersAreNumbered) {
  EXPECT_EQ(dollar_placeholders("SELECT * FROM t WHERE a = %s AND b = %(name)s AND c LIKE 'x%s' AND d = '100%%'"),
            "SELECT * FROM t WHERE a = $1 AND b = $2 AND c LIKE 'x%s' AND d = '100%%'");
}

TEST(ShapeCache, ParsesOncePerKeyAndMergesEqualFingerprints) {
  ShapeCache cache;
  const auto a = cache.intern("SELECT * FROM t WHERE id IN (1, 2, 3)");
  const auto b = cache.intern("SELECT * FROM t WHERE id IN (4, 5, 6)");
  EXPECT_EQ(a.shape, b.shape);
  EXPECT_EQ(cache.parse_calls(), 1u);
  // Another key (other whitespace in a comment-free spot is equal; a different cast is not), same fingerprint.
  const auto c = cache.intern("select * from t where id in ($1)");
  EXPECT_EQ(c.shape, a.shape);
  EXPECT_EQ(cache.parse_calls(), 2u);
  EXPECT_EQ(cache.size(), 1u);
  const Shape& s = cache.shape(a.shape);
  ASSERT_TRUE(s.model);
  EXPECT_EQ(s.model->kind, sql::StatementKind::select);
  EXPECT_EQ(s.count, 3u);
  // DB-API placeholders parse.
  const auto d = cache.intern("SELECT * FROM t WHERE id = %s");
  EXPECT_TRUE(cache.shape(d.shape).model);
  // libpg_query fingerprints `id = $1` like `id IN (...)`: the loop and its batch stay two shapes.
  EXPECT_NE(d.shape, a.shape);
}

TEST(ShapeCache, UnparsableAndTruncatedTextsKeepTheReason) {
  ShapeCache cache;
  const auto a = cache.intern("SELEKT nonsense (");
  EXPECT_FALSE(cache.shape(a.shape).model);
  EXPECT_FALSE(cache.shape(a.shape).error.empty());
  const auto b = cache.intern("SELECT * FROM t WHERE id = 1 AND b = ...");
  EXPECT_FALSE(cache.shape(b.shape).model);
}

StatementEvent event(std::string session, std::optional<double> ts = std::nullopt, std::string request = {}) {
  StatementEvent e;
  e.session = std::move(session);
  e.ts_ms = ts;
  e.request_id = std::move(request);
  return e;
}

TEST(UnitGrouper, RequestIdBeatsSessionAndGapsSplitSessions) {
  std::vector<std::pair<std::string, std::vector<int>>> units;
  UnitGrouper<int> g({.gap_ms = 100, .max_events = 100, .max_open = 10},
                     [&](UnitGrouper<int>::Unit&& u) { units.emplace_back(u.key, u.items); });
  g.add(event("s1", 0), 1);
  g.add(event("s1", 50), 2);
  g.add(event("s2", 60), 3);
  g.add(event("s1", 500), 4);  // a pause: a new unit of s1
  g.add(event("s1", 510, "r9"), 5);
  g.close_all();
  ASSERT_EQ(units.size(), 4u);
  EXPECT_EQ(units[0].first, "session s1");
  EXPECT_THAT(units[0].second, ElementsAre(1, 2));
  EXPECT_EQ(g.gap_splits(), 1u);
  EXPECT_EQ(g.keyed(GroupingKind::request), 1u);
  EXPECT_EQ(g.keyed(GroupingKind::session), 4u);
}

// Four threads at once: each thread is a unit, and a thread's marker ends only that thread's unit.
TEST(UnitGrouper, InterleavedThreadsStayApartAndTheirMarkersAreTheirOwn) {
  std::vector<std::pair<std::string, std::vector<int>>> units;
  UnitGrouper<int> g({}, [&](UnitGrouper<int>::Unit&& u) { units.emplace_back(u.key, u.items); });
  auto on = [](std::string thread) {
    StatementEvent e;
    e.thread = std::move(thread);
    e.session = "default";  // Django's alias: shared by every thread
    return e;
  };
  g.boundary("", "a", "T1");
  g.add(on("T1"), 1);
  g.boundary("", "b", "T2");
  g.add(on("T2"), 2);
  g.add(on("T1"), 3);
  g.boundary("", "c", "T1");  // T1's next request; T2's unit goes on
  g.add(on("T2"), 4);
  g.add(on("T1"), 5);
  g.close_all();
  ASSERT_EQ(units.size(), 3u);
  EXPECT_EQ(units[0].first, "thread T1 [a]");
  EXPECT_THAT(units[0].second, ElementsAre(1, 3));
  EXPECT_EQ(units[1].first, "thread T2 [b]");
  EXPECT_THAT(units[1].second, ElementsAre(2, 4));
  EXPECT_EQ(units[2].first, "thread T1 [c]");
  EXPECT_EQ(g.keyed(GroupingKind::thread), 5u);
}

TEST(UnitGrouper, ApplicationNameAloneIsAKey) {
  std::vector<std::string> keys;
  UnitGrouper<int> g({}, [&](UnitGrouper<int>::Unit&& u) { keys.push_back(u.key); });
  StatementEvent a, b;
  a.application = "checkout";
  b.application = "search";
  g.add(a, 1);
  g.add(b, 2);
  g.add(a, 3);
  g.close_all();
  EXPECT_THAT(keys, ::testing::UnorderedElementsAre("application checkout", "application search"));
  EXPECT_EQ(g.keyed(GroupingKind::application), 3u);
}

TEST(UnitGrouper, MarkersEndUnitsAndNameTheNextOnes) {
  std::vector<std::string> keys;
  UnitGrouper<int> g({}, [&](UnitGrouper<int>::Unit&& u) { keys.push_back(u.key); });
  g.add(event(""), 1);
  g.boundary("", "checkout");
  g.add(event(""), 2);
  g.add(event("s7"), 3);
  g.boundary("s7");  // the session ended
  g.close_all();
  EXPECT_THAT(keys, ElementsAre("log", "session s7 [checkout]", "log [checkout]"));
}

TEST(UnitGrouper, MemoryIsBoundedByOpenUnitsAndEvents) {
  std::size_t units = 0, largest = 0;
  UnitGrouper<int> g({.gap_ms = 1000, .max_events = 10, .max_open = 3}, [&](UnitGrouper<int>::Unit&& u) {
    ++units;
    largest = std::max(largest, u.items.size());
  });
  for (int i = 0; i < 1000; ++i) g.add(event("s" + std::to_string(i % 7)), i);
  g.close_all();
  EXPECT_LE(largest, 10u);
  EXPECT_GE(units, 100u);
}

}  // namespace
}  // namespace dbopt::workload
