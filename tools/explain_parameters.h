// Values for a query's $1..$n placeholders, written into the SQL text as
// literals, so explain_query can EXPLAIN (ANALYZE) a query as an ORM log or
// pg_stat_statements shows it together with the values of one call.
//
// A stand-in: SafeExecutor has no way to send bound parameters yet. Once it
// does, bound parameters are the better path (no text rewriting) and this
// file goes away.
//
// Every value becomes an untyped string literal ('42', 'true', NULL for null),
// which PostgreSQL types from the context exactly as it types a parameter sent
// without a type, so `col = $1` plans the same either way. Placeholders inside
// string literals, quoted identifiers, comments and dollar-quoted bodies are
// left alone. The result is checked by parsing it again: no placeholder may be
// left and the statement's fingerprint (which ignores constants and
// parameters) must not change.
//
// Errors: dbopt::Error(invalid_argument) naming `params` when the count does
// not match the placeholders or a value holds a NUL character. Thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace dbopt::tools {

// `parameter_count` is the highest $n the statement uses (QueryModel::parameter_count).
std::string bind_parameters_as_literals(std::string_view sql, int parameter_count,
                                        const std::vector<nlohmann::json>& values);

// '...' with quotes doubled; E'...' with backslashes doubled too when the value
// holds one, so the text means the same whatever standard_conforming_strings says.
std::string sql_string_literal(std::string_view value);

}  // namespace dbopt::tools
