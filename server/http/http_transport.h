// The HTTP face of dbopt: MCP Streamable HTTP on /mcp, REST on /v1, /healthz.
//
// Security: binds 127.0.0.1 unless configured otherwise (a non-loopback bind
// requires a bearer token), rejects a foreign Origin or Host with 403 (DNS
// rebinding), checks the bearer token with 401, and caps request bodies with
// 413. Each connection is served on its own thread from a large pool, so
// keep-alive clients never starve each other; tool calls run on the App's
// worker pool. listen() blocks until stop() is called from another thread.
#pragma once

#include <memory>
#include <string>

#include "server/app.h"

namespace dbopt::server {

class HttpTransport {
 public:
  explicit HttpTransport(App& app);
  ~HttpTransport();

  // Binds host:port (port 0 picks a free one); throws dbopt::Error(unavailable) if it cannot.
  int bind(const std::string& host, int port);
  void listen();  // after bind(); blocks
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dbopt::server
