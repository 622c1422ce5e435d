#include "server/config_loader.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "tools/json_schema.h"

extern char** environ;

namespace dbopt::server {
namespace {

using Json = nlohmann::json;

// The config file's shape; config/dbopt.example.json is an instance of it.
const Json& config_schema() {
  static const Json schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "databases": {
        "type": "object",
        "additionalProperties": {
          "type": "object",
          "properties": {
            "url": {"type": "string", "minLength": 1},
            "connect_timeout_s": {"type": "integer", "minimum": 1, "maximum": 300},
            "statement_timeout_ms": {"type": "integer", "minimum": 1},
            "lock_timeout_ms": {"type": "integer", "minimum": 1},
            "allow_analyze_writes": {"type": "boolean"},
            "allow_apply": {"type": "boolean"},
            "scratch": {"type": "boolean"}
          },
          "required": ["url"],
          "additionalProperties": false
        }
      },
      "default_database": {"type": "string", "minLength": 1},
      "http": {
        "type": "object",
        "properties": {
          "host": {"type": "string", "minLength": 1},
          "port": {"type": "integer", "minimum": 1, "maximum": 65535},
          "bearer_token": {"type": "string"},
          "allowed_origins": {"type": "array", "items": {"type": "string"}},
          "max_body_bytes": {"type": "integer", "minimum": 1024},
          "session_idle_timeout_s": {"type": "integer", "minimum": 1},
          "max_sessions": {"type": "integer", "minimum": 1},
          "max_connections": {"type": "integer", "minimum": 4, "maximum": 1024}
        },
        "additionalProperties": false
      },
      "limits": {
        "type": "object",
        "properties": {
          "worker_threads": {"type": "integer", "minimum": 1, "maximum": 256},
          "max_queued_calls": {"type": "integer", "minimum": 1},
          "tool_timeout_ms": {"type": "integer", "minimum": 100},
          "page_size": {"type": "integer", "minimum": 1, "maximum": 1000},
          "max_sql_bytes": {"type": "integer", "minimum": 1024, "maximum": 16777216},
          "max_plan_bytes": {"type": "integer", "minimum": 1024, "maximum": 1073741824},
          "max_log_bytes": {"type": "integer", "minimum": 1024, "maximum": 1073741824},
          "max_text_bytes": {"type": "integer", "minimum": 1024, "maximum": 268435456},
          "max_statements": {"type": "integer", "minimum": 1, "maximum": 1000000},
          "max_parse_depth": {"type": "integer", "minimum": 10, "maximum": 2000},
          "max_json_depth": {"type": "integer", "minimum": 8, "maximum": 10000},
          "max_message_bytes": {"type": "integer", "minimum": 65536, "maximum": 2147483647},
          "max_call_memory_mb": {"type": "integer", "minimum": 16, "maximum": 1048576}
        },
        "additionalProperties": false
      },
      "linear": {
        "type": "object",
        "properties": {
          "endpoint": {"type": "string", "minLength": 1},
          "api_key": {"type": "string"},
          "oauth_token": {"type": "string"},
          "team_key": {"type": "string", "minLength": 1},
          "allow_create_label": {"type": "boolean"}
        },
        "additionalProperties": false
      },
      "sessions": {
        "type": "object",
        "properties": {
          "dir": {"type": "string", "minLength": 1},
          "max_sessions": {"type": "integer", "minimum": 1},
          "max_bytes_per_session": {"type": "integer", "minimum": 4096}
        },
        "additionalProperties": false
      },
      "log_level": {"type": "string", "enum": ["trace", "debug", "info", "warn", "error", "off"]},
      "prompts_dir": {"type": "string"},
      "knowledge_dir": {"type": "string"}
    },
    "additionalProperties": false
  })json");
  return schema;
}

template <typename T>
void take(const Json& object, const char* key, T& into) {
  if (object.contains(key)) into = object[key].get<T>();
}

int env_int(const Environment& env, const std::string& name, int fallback) {
  auto it = env.find(name);
  if (it == env.end() || it->second.empty()) return fallback;
  try {
    size_t used = 0;
    int value = std::stoi(it->second, &used);
    if (used == it->second.size()) return value;
  } catch (const std::exception&) {
  }
  throw Error(ErrorCode::invalid_argument,
              "Environment variable " + name + "='" + it->second + "' is not a whole number.",
              "Set it to an integer or unset it.");
}

void apply_file(const std::string& path, Settings& s) {
  std::ifstream file(path);
  if (!file)
    throw Error(ErrorCode::invalid_argument, "Cannot read the config file " + path + ".",
                "Check the path given with --config or DBOPT_CONFIG.");
  std::stringstream text;
  text << file.rdbuf();
  apply_config_text(text.str(), path, s);
}

}  // namespace

void apply_config_text(const std::string& text, const std::string& path, Settings& s) {
  // Deeper than any config can be: the schema check recurses once per level.
  constexpr int kMaxConfigDepth = 32;
  Json config;
  try {
    config = Json::parse(
        text,
        [&](int depth, Json::parse_event_t, Json&) {
          if (depth > kMaxConfigDepth)
            throw Error(
                ErrorCode::invalid_argument,
                "The config file " + path + " nests deeper than " + std::to_string(kMaxConfigDepth) + " levels.",
                "Compare it with config/dbopt.example.json.");
          return true;
        },
        true, true);  // comments allowed
  } catch (const Json::parse_error& e) {
    throw Error(
        ErrorCode::invalid_argument,
        "The config file " + path + " is not valid JSON (byte " + std::to_string(e.byte) + ": " + e.what() + ").",
        "Compare it with config/dbopt.example.json.");
  } catch (const Json::out_of_range& e) {  // a number too large for a double (1e400)
    throw Error(ErrorCode::invalid_argument,
                "The config file " + path + " holds a number out of range (" + e.what() + ").",
                "Compare it with config/dbopt.example.json.");
  }
  auto violations = tools::validate_against_schema(config, config_schema(), "config");
  if (!violations.empty())
    throw Error(ErrorCode::invalid_argument,
                "The config file " + path + " is wrong at " + violations[0].path + ": " + violations[0].message + ".",
                "See config/README.md for every key.");
  if (config.contains("databases"))
    for (auto& [name, db] : config["databases"].items()) {
      DatabaseSettings d;
      d.name = name;
      take(db, "url", d.url);
      take(db, "connect_timeout_s", d.connect_timeout_s);
      take(db, "statement_timeout_ms", d.statement_timeout_ms);
      take(db, "lock_timeout_ms", d.lock_timeout_ms);
      take(db, "allow_analyze_writes", d.allow_analyze_writes);
      take(db, "allow_apply", d.allow_apply);
      take(db, "scratch", d.scratch);
      s.databases.push_back(d);
    }
  take(config, "default_database", s.default_database);
  take(config, "log_level", s.log_level);
  take(config, "prompts_dir", s.prompts_dir);
  take(config, "knowledge_dir", s.knowledge_dir);
  const Json http = config.value("http", Json::object());
  take(http, "host", s.http.host);
  take(http, "port", s.http.port);
  take(http, "bearer_token", s.http.bearer_token);
  take(http, "allowed_origins", s.http.allowed_origins);
  take(http, "max_body_bytes", s.http.max_body_bytes);
  take(http, "session_idle_timeout_s", s.http.session_idle_timeout_s);
  take(http, "max_sessions", s.http.max_sessions);
  take(http, "max_connections", s.http.max_connections);
  const Json limits = config.value("limits", Json::object());
  take(limits, "worker_threads", s.limits.worker_threads);
  take(limits, "max_queued_calls", s.limits.max_queued_calls);
  take(limits, "tool_timeout_ms", s.limits.tool_timeout_ms);
  take(limits, "page_size", s.limits.page_size);
  take(limits, "max_sql_bytes", s.limits.max_sql_bytes);
  take(limits, "max_plan_bytes", s.limits.max_plan_bytes);
  take(limits, "max_log_bytes", s.limits.max_log_bytes);
  take(limits, "max_text_bytes", s.limits.max_text_bytes);
  take(limits, "max_statements", s.limits.max_statements);
  take(limits, "max_parse_depth", s.limits.max_parse_depth);
  take(limits, "max_json_depth", s.limits.max_json_depth);
  take(limits, "max_message_bytes", s.limits.max_message_bytes);
  take(limits, "max_call_memory_mb", s.limits.max_call_memory_mb);
  const Json linear = config.value("linear", Json::object());
  take(linear, "endpoint", s.linear.endpoint);
  take(linear, "api_key", s.linear.api_key);
  take(linear, "oauth_token", s.linear.oauth_token);
  take(linear, "team_key", s.linear.team_key);
  take(linear, "allow_create_label", s.linear.allow_create_label);
  const Json sessions = config.value("sessions", Json::object());
  take(sessions, "dir", s.sessions.dir);
  take(sessions, "max_sessions", s.sessions.max_sessions);
  take(sessions, "max_bytes_per_session", s.sessions.max_bytes_per_session);
}

namespace {

void apply_environment(const Environment& env, Settings& s) {
  auto get = [&](const char* name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
  if (auto url = get("DATABASE_URL")) {
    DatabaseSettings* existing = nullptr;
    for (auto& d : s.databases)
      if (d.name == s.default_database) existing = &d;
    if (existing)
      existing->url = *url;
    else
      s.databases.push_back({.name = s.default_database, .url = *url});
  }
  if (auto v = get("DBOPT_HTTP_TOKEN")) s.http.bearer_token = *v;
  if (auto v = get("DBOPT_HTTP_HOST")) s.http.host = *v;
  s.http.port = env_int(env, "DBOPT_HTTP_PORT", s.http.port);
  if (auto v = get("DBOPT_LOG_LEVEL")) s.log_level = *v;
  s.limits.tool_timeout_ms = env_int(env, "DBOPT_TOOL_TIMEOUT_MS", s.limits.tool_timeout_ms);
  s.limits.worker_threads = env_int(env, "DBOPT_WORKER_THREADS", s.limits.worker_threads);
  s.limits.page_size = env_int(env, "DBOPT_PAGE_SIZE", s.limits.page_size);
  if (auto v = get("LINEAR_API_KEY")) s.linear.api_key = *v;
  if (auto v = get("LINEAR_OAUTH_TOKEN")) s.linear.oauth_token = *v;
  if (auto v = get("LINEAR_API_URL")) s.linear.endpoint = *v;
  if (auto v = get("DBOPT_PROMPTS_DIR")) s.prompts_dir = *v;
  if (auto v = get("DBOPT_KNOWLEDGE_DIR")) s.knowledge_dir = *v;
  if (auto v = get("DBOPT_SESSIONS_DIR")) s.sessions.dir = *v;
}

}  // namespace

Environment process_environment() {
  Environment env;
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return env;
}

bool is_loopback_host(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

Settings load_settings(const std::string& config_path, const Environment& env) {
  Settings settings;
  std::string path = config_path;
  if (path.empty())
    if (auto it = env.find("DBOPT_CONFIG"); it != env.end()) path = it->second;
  if (!path.empty()) apply_file(path, settings);
  apply_environment(env, settings);
  return settings;
}

void validate_settings(const Settings& s) {
  if (!is_loopback_host(s.http.host) && s.http.bearer_token.empty())
    throw Error(ErrorCode::invalid_argument,
                "HTTP would listen on " + s.http.host + ", which is not a loopback address, without a bearer token.",
                "Set DBOPT_HTTP_TOKEN (or http.bearer_token in the config), or bind 127.0.0.1.");
  for (const auto& db : s.databases)
    if (db.url.empty())
      throw Error(ErrorCode::invalid_argument, "Database '" + db.name + "' has no url.",
                  "Give a libpq connection string, e.g. postgresql://user@host:5432/dbname.");
}

}  // namespace dbopt::server
