// Row-constant function calls in a row-level security policy expression.
//
// A policy's USING / WITH CHECK expression runs once per row. A function call
// in it whose arguments name no column of the row (auth.uid(),
// current_setting('app.tenant'), get_my_tenants()) gives the same answer for
// every row, yet PostgreSQL calls it per row unless it sits in a sub-select,
// where it becomes an InitPlan computed once. row_constant_calls() finds such
// calls outside any sub-select; wrap_in_select() writes the expression with
// each of them as (select call). Supabase's auth_rls_initplan lint, done on the
// parse tree rather than by text matching. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace dbopt::sql {

struct CallSpan {
  std::size_t offset = 0;  // into the expression text
  std::size_t length = 0;
  std::string text;  // the call as written: "auth.uid()"
};

// Throws dbopt::Error(invalid_argument) when the expression does not parse.
std::vector<CallSpan> row_constant_calls(std::string_view expression);

// The expression with every call of `calls` replaced by "(select CALL)".
std::string wrap_in_select(std::string_view expression, const std::vector<CallSpan>& calls);

}  // namespace dbopt::sql
