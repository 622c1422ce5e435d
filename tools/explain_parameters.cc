#include "tools/explain_parameters.h"

#include <cctype>

#include "core/common/error.h"
#include "core/sql/fingerprint.h"
#include "core/sql/query_model.h"

namespace dbopt::tools {
namespace {

bool identifier_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '_' || c == '$' || u >= 0x80;
}

bool tag_start(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalpha(u) || c == '_' || u >= 0x80;
}

struct Placeholder {
  std::size_t offset = 0;
  std::size_t length = 0;
  int number = 0;
};

// The scanner skips what PostgreSQL's lexer treats as one token with a body
// ($1 inside them is not a placeholder). It only has to be right about where
// placeholders are: the caller re-parses the result to prove it.
std::vector<Placeholder> find_placeholders(std::string_view sql) {
  std::vector<Placeholder> found;
  const std::size_t n = sql.size();
  std::size_t i = 0;
  while (i < n) {
    const char c = sql[i];
    const bool after_identifier = i > 0 && identifier_char(sql[i - 1]);
    if (c == '\'') {
      // E'...' strings take backslash escapes; the E must start a token.
      const bool escapes = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') && !(i > 1 && identifier_char(sql[i - 2]));
      ++i;
      while (i < n) {
        if (escapes && sql[i] == '\\') {
          i += 2;
        } else if (sql[i] == '\'') {
          if (i + 1 < n && sql[i + 1] == '\'') {
            i += 2;
          } else {
            ++i;
            break;
          }
        } else {
          ++i;
        }
      }
    } else if (c == '"') {
      ++i;
      while (i < n) {
        if (sql[i] == '"' && i + 1 < n && sql[i + 1] == '"') {
          i += 2;
        } else if (sql[i++] == '"') {
          break;
        }
      }
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      while (i < n && sql[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      int depth = 0;  // PostgreSQL's block comments nest
      while (i < n) {
        if (sql[i] == '/' && i + 1 < n && sql[i + 1] == '*') {
          ++depth;
          i += 2;
        } else if (sql[i] == '*' && i + 1 < n && sql[i + 1] == '/') {
          i += 2;
          if (--depth == 0) break;
        } else {
          ++i;
        }
      }
    } else if (c == '$' && !after_identifier && i + 1 < n && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      std::size_t end = i + 1;
      int number = 0;
      while (end < n && std::isdigit(static_cast<unsigned char>(sql[end]))) {
        number = number * 10 + (sql[end] - '0');
        if (number > 65535) number = 65535;  // beyond PostgreSQL's limit; the count check refuses it
        ++end;
      }
      found.push_back({i, end - i, number});
      i = end;
    } else if (c == '$' && !after_identifier) {
      std::size_t end = i + 1;
      if (end < n && tag_start(sql[end])) {
        while (end < n && identifier_char(sql[end]) && sql[end] != '$') ++end;
      }
      if (end < n && sql[end] == '$') {
        const std::string_view tag = sql.substr(i, end - i + 1);
        const std::size_t close = sql.find(tag, end + 1);
        i = close == std::string_view::npos ? n : close + tag.size();
      } else {
        ++i;
      }
    } else {
      ++i;
    }
  }
  return found;
}

std::string literal_for(const nlohmann::json& value, std::size_t index) {
  if (value.is_null()) return "NULL";
  std::string text;
  if (value.is_string()) {
    text = value.get<std::string>();
  } else if (value.is_boolean()) {
    text = value.get<bool>() ? "true" : "false";
  } else if (value.is_number()) {
    text = value.dump();
  } else {
    throw Error(
        ErrorCode::invalid_argument,
        "params[" + std::to_string(index) + "] is " + value.type_name() +
            ": only strings, numbers, booleans and null are values",
        "Give each value as a string, number, boolean or null; write arrays in PostgreSQL's text form (\"{1,2,3}\").");
  }
  if (text.find('\0') != std::string::npos)
    throw Error(ErrorCode::invalid_argument, "params[" + std::to_string(index) + "] contains a NUL character",
                "PostgreSQL text cannot hold NUL characters; remove it.");
  return sql_string_literal(text);
}

}  // namespace

std::string sql_string_literal(std::string_view value) {
  const bool has_backslash = value.find('\\') != std::string_view::npos;
  std::string out = has_backslash ? "E'" : "'";
  for (char c : value) {
    if (c == '\'' || (has_backslash && c == '\\')) out += c;
    out += c;
  }
  out += '\'';
  return out;
}

std::string bind_parameters_as_literals(std::string_view sql, int parameter_count,
                                        const std::vector<nlohmann::json>& values) {
  if (parameter_count == 0)
    throw Error(ErrorCode::invalid_argument, "params were given, but the sql has no $1..$n placeholders",
                "Drop params, or write the values' places in sql as $1, $2, ...");
  if (static_cast<int>(values.size()) != parameter_count)
    throw Error(ErrorCode::invalid_argument,
                "params has " + std::to_string(values.size()) + " value(s), but the sql uses placeholders up to $" +
                    std::to_string(parameter_count),
                "Give exactly one value per placeholder, in order: params[0] for $1, params[1] for $2, ...");
  std::vector<std::string> literals;
  literals.reserve(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) literals.push_back(literal_for(values[i], i));

  std::string bound;
  bound.reserve(sql.size() + 16 * literals.size());
  std::size_t copied = 0;
  for (const Placeholder& p : find_placeholders(sql)) {
    if (p.number < 1 || p.number > parameter_count) continue;  // left for the check below to catch
    bound.append(sql.substr(copied, p.offset - copied));
    bound += literals[p.number - 1];
    copied = p.offset + p.length;
  }
  bound.append(sql.substr(copied));

  if (sql::parse_query(bound).parameter_count != 0 || sql::fingerprint(bound) != sql::fingerprint(sql))
    throw Error(ErrorCode::internal, "explain_query could not place the params into the SQL text",
                "Write the values into sql directly instead of using params.");
  return bound;
}

}  // namespace dbopt::tools
