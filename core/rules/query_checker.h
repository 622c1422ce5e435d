// check_query: the knowledge base's query rules applied to one parsed statement.
//
// Works from the SQL text alone (core/sql's QueryModel, no catalog), so every
// finding is "inferred": the text shows a pattern that is slow or wrong in
// general (a leading-wildcard LIKE, NOT IN over a subquery, a deep OFFSET);
// whether it matters here depends on the data. All query levels (CTEs,
// subqueries) are checked. Each rule of category "query" that the RuleBook
// holds is checked once with its thresholds read by name; absent rules are
// skipped. Findings are sorted by severity, then rule id; fixes are rendered
// with the query's own tables and columns.
//
// Pure function of its inputs; thread-safe; cost linear in the model's size.
#pragma once

#include <string_view>
#include <vector>

#include "core/sql/query_model.h"
#include "knowledge/finding.h"
#include "knowledge/rule_book.h"

namespace dbopt::rules {

std::vector<knowledge::Finding> check_query(const sql::QueryModel& query, const knowledge::RuleBook& rules);

// The ids of the query rules this checker implements, in checking order.
const std::vector<std::string_view>& query_rule_ids();

}  // namespace dbopt::rules
