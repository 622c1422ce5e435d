#include "core/workload/log_reader.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstring>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/workload/line_source.h"
#include "core/workload/stderr_prefix.h"

namespace dbopt::workload {
namespace {

using Json = nlohmann::json;

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// A line with control bytes other than tab, or invalid UTF-8 lead bytes, is not a log line.
bool garbage(std::string_view line) {
  bool bad = false;  // no early exit: the loop vectorizes
  for (const char ch : line) {
    const auto c = static_cast<unsigned char>(ch);
    bad |= (c < 0x20 && c != '\t') | (c == 0x7f) | (c >= 0xfe);
  }
  return bad;
}

std::optional<double> parse_double(std::string_view s) {
  double v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p == s.data()) return std::nullopt;
  return v;
}

// ---------------------------------------------------------------------------
// PostgreSQL messages (stderr, csvlog, jsonlog share them)

struct PgRecord {
  std::string severity;
  std::string message;
  std::string detail;
  PrefixValues meta;
  std::uint64_t line = 0;
};

// Turns server messages into statement events. Holds one event back, because
// its parameters (DETAIL) or duration (log_duration) may come on the next record.
class PgAssembler {
 public:
  PgAssembler(const RecordSink& sink, ReadStats& stats) : sink_(sink), stats_(stats) {}

  void add(PgRecord& r) {
    const std::string_view msg = r.message;
    if (r.severity == "DETAIL") {
      if (pending_ && event().session == session_of(r.meta) && starts_with(msg, "parameters: "))
        event().params = parse_bind_parameters(msg.substr(12));
      return;
    }
    if (r.severity != "LOG") {
      return;  // ERROR/STATEMENT/HINT...: not a statement that ran
    }
    std::optional<double> duration;
    std::string_view rest = msg;
    if (starts_with(rest, "duration: ")) {
      rest.remove_prefix(10);
      const auto ms = rest.find(" ms");
      if (ms == std::string_view::npos) {
        ++stats_.skipped_lines;
        return;
      }
      duration = parse_double(rest.substr(0, ms));
      rest.remove_prefix(ms + 3);
      while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
      if (rest.empty()) {  // log_duration: the time of the statement logged just before
        if (pending_ && event().session == session_of(r.meta) && !event().duration_ms) {
          event().duration_ms = duration;
          flush();
        }
        return;
      }
    }
    std::string_view sql;
    if (starts_with(rest, "statement: ")) {
      sql = rest.substr(11);
    } else if (starts_with(rest, "execute ")) {
      const auto colon = rest.find(": ");
      if (colon == std::string_view::npos) return;
      sql = rest.substr(colon + 2);
    } else if (starts_with(rest, "disconnection: ")) {
      flush();
      LogRecord boundary;
      boundary.kind = LogRecord::Kind::unit_boundary;
      boundary.session.assign(session_of(r.meta));
      boundary.unit = "disconnection";
      sink_(boundary);
      return;
    } else {
      return;  // parse/bind steps, connections, checkpoints: not statements
    }
    flush();
    // One record reused for every statement: assign() keeps the strings' buffers.
    StatementEvent& e = event();
    e.sql.assign(sql);
    e.params.clear();
    e.duration_ms = duration;
    e.ts_ms = r.meta.ts_ms;
    e.session.assign(session_of(r.meta));
    e.application.assign(r.meta.application);
    e.line = r.line;
    if (!r.detail.empty() && starts_with(r.detail, "parameters: "))
      e.params = parse_bind_parameters(std::string_view(r.detail).substr(12));
    pending_ = true;
  }

  void flush() {
    if (!pending_) return;
    pending_ = false;
    ++stats_.statements;
    record_.kind = LogRecord::Kind::statement;
    sink_(record_);
  }

 private:
  StatementEvent& event() { return record_.event; }
  static std::string_view session_of(const PrefixValues& m) {
    if (!m.session.empty()) return m.session;
    return m.pid;
  }

  const RecordSink& sink_;
  ReadStats& stats_;
  LogRecord record_;
  bool pending_ = false;
};

void emit_marker(std::string_view name, const RecordSink& sink, ReadStats& stats, std::string_view thread = {}) {
  LogRecord rec;
  rec.kind = LogRecord::Kind::unit_boundary;
  rec.unit.assign(name);
  rec.thread.assign(thread);
  ++stats.markers;
  sink(rec);
}

void check_cancel(const CancellationToken* cancel, std::uint64_t lines) {
  if (cancel && (lines & 0xffff) == 0 && cancel->stop_requested())
    throw Error(ErrorCode::cancelled, "Reading the log was cancelled.");
}

// ---------------------------------------------------------------------------
// stderr

void read_stderr(LineSource& src, const StderrPrefix& prefix, const RecordSink& sink, ReadStats& stats,
                 const CancellationToken* cancel) {
  PgAssembler assembler(sink, stats);
  PgRecord current;
  PrefixValues meta;  // reused: assign() keeps the strings' buffers
  bool have = false;
  bool in_detail = false;
  std::string_view line;
  while (src.next(line)) {
    ++stats.lines;
    check_cancel(cancel, stats.lines);
    if (src.overlong()) {
      ++stats.skipped_lines;
      continue;
    }
    if (!line.empty() && line.front() == '\t' && have) {  // continuation of a multi-line message
      std::string& target = in_detail ? current.detail : current.message;
      target.push_back('\n');
      target.append(line.substr(1));
      continue;
    }
    std::size_t pos = 0;
    // Binary bytes after a valid prefix end up in a statement that does not parse (counted as unparsed).
    if (!prefix.parse(line, meta, pos)) {
      if (const auto marker = unit_marker(line); !marker.empty() && !garbage(line)) {
        if (have) assembler.add(current);
        have = false;
        assembler.flush();
        emit_marker(marker, sink, stats);
      } else if (!line.empty()) {
        ++stats.skipped_lines;
      }
      continue;
    }
    // LEVEL:  message
    std::string_view rest = line.substr(pos);
    const auto colon = rest.find(":  ");
    if (colon == std::string_view::npos || colon > 12) {
      ++stats.skipped_lines;
      continue;
    }
    const std::string_view severity = rest.substr(0, colon);
    const std::string_view message = rest.substr(colon + 3);
    if (severity == "DETAIL" && have && current.severity != "DETAIL") {
      // Keep DETAIL apart from its LOG line so multi-line parameters append to it.
      assembler.add(current);
      current = PgRecord{};
      current.severity = "DETAIL";
      current.message.assign(message);
      current.meta = meta;
      current.line = stats.lines;
      in_detail = false;
      continue;
    }
    if (have) assembler.add(current);
    current.severity.assign(severity);
    current.message.assign(message);
    current.detail.clear();
    current.meta = meta;
    current.line = stats.lines;
    have = true;
    in_detail = false;
  }
  if (have) assembler.add(current);
  assembler.flush();
}

// ---------------------------------------------------------------------------
// csvlog

// Column numbers of PostgreSQL 15's csvlog.
enum CsvColumn {
  kCsvTime = 0,
  kCsvUser = 1,
  kCsvDb = 2,
  kCsvPid = 3,
  kCsvSession = 5,
  kCsvSeverity = 11,
  kCsvMessage = 13,
  kCsvDetail = 14,
  kCsvApplication = 22,
  kCsvMinColumns = 23,
};

void read_csv(LineSource& src, const RecordSink& sink, ReadStats& stats, const CancellationToken* cancel) {
  PgAssembler assembler(sink, stats);
  std::vector<std::string> fields;
  std::string field;
  bool in_quotes = false;
  bool open = false;  // a record spans lines
  std::uint64_t record_line = 0;
  constexpr std::size_t kMaxRecord = 16u << 20;
  std::size_t record_bytes = 0;
  std::string_view line;
  while (src.next(line)) {
    ++stats.lines;
    check_cancel(cancel, stats.lines);
    if (!open) {
      if (line.empty()) continue;
      if (src.overlong() || garbage(line) || line.front() < '0' || line.front() > '9') {
        if (const auto marker = unit_marker(line); !marker.empty() && !garbage(line)) {
          assembler.flush();
          emit_marker(marker, sink, stats);
        } else {
          ++stats.skipped_lines;
        }
        continue;
      }
      fields.clear();
      field.clear();
      record_line = stats.lines;
      record_bytes = 0;
    } else {
      field.push_back('\n');
    }
    record_bytes += line.size();
    for (std::size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (in_quotes) {
        if (c == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field.push_back('"');
            ++i;
          } else {
            in_quotes = false;
          }
        } else {
          field.push_back(c);
        }
      } else if (c == '"') {
        in_quotes = true;
      } else if (c == ',') {
        fields.push_back(std::move(field));
        field.clear();
      } else {
        field.push_back(c);
      }
    }
    if (in_quotes && record_bytes < kMaxRecord) {
      open = true;
      continue;
    }
    open = false;
    const bool broken = in_quotes;
    in_quotes = false;
    fields.push_back(std::move(field));
    field.clear();
    if (broken || fields.size() < kCsvMinColumns) {
      stats.skipped_lines += stats.lines - record_line + 1;
      continue;
    }
    PgRecord r;
    r.severity = std::move(fields[kCsvSeverity]);
    r.message = std::move(fields[kCsvMessage]);
    r.detail = std::move(fields[kCsvDetail]);
    r.meta.ts_ms = parse_timestamp_ms(fields[kCsvTime]);
    r.meta.pid = std::move(fields[kCsvPid]);
    r.meta.session = std::move(fields[kCsvSession]);
    r.meta.user = std::move(fields[kCsvUser]);
    r.meta.database = std::move(fields[kCsvDb]);
    r.meta.application = std::move(fields[kCsvApplication]);
    r.line = record_line;
    assembler.add(r);
  }
  if (open) stats.skipped_lines += stats.lines - record_line + 1;  // the file ends inside a record
  assembler.flush();
}

// ---------------------------------------------------------------------------
// jsonlog and JSON Lines

std::string json_string(const Json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

void read_pg_json(LineSource& src, const RecordSink& sink, ReadStats& stats, const CancellationToken* cancel) {
  PgAssembler assembler(sink, stats);
  std::string_view line;
  while (src.next(line)) {
    ++stats.lines;
    check_cancel(cancel, stats.lines);
    if (line.empty()) continue;
    Json j = src.overlong() ? Json() : Json::parse(line, nullptr, false);
    if (!j.is_object()) {
      if (const auto marker = unit_marker(line); !marker.empty() && !garbage(line)) {
        assembler.flush();
        emit_marker(marker, sink, stats);
      } else {
        ++stats.skipped_lines;
      }
      continue;
    }
    PgRecord r;
    r.severity = json_string(j, "error_severity");
    r.message = json_string(j, "message");
    r.detail = json_string(j, "detail");
    r.meta.ts_ms = parse_timestamp_ms(json_string(j, "timestamp"));
    r.meta.pid = json_string(j, "pid");
    r.meta.session = json_string(j, "session_id");
    r.meta.application = json_string(j, "application_name");
    r.line = stats.lines;
    if (r.severity.empty()) {
      ++stats.skipped_lines;
      continue;
    }
    assembler.add(r);
  }
  assembler.flush();
}

// `  File "/app/shop/views.py", line 42, in handler`, `path:line in function`, `path:line function`, or `path:line`.
StackFrame parse_frame_text(std::string_view s) {
  StackFrame f;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  if (starts_with(s, "File \"")) {
    const auto end = s.find('"', 6);
    if (end == std::string_view::npos) return f;
    f.file.assign(s.substr(6, end - 6));
    s.remove_prefix(end + 1);
    if (const auto l = s.find("line "); l != std::string_view::npos) {
      int v = 0;
      std::from_chars(s.data() + l + 5, s.data() + s.size(), v);
      f.line = v;
    }
    if (const auto in = s.find(", in "); in != std::string_view::npos) f.function.assign(s.substr(in + 5));
    return f;
  }
  std::string_view location = s;
  if (const auto in = s.find(" in "); in != std::string_view::npos) {
    f.function.assign(s.substr(in + 4));
    location = s.substr(0, in);
  }
  const auto colon = location.rfind(':');
  int v = 0;
  const char* end = location.data() + location.size();
  if (const auto parsed = colon == std::string_view::npos ? std::from_chars_result{nullptr, std::errc::invalid_argument}
                                                          : std::from_chars(location.data() + colon + 1, end, v);
      parsed.ec == std::errc()) {
    f.file.assign(location.substr(0, colon));
    f.line = v;
    // "path:line function", as some exporters write frames
    if (f.function.empty() && parsed.ptr < end && *parsed.ptr == ' ') {
      std::string_view rest(parsed.ptr, static_cast<std::size_t>(end - parsed.ptr));
      while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
      f.function.assign(rest);
    }
  } else {
    f.file.assign(location);
  }
  return f;
}

std::vector<StackFrame> parse_stack(const Json& j) {
  std::vector<StackFrame> out;
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    std::size_t start = 0;
    while (start < s.size()) {
      auto end = s.find('\n', start);
      if (end == std::string::npos) end = s.size();
      const std::string_view piece(s.data() + start, end - start);
      if (piece.find("File \"") != std::string_view::npos || piece.find(':') != std::string_view::npos)
        out.push_back(parse_frame_text(piece));
      start = end + 1;
    }
  } else if (j.is_array()) {
    for (const auto& item : j) {
      if (item.is_string()) {
        out.push_back(parse_frame_text(item.get<std::string>()));
      } else if (item.is_object()) {
        StackFrame f;
        f.file = json_string(item, item.contains("filename") ? "filename" : "file");
        const auto line = item.contains("lineno") ? item["lineno"] : item.value("line", Json());
        if (line.is_number_integer()) f.line = line.get<int>();
        f.function = json_string(item, item.contains("function") ? "function" : "name");
        out.push_back(std::move(f));
      }
    }
  }
  std::erase_if(out, [](const StackFrame& f) { return f.file.empty(); });
  return out;
}

std::optional<double> json_time_ms(const Json& j) {
  if (j.is_number()) {
    const double v = j.get<double>();
    return v < 1e11 ? v * 1000 : v;  // seconds or milliseconds since the epoch
  }
  if (j.is_string()) return parse_timestamp_ms(j.get<std::string>());
  return std::nullopt;
}

void read_jsonl(LineSource& src, const RecordSink& sink, ReadStats& stats, const CancellationToken* cancel) {
  std::string_view line;
  while (src.next(line)) {
    ++stats.lines;
    check_cancel(cancel, stats.lines);
    if (line.empty()) continue;
    Json j = src.overlong() ? Json() : Json::parse(line, nullptr, false);
    if (!j.is_object()) {
      if (const auto marker = unit_marker(line); !marker.empty() && !garbage(line))
        emit_marker(marker, sink, stats);
      else
        ++stats.skipped_lines;
      continue;
    }
    if (j.contains("marker") && j["marker"].is_string()) {
      emit_marker(j["marker"].get<std::string>(), sink, stats);
      continue;
    }
    const auto sql = j.find("sql");
    if (sql == j.end() || !sql->is_string()) {
      ++stats.skipped_lines;
      continue;
    }
    LogRecord rec;
    StatementEvent& e = rec.event;
    e.sql = sql->get<std::string>();
    if (const auto p = j.find("params"); p != j.end()) {
      if (p->is_array()) {
        for (const auto& v : *p) e.params.push_back(v.is_string() ? v.get<std::string>() : v.dump());
      } else if (!p->is_null()) {
        e.params.push_back(p->dump());
      }
    }
    if (const auto d = j.find("duration_ms"); d != j.end() && d->is_number()) e.duration_ms = d->get<double>();
    if (const auto t = j.find("ts"); t != j.end()) e.ts_ms = json_time_ms(*t);
    e.request_id = json_string(j, "request_id");
    if (e.request_id.empty()) e.request_id = json_string(j, "trace_id");
    if (e.request_id.empty()) e.request_id = json_string(j, "parent_id");
    e.session = json_string(j, "session");
    e.thread = json_string(j, "thread");
    if (e.thread.empty()) e.thread = json_string(j, "thread_name");
    e.application = json_string(j, "application");
    e.framework = json_string(j, "framework");
    if (const auto s = j.find("stack"); s != j.end()) e.stack = parse_stack(*s);
    e.line = stats.lines;
    ++stats.statements;
    sink(rec);
  }
}

// ---------------------------------------------------------------------------
// Django's django.db.backends debug log

// Where "(0.001) " starts in the line, and the seconds; npos when absent.
std::size_t django_record_start(std::string_view line, double& seconds) {
  std::size_t from = 0;
  while (true) {
    const auto open = line.find('(', from);
    if (open == std::string_view::npos) return open;
    std::size_t i = open + 1;
    const std::size_t digits_start = i;
    while (i < line.size() && ((line[i] >= '0' && line[i] <= '9') || line[i] == '.')) ++i;
    // Django writes %.3f: a dot, so varchar(100) in a statement is no record start.
    const bool has_dot = line.substr(digits_start, i - digits_start).find('.') != std::string_view::npos;
    if (has_dot && i > digits_start && i + 1 < line.size() && line[i] == ')' && line[i + 1] == ' ') {
      if (const auto v = parse_double(line.substr(digits_start, i - digits_start))) {
        seconds = *v;
        return open;
      }
    }
    from = open + 1;
  }
}

}  // namespace

std::vector<std::string> parse_python_args(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.size() < 2 || s == "None") return out;
  if ((s.front() == '(' && s.back() == ')') || (s.front() == '[' && s.back() == ']') ||
      (s.front() == '{' && s.back() == '}'))
    s = s.substr(1, s.size() - 2);
  int depth = 0;
  char quote = 0;
  std::string item;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quote) {
      item.push_back(c);
      if (c == '\\' && i + 1 < s.size()) {
        item.push_back(s[++i]);
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if (c == ')' || c == ']' || c == '}') {
      --depth;
    } else if (c == ',' && depth == 0) {
      while (!item.empty() && item.front() == ' ') item.erase(item.begin());
      if (!item.empty()) out.push_back(std::move(item));
      item.clear();
      continue;
    }
    item.push_back(c);
  }
  while (!item.empty() && item.front() == ' ') item.erase(item.begin());
  if (!item.empty()) out.push_back(std::move(item));
  return out;
}

namespace {

// django.db.backends.schema: "<prefix>CREATE TABLE ...; (params None)".
bool schema_statement(std::string_view line, const RecordSink& sink, ReadStats& stats) {
  const auto params = line.rfind("; (params ");
  if (params == std::string_view::npos) return false;
  static constexpr std::array<std::string_view, 9> kStarts = {"CREATE ", "ALTER ",  "DROP ",     "INSERT ", "UPDATE ",
                                                              "DELETE ", "SELECT ", "TRUNCATE ", "COMMENT "};
  std::size_t start = std::string_view::npos;
  for (const auto k : kStarts) {
    for (auto at = line.find(k); at != std::string_view::npos && at < params; at = line.find(k, at + 1)) {
      if (at == 0 || line[at - 1] == ' ') {
        start = std::min(start, at);
        break;
      }
    }
  }
  if (start == std::string_view::npos) return false;
  LogRecord rec;
  rec.event.sql.assign(line.substr(start, params - start));
  rec.event.line = stats.lines;
  ++stats.statements;
  sink(rec);
  return true;
}

// The thread a Django log line's formatter prefix names: a [%(threadName)s]
// ("[Thread-3 (process_request_thread)]", "[MainThread]"), else the longest
// number of 5 or more digits (%(thread)d, or %(process)d in a forking server).
// Brackets holding a time, a level or a logger name are not threads.
std::string django_thread(std::string_view prefix) {
  for (std::size_t open = prefix.find('['); open != std::string_view::npos; open = prefix.find('[', open + 1)) {
    const auto close = prefix.find(']', open + 1);
    if (close == std::string_view::npos) break;
    const std::string_view inside = prefix.substr(open + 1, close - open - 1);
    const bool time_like = std::all_of(inside.begin(), inside.end(), [](char c) {
      return (c >= '0' && c <= '9') || c == '-' || c == ':' || c == ',' || c == '.' || c == ' ' || c == 'T' ||
             c == 'Z' || c == '+';
    });
    static constexpr std::array<std::string_view, 6> kLevels = {"DEBUG", "INFO",     "WARNING",
                                                                "ERROR", "CRITICAL", "WARN"};
    const bool level = std::find(kLevels.begin(), kLevels.end(), inside) != kLevels.end();
    if (!inside.empty() && !time_like && !level && !starts_with(inside, "django")) return std::string(inside);
  }
  std::string_view best;
  std::size_t i = 0;
  while (i < prefix.size()) {
    while (i < prefix.size() && (prefix[i] == ' ' || prefix[i] == '=' || prefix[i] == '[' || prefix[i] == '(')) ++i;
    const std::size_t start = i;
    while (i < prefix.size() && prefix[i] >= '0' && prefix[i] <= '9') ++i;
    const bool whole = i == prefix.size() || prefix[i] == ' ' || prefix[i] == ']' || prefix[i] == ')';
    if (whole && i - start >= 5 && i - start > best.size()) best = prefix.substr(start, i - start);
    while (i < prefix.size() && prefix[i] != ' ' && prefix[i] != '=') ++i;
  }
  return std::string(best);
}

void read_django(LineSource& src, const RecordSink& sink, ReadStats& stats, const CancellationToken* cancel) {
  std::string text;  // the record being assembled (multi-line SQL)
  double seconds = 0;
  std::uint64_t record_line = 0;
  std::uint64_t record_lines = 0;
  bool open = false;
  constexpr std::size_t kMaxRecord = 16u << 20;

  std::string thread;  // of the record being assembled
  auto finish = [&]() -> bool {
    const auto args = text.rfind("; args=");
    if (args == std::string::npos) return false;
    LogRecord rec;
    StatementEvent& e = rec.event;
    e.sql = text.substr(0, args);
    std::string_view tail = std::string_view(text).substr(args + 7);
    if (const auto alias = tail.rfind("; alias="); alias != std::string_view::npos) {
      e.session.assign(tail.substr(alias + 8));
      tail = tail.substr(0, alias);
    }
    e.params = parse_python_args(tail);
    e.thread = thread;
    e.duration_ms = seconds * 1000;
    e.line = record_line;
    ++stats.statements;
    sink(rec);
    return true;
  };

  std::string_view line;
  while (src.next(line)) {
    ++stats.lines;
    check_cancel(cancel, stats.lines);
    if (src.overlong() || garbage(line)) {
      ++stats.skipped_lines;
      continue;
    }
    double s = 0;
    const auto start = django_record_start(line, s);
    if (start == std::string_view::npos) {
      if (const auto marker = unit_marker(line); !marker.empty()) {
        if (open) stats.skipped_lines += record_lines;
        open = false;
        emit_marker(marker, sink, stats, django_thread(line.substr(0, line.find("dbopt-unit:"))));
      } else if (!open && schema_statement(line, sink, stats)) {
        // logged by django.db.backends.schema (migrations): ran, but without a time
      } else if (open && text.size() < kMaxRecord) {
        text.push_back('\n');
        text.append(line);
        ++record_lines;
        if (line.find("; args=") != std::string_view::npos && finish()) open = false;
      } else if (!line.empty()) {
        ++stats.skipped_lines;
      }
      continue;
    }
    if (open) stats.skipped_lines += record_lines;  // the earlier record never ended
    seconds = s;
    thread = django_thread(line.substr(0, start));
    const auto sql_start = line.find(") ", start) + 2;
    text.assign(line.substr(sql_start));
    record_line = stats.lines;
    record_lines = 1;
    open = !finish();
  }
  if (open) stats.skipped_lines += record_lines;
}

// ---------------------------------------------------------------------------
// Detection

bool looks_like_csv_start(std::string_view line) {
  // 2026-11-27 16:02:44.123 UTC,"user",...
  if (line.size() < 20 || line[4] != '-' || line[7] != '-' || line[10] != ' ') return false;
  const auto comma = line.find(',');
  return comma != std::string_view::npos && comma < 40 && line.substr(0, comma).find('"') == std::string_view::npos;
}

bool has_pg_level(std::string_view line) {
  static constexpr std::array<std::string_view, 6> kLevels = {
      "LOG:  ", "ERROR:  ", "DETAIL:  ", "STATEMENT:  ", "FATAL:  ", "WARNING:  "};
  return std::any_of(kLevels.begin(), kLevels.end(),
                     [&](std::string_view l) { return line.find(l) != std::string_view::npos; });
}

LogFormat detect_format(std::string_view sample) {
  int django = 0, csv = 0, stderr_votes = 0, pg_json = 0, jsonl = 0;
  std::size_t start = 0;
  int lines = 0;
  while (start < sample.size() && lines < 400) {
    auto end = sample.find('\n', start);
    if (end == std::string_view::npos) end = sample.size();
    std::string_view line = sample.substr(start, end - start);
    start = end + 1;
    ++lines;
    if (line.empty() || garbage(line)) continue;
    if (line.front() == '{') {
      const Json j = Json::parse(line, nullptr, false);
      if (j.is_object() && j.contains("error_severity")) ++pg_json;
      if (j.is_object() && j.contains("sql")) ++jsonl;
      continue;
    }
    double s = 0;
    const auto django_start = django_record_start(line, s);
    if (django_start != std::string_view::npos &&
        (line.find("; args=") != std::string_view::npos ||
         // a statement too long for the sample: "(0.001) SELECT ..." near the start of the line
         (django_start < 200 && line.size() > django_start + 10 &&
          std::isupper(static_cast<unsigned char>(line[line.find(") ", django_start) + 2])))))
      ++django;
    else if (looks_like_csv_start(line))
      ++csv;
    else if (has_pg_level(line))
      ++stderr_votes;
  }
  const std::array<std::pair<int, LogFormat>, 5> votes = {
      std::pair{django, LogFormat::django}, std::pair{csv, LogFormat::postgres_csv},
      std::pair{stderr_votes, LogFormat::postgres_stderr}, std::pair{pg_json, LogFormat::postgres_json},
      std::pair{jsonl, LogFormat::jsonl}};
  const auto best =
      std::max_element(votes.begin(), votes.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  if (best->first == 0)
    throw Error(ErrorCode::invalid_argument,
                "The log's format was not recognised: no line looks like a Django SQL debug log, a PostgreSQL "
                "stderr/csvlog/jsonlog log or JSON Lines of query events.",
                "Name it with `format` (django, postgres_stderr, postgres_csv, postgres_json, jsonl); for a "
                "PostgreSQL stderr log with an unusual prefix also give `log_line_prefix`.");
  return best->second;
}

}  // namespace

const char* to_string(LogFormat format) {
  switch (format) {
    case LogFormat::auto_detect:
      return "auto";
    case LogFormat::django:
      return "django";
    case LogFormat::postgres_stderr:
      return "postgres_stderr";
    case LogFormat::postgres_csv:
      return "postgres_csv";
    case LogFormat::postgres_json:
      return "postgres_json";
    case LogFormat::jsonl:
      return "jsonl";
  }
  return "auto";
}

LogFormat parse_log_format(std::string_view name) {
  for (const auto f : {LogFormat::auto_detect, LogFormat::django, LogFormat::postgres_stderr, LogFormat::postgres_csv,
                       LogFormat::postgres_json, LogFormat::jsonl}) {
    if (name == to_string(f)) return f;
  }
  throw Error(ErrorCode::invalid_argument, "Unknown log format '" + std::string(name) + "'.",
              "Use auto, django, postgres_stderr, postgres_csv, postgres_json or jsonl.");
}

std::string_view unit_marker(std::string_view line) {
  const auto at = line.find("dbopt-unit:");
  if (at == std::string_view::npos) return {};
  std::string_view name = line.substr(at + 11);
  while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
  std::size_t end = 0;
  while (end < name.size() && name[end] != ' ' && name[end] != '"' && name[end] != '\'' && name[end] != '*') ++end;
  name = name.substr(0, end);
  return name.empty() ? std::string_view("(unnamed)") : name;
}

std::vector<std::string> parse_bind_parameters(std::string_view text) {
  // $1 = '42', $2 = NULL, $3 = 'it''s'
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto eq = text.find(" = ", i);
    if (eq == std::string_view::npos) break;
    i = eq + 3;
    if (i < text.size() && text[i] == '\'') {
      std::string value;
      ++i;
      while (i < text.size()) {
        if (text[i] == '\'') {
          if (i + 1 < text.size() && text[i + 1] == '\'') {
            value.push_back('\'');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        value.push_back(text[i++]);
      }
      out.push_back(std::move(value));
    } else {
      const auto comma = text.find(", ", i);
      const auto end = comma == std::string_view::npos ? text.size() : comma;
      out.emplace_back(text.substr(i, end - i));
      i = end;
    }
    const auto next = text.find(", $", i);
    if (next == std::string_view::npos) break;
    i = next + 2;
  }
  return out;
}

ReadStats read_log(std::istream& in, const ReadOptions& options, const RecordSink& sink,
                   const CancellationToken* cancel) {
  LineSource src(in);
  ReadStats stats;
  stats.format = options.format == LogFormat::auto_detect ? detect_format(src.peek()) : options.format;
  switch (stats.format) {
    case LogFormat::django:
      read_django(src, sink, stats, cancel);
      break;
    case LogFormat::postgres_stderr: {
      const StderrPrefix prefix = options.log_line_prefix.empty() ? StderrPrefix::detect(src.peek())
                                                                  : StderrPrefix::compile(options.log_line_prefix);
      stats.log_line_prefix = prefix.description();
      read_stderr(src, prefix, sink, stats, cancel);
      break;
    }
    case LogFormat::postgres_csv:
      read_csv(src, sink, stats, cancel);
      break;
    case LogFormat::postgres_json:
      read_pg_json(src, sink, stats, cancel);
      break;
    case LogFormat::jsonl:
      read_jsonl(src, sink, stats, cancel);
      break;
    case LogFormat::auto_detect:
      break;
  }
  stats.bytes = src.bytes();
  return stats;
}

ReadStats read_statements(const std::vector<std::string>& statements, const RecordSink& sink) {
  ReadStats stats;
  stats.format = LogFormat::auto_detect;
  for (const auto& s : statements) {
    ++stats.lines;
    stats.bytes += s.size() + 1;
    LogRecord rec;
    rec.event.sql = s;
    rec.event.line = stats.lines;
    ++stats.statements;
    sink(rec);
  }
  return stats;
}

}  // namespace dbopt::workload
