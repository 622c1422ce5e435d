// The Django test shop (tests/django) run by the real ORM against the test
// PostgreSQL: every handler's queries are logged in five forms (Django debug
// log, JSON Lines from an execute_wrapper with stacks, the server's stderr,
// csvlog and jsonlog), and each handler must be classified right in each form:
// detected or not, kind, N and the exact fix; with stacks, the call site.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/nplusone/detector.h"
#include "knowledge/rule_book.h"

namespace dbopt::nplusone {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct Expected {
  Kind kind;
  std::string fix;
};

// Handlers with an N+1 loop of ROWS (8) repeats; every other handler must not be reported.
const std::map<std::string, Expected>& expected() {
  static const std::map<std::string, Expected> e = {
      {"forward_fk", {Kind::forward_fk, "Book.objects.select_related('author')"}},
      {"nested_fk", {Kind::nested_fk, "Book.objects.select_related('author__profile')"}},
      {"nested_fk_partly_fixed", {Kind::nested_fk, "Book.objects.select_related('author__profile')"}},
      {"reverse_fk", {Kind::reverse_fk, "Author.objects.prefetch_related('book_set')"}},
      {"many_to_many", {Kind::m2m, "Book.objects.prefetch_related('tags')"}},
      {"filtered_prefetch",
       {Kind::filtered_prefetch,
        "Book.objects.prefetch_related(Prefetch('review_set', "
        "queryset=Review.objects.filter(approved=True).select_related('reader')))"}},
      {"count_per_row", {Kind::count_per_row, "Book.objects.annotate(Count('review'))"}},
      {"exists_per_row",
       {Kind::exists_per_row, "Book.objects.annotate(has_review=Exists(Review.objects.filter(book=OuterRef('pk'))))"}},
      {"get_in_loop", {Kind::get_in_loop, "Author.objects.in_bulk(ids)"}},
      {"reverse_one_to_one", {Kind::reverse_one_to_one, "Reader.objects.select_related('card')"}},
      {"insert_in_loop", {Kind::insert_in_loop, "Review.objects.bulk_create(objs)"}},
      {"update_in_loop",
       {Kind::update_in_loop, "Book.objects.bulk_update(objs, ['title', 'author_id', 'publisher_id', 'price'])"}},
      {"delete_in_loop", {Kind::delete_in_loop, "Review.objects.filter(id__in=ids).delete()"}},
  };
  return e;
}

const knowledge::RuleBook& rules() {
  static const knowledge::RuleBook book = knowledge::RuleBook::load_directory(DBOPT_SOURCE_DIR "/knowledge/rules");
  return book;
}

// The handler a unit belongs to: "log [name]", "request name", "session id (name)".
std::string handler_of(const std::string& unit) {
  if (!unit.empty() && unit.back() == ']') return unit.substr(unit.rfind('[') + 1, unit.size() - unit.rfind('[') - 2);
  if (!unit.empty() && unit.back() == ')') return unit.substr(unit.rfind('(') + 1, unit.size() - unit.rfind('(') - 2);
  if (unit.rfind("request ", 0) == 0) return unit.substr(8);
  return unit;
}

class DjangoShop : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::getenv("DBOPT_TEST_DATABASE_URL")) return;
    out_ = (fs::temp_directory_path() / ("dbopt-django-" + std::to_string(::getpid()))).string();
    fs::remove_all(out_);
    const std::string command =
        "/usr/bin/python3 " DBOPT_SOURCE_DIR "/tests/django/run_handlers.py '" + out_ + "' > '" + out_ + ".out' 2>&1";
    status_ = std::system(command.c_str());
    std::ifstream run(out_ + "/run.json");
    if (run) run_ = nlohmann::json::parse(run, nullptr, false);
  }
  static void TearDownTestSuite() {
    if (!out_.empty()) {
      fs::remove_all(out_);
      fs::remove(out_ + ".out");
    }
  }

  void SetUp() override {
    if (!std::getenv("DBOPT_TEST_DATABASE_URL"))
      GTEST_SKIP() << "DBOPT_TEST_DATABASE_URL is not set: the Django shop needs the test PostgreSQL "
                      "(scripts/test-services start; eval \"$(scripts/test-services env)\").";
    std::ifstream log(out_ + ".out");
    std::stringstream text;
    text << log.rdbuf();
    ASSERT_EQ(status_, 0) << "tests/django/run_handlers.py failed:\n" << text.str();
    ASSERT_TRUE(run_.is_object()) << "no run.json";
  }

  // Analyses one of the logs the run wrote; skips when the server log was not readable here.
  Result analyze(const std::string& file) {
    Options o = options_from_rules(rules(), std::nullopt, 0.0);  // local queries are fast: count, not time
    o.verbose = true;
    std::ifstream in(out_ + "/" + file, std::ios::binary);
    EXPECT_TRUE(in.good()) << file;
    return analyze_log(in, {}, o);
  }

  bool written(const std::string& file) const {
    for (const auto& w : run_["written"])
      if (w == file) return true;
    return false;
  }

  static std::map<std::string, int> loop_lines() {
    std::ifstream in(DBOPT_SOURCE_DIR "/tests/django/shop/handlers.py");
    std::map<std::string, int> lines;
    std::string line;
    const std::regex marker("# loop: (\\w+)$");
    for (int n = 1; std::getline(in, line); ++n) {
      std::smatch m;
      if (std::regex_search(line, m, marker)) lines[m[1]] = n;
    }
    return lines;
  }

  // Every handler classified right in `file`.
  void check_every_handler(const std::string& file, bool with_stacks) {
    SCOPED_TRACE(file);
    const Result r = analyze(file);
    EXPECT_EQ(r.read.skipped_lines, 0u) << "a real log has no bad lines";
    std::map<std::string, std::vector<const Group*>> by_handler;
    for (const auto& g : r.groups) {
      EXPECT_EQ(g.units, 1u) << g.repeated_query;
      by_handler[handler_of(g.first_unit)].push_back(&g);
    }
    const auto lines = loop_lines();
    for (const auto& handler : run_["handlers"]) {
      const std::string name = handler.get<std::string>();
      SCOPED_TRACE(name);
      const auto& groups = by_handler[name];
      const auto want = expected().find(name);
      if (want == expected().end()) {
        EXPECT_TRUE(groups.empty()) << name << " must not be reported; got " << groups.front()->fix.django;
        continue;
      }
      const auto hit =
          std::find_if(groups.begin(), groups.end(), [&](const Group* g) { return g->kind == want->second.kind; });
      ASSERT_NE(hit, groups.end()) << name << " not detected as " << to_string(want->second.kind);
      const Group& g = **hit;
      EXPECT_EQ(g.n, 8u);
      EXPECT_EQ(g.fix.django, want->second.fix);
      EXPECT_FALSE(g.fix.sql.empty());
      if (want->second.kind != Kind::get_in_loop && want->second.kind != Kind::insert_in_loop) {
        EXPECT_FALSE(g.source_query.empty()) << "a loop over rows has a source query";
      }
      if (with_stacks) {
        ASSERT_TRUE(g.call_site) << name;
        EXPECT_THAT(g.call_site->file, HasSubstr("tests/django/shop/handlers.py"));
        EXPECT_EQ(g.call_site->line, lines.at(name));
        EXPECT_EQ(g.call_site->function, name);
      }
    }
    // Not reported, and why.
    bool same_values = false, batch = false;
    for (const auto& g : r.not_reported) {
      const std::string h = handler_of(g.first_unit);
      if (h == "same_values_repeated" && g.reason.find("same values") != std::string::npos) same_values = true;
      if (h == "bulk_in_batches" && g.reason.find("batch") != std::string::npos) batch = true;
    }
    EXPECT_TRUE(same_values) << "same_values_repeated: no reason given";
    EXPECT_TRUE(batch) << "bulk_in_batches: no reason given";
  }

  static std::string out_;
  static int status_;
  static nlohmann::json run_;
};

std::string DjangoShop::out_;
int DjangoShop::status_ = -1;
nlohmann::json DjangoShop::run_;

TEST_F(DjangoShop, DjangoDebugLog) {
  check_every_handler("django.log", false);
  EXPECT_EQ(analyze("django.log").read.format, workload::LogFormat::django);
}

TEST_F(DjangoShop, JsonLinesWithStacksGiveCallSites) {
  check_every_handler("queries.jsonl", true);
  const Result r = analyze("queries.jsonl");
  EXPECT_EQ(r.framework, Framework::django);
  EXPECT_THAT(r.grouping, HasSubstr("request id"));
}

class DjangoShopServerLog : public DjangoShop, public ::testing::WithParamInterface<const char*> {};

TEST_P(DjangoShopServerLog, PostgresServerLog) {
  const std::string file = GetParam();
  if (!written(file)) GTEST_SKIP() << "the server log was not readable by this user: " << run_["problems"].dump();
  check_every_handler(file, false);
  EXPECT_THAT(analyze(file).grouping, HasSubstr("database session"));
}

INSTANTIATE_TEST_SUITE_P(Formats, DjangoShopServerLog,
                         ::testing::Values("postgres.log", "postgres.csv", "postgres.json"), [](const auto& info) {
                           std::string n = info.param;
                           return n.substr(n.find('.') + 1);
                         });

}  // namespace
}  // namespace dbopt::nplusone
