// Settings: dbopt's effective configuration as plain values.
//
// server/ fills it from the config file, the environment and flags (in that
// order of precedence); everything below server/ only reads it. Secrets (DSN
// passwords, tokens, API keys) live here in the clear: never log a Settings
// field without passing it through redact_dsn() / redact_secret().
#pragma once

#include <string>
#include <vector>

namespace dbopt {

// A user's database that tools may inspect.
struct DatabaseSettings {
  std::string name;  // how tools name it ("default" for DATABASE_URL)
  std::string url;   // libpq connection string or postgresql:// URI
  int connect_timeout_s = 5;
  int statement_timeout_ms = 15000;   // SET LOCAL statement_timeout for every statement dbopt runs
  int lock_timeout_ms = 1000;         // SET LOCAL lock_timeout
  bool allow_analyze_writes = false;  // EXPLAIN ANALYZE of INSERT/UPDATE/DELETE (always rolled back)
  bool allow_apply = false;           // tools may create/drop indexes when called with apply=true
  bool scratch = false;               // a scratch/staging copy: real before/after index builds allowed
};

struct HttpSettings {
  std::string host = "127.0.0.1";
  int port = 8765;
  std::string bearer_token;                  // required when host is not loopback
  std::vector<std::string> allowed_origins;  // besides http(s)://localhost|127.0.0.1|[::1]
  long long max_body_bytes = 4 * 1024 * 1024;
  int session_idle_timeout_s = 3600;
  int max_sessions = 1000;
  // Connections served at once (httplib's thread pool; more wait in its queue).
  // Each thread keeps its own allocator caches: 256 held 17 MiB more than 32
  // after a soak, and kept growing (bench/README.md, soak).
  int max_connections = 64;
};

struct LimitSettings {
  int worker_threads = 4;        // concurrent tool calls
  int max_queued_calls = 256;    // calls waiting for a worker before "server busy"
  int tool_timeout_ms = 120000;  // per tool call
  int page_size = 50;            // items per page of tools/prompts/resources lists
  // What one call may send, checked before any expensive work (tools/input_limits.h).
  long long max_sql_bytes = 1 << 20;       // one SQL argument (sql, queries[], schema DDL, ...)
  long long max_plan_bytes = 8 << 20;      // one pasted EXPLAIN plan
  long long max_log_bytes = 32 << 20;      // one query log passed as text
  long long max_text_bytes = 1 << 20;      // any other string argument
  int max_statements = 1000;               // SQL statements in one call, all arguments together
  int max_parse_depth = 1000;              // nesting of one SQL expression (core/sql refuses beyond 2000)
  int max_json_depth = 64;                 // nesting of one JSON message
  long long max_message_bytes = 64 << 20;  // one MCP stdio line or `dbopt call` argument text
  int max_call_memory_mb = 1024;           // estimated working memory of one call
};

struct LinearSettings {
  std::string endpoint = "https://api.linear.app/graphql";
  std::string api_key;      // personal key ("Authorization: <key>") or OAuth token (oauth_token)
  std::string oauth_token;  // sent as "Authorization: Bearer <token>"
  std::string team_key = "PERF";
  bool allow_create_label = false;
};

// Optimization sessions (tools/session_store.h): files, so they outlive a process.
struct SessionSettings {
  std::string dir;  // empty: $XDG_STATE_HOME/dbopt/sessions, else ~/.local/state/dbopt/sessions
  int max_sessions = 1000;
  long long max_bytes_per_session = 16LL * 1024 * 1024;
};

struct Settings {
  std::vector<DatabaseSettings> databases;
  std::string default_database = "default";
  HttpSettings http;
  LimitSettings limits;
  LinearSettings linear;
  SessionSettings sessions;
  std::string log_level = "info";
  std::string prompts_dir;    // MCP prompt templates (prompts/)
  std::string knowledge_dir;  // rule files (knowledge/)

  // The named database, or the default one when name is empty; nullptr if none.
  const DatabaseSettings* find_database(const std::string& name) const;
};

// "postgresql://app:secret@db/x" -> "postgresql://app:***@db/x"; also masks password=... pairs.
std::string redact_dsn(const std::string& dsn);
// "sk_live_abcdef" -> "sk_l***" (enough to recognise, not to use).
std::string redact_secret(const std::string& secret);

}  // namespace dbopt
