// `dbopt chat`: the optimization workflow in a terminal, on the same engine
// (App::call_tool) as MCP and REST, for people without an MCP client.
//
// Paste SQL (ends at a line ending in ';', an empty line or the next slash command), an EXPLAIN plan,
// or the path of a query log, and it runs the right tool; slash commands run
// each tool, show the session report and file the task. Every call joins one
// optimization session, so /report holds what this chat measured. On a
// terminal it edits lines and keeps history (libedit); on a pipe it reads
// stdin without prompts, so scripts and tests drive it.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "server/app.h"

namespace dbopt::server {

class Chat {
 public:
  Chat(App& app, std::ostream& out);

  // What a pasted input is, and the tool call it becomes (tool "" = nothing to run).
  struct Call {
    std::string tool;
    tools::Json arguments;
  };
  Call classify(const std::string& input) const;

  // Handles one complete input (a command or a paste); false after /quit.
  bool handle(const std::string& input);

  // The loop: libedit on the terminal when interactive, else lines from `in`
  // without prompts. Returns the exit code (1 when a call failed on a pipe).
  int run(bool interactive, std::istream& in);

  const std::string& session() const { return session_; }

 private:
  void run_tool(const std::string& tool, tools::Json arguments);
  void help();

  App& app_;
  std::ostream& out_;
  std::string session_;
  std::string database_;        // "" = the default database
  std::string last_statement_;  // the last SQL the chat ran: /indexes and /bench without SQL use it
  bool failed_ = false;         // a tool answered isError (the exit code of a scripted chat)
};

}  // namespace dbopt::server
