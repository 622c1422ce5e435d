// The Linear client and the create_perf_task / find_perf_tasks tools against
// the schema-validating Linear stand-in (tests/linear-standin, started by
// scripts/test-services; DBOPT_TEST_LINEAR_URL names its GraphQL endpoint).
// Each test uses its own API key, so its workspace and faults are its own and
// tests may run in parallel. After each test the stand-in must have recorded
// no request that breaks Linear's published schema.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include <httplib.h>

#include "core/common/error.h"
#include "linear/linear_client.h"
#include "linear/perf_task.h"
#include "tools/builtin_tools.h"
#include "tools/tool_registry.h"

namespace dbopt::linear {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using tools::Json;

class LinearStandin : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* url = std::getenv("DBOPT_TEST_LINEAR_URL");
    if (!url || !*url)
      GTEST_SKIP() << "DBOPT_TEST_LINEAR_URL is not set: start the Linear stand-in with scripts/test-services start, "
                      "then eval \"$(scripts/test-services env)\".";
    endpoint_ = url;
    control_base_ = endpoint_.substr(0, endpoint_.rfind("/graphql"));
    std::random_device rd;
    key_ = std::string("lin_api_") + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
           std::to_string(rd());
    control("/_control/reset", {{"key", key_}});
    settings_.linear.endpoint = endpoint_;
    settings_.linear.api_key = key_;
  }

  void TearDown() override {
    if (IsSkipped() || key_.empty()) return;
    const Json s = state();
    EXPECT_TRUE(s["violations"].empty()) << "requests that break Linear's schema: " << s["violations"].dump(2);
  }

  Json control(const std::string& path, const Json& body) {
    httplib::Client http(control_base_);
    auto res = http.Post(path, body.dump(), "application/json");
    if (!res || res->status != 200) throw std::runtime_error("stand-in control " + path + " failed");
    return Json::parse(res->body);
  }
  Json state() {
    httplib::Client http(control_base_);
    auto res = http.Get("/_control/state?key=" + key_);
    if (!res || res->status != 200) throw std::runtime_error("stand-in state failed");
    return Json::parse(res->body);
  }
  void faults(const Json& list) { control("/_control/faults", {{"key", key_}, {"faults", list}}); }
  int requests_for(const std::string& field) {
    int n = 0;
    const Json s = state();
    for (const auto& r : s["requests"])
      for (const auto& f : r["fields"]) n += f == field;
    return n;
  }

  tools::ToolResult call(const std::string& tool, const Json& args,
                         std::chrono::milliseconds limit = std::chrono::seconds(60)) {
    static const tools::ToolRegistry registry = [] {
      tools::ToolRegistry r;
      tools::register_builtin_tools(r);
      return r;
    }();
    CancellationToken cancel(CancellationToken::Clock::now() + limit);
    tools::ToolContext ctx{.settings = settings_, .cancel = cancel};
    return registry.call(tool, args, ctx);
  }

  static Json findings() {
    return {{"tool", "explain_query"},
            {"mode", "explain_analyze"},
            {"evidence", "measured"},
            {"query",
             {{"kind", "select"}, {"fingerprint", "a1b2c3d4e5f60718"}, {"parameter_count", 1}, {"tables", {"orders"}}}},
            {"plan_summary", {{"execution_time_ms", 41.5}, {"total_cost", 1693}}},
            {"findings",
             {{{"rule_id", "PLAN_SEQ_SCAN_LARGE_FILTER"},
               {"title", "Sequential scan discards most rows"},
               {"severity", "high"},
               {"evidence", "measured"},
               {"where", {{"description", "node 0: Seq Scan on orders"}, {"table", "orders"}}},
               {"summary", "Seq Scan on orders keeps 12 of 100000 rows."},
               {"fix", "```sql\nCREATE INDEX CONCURRENTLY ON orders (customer_id);\n```"},
               {"numbers", {{"rows_removed", 99988}}},
               {"facts", Json::object()}}}},
            {"notes", Json::array()}};
  }

  Settings settings_;
  std::string endpoint_, control_base_, key_;
};

TEST_F(LinearStandin, CreatesATaskWithLabelPriorityAndFingerprint) {
  const auto r =
      call("create_perf_task", {{"findings", findings()}, {"sql", "SELECT * FROM orders WHERE customer_id = $1"}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  EXPECT_EQ(r.structured["action"], "created");
  EXPECT_EQ(r.structured["identifier"], "PERF-1");
  EXPECT_THAT(r.structured["url"].get<std::string>(), HasSubstr("PERF-1"));
  EXPECT_THAT(r.markdown, HasSubstr("PERF-1"));
  const Json s = state();
  ASSERT_EQ(s["issues"].size(), 1u);
  const Json& issue = s["issues"][0];
  EXPECT_EQ(issue["title"], r.structured["title"]);
  EXPECT_EQ(issue["description"], r.structured["description"]);
  EXPECT_EQ(issue["priority"], 2);  // high
  EXPECT_EQ(issue["labels"], Json::array({"performance"}));
  EXPECT_THAT(issue["description"].get<std::string>(),
              HasSubstr("dbopt-fingerprint: " + r.structured["fingerprint"].get<std::string>()));
  EXPECT_THAT(issue["description"].get<std::string>(), HasSubstr("CREATE INDEX CONCURRENTLY ON orders (customer_id);"));
}

TEST_F(LinearStandin, SecondReportOfTheSameProblemCommentsInsteadOfCreating) {
  const auto first = call("create_perf_task", {{"findings", findings()}});
  ASSERT_FALSE(first.is_error) << first.markdown;
  Json again = findings();
  again["plan_summary"]["execution_time_ms"] = 55.0;  // another run, other timings
  const auto second = call("create_perf_task", {{"findings", again}});
  ASSERT_FALSE(second.is_error) << second.markdown;
  EXPECT_EQ(second.structured["action"], "updated");
  EXPECT_EQ(second.structured["identifier"], first.structured["identifier"]);
  EXPECT_EQ(second.structured["fingerprint"], first.structured["fingerprint"]);
  const Json s = state();
  EXPECT_EQ(s["issues"].size(), 1u);
  ASSERT_EQ(s["comments"].size(), 1u);
  EXPECT_EQ(s["comments"][0]["issue"], "PERF-1");
  EXPECT_THAT(s["comments"][0]["body"].get<std::string>(), HasSubstr("plan execution_time_ms: 55"));
}

TEST_F(LinearStandin, ADifferentProblemGetsItsOwnTask) {
  ASSERT_FALSE(call("create_perf_task", {{"findings", findings()}}).is_error);
  Json other = findings();
  other["query"]["fingerprint"] = "ffffffffffffffff";
  const auto r = call("create_perf_task", {{"findings", other}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  EXPECT_EQ(r.structured["identifier"], "PERF-2");
  EXPECT_EQ(state()["issues"].size(), 2u);
}

TEST_F(LinearStandin, AClosedTaskDoesNotAbsorbANewReport) {
  ASSERT_FALSE(call("create_perf_task", {{"findings", findings()}}).is_error);
  control("/_control/set_state", {{"key", key_}, {"identifier", "PERF-1"}, {"state", "Done"}});
  const auto r = call("create_perf_task", {{"findings", findings()}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  EXPECT_EQ(r.structured["action"], "created");
  EXPECT_EQ(r.structured["identifier"], "PERF-2");
  EXPECT_TRUE(state()["comments"].empty());
}

TEST_F(LinearStandin, TheStandinRejectsAndRecordsWhatBreaksLinearsSchema) {
  // The guard every other test relies on: a wrong field or variable type fails.
  const std::string other_key = key_ + "_invalid";
  httplib::Client http(control_base_);
  const httplib::Headers auth = {{"Authorization", other_key}};
  const Json bad_field = {{"query", "query { teams { nodes { id keyy } } }"}};
  auto res = http.Post("/graphql", auth, bad_field.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_THAT(res->body, HasSubstr("keyy"));
  const Json bad_type = {{"query", "mutation M($input: IssueCreateInput!) { issueCreate(input: $input) { success } }"},
                         {"variables", {{"input", {{"teamId", "x"}, {"estimate", 1.5}}}}}};
  res = http.Post("/graphql", auth, bad_type.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  auto seen = http.Get("/_control/state?key=" + other_key);
  ASSERT_TRUE(seen);
  EXPECT_EQ(Json::parse(seen->body)["violations"].size(), 2u);
  EXPECT_TRUE(state()["violations"].empty());
}

TEST_F(LinearStandin, DryRunSendsNothing) {
  const auto r = call("create_perf_task", {{"findings", findings()}, {"dry_run", true}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  EXPECT_EQ(r.structured["action"], "dry_run");
  EXPECT_TRUE(state()["requests"].empty());
  // And a real run files exactly what the dry run showed.
  const auto real = call("create_perf_task", {{"findings", findings()}});
  ASSERT_FALSE(real.is_error) << real.markdown;
  EXPECT_EQ(state()["issues"][0]["description"], r.structured["description"]);
  EXPECT_EQ(state()["issues"][0]["title"], r.structured["title"]);
}

TEST_F(LinearStandin, RateLimitedThenSucceedsWithExactlyOneIssue) {
  faults({{{"kind", "ratelimited"}, {"field", "issueCreate"}, {"reset_ms", 300}},
          {{"kind", "ratelimited429"}, {"field", "issueCreate"}, {"reset_ms", 200}}});
  const auto r = call("create_perf_task", {{"findings", findings()}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  EXPECT_EQ(r.structured["action"], "created");
  EXPECT_EQ(state()["issues"].size(), 1u);
  EXPECT_EQ(requests_for("issueCreate"), 3);
  EXPECT_EQ(state()["early_retries"], 0) << "retried before X-RateLimit-Requests-Reset";
}

TEST_F(LinearStandin, RateLimitOutlastingTheRetriesIsAClearError) {
  faults({{{"kind", "ratelimited"}, {"reset_ms", 3600000}}});
  const auto r = call("create_perf_task", {{"findings", findings()}});
  ASSERT_TRUE(r.is_error);
  EXPECT_EQ(r.error_code, ErrorCode::unavailable);
  EXPECT_THAT(r.markdown, HasSubstr("rate limit"));
  EXPECT_TRUE(state()["issues"].empty());
}

TEST_F(LinearStandin, ServerErrorAfterCreatingIsNotFiledTwice) {
  // Linear created the issue, but its answer was a 500: the retry must find it.
  faults({{{"kind", "error500"}, {"field", "issueCreate"}, {"after_execute", true}}});
  const auto r = call("create_perf_task", {{"findings", findings()}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  EXPECT_EQ(r.structured["action"], "created");
  EXPECT_EQ(r.structured["identifier"], "PERF-1");
  EXPECT_EQ(state()["issues"].size(), 1u);
  EXPECT_EQ(requests_for("issueCreate"), 1);
}

TEST_F(LinearStandin, ServerErrorAfterCommentingIsNotCommentedTwice) {
  ASSERT_FALSE(call("create_perf_task", {{"findings", findings()}}).is_error);
  faults({{{"kind", "error500"}, {"field", "commentCreate"}, {"after_execute", true}}});
  const auto r = call("create_perf_task", {{"findings", findings()}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  EXPECT_EQ(r.structured["action"], "updated");
  EXPECT_EQ(state()["comments"].size(), 1u);
  EXPECT_EQ(requests_for("commentCreate"), 1);
}

TEST_F(LinearStandin, ServerErrorsThenSuccess) {
  faults({{{"kind", "error500"}, {"count", 2}}});
  const auto r = call("create_perf_task", {{"findings", findings()}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  EXPECT_EQ(r.structured["action"], "created");
  EXPECT_EQ(state()["issues"].size(), 1u);
}

TEST_F(LinearStandin, LostAnswerToIssueCreateIsNotFiledTwice) {
  // The create happens, the answer never comes: the client times out, looks, finds it.
  faults({{{"kind", "hang"}, {"field", "issueCreate"}, {"after_execute", true}}});
  LinearClient client(settings_.linear, {.max_attempts = 3, .request_timeout = std::chrono::milliseconds(700)});
  CancellationToken cancel;
  const Team team = client.team("PERF", cancel);
  const std::string line = fingerprint_line("0123456789abcdef");
  const Issue issue =
      client.create_issue({.team_id = team.id, .title = "t", .description = "x\n" + line}, line, cancel);
  EXPECT_EQ(issue.identifier, "PERF-1");
  EXPECT_EQ(state()["issues"].size(), 1u);
  EXPECT_EQ(requests_for("issueCreate"), 1);
}

TEST_F(LinearStandin, HangingLinearEndsAtTheCallsTimeLimit) {
  faults({{{"kind", "hang"}, {"count", 100}}});
  const auto started = std::chrono::steady_clock::now();
  const auto r = call("create_perf_task", {{"findings", findings()}}, std::chrono::milliseconds(1500));
  ASSERT_TRUE(r.is_error);
  EXPECT_EQ(r.error_code, ErrorCode::deadline_exceeded) << r.markdown;
  EXPECT_THAT(r.markdown, HasSubstr("did not answer"));
  // Bounded: ended near the limit instead of waiting for Linear (generous, not a timing test).
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
}

TEST_F(LinearStandin, CancellingAbortsARequestInFlight) {
  faults({{{"kind", "hang"}, {"count", 100}}});
  LinearClient client(settings_.linear);  // default 15 s request timeout
  CancellationToken cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel.cancel();
  });
  const auto started = std::chrono::steady_clock::now();
  try {
    client.teams(cancel);
    ADD_FAILURE() << "expected the cancellation to end the call";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::cancelled) << e.describe();
  }
  canceller.join();
  // Well before the request timeout (generous bound; not a timing test).
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_EQ(requests_for("teams"), 1);  // not retried after the cancel
}

TEST_F(LinearStandin, BadKeyIsAClearErrorWithoutTheKey) {
  settings_.linear.api_key = "not-a-linear-key-secret123";
  const auto r = call("create_perf_task", {{"findings", findings()}});
  ASSERT_TRUE(r.is_error);
  EXPECT_EQ(r.error_code, ErrorCode::permission_denied);
  EXPECT_THAT(r.markdown, HasSubstr("refused the credentials"));
  EXPECT_THAT(r.markdown, HasSubstr("LINEAR_API_KEY"));
  EXPECT_THAT(r.markdown, Not(HasSubstr("secret123")));
  key_.clear();  // that key has no workspace to check
}

TEST_F(LinearStandin, OAuthTokenIsSentAsBearer) {
  const std::string token = "lin_oauth_" + key_.substr(8);
  settings_.linear.api_key.clear();
  settings_.linear.oauth_token = token;
  const auto r = call("create_perf_task", {{"findings", findings()}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  key_ = token;  // the stand-in keeps this workspace under the token
  EXPECT_EQ(state()["issues"].size(), 1u);
}

TEST_F(LinearStandin, UnknownTeamListsTheTeamsFound) {
  const auto r = call("create_perf_task", {{"findings", findings()}, {"team", "NOPE"}});
  ASSERT_TRUE(r.is_error);
  EXPECT_EQ(r.error_code, ErrorCode::not_found);
  EXPECT_THAT(r.markdown, HasSubstr("'NOPE'"));
  EXPECT_THAT(r.markdown, HasSubstr("PERF (Performance)"));
  EXPECT_THAT(r.markdown, HasSubstr("ENG (Engineering)"));
}

TEST_F(LinearStandin, UnknownLabelListsTheTeamsLabels) {
  const auto r = call("create_perf_task", {{"findings", findings()}, {"labels", {"nope"}}});
  ASSERT_TRUE(r.is_error);
  EXPECT_THAT(r.markdown, HasSubstr("performance, database"));
  EXPECT_TRUE(state()["issues"].empty());
}

TEST_F(LinearStandin, ProjectStateLabelsAndEstimateAreSet) {
  const auto r = call("create_perf_task", {{"findings", findings()},
                                           {"project", "q3 LATENCY"},
                                           {"state", "Todo"},
                                           {"labels", {"database"}},
                                           {"estimate", 3},
                                           {"priority", 1},
                                           {"team", "perf"}});
  ASSERT_FALSE(r.is_error) << r.markdown;
  const Json issue = state()["issues"][0];
  EXPECT_EQ(issue["project"], "Q3 latency");
  EXPECT_EQ(issue["state"], "Todo");
  EXPECT_EQ(issue["labels"], Json::array({"performance", "database"}));
  EXPECT_EQ(issue["estimate"], 3);
  EXPECT_EQ(issue["priority"], 1);
}

TEST_F(LinearStandin, PerformanceLabelIsCreatedOnlyWhenAllowed) {
  control("/_control/reset", {{"key", key_}, {"performance_label", false}});
  const auto without = call("create_perf_task", {{"findings", findings()}});
  ASSERT_FALSE(without.is_error) << without.markdown;
  EXPECT_THAT(without.structured["notes"].dump(), HasSubstr("allow_create_label"));
  EXPECT_TRUE(state()["issues"][0]["labels"].empty());
  EXPECT_EQ(requests_for("issueLabelCreate"), 0);

  control("/_control/reset", {{"key", key_}, {"performance_label", false}});
  settings_.linear.allow_create_label = true;
  const auto with = call("create_perf_task", {{"findings", findings()}});
  ASSERT_FALSE(with.is_error) << with.markdown;
  EXPECT_EQ(state()["issues"][0]["labels"], Json::array({"performance"}));
  EXPECT_EQ(requests_for("issueLabelCreate"), 1);
}

TEST_F(LinearStandin, GraphqlErrorInA200IsAnError) {
  faults({{{"kind", "graphql_error"}}});
  const auto r = call("find_perf_tasks", {{"query", "orders"}});
  ASSERT_TRUE(r.is_error);
  EXPECT_THAT(r.markdown, HasSubstr("Something went wrong"));
}

TEST_F(LinearStandin, FindsTasksByFingerprintAndByText) {
  const auto created = call("create_perf_task", {{"findings", findings()}});
  ASSERT_FALSE(created.is_error) << created.markdown;
  const std::string fp = created.structured["fingerprint"];

  const auto by_fp = call("find_perf_tasks", {{"fingerprint", fp}});
  ASSERT_FALSE(by_fp.is_error) << by_fp.markdown;
  EXPECT_EQ(by_fp.structured["searched_by"], "fingerprint");
  ASSERT_EQ(by_fp.structured["tasks"].size(), 1u);
  EXPECT_EQ(by_fp.structured["tasks"][0]["identifier"], "PERF-1");
  EXPECT_EQ(by_fp.structured["tasks"][0]["fingerprint"], fp);

  const auto by_text = call("find_perf_tasks", {{"query", "sequential scan"}});
  ASSERT_FALSE(by_text.is_error) << by_text.markdown;
  EXPECT_EQ(by_text.structured["searched_by"], "text");
  ASSERT_EQ(by_text.structured["tasks"].size(), 1u);
  EXPECT_THAT(by_text.markdown, HasSubstr("PERF-1"));

  const auto none = call("find_perf_tasks", {{"query", "vacuum"}});
  ASSERT_FALSE(none.is_error);
  EXPECT_TRUE(none.structured["tasks"].empty());

  const auto all = call("find_perf_tasks", Json::object());
  ASSERT_FALSE(all.is_error);
  EXPECT_EQ(all.structured["searched_by"], "dbopt_tasks");
  EXPECT_EQ(all.structured["tasks"].size(), 1u);
  EXPECT_EQ(requests_for("searchIssues"), 2);
}

}  // namespace
}  // namespace dbopt::linear
