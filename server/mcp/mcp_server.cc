#include "server/mcp/mcp_server.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>

#include <spdlog/spdlog.h>

#include "core/common/error.h"

namespace dbopt::mcp {
namespace {

const std::array<const char*, 8> kLogLevels = {"debug", "info",     "notice", "warning",
                                               "error", "critical", "alert",  "emergency"};

int log_level_index(const Json& level) {
  if (!level.is_string()) return -1;
  for (size_t i = 0; i < kLogLevels.size(); ++i)
    if (level == kLogLevels[i]) return static_cast<int>(i);
  return -1;
}

bool valid_id(const Json& id) { return id.is_string() || id.is_number_integer() || id.is_number_unsigned(); }

std::string cursor_for(size_t offset) { return "page-" + std::to_string(offset); }

size_t offset_from(const Json& params) {
  if (!params.contains("cursor") || params["cursor"].is_null()) return 0;
  const Json& cursor = params["cursor"];
  if (cursor.is_string()) {
    const std::string& text = cursor.get_ref<const std::string&>();
    if (text.rfind("page-", 0) == 0 && text.size() > 5 &&
        std::all_of(text.begin() + 5, text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      return std::stoul(text.substr(5));
  }
  throw RpcError{rpc_error::invalid_params, "Invalid cursor: use the nextCursor of the previous page, or none."};
}

// Fills result[key] with one page of items and sets nextCursor when more remain.
void paginate(Json& result, const char* key, const std::vector<Json>& items, const Json& params, int page_size) {
  const size_t offset = offset_from(params);
  if (offset > items.size())
    throw RpcError{rpc_error::invalid_params, "Invalid cursor: it points past the end of the list."};
  const size_t end = std::min(items.size(), offset + static_cast<size_t>(std::max(1, page_size)));
  result[key] = Json::array();
  for (size_t i = offset; i < end; ++i) result[key].push_back(items[i]);
  if (end < items.size()) result["nextCursor"] = cursor_for(end);
}

const Json& object_or_empty(const Json& params, const char* key) {
  static const Json empty = Json::object();
  auto it = params.find(key);
  return it != params.end() && it->is_object() ? *it : empty;
}

// Joins the answers to the requests of one 2025-03-26 batch into one array.
class BatchExchange : public Exchange {
 public:
  BatchExchange(std::shared_ptr<Exchange> outer, size_t messages) : outer_(std::move(outer)), pending_(messages) {}
  void notify(const Json& notification) override { outer_->notify(notification); }
  void respond(const Json& response) override { complete(&response); }
  void finish_without_response() override { complete(nullptr); }

 private:
  void complete(const Json* response) {
    std::lock_guard lock(mutex_);
    if (response) responses_.push_back(*response);
    if (--pending_ > 0) return;
    if (responses_.empty())
      outer_->finish_without_response();
    else
      outer_->respond(responses_);
  }
  std::shared_ptr<Exchange> outer_;
  std::mutex mutex_;
  size_t pending_;
  Json responses_ = Json::array();
};

}  // namespace

const std::vector<std::string>& supported_versions() {
  static const std::vector<std::string> versions = {"2025-03-26", "2025-06-18", "2025-11-25", kStatelessVersion};
  return versions;
}

bool is_session_version(const std::string& version) {
  return version != kStatelessVersion && is_supported_version(version);
}

bool is_supported_version(const std::string& version) {
  const auto& all = supported_versions();
  return std::find(all.begin(), all.end(), version) != all.end();
}

struct McpServer::Call {
  Json id;
  std::string method;
  Json params;
  Json meta;
  std::shared_ptr<Session> session;
  std::shared_ptr<Exchange> exchange;
  std::string version;
  bool stateless = false;
  int log_level = -1;
  bool deferred = false;  // answered later by a worker (tools/call)
};

McpServer::McpServer(ServerInfo info, const Settings& settings, const tools::ToolRegistry& tools,
                     const server::PromptLibrary& prompts, const server::ResourceCatalog& resources,
                     server::WorkerPool& workers, pg::DatabasePool* databases, const knowledge::RuleBook* rules,
                     tools::SessionStore* sessions)
    : info_(std::move(info)),
      settings_(settings),
      tools_(tools),
      prompts_(prompts),
      resources_(resources),
      workers_(workers),
      databases_(databases),
      rules_(rules),
      sessions_(sessions) {
  for (const auto& tool : tools_.tools()) tool_descriptors_.push_back(tools::tool_descriptor(tool));
}

std::optional<std::string> McpServer::stateless_version_of(const Json& message) {
  if (!message.is_object()) return std::nullopt;
  auto params = message.find("params");
  if (params == message.end() || !params->is_object()) return std::nullopt;
  auto meta = params->find("_meta");
  if (meta == params->end() || !meta->is_object()) return std::nullopt;
  auto version = meta->find(kMetaProtocolVersion);
  if (version == meta->end() || !version->is_string()) return std::nullopt;
  return version->get<std::string>();
}

void McpServer::handle(const Json& message, const std::shared_ptr<Session>& session,
                       const std::shared_ptr<Exchange>& exchange) {
  if (message.is_array()) return handle_batch(message, session, exchange);
  handle_single(message, session, exchange);
}

void McpServer::handle_batch(const Json& batch, const std::shared_ptr<Session>& session,
                             const std::shared_ptr<Exchange>& exchange) {
  const std::string version = session->protocol_version();
  if (version != "2025-03-26") {
    const std::string which = version.empty() ? "before initialize" : "in protocol version " + version;
    return exchange->respond(
        make_error(nullptr, rpc_error::invalid_request,
                   "Batch arrays are not accepted " + which +
                       " (JSON-RPC batching was removed in 2025-06-18): send one message at a time."));
  }
  if (batch.empty())
    return exchange->respond(make_error(nullptr, rpc_error::invalid_request, "An empty batch is not a valid request."));
  auto collector = std::make_shared<BatchExchange>(exchange, batch.size());
  for (const auto& message : batch) handle_single(message, session, collector);
}

void McpServer::handle_single(const Json& message, const std::shared_ptr<Session>& session,
                              const std::shared_ptr<Exchange>& exchange) {
  session->touch();
  if (!message.is_object())
    return exchange->respond(make_error(nullptr, rpc_error::invalid_request, "A JSON-RPC message must be an object."));
  const Json id = message.contains("id") ? message["id"] : Json();
  const bool has_id = message.contains("id");
  if (message.value("jsonrpc", Json()) != "2.0")
    return exchange->respond(make_error(has_id && valid_id(id) ? id : Json(), rpc_error::invalid_request,
                                        "The message must have \"jsonrpc\": \"2.0\"."));
  if (!message.contains("method")) {
    // A client's response to a server request: dbopt sends none, so there is nothing to match.
    if (has_id && (message.contains("result") || message.contains("error"))) return exchange->finish_without_response();
    return exchange->respond(
        make_error(has_id && valid_id(id) ? id : Json(), rpc_error::invalid_request, "The message has no \"method\"."));
  }
  if (!message["method"].is_string())
    return exchange->respond(
        make_error(has_id && valid_id(id) ? id : Json(), rpc_error::invalid_request, "\"method\" must be a string."));
  const std::string method = message["method"];
  const Json params = message.contains("params") ? message["params"] : Json::object();

  if (!has_id) {  // a notification: never answered
    if (params.is_object()) handle_notification(method, params, *session);
    return exchange->finish_without_response();
  }
  if (!valid_id(id))
    return exchange->respond(
        make_error(nullptr, rpc_error::invalid_request, "A request \"id\" must be a string or an integer."));
  if (!params.is_object())
    return exchange->respond(make_error(id, rpc_error::invalid_params, "\"params\" must be an object."));

  Call call{.id = id,
            .method = method,
            .params = params,
            .meta = object_or_empty(params, "_meta"),
            .session = session,
            .exchange = exchange};
  try {
    if (auto requested = stateless_version_of(message)) {
      if (*requested != kStatelessVersion)
        throw RpcError{rpc_error::unsupported_protocol_version, "Unsupported protocol version '" + *requested + "'.",
                       Json{{"requested", *requested}, {"supported", supported_versions()}}};
      call.version = kStatelessVersion;
      call.stateless = true;
      call.log_level = log_level_index(call.meta.value("io.modelcontextprotocol/logLevel", Json()));
    } else {
      const bool lifecycle = method == "initialize" || method == "ping" || method == "server/discover";
      if (!session->initialized() && !lifecycle)
        throw RpcError{rpc_error::invalid_request,
                       "Received '" + method +
                           "' before initialize: send initialize (and "
                           "notifications/initialized) first, or use protocol version 2026-07-28 with "
                           "_meta[\"io.modelcontextprotocol/protocolVersion\"] on every request."};
      call.version = session->initialized() ? session->protocol_version() : kLatestSessionVersion;
      call.log_level = session->log_level.load();
    }
    Json result = dispatch(call);
    if (!call.deferred) exchange->respond(make_result(id, std::move(result)));
  } catch (const RpcError& error) {
    exchange->respond(make_error(id, error));
  } catch (const std::exception& e) {
    spdlog::error("{} failed: {}", method, e.what());
    exchange->respond(make_error(id, rpc_error::internal_error, std::string("Internal error: ") + e.what()));
  }
}

void McpServer::handle_notification(const std::string& method, const Json& params, Session& session) {
  if (method == "notifications/cancelled") {
    auto id = params.find("requestId");
    if (id != params.end() && session.cancel_request(*id))
      spdlog::info("cancelled request {} ({})", id->dump(), params.value("reason", "no reason given"));
  }
  // notifications/initialized and any other notification need no action.
}

Json McpServer::dispatch(Call& call) {
  const std::string& m = call.method;
  if (m == "initialize") {
    if (call.stateless)
      throw RpcError{rpc_error::method_not_found, "initialize does not exist in protocol version 2026-07-28."};
    return initialize(call);
  }
  if (m == "ping") {
    if (call.stateless) throw RpcError{rpc_error::method_not_found, "ping was removed in protocol version 2026-07-28."};
    return Json::object();
  }
  if (m == "server/discover") return discover(call);
  if (m == "tools/list") return list_tools(call);
  if (m == "tools/call") {
    start_tool_call(call);
    return nullptr;
  }
  if (m == "prompts/list") return list_prompts(call);
  if (m == "prompts/get") return get_prompt(call);
  if (m == "resources/list") return list_resources(call);
  if (m == "resources/templates/list") return list_resource_templates(call);
  if (m == "resources/read") return read_resource(call);
  if (m == "completion/complete") return complete(call);
  if (m == "logging/setLevel") {
    if (call.stateless)
      throw RpcError{rpc_error::method_not_found,
                     "logging/setLevel was removed in 2026-07-28: set _meta[\"io.modelcontextprotocol/logLevel\"] "
                     "on the request instead."};
    return set_log_level(call);
  }
  throw RpcError{rpc_error::method_not_found, "Method not found: " + m};
}

Json McpServer::capabilities() const {
  return Json{{"tools", {{"listChanged", false}}},
              {"prompts", {{"listChanged", false}}},
              {"resources", {{"subscribe", false}, {"listChanged", false}}},
              {"logging", Json::object()},
              {"completions", Json::object()}};
}

void McpServer::finish_result(Call& call, Json& result, bool cacheable, const char* cache_scope) const {
  if (!call.stateless) return;
  result["resultType"] = "complete";
  result["_meta"]["io.modelcontextprotocol/serverInfo"] = {{"name", info_.name}, {"version", info_.version}};
  if (cacheable) {
    result["ttlMs"] = 300000;  // lists change only with a new server build or config
    result["cacheScope"] = cache_scope;
  }
}

Json McpServer::initialize(Call& call) {
  auto requested = call.params.find("protocolVersion");
  if (requested == call.params.end() || !requested->is_string())
    throw RpcError{rpc_error::invalid_params, "initialize needs params.protocolVersion (a string such as \"" +
                                                  std::string(kLatestSessionVersion) + "\")."};
  if (call.session->initialized())
    throw RpcError{rpc_error::invalid_request, "This session is already initialized; start a new session instead."};
  const std::string version = is_session_version(*requested) ? requested->get<std::string>() : kLatestSessionVersion;
  call.session->set_protocol_version(version);
  spdlog::info("session {} initialized: protocol {} (client asked {}), client {}", call.session->id(), version,
               requested->get<std::string>(), call.params.value("clientInfo", Json::object()).value("name", "?"));
  Json result = {{"protocolVersion", version},
                 {"capabilities", capabilities()},
                 {"serverInfo", {{"name", info_.name}, {"title", info_.title}, {"version", info_.version}}}};
  if (!info_.instructions.empty()) result["instructions"] = info_.instructions;
  return result;
}

Json McpServer::discover(Call& call) {
  Json result = {{"supportedVersions", supported_versions()}, {"capabilities", capabilities()}};
  if (!info_.instructions.empty()) result["instructions"] = info_.instructions;
  result["_meta"]["io.modelcontextprotocol/serverInfo"] = {{"name", info_.name}, {"version", info_.version}};
  call.stateless = true;  // discover always answers in the 2026-07-28 shape
  finish_result(call, result, true, "public");
  return result;
}

Json McpServer::list_tools(Call& call) {
  Json result = Json::object();
  paginate(result, "tools", tool_descriptors_, call.params, settings_.limits.page_size);
  finish_result(call, result, true, "public");
  return result;
}

void McpServer::start_tool_call(Call& call) {
  auto name = call.params.find("name");
  if (name == call.params.end() || !name->is_string())
    throw RpcError{rpc_error::invalid_params, "tools/call needs params.name (the tool's name)."};
  if (!tools_.find(*name)) {
    std::string known;
    for (const auto& t : tools_.tools()) known += (known.empty() ? "" : ", ") + t.name;
    throw RpcError{rpc_error::invalid_params, "Unknown tool: " + name->get<std::string>() + ". Known tools: " + known};
  }
  auto token = std::make_shared<CancellationToken>(CancellationToken::Clock::now() +
                                                   std::chrono::milliseconds(settings_.limits.tool_timeout_ms));
  call.session->register_request(call.id, token);
  call.exchange->attach_cancellation(token);

  struct Job {
    std::string tool;
    Json arguments;
    Json id;
    Json progress_token;
    int log_level;
    Call call_shape;  // session, exchange, version, stateless
  };
  auto job = std::make_shared<Job>(Job{name->get<std::string>(), call.params.value("arguments", Json::object()),
                                       call.id, call.meta.value("progressToken", Json()), call.log_level, call});
  const bool queued = workers_.submit([this, job, token] {
    Call& c = job->call_shape;
    tools::ToolContext context{
        .settings = settings_, .cancel = *token, .databases = databases_, .rules = rules_, .sessions = sessions_};
    double last_progress = -1e300;
    if (!job->progress_token.is_null())
      context.progress = [&](double progress, std::optional<double> total, const std::string& message) {
        if (progress <= last_progress) return;  // the spec requires increasing progress
        last_progress = progress;
        Json params = {{"progressToken", job->progress_token}, {"progress", progress}};
        if (total) params["total"] = *total;
        if (!message.empty()) params["message"] = message;
        c.exchange->notify(make_notification("notifications/progress", std::move(params)));
      };
    context.log = [&](tools::LogLevel level, const std::string& message) {
      tools::write_server_log(job->tool, level, message);
      if (job->log_level >= 0 && static_cast<int>(level) >= job->log_level)
        c.exchange->notify(make_notification(
            "notifications/message",
            {{"level", kLogLevels[static_cast<size_t>(level)]}, {"logger", job->tool}, {"data", message}}));
    };
    try {
      tools::ToolResult r = tools_.call(job->tool, job->arguments, context);
      Json result = {{"content", Json::array({{{"type", "text"}, {"text", r.markdown}}})}, {"isError", r.is_error}};
      if (!r.is_error && !r.structured.is_null()) result["structuredContent"] = std::move(r.structured);
      finish_result(c, result, false, "private");
      c.exchange->respond(make_result(job->id, std::move(result)));
    } catch (const Error& e) {
      if (e.code() == ErrorCode::cancelled)
        c.exchange->finish_without_response();  // cancelled: no answer
      else
        c.exchange->respond(make_error(job->id, rpc_error::internal_error, e.describe()));
    } catch (const std::exception& e) {
      c.exchange->respond(make_error(job->id, rpc_error::internal_error, std::string("Internal error: ") + e.what()));
    }
    c.session->finish_request(job->id);
  });
  if (!queued) {
    call.session->finish_request(call.id);
    throw RpcError{rpc_error::server_busy, "Server busy: too many tool calls are waiting. Retry in a moment."};
  }
  call.deferred = true;
}

Json McpServer::list_prompts(Call& call) {
  std::vector<Json> items;
  for (const auto& p : prompts_.prompts()) {
    Json args = Json::array();
    for (const auto& a : p.arguments)
      args.push_back({{"name", a.name}, {"description", a.description}, {"required", a.required}});
    items.push_back({{"name", p.name}, {"title", p.title}, {"description", p.description}, {"arguments", args}});
  }
  Json result = Json::object();
  paginate(result, "prompts", items, call.params, settings_.limits.page_size);
  finish_result(call, result, true, "public");
  return result;
}

Json McpServer::get_prompt(Call& call) {
  auto name = call.params.find("name");
  if (name == call.params.end() || !name->is_string())
    throw RpcError{rpc_error::invalid_params, "prompts/get needs params.name."};
  const server::Prompt* prompt = prompts_.find(*name);
  if (!prompt) throw RpcError{rpc_error::invalid_params, "Unknown prompt: " + name->get<std::string>()};
  std::map<std::string, std::string> arguments;
  for (auto& [key, value] : object_or_empty(call.params, "arguments").items())
    arguments[key] = value.is_string() ? value.get<std::string>() : value.dump();
  std::string text;
  try {
    text = server::PromptLibrary::render(*prompt, arguments);
  } catch (const std::invalid_argument& e) {
    throw RpcError{rpc_error::invalid_params, std::string("Missing required argument: ") + e.what()};
  }
  Json result = {{"description", prompt->description},
                 {"messages", Json::array({{{"role", "user"}, {"content", {{"type", "text"}, {"text", text}}}}})}};
  finish_result(call, result, false, "public");
  return result;
}

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// completion/complete's answer: values starting with what was typed first,
// then values containing it, each group in its given order; at most 100.
Json completion_result(const std::vector<std::string>& candidates, const std::string& typed) {
  const std::string needle = lower(typed);
  std::vector<std::string> starts, contains;
  for (const auto& c : candidates) {
    const std::string l = lower(c);
    if (l.starts_with(needle))
      starts.push_back(c);
    else if (l.find(needle) != std::string::npos)
      contains.push_back(c);
  }
  starts.insert(starts.end(), contains.begin(), contains.end());
  constexpr std::size_t kMaxValues = 100;  // the spec's limit per response
  const std::size_t total = starts.size();
  if (starts.size() > kMaxValues) starts.resize(kMaxValues);
  return {{"completion", {{"values", starts}, {"total", total}, {"hasMore", total > kMaxValues}}}};
}

}  // namespace

Json McpServer::complete(Call& call) {
  const Json& ref = object_or_empty(call.params, "ref");
  const Json& argument = object_or_empty(call.params, "argument");
  if (!argument.contains("name") || !argument["name"].is_string())
    throw RpcError{rpc_error::invalid_params, "completion/complete needs params.argument.name (a string)."};
  const std::string name = argument["name"];
  const std::string typed = argument.contains("value") && argument["value"].is_string() ? argument["value"] : "";
  const std::string type = ref.value("type", "");
  std::vector<std::string> candidates;
  if (type == "ref/prompt") {
    const server::Prompt* prompt = prompts_.find(ref.value("name", ""));
    if (!prompt) throw RpcError{rpc_error::invalid_params, "Unknown prompt: " + ref.value("name", "") + "."};
    const auto arg = std::find_if(prompt->arguments.begin(), prompt->arguments.end(),
                                  [&](const server::PromptArgument& a) { return a.name == name; });
    if (arg == prompt->arguments.end()) {
      std::string known;
      for (const auto& a : prompt->arguments) known += (known.empty() ? "" : ", ") + a.name;
      throw RpcError{rpc_error::invalid_params,
                     "Prompt " + prompt->name + " has no argument '" + name + "'; its arguments: " + known + "."};
    }
    candidates = arg->completions;
    if (arg->completes_databases)
      for (const auto& db : settings_.databases) candidates.push_back(db.name);
  } else if (type == "ref/resource") {
    const std::string uri = ref.value("uri", "");
    const auto& templates = resources_.templates();
    const auto t = std::find_if(templates.begin(), templates.end(),
                                [&](const server::ResourceTemplate& r) { return r.uri_template == uri; });
    if (t == templates.end())
      throw RpcError{rpc_error::invalid_params,
                     "Unknown resource template: " + uri + " (see resources/templates/list)."};
    if (uri.find("{" + name + "}") == std::string::npos)
      throw RpcError{rpc_error::invalid_params, "Resource template " + uri + " has no parameter '" + name + "'."};
    if (t->values) candidates = t->values();
  } else {
    throw RpcError{rpc_error::invalid_params,
                   "completion/complete needs params.ref.type \"ref/prompt\" or \"ref/resource\"."};
  }
  Json result = completion_result(candidates, typed);
  finish_result(call, result, false, "private");
  return result;
}

Json McpServer::list_resources(Call& call) {
  std::vector<Json> items;
  for (const auto& r : resources_.resources())
    items.push_back({{"uri", r.uri},
                     {"name", r.name},
                     {"title", r.title},
                     {"description", r.description},
                     {"mimeType", r.mime_type}});
  Json result = Json::object();
  paginate(result, "resources", items, call.params, settings_.limits.page_size);
  finish_result(call, result, true, "private");
  return result;
}

Json McpServer::list_resource_templates(Call& call) {
  std::vector<Json> items;
  for (const auto& t : resources_.templates())
    items.push_back({{"uriTemplate", t.uri_template},
                     {"name", t.name},
                     {"title", t.title},
                     {"description", t.description},
                     {"mimeType", t.mime_type}});
  Json result = Json::object();
  paginate(result, "resourceTemplates", items, call.params, settings_.limits.page_size);
  finish_result(call, result, true, "public");
  return result;
}

Json McpServer::read_resource(Call& call) {
  auto uri = call.params.find("uri");
  if (uri == call.params.end() || !uri->is_string())
    throw RpcError{rpc_error::invalid_params, "resources/read needs params.uri."};
  try {
    server::ResourceContent content = resources_.read(*uri);
    Json result = {
        {"contents", Json::array({{{"uri", content.uri}, {"mimeType", content.mime_type}, {"text", content.text}}})}};
    finish_result(call, result, true, "private");
    return result;
  } catch (const Error& e) {
    if (e.code() != ErrorCode::not_found) throw;
    throw RpcError{call.stateless ? rpc_error::invalid_params : rpc_error::resource_not_found, e.what(),
                   Json{{"uri", *uri}}};
  }
}

Json McpServer::set_log_level(Call& call) {
  const int level = log_level_index(call.params.value("level", Json()));
  if (level < 0)
    throw RpcError{rpc_error::invalid_params,
                   "logging/setLevel needs params.level: one of debug, info, notice, warning, error, critical, alert, "
                   "emergency."};
  call.session->log_level = level;
  return Json::object();
}

}  // namespace dbopt::mcp
