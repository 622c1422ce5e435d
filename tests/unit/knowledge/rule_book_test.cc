// RuleBook: the shipped rules load, and every kind of malformed rule file is
// refused with a message naming the file, the rule and the field.
#include "knowledge/rule_book.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/common/error.h"

namespace dbopt::knowledge {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

const std::string kShippedDir = std::string(DBOPT_SOURCE_DIR) + "/knowledge/rules";

// A valid one-rule file; tests break one part of it at a time.
std::string rule_file(const std::string& rule_body, const std::string& category = "plan") {
  return "category: " + category + "\nrules:\n" + rule_body;
}

const std::string kValidRule = R"(  - id: PLAN_EXAMPLE
    title: An example rule
    severity: medium
    thresholds:
      min_rows: 1000
      min_share: 0.5
    summary: "{{node}} removed {{share}} of its rows"
    why: |
      Because it reads rows it does not need.
    fix: |
      CREATE INDEX CONCURRENTLY ON {{table}} ({{columns}});
    references:
      - title: Indexes
        url: https://www.postgresql.org/docs/15/indexes.html
)";

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// Loads `yaml` expecting invalid_argument; returns the message.
std::string rejection(const std::string& yaml) {
  try {
    RuleBook::load_text(yaml, "rules/bad.yaml");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted:\n" << yaml;
  return {};
}

TEST(ShippedRules, LoadAndCoverPlansAndQueries) {
  const RuleBook book = RuleBook::load_directory(kShippedDir);
  EXPECT_GE(book.rules().size(), 40u);
  EXPECT_GE(book.rules_in(Category::plan).size(), 15u);
  EXPECT_GE(book.rules_in(Category::query).size(), 15u);
  for (const auto& rule : book.rules()) {
    EXPECT_THAT(rule.source, HasSubstr("knowledge/rules/")) << rule.id;
    // Advice cites the PostgreSQL 15 documentation.
    const bool cites_pg15 = std::any_of(rule.references.begin(), rule.references.end(), [](const Reference& r) {
      return r.url.rfind("https://www.postgresql.org/docs/15/", 0) == 0;
    });
    EXPECT_TRUE(cites_pg15) << rule.id;
    // The id names its category: PLAN_..., QUERY_..., POOL_..., INDEX_...
    std::string prefix = to_string(rule.category);
    for (char& c : prefix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(rule.id.rfind(prefix + "_", 0), 0u) << rule.id << " in category " << to_string(rule.category);
  }
}

// Markdown people paste from: code fences close, and inline code (a
// statement to copy) stays on one line.
void expect_clean_markdown(const std::string& text, const std::string& where) {
  std::size_t fences = 0;
  std::string outside;
  bool in_fence = false;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("```") != std::string::npos) {
      ++fences;
      in_fence = !in_fence;
      continue;
    }
    if (!in_fence) outside += line + "\n";
  }
  EXPECT_EQ(fences % 2, 0u) << where << ": unclosed code fence";
  bool in_code = false;
  for (char c : outside) {
    if (c == '`') in_code = !in_code;
    if (c == '\n') {
      EXPECT_FALSE(in_code) << where << ": inline code broken across lines";
    }
  }
}

TEST(ShippedRules, MarkdownIsWellFormed) {
  const RuleBook book = RuleBook::load_directory(kShippedDir);
  for (const auto& rule : book.rules()) {
    expect_clean_markdown(rule.why, rule.id + " why");
    expect_clean_markdown(rule.fix, rule.id + " fix");
  }
}

TEST(ShippedRules, ThresholdsAreReadByName) {
  const RuleBook book = RuleBook::load_directory(kShippedDir);
  EXPECT_DOUBLE_EQ(book.threshold("PLAN_SEQ_SCAN_LARGE_FILTER", "min_rows_removed_share"), 0.9);
  EXPECT_DOUBLE_EQ(book.threshold("PLAN_HASH_BATCHES", "max_batches"), 1);
  EXPECT_DOUBLE_EQ(book.threshold("QUERY_DEEP_OFFSET", "min_offset"), 1000);
}

TEST(RuleBook, LookupFailuresNameWhatIsMissing) {
  const RuleBook book = RuleBook::load_text(rule_file(kValidRule), "one.yaml");
  EXPECT_TRUE(book.contains("PLAN_EXAMPLE"));
  EXPECT_EQ(book.find("PLAN_NOPE"), nullptr);
  try {
    book.threshold("PLAN_EXAMPLE", "max_rows");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_found);
    EXPECT_THAT(e.what(), AllOf(HasSubstr("PLAN_EXAMPLE"), HasSubstr("max_rows")));
  }
  try {
    book.rule("PLAN_NOPE");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_found);
    EXPECT_THAT(e.what(), HasSubstr("PLAN_NOPE"));
  }
}

TEST(RuleBook, ReadsEveryField) {
  const RuleBook book = RuleBook::load_text(rule_file(kValidRule), "one.yaml");
  const Rule& rule = book.rule("PLAN_EXAMPLE");
  EXPECT_EQ(rule.title, "An example rule");
  EXPECT_EQ(rule.category, Category::plan);
  EXPECT_EQ(rule.severity, Severity::medium);
  EXPECT_EQ(rule.thresholds.size(), 2u);
  EXPECT_DOUBLE_EQ(rule.threshold("min_share"), 0.5);
  EXPECT_EQ(rule.why, "Because it reads rows it does not need.");
  EXPECT_EQ(rule.references.at(0).url, "https://www.postgresql.org/docs/15/indexes.html");
  EXPECT_EQ(rule.source, "one.yaml");
}

TEST(RuleBookValidation, MissingFieldNamesFileRuleAndField) {
  const std::string message = rejection(rule_file(replaced(kValidRule, "    title: An example rule\n", "")));
  EXPECT_THAT(message, AllOf(HasSubstr("rules/bad.yaml"), HasSubstr("rule PLAN_EXAMPLE"), HasSubstr("field 'title'"),
                             HasSubstr("missing")));
}

TEST(RuleBookValidation, MessageCarriesTheLine) {
  // category, rules, id, title: severity is on line 5 of the file.
  const std::string message = rejection(rule_file(replaced(kValidRule, "severity: medium", "severity: urgent")));
  EXPECT_THAT(message, AllOf(HasSubstr("rules/bad.yaml:5:"), HasSubstr("field 'severity'"), HasSubstr("'urgent'")));
}

TEST(RuleBookValidation, RejectsMalformedIds) {
  for (const std::string id : {"plan_example", "1PLAN", "PLAN-EXAMPLE", "P"}) {
    EXPECT_THAT(rejection(rule_file(replaced(kValidRule, "id: PLAN_EXAMPLE", "id: " + id))),
                AllOf(HasSubstr("field 'id'"), HasSubstr("^[A-Z][A-Z0-9_]+$")))
        << id;
  }
}

TEST(RuleBookValidation, RejectsNonNumericThresholds) {
  EXPECT_THAT(rejection(rule_file(replaced(kValidRule, "min_rows: 1000", "min_rows: many"))),
              AllOf(HasSubstr("rule PLAN_EXAMPLE"), HasSubstr("thresholds.min_rows")));
  // Quoted, a number is text.
  EXPECT_THAT(rejection(rule_file(replaced(kValidRule, "min_rows: 1000", "min_rows: \"1000\""))),
              HasSubstr("thresholds.min_rows"));
  EXPECT_THAT(rejection(rule_file(replaced(kValidRule, "min_rows: 1000", "min_rows: [1, 2]"))),
              HasSubstr("thresholds.min_rows"));
  EXPECT_THAT(rejection(rule_file(replaced(kValidRule, "min_rows: 1000", "min_rows: .inf"))),
              HasSubstr("thresholds.min_rows"));
  EXPECT_THAT(rejection(rule_file(replaced(kValidRule, "min_rows: 1000", "MinRows: 1000"))), HasSubstr("snake_case"));
}

TEST(RuleBookValidation, RejectsUnknownKeysAndCategories) {
  EXPECT_THAT(rejection(rule_file(replaced(kValidRule, "    thresholds:", "    treshold: 1\n    thresholds:"))),
              AllOf(HasSubstr("rule PLAN_EXAMPLE"), HasSubstr("'treshold'"), HasSubstr("unknown key")));
  EXPECT_THAT(rejection(rule_file(kValidRule, "plans")), AllOf(HasSubstr("field 'category'"), HasSubstr("'plans'")));
  EXPECT_THAT(rejection("rules:\n" + kValidRule), HasSubstr("field 'category'"));
  EXPECT_THAT(rejection("category: plan\nrules: []\n"), HasSubstr("field 'rules'"));
}

TEST(RuleBookValidation, RejectsDuplicateIdsInOneFile) {
  EXPECT_THAT(rejection(rule_file(kValidRule + kValidRule)),
              AllOf(HasSubstr("rule PLAN_EXAMPLE"), HasSubstr("duplicate id")));
}

TEST(RuleBookValidation, RejectsDuplicateIdsAcrossFiles) {
  const auto dir = std::filesystem::temp_directory_path() / ("dbopt_rules_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "a.yaml") << rule_file(kValidRule);
  std::ofstream(dir / "b.yaml") << rule_file(kValidRule, "query");
  try {
    RuleBook::load_directory(dir);
    ADD_FAILURE() << "duplicate accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_THAT(e.what(),
                AllOf(HasSubstr("b.yaml"), HasSubstr("a.yaml"), HasSubstr("PLAN_EXAMPLE"), HasSubstr("duplicate")));
  }
  std::filesystem::remove_all(dir);
}

TEST(RuleBookValidation, RejectsBrokenTemplates) {
  EXPECT_THAT(rejection(rule_file(replaced(kValidRule, "({{columns}})", "({{columns})"))),
              AllOf(HasSubstr("field 'fix'"), HasSubstr("closing")));
  EXPECT_THAT(rejection(rule_file(replaced(kValidRule, "{{table}}", "{{Table}}"))),
              AllOf(HasSubstr("field 'fix'"), HasSubstr("{{Table}}")));
  EXPECT_THAT(rejection(rule_file(replaced(kValidRule, "Because it reads", "Because {{node}} reads"))),
              HasSubstr("field 'why'"));
  EXPECT_THAT(rejection(rule_file(replaced(kValidRule, "summary: \"{{node}} removed {{share}} of its rows\"",
                                           "summary: |\n      two\n      lines"))),
              AllOf(HasSubstr("field 'summary'"), HasSubstr("one line")));
}

TEST(RuleBookValidation, RejectsBadReferences) {
  EXPECT_THAT(rejection(rule_file(replaced(kValidRule, "url: https://www", "url: http://www"))),
              HasSubstr("references.url"));
  const std::string no_references = kValidRule.substr(0, kValidRule.find("    references:")) + "    references: []\n";
  EXPECT_THAT(rejection(rule_file(no_references)), HasSubstr("field 'references'"));
}

TEST(RuleBookValidation, ReportsYamlSyntaxErrorsWithPosition) {
  EXPECT_THAT(rejection("category: plan\nrules:\n  - id: [unclosed\n"),
              AllOf(HasSubstr("rules/bad.yaml:"), HasSubstr("not valid YAML")));
}

TEST(RuleBookDirectory, MissingDirectoryIsNotFound) {
  try {
    RuleBook::load_directory("/nonexistent/dbopt/rules");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_found);
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/dbopt/rules"));
  }
}

TEST(RuleBookDirectory, DirectoryWithoutRuleFilesIsRefused) {
  const auto dir = std::filesystem::temp_directory_path() / ("dbopt_empty_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "notes.txt") << "not rules";
  try {
    RuleBook::load_directory(dir);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_THAT(e.what(), HasSubstr("no *.yaml"));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace dbopt::knowledge
