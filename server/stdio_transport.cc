#include "server/stdio_transport.h"

#include <condition_variable>
#include <mutex>

#include <spdlog/spdlog.h>

namespace dbopt::server {
namespace {

using Json = nlohmann::json;

class LineWriter {
 public:
  explicit LineWriter(std::ostream& out) : out_(out) {}
  void write(const Json& message) {
    // replace: a tool echoing invalid UTF-8 from a log must not kill the connection
    const std::string line = message.dump(-1, ' ', false, Json::error_handler_t::replace);
    std::lock_guard lock(mutex_);
    out_ << line << '\n';
    out_.flush();
  }

 private:
  std::ostream& out_;
  std::mutex mutex_;
};

// Counts open exchanges so shutdown can wait for answers still being written.
class Outstanding {
 public:
  void add() {
    std::lock_guard lock(mutex_);
    ++count_;
  }
  void done() {
    std::lock_guard lock(mutex_);
    if (--count_ == 0) idle_.notify_all();
  }
  void wait_idle() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return count_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable idle_;
  int count_ = 0;
};

class StdioExchange : public mcp::Exchange {
 public:
  StdioExchange(LineWriter& writer, Outstanding& outstanding) : writer_(writer), outstanding_(outstanding) {
    outstanding_.add();
  }
  void notify(const Json& notification) override { writer_.write(notification); }
  void respond(const Json& response) override {
    writer_.write(response);
    outstanding_.done();
  }
  void finish_without_response() override { outstanding_.done(); }

 private:
  LineWriter& writer_;
  Outstanding& outstanding_;
};

}  // namespace

void serve_stdio(App& app, std::istream& in, std::ostream& out) {
  LineWriter writer(out);
  Outstanding outstanding;
  auto session = std::make_shared<mcp::Session>("stdio");
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto exchange = std::make_shared<StdioExchange>(writer, outstanding);
    Json message = Json::parse(line, nullptr, false);
    if (message.is_discarded()) {
      exchange->respond(mcp::make_error(nullptr, mcp::rpc_error::parse_error,
                                        "Parse error: each line must be one complete JSON-RPC message."));
      continue;
    }
    app.mcp().handle(message, session, exchange);
  }
  spdlog::info("stdin closed: cancelling running tool calls");
  session->cancel_all();
  outstanding.wait_idle();
}

}  // namespace dbopt::server
