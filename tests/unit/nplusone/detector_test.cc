// N+1 detection on statement lists and small logs: each kind and its fix, the
// loops that must not be reported (and why), the thresholds of the three
// rules (each fires and stays quiet), catalog foreign keys and other ORMs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "core/nplusone/detector.h"
#include "knowledge/rule_book.h"

namespace dbopt::nplusone {
namespace {

using ::testing::HasSubstr;

const knowledge::RuleBook& rules() {
  static const knowledge::RuleBook book = knowledge::RuleBook::load_directory(DBOPT_SOURCE_DIR "/knowledge/rules");
  return book;
}

Options defaults(bool verbose = true) {
  Options o = options_from_rules(rules(), std::nullopt, std::nullopt);
  o.verbose = verbose;
  return o;
}

const std::string kBooks =
    "SELECT \"shop_book\".\"id\", \"shop_book\".\"title\", \"shop_book\".\"author_id\", "
    "\"shop_book\".\"publisher_id\" FROM \"shop_book\" ORDER BY \"shop_book\".\"id\" ASC LIMIT 10";

std::string author(int id) {
  return "SELECT \"shop_author\".\"id\", \"shop_author\".\"name\", \"shop_author\".\"profile_id\" FROM "
         "\"shop_author\" WHERE \"shop_author\".\"id\" = " +
         std::to_string(id) + " LIMIT 21";
}
std::string publisher(int id) {
  return "SELECT \"shop_publisher\".\"id\", \"shop_publisher\".\"name\" FROM \"shop_publisher\" WHERE "
         "\"shop_publisher\".\"id\" = " +
         std::to_string(id) + " LIMIT 21";
}

std::vector<std::string> loop(const std::string& source, int n, const std::function<std::string(int)>& body) {
  std::vector<std::string> out;
  if (!source.empty()) out.push_back(source);
  for (int i = 1; i <= n; ++i) out.push_back(body(i));
  return out;
}

TEST(Detector, ForwardForeignKeyInCountOnlyMode) {
  const auto r = analyze_statements(loop(kBooks, 6, author), defaults());
  ASSERT_EQ(r.groups.size(), 1u);
  const Group& g = r.groups[0];
  EXPECT_EQ(g.kind, Kind::forward_fk);
  EXPECT_EQ(g.rule_id, "WORKLOAD_NPLUSONE_READ_LOOP");
  EXPECT_EQ(g.n, 6u);
  EXPECT_EQ(g.fix.django, "Book.objects.select_related('author')");
  EXPECT_THAT(g.fix.sql, HasSubstr("LEFT JOIN shop_author ON shop_author.id = shop_book.author_id"));
  EXPECT_THAT(g.repeated_query, HasSubstr("\"shop_author\".\"id\" = $1"));
  EXPECT_THAT(g.source_query, HasSubstr("FROM \"shop_book\""));
  EXPECT_FALSE(r.timed);
  EXPECT_THAT(g.reason, HasSubstr("count only"));
}

TEST(Detector, FewerThanMinRepeatsIsNotReportedAndSaysWhy) {
  const auto r = analyze_statements(loop(kBooks, 4, author), defaults());
  EXPECT_TRUE(r.groups.empty());
  ASSERT_EQ(r.not_reported.size(), 1u);
  EXPECT_THAT(r.not_reported[0].reason, HasSubstr("fewer than min_repeats 5"));
  // The caller's min_repeats overrides the rule's.
  Options o = defaults();
  o = options_from_rules(rules(), 3, std::nullopt);
  EXPECT_EQ(analyze_statements(loop(kBooks, 4, author), o).groups.size(), 1u);
}

TEST(Detector, TheSameValuesEveryTimeAreACacheProblemNotALoop) {
  const auto r = analyze_statements(loop(kBooks, 8, [](int) { return author(3); }), defaults());
  EXPECT_TRUE(r.groups.empty());
  ASSERT_EQ(r.not_reported.size(), 1u);
  EXPECT_THAT(r.not_reported[0].reason, HasSubstr("same values"));
}

TEST(Detector, PaginationCountThenSelectIsNotALoop) {
  const auto r = analyze_statements({"SELECT COUNT(*) AS \"__count\" FROM \"shop_book\"", kBooks}, defaults());
  EXPECT_TRUE(r.groups.empty());
  EXPECT_TRUE(r.not_reported.empty());
}

TEST(Detector, BatchedWritesAreNotALoop) {
  const auto r = analyze_statements(loop("", 5,
                                         [](int i) {
                                           const auto v = std::to_string(i);
                                           return "INSERT INTO shop_tag (name) VALUES ('a" + v + "'), ('b" + v +
                                                  "'), ('c" + v + "')";
                                         }),
                                    defaults());
  EXPECT_TRUE(r.groups.empty());
  ASSERT_EQ(r.not_reported.size(), 1u);
  EXPECT_THAT(r.not_reported[0].reason, HasSubstr("batch"));
}

TEST(Detector, DifferentQueriesInALoopAreNotALoop) {
  std::vector<std::string> q = {kBooks};
  for (const char* t : {"shop_author", "shop_book", "shop_tag", "shop_publisher", "shop_reader", "shop_card"})
    q.push_back(std::string("SELECT COUNT(*) FROM ") + t);
  const auto r = analyze_statements(q, defaults());
  EXPECT_TRUE(r.groups.empty());
  EXPECT_TRUE(r.not_reported.empty());
}

TEST(Detector, ReadWithNoSourceQueryIsNotReported) {
  const auto r = analyze_statements(
      loop("", 6, [](int i) { return "SELECT * FROM shop_book WHERE title = 'b" + std::to_string(i) + "'"; }),
      defaults());
  EXPECT_TRUE(r.groups.empty());
  ASSERT_EQ(r.not_reported.size(), 1u);
  EXPECT_THAT(r.not_reported[0].reason, HasSubstr("no earlier query"));
}

TEST(Detector, LoopBodyOfTwoStatementsGivesTwoGroups) {
  std::vector<std::string> q = {kBooks};
  for (int i = 1; i <= 5; ++i) {
    q.push_back(author(i));
    q.push_back(publisher(i));
  }
  const auto r = analyze_statements(q, defaults());
  ASSERT_EQ(r.groups.size(), 2u);
  for (const auto& g : r.groups) {
    EXPECT_EQ(g.period, 2);
    EXPECT_EQ(g.n, 5u);
    EXPECT_EQ(g.kind, Kind::forward_fk);
  }
  std::set<std::string> fixes = {r.groups[0].fix.django, r.groups[1].fix.django};
  EXPECT_TRUE(fixes.contains("Book.objects.select_related('author')"));
  EXPECT_TRUE(fixes.contains("Book.objects.select_related('publisher')"));
}

TEST(Detector, NestedRelationThroughTheLoopBody) {
  std::vector<std::string> q = {kBooks};
  for (int i = 1; i <= 5; ++i) {
    q.push_back(author(i));
    q.push_back(
        "SELECT \"shop_profile\".\"id\", \"shop_profile\".\"bio\" FROM \"shop_profile\" WHERE "
        "\"shop_profile\".\"id\" = " +
        std::to_string(i) + " LIMIT 21");
  }
  const auto r = analyze_statements(q, defaults());
  ASSERT_EQ(r.groups.size(), 2u);
  const auto nested =
      std::find_if(r.groups.begin(), r.groups.end(), [](const Group& g) { return g.kind == Kind::nested_fk; });
  ASSERT_NE(nested, r.groups.end());
  EXPECT_EQ(nested->fix.django, "Book.objects.select_related('author__profile')");
  EXPECT_THAT(nested->via_query, HasSubstr("shop_author"));
}

TEST(Detector, CountAndExistsPerRow) {
  const auto counts = analyze_statements(loop(kBooks, 5,
                                              [](int i) {
                                                return "SELECT COUNT(*) AS \"__count\" FROM \"shop_review\" WHERE "
                                                       "\"shop_review\".\"book_id\" = " +
                                                       std::to_string(i);
                                              }),
                                         defaults());
  ASSERT_EQ(counts.groups.size(), 1u);
  EXPECT_EQ(counts.groups[0].kind, Kind::count_per_row);
  EXPECT_EQ(counts.groups[0].rule_id, "WORKLOAD_NPLUSONE_COUNT_LOOP");
  EXPECT_EQ(counts.groups[0].fix.django, "Book.objects.annotate(Count('review'))");
  const auto exists = analyze_statements(loop(kBooks, 5,
                                              [](int i) {
                                                return "SELECT (1) AS \"a\" FROM \"shop_review\" WHERE "
                                                       "\"shop_review\".\"book_id\" = " +
                                                       std::to_string(i) + " LIMIT 1";
                                              }),
                                         defaults());
  ASSERT_EQ(exists.groups.size(), 1u);
  EXPECT_EQ(exists.groups[0].kind, Kind::exists_per_row);
  EXPECT_EQ(exists.groups[0].fix.django,
            "Book.objects.annotate(has_review=Exists(Review.objects.filter(book=OuterRef('pk'))))");
}

TEST(Detector, CountRuleStaysQuietBelowItsThreshold) {
  const auto r = analyze_statements(
      loop(kBooks, 4,
           [](int i) { return "SELECT COUNT(*) FROM shop_review WHERE shop_review.book_id = " + std::to_string(i); }),
      defaults());
  EXPECT_TRUE(r.groups.empty());
  ASSERT_EQ(r.not_reported.size(), 1u);
  EXPECT_EQ(r.not_reported[0].rule_id, "WORKLOAD_NPLUSONE_COUNT_LOOP");
}

TEST(Detector, WritesInALoop) {
  auto one = [](const std::function<std::string(int)>& body, int n) {
    return analyze_statements(loop("", n, body), defaults());
  };
  const auto inserts = one(
      [](int i) {
        return "INSERT INTO \"shop_review\" (\"book_id\", \"stars\") VALUES (" + std::to_string(i) +
               ", 3) RETURNING \"shop_review\".\"id\"";
      },
      6);
  ASSERT_EQ(inserts.groups.size(), 1u);
  EXPECT_EQ(inserts.groups[0].kind, Kind::insert_in_loop);
  EXPECT_EQ(inserts.groups[0].rule_id, "WORKLOAD_NPLUSONE_WRITE_LOOP");
  EXPECT_EQ(inserts.groups[0].fix.django, "Review.objects.bulk_create(objs)");
  const auto updates = one(
      [](int i) {
        return "UPDATE \"shop_book\" SET \"title\" = 'x', \"price\" = " + std::to_string(i) +
               " WHERE \"shop_book\".\"id\" = " + std::to_string(i);
      },
      6);
  ASSERT_EQ(updates.groups.size(), 1u);
  EXPECT_EQ(updates.groups[0].fix.django, "Book.objects.bulk_update(objs, ['title', 'price'])");
  const auto deletes = one(
      [](int i) { return "DELETE FROM \"shop_review\" WHERE \"shop_review\".\"id\" IN (" + std::to_string(i) + ")"; },
      6);
  ASSERT_EQ(deletes.groups.size(), 1u);
  EXPECT_EQ(deletes.groups[0].kind, Kind::delete_in_loop);
  EXPECT_EQ(deletes.groups[0].fix.django, "Review.objects.filter(id__in=ids).delete()");
  EXPECT_TRUE(one([](int i) { return "DELETE FROM shop_review WHERE id = " + std::to_string(i); }, 4).groups.empty());
}

TEST(Detector, TimeThresholdFromTheRuleWithDurations) {
  auto django_log = [](double seconds_each) {
    std::ostringstream log;
    log << "(0.002) " << kBooks << "; args=()\n";
    for (int i = 1; i <= 6; ++i) log << "(" << seconds_each << ") " << author(i) << "; args=(" << i << ",)\n";
    return log.str();
  };
  {
    std::istringstream in(django_log(0.001));  // 6 ms in all: below 50 ms
    const auto r = analyze_log(in, {}, defaults());
    EXPECT_TRUE(r.timed);
    EXPECT_TRUE(r.groups.empty());
    ASSERT_EQ(r.not_reported.size(), 1u);
    EXPECT_THAT(r.not_reported[0].reason, HasSubstr("less than min_total_ms 50"));
  }
  {
    std::istringstream in(django_log(0.012));  // 72 ms
    const auto r = analyze_log(in, {}, defaults());
    ASSERT_EQ(r.groups.size(), 1u);
    EXPECT_NEAR(r.groups[0].total_ms, 72.0, 1e-6);
    EXPECT_NEAR(r.groups[0].mean_ms(), 12.0, 1e-6);
    EXPECT_NEAR(r.groups[0].share(), 72.0 / 74.0, 1e-6);
  }
}

TEST(Detector, CatalogForeignKeysNameRelationsConventionsCannot) {
  std::vector<std::string> q = {"SELECT id, title, written_by_id FROM shop_book"};
  for (int i = 1; i <= 5; ++i) q.push_back("SELECT id, name FROM auth_user WHERE auth_user.id = " + std::to_string(i));
  const auto plain = analyze_statements(q, defaults());
  ASSERT_EQ(plain.groups.size(), 1u);
  EXPECT_EQ(plain.groups[0].kind, Kind::get_in_loop);
  EXPECT_EQ(plain.groups[0].fix.django, "User.objects.in_bulk(ids)");
  Options o = defaults();
  o.foreign_keys = {{"shop_book", "written_by_id", "auth_user", "id"}};
  const auto with_catalog = analyze_statements(q, o);
  ASSERT_EQ(with_catalog.groups.size(), 1u);
  EXPECT_EQ(with_catalog.groups[0].kind, Kind::forward_fk);
  EXPECT_EQ(with_catalog.groups[0].fix.django, "Book.objects.select_related('written_by')");
}

TEST(Detector, OtherFrameworksGetTheirForm) {
  for (const auto& [framework, expected] :
       {std::pair{Framework::sqlalchemy, "select(Book).options(joinedload(Book.author))"},
        std::pair{Framework::rails, "Book.includes(:author)"},
        std::pair{Framework::graphql, "a DataLoader keyed by id"}}) {
    Options o = defaults();
    o.framework = framework;
    const auto r = analyze_statements(loop(kBooks, 5, author), o);
    ASSERT_EQ(r.groups.size(), 1u);
    const auto& f = r.groups[0].fix;
    EXPECT_THAT(f.sqlalchemy + f.rails + f.graphql, HasSubstr(expected)) << to_string(framework);
    EXPECT_FALSE(f.sql.empty());
    EXPECT_FALSE(f.django.empty());
  }
}

TEST(Detector, UnparsableAndTruncatedStatementsAreCountedNotLooped) {
  std::vector<std::string> q = {kBooks};
  for (int i = 1; i <= 6; ++i) q.push_back("SELECT * FROM shop_author WHERE id = " + std::to_string(i) + " AND ...");
  q.push_back("NOT SQL AT ALL (");
  const auto r = analyze_statements(q, defaults());
  EXPECT_TRUE(r.groups.empty());
  EXPECT_EQ(r.unparsed_statements, 7u);
}

TEST(Detector, AggregatesOneLoopOverManyUnits) {
  std::ostringstream log;
  for (int unit = 0; unit < 3; ++unit) {
    log << "dbopt-unit: request-" << unit << "\n";
    log << "(0.002) " << kBooks << "; args=()\n";
    for (int i = 1; i <= 5 + unit; ++i) log << "(0.020) " << author(i + unit) << "; args=()\n";
  }
  std::istringstream in(log.str());
  const auto r = analyze_log(in, {}, defaults());
  ASSERT_EQ(r.groups.size(), 1u);
  EXPECT_EQ(r.units, 3u);
  EXPECT_EQ(r.groups[0].units, 3u);
  EXPECT_EQ(r.groups[0].n, 7u);
  EXPECT_EQ(r.groups[0].executions, 18u);
  EXPECT_EQ(r.groups[0].first_unit, "log [request-0]");
  EXPECT_THAT(r.grouping, HasSubstr("3 dbopt-unit: markers"));
}

}  // namespace
}  // namespace dbopt::nplusone
