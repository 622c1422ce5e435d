#include "core/plan/explain_reader.h"

#include "core/plan/reader_support.h"

namespace dbopt::plan {

Plan parse_explain(std::string_view explain_output) {
  const char first = detail::first_plan_character(explain_output);
  if (first == '\0') detail::throw_parse_error("EXPLAIN output is empty; expected a plan in TEXT or JSON format.");
  return first == '[' || first == '{' ? parse_explain_json(explain_output) : parse_explain_text(explain_output);
}

}  // namespace dbopt::plan
