#include "core/sql/parse_tree.h"
#include "core/sql/text_shape.h"

#include <pg_query.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <utility>
#include <vector>

namespace dbopt::sql::detail {
namespace {

// Byte offset of the 1-based character position PostgreSQL reports.
std::size_t byte_offset_of_character(std::string_view sql, int position) {
  std::size_t characters = 0;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    const auto byte = static_cast<unsigned char>(sql[i]);
    if ((byte & 0xC0) == 0x80) continue;  // UTF-8 continuation byte
    if (++characters == static_cast<std::size_t>(position)) return i;
  }
  return sql.size();
}

// One line of the statement around `offset`, so the user sees what the
// position points at without counting characters in a long statement.
std::string text_around(std::string_view sql, std::size_t offset) {
  constexpr std::size_t kBefore = 40;
  constexpr std::size_t kAfter = 40;
  const std::size_t begin = offset > kBefore ? offset - kBefore : 0;
  const std::size_t end = std::min(sql.size(), offset + kAfter);
  std::string snippet;
  if (begin > 0) snippet += "...";
  for (std::size_t i = begin; i < end; ++i) {
    const auto byte = static_cast<unsigned char>(sql[i]);
    // Do not cut a multi-byte character at the window's edges.
    if (i == begin && begin > 0 && (byte & 0xC0) == 0x80) continue;
    snippet += (byte == '\n' || byte == '\r' || byte == '\t') ? ' ' : static_cast<char>(byte);
  }
  while (!snippet.empty() && (static_cast<unsigned char>(snippet.back()) & 0xC0) == 0x80 && end < sql.size()) {
    snippet.pop_back();
  }
  if (end < sql.size()) snippet += "...";
  return snippet;
}

std::string fix_for(std::string_view message) {
  if (message.find("unterminated") != std::string_view::npos) {
    return "Close the quoted string, identifier or comment that starts at the position shown.";
  }
  if (message.find("memory exhausted") != std::string_view::npos ||
      message.find("stack depth") != std::string_view::npos) {
    return "Simplify the statement: it nests too deeply to analyze.";
  }
  return "Check the SQL near the position shown; dbopt reads PostgreSQL 15 syntax.";
}

// Byte classes for the depth scan, which runs on the fingerprint hot path: a
// table lookup per byte rather than character tests.
enum class ByteClass : unsigned char {
  other,
  space,
  word,
  digit,
  op,
  dash,
  slash,
  quote,
  dollar,
  open,
  close,
  comma,
  semicolon
};

constexpr std::array<ByteClass, 256> make_byte_classes() {
  std::array<ByteClass, 256> classes{};
  for (int c = 0; c < 256; ++c) {
    ByteClass value = ByteClass::other;
    if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') value = ByteClass::word;
    if (c >= '0' && c <= '9') value = ByteClass::digit;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') value = ByteClass::space;
    for (const char op : std::string_view("+*<>=~!@#%^&|`?:")) {
      if (c == op) value = ByteClass::op;
    }
    if (c == '-') value = ByteClass::dash;
    if (c == '/') value = ByteClass::slash;
    if (c == '\'' || c == '"') value = ByteClass::quote;
    if (c == '$') value = ByteClass::dollar;
    if (c == '(' || c == '[') value = ByteClass::open;
    if (c == ')' || c == ']') value = ByteClass::close;
    if (c == ',') value = ByteClass::comma;
    if (c == ';') value = ByteClass::semicolon;
    classes[static_cast<std::size_t>(c)] = value;
  }
  return classes;
}
constexpr std::array<ByteClass, 256> kByteClasses = make_byte_classes();

ByteClass class_of(char c) { return kByteClasses[static_cast<unsigned char>(c)]; }
bool is_word_char(char c) {
  const ByteClass value = class_of(c);
  return value == ByteClass::word || value == ByteClass::digit || c == '$';
}

std::size_t skip_quoted(std::string_view s, std::size_t i) {
  const std::size_t n = s.size();
  const char c = s[i];
  if (c == '-' && i + 1 < n && s[i + 1] == '-') {
    const auto newline = s.find('\n', i);
    return newline == std::string_view::npos ? n : newline + 1;
  }
  if (c == '/' && i + 1 < n && s[i + 1] == '*') {
    int comment_depth = 0;  // PostgreSQL block comments nest
    while (i < n) {
      if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
        ++comment_depth;
        i += 2;
      } else if (s[i] == '*' && i + 1 < n && s[i + 1] == '/') {
        i += 2;
        if (--comment_depth == 0) return i;
      } else {
        ++i;
      }
    }
    return n;
  }
  if (c == '\'' || c == '"') {
    const bool backslash_escapes =
        c == '\'' && i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') && (i < 2 || !is_word_char(s[i - 2]));
    for (++i; i < n; ++i) {
      if (backslash_escapes && s[i] == '\\') {
        ++i;
      } else if (s[i] == c) {
        if (i + 1 < n && s[i + 1] == c) {
          ++i;  // doubled quote
        } else {
          return i + 1;
        }
      }
    }
    return n;
  }
  if (c == '$' && i + 1 < n && class_of(s[i + 1]) != ByteClass::digit) {
    std::size_t j = i + 1;
    while (j < n && s[j] != '$' && is_word_char(s[j])) ++j;
    if (j < n && s[j] == '$') {
      const std::string_view tag = s.substr(i, j - i + 1);
      const auto close = s.find(tag, j + 1);
      return close == std::string_view::npos ? n : close + tag.size();
    }
  }
  return i;
}

// What a keyword does to the depth estimate.
enum class KeywordEffect { none, end_chain, open, close, chain, structure };

KeywordEffect keyword_effect(std::string_view word) {
  static constexpr std::pair<std::string_view, KeywordEffect> kKeywords[] = {
      {"and", KeywordEffect::end_chain},    {"or", KeywordEffect::end_chain},
      {"when", KeywordEffect::end_chain},   {"then", KeywordEffect::end_chain},
      {"else", KeywordEffect::end_chain},   {"case", KeywordEffect::open},
      {"end", KeywordEffect::close},        {"join", KeywordEffect::structure},
      {"union", KeywordEffect::structure},  {"intersect", KeywordEffect::structure},
      {"except", KeywordEffect::structure}, {"is", KeywordEffect::chain},
      {"isnull", KeywordEffect::chain},     {"notnull", KeywordEffect::chain},
      {"collate", KeywordEffect::chain},    {"at", KeywordEffect::chain},
      {"like", KeywordEffect::chain},       {"ilike", KeywordEffect::chain},
      {"similar", KeywordEffect::chain},    {"between", KeywordEffect::chain},
      {"in", KeywordEffect::chain},         {"not", KeywordEffect::chain},
      {"overlaps", KeywordEffect::chain},   {"operator", KeywordEffect::chain},
  };
  if (word.size() < 2 || word.size() > 9) return KeywordEffect::none;
  char lower[9];
  for (std::size_t i = 0; i < word.size(); ++i) {
    const char c = word[i];
    lower[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const std::string_view folded(lower, word.size());
  for (const auto& [keyword, effect] : kKeywords) {
    if (keyword == folded) return effect;
  }
  return KeywordEffect::none;
}

// An upper bound on the depth of the tree libpg_query would build, from the
// tokens alone: every operator or operator keyword in a chain adds a level,
// every bracket, CASE and JOIN/UNION adds one. A chain ends at a comma and at
// AND/OR/WHEN/THEN/ELSE, which the grammar flattens into lists.
std::size_t deepest_expression(std::string_view s, std::size_t stop_after) {
  struct Group {
    std::size_t chain = 0;      // operators since the last separator
    std::size_t structure = 0;  // JOINs and set operations: not flattened either
  };
  std::vector<Group> groups(1);
  std::size_t chained = 0;  // sum of chain + structure over the open groups
  std::size_t deepest = 0;
  const auto note = [&] { deepest = std::max(deepest, groups.size() - 1 + chained); };
  const auto open = [&] {
    groups.emplace_back();
    note();
  };
  const auto close = [&] {
    if (groups.size() == 1) return;
    chained -= groups.back().chain + groups.back().structure;
    groups.pop_back();
  };
  const auto end_chain = [&] {
    chained -= groups.back().chain;
    groups.back().chain = 0;
  };
  const auto link = [&](std::size_t Group::*counter) {
    ++(groups.back().*counter);
    ++chained;
    note();
  };

  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n && deepest <= stop_after) {
    switch (class_of(s[i])) {
      case ByteClass::space:
      case ByteClass::other:
        ++i;
        break;
      case ByteClass::quote:
        i = skip_quoted(s, i);
        break;
      case ByteClass::dollar: {
        const std::size_t skipped = skip_quoted(s, i);
        i = skipped != i ? skipped : i + 1;  // $1 or a stray $: the digits follow as a number
        break;
      }
      case ByteClass::dash:
      case ByteClass::slash:
        if (const std::size_t skipped = skip_quoted(s, i); skipped != i) {
          i = skipped;
          break;
        }
        [[fallthrough]];
      case ByteClass::op:
        // One operator token, which may mix -, / and the other operator characters.
        for (++i; i < n; ++i) {
          const ByteClass next = class_of(s[i]);
          if (next == ByteClass::op) continue;
          if ((next == ByteClass::dash || next == ByteClass::slash) && skip_quoted(s, i) == i) continue;
          break;
        }
        link(&Group::chain);
        break;
      case ByteClass::open:
        open();
        ++i;
        break;
      case ByteClass::close:
        close();
        ++i;
        break;
      case ByteClass::comma:
        end_chain();
        ++i;
        break;
      case ByteClass::semicolon:
        groups.assign(1, Group{});
        chained = 0;
        ++i;
        break;
      case ByteClass::digit:
        for (++i; i < n && (is_word_char(s[i]) || s[i] == '.'); ++i) {
        }
        break;
      case ByteClass::word: {
        const std::size_t start = i;
        for (++i; i < n && is_word_char(s[i]); ++i) {
        }
        switch (keyword_effect(s.substr(start, i - start))) {
          case KeywordEffect::none:
            break;
          case KeywordEffect::end_chain:
            end_chain();
            break;
          case KeywordEffect::open:
            open();
            break;
          case KeywordEffect::close:
            close();
            break;
          case KeywordEffect::chain:
            link(&Group::chain);
            break;
          case KeywordEffect::structure:
            link(&Group::structure);
            break;
        }
        break;
      }
    }
  }
  return deepest;
}

}  // namespace

}  // namespace dbopt::sql::detail

namespace dbopt::sql {

std::size_t count_statements(std::string_view sql) {
  std::size_t statements = 0;
  bool content = false;  // something but blanks and comments since the last ';'
  for (std::size_t i = 0; i < sql.size();) {
    const std::size_t skipped = detail::skip_quoted(sql, i);
    if (skipped != i) {
      const char c = sql[i];
      content = content || !(c == '-' || c == '/');  // a literal is content, a comment is not
      i = skipped;
      continue;
    }
    const detail::ByteClass byte = detail::class_of(sql[i]);
    if (byte == detail::ByteClass::semicolon) {
      statements += content ? 1 : 0;
      content = false;
    } else if (byte != detail::ByteClass::space) {
      content = true;
    }
    ++i;
  }
  return statements + (content ? 1 : 0);
}

std::size_t estimated_depth(std::string_view sql, std::size_t stop_after) {
  return detail::deepest_expression(sql, stop_after);
}

}  // namespace dbopt::sql

namespace dbopt::sql::detail {

std::size_t skip_literal_or_comment(std::string_view sql, std::size_t i) {
  return i < sql.size() ? skip_quoted(sql, i) : i;
}

void check_text(std::string_view sql) {
  if (const auto nul = sql.find('\0'); nul != std::string_view::npos) {
    throw Error(ErrorCode::invalid_argument,
                "SQL text contains a NUL byte at byte " + std::to_string(nul + 1) +
                    ": PostgreSQL would cut the statement there",
                "Remove the NUL byte from the SQL text.");
  }
  // Depth cannot exceed the number of bytes: short texts need no scan.
  if (sql.size() <= kMaxExpressionDepth) return;
  if (deepest_expression(sql, kMaxExpressionDepth) > kMaxExpressionDepth) {
    throw Error(ErrorCode::invalid_argument,
                "SQL statement nests too deeply to analyze (an expression, JOIN or UNION chain of "
                "more than " +
                    std::to_string(kMaxExpressionDepth) + " levels)",
                "Split the long operator, JOIN or UNION chain, or use IN (...) or ANY($1) for "
                "long lists.");
  }
}

void check_utf8(std::string_view sql) {
  std::size_t i = 0;
  const std::size_t n = sql.size();
  while (i < n) {
    const auto lead = static_cast<unsigned char>(sql[i]);
    std::size_t length = 0;
    if (lead < 0x80) {
      length = 1;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
    }
    bool valid = length > 0 && i + length <= n;
    for (std::size_t k = 1; valid && k < length; ++k) {
      valid = (static_cast<unsigned char>(sql[i + k]) & 0xC0) == 0x80;
    }
    if (valid && length == 3) {
      const auto second = static_cast<unsigned char>(sql[i + 1]);
      valid = !(lead == 0xE0 && second < 0xA0) && !(lead == 0xED && second >= 0xA0);
    }
    if (valid && length == 4) {
      const auto second = static_cast<unsigned char>(sql[i + 1]);
      valid = !(lead == 0xF0 && second < 0x90) && !(lead == 0xF4 && second >= 0x90);
    }
    if (!valid) {
      throw Error(
          ErrorCode::invalid_argument,
          "SQL text is not valid UTF-8 at byte " + std::to_string(i + 1) + ": " + text_around(sql.substr(0, i), i),
          "Send the SQL text as UTF-8.");
    }
    i += length;
  }
}

Error parse_error(std::string_view sql, const PgQueryError& error) {
  std::string message = error.message != nullptr ? error.message : "SQL does not parse";
  if (error.cursorpos > 0) {
    const std::size_t offset = byte_offset_of_character(sql, error.cursorpos);
    message += " at position " + std::to_string(error.cursorpos) + ": " + text_around(sql, offset);
  }
  return Error(ErrorCode::invalid_argument, std::move(message), fix_for(message));
}

nlohmann::json parse_tree(std::string_view sql) {
  check_text(sql);
  check_utf8(sql);
  const std::string text(sql);  // libpg_query wants a NUL-terminated string
  const Owned<PgQueryParseResult, pg_query_free_parse_result> result(pg_query_parse(text.c_str()));
  if (result->error != nullptr) throw parse_error(sql, *result->error);
  try {
    return nlohmann::json::parse(result->parse_tree);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::internal, std::string("libpg_query returned a parse tree dbopt cannot read: ") + e.what());
  }
}

StatementSpan statement_span(std::string_view sql, const nlohmann::json& raw_stmt) {
  std::size_t begin = std::min<std::size_t>(raw_stmt.value("stmt_location", 0), sql.size());
  const int stated_length = raw_stmt.value("stmt_len", 0);
  std::size_t end = stated_length > 0 ? std::min(sql.size(), begin + stated_length) : sql.size();
  const auto blank = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (begin < end && blank(sql[begin])) ++begin;
  while (end > begin && (blank(sql[end - 1]) || sql[end - 1] == ';')) --end;
  return {begin, end - begin};
}

Node as_node(const nlohmann::json& value) {
  if (!value.is_object() || value.size() != 1) return {};
  const auto it = value.begin();
  const std::string& key = it.key();
  // Node types are CamelCase (SelectStmt, A_Expr); field names start lower-case.
  if (key.empty() || !std::isupper(static_cast<unsigned char>(key[0])) || !it.value().is_object()) {
    return {};
  }
  return {key, &it.value()};
}

StatementKind statement_kind(const nlohmann::json& statement) {
  const Node node = as_node(statement);
  if (!node) return StatementKind::other;
  const std::string_view type = node.type;
  const nlohmann::json& body = *node.body;
  if (type == "SelectStmt") {
    const bool bare_values = body.contains("valuesLists") && !body.contains("targetList");
    return bare_values ? StatementKind::values : StatementKind::select;
  }
  if (type == "CreateTableAsStmt") {
    return body.value("objtype", "") == "OBJECT_MATVIEW" ? StatementKind::create_materialized_view
                                                         : StatementKind::create_table_as;
  }
  if (type == "VacuumStmt") {
    return body.value("is_vacuumcmd", false) ? StatementKind::vacuum : StatementKind::analyze;
  }
  static const std::pair<std::string_view, StatementKind> kKinds[] = {
      {"InsertStmt", StatementKind::insert},
      {"UpdateStmt", StatementKind::update},
      {"DeleteStmt", StatementKind::delete_},
      {"MergeStmt", StatementKind::merge},
      {"ExplainStmt", StatementKind::explain},
      {"VariableShowStmt", StatementKind::show},
      {"VariableSetStmt", StatementKind::set},
      {"CreateStmt", StatementKind::create_table},
      {"ViewStmt", StatementKind::create_view},
      {"IndexStmt", StatementKind::create_index},
      {"AlterTableStmt", StatementKind::alter_table},
      {"DropStmt", StatementKind::drop},
      {"TruncateStmt", StatementKind::truncate},
      {"CopyStmt", StatementKind::copy},
      {"RefreshMatViewStmt", StatementKind::refresh_materialized_view},
      {"ReindexStmt", StatementKind::reindex},
      {"ClusterStmt", StatementKind::cluster},
      {"LockStmt", StatementKind::lock},
      {"TransactionStmt", StatementKind::transaction},
      {"DoStmt", StatementKind::do_block},
      {"CallStmt", StatementKind::call},
      {"ListenStmt", StatementKind::listen},
      {"UnlistenStmt", StatementKind::listen},
      {"NotifyStmt", StatementKind::notify},
      {"PrepareStmt", StatementKind::prepare},
      {"ExecuteStmt", StatementKind::execute},
      {"DeallocateStmt", StatementKind::deallocate},
      {"DeclareCursorStmt", StatementKind::declare_cursor},
      {"CreateFunctionStmt", StatementKind::create_function},
      {"CreateExtensionStmt", StatementKind::create_extension},
      {"GrantStmt", StatementKind::grant},
  };
  for (const auto& [name, kind] : kKinds) {
    if (type == name) return kind;
  }
  return StatementKind::other;
}

std::string option_value(const nlohmann::json& def_elem) {
  const auto argument = def_elem.find("arg");
  if (argument == def_elem.end()) return {};
  const Node value = as_node(*argument);
  if (value.type == "String") return value.body->value("sval", "");
  // libpg_query 15-4.0.0 leaves zero (and negative) integers out of the JSON.
  if (value.type == "Integer") return std::to_string(value.body->value("ival", 0));
  if (value.type == "Boolean") return value.body->value("boolval", false) ? "true" : "false";
  return "?";
}

bool explain_analyzes(const nlohmann::json& explain) {
  // PostgreSQL's parse_bool spellings of false (prefixes of false/no/off, and 0).
  static constexpr std::string_view kFalse[] = {"f", "fa", "fal", "fals", "false", "n", "no", "of", "off", "0"};
  bool analyzes = false;
  for (const auto& option : explain.value("options", nlohmann::json::array())) {
    const auto found = option.find("DefElem");
    if (found == option.end()) continue;
    const nlohmann::json& definition = *found;
    const std::string name = definition.value("defname", "");
    if (name != "analyze" && name != "analyse") continue;
    std::string value = option_value(definition);
    std::transform(value.begin(), value.end(), value.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const bool is_false =
        definition.contains("arg") && std::find(std::begin(kFalse), std::end(kFalse), value) != std::end(kFalse);
    analyzes = analyzes || !is_false;
  }
  return analyzes;
}

std::string string_value(const nlohmann::json& value) {
  const Node node = as_node(value);
  if (node.type != "String") return {};
  return node.body->value("sval", std::string());
}

int location_of(const nlohmann::json& body) {
  if (!body.is_object()) return -1;
  const auto it = body.find("location");
  return it != body.end() && it->is_number_integer() ? it->get<int>() : -1;
}

namespace {
void raise_to_highest_parameter(const nlohmann::json& value, int& highest) {
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (it.key() == "ParamRef") highest = std::max(highest, it->value("number", 0));
      if (it->is_structured()) raise_to_highest_parameter(*it, highest);
    }
  } else if (value.is_array()) {
    for (const auto& child : value) raise_to_highest_parameter(child, highest);
  }
}
}  // namespace

int highest_parameter(const nlohmann::json& tree) {
  int highest = 0;
  raise_to_highest_parameter(tree, highest);
  return highest;
}

}  // namespace dbopt::sql::detail
