#include "core/workload/shape_key.h"

#include <array>
#include <cstring>

namespace dbopt::workload {
namespace {

constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

bool ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool digit(char c) { return c >= '0' && c <= '9'; }
bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

bool ends_with_word(std::string_view key, std::size_t end, std::string_view word) {
  // key[0, end) ends with `word` (case-insensitive) preceded by a non-identifier character.
  if (end < word.size()) return false;
  const std::size_t start = end - word.size();
  for (std::size_t i = 0; i < word.size(); ++i) {
    char c = key[start + i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != word[i]) return false;
  }
  return start == 0 || !ident_char(key[start - 1]);
}

// Bytes that are never the start of something the scan rewrites.
constexpr auto kPlainTable = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const bool special = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == '-' ||
                         c == '/' || c == '\'' || c == '"' || (c >= '0' && c <= '9') || c == '$' || c == '%' ||
                         c == '?' || c == ')' || c == ']';
    t[c] = !special;
  }
  return t;
}();
constexpr const bool* kPlain = kPlainTable.data();

// The key under construction, written straight into the caller's string:
// the scan never writes more bytes than it reads, so one resize is enough.
class KeyBuf {
 public:
  KeyBuf(std::string& s, std::size_t capacity) : s_(s) {
    if (s_.size() < capacity) s_.resize(capacity);
    p_ = s_.data();
  }
  void push_back(char c) { p_[len_++] = c; }
  char back() const { return p_[len_ - 1]; }
  bool empty() const { return len_ == 0; }
  std::size_t size() const { return len_; }
  void pop_back() { --len_; }
  void append(std::string_view v) {
    std::memcpy(p_ + len_, v.data(), v.size());
    len_ += v.size();
  }
  void resize(std::size_t n) { len_ = n; }
  std::size_t rfind(char c, std::size_t from) const {
    for (std::size_t i = from + 1; i-- > 0;)
      if (p_[i] == c) return i;
    return std::string::npos;
  }
  const char* data() const { return p_; }
  char operator[](std::size_t i) const { return p_[i]; }
  std::string_view view() const { return {p_, len_}; }
  void finish() { s_.resize(len_); }

 private:
  std::string& s_;
  char* p_ = nullptr;
  std::size_t len_ = 0;
};

class Scanner {
 public:
  Scanner(std::string_view sql, std::string& key) : sql_(sql), key_(key, sql.size() + 4) {}

  ShapeScan run() {
    std::size_t i = 0;
    const std::size_t n = sql_.size();
    while (i < n) {
      // Fast path: a run of letters, '_', '.', ',', '(' and the like is copied as it is.
      if (kPlain[static_cast<unsigned char>(sql_[i])]) {
        std::size_t j = i + 1;
        while (j < n && (kPlain[static_cast<unsigned char>(sql_[j])] || (digit(sql_[j]) && ident_char(sql_[j - 1]))))
          ++j;
        key_.append(sql_.substr(i, j - i));
        i = j;
        continue;
      }
      const char c = sql_[i];
      if (space(c)) {
        if (!key_.empty() && key_.back() != ' ') key_.push_back(' ');
        ++i;
      } else if (c == '-' && i + 1 < n && sql_[i + 1] == '-') {
        while (i < n && sql_[i] != '\n') ++i;
      } else if (c == '/' && i + 1 < n && sql_[i + 1] == '*') {
        const auto end = sql_.find("*/", i + 2);
        i = end == std::string_view::npos ? n : end + 2;
      } else if (c == '\'') {
        i = string_literal(i);
      } else if (c == '"') {
        const auto end = sql_.find('"', i + 1);
        const std::size_t stop = end == std::string_view::npos ? n : end + 1;
        key_.append(sql_.substr(i, stop - i));
        i = stop;
      } else if (digit(c) && (key_.empty() || !ident_char(key_.back()))) {
        i = number(i);
      } else if (c == '$' && i + 1 < n && digit(sql_[i + 1]) && (key_.empty() || !ident_char(key_.back()))) {
        ++i;
        while (i < n && digit(sql_[i])) ++i;
        placeholder();
      } else if (c == '$' && i + 1 < n && sql_[i + 1] == '$') {
        const auto end = sql_.find("$$", i + 2);
        const std::size_t stop = end == std::string_view::npos ? n : end + 2;
        constant(sql_.substr(i, stop - i));
        i = stop;
      } else if (c == '%' && i + 1 < n && sql_[i + 1] == 's') {
        i += 2;
        placeholder();
      } else if (c == '%' && i + 1 < n && sql_[i + 1] == '(') {
        const auto end = sql_.find(")s", i + 2);
        if (end == std::string_view::npos) {
          key_.push_back(c);
          ++i;
        } else {
          i = end + 2;
          placeholder();
        }
      } else if (c == '?') {
        placeholder();
        ++i;
      } else if (c == ')' || c == ']') {
        key_.push_back(c);
        ++i;
        close_group(c == ')' ? '(' : '[');
      } else {
        key_.push_back(c);
        ++i;
      }
    }
    while (!key_.empty() && (key_.back() == ' ' || key_.back() == ';')) key_.pop_back();
    key_.finish();
    std::string_view trimmed = sql_;
    while (!trimmed.empty() && (space(trimmed.back()) || trimmed.back() == ';')) trimmed.remove_suffix(1);
    scan_.truncated = trimmed.size() >= 3 && trimmed.substr(trimmed.size() - 3) == "...";
    return scan_;
  }

 private:
  std::size_t string_literal(std::size_t i) {
    // E'..', B'..', X'..', N'..': the prefix letter belongs to the constant.
    if (!key_.empty()) {
      const char p = key_.back();
      if ((p == 'E' || p == 'e' || p == 'B' || p == 'b' || p == 'X' || p == 'x' || p == 'N' || p == 'n') &&
          (key_.size() == 1 || !ident_char(key_[key_.size() - 2])))
        key_.pop_back();
    }
    const std::size_t start = i + 1;
    std::size_t j = start;
    const std::size_t n = sql_.size();
    while (j < n) {
      if (sql_[j] == '\\' && j + 1 < n) {
        j += 2;  // backslash escapes (E'' strings, standard_conforming_strings off)
      } else if (sql_[j] == '\'') {
        if (j + 1 < n && sql_[j + 1] == '\'') {
          j += 2;
        } else {
          break;
        }
      } else {
        ++j;
      }
    }
    constant(sql_.substr(start, j - start));
    return j < n ? j + 1 : n;
  }

  std::size_t number(std::size_t i) {
    const std::size_t n = sql_.size();
    std::size_t j = i;
    while (j < n && (digit(sql_[j]) || sql_[j] == '.' || sql_[j] == '_')) ++j;
    if (j < n && (sql_[j] == 'e' || sql_[j] == 'E') && j + 1 < n &&
        (digit(sql_[j + 1]) || ((sql_[j + 1] == '-' || sql_[j + 1] == '+') && j + 2 < n && digit(sql_[j + 2])))) {
      j += 2;
      while (j < n && digit(sql_[j])) ++j;
    }
    if (j < n && ident_char(sql_[j])) {  // not a number after all: 1st, 3d_table
      key_.append(sql_.substr(i, j - i));
      return j;
    }
    constant(sql_.substr(i, j - i));
    return j;
  }

  void constant(std::string_view text) {
    scan_.values_hash = hash_bytes(text, scan_.values_hash ? scan_.values_hash * kFnvPrime : 1469598103934665603ULL);
    key_.push_back('?');
  }
  void placeholder() { key_.push_back('?'); }

  // On a closing bracket: IN (?, ?, ?) -> IN (?), ARRAY[?, ?] -> ARRAY[?],
  // VALUES (?, ?), (?, ?) -> VALUES (?, ?).
  void close_group(char open_char) {
    const std::size_t open = key_.rfind(open_char, key_.size() - 1);
    if (open == std::string::npos) return;
    std::size_t before = open;
    while (before > 0 && key_[before - 1] == ' ') --before;
    if (open_char == '(') {
      const int items = constant_items_inner(open);
      if (items > 0 && ends_with_word(key_.view(), before, "in")) {
        note_list(items);
        key_.resize(open + 1);
        key_.append("?)");
        return;
      }
      // A VALUES row equal to the row before it: drop it.
      if (before > 0 && key_[before - 1] == ',') {
        std::size_t prev_end = before - 1;
        while (prev_end > 0 && key_[prev_end - 1] == ' ') --prev_end;
        if (prev_end > 0 && key_[prev_end - 1] == ')') {
          const std::string_view row(key_.data() + open, key_.size() - open);
          const std::size_t row_len = row.size();
          if (prev_end >= row_len && std::string_view(key_.data() + prev_end - row_len, row_len) == row) {
            rows_ = rows_ ? rows_ + 1 : 2;
            note_list(rows_);
            key_.resize(before - 1);
            return;
          }
        }
      }
      rows_ = 0;
    } else {
      const int items = constant_items_inner(open);
      if (items > 0 && ends_with_word(key_.view(), before, "array")) {
        note_list(items);
        key_.resize(open + 1);
        key_.append("?]");
      }
    }
  }

  int constant_items_inner(std::size_t open) const {
    // Without the closing bracket just pushed.
    int items = 0;
    for (std::size_t i = open + 1; i + 1 < key_.size(); ++i) {
      const char c = key_[i];
      if (c == '?')
        ++items;
      else if (c != ',' && c != ' ')
        return 0;
    }
    return items;
  }

  void note_list(int items) {
    if (items > scan_.max_list_items) scan_.max_list_items = items;
  }

  std::string_view sql_;
  KeyBuf key_;
  ShapeScan scan_;
  int rows_ = 0;
};

}  // namespace

std::uint64_t hash_bytes(std::string_view bytes, std::uint64_t seed) {
  std::uint64_t h = seed;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= kFnvPrime;
  }
  return h;
}

std::string dollar_placeholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 8);
  int n = 0;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {  // copy quoted text as it is
      const auto end = sql.find(c, i + 1);
      const std::size_t stop = end == std::string_view::npos ? sql.size() : end + 1;
      out.append(sql.substr(i, stop - i));
      i = stop - 1;
    } else if (c == '%' && i + 1 < sql.size() && sql[i + 1] == 's') {
      out += "$" + std::to_string(++n);
      ++i;
    } else if (c == '%' && i + 1 < sql.size() && sql[i + 1] == '(') {
      const auto end = sql.find(")s", i + 2);
      if (end == std::string_view::npos) {
        out.push_back(c);
        continue;
      }
      out += "$" + std::to_string(++n);
      i = end + 1;
    } else if (c == '%' && i + 1 < sql.size() && sql[i + 1] == '%') {
      out.push_back('%');  // a literal % in DB-API text
      ++i;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

ShapeScan shape_key(std::string_view sql, std::string& key) { return Scanner(sql, key).run(); }

}  // namespace dbopt::workload
