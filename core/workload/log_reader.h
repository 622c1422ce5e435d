// Log readers: the statements an application ran, from the logs that recorded them.
//
// read_log() streams a log (never the whole file in memory: it reads 1 MiB
// at a time and keeps only the record being assembled) and hands every
// statement to a callback as a LogRecord. Formats:
// - django: logger django.db.backends, `(0.001) SQL; args=(...)` (3.2) with
//   `; alias=default` appended (4.x/5.x); anything before the `(seconds)` is a
//   formatter's prefix and ignored; statements may span lines.
// - postgres_stderr: the server's stderr log with a log_line_prefix (given, or
//   detected from common prefixes, or read heuristically: a leading time and a
//   [pid]); `duration: ... ms  statement:` / `execute <name>:` with
//   `DETAIL:  parameters: $1 = '42'`, `statement:` (log_statement), and
//   tab-indented continuation lines.
// - postgres_csv (csvlog; quoted fields may span lines), postgres_json (jsonlog).
// - jsonl: one JSON object per line {sql, params?, duration_ms?, ts?,
//   request_id?/trace_id?, span_id?, parent_id?, stack?, framework?}.
// Any line containing `dbopt-unit:` followed by a name is a marker between
// units of work (e.g. logged by a request middleware) in every format.
// Bad lines (binary garbage, truncated records, lines of no known form) are
// skipped and counted, never an exception. The only errors thrown are
// dbopt::Error(invalid_argument) for a log_line_prefix that cannot be used and
// Error(cancelled) when `cancel` fires.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/cancellation.h"
#include "core/workload/statement_event.h"

namespace dbopt::workload {

enum class LogFormat { auto_detect, django, postgres_stderr, postgres_csv, postgres_json, jsonl };
const char* to_string(LogFormat format);
// "auto", "django", "postgres_stderr", "postgres_csv", "postgres_json", "jsonl".
LogFormat parse_log_format(std::string_view name);

struct ReadOptions {
  LogFormat format = LogFormat::auto_detect;
  std::string log_line_prefix;  // postgres_stderr; empty: detect
};

struct ReadStats {
  LogFormat format = LogFormat::auto_detect;  // the format read (detected when auto)
  std::string log_line_prefix;                // the prefix used; "(heuristic)" when none matched
  std::uint64_t bytes = 0;
  std::uint64_t lines = 0;
  std::uint64_t statements = 0;
  std::uint64_t skipped_lines = 0;  // garbage, truncated or unknown lines
  std::uint64_t markers = 0;        // dbopt-unit: lines
};

// The record is only valid during the call (readers reuse it); a sink may move from it.
using RecordSink = std::function<void(LogRecord&)>;

ReadStats read_log(std::istream& in, const ReadOptions& options, const RecordSink& sink,
                   const CancellationToken* cancel = nullptr);

// The inline form: one request's statements, in order, as one unit of work.
ReadStats read_statements(const std::vector<std::string>& statements, const RecordSink& sink);

// The `dbopt-unit:` name of a line, or empty when the line is no marker.
std::string_view unit_marker(std::string_view line);

// Python's repr of an args tuple/list/dict, or a call's argument text: the top-level items as
// written ("(1, 'a, b')" -> "1", "'a, b'"; "Post, related_name='x'" -> "Post", "related_name='x'").
std::vector<std::string> parse_python_args(std::string_view text);

// Parses a "$1 = '42', $2 = NULL" parameter list (DETAIL: parameters) into values.
std::vector<std::string> parse_bind_parameters(std::string_view text);

}  // namespace dbopt::workload
