// Both EXPLAIN readers refuse what PostgreSQL never prints (NaN, infinity,
// negative costs, rows and times, a '->' without a node) with the line or
// key named, instead of analysing nonsense.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "core/common/error.h"
#include "core/plan/explain_reader.h"

namespace dbopt::plan {
namespace {

using ::testing::HasSubstr;

template <typename Reader>
std::string error_of(Reader reader, const std::string& text) {
  try {
    reader(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_FALSE(e.fix().empty());
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << text;
  return "";
}

std::string text_error(const std::string& text) { return error_of(parse_explain_text, text); }
std::string json_error(const std::string& text) { return error_of(parse_explain_json, text); }

TEST(ImpossiblePlanValues, TextNanAndInfinityCostsNameTheLine) {
  const std::string e = text_error(
      "Hash Join  (cost=1.00..2.00 rows=1 width=4)\n"
      "  ->  Seq Scan on t  (cost=NaN..inf rows=1 width=4)");
  EXPECT_THAT(e, HasSubstr("line 2"));
  EXPECT_THAT(e, HasSubstr("cost=NaN..inf"));
  EXPECT_THAT(e, HasSubstr("no NaN, infinity or minus sign"));
}

TEST(ImpossiblePlanValues, TextNegativeRowsAndTimes) {
  EXPECT_THAT(text_error("Seq Scan on t  (cost=0.00..1.00 rows=-5 width=4)"), HasSubstr("line 1"));
  EXPECT_THAT(text_error("Seq Scan on t  (cost=0.00..1.00 rows=1 width=4) (actual time=-1.000..2.000 rows=1 loops=1)"),
              HasSubstr("unreadable actual time"));
  const std::string e = text_error("Seq Scan on t  (cost=0.00..1.00 rows=1 width=4)\nExecution Time: -1.000 ms");
  EXPECT_THAT(e, HasSubstr("line 2"));
  EXPECT_THAT(e, HasSubstr("unreadable Execution Time '-1.000 ms'"));
}

TEST(ImpossiblePlanValues, TextArrowsWithoutNodes) {
  EXPECT_THAT(text_error("->  ->  ->"), HasSubstr("expected a node name after '->'"));
  EXPECT_THAT(text_error("Seq Scan on t  (cost=0.00..1.00 rows=1 width=4)\n  ->  ->"), HasSubstr("line 2"));
}

TEST(ImpossiblePlanValues, JsonNegativeTimesAndRowsNameTheKeyAndNode) {
  const std::string e = json_error(R"([{"Plan": {"Node Type": "Seq Scan", "Relation Name": "t",
      "Startup Cost": 0, "Total Cost": 1, "Plan Rows": 1, "Plan Width": 4,
      "Actual Startup Time": 0, "Actual Total Time": -1, "Actual Rows": 1, "Actual Loops": 1}}])");
  EXPECT_THAT(e, HasSubstr("\"Actual Total Time\" of plan node 0 is -1"));
  EXPECT_THAT(json_error(R"([{"Plan": {"Node Type": "Result", "Plan Rows": -5}}])"), HasSubstr("\"Plan Rows\""));
  EXPECT_THAT(json_error(R"([{"Plan": {"Node Type": "Result"}, "Execution Time": -1.5}])"),
              HasSubstr("\"Execution Time\" is -1.5"));
}

TEST(ImpossiblePlanValues, JsonOverflowingNumbersAreRefused) {
  EXPECT_THAT(json_error(R"([{"Plan": {"Node Type": "Result", "Total Cost": 1e999}}])"),
              HasSubstr("line 1: not valid JSON ([json.exception.out_of_range.406] number overflow"));
}

TEST(ImpossiblePlanValues, RealFiguresStillRead) {
  const Plan text = parse_explain_text(
      "Seq Scan on t  (cost=0.00..1.00 rows=0 width=4) (actual time=0.000..0.010 rows=0 loops=1)\n"
      "Execution Time: 0.020 ms");
  EXPECT_EQ(text.execution_time_ms, 0.020);
  // A signed query id is the one negative number EXPLAIN prints.
  const Plan json = parse_explain_json(R"([{"Plan": {"Node Type": "Result", "Startup Cost": 0, "Total Cost": 0.01,
      "Plan Rows": 1, "Plan Width": 4}, "Query Identifier": -4611686018427387904}])");
  EXPECT_EQ(json.root.node_type, "Result");
}

}  // namespace
}  // namespace dbopt::plan
