#include "core/sql/expression_text.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <climits>

#include "core/sql/parse_tree.h"

namespace dbopt::sql::detail {
namespace {

using nlohmann::json;

// PostgreSQL 15's reserved and type/function-name keywords: as column names
// these must be quoted. (Unreserved and column-name keywords need not be.)
constexpr std::string_view kReservedWords[] = {
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both", "case", "cast", "check",
    "collate", "column", "constraint", "create", "current_catalog", "current_date", "current_role", "current_time",
    "current_timestamp", "current_user", "default", "deferrable", "desc", "distinct", "do", "else", "end", "except",
    "false", "fetch", "for", "foreign", "from", "grant", "group", "having", "in", "initially", "intersect", "into",
    "lateral", "leading", "limit", "localtime", "localtimestamp", "not", "null", "offset", "on", "only", "or", "order",
    "placing", "primary", "references", "returning", "select", "session_user", "some", "symmetric", "table", "then",
    "to", "trailing", "true", "union", "unique", "user", "using", "variadic", "when", "where", "window", "with",
    // type_func_name_keyword
    "authorization", "binary", "collation", "concurrently", "cross", "current_schema", "freeze", "full", "ilike",
    "inner", "is", "isnull", "join", "left", "like", "natural", "notnull", "outer", "overlaps", "right", "similar",
    "tablesample", "verbose"};

// Window frame options PostgreSQL uses when the OVER clause names none.
constexpr int kDefaultFrameOptions = 1058;

bool is_plain_identifier(std::string_view name) {
  if (name.empty() || !(std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::islower(u) || std::isdigit(u) || c == '_' || c == '$';
  });
}

const json* field(const json& body, const char* name) {
  const auto it = body.find(name);
  return it == body.end() ? nullptr : &*it;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += separator;
    out += parts[i];
  }
  return out;
}

// Qualified names (["pg_catalog", "lower"]) as SQL.
std::string name_list(const json& names) {
  std::vector<std::string> parts;
  for (const auto& part : names) parts.push_back(quote_identifier(string_value(part)));
  return join(parts, ".");
}

// An operator as SQL: ">" or, schema-qualified, OPERATOR(pg_catalog.>).
std::string operator_name(const json& names) {
  if (names.empty()) return {};
  if (names.size() == 1) return string_value(names[0]);
  std::string text = "OPERATOR(";
  for (std::size_t i = 0; i + 1 < names.size(); ++i) text += quote_identifier(string_value(names[i])) + ".";
  return text + string_value(names.back()) + ")";
}

void min_max_location(const json& value, int& lowest, int& highest) {
  if (value.is_object()) {
    // Iterators, not items(): items() frames are large and this recurses per tree level.
    for (auto it = value.begin(); it != value.end(); ++it) {
      const json& child = *it;
      if (it.key() == "location" && child.is_number_integer()) {
        const int location = child.get<int>();
        if (location >= 0) {
          lowest = lowest < 0 ? location : std::min(lowest, location);
          highest = std::max(highest, location);
        }
      } else if (child.is_structured()) {
        min_max_location(child, lowest, highest);
      }
    }
  } else if (value.is_array()) {
    for (const auto& child : value) min_max_location(child, lowest, highest);
  }
}

class Writer {
 public:
  Writer(const ExpressionText& owner, std::string_view source, bool qualified)
      : owner_(owner), source_(source), qualified_(qualified) {}

  std::string write(const json& value) const {
    // Each level costs about 1 KB of stack here; past this depth the text is
    // copied from the source instead, which needs no recursion.
    constexpr int kMaxWrittenDepth = 64;
    if (depth_ >= kMaxWrittenDepth) return source_text(value);
    ++depth_;
    std::string text = write_node(value);
    --depth_;
    return text;
  }

 private:
  std::string write_node(const json& value) const {
    if (value.is_array()) return list(value);
    const Node node = as_node(value);
    if (!node) return {};
    const json& body = *node.body;
    const std::string_view type = node.type;
    if (type == "ColumnRef") return column_ref(body);
    if (type == "A_Const") return constant(body);
    if (type == "ParamRef") return "$" + std::to_string(body.value("number", 0));
    if (type == "A_Expr") return a_expr(body);
    if (type == "BoolExpr") return bool_expr(body);
    if (type == "FuncCall") return func_call(value, body);
    if (type == "TypeCast") return wrapped(*field(body, "arg")) + "::" + owner_.type_name(body.at("typeName"));
    if (type == "NullTest") {
      return wrapped(body.at("arg")) + (body.value("nulltesttype", "") == "IS_NOT_NULL" ? " IS NOT NULL" : " IS NULL");
    }
    if (type == "BooleanTest") return wrapped(body.at("arg")) + " " + boolean_test(body.value("booltesttype", ""));
    if (type == "CaseExpr") return case_expr(body);
    if (type == "CoalesceExpr") return "COALESCE(" + items(body, "args") + ")";
    if (type == "MinMaxExpr") {
      return std::string(body.value("op", "") == "IS_LEAST" ? "LEAST(" : "GREATEST(") + items(body, "args") + ")";
    }
    if (type == "SQLValueFunction") return sql_value_function(body);
    if (type == "CollateClause") return wrapped(body.at("arg")) + " COLLATE " + name_list(body.at("collname"));
    if (type == "A_Indirection") return indirection(body);
    if (type == "A_ArrayExpr") return "ARRAY[" + items(body, "elements") + "]";
    if (type == "RowExpr") return row(body);
    if (type == "SubLink") return sublink(value, body);
    if (type == "A_Star") return "*";
    if (type == "SetToDefault") return "DEFAULT";
    if (type == "GroupingFunc") return "GROUPING(" + items(body, "args") + ")";
    if (type == "GroupingSet") return grouping_set(body);
    if (type == "NamedArgExpr") return quote_identifier(body.value("name", "")) + " => " + write(body.at("arg"));
    if (type == "List") return list(body.value("items", json::array()));
    if (type == "String") return quote_identifier(body.value("sval", ""));
    if (type == "SortBy") return sort_by(body);
    if (type == "CurrentOfExpr") return "CURRENT OF " + quote_identifier(body.value("cursor_name", ""));
    return source_text(value);
  }

  // Operands that are themselves operator expressions get parentheses, so the
  // text keeps the tree's grouping whatever the operators' precedence.
  std::string wrapped(const json& value) const {
    const Node node = as_node(value);
    const std::string text = write(value);
    const bool compound = node.type == "A_Expr" || node.type == "BoolExpr" || node.type == "NullTest" ||
                          node.type == "BooleanTest" || node.type == "CollateClause" ||
                          (node.type == "SubLink" && node.body->contains("testexpr"));
    const bool negative_constant = node.type == "A_Const" && !text.empty() && text[0] == '-';
    return compound || negative_constant ? "(" + text + ")" : text;
  }

  std::string list(const json& array) const {
    std::vector<std::string> parts;
    for (const auto& item : array) parts.push_back(write(item));
    return "(" + join(parts, ", ") + ")";
  }

  std::string items(const json& body, const char* name) const {
    std::vector<std::string> parts;
    if (const json* array = field(body, name)) {
      for (const auto& item : *array) parts.push_back(write(item));
    }
    return join(parts, ", ");
  }

  std::string column_ref(const json& body) const {
    std::vector<std::string> parts;
    for (const auto& part : body.value("fields", json::array())) {
      parts.push_back(as_node(part).type == "A_Star" ? "*" : quote_identifier(string_value(part)));
    }
    if (!qualified_ && parts.size() > 1) parts.erase(parts.begin(), parts.end() - 1);
    return join(parts, ".");
  }

  std::string constant(const json& body) const {
    if (body.value("isnull", false)) return "NULL";
    if (body.contains("sval")) return quote_literal(owner_.constant_value(body));
    if (const json* bits = field(body, "bsval")) {
      const std::string text = bits->value("bsval", "");
      if (text.empty()) return "B''";
      return std::string(1, static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])))) + "'" +
             text.substr(1) + "'";
    }
    return owner_.constant_value(body);
  }

  std::string a_expr(const json& body) const {
    const std::string kind = body.value("kind", "");
    const json names = body.value("name", json::array());
    std::string op = names.empty() ? std::string() : string_value(names.back());
    if (names.size() > 1) op = operator_name(names);
    const json* left = field(body, "lexpr");
    const json* right = field(body, "rexpr");
    const auto side = [&](const json* operand) { return operand ? wrapped(*operand) : std::string(); };

    if (kind == "AEXPR_OP") {
      if (left == nullptr) return op + side(right);  // prefix operator: -x
      return side(left) + " " + op + " " + side(right);
    }
    if (kind == "AEXPR_OP_ANY" || kind == "AEXPR_OP_ALL") {
      return side(left) + " " + op + (kind == "AEXPR_OP_ANY" ? " ANY (" : " ALL (") + write(*right) + ")";
    }
    if (kind == "AEXPR_DISTINCT") return side(left) + " IS DISTINCT FROM " + side(right);
    if (kind == "AEXPR_NOT_DISTINCT") return side(left) + " IS NOT DISTINCT FROM " + side(right);
    if (kind == "AEXPR_NULLIF") return "NULLIF(" + write(*left) + ", " + write(*right) + ")";
    if (kind == "AEXPR_IN") return side(left) + (op == "<>" ? " NOT IN " : " IN ") + write(*right);
    if (kind == "AEXPR_LIKE" || kind == "AEXPR_ILIKE" || kind == "AEXPR_SIMILAR") {
      const bool negated = !op.empty() && op[0] == '!';
      const char* word = kind == "AEXPR_LIKE" ? "LIKE" : kind == "AEXPR_ILIKE" ? "ILIKE" : "SIMILAR TO";
      return side(left) + (negated ? " NOT " : " ") + word + " " + like_pattern(*right);
    }
    if (kind.rfind("AEXPR_BETWEEN", 0) == 0 || kind.rfind("AEXPR_NOT_BETWEEN", 0) == 0) {
      const json bounds = right->value("List", json::object()).value("items", json::array());
      const bool negated = kind.find("NOT") != std::string::npos;
      const bool symmetric = kind.find("SYM") != std::string::npos;
      std::string text = side(left) + (negated ? " NOT BETWEEN " : " BETWEEN ");
      if (symmetric) text += "SYMMETRIC ";
      if (bounds.size() == 2) text += wrapped(bounds[0]) + " AND " + wrapped(bounds[1]);
      return text;
    }
    return source_text({{"A_Expr", body}});
  }

  // SIMILAR TO's pattern arrives wrapped in similar_to_escape(); LIKE's
  // ESCAPE likewise in like_escape().
  std::string like_pattern(const json& value) const {
    const Node node = as_node(value);
    if (node.type == "FuncCall") {
      const json names = node.body->value("funcname", json::array());
      const std::string name = names.empty() ? "" : string_value(names.back());
      const json arguments = node.body->value("args", json::array());
      if ((name == "similar_to_escape" || name == "like_escape") && !arguments.empty()) {
        std::string text = wrapped(arguments[0]);
        if (arguments.size() > 1) text += " ESCAPE " + wrapped(arguments[1]);
        return text;
      }
    }
    return wrapped(value);
  }

  std::string bool_expr(const json& body) const {
    const std::string op = body.value("boolop", "");
    const json arguments = body.value("args", json::array());
    if (op == "NOT_EXPR") return arguments.empty() ? "NOT" : "NOT " + wrapped(arguments[0]);
    std::vector<std::string> parts;
    for (const auto& argument : arguments) parts.push_back(wrapped(argument));
    return join(parts, op == "OR_EXPR" ? " OR " : " AND ");
  }

  static std::string boolean_test(const std::string& type) {
    if (type == "IS_TRUE") return "IS TRUE";
    if (type == "IS_NOT_TRUE") return "IS NOT TRUE";
    if (type == "IS_FALSE") return "IS FALSE";
    if (type == "IS_NOT_FALSE") return "IS NOT FALSE";
    if (type == "IS_UNKNOWN") return "IS UNKNOWN";
    return "IS NOT UNKNOWN";
  }

  std::string func_call(const json& value, const json& body) const {
    const json* over = field(body, "over");
    if (over != nullptr && over->value("frameOptions", kDefaultFrameOptions) != kDefaultFrameOptions) {
      return source_text(value);  // frame clauses are rare; copy them as written
    }
    std::string text = name_list(body.value("funcname", json::array())) + "(";
    if (body.value("agg_star", false)) {
      text += "*";
    } else {
      if (body.value("agg_distinct", false)) text += "DISTINCT ";
      std::vector<std::string> parts;
      for (const auto& argument : body.value("args", json::array())) parts.push_back(write(argument));
      if (body.value("func_variadic", false) && !parts.empty()) parts.back() = "VARIADIC " + parts.back();
      text += join(parts, ", ");
    }
    const json* order = field(body, "agg_order");
    const bool within_group = body.value("agg_within_group", false);
    if (order != nullptr && !within_group) text += " ORDER BY " + sort_list(*order);
    text += ")";
    if (order != nullptr && within_group) text += " WITHIN GROUP (ORDER BY " + sort_list(*order) + ")";
    if (const json* filter = field(body, "agg_filter")) text += " FILTER (WHERE " + write(*filter) + ")";
    if (over != nullptr) text += " OVER " + window(*over);
    return text;
  }

  std::string window(const json& definition) const {
    const bool inline_definition =
        definition.contains("partitionClause") || definition.contains("orderClause") || definition.contains("refname");
    if (!inline_definition && definition.contains("name")) return quote_identifier(definition.value("name", ""));
    std::vector<std::string> parts;
    if (definition.contains("refname")) parts.push_back(quote_identifier(definition.value("refname", "")));
    if (const json* partition = field(definition, "partitionClause")) {
      std::vector<std::string> keys;
      for (const auto& key : *partition) keys.push_back(write(key));
      parts.push_back("PARTITION BY " + join(keys, ", "));
    }
    if (const json* order = field(definition, "orderClause")) parts.push_back("ORDER BY " + sort_list(*order));
    return "(" + join(parts, " ") + ")";
  }

  std::string sort_list(const json& array) const {
    std::vector<std::string> parts;
    for (const auto& item : array) parts.push_back(write(item));
    return join(parts, ", ");
  }

  std::string sort_by(const json& body) const {
    std::string text = write(body.at("node"));
    const std::string direction = body.value("sortby_dir", "");
    if (direction == "SORTBY_ASC") text += " ASC";
    if (direction == "SORTBY_DESC") text += " DESC";
    if (direction == "SORTBY_USING") text += " USING " + operator_name(body.value("useOp", json::array()));
    const std::string nulls = body.value("sortby_nulls", "");
    if (nulls == "SORTBY_NULLS_FIRST") text += " NULLS FIRST";
    if (nulls == "SORTBY_NULLS_LAST") text += " NULLS LAST";
    return text;
  }

  std::string case_expr(const json& body) const {
    std::string text = "CASE";
    if (const json* argument = field(body, "arg")) text += " " + write(*argument);
    for (const auto& when : body.value("args", json::array())) {
      const json& clause = when.at("CaseWhen");
      text += " WHEN " + write(clause.at("expr")) + " THEN " + write(clause.at("result"));
    }
    if (const json* otherwise = field(body, "defresult")) text += " ELSE " + write(*otherwise);
    return text + " END";
  }

  std::string sql_value_function(const json& body) const {
    static const std::array<std::pair<std::string_view, std::string_view>, 15> kNames = {{
        {"SVFOP_CURRENT_DATE", "CURRENT_DATE"},
        {"SVFOP_CURRENT_TIME", "CURRENT_TIME"},
        {"SVFOP_CURRENT_TIME_N", "CURRENT_TIME"},
        {"SVFOP_CURRENT_TIMESTAMP", "CURRENT_TIMESTAMP"},
        {"SVFOP_CURRENT_TIMESTAMP_N", "CURRENT_TIMESTAMP"},
        {"SVFOP_LOCALTIME", "LOCALTIME"},
        {"SVFOP_LOCALTIME_N", "LOCALTIME"},
        {"SVFOP_LOCALTIMESTAMP", "LOCALTIMESTAMP"},
        {"SVFOP_LOCALTIMESTAMP_N", "LOCALTIMESTAMP"},
        {"SVFOP_CURRENT_ROLE", "CURRENT_ROLE"},
        {"SVFOP_CURRENT_USER", "CURRENT_USER"},
        {"SVFOP_USER", "USER"},
        {"SVFOP_SESSION_USER", "SESSION_USER"},
        {"SVFOP_CURRENT_CATALOG", "CURRENT_CATALOG"},
        {"SVFOP_CURRENT_SCHEMA", "CURRENT_SCHEMA"},
    }};
    const std::string op = body.value("op", "");
    for (const auto& [id, name] : kNames) {
      if (op != id) continue;
      std::string text(name);
      const int precision = body.value("typmod", -1);
      if (op.size() > 2 && op.compare(op.size() - 2, 2, "_N") == 0 && precision >= 0) {
        text += "(" + std::to_string(precision) + ")";
      }
      return text;
    }
    return source_text({{"SQLValueFunction", body}});
  }

  std::string indirection(const json& body) const {
    const json& base = body.at("arg");
    const std::string_view base_type = as_node(base).type;
    const json& steps = body.value("indirection", json::array());
    // a[1] needs no parentheses; (t.c).f does, or it would read as schema t, table c.
    const bool subscripts_only =
        std::all_of(steps.begin(), steps.end(), [](const json& step) { return as_node(step).type == "A_Indices"; });
    const bool bare = (base_type == "ColumnRef" || base_type == "ParamRef") && subscripts_only;
    std::string text = bare ? write(base) : "(" + write(base) + ")";
    for (const auto& step : steps) {
      const Node node = as_node(step);
      if (node.type == "A_Indices") {
        const json* lower = field(*node.body, "lidx");
        const json* upper = field(*node.body, "uidx");
        text += "[";
        if (lower) text += write(*lower);
        if (node.body->value("is_slice", false)) text += ":";
        if (upper) text += write(*upper);
        text += "]";
      } else if (node.type == "A_Star") {
        text += ".*";
      } else {
        text += "." + quote_identifier(string_value(step));
      }
    }
    return text;
  }

  std::string row(const json& body) const {
    const std::string inner = items(body, "args");
    const bool explicit_row = body.value("row_format", "") == "COERCE_EXPLICIT_CALL";
    const bool single = body.value("args", json::array()).size() < 2;
    return (explicit_row || single ? "ROW(" : "(") + inner + ")";
  }

  std::string sublink(const json& value, const json& body) const {
    const std::string type = body.value("subLinkType", "");
    const std::string subquery = owner_.subquery_text(body);
    if (type == "EXPR_SUBLINK") return subquery;
    if (type == "EXISTS_SUBLINK") return "EXISTS " + subquery;
    if (type == "ARRAY_SUBLINK") return "ARRAY" + subquery;
    const json* test = field(body, "testexpr");
    if (test != nullptr && (type == "ANY_SUBLINK" || type == "ALL_SUBLINK")) {
      const json names = body.value("operName", json::array());
      if (type == "ANY_SUBLINK" && names.empty()) return wrapped(*test) + " IN " + subquery;
      const std::string op = names.empty() ? "=" : string_value(names.back());
      return wrapped(*test) + " " + op + (type == "ANY_SUBLINK" ? " ANY " : " ALL ") + subquery;
    }
    return source_text(value);
  }

  std::string grouping_set(const json& body) const {
    const std::string kind = body.value("kind", "");
    const std::string content = items(body, "content");
    if (kind == "GROUPING_SET_EMPTY") return "()";
    if (kind == "GROUPING_SET_ROLLUP") return "ROLLUP (" + content + ")";
    if (kind == "GROUPING_SET_CUBE") return "CUBE (" + content + ")";
    if (kind == "GROUPING_SET_SETS") return "GROUPING SETS (" + content + ")";
    return "(" + content + ")";
  }

  // The node as written in the source: from its first location to the end of
  // the token at its last location, plus any parentheses still open there.
  std::string source_text(const json& value) const {
    int lowest = -1;
    int highest = -1;
    min_max_location(value, lowest, highest);
    const std::size_t size = source_.size();
    if (lowest < 0 || static_cast<std::size_t>(lowest) >= size) {
      const Node node = as_node(value);
      return "<" + std::string(node.type) + ">";
    }
    std::size_t i = static_cast<std::size_t>(highest);
    // Past the token at the last location.
    const std::size_t after_literal = skip_literal_or_comment(source_, i);
    if (after_literal != i) {
      i = after_literal;
    } else if (std::isalnum(static_cast<unsigned char>(source_[i])) || source_[i] == '_' || source_[i] == '$') {
      while (i < size && (std::isalnum(static_cast<unsigned char>(source_[i])) || source_[i] == '_' ||
                          source_[i] == '$' || source_[i] == '.')) {
        ++i;
      }
    } else {
      ++i;
    }
    // Close what the node opened.
    int depth = 0;
    for (std::size_t k = static_cast<std::size_t>(lowest); k < i;) {
      const std::size_t skipped = skip_literal_or_comment(source_, k);
      if (skipped != k) {
        k = skipped;
        continue;
      }
      depth += source_[k] == '(' ? 1 : source_[k] == ')' ? -1 : 0;
      ++k;
    }
    while (i < size && depth > 0) {
      const std::size_t skipped = skip_literal_or_comment(source_, i);
      if (skipped != i) {
        i = skipped;
        continue;
      }
      depth += source_[i] == '(' ? 1 : source_[i] == ')' ? -1 : 0;
      ++i;
    }
    std::string text(source_.substr(static_cast<std::size_t>(lowest), i - static_cast<std::size_t>(lowest)));
    std::replace_if(
        text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
    return text;
  }

  const ExpressionText& owner_;
  std::string_view source_;
  bool qualified_;
  mutable int depth_ = 0;
};

}  // namespace

std::string quote_identifier(std::string_view name) {
  const bool reserved =
      std::find(std::begin(kReservedWords), std::end(kReservedWords), name) != std::end(kReservedWords);
  if (is_plain_identifier(name) && !reserved) return std::string(name);
  std::string quoted = "\"";
  for (const char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string quote_literal(std::string_view value) {
  std::string quoted = "'";
  for (const char c : value) {
    if (c == '\'') quoted += '\'';
    quoted += c;
  }
  return quoted + "'";
}

std::string ExpressionText::of(const nlohmann::json& node, bool qualified) const {
  return Writer(*this, source_, qualified).write(node);
}

std::optional<std::int64_t> ExpressionText::integer_value(const nlohmann::json& a_const) const {
  const auto it = a_const.find("ival");
  if (it == a_const.end()) return std::nullopt;
  if (const auto inner = it->find("ival"); inner != it->end() && inner->is_number_integer()) {
    return inner->get<std::int64_t>();
  }
  // An empty {"ival": {}} is zero or a negative number: read it back.
  const int location = location_of(a_const);
  if (location < 0 || static_cast<std::size_t>(location) >= source_.size()) return 0;
  std::size_t i = static_cast<std::size_t>(location);
  bool negative = false;
  if (source_[i] == '-') {
    negative = true;
    ++i;
    while (i < source_.size() && std::isspace(static_cast<unsigned char>(source_[i]))) ++i;
  }
  std::int64_t magnitude = 0;
  const char* begin = source_.data() + i;
  const char* end = source_.data() + source_.size();
  const auto [stop, error] = std::from_chars(begin, end, magnitude);
  if (error != std::errc() || stop == begin) return 0;
  return negative ? -magnitude : magnitude;
}

std::string ExpressionText::constant_value(const nlohmann::json& a_const) const {
  if (a_const.value("isnull", false)) return "NULL";
  if (const auto integer = integer_value(a_const)) return std::to_string(*integer);
  for (const char* kind : {"sval", "fval", "bsval"}) {
    if (const auto it = a_const.find(kind); it != a_const.end()) return it->value(kind, "");
  }
  if (const auto it = a_const.find("boolval"); it != a_const.end()) {
    return it->value("boolval", false) ? "true" : "false";
  }
  return {};
}

std::string ExpressionText::subquery_text(const nlohmann::json& sublink) const {
  const int location = location_of(sublink);
  if (location < 0 || static_cast<std::size_t>(location) >= source_.size()) return "(SELECT ...)";
  std::size_t i = static_cast<std::size_t>(location);
  while (i < source_.size() && source_[i] != '(') {
    const std::size_t skipped = skip_literal_or_comment(source_, i);
    i = skipped != i ? skipped : i + 1;
  }
  const std::size_t begin = i;
  int depth = 0;
  while (i < source_.size()) {
    const std::size_t skipped = skip_literal_or_comment(source_, i);
    if (skipped != i) {
      i = skipped;
      continue;
    }
    depth += source_[i] == '(' ? 1 : source_[i] == ')' ? -1 : 0;
    ++i;
    if (depth == 0) break;
  }
  if (begin >= source_.size()) return "(SELECT ...)";
  std::string text(source_.substr(begin, i - begin));
  std::replace_if(
      text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
  return text;
}

std::string ExpressionText::type_name(const nlohmann::json& type_name) const {
  // SQL spellings that the grammar turns back into pg_catalog.<internal>;
  // `suffix` follows the modifiers: timestamp(3) with time zone.
  struct Spelling {
    std::string_view internal;
    std::string_view word;
    std::string_view suffix;
  };
  static constexpr Spelling kBuiltinSpellings[] = {
      {"int2", "smallint", ""},
      {"int4", "integer", ""},
      {"int8", "bigint", ""},
      {"float4", "real", ""},
      {"float8", "double precision", ""},
      {"bool", "boolean", ""},
      {"bpchar", "character", ""},
      {"varchar", "varchar", ""},
      {"numeric", "numeric", ""},
      {"bit", "bit", ""},
      {"timestamp", "timestamp", ""},
      {"timestamptz", "timestamp", " with time zone"},
      {"time", "time", ""},
      {"timetz", "time", " with time zone"},
      {"interval", "interval", ""},
  };
  const json names = type_name.value("names", json::array());
  std::string text;
  std::string_view suffix;
  bool interval = false;
  const Spelling* spelling = nullptr;
  if (names.size() == 2 && string_value(names[0]) == "pg_catalog") {
    const std::string internal = string_value(names[1]);
    for (const auto& candidate : kBuiltinSpellings) {
      if (internal == candidate.internal) spelling = &candidate;
    }
  }
  if (spelling != nullptr) {
    text = spelling->word;
    suffix = spelling->suffix;
    interval = spelling->internal == "interval";
  } else {
    text = name_list(names);  // other pg_catalog types keep their schema, so they read back the same
  }
  if (type_name.value("setof", false)) text = "SETOF " + text;
  // Interval modifiers encode field masks (DAY TO SECOND), not numbers.
  if (const auto modifiers = type_name.find("typmods"); modifiers != type_name.end() && !interval) {
    std::vector<std::string> parts;
    for (const auto& modifier : *modifiers) parts.push_back(of(modifier));
    text += "(" + join(parts, ", ") + ")";
  }
  text += suffix;
  for (std::size_t i = 0; i < type_name.value("arrayBounds", json::array()).size(); ++i) text += "[]";
  return text;
}

}  // namespace dbopt::sql::detail
