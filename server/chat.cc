#include "server/chat.h"

#include <editline/readline.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <tuple>

#include "core/common/error.h"
#include "core/sql/query_model.h"

namespace dbopt::server {
namespace {

using tools::Json;

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
}

// Splits "/cmd rest" into the command and the rest.
std::pair<std::string, std::string> split_command(const std::string& input) {
  const auto space = input.find_first_of(" \t\n");
  if (space == std::string::npos) return {input, ""};
  return {input.substr(0, space), trim(input.substr(space + 1))};
}

bool looks_like_plan(const std::string& text) {
  return text.find("cost=") != std::string::npos || text.find("QUERY PLAN") != std::string::npos ||
         text.find("\"Node Type\"") != std::string::npos || text.find("actual time=") != std::string::npos;
}

// A slash command, not a C-style comment opening pasted SQL.
bool is_command(const std::string& text) {
  return !text.empty() && (text[0] == '\\' || (text[0] == '/' && !text.starts_with("/*")));
}

// Adds one line to `pending` and returns the inputs it completes, in order. A
// command is one line; SQL and plans end at ';' or an empty line, and a
// command also ends a paste that lacked its ';' (it would swallow it).
std::vector<std::string> complete_inputs(std::string& pending, const std::string& line) {
  const std::string text = trim(line);
  std::vector<std::string> out;
  if (is_command(text)) {
    if (!trim(pending).empty()) out.push_back(trim(pending));
    pending.clear();
    out.push_back(text);
    return out;
  }
  pending += (pending.empty() ? "" : "\n") + line;
  if (!text.empty() && text.back() != ';') return out;
  if (!trim(pending).empty()) out.push_back(trim(pending));
  pending.clear();
  return out;
}

const char* kHelp = R"(Paste SQL (end it with ';' or an empty line), an EXPLAIN plan, or a log file path.
Commands:
  /explain SQL        explain_query (plan, bottleneck, fix)      /analyze SQL   the same with EXPLAIN ANALYZE
  /indexes [SQL;SQL]  suggest_indexes for these queries          /workload      suggest_indexes from pg_stat_statements
  /nplusone PATH      detect_n_plus_one on a log file            /bench [SQL]   benchmark_query (10 runs)
  (/indexes and /bench without SQL use the chat's last statement)
  /pool JSON          tune_pool with these arguments             /call TOOL JSON   any tool
  /report             the session report                         /file          create_perf_task (dry run) from the report
  /file!              create_perf_task for real (Linear)         /tasks [TEXT]  find_perf_tasks
  /db NAME            use that configured database               /tools         list the tools
  /help               this text                                  /quit          leave (also Ctrl-D)
)";

}  // namespace

Chat::Chat(App& app, std::ostream& out) : app_(app), out_(out) {
  auto token = app_.new_call_token();
  const tools::ToolResult started = app_.call_tool("start_session", {{"title", "dbopt chat"}}, *token);
  if (!started.is_error) session_ = started.structured["session"];
}

Chat::Call Chat::classify(const std::string& raw) const {
  const std::string input = trim(raw);
  if (input.empty()) return {};
  if (looks_like_plan(input)) return {"explain_query", {{"plan", input}}};
  if (input.find('\n') == std::string::npos && input.find(' ') == std::string::npos &&
      std::filesystem::is_regular_file(input))
    return {"detect_n_plus_one", {{"log_path", std::filesystem::absolute(input).string()}}};
  Json args = {{"sql", input}};
  if (!database_.empty()) args["database"] = database_;
  return {"explain_query", args};
}

void Chat::run_tool(const std::string& tool, Json arguments) {
  const tools::Tool* t = app_.tools().find(tool);
  if (!t) {
    out_ << "No tool named '" << tool << "'; /tools lists them.\n";
    failed_ = true;
    return;
  }
  // Join the chat's session, and use the chosen database where the tool takes one.
  if (!session_.empty() && t->records_in_session && !arguments.contains("session")) arguments["session"] = session_;
  if (!database_.empty() && !arguments.contains("database") && t->input_schema["properties"].contains("database"))
    arguments["database"] = database_;
  auto token = app_.new_call_token();
  const tools::ToolResult result = app_.call_tool(tool, arguments, *token);
  if (result.is_error) failed_ = true;
  out_ << (result.is_error ? "error: " : "") << result.markdown << "\n" << std::flush;
}

void Chat::help() { out_ << kHelp; }

bool Chat::handle(const std::string& raw) {
  const std::string input = trim(raw);
  if (input.empty()) return true;
  if (!is_command(input)) {
    const Call call = classify(input);
    if (call.arguments.contains("sql")) last_statement_ = call.arguments["sql"];
    out_ << "[" << call.tool << "]\n";
    run_tool(call.tool, call.arguments);
    return true;
  }
  // Plain variables, not a structured binding: clang 14 (the fuzz build) cannot capture those in lambdas.
  std::string command, rest;
  std::tie(command, rest) = split_command(input.substr(1));
  auto sql_or_help = [&](const char* usage) {
    if (rest.empty()) out_ << "usage: " << usage << "\n";
    return !rest.empty();
  };
  // SQL given to the command, else the chat's last statement.
  auto sql_or_last = [&](const char* usage) {
    if (rest.empty() && !last_statement_.empty()) {
      rest = last_statement_;
      out_ << "(the last statement: " << rest << ")\n";
    } else if (!rest.empty()) {
      last_statement_ = rest;
    }
    if (rest.empty()) out_ << "usage: " << usage << " (or paste a statement first)\n";
    return !rest.empty();
  };
  if (command == "quit" || command == "q" || command == "exit") return false;
  if (command == "help" || command == "?") {
    help();
  } else if (command == "tools") {
    for (const auto& t : app_.tools().tools()) out_ << "  " << t.name << ": " << t.title << "\n";
  } else if (command == "db") {
    if (rest.empty()) {
      out_ << "database: " << (database_.empty() ? "(the default)" : database_) << "; configured:";
      for (const auto& db : app_.settings().databases) out_ << " " << db.name;
      out_ << "\n";
    } else if (!app_.settings().find_database(rest)) {
      out_ << "No database named '" << rest << "' in the configuration; /db lists them.\n";
      failed_ = true;
    } else {
      database_ = rest;
      out_ << "Using database " << database_ << ".\n";
    }
  } else if (command == "explain" || command == "analyze") {
    if (sql_or_last("/explain SQL")) {
      Json args = {{"sql", rest}};
      if (command == "analyze") args["analyze"] = true;
      run_tool("explain_query", args);
    }
  } else if (command == "indexes") {
    if (sql_or_last("/indexes SQL; SQL; ...")) {
      Json queries = Json::array();
      try {
        for (const auto& statement : sql::split_statements(rest)) queries.push_back({{"sql", statement.text}});
      } catch (const Error& e) {
        out_ << "error: " << e.describe() << "\n";
        failed_ = true;
        return true;
      }
      run_tool("suggest_indexes", {{"queries", queries}});
    }
  } else if (command == "workload") {
    run_tool("suggest_indexes", Json::object());
  } else if (command == "nplusone") {
    if (sql_or_help("/nplusone PATH")) run_tool("detect_n_plus_one", {{"log_path", rest}});
  } else if (command == "bench") {
    if (sql_or_last("/bench SQL")) run_tool("benchmark_query", {{"sql", rest}});
  } else if (command == "pool" || command == "call") {
    std::string tool = "tune_pool", json = rest;
    if (command == "call") std::tie(tool, json) = split_command(rest);
    const Json args = json.empty() ? Json::object() : Json::parse(json, nullptr, false);
    if (args.is_discarded() || !args.is_object()) {
      out_ << "The arguments must be a JSON object, e.g. /pool {\"platform\": \"neon\"}\n";
      failed_ = true;
    } else {
      run_tool(tool, args);
    }
  } else if (command == "report") {
    run_tool("session_report", {{"session", session_}});
  } else if (command == "file" || command == "file!") {
    run_tool("create_perf_task", {{"session", session_}, {"dry_run", command == "file"}});
  } else if (command == "tasks") {
    run_tool("find_perf_tasks", rest.empty() ? Json::object() : Json{{"query", rest}});
  } else {
    out_ << "Unknown command /" << command << "; /help lists the commands.\n";
    failed_ = true;
  }
  return true;
}

int Chat::run(bool interactive, std::istream& in) {
  if (interactive) {
    out_ << "dbopt chat: session " << session_ << ". Paste SQL, a plan or a log path; /help for commands.\n";
    const char* home = std::getenv("HOME");
    const std::string history = home ? std::string(home) + "/.dbopt_history" : "";
    if (!history.empty()) read_history(history.c_str());
    std::string pending;
    bool go_on = true;
    while (go_on) {
      char* line = readline(pending.empty() ? "dbopt> " : "   ...> ");
      if (!line) break;  // Ctrl-D
      const std::string text = line;
      std::free(line);
      for (const std::string& input : complete_inputs(pending, text)) {
        add_history(input.c_str());
        if (!(go_on = handle(input))) break;
      }
    }
    if (!history.empty()) write_history(history.c_str());
    return 0;
  }
  // A pipe: the same grammar, no prompts; the exit code says whether every call succeeded.
  std::string pending, line;
  bool go_on = true;
  while (go_on && std::getline(in, line)) {
    for (const std::string& input : complete_inputs(pending, line)) {
      if (!(go_on = handle(input))) break;
    }
  }
  if (go_on && !trim(pending).empty()) handle(pending);
  return failed_ ? 1 : 0;
}

}  // namespace dbopt::server
