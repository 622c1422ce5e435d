#include "tools/json_schema.h"

#include <gtest/gtest.h>

#include "tools/tool_registry.h"

namespace dbopt::tools {
namespace {

Json schema() {
  return Json::parse(R"({
    "type": "object",
    "properties": {
      "sql": {"type": "string", "minLength": 1, "maxLength": 20},
      "runs": {"type": "integer", "minimum": 1, "maximum": 100},
      "ratio": {"type": "number", "exclusiveMinimum": 0},
      "mode": {"type": "string", "enum": ["a", "b"]},
      "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"}, "maxItems": 2},
      "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
      "nested": {"type": "object", "properties": {"x": {"type": "boolean"}}, "required": ["x"],
                 "additionalProperties": false}
    },
    "required": ["sql"],
    "additionalProperties": false
  })");
}

std::string first_problem(const Json& value) {
  auto v = validate_against_schema(value, schema());
  return v.empty() ? "" : v[0].path + ": " + v[0].message;
}

TEST(JsonSchema, AcceptsValidValues) {
  EXPECT_EQ(first_problem({{"sql", "select 1"}}), "");
  EXPECT_EQ(first_problem({{"sql", "x"},
                           {"runs", 3.0},
                           {"ratio", 0.5},
                           {"mode", "b"},
                           {"tags", {"ab"}},
                           {"either", 4},
                           {"nested", {{"x", true}}}}),
            "");
}

TEST(JsonSchema, NamesTheFieldAndTheRule) {
  EXPECT_EQ(first_problem(Json::object()), "arguments.sql: is required");
  EXPECT_EQ(first_problem({{"sql", 1}}), "arguments.sql: expected string, got integer");
  EXPECT_EQ(first_problem({{"sql", ""}}), "arguments.sql: must not be empty");
  EXPECT_NE(first_problem({{"sql", std::string(21, 'x')}}).find("at most 20"), std::string::npos);
  EXPECT_EQ(first_problem({{"sql", "x"}, {"runs", 0}}), "arguments.runs: must be >= 1");
  EXPECT_EQ(first_problem({{"sql", "x"}, {"runs", 1.5}}), "arguments.runs: expected integer, got number");
  EXPECT_EQ(first_problem({{"sql", "x"}, {"ratio", 0}}), "arguments.ratio: must be > 0");
  EXPECT_NE(first_problem({{"sql", "x"}, {"mode", "c"}}).find("must be one of"), std::string::npos);
  EXPECT_NE(first_problem({{"sql", "x"}, {"tags", {"A"}}}).find("arguments.tags[0]: must match"), std::string::npos);
  EXPECT_NE(first_problem({{"sql", "x"}, {"tags", {"a", "b", "c"}}}).find("at most 2 items"), std::string::npos);
  EXPECT_NE(first_problem({{"sql", "x"}, {"either", true}}).find("does not match any"), std::string::npos);
  EXPECT_EQ(first_problem({{"sql", "x"}, {"nested", Json::object()}}), "arguments.nested.x: is required");
  EXPECT_NE(first_problem({{"sql", "x"}, {"bogus", 1}}).find("arguments.bogus: is not a known field (known:"),
            std::string::npos);
  EXPECT_EQ(first_problem(Json::array()), "arguments: expected object, got array");
}

TEST(JsonSchema, StopsAtTheLimit) {
  auto v = validate_against_schema({{"a", 1}, {"b", 2}, {"c", 3}}, schema(), "arguments", 2);
  EXPECT_EQ(v.size(), 2u);
}

TEST(JsonSchema, UnsupportedKeywordsAreCaughtAtRegistration) {
  EXPECT_THROW(check_schema_supported(Json::parse(R"({"type":"object","patternProperties":{}})")), std::logic_error);
  EXPECT_THROW(check_schema_supported(Json::parse(R"({"type":"object","properties":{"a":{"$ref":"#/x"}}})")),
               std::logic_error);
  EXPECT_THROW(check_schema_supported(Json::parse(R"({"type":"string","pattern":"("})")), std::exception);
  EXPECT_NO_THROW(check_schema_supported(schema()));
}

TEST(ToolRegistry, BuiltinToolsRegisterWithValidDeclarations) {
  ToolRegistry registry;
  register_builtin_tools(registry);
  for (const char* mission : {"explain_query", "suggest_indexes", "detect_n_plus_one", "tune_pool", "create_perf_task"})
    EXPECT_NE(registry.find(mission), nullptr) << mission;
  for (const auto& t : registry.tools()) {
    // An unbuilt tool must say so where an assistant reads it.
    EXPECT_EQ(t.description.find("NOT IMPLEMENTED YET") != std::string::npos, !t.implemented) << t.name;
  }
}

TEST(ToolRegistry, RejectsBadDeclarations) {
  ToolRegistry registry;
  Tool t;
  t.name = "Bad-Name";
  t.title = "x";
  t.description = "x";
  t.input_schema = {{"type", "object"}};
  t.handler = [](const Json&, ToolContext&) { return ToolResult{}; };
  EXPECT_THROW(registry.add(t), std::logic_error);
  t.name = "good_name";
  registry.add(t);
  EXPECT_THROW(registry.add(t), std::logic_error);  // duplicate
  t.name = "no_object";
  t.input_schema = {{"type", "string"}};
  EXPECT_THROW(registry.add(t), std::logic_error);
}

}  // namespace
}  // namespace dbopt::tools
