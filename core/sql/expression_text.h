// Internal to core/sql: SQL text for expression nodes of the JSON parse tree.
//
// libpg_query 15-4.0.0 can deparse only whole protobuf trees, so expressions
// are written here, in one canonical spelling (keywords upper-case, single
// spaces, sub-expressions in parentheses), so that equal expressions written
// differently get equal text and the text parses back to the same tree.
// Constructs without a writer here (XML functions, window frames, subquery
// bodies) are copied from the source text by their locations.
//
// Also works around libpg_query 15-4.0.0 dropping zero and negative integer
// constants from the JSON ("ival": {}; pganalyze/libpg_query#243, fixed
// upstream in #249): their value is read back from the source text.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dbopt::sql::detail {

class ExpressionText {
 public:
  // `source` is the text the tree was parsed from; locations point into it.
  explicit ExpressionText(std::string_view source) : source_(source) {}

  // SQL text of a node such as {"A_Expr": {...}}. With qualified = false,
  // column references lose their qualifiers (u.email -> email).
  std::string of(const nlohmann::json& node, bool qualified = true) const;

  // The A_Const body's value: without quotes for strings, "NULL" for null.
  std::string constant_value(const nlohmann::json& a_const) const;
  // The A_Const body's integer value, when it is an integer.
  std::optional<std::int64_t> integer_value(const nlohmann::json& a_const) const;

  // The text of the parenthesized subquery that a SubLink (body) introduces,
  // taken from the source: "(SELECT ...)".
  std::string subquery_text(const nlohmann::json& sublink) const;

  // TypeName body as SQL ("integer", "varchar(10)[]", "myschema.mytype").
  std::string type_name(const nlohmann::json& type_name) const;

 private:
  std::string_view source_;
};

// A name as PostgreSQL would need it written: bare when it is a lower-case
// identifier that is not a reserved word, otherwise double-quoted.
std::string quote_identifier(std::string_view name);

// A string as a SQL literal: 'it''s'.
std::string quote_literal(std::string_view value);

}  // namespace dbopt::sql::detail
