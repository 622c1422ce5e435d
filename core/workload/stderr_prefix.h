// StderrPrefix: reads PostgreSQL's log_line_prefix off stderr log lines.
//
// compile() turns a prefix setting ("%m [%p] user=%u,db=%d,app=%a ") into a
// matcher for %m %t %n %s (times), %p %l %x (numbers), %c %a %u %d %h %r %v %e
// %i %b %Q %P (text up to the next literal), %q (the rest is optional: lines of
// background processes stop there) and %%. detect() tries common prefixes on a
// sample of the log and falls back to a heuristic (everything before the
// "LOG:  "/"ERROR:  "... marker; a leading time; the first [digits] as pid).
// Times are read as written and taken as UTC: only differences matter here.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dbopt::workload {

struct PrefixValues {
  std::optional<double> ts_ms;
  std::string pid;
  std::string session;
  std::string application;
  std::string user;
  std::string database;
};

class StderrPrefix {
 public:
  // Throws dbopt::Error(invalid_argument) for a prefix that ends in a lone %.
  static StderrPrefix compile(std::string_view prefix);
  static StderrPrefix heuristic();
  static StderrPrefix detect(std::string_view sample);

  // On success `pos` is where the "LEVEL:  " part begins.
  bool parse(std::string_view line, PrefixValues& values, std::size_t& pos) const;
  std::string description() const;

 private:
  struct Token {
    char escape = 0;      // 0: literal
    std::string literal;  // for literals
  };
  bool parse_tokens(std::string_view line, PrefixValues& values, std::size_t& pos) const;
  bool parse_heuristic(std::string_view line, PrefixValues& values, std::size_t& pos) const;

  std::vector<Token> tokens_;
  std::string text_;
  bool heuristic_ = false;
};

// "2026-11-27 16:02:44.123 UTC", "2026-11-27T16:02:44.123Z", "2026-11-27 16:02:44": ms since the epoch.
std::optional<double> parse_timestamp_ms(std::string_view text);

// Where "LOG:  ", "ERROR:  " ... begins in a line; npos when none.
std::size_t find_level(std::string_view line);

}  // namespace dbopt::workload
