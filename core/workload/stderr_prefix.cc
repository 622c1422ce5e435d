#include "core/workload/stderr_prefix.h"

#include <array>
#include <cctype>
#include <charconv>

#include "core/common/error.h"

namespace dbopt::workload {
namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

int number(std::string_view s, std::size_t at, std::size_t len) {
  int v = 0;
  for (std::size_t i = at; i < at + len && i < s.size(); ++i) {
    if (!digit(s[i])) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
long days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long>(doe) - 719468;
}

// Length of a time as written at `at` (date, time, fraction, zone), 0 when none.
std::size_t time_length(std::string_view s, std::size_t at, bool with_zone) {
  std::size_t i = at;
  if (s.size() < at + 19 || s[at + 4] != '-' || s[at + 7] != '-' || (s[at + 10] != ' ' && s[at + 10] != 'T') ||
      s[at + 13] != ':' || s[at + 16] != ':')
    return 0;
  i = at + 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && digit(s[i])) ++i;
  }
  if (with_zone && i + 1 < s.size() && s[i] == ' ' && !digit(s[i + 1])) {
    std::size_t j = i + 1;
    while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '+' || s[j] == '-')) ++j;
    i = j;
  } else if (with_zone && i + 1 < s.size() && s[i] == ' ' && (s[i + 1] == '+' || s[i + 1] == '-')) {
    std::size_t j = i + 1;
    while (j < s.size() && (digit(s[j]) || s[j] == '+' || s[j] == '-' || s[j] == ':')) ++j;
    i = j;
  }
  return i - at;
}

constexpr std::array<std::string_view, 14> kLevels = {
    "LOG:  ",     "ERROR:  ",  "DETAIL:  ", "STATEMENT:  ", "FATAL:  ",  "WARNING:  ", "HINT:  ",
    "CONTEXT:  ", "NOTICE:  ", "INFO:  ",   "PANIC:  ",     "DEBUG1:  ", "DEBUG2:  ",  "LOCATION:  "};

bool starts_with_level(std::string_view rest) {
  for (const auto l : kLevels)
    if (rest.substr(0, l.size()) == l) return true;
  return false;
}

}  // namespace

std::optional<double> parse_timestamp_ms(std::string_view s) {
  if (time_length(s, 0, false) == 0) return std::nullopt;
  const int y = number(s, 0, 4), mo = number(s, 5, 2), d = number(s, 8, 2);
  const int h = number(s, 11, 2), mi = number(s, 14, 2), se = number(s, 17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || mi < 0 || se < 0) return std::nullopt;
  double ms = (static_cast<double>(days_from_civil(y, mo, d)) * 86400.0 + h * 3600.0 + mi * 60.0 + se) * 1000.0;
  if (s.size() > 20 && s[19] == '.') {
    double scale = 100;
    for (std::size_t i = 20; i < s.size() && digit(s[i]); ++i, scale /= 10) ms += (s[i] - '0') * scale;
  }
  return ms;
}

std::size_t find_level(std::string_view line) {
  std::size_t best = std::string_view::npos;
  for (const auto l : kLevels) {
    std::size_t from = 0;
    while (true) {
      const auto at = line.find(l, from);
      if (at == std::string_view::npos || at >= best) break;
      // A level follows the prefix: at the start or after a space, colon or bracket.
      if (at == 0 || line[at - 1] == ' ' || line[at - 1] == ':' || line[at - 1] == ']') {
        best = at;
        break;
      }
      from = at + 1;
    }
  }
  return best;
}

StderrPrefix StderrPrefix::compile(std::string_view prefix) {
  StderrPrefix p;
  p.text_.assign(prefix);
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (prefix[i] != '%') {
      if (p.tokens_.empty() || p.tokens_.back().escape != 0) p.tokens_.push_back({});
      p.tokens_.back().literal.push_back(prefix[i]);
      continue;
    }
    if (i + 1 >= prefix.size())
      throw Error(ErrorCode::invalid_argument, "log_line_prefix '" + std::string(prefix) + "' ends with a lone %.",
                  "Copy the prefix exactly as `SHOW log_line_prefix` prints it.");
    char e = prefix[++i];
    // Padding (%-10u): the value is padded with spaces; read it like text.
    while ((e == '-' || digit(e)) && i + 1 < prefix.size()) e = prefix[++i];
    if (e == '%') {
      if (p.tokens_.empty() || p.tokens_.back().escape != 0) p.tokens_.push_back({});
      p.tokens_.back().literal.push_back('%');
      continue;
    }
    p.tokens_.push_back({e, {}});
  }
  return p;
}

StderrPrefix StderrPrefix::heuristic() {
  StderrPrefix p;
  p.heuristic_ = true;
  return p;
}

std::string StderrPrefix::description() const {
  return heuristic_ ? std::string("(heuristic: a leading time, [pid], then the level)") : text_;
}

StderrPrefix StderrPrefix::detect(std::string_view sample) {
  static constexpr std::array<std::string_view, 12> kCandidates = {
      "%m [%p] user=%u,db=%d,app=%a,session=%c ",
      "%t [%p]: user=%u,db=%d,app=%a,client=%h ",
      "%m [%p]: user=%u,db=%d,app=%a,client=%h ",
      "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
      "%m [%p] user=%u,db=%d,app=%a ",
      "%t [%p]: user=%u,db=%d,app=%a ",
      "%m [%p] %q%u@%d ",
      "%m [%p] %q[%c] %u@%d/%a ",
      "%t [%p-%l] %q%u@%d ",
      "%m [%p] ",
      "%t [%p]: ",
      "%m %c ",
  };
  std::vector<StderrPrefix> candidates;
  for (const auto c : kCandidates) candidates.push_back(compile(c));
  std::vector<int> hits(candidates.size(), 0);
  int level_lines = 0;
  std::size_t start = 0;
  while (start < sample.size() && level_lines < 200) {
    auto end = sample.find('\n', start);
    if (end == std::string_view::npos) break;  // a cut last line says nothing
    const std::string_view line = sample.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line.front() == '\t' || find_level(line) == std::string_view::npos) continue;
    ++level_lines;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      PrefixValues v;
      std::size_t pos = 0;
      if (candidates[i].parse(line, v, pos)) ++hits[i];
    }
  }
  // The first (most specific) candidate that reads nearly every line.
  for (std::size_t i = 0; i < candidates.size(); ++i)
    if (level_lines > 0 && hits[i] * 10 >= level_lines * 9) return candidates[i];
  return heuristic();
}

bool StderrPrefix::parse(std::string_view line, PrefixValues& values, std::size_t& pos) const {
  const bool ok = heuristic_ ? parse_heuristic(line, values, pos) : parse_tokens(line, values, pos);
  return ok && starts_with_level(line.substr(pos));
}

bool StderrPrefix::parse_heuristic(std::string_view line, PrefixValues& values, std::size_t& pos) const {
  const auto level = find_level(line);
  if (level == std::string_view::npos) return false;
  const std::string_view prefix = line.substr(0, level);
  if (const auto len = time_length(prefix, 0, true)) values.ts_ms = parse_timestamp_ms(prefix.substr(0, len));
  for (std::size_t open = prefix.find('['); open != std::string_view::npos; open = prefix.find('[', open + 1)) {
    std::size_t j = open + 1;
    while (j < prefix.size() && digit(prefix[j])) ++j;
    if (j > open + 1 && j < prefix.size() && (prefix[j] == ']' || prefix[j] == '-')) {
      values.pid.assign(prefix.substr(open + 1, j - open - 1));
      break;
    }
  }
  // Key=value fields a log_line_prefix often carries (app=%a, user=%u, db=%d):
  // the application name is the framework's evidence and part of the unit of work.
  const auto field = [&](std::string_view key, std::string& out) {
    out.clear();  // the caller reuses one PrefixValues for every line
    for (std::size_t at = prefix.find(key); at != std::string_view::npos; at = prefix.find(key, at + 1)) {
      if (at > 0 && std::isalnum(static_cast<unsigned char>(prefix[at - 1]))) continue;
      const std::size_t from = at + key.size();
      std::size_t end = from;
      while (end < prefix.size() && prefix[end] != ',' && prefix[end] != ' ' && prefix[end] != ']') ++end;
      out.assign(prefix.substr(from, end - from));
      return;
    }
  };
  field("app=", values.application);
  if (values.application.empty()) field("application_name=", values.application);
  field("user=", values.user);
  field("db=", values.database);
  pos = level;
  return true;
}

bool StderrPrefix::parse_tokens(std::string_view line, PrefixValues& values, std::size_t& pos) const {
  std::size_t at = 0;
  std::optional<std::size_t> optional_from;  // after %q
  for (std::size_t t = 0; t < tokens_.size(); ++t) {
    const Token& tok = tokens_[t];
    bool ok = true;
    if (tok.escape == 0) {
      ok = line.substr(at, tok.literal.size()) == tok.literal;
      if (ok) at += tok.literal.size();
    } else if (tok.escape == 'q') {
      optional_from = at;
      continue;
    } else if (tok.escape == 'm' || tok.escape == 't' || tok.escape == 's') {
      const auto len = time_length(line, at, true);
      ok = len > 0;
      if (ok && tok.escape != 's') values.ts_ms = parse_timestamp_ms(line.substr(at, len));
      at += len;
    } else if (tok.escape == 'n') {
      std::size_t j = at;
      while (j < line.size() && (digit(line[j]) || line[j] == '.')) ++j;
      ok = j > at;
      if (ok) {
        double v = 0;
        std::from_chars(line.data() + at, line.data() + j, v);
        values.ts_ms = v * 1000;
      }
      at = j;
    } else if (tok.escape == 'p' || tok.escape == 'l' || tok.escape == 'x') {
      std::size_t j = at;
      while (j < line.size() && digit(line[j])) ++j;
      ok = j > at || tok.escape == 'x';
      if (tok.escape == 'p') values.pid.assign(line.substr(at, j - at));
      at = j;
    } else {
      // Text up to the next literal (or the next space when nothing follows).
      std::size_t end;
      if (t + 1 < tokens_.size() && tokens_[t + 1].escape == 0) {
        end = line.find(tokens_[t + 1].literal, at);
      } else {
        end = line.find(' ', at);
      }
      ok = end != std::string_view::npos;
      if (ok) {
        const std::string_view v = line.substr(at, end - at);
        switch (tok.escape) {
          case 'c':
            values.session.assign(v);
            break;
          case 'a':
            values.application.assign(v);
            break;
          case 'u':
            values.user.assign(v);
            break;
          case 'd':
            values.database.assign(v);
            break;
          default:
            break;
        }
        at = end;
      }
    }
    if (!ok) {
      if (!optional_from) return false;
      pos = *optional_from;
      return true;
    }
  }
  pos = at;
  if (optional_from && !starts_with_level(line.substr(pos))) pos = *optional_from;
  return true;
}

}  // namespace dbopt::workload
