#include "server/stdio_transport.h"

#include <cctype>
#include <condition_variable>
#include <mutex>
#include <string_view>

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

// Reads one line of at most max_bytes into `line`. A longer line is read to
// its end without being kept, except its first and last kTail bytes (where
// the JSON-RPC id is), so one huge message cannot hold the server's memory.
enum class LineRead { line, too_long, end };
constexpr std::size_t kTail = 4096;

LineRead read_line(std::istream& in, std::string& line, std::size_t max_bytes, std::size_t& length) {
  line.clear();
  std::streambuf& buffer = *in.rdbuf();
  length = 0;
  for (int c; (c = buffer.sbumpc()) != '\n';) {
    if (c == std::char_traits<char>::eof()) {
      in.setstate(std::ios::eofbit);
      if (length == 0) return LineRead::end;
      break;
    }
    line.push_back(static_cast<char>(c));
    if (++length <= max_bytes || line.size() <= 3 * kTail) continue;
    line.erase(kTail, line.size() - 2 * kTail);
    if (line.capacity() > 16 * kTail) line.shrink_to_fit();
  }
  return length > max_bytes ? LineRead::too_long : LineRead::line;
}

// `"id": 7` or `"id": "abc"` at `at` (which points at `"id"`), as JSON; null otherwise.
Json id_value_at(std::string_view text, std::size_t at, std::size_t& end) {
  std::size_t i = at + 4;
  const auto blanks = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  blanks();
  if (i >= text.size() || text[i] != ':') return nullptr;
  ++i;
  blanks();
  const std::size_t value = i;
  if (i < text.size() && text[i] == '"') {
    const std::size_t close = text.find('"', i + 1);
    if (close == std::string_view::npos || close - i > 200 ||
        text.substr(i, close - i).find('\\') != std::string_view::npos)
      return nullptr;
    i = close + 1;
  } else {
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '-') && i - value < 19)
      ++i;
  }
  end = i;
  return i > value ? Json::parse(text.substr(value, i - value), nullptr, false) : Json(nullptr);
}

// The id of a message too long to parse, from where JSON-RPC clients put it:
// first ({"jsonrpc":"2.0","id":7,...}) or last (...,"id":7}); null otherwise.
Json id_of_unparsed(std::string_view kept) {
  const std::string_view tail = kept.substr(kept.size() > kTail ? kept.size() - kTail : 0);
  std::size_t end = 0;
  if (const auto at = tail.rfind("\"id\""); at != std::string_view::npos) {
    Json id = id_value_at(tail, at, end);
    const auto rest = tail.find_first_not_of(" \t\r", end);
    if (!id.is_null() && !id.is_discarded() && rest != std::string_view::npos && tail[rest] == '}' &&
        tail.find_first_not_of(" \t\r", rest + 1) == std::string_view::npos)
      return id;
  }
  std::string prefix;  // what precedes the first "id", blanks taken out
  const std::string_view head = kept.substr(0, kTail);
  const auto at = head.find("\"id\"");
  if (at == std::string_view::npos) return nullptr;
  for (char c : head.substr(0, at))
    if (!std::isspace(static_cast<unsigned char>(c))) prefix += c;
  if (prefix != "{" && prefix != "{\"jsonrpc\":\"2.0\",") return nullptr;
  Json id = id_value_at(head, at, end);
  return id.is_discarded() ? Json(nullptr) : id;
}

}  // namespace

void serve_stdio(App& app, std::istream& in, std::ostream& out) {
  LineWriter writer(out);
  Outstanding outstanding;
  auto session = std::make_shared<mcp::Session>("stdio");
  const auto& limits = app.settings().limits;
  std::string line;
  std::size_t too_long_bytes = 0;
  const auto max_bytes = static_cast<std::size_t>(limits.max_message_bytes);
  for (LineRead read; (read = read_line(in, line, max_bytes, too_long_bytes)) != LineRead::end;) {
    if (read == LineRead::too_long) {
      const Json id = id_of_unparsed(line);
      line.clear();
      line.shrink_to_fit();
      spdlog::warn("refused a {}-byte stdio message (limits.max_message_bytes)", too_long_bytes);
      writer.write(mcp::make_error(id, mcp::rpc_error::invalid_request,
                                   "Request too large: the message is " + std::to_string(too_long_bytes) +
                                       " bytes; the limit is " + std::to_string(limits.max_message_bytes) +
                                       " bytes (limits.max_message_bytes). Send less, or raise "
                                       "limits.max_message_bytes in the config file."));
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    mcp::ParsedJson parsed = mcp::parse_json_text(line, limits.max_json_depth);
    // A message refused for its depth is JSON: its id, when one can be seen,
    // lets the client match the error. Invalid JSON gets id null (JSON-RPC).
    const Json id = parsed.too_deep ? id_of_unparsed(line) : Json();
    if (line.capacity() > kTail * 16) std::string().swap(line);  // do not keep a big line's buffer while idle
    auto exchange = std::make_shared<StdioExchange>(writer, outstanding);
    if (!parsed.error.empty()) {
      exchange->respond(
          mcp::make_error(id, mcp::rpc_error::parse_error,
                          "Parse error: each line must be one complete JSON-RPC message; " + parsed.error + "."));
      continue;
    }
    app.mcp().handle(parsed.value, session, exchange);
  }
  // A closed stdin ends the session, not the calls already sent: a script
  // that pipes one request in and closes must still get its answer. Each
  // call is bounded by limits.tool_timeout_ms; SIGTERM stops sooner.
  spdlog::info("stdin closed: finishing the running tool calls, then exiting");
  outstanding.wait_idle();
}

}  // namespace dbopt::server
