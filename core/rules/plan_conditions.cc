#include "core/rules/plan_conditions.h"

#include <cctype>
#include <optional>

namespace dbopt::rules::detail {
namespace {

bool is_lower_ident_start(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }
bool is_ident_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '$'; }
bool is_operator_char(char c) {
  static constexpr std::string_view kChars = "=<>!~*@&|#?-+/%^";
  return kChars.find(c) != std::string_view::npos;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Index just past the quoted section starting at `at` ('...' or "..."),
// honouring doubled quotes.
std::size_t skip_quoted(std::string_view s, std::size_t at) {
  const char quote = s[at];
  std::size_t i = at + 1;
  while (i < s.size()) {
    if (s[i] == quote) {
      if (i + 1 < s.size() && s[i + 1] == quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    ++i;
  }
  return s.size();
}

// The index of the ')' matching the '(' at `open`, or npos.
std::size_t matching_paren(std::string_view s, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < s.size();) {
    const char c = s[i];
    if (c == '\'' || c == '"') {
      i = skip_quoted(s, i);
      continue;
    }
    if (c == '(') ++depth;
    if (c == ')' && --depth == 0) return i;
    ++i;
  }
  return std::string_view::npos;
}

std::string_view strip_parens(std::string_view s) {
  s = trim(s);
  while (s.size() >= 2 && s.front() == '(' && matching_paren(s, 0) == s.size() - 1) s = trim(s.substr(1, s.size() - 2));
  return s;
}

// Splits at a keyword (" AND ", " OR ") outside parentheses and quotes.
std::vector<std::string_view> split_top(std::string_view s, std::string_view keyword) {
  std::vector<std::string_view> parts;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == '\'' || c == '"') {
      i = skip_quoted(s, i);
      continue;
    }
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && s.compare(i, keyword.size(), keyword) == 0) {
      parts.push_back(s.substr(start, i - start));
      i += keyword.size();
      start = i;
      continue;
    }
    ++i;
  }
  parts.push_back(s.substr(start));
  return parts;
}

// A type name after "::": lower-case words ("timestamp with time zone"),
// optionally with [] or a (n) modifier. Stops at upper-case keywords and operators.
std::string read_type(std::string_view s, std::size_t& pos) {
  std::string type;
  while (pos < s.size()) {
    std::size_t i = pos;
    if (!type.empty()) {
      if (s[i] != ' ' || i + 1 >= s.size() || !is_lower_ident_start(s[i + 1])) break;
      ++i;
    }
    if (i >= s.size() || !(is_lower_ident_start(s[i]) || s[i] == '"')) break;
    const std::size_t begin = i;
    if (s[i] == '"') {
      i = skip_quoted(s, i);
    } else {
      while (i < s.size() && is_ident_char(s[i])) ++i;
    }
    if (i < s.size() && s[i] == '(') {
      const std::size_t close = matching_paren(s, i);
      if (close != std::string_view::npos) i = close + 1;
    }
    while (i + 1 < s.size() && s[i] == '[' && s[i + 1] == ']') i += 2;
    if (!type.empty()) type += ' ';
    type += s.substr(begin, i - begin);
    pos = i;
  }
  return type;
}

std::string unquote(std::string_view ident) {
  if (ident.size() >= 2 && ident.front() == '"') {
    std::string out;
    for (std::size_t i = 1; i + 1 < ident.size(); ++i) {
      out += ident[i];
      if (ident[i] == '"') ++i;
    }
    return out;
  }
  return std::string(ident);
}

// Reads a.b or "A"."b" at pos; returns the parts (one or two, schema dropped).
std::optional<std::pair<std::string, std::string>> read_ident_chain(std::string_view s, std::size_t& pos) {
  std::vector<std::string> parts;
  std::size_t i = pos;
  while (i < s.size()) {
    const std::size_t begin = i;
    if (s[i] == '"') {
      i = skip_quoted(s, i);
    } else if (is_lower_ident_start(s[i])) {
      while (i < s.size() && is_ident_char(s[i])) ++i;
    } else {
      break;
    }
    parts.push_back(unquote(s.substr(begin, i - begin)));
    if (i < s.size() && s[i] == '.' && i + 1 < s.size() && (is_lower_ident_start(s[i + 1]) || s[i + 1] == '"')) {
      ++i;
      continue;
    }
    break;
  }
  if (parts.empty()) return std::nullopt;
  pos = i;
  if (parts.size() == 1) return std::make_pair(std::string(), parts[0]);
  return std::make_pair(parts[parts.size() - 2], parts.back());
}

struct Operand {
  std::string qualifier;
  std::string column;
  std::string expression;  // a function of the column
  std::string cast_type;
  bool is_column() const { return !column.empty() && expression.empty(); }
};

// The first column named anywhere in s (function names and type names skipped).
std::optional<std::pair<std::string, std::string>> first_column(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == '\'') {
      i = skip_quoted(s, i);
      continue;
    }
    if (c == ':' && i + 1 < s.size() && s[i + 1] == ':') {
      i += 2;
      read_type(s, i);
      continue;
    }
    if ((is_lower_ident_start(c) || c == '"') && (i == 0 || !is_ident_char(s[i - 1]))) {
      std::size_t j = i;
      auto chain = read_ident_chain(s, j);
      if (chain && (j >= s.size() || s[j] != '(')) return chain;
      i = std::max(j, i + 1);
      continue;
    }
    ++i;
  }
  return std::nullopt;
}

Operand read_operand(std::string_view s, std::size_t& pos) {
  Operand operand;
  while (pos < s.size() && s[pos] == ' ') ++pos;
  if (pos >= s.size()) return operand;
  const std::size_t begin = pos;
  if (s[pos] == '(') {
    const std::size_t close = matching_paren(s, pos);
    if (close == std::string_view::npos) {
      pos = s.size();
      return operand;
    }
    std::string_view inner = strip_parens(s.substr(pos + 1, close - pos - 1));
    std::size_t inner_pos = 0;
    Operand nested = read_operand(inner, inner_pos);
    if (inner_pos >= trim(inner).size()) {
      operand = nested;
    } else if (auto column = first_column(inner)) {
      operand.qualifier = column->first;
      operand.column = column->second;
      operand.expression = std::string(inner);
    }
    pos = close + 1;
  } else if (is_lower_ident_start(s[pos]) || s[pos] == '"') {
    auto chain = read_ident_chain(s, pos);
    if (chain && pos < s.size() && s[pos] == '(') {
      const std::size_t open = pos;
      const std::size_t close = matching_paren(s, pos);
      pos = close == std::string_view::npos ? s.size() : close + 1;
      if (auto column = first_column(s.substr(open, pos - open))) {
        operand.qualifier = column->first;
        operand.column = column->second;
      }
      operand.expression = std::string(s.substr(begin, pos - begin));
    } else if (chain) {
      operand.qualifier = chain->first;
      operand.column = chain->second;
    }
  } else if (s[pos] == '\'') {
    pos = skip_quoted(s, pos);
  } else {
    while (pos < s.size() && s[pos] != ' ' && s[pos] != ':' && !is_operator_char(s[pos])) ++pos;
  }
  while (pos + 1 < s.size() && s[pos] == ':' && s[pos + 1] == ':') {
    pos += 2;
    const std::string type = read_type(s, pos);
    if (!operand.column.empty() && operand.expression.empty()) operand.cast_type = type;
  }
  return operand;
}

TermKind kind_of(std::string_view op) {
  if (op == "=" || op == "= ANY" || op == "IS NULL") return TermKind::equality;
  if (op == "<" || op == "<=" || op == ">" || op == ">=") return TermKind::range;
  if (op == "~~" || op == "~~*") return TermKind::pattern;
  if (op == "IS NOT NULL") return TermKind::not_null;
  return TermKind::other;
}

std::string commuted(std::string_view op) {
  if (op == "<") return ">";
  if (op == ">") return "<";
  if (op == "<=") return ">=";
  if (op == ">=") return "<=";
  return std::string(op);
}

ConditionTerm parse_term(std::string_view text, bool in_or) {
  ConditionTerm term;
  term.text = std::string(text);
  term.in_or = in_or;
  std::size_t pos = 0;
  Operand left = read_operand(text, pos);
  const std::string_view left_text = trim(text.substr(0, std::min(pos, text.size())));
  while (pos < text.size() && text[pos] == ' ') ++pos;
  std::string_view rest = text.substr(pos);
  for (std::string_view keyword : {"IS NOT NULL", "IS NULL", "IS NOT DISTINCT FROM", "IS DISTINCT FROM"}) {
    if (rest.compare(0, keyword.size(), keyword) == 0) {
      term.op = std::string(keyword);
      pos += keyword.size();
      break;
    }
  }
  if (term.op.empty()) {
    const std::size_t begin = pos;
    while (pos < text.size() && is_operator_char(text[pos])) ++pos;
    term.op = std::string(text.substr(begin, pos - begin));
    while (pos < text.size() && text[pos] == ' ') ++pos;
    for (std::string_view quantifier : {"ANY (", "ALL ("}) {
      if (text.compare(pos, quantifier.size(), quantifier) == 0) {
        term.op += " " + std::string(quantifier.substr(0, 3));
        pos += 4;
      }
    }
  }
  term.other_side = std::string(trim(text.substr(std::min(pos, text.size()))));
  std::size_t other_pos = 0;
  Operand right = read_operand(term.other_side, other_pos);
  const bool right_is_whole_column = right.is_column() && other_pos >= term.other_side.size();
  if (!left.is_column() && left.expression.empty() && right_is_whole_column) {
    std::swap(left, right);  // "5 < id" reads as "id > 5"
    term.op = commuted(term.op);
    term.other_side = std::string(left_text);
  } else if (right_is_whole_column && right.cast_type.empty()) {
    term.other_qualifier = right.qualifier;
    term.other_column = right.column;
  }
  term.qualifier = left.qualifier;
  term.column = left.column;
  term.expression = left.expression;
  term.cast_type = left.cast_type;
  term.kind = left.expression.empty() && left.cast_type.empty() ? kind_of(term.op) : TermKind::other;
  return term;
}

}  // namespace

std::vector<ConditionTerm> parse_condition(std::string_view condition) {
  std::vector<ConditionTerm> terms;
  for (std::string_view conjunct : split_top(strip_parens(condition), " AND ")) {
    conjunct = strip_parens(conjunct);
    const auto alternatives = split_top(conjunct, " OR ");
    if (alternatives.size() == 1) {
      terms.push_back(parse_term(conjunct, false));
      continue;
    }
    for (std::string_view alternative : alternatives) {
      for (std::string_view part : split_top(strip_parens(alternative), " AND ")) {
        terms.push_back(parse_term(strip_parens(part), true));
      }
    }
  }
  return terms;
}

std::vector<ColumnCast> column_casts(std::string_view condition) {
  std::vector<ColumnCast> casts;
  for (std::size_t i = 0; i < condition.size();) {
    const char c = condition[i];
    if (c == '\'') {
      i = skip_quoted(condition, i);
      continue;
    }
    if (c == '(') {
      std::size_t j = i + 1;
      auto chain = read_ident_chain(condition, j);
      if (chain && j + 2 < condition.size() && condition[j] == ')' && condition.compare(j + 1, 2, "::") == 0) {
        std::size_t type_pos = j + 3;
        std::string type = read_type(condition, type_pos);
        if (!type.empty()) casts.push_back({chain->first, chain->second, std::move(type)});
        i = type_pos;
        continue;
      }
    }
    ++i;
  }
  return casts;
}

}  // namespace dbopt::rules::detail
