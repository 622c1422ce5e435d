// JSON Schema validation for tool arguments and results: dbopt's one validator.
//
// Debian ships no C++ JSON Schema validator, so this covers the subset the
// tool schemas use: type (string or list), properties, required,
// additionalProperties (bool or schema), items, enum, const, minimum, maximum,
// exclusiveMinimum/Maximum, minLength, maxLength, pattern, minItems, maxItems,
// anyOf, oneOf. Annotations (title, description, default, format, examples)
// are ignored. A keyword outside the subset is a programming error caught by
// check_schema_supported() at registration, not silently ignored.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dbopt::tools {

struct SchemaViolation {
  std::string path;     // JSON path of the offending value: "arguments.options.max_indexes"
  std::string message;  // what is wrong and what was expected
};

// The first violations found (at most `limit`); empty when the value is valid.
std::vector<SchemaViolation> validate_against_schema(const nlohmann::json& value, const nlohmann::json& schema,
                                                     const std::string& root_name = "arguments", size_t limit = 5);

// Throws std::logic_error naming the first keyword the validator does not support.
void check_schema_supported(const nlohmann::json& schema, const std::string& where = "schema");

}  // namespace dbopt::tools
