// The session report: what an optimization session found and measured, from
// the recorded tool results only (every number in it comes from a call made
// with that session). Sections: performance analysis; the plan of action by
// impact (each task with its measured or estimated saving; query tasks, then
// connection-pool tasks, info notes apart); index definitions with their
// rationale (each index once, CREATE before DROP); Django (or the log's ORM)
// code; configuration files; monitoring queries; before/after benchmarks.
// Nothing is repeated between sections. Markdown for people, structured
// content for machines; also served as the MCP resource dbopt://sessions/{id}.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "tools/session_store.h"

namespace dbopt::tools {

struct SessionReport {
  nlohmann::json structured;
  std::string markdown;
};

SessionReport render_session_report(const SessionSnapshot& session);

// The output schema of session_report's structured content.
nlohmann::json session_report_schema();

}  // namespace dbopt::tools
