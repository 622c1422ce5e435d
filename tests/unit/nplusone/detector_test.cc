// N+1 detection on statement lists and small logs: each kind and its fix, the
// loops that must not be reported (and why), the thresholds of the three
// rules (each fires and stays quiet), severity by time, combined fixes of a
// loop body, loops inside loops, call sites from stacks in both orders,
// catalog foreign keys, models.py names, GraphQL DataLoaders and other ORMs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/nplusone/detector.h"
#include "core/nplusone/models_file.h"
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
  // One loop, one fix: both relations in one call.
  for (const auto& g : r.groups) EXPECT_EQ(g.fix.django, "Book.objects.select_related('author', 'publisher')");
  std::set<std::string> relations = {r.groups[0].fix.relation, r.groups[1].fix.relation};
  EXPECT_EQ(relations, (std::set<std::string>{"author", "publisher"}));
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
  for (const auto& g : r.groups) EXPECT_EQ(g.fix.django, "Book.objects.select_related('author__profile')");
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

std::string django_log(double seconds_each, int n = 6) {
  std::ostringstream log;
  log << "(0.002) " << kBooks << "; args=()\n";
  for (int i = 1; i <= n; ++i) log << "(" << seconds_each << ") " << author(i) << "; args=(" << i << ",)\n";
  return log.str();
}

TEST(Detector, DetectionIsByCountNotTime) {
  std::istringstream in(django_log(0.0001));  // 0.6 ms in all: local queries are this fast
  const auto r = analyze_log(in, {}, defaults());
  EXPECT_TRUE(r.timed);
  ASSERT_EQ(r.groups.size(), 1u);
  EXPECT_NEAR(r.groups[0].total_ms, 0.6, 1e-6);
}

TEST(Detector, MinTotalMsStaysAvailable) {
  {
    std::istringstream in(django_log(0.001));  // 6 ms in all: below the 50 ms asked for
    const auto r = analyze_log(in, {}, [] {
      Options o = options_from_rules(rules(), std::nullopt, 50.0);
      o.verbose = true;
      return o;
    }());
    EXPECT_TRUE(r.groups.empty());
    ASSERT_EQ(r.not_reported.size(), 1u);
    EXPECT_THAT(r.not_reported[0].reason, HasSubstr("less than min_total_ms 50"));
  }
  {
    std::istringstream in(django_log(0.012));  // 72 ms
    const auto r = analyze_log(in, {}, options_from_rules(rules(), std::nullopt, 50.0));
    ASSERT_EQ(r.groups.size(), 1u);
    EXPECT_NEAR(r.groups[0].total_ms, 72.0, 1e-6);
    EXPECT_NEAR(r.groups[0].mean_ms(), 12.0, 1e-6);
    EXPECT_NEAR(r.groups[0].share(), 72.0 / 74.0, 1e-6);
  }
}

// Severity from the rule's thresholds: the loop's time per unit of work and its share of the unit's time.
TEST(Detector, TimeDecidesSeverityAndOrder) {
  std::ostringstream log;
  log << "dbopt-unit: slow\n(0.050) " << kBooks << "; args=()\n";
  for (int i = 1; i <= 5; ++i) log << "(0.0001) " << author(i) << "; args=()\n";  // 0.5 ms of 50.5: 1%
  log << "dbopt-unit: loop\n(0.001) SELECT \"shop_review\".\"id\", \"shop_review\".\"book_id\" FROM "
         "\"shop_review\"; args=()\n";
  for (int i = 1; i <= 5; ++i) log << "(0.020) " << publisher(i) << "; args=()\n";  // 100 ms: high
  std::istringstream in(log.str());
  const auto r = analyze_log(in, {}, defaults());
  ASSERT_EQ(r.groups.size(), 2u);
  EXPECT_EQ(r.groups[0].table, "shop_publisher");  // most time first
  EXPECT_EQ(r.groups[0].severity, "high");
  EXPECT_THAT(r.groups[0].severity_reason, HasSubstr("100.0 ms per unit of work"));
  EXPECT_EQ(r.groups[1].table, "shop_author");
  EXPECT_EQ(r.groups[1].severity, "low");
  // Without durations, the repeats decide.
  EXPECT_EQ(analyze_statements(loop(kBooks, 6, author), defaults()).groups[0].severity, "low");
  EXPECT_EQ(analyze_statements(loop(kBooks, 60, author), defaults()).groups[0].severity, "high");
}

TEST(Detector, BorderlineThreeRepeatsStayUnflagged) {
  const auto r = analyze_statements(loop(kBooks, 3, author), defaults());
  EXPECT_TRUE(r.groups.empty());
  ASSERT_EQ(r.not_reported.size(), 1u);
  EXPECT_THAT(r.not_reported[0].reason, HasSubstr("ran 3 times in one loop, fewer than min_repeats 5"));
}

TEST(Detector, CatalogForeignKeysNameRelationsConventionsCannot) {
  std::vector<std::string> q = {"SELECT id, title, written_by_id FROM shop_book"};
  for (int i = 1; i <= 5; ++i) q.push_back("SELECT id, name FROM auth_user WHERE auth_user.id = " + std::to_string(i));
  const auto plain = analyze_statements(q, defaults());
  ASSERT_EQ(plain.groups.size(), 1u);
  EXPECT_EQ(plain.groups[0].kind, Kind::get_in_loop);
  EXPECT_EQ(plain.groups[0].fix.django, "User.objects.in_bulk(ids)");
  Options o = defaults();
  o.schema.foreign_keys = {{"shop_book", "written_by_id", "auth_user", "id"}};
  const auto with_catalog = analyze_statements(q, o);
  ASSERT_EQ(with_catalog.groups.size(), 1u);
  EXPECT_EQ(with_catalog.groups[0].kind, Kind::forward_fk);
  EXPECT_EQ(with_catalog.groups[0].fix.django, "Book.objects.select_related('written_by')");
}

TEST(Detector, OtherFrameworksGetTheirFormAndNoDjangoCall) {
  for (const auto& [framework, expected] :
       {std::pair{Framework::sqlalchemy, "select(Book).options(joinedload(Book.author))"},
        std::pair{Framework::rails, "Book.includes(:author)"}, std::pair{Framework::graphql, "new DataLoader"}}) {
    Options o = defaults();
    o.framework = framework;
    const auto r = analyze_statements(loop(kBooks, 5, author), o);
    ASSERT_EQ(r.groups.size(), 1u);
    const auto& f = r.groups[0].fix;
    EXPECT_THAT(f.sqlalchemy + f.rails + f.graphql, HasSubstr(expected)) << to_string(framework);
    EXPECT_FALSE(f.sql.empty());
    EXPECT_TRUE(f.django.empty()) << "not a Django application: " << f.django;
  }
}

// issue 16: a GraphQL server's resolver loop, sub-millisecond queries, in a PostgreSQL stderr log.
std::string graphql_log(const std::string& app) {
  std::ostringstream log;
  const std::string prefix = "2026-11-27 10:00:00.%03d UTC [4242] user=api,db=shop,app=" + app + " ";
  char head[160];
  int ms = 0;
  auto line = [&](const std::string& rest) {
    std::snprintf(head, sizeof head, prefix.c_str(), ms++);
    log << head << rest << "\n";
  };
  line("LOG:  duration: 0.210 ms  execute <unnamed>: SELECT id, name FROM customers ORDER BY id LIMIT $1");
  line("DETAIL:  parameters: $1 = '20'");
  for (int i = 1; i <= 20; ++i) {
    line(
        "LOG:  duration: 0.041 ms  execute <unnamed>: SELECT id, customer_id, total FROM orders WHERE customer_id = "
        "$1");
    line("DETAIL:  parameters: $1 = '" + std::to_string(i) + "'");
  }
  return log.str();
}

TEST(Detector, GraphqlResolverLoopInAServerLogGetsADataLoader) {
  std::istringstream in(graphql_log("apollo-graphql"));
  const auto r = analyze_log(in, {}, defaults());
  EXPECT_EQ(r.framework, Framework::graphql);
  EXPECT_THAT(r.framework_evidence, HasSubstr("apollo-graphql"));
  ASSERT_EQ(r.groups.size(), 1u);
  const Group& g = r.groups[0];
  EXPECT_EQ(g.kind, Kind::reverse_fk);
  EXPECT_EQ(g.n, 20u);
  EXPECT_EQ(g.units, 1u);
  EXPECT_EQ(r.units, 1u);
  EXPECT_TRUE(g.fix.django.empty()) << "no invented related name (order_set) for a GraphQL server: " << g.fix.django;
  EXPECT_THAT(g.fix.graphql, HasSubstr("const ordersByCustomerId = new DataLoader(async (keys) => {"));
  EXPECT_THAT(g.fix.graphql, HasSubstr("SELECT * FROM orders WHERE customer_id = ANY($1)"));
  EXPECT_THAT(g.fix.graphql, HasSubstr("byKey.get(row.customer_id)?.push(row)"));
  EXPECT_THAT(g.fix.graphql, HasSubstr("loaders.ordersByCustomerId.load(parent.id)"));

  std::istringstream python(graphql_log("strawberry-graphql"));
  const auto p = analyze_log(python, {}, defaults());
  ASSERT_EQ(p.groups.size(), 1u);
  EXPECT_TRUE(p.python);
  EXPECT_THAT(p.groups[0].fix.graphql, HasSubstr("from strawberry.dataloader import DataLoader"));
  EXPECT_THAT(p.groups[0].fix.graphql, HasSubstr("async def load_orders_by_customer_id(keys):"));
  EXPECT_THAT(p.groups[0].fix.graphql, HasSubstr("ANY($1)"));
}

TEST(Detector, AGroupCountsDistinctUnitsAndItsLoops) {
  // One unit of work with the same loop three times (three resolver batches).
  std::vector<std::string> q;
  for (int batch = 0; batch < 3; ++batch) {
    q.push_back(kBooks);
    for (int i = 1; i <= 5; ++i) q.push_back(author(batch * 10 + i));
  }
  const auto r = analyze_statements(q, defaults());
  ASSERT_EQ(r.groups.size(), 1u);
  EXPECT_EQ(r.units, 1u);
  EXPECT_EQ(r.groups[0].units, 1u);
  EXPECT_EQ(r.groups[0].loops, 3u);
  EXPECT_EQ(r.groups[0].executions, 15u);
}

std::string comments(int post) {
  return "SELECT \"blog_comment\".\"id\", \"blog_comment\".\"post_id\", \"blog_comment\".\"author_id\" FROM "
         "\"blog_comment\" WHERE \"blog_comment\".\"post_id\" = " +
         std::to_string(post);
}
std::string blog_author(int id) {
  return "SELECT \"blog_author\".\"id\", \"blog_author\".\"name\" FROM \"blog_author\" WHERE "
         "\"blog_author\".\"id\" = " +
         std::to_string(id) + " LIMIT 21";
}
const std::string kPosts =
    "SELECT \"blog_post\".\"id\", \"blog_post\".\"title\" FROM \"blog_post\" ORDER BY \"blog_post\".\"id\"";

const char* kBlogModels = R"py(# blog/models.py
class Author(models.Model):
    name = models.CharField(max_length=100)

class Post(models.Model):
    title = models.CharField(max_length=200)

class Comment(models.Model):
    post = models.ForeignKey(
        Post, on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey("blog.Author", on_delete=models.CASCADE, related_name='comments')
)py";

// A loop inside a loop: each post's comments, each comment's author (0 to 3 per post).
TEST(Detector, ReverseRelationWhoseRowsLoadAForwardKeyGetsPrefetchWithSelectRelated) {
  std::vector<std::string> q = {kPosts};
  int author_id = 0;
  for (int post = 1; post <= 6; ++post) {
    q.push_back(comments(post));
    for (int c = 0; c < post % 4; ++c) q.push_back(blog_author(++author_id % 5 + 1));
  }
  Options o = defaults();
  o.schema.models = parse_models(kBlogModels);
  const auto r = analyze_statements(q, o);
  ASSERT_EQ(r.groups.size(), 2u);
  const std::string fix =
      "Post.objects.prefetch_related(Prefetch('comments', queryset=Comment.objects.select_related('author')))";
  for (const auto& g : r.groups) {
    EXPECT_EQ(g.fix.django, fix) << to_string(g.kind);
    EXPECT_EQ(g.fix.names_from, "models.py");
  }
  const auto inner =
      std::find_if(r.groups.begin(), r.groups.end(), [](const Group& g) { return g.kind == Kind::nested_fk; });
  ASSERT_NE(inner, r.groups.end());
  EXPECT_EQ(inner->executions, 1u + 2 + 3 + 0 + 1 + 2);
  // Without models.py: Django's default related name, and the answer says so.
  const auto plain = analyze_statements(q, defaults());
  ASSERT_FALSE(plain.groups.empty());
  EXPECT_EQ(
      plain.groups[0].fix.django,
      "Post.objects.prefetch_related(Prefetch('comment_set', queryset=Comment.objects.select_related('author')))");
  EXPECT_THAT(plain.groups[0].fix.names_from, HasSubstr("Django's naming conventions and default related names"));
}

TEST(Detector, CountsAndExistsUseTheRelatedName) {
  Options o = defaults();
  o.schema.models = parse_models(kBlogModels);
  const auto counts = analyze_statements(loop(kPosts, 5,
                                              [](int i) {
                                                return "SELECT COUNT(*) AS \"__count\" FROM \"blog_comment\" WHERE "
                                                       "\"blog_comment\".\"post_id\" = " +
                                                       std::to_string(i);
                                              }),
                                         o);
  ASSERT_EQ(counts.groups.size(), 1u);
  EXPECT_EQ(counts.groups[0].fix.django, "Post.objects.annotate(Count('comments'))");
  const auto exists = analyze_statements(loop(kPosts, 5,
                                              [](int i) {
                                                return "SELECT (1) AS \"a\" FROM \"blog_comment\" WHERE "
                                                       "\"blog_comment\".\"post_id\" = " +
                                                       std::to_string(i) + " LIMIT 1";
                                              }),
                                         o);
  ASSERT_EQ(exists.groups.size(), 1u);
  EXPECT_EQ(exists.groups[0].fix.django,
            "Post.objects.annotate(has_comments=Exists(Comment.objects.filter(post=OuterRef('pk'))))");
}

TEST(Detector, SameValueForEveryRowIsOneQuerysetUpdate) {
  auto updates = [](const std::function<std::string(int)>& set) {
    std::ostringstream log;
    log << "(0.001) " << kPosts << "; args=()\n";
    for (int i = 1; i <= 6; ++i)
      log << "(0.001) UPDATE \"blog_post\" SET " << set(i) << " WHERE \"blog_post\".\"id\" = " << i << "; args=(" << i
          << ",)\n";
    std::istringstream in(log.str());
    return analyze_log(in, {}, defaults());
  };
  const auto same = updates([](int) { return "\"published\" = true"; });
  ASSERT_EQ(same.groups.size(), 1u);
  EXPECT_EQ(same.groups[0].fix.django, "Post.objects.filter(id__in=ids).update(published=True)");
  const auto differ = updates([](int i) { return "\"views\" = " + std::to_string(i * 3); });
  ASSERT_EQ(differ.groups.size(), 1u);
  EXPECT_EQ(differ.groups[0].fix.django, "Post.objects.bulk_update(objs, ['views'])");
}

// JSON Lines with stacks: the call site is the innermost frame of the application's own code, in
// either order of the frames, never the middleware every request passes through.
std::string stack_log(bool innermost_first) {
  std::ostringstream log;
  auto event = [&](const std::string& sql, std::vector<std::string> stack) {
    if (!innermost_first) std::reverse(stack.begin(), stack.end());
    nlohmann::json j = {{"sql", sql}, {"request_id", "r1"}, {"duration_ms", 0.1}, {"stack", stack}};
    log << j.dump() << "\n";
  };
  auto with = [&](std::vector<std::string> inner) {
    inner.push_back("/usr/lib/python3/dist-packages/django/core/handlers/base.py:181 in _get_response");
    inner.push_back("n1site/middleware.py:38 in __call__");
    inner.insert(inner.begin(), "/usr/lib/python3/dist-packages/django/db/backends/utils.py:66 in execute");
    return inner;
  };
  event(kPosts, with({"blog/views.py:25 in recent_posts"}));
  for (int i = 1; i <= 5; ++i)
    event(blog_author(i), with({"blog/helpers.py:7 in byline", "blog/views.py:26 in recent_posts"}));
  return log.str();
}

TEST(Detector, CallSiteAndLoopFromStacksInEitherOrder) {
  for (const bool innermost_first : {true, false}) {
    SCOPED_TRACE(innermost_first ? "innermost first" : "outermost first");
    std::istringstream in(stack_log(innermost_first));
    const auto r = analyze_log(in, {}, defaults());
    ASSERT_EQ(r.groups.size(), 1u);
    ASSERT_TRUE(r.groups[0].call_site);
    EXPECT_EQ(r.groups[0].call_site->describe(), "blog/helpers.py:7 in byline");
    ASSERT_TRUE(r.groups[0].loop_site);
    EXPECT_EQ(r.groups[0].loop_site->describe(), "blog/views.py:26 in recent_posts");
  }
}

TEST(Detector, ModelsFileIsReadWithItsRelatedNames) {
  const auto models = parse_models(std::string(kBlogModels) + R"py(
# shop/models.py
class Order(models.Model):
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, db_column="buyer")
    tags = models.ManyToManyField("Tag", through="OrderTag", related_name="+")

    class Meta:
        db_table = "orders"

class OrderTag(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE)
)py");
  ASSERT_EQ(models.size(), 5u);
  EXPECT_EQ(models[2].class_name, "Comment");
  EXPECT_EQ(models[2].table, "blog_comment");
  ASSERT_EQ(models[2].fields.size(), 2u);
  EXPECT_EQ(models[2].fields[0].name, "post");
  EXPECT_EQ(models[2].fields[0].column, "post_id");
  EXPECT_EQ(models[2].fields[0].related_name, "comments");
  EXPECT_EQ(models[2].fields[1].target, "blog.Author");
  EXPECT_EQ(models[3].table, "orders");
  EXPECT_EQ(models[3].fields[0].column, "buyer");
  EXPECT_EQ(models[3].fields[1].kind, ModelField::Kind::many_to_many);
  EXPECT_EQ(models[3].fields[1].through, "shop_ordertag");
  EXPECT_THROW(parse_models("import os\n"), Error);
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

// Django's debug log writes seconds to 3 decimals: fast queries are "(0.000)".
// That is below the log's resolution, not free; the count decides severity.
TEST(Detector, LoopsLoggedAsZeroMillisecondsAreRatedByCount) {
  std::string log =
      "(0.001) SELECT \"blog_post\".\"id\", \"blog_post\".\"author_id\" FROM \"blog_post\" LIMIT 30; args=(); "
      "alias=default\n";
  for (int i = 1; i <= 25; ++i)
    log += "(0.000) SELECT \"blog_author\".\"id\" FROM \"blog_author\" WHERE \"blog_author\".\"id\" = " +
           std::to_string(i) + " LIMIT 21; args=(" + std::to_string(i) + ",); alias=default\n";
  std::istringstream in(log);
  const auto r = analyze_log(in, {}, defaults());
  ASSERT_EQ(r.groups.size(), 1u);
  EXPECT_EQ(r.groups[0].severity, "medium") << r.groups[0].severity_reason;  // 25 >= medium_repeats 20
  EXPECT_THAT(r.groups[0].severity_reason, HasSubstr("each logged as 0 ms, below the log's resolution"));
  EXPECT_THAT(r.grouping, HasSubstr("Django's database alias"));
}

}  // namespace
}  // namespace dbopt::nplusone
