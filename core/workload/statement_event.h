// StatementEvent: one statement an application ran, as a log recorded it.
//
// Every log reader (core/workload/log_reader.h) turns its format into these
// events, so the analyzers (N+1 detection, workload advice) see one shape of
// data whatever the source. Fields a format does not carry stay empty.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dbopt::workload {

// One frame of the application's stack when the statement ran.
struct StackFrame {
  std::string file;
  int line = 0;
  std::string function;
  bool operator==(const StackFrame&) const = default;
};

struct StatementEvent {
  std::string sql;                  // as logged: values interpolated, or $n / %s placeholders
  std::vector<std::string> params;  // bound values logged apart (DETAIL: parameters, args=, params)
  std::optional<double> duration_ms;
  std::optional<double> ts_ms;    // milliseconds since the epoch, when the log has a time
  std::string request_id;         // request or trace id (JSON Lines)
  std::string session;            // PostgreSQL session id (%c) or backend pid
  std::string thread;             // the application's thread (Django log prefix %(threadName)s / %(thread)d)
  std::string application;        // application_name
  std::string framework;          // when the log names it (JSON Lines "framework")
  std::vector<StackFrame> stack;  // outermost first, as Python's traceback lists it
  std::uint64_t line = 0;         // 1-based line of the log where the statement starts
};

// What a reader hands on: a statement, or a boundary between units of work
// (an explicit marker line, or the end of a database session).
struct LogRecord {
  enum class Kind { statement, unit_boundary };
  Kind kind = Kind::statement;
  StatementEvent event;  // for statement
  std::string unit;      // for unit_boundary: the marker's name, or the session that ended
  std::string session;   // for unit_boundary: the session it applies to; empty for all
  std::string thread;    // for unit_boundary: the thread whose marker it is; empty for all
};

}  // namespace dbopt::workload
