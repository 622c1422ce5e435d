#include "server/http/http_transport.h"

#include <httplib.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "core/common/error.h"
#include "server/config_loader.h"

namespace dbopt::server {
namespace {

using Json = nlohmann::json;
namespace rpc = mcp::rpc_error;

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string random_session_id() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw Error(ErrorCode::internal, "no randomness for a session id");
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += hex[b >> 4];
    id += hex[b & 15];
  }
  return id;
}

// Host part of "host:port", "[::1]:port" or "host".
std::string host_of(const std::string& authority) {
  if (!authority.empty() && authority[0] == '[') return authority.substr(0, authority.find(']') + 1);
  return authority.substr(0, authority.find(':'));
}

// Collects one request's notifications and its answer for the HTTP thread.
class HttpExchange : public mcp::Exchange {
 public:
  struct Item {
    std::string json;
    bool final = false;
  };

  void notify(const Json& notification) override { push({dump(notification), false}); }
  void respond(const Json& response) override {
    error_code_ = response.is_object() && response.contains("error") ? response["error"].value("code", 0) : 0;
    push({dump(response), true});
  }
  void finish_without_response() override { push({"", true}); }

  // Waits up to `timeout` for the next item; nullopt on timeout.
  std::optional<Item> next(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!ready_.wait_for(lock, timeout, [this] { return !items_.empty(); })) return std::nullopt;
    Item item = std::move(items_.front());
    items_.pop_front();
    return item;
  }
  int error_code() const { return error_code_; }  // of the response, after the final item; 0 = success

 private:
  void push(Item item) {
    {
      std::lock_guard lock(mutex_);
      items_.push_back(std::move(item));
    }
    ready_.notify_one();
  }
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Item> items_;
  std::atomic<int> error_code_{0};
};

void send_json(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void send_rpc_error(httplib::Response& res, int status, int code, const std::string& message) {
  send_json(res, status, mcp::make_error(nullptr, code, message));
}

void send_not_found(httplib::Response& res) {
  send_json(res, 404,
            {{"error", "Not found. Endpoints: POST/DELETE /mcp, GET /v1/tools, POST /v1/tools/{name}, GET /healthz."}});
}

void send_body_too_large(httplib::Response& res) {
  send_rpc_error(res, 413, rpc::invalid_request,
                 "Payload Too Large: the body exceeds http.max_body_bytes; send less, or raise http.max_body_bytes "
                 "in the config file.");
}

int status_for_tool_error(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
      return 400;
    case ErrorCode::not_found:
      return 404;
    case ErrorCode::permission_denied:
      return 403;
    case ErrorCode::unavailable:
      return 503;
    case ErrorCode::deadline_exceeded:
      return 504;
    case ErrorCode::unimplemented:
      return 501;
    default:
      return 500;
  }
}

// "=?base64?...?=" encodes a non-ASCII Mcp-Name header (2026-07-28).
std::string decode_header_value(const std::string& value) {
  if (value.rfind("=?base64?", 0) != 0 || value.size() < 11 || value.substr(value.size() - 2) != "?=") return value;
  const std::string encoded = value.substr(9, value.size() - 11);
  std::string out(encoded.size(), '\0');
  const int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(encoded.data()), static_cast<int>(encoded.size()));
  if (n < 0) return value;
  out.resize(static_cast<size_t>(n) -
             std::count(encoded.end() - std::min<size_t>(2, encoded.size()), encoded.end(), '='));
  return out;
}

}  // namespace

struct HttpTransport::Impl {
  App& app;
  httplib::Server server;
  std::string bound_host;
  std::mutex sessions_mutex;
  std::unordered_map<std::string, std::shared_ptr<mcp::Session>> sessions;

  explicit Impl(App& a) : app(a) {}

  const HttpSettings& http() const { return app.settings().http; }

  // 403 for a foreign Origin or Host (DNS rebinding), 401 for a missing/wrong token.
  bool admit(const httplib::Request& req, httplib::Response& res) {
    const std::string host = lower(host_of(req.get_header_value("Host")));
    const bool loopback_bind = is_loopback_host(bound_host);
    if (loopback_bind && !host.empty() && !is_loopback_host(host)) {
      send_rpc_error(res, 403, rpc::invalid_request, "Forbidden: Host '" + host + "' is not this local server.");
      return false;
    }
    if (req.has_header("Origin")) {
      const std::string origin = req.get_header_value("Origin");
      bool allowed = false;
      for (const auto& o : http().allowed_origins) allowed = allowed || o == origin;
      const auto scheme_end = origin.find("://");
      if (!allowed && scheme_end != std::string::npos) {
        const std::string scheme = origin.substr(0, scheme_end);
        const std::string origin_host = lower(host_of(origin.substr(scheme_end + 3)));
        allowed = (scheme == "http" || scheme == "https") && is_loopback_host(origin_host);
      }
      if (!allowed) {
        send_rpc_error(
            res, 403, rpc::invalid_request,
            "Forbidden: Origin '" + origin + "' is not allowed. Add it to http.allowed_origins to allow it.");
        return false;
      }
    }
    const std::string& token = http().bearer_token;
    if (!token.empty()) {
      const std::string given = req.get_header_value("Authorization");
      const std::string expected = "Bearer " + token;
      const bool ok =
          given.size() == expected.size() && CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
      if (!ok) {
        res.set_header("WWW-Authenticate", "Bearer");
        send_rpc_error(res, 401, rpc::invalid_request,
                       given.empty() ? "Unauthorized: send 'Authorization: Bearer <token>' (DBOPT_HTTP_TOKEN)."
                                     : "Unauthorized: the bearer token is wrong.");
        return false;
      }
    }
    return true;
  }

  std::shared_ptr<mcp::Session> find_session(const std::string& id) {
    std::lock_guard lock(sessions_mutex);
    auto it = sessions.find(id);
    return it == sessions.end() ? nullptr : it->second;
  }

  std::shared_ptr<mcp::Session> new_session() {
    std::lock_guard lock(sessions_mutex);
    const auto idle_limit = std::chrono::seconds(http().session_idle_timeout_s);
    const auto now = std::chrono::steady_clock::now();
    for (auto it = sessions.begin(); it != sessions.end();)
      it = now - it->second->last_used() > idle_limit ? sessions.erase(it) : std::next(it);
    if (sessions.size() >= static_cast<size_t>(http().max_sessions)) return nullptr;
    auto session = std::make_shared<mcp::Session>(random_session_id());
    sessions[session->id()] = session;
    return session;
  }

  // Reads a POST body through httplib's content reader rather than letting
  // httplib buffer it: httplib 0.11 parses a form-typed body into parameters
  // and answers 413 above 8 KB (a compile-time constant), whatever
  // http.max_body_bytes says, and `curl -d` sends every body as a form. Here
  // only http.max_body_bytes limits a body, whatever its content type.
  // Returns false when the answer has been sent (413, unreadable, multipart).
  bool read_body(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                 std::string& body) {
    if (req.is_multipart_form_data()) {
      res.set_header("Connection", "close");  // the body stays unread
      send_rpc_error(res, 415, rpc::invalid_request,
                     "Unsupported Media Type: send the JSON as the body (Content-Type: application/json), not as "
                     "multipart/form-data.");
      return false;
    }
    if (const auto length = req.get_header_value<std::uint64_t>("Content-Length");
        length > 0 && length <= static_cast<std::uint64_t>(http().max_body_bytes))
      body.reserve(length);
    const bool read = reader([&](const char* data, size_t size) {
      body.append(data, size);
      return true;
    });
    if (read) return true;
    if (res.status == 413) {
      send_body_too_large(res);
    } else {
      res.set_header("Connection", "close");
      send_rpc_error(res, 400, rpc::invalid_request, "Bad Request: the body could not be read (cut short?).");
    }
    return false;
  }

  // Reads the body and hands it to `handle`. After a large body glibc would
  // keep the freed buffers (the body, its DOM) in its heaps: give them back.
  void with_body(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                 void (Impl::*handle)(const httplib::Request&, const std::string&, httplib::Response&)) {
    constexpr std::size_t kLargeBody = 256 * 1024;
    std::size_t size = 0;
    {
      std::string body;
      if (read_body(req, res, reader, body)) (this->*handle)(req, body, res);
      size = body.size();
    }
    if (size >= kLargeBody) malloc_trim(0);
  }

  void post_mcp(const httplib::Request& req, const std::string& body, httplib::Response& res) {
    if (!admit(req, res)) return;
    const std::string accept = req.get_header_value("Accept");
    const bool accepts_sse =
        accept.find("text/event-stream") != std::string::npos || accept.find("*/*") != std::string::npos;
    const bool accepts_json =
        accept.find("application/json") != std::string::npos || accept.find("*/*") != std::string::npos;
    if (!accepts_sse || !accepts_json)
      return send_rpc_error(res, 406, rpc::invalid_request,
                            "Not Acceptable: the client must accept both application/json and text/event-stream.");
    if (req.get_header_value("Content-Type").find("application/json") == std::string::npos)
      return send_rpc_error(res, 415, rpc::invalid_request,
                            "Unsupported Media Type: send Content-Type: application/json.");
    mcp::ParsedJson parsed = mcp::parse_json_text(body, app.settings().limits.max_json_depth);
    if (!parsed.error.empty())
      return send_rpc_error(res, 400, rpc::parse_error, "Parse error: the body is not valid JSON: " + parsed.error);
    const Json message = std::move(parsed.value);

    const std::string header_version = req.get_header_value("MCP-Protocol-Version");
    std::shared_ptr<mcp::Session> session;
    bool stateless = false;
    if (auto version = mcp::McpServer::stateless_version_of(message)) {
      stateless = true;
      if (!check_stateless_headers(req, res, message, *version)) return;
      session = std::make_shared<mcp::Session>();
    } else if (message.is_object() && message.value("method", "") == "initialize") {
      session = new_session();
      if (!session)
        return send_rpc_error(res, 503, rpc::server_busy, "Too many open sessions; close one with DELETE /mcp.");
    } else {
      const std::string id = req.get_header_value("Mcp-Session-Id");
      if (id.empty())
        return send_rpc_error(res, 400, rpc::invalid_request,
                              "Bad Request: the Mcp-Session-Id header is required after initialize.");
      session = find_session(id);
      if (!session) return send_rpc_error(res, 404, rpc::session_not_found, "Session not found: initialize again.");
      if (!header_version.empty() && !mcp::is_session_version(header_version))
        return send_rpc_error(res, 400, rpc::invalid_request,
                              "Bad Request: unsupported MCP-Protocol-Version '" + header_version + "'.");
    }

    auto exchange = std::make_shared<HttpExchange>();
    const bool is_request =
        message.is_array() || (message.is_object() && message.contains("method") && message.contains("id"));
    const bool streams = is_request && message.is_object() && message.value("method", "") == "tools/call";
    app.mcp().handle(message, session, exchange);
    if (!is_request && message.is_object() && !message.contains("id") && message.contains("method")) {
      res.status = 202;  // a notification
      return;
    }
    if (streams) return stream_answer(exchange, res);

    // Everything but tools/call is answered on this thread: wait for it.
    std::optional<HttpExchange::Item> item;
    while (!(item = exchange->next(std::chrono::milliseconds(1000))) || !item->final) {
    }
    if (item->json.empty()) {
      res.status = 202;  // client responses and all-notification batches have no answer
      return;
    }
    if (message.is_object() && message.value("method", "") == "initialize") {
      if (exchange->error_code() == 0) {
        res.set_header("Mcp-Session-Id", session->id());
      } else {
        std::lock_guard lock(sessions_mutex);
        sessions.erase(session->id());
      }
    }
    res.status = status_for(exchange->error_code(), stateless);
    res.set_content(item->json, "application/json");
  }

  static int status_for(int code, bool stateless) {
    if (code == rpc::parse_error || code == rpc::invalid_request) return 400;
    if (stateless && (code == rpc::unsupported_protocol_version || code == rpc::header_mismatch)) return 400;
    if (stateless && code == rpc::method_not_found) return 404;
    return 200;
  }

  // 2026-07-28: the MCP-Protocol-Version, Mcp-Method and Mcp-Name headers must mirror the body.
  bool check_stateless_headers(const httplib::Request& req, httplib::Response& res, const Json& message,
                               const std::string& version) {
    auto mismatch = [&](const std::string& why) {
      send_json(res, 400,
                mcp::make_error(message.value("id", Json()), rpc::header_mismatch, "Header mismatch: " + why));
      return false;
    };
    if (!mcp::is_supported_version(version)) {
      send_json(res, 400,
                mcp::make_error(message.value("id", Json()), rpc::unsupported_protocol_version,
                                "Unsupported protocol version '" + version + "'.",
                                Json{{"requested", version}, {"supported", mcp::supported_versions()}}));
      return false;
    }
    const std::string header_version = req.get_header_value("MCP-Protocol-Version");
    if (header_version != version)
      return mismatch(header_version.empty()
                          ? "the MCP-Protocol-Version header is required"
                          : "MCP-Protocol-Version '" + header_version + "' does not match _meta '" + version + "'");
    const std::string method = message.value("method", "");
    const std::string header_method = req.get_header_value("Mcp-Method");
    if (header_method != method)
      return mismatch(header_method.empty()
                          ? "the Mcp-Method header is required"
                          : "Mcp-Method '" + header_method + "' does not match body '" + method + "'");
    if (method == "tools/call" || method == "prompts/get" || method == "resources/read") {
      const Json params = message.value("params", Json::object());
      const std::string body_name = params.value(method == "resources/read" ? "uri" : "name", "");
      const std::string header_name = decode_header_value(req.get_header_value("Mcp-Name"));
      if (header_name != body_name)
        return mismatch(header_name.empty() ? "the Mcp-Name header is required for " + method
                                            : "Mcp-Name '" + header_name + "' does not match body '" + body_name + "'");
    }
    return true;
  }

  // tools/call answers as an SSE stream: progress and log notifications as
  // they come, then the result. Keep-alive comments every second notice a
  // client that went away, which cancels its call.
  void stream_answer(const std::shared_ptr<HttpExchange>& exchange, httplib::Response& res) {
    // A short call finishes within moments: answer it as plain JSON, no stream needed.
    auto first = exchange->next(std::chrono::milliseconds(50));
    if (first && first->final) {
      if (first->json.empty())
        res.status = 202;
      else
        res.set_content(first->json, "application/json");
      return;
    }
    open_event_stream(exchange, std::move(first), res);
  }

  void open_event_stream(const std::shared_ptr<HttpExchange>& exchange, std::optional<HttpExchange::Item> first,
                         httplib::Response& res) {
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [exchange, first = std::move(first)](size_t, httplib::DataSink& sink) mutable {
          auto write_event = [&](const std::string& json) {
            const std::string event = "event: message\ndata: " + json + "\n\n";
            return sink.write(event.data(), event.size());
          };
          if (first) {
            if (!write_event(first->json)) return exchange->abandon(), false;
            first.reset();
          }
          for (;;) {
            auto item = exchange->next(std::chrono::milliseconds(1000));
            if (!item) {
              static const std::string keep_alive = ": keep-alive\n\n";
              if (!sink.is_writable() || !sink.write(keep_alive.data(), keep_alive.size())) {
                exchange->abandon();
                return false;
              }
              continue;
            }
            if (!item->json.empty() && !write_event(item->json)) {
              exchange->abandon();
              return false;
            }
            if (item->final) {
              sink.done();
              return true;
            }
          }
        },
        [exchange](bool success) {
          if (!success) exchange->abandon();
        });
  }

  void delete_mcp(const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res)) return;
    const std::string id = req.get_header_value("Mcp-Session-Id");
    if (id.empty())
      return send_rpc_error(res, 400, rpc::invalid_request, "Bad Request: Mcp-Session-Id header is required.");
    std::shared_ptr<mcp::Session> session;
    {
      std::lock_guard lock(sessions_mutex);
      auto it = sessions.find(id);
      if (it != sessions.end()) {
        session = it->second;
        sessions.erase(it);
      }
    }
    if (!session) return send_rpc_error(res, 404, rpc::session_not_found, "Session not found.");
    session->cancel_all();
    res.status = 200;
  }

  void get_tools(const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res)) return;
    Json list = Json::array();
    for (const auto& t : app.tools().tools()) {
      Json d = tools::tool_descriptor(t);
      d["implemented"] = t.implemented;
      list.push_back(std::move(d));
    }
    send_json(res, 200, {{"tools", list}});
  }

  // Any content type but multipart: the body is the arguments' JSON.
  void post_tool(const httplib::Request& req, const std::string& body, httplib::Response& res) {
    if (!admit(req, res)) return;
    const std::string name = req.matches[1];
    if (!app.tools().find(name))
      return send_json(res, 404, {{"error", "Unknown tool '" + name + "'. GET /v1/tools lists the tools."}});
    Json arguments = Json::object();
    if (body.find_first_not_of(" \t\r\n") != std::string::npos) {
      mcp::ParsedJson parsed = mcp::parse_json_text(body, app.settings().limits.max_json_depth);
      if (!parsed.error.empty())
        return send_json(res, 400,
                         {{"error", "The body is not valid JSON (" + parsed.error +
                                        "): send the tool's arguments as a JSON object."}});
      arguments = std::move(parsed.value);
    }
    auto token = app.new_call_token();
    try {
      tools::ToolResult result = app.call_tool(name, arguments, *token);
      if (result.is_error)
        return send_json(res, status_for_tool_error(result.error_code),
                         {{"error", result.markdown}, {"code", to_string(result.error_code)}});
      if (req.get_param_value("format") == "markdown") {
        res.set_content(result.markdown, "text/markdown; charset=utf-8");
        return;
      }
      send_json(res, 200, result.structured);
    } catch (const Error& e) {
      send_json(res, status_for_tool_error(e.code()), {{"error", e.describe()}, {"code", to_string(e.code())}});
    }
  }
};

HttpTransport::HttpTransport(App& app) : impl_(std::make_unique<Impl>(app)) {
  auto& s = impl_->server;
  Impl* impl = impl_.get();
  // One thread per keep-alive connection: httplib serves a connection on one
  // thread for its lifetime; connections beyond the pool wait in its queue.
  const auto threads = static_cast<std::size_t>(app.settings().http.max_connections);
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_payload_max_length(static_cast<size_t>(app.settings().http.max_body_bytes));
  s.set_keep_alive_max_count(100000);
  // Short, so a stop (SIGTERM) is not held up for long by idle keep-alive clients.
  s.set_keep_alive_timeout(2);
  // Without it Nagle holds each response body until the client ACKs the headers (~40 ms).
  s.set_tcp_nodelay(true);
  s.set_read_timeout(30, 0);
  // cpp-httplib 0.11 enforces max_body_bytes only on Content-Length bodies and
  // would buffer a chunked body of any size: refuse chunked bodies before they are read.
  s.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "POST" && req.has_header("Transfer-Encoding") && !req.has_header("Content-Length")) {
      res.set_header("Connection", "close");
      send_rpc_error(res, 411, rpc::invalid_request,
                     "Length Required: send the body with a Content-Length header (chunked bodies are not accepted).");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.Post("/mcp", [impl](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    impl->with_body(req, res, reader, &Impl::post_mcp);
  });
  s.Delete("/mcp", [impl](const httplib::Request& req, httplib::Response& res) { impl->delete_mcp(req, res); });
  s.Get("/mcp", [impl](const httplib::Request& req, httplib::Response& res) {
    if (!impl->admit(req, res)) return;
    res.set_header("Allow", "POST, DELETE");
    send_rpc_error(res, 405, rpc::invalid_request, "Method Not Allowed: dbopt sends no server-initiated messages.");
  });
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { send_json(res, 200, {{"status", "ok"}}); });
  s.Get("/v1/tools", [impl](const httplib::Request& req, httplib::Response& res) { impl->get_tools(req, res); });
  s.Post(R"(/v1/tools/([A-Za-z0-9_.\-]+))",
         [impl](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
           impl->with_body(req, res, reader, &Impl::post_tool);
         });
  // Any other path with a body: read it through the content reader as well,
  // so an unknown path answers 404, not httplib's own 413 for a form-typed
  // body over 8 KB (which would blame http.max_body_bytes falsely).
  const auto unknown_path = [](const httplib::Request&, httplib::Response& res, const httplib::ContentReader& reader) {
    if (reader([](const char*, size_t) { return true; })) {
      send_not_found(res);
    } else if (res.status == 413) {
      send_body_too_large(res);
    } else {
      res.set_header("Connection", "close");
      send_json(res, 400, {{"error", "Bad Request: the body could not be read (cut short?)."}});
    }
  };
  s.Post(".*", unknown_path);
  s.Put(".*", unknown_path);
  s.Patch(".*", unknown_path);  // not DELETE: httplib would try it before DELETE /mcp, which reads no body
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413)
      send_body_too_large(res);
    else if (res.status == 404)
      send_not_found(res);
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    }
    spdlog::error("HTTP handler failed: {}", what);
    send_rpc_error(res, 500, rpc::internal_error, "Internal error: " + what);
  });
}

HttpTransport::~HttpTransport() { stop(); }

int HttpTransport::bind(const std::string& host, int port) {
  impl_->bound_host = host;
  int bound = port;
  if (port == 0)
    bound = impl_->server.bind_to_any_port(host);
  else if (!impl_->server.bind_to_port(host, port))
    bound = -1;
  if (bound <= 0)
    throw Error(ErrorCode::unavailable, "Cannot listen on " + host + ":" + std::to_string(port) + ".",
                "Pick a free port with --http HOST:PORT, or stop what is using it.");
  return bound;
}

void HttpTransport::listen() { impl_->server.listen_after_bind(); }

void HttpTransport::stop() {
  if (impl_->server.is_running()) impl_->server.stop();
}

}  // namespace dbopt::server
