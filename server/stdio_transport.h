// The stdio transport: one JSON-RPC message per line on stdin/stdout.
//
// Nothing but MCP goes to stdout (logs go to stderr). Lines are read on the
// calling thread; tool calls finish on workers and write their answers under
// a lock, so a long call never blocks a ping or a cancellation. Returns when
// stdin closes, after cancelling what is still running.
#pragma once

#include <istream>
#include <ostream>

#include "server/app.h"

namespace dbopt::server {

void serve_stdio(App& app, std::istream& in, std::ostream& out);

}  // namespace dbopt::server
