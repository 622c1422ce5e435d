// tune_pool: connection pool and server sizing with the arithmetic shown.
//
// A composition: the arguments become core/pool's PoolInputs, the platform
// table comes from knowledge/platforms.yaml, live readings (when `database`
// or `pgbouncer_admin_url` is given) from core/pool/live_state.h, and
// design_pool() does the sizing and applies the rules of
// knowledge/rules/pool.yaml. This file only reads arguments and renders.
#include <sstream>

#include "core/pool/config_files.h"
#include "core/pool/live_state.h"
#include "core/pool/pool_design.h"
#include "knowledge/rule_book.h"
#include "tools/builtin_tools.h"
#include "tools/finding_json.h"

namespace dbopt::tools {
namespace {

using pool::PoolDesign;

template <typename T>
void take(const Json& object, const char* key, std::optional<T>& out) {
  if (object.contains(key) && !object[key].is_null()) out = object[key].get<T>();
}
void take_flag(const Json& object, const char* key, bool& out) {
  if (object.contains(key)) out = object[key].get<bool>();
}

pool::PoolInputs read_inputs(const Json& args) {
  pool::PoolInputs in;
  in.platform = args.value("platform", "self_hosted");
  const Json app = args.value("app", Json::object());
  in.app.framework =
      args.value("framework", "django") == "generic" ? pool::Framework::generic : pool::Framework::django;
  take(app, "instances", in.app.instances);
  take(app, "autoscale_max_instances", in.app.autoscale_max_instances);
  take(app, "processes_per_instance", in.app.processes_per_instance);
  take(app, "threads_per_process", in.app.threads_per_process);
  take_flag(app, "async_workers", in.app.async_workers);
  take(app, "request_rate_per_s", in.app.request_rate_per_s);
  take(app, "db_time_per_request_ms", in.app.db_time_per_request_ms);
  take(app, "p95_db_time_ms", in.app.p95_db_time_ms);
  take(app, "background_workers", in.app.background_workers);
  take(app, "longest_transaction_s", in.app.longest_transaction_s);
  take(app, "django_version", in.app.django_version);
  take_flag(app, "uses_server_side_cursors", in.app.uses_server_side_cursors);
  take_flag(app, "uses_prepared_statements", in.app.uses_prepared_statements);
  take_flag(app, "uses_listen_notify", in.app.uses_listen_notify);
  take_flag(app, "uses_session_state", in.app.uses_session_state);
  take_flag(app, "uses_set", in.app.uses_set);
  take_flag(app, "uses_advisory_locks", in.app.uses_advisory_locks);
  take_flag(app, "uses_temp_tables", in.app.uses_temp_tables);
  take_flag(app, "uses_with_hold_cursors", in.app.uses_with_hold_cursors);
  take_flag(app, "uses_sql_prepare", in.app.uses_sql_prepare);
  const Json server = args.value("server", Json::object());
  take(server, "cores", in.server.cores);
  take(server, "memory_gb", in.server.memory_gb);
  if (server.contains("storage")) in.server.storage = *pool::parse_storage(server["storage"].get<std::string>());
  if (server.contains("workload")) in.server.workload = *pool::parse_workload(server["workload"].get<std::string>());
  take(server, "effective_spindles", in.server.effective_spindles);
  take(server, "max_connections", in.server.max_connections);
  take(server, "superuser_reserved_connections", in.server.superuser_reserved_connections);
  take(server, "compute_size", in.server.compute_size);
  take(server, "work_mem_mb", in.server.work_mem_mb);
  take(server, "pgbouncer_version", in.server.pgbouncer_version);
  take(server, "autoscaling_min_cu", in.server.autoscaling_min_cu);
  take(server, "autoscaling_max_cu", in.server.autoscaling_max_cu);
  take(server, "scale_to_zero", in.server.scale_to_zero);
  return in;
}

[[noreturn]] void rethrow_for_field(const Error& e, const std::string& field) {
  const std::string message = e.what();
  if (message.rfind("`" + field + "`", 0) == 0) throw;
  throw Error(e.code(), "`" + field + "`: " + message, e.fix());
}

pool::LiveState read_live(const Json& args, ToolContext& ctx, std::vector<std::string>& notes) {
  pool::LiveState live;
  if (args.contains("database")) {
    const std::string database = args["database"].get<std::string>();
    if (!ctx.databases)
      throw Error(ErrorCode::invalid_argument, "`database` needs a configured database, and none is configured.",
                  "Set DATABASE_URL or add databases to the config file (config/README.md), or drop `database` for "
                  "the offline design.");
    ctx.progress(1, 4, "read pg_stat_activity and settings");
    try {
      live.server = pool::read_server_state(*ctx.databases, database, &ctx.cancel);
    } catch (const Error& e) {
      if (e.code() == ErrorCode::cancelled || e.code() == ErrorCode::deadline_exceeded) throw;
      rethrow_for_field(e, "database");
    }
  }
  if (args.contains("pgbouncer_admin_url")) {
    ctx.progress(2, 4, "read PgBouncer SHOW POOLS / SHOW STATS");
    live.pgbouncer = pool::read_pgbouncer_state(args["pgbouncer_admin_url"].get<std::string>());
    if (!live.server)
      notes.push_back(
          "Only PgBouncer was read; give `database` to read pg_stat_activity and the server's settings too.");
  }
  return live;
}

Json optional_number(const std::optional<int>& v) { return v ? Json(*v) : Json(nullptr); }

Json live_json(const pool::LiveState& live) {
  Json out = Json::object();
  if (live.server) {
    const auto& s = *live.server;
    Json activity = Json::array();
    for (const auto& g : s.activity)
      activity.push_back({{"state", g.state},
                          {"application_name", g.application_name},
                          {"database", g.database},
                          {"user", g.user},
                          {"count", g.count}});
    Json transactions = Json::array();
    for (const auto& t : s.open_transactions)
      transactions.push_back({{"pid", t.pid},
                              {"application_name", t.application_name},
                              {"user", t.user},
                              {"state", t.state},
                              {"transaction_age_s", t.transaction_age_s},
                              {"state_age_s", t.state_age_s},
                              {"query", t.query}});
    out["server"] = {{"database", s.database},
                     {"max_connections", s.max_connections},
                     {"superuser_reserved_connections", s.superuser_reserved_connections},
                     {"client_connections", s.client_connections},
                     {"idle_in_transaction", s.idle_in_transaction},
                     {"by_state",
                      {{"active", s.count_in_state("active")},
                       {"idle", s.count_in_state("idle")},
                       {"idle in transaction", s.count_in_state("idle in transaction")},
                       {"idle in transaction (aborted)", s.count_in_state("idle in transaction (aborted)")}}},
                     {"activity", activity},
                     {"open_transactions", transactions},
                     {"settings", s.settings}};
  }
  if (live.pgbouncer) {
    Json pools = Json::array();
    for (const auto& p : live.pgbouncer->pools) pools.push_back(p.columns);
    Json stats = Json::array();
    for (const auto& row : live.pgbouncer->stats) stats.push_back(row);
    out["pgbouncer"] = {{"address", live.pgbouncer->address},
                        {"version", live.pgbouncer->version},
                        {"pools", pools},
                        {"stats", stats},
                        {"config", live.pgbouncer->config}};
  }
  return out;
}

std::string md_escape_cell(std::string s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : c == '\n' ? std::string(" ") : std::string(1, c);
  return out;
}

std::string render_markdown(const PoolDesign& d, const Json& structured) {
  std::ostringstream o;
  o << "# Connection pool design: " << d.platform_name;
  if (d.compute_size) o << " " << d.compute_size->name;
  o << "\n\n**" << (d.mode == pool::PoolMode::transaction ? "Transaction" : "Session") << " pooling** (`"
    << d.mode_rule_id << "`): " << d.mode_reason << "\n";
  const auto& z = d.sizing;
  if (!z.steps.empty()) {
    o << "\n## Sizing\n\n| step | value | arithmetic | rule |\n| --- | --- | --- | --- |\n";
    for (const auto& s : z.steps)
      o << "| " << s.label << " | " << s.value << " | " << md_escape_cell(s.arithmetic) << " | `" << s.rule_id
        << "` |\n";
  }
  std::vector<const knowledge::Finding*> warnings, info;
  for (const auto& f : d.findings) (f.severity == knowledge::Severity::info ? info : warnings).push_back(&f);
  if (!warnings.empty()) {
    o << "\n## Warnings and what to change\n";
    for (const auto* f : warnings)
      o << "\n### " << f->title << " (" << knowledge::to_string(f->severity) << ", `" << f->rule_id << "`)\n\n"
        << f->summary << "\n\n"
        << f->fix << "\n";
  }
  if (!info.empty()) {
    o << "\n## Design notes\n\n";
    for (const auto* f : info) o << "- **" << f->title << "** (`" << f->rule_id << "`): " << f->summary << "\n";
  }
  const Json& config = structured["config"];
  o << "\n## Configuration to paste\n";
  const Json& cs = config["connection_strings"];
  o << "\nConnection strings (`POOL_CONNECTION_STRING`), through " << cs["via"].get<std::string>() << ":\n\n- app: `"
    << cs["pooled"].get<std::string>() << "`\n- migrations, LISTEN, pg_dump: `" << cs["direct"].get<std::string>()
    << "`\n";
  if (config.contains("django_settings"))
    o << "\nDjango `settings.py` (`POOL_DJANGO_SETTINGS`):\n\n```python\n"
      << config["django_settings"]["text"].get<std::string>() << "```\n";
  if (config.contains("generic_pool"))
    o << "\nApp pool per process (`" << config["generic_pool"]["rule_id"].get<std::string>() << "`):\n\n```ini\n"
      << config["generic_pool"]["text"].get<std::string>() << "```\n";
  if (config.contains("pgbouncer_ini"))
    o << "\n`pgbouncer.ini` (`POOL_PGBOUNCER_SIZING`):\n\n```ini\n"
      << config["pgbouncer_ini"]["text"].get<std::string>() << "```\n";
  if (!d.memory_settings.empty()) {
    o << "\n## Memory settings (`POOL_PGTUNE_MEMORY`)\n\n| setting | value | arithmetic |\n| --- | --- | --- |\n";
    for (const auto& s : d.memory_settings)
      o << "| " << s.name << " | " << s.value << " | " << md_escape_cell(s.arithmetic) << " |\n";
  } else if (!d.memory_settings_note.empty()) {
    o << "\n## Memory settings\n\n" << d.memory_settings_note << "\n";
  }
  if (structured.contains("live")) {
    const Json& live = structured["live"];
    o << "\n## Live readings\n";
    if (live.contains("server")) {
      const Json& s = live["server"];
      o << "\n`" << s["database"].get<std::string>() << "`: max_connections " << s["max_connections"]
        << ", superuser_reserved_connections " << s["superuser_reserved_connections"] << ", " << s["client_connections"]
        << " client connections (besides dbopt's), " << s["idle_in_transaction"]
        << " idle in transaction.\n\n| state | application | database | user | count |\n| --- | --- | --- | --- | --- "
           "|\n";
      for (const auto& g : s["activity"])
        o << "| " << g["state"].get<std::string>() << " | " << md_escape_cell(g["application_name"]) << " | "
          << md_escape_cell(g["database"]) << " | " << md_escape_cell(g["user"]) << " | " << g["count"] << " |\n";
      if (!s["open_transactions"].empty()) {
        o << "\nOpen transactions, oldest first:\n\n| pid | application | state | age s | last query |\n"
          << "| --- | --- | --- | --- | --- |\n";
        for (const auto& t : s["open_transactions"])
          o << "| " << t["pid"] << " | " << md_escape_cell(t["application_name"]) << " | "
            << t["state"].get<std::string>() << " | " << static_cast<long long>(t["transaction_age_s"].get<double>())
            << " | " << md_escape_cell(t["query"]) << " |\n";
      }
    }
    if (live.contains("pgbouncer")) {
      const Json& config = live["pgbouncer"]["config"];
      const auto setting = [&](const char* k) { return config.contains(k) ? config[k].get<std::string>() : "?"; };
      o << "\nPgBouncer " << live["pgbouncer"]["version"].get<std::string>() << " at "
        << live["pgbouncer"]["address"].get<std::string>() << ": pool_mode " << setting("pool_mode")
        << ", default_pool_size " << setting("default_pool_size") << ", max_client_conn " << setting("max_client_conn")
        << ".\n";
      o << "\nPgBouncer " << live["pgbouncer"]["address"].get<std::string>()
        << " (SHOW POOLS):\n\n| database | user | cl_active | cl_waiting | sv_active | sv_idle | sv_used | maxwait |\n"
        << "| --- | --- | --- | --- | --- | --- | --- | --- |\n";
      for (const auto& p : live["pgbouncer"]["pools"]) {
        const auto col = [&](const char* k) { return p.contains(k) ? p[k].get<std::string>() : std::string(); };
        o << "| " << col("database") << " | " << col("user") << " | " << col("cl_active") << " | " << col("cl_waiting")
          << " | " << col("sv_active") << " | " << col("sv_idle") << " | " << col("sv_used") << " | " << col("maxwait")
          << " |\n";
      }
    }
  }
  if (!d.notes.empty()) {
    o << "\n## Notes\n\n";
    for (const auto& n : d.notes) o << "- " << n << "\n";
  }
  return o.str();
}

ToolResult run_tune_pool(const Json& args, ToolContext& ctx) {
  if (!ctx.rules)
    throw Error(ErrorCode::unavailable, "The rule knowledge base is not loaded, so there is nothing to size against.",
                "Restart dbopt and check knowledge_dir in the config.");
  if (ctx.settings.knowledge_dir.empty())
    throw Error(ErrorCode::unavailable, "knowledge_dir is not set, so the platform table cannot be read.",
                "Set knowledge_dir in the config (the folder holding platforms.yaml and rules/).");
  ctx.progress(0, 4, "read inputs");
  const pool::PoolInputs inputs = read_inputs(args);
  const pool::PlatformTable platforms = pool::PlatformTable::load(ctx.settings.knowledge_dir + "/platforms.yaml");
  std::vector<std::string> live_notes;
  const pool::LiveState live = read_live(args, ctx, live_notes);
  const bool have_live = live.server || live.pgbouncer;
  ctx.cancel.check();

  ctx.progress(3, 4, "size");
  PoolDesign d = pool::design_pool(inputs, platforms, *ctx.rules, have_live ? &live : nullptr);
  d.notes.insert(d.notes.end(), live_notes.begin(), live_notes.end());

  Json steps = Json::array();
  for (const auto& s : d.sizing.steps)
    steps.push_back({{"id", s.id},
                     {"label", s.label},
                     {"value", s.value},
                     {"unit", s.unit},
                     {"arithmetic", s.arithmetic},
                     {"rule_id", s.rule_id},
                     {"inputs", s.inputs}});
  const auto& z = d.sizing;
  Json numbers = {{"connections_per_instance", optional_number(z.connections_per_instance)},
                  {"fleet_connections", optional_number(z.fleet_connections)},
                  {"fleet_connections_at_max", optional_number(z.fleet_connections_at_max)},
                  {"littles_law_connections", optional_number(z.littles_law_connections)},
                  {"core_bound", optional_number(z.core_bound)},
                  {"server_max_connections", optional_number(z.server_max_connections)},
                  {"server_reserved", z.server_reserved},
                  {"server_usable_connections", optional_number(z.server_usable_connections)},
                  {"server_pool", optional_number(z.server_pool)},
                  {"pool_per_process", optional_number(z.pool_per_process)},
                  {"pool_per_instance", optional_number(z.pool_per_instance)},
                  {"pooler_client_limit", optional_number(z.pooler_client_limit)},
                  {"pooler_pool_size", optional_number(z.pooler_pool_size)},
                  {"pgbouncer_default_pool_size", optional_number(z.default_pool_size)},
                  {"pgbouncer_reserve_pool_size", optional_number(z.reserve_pool_size)},
                  {"pgbouncer_max_db_connections", optional_number(z.max_db_connections)},
                  {"pgbouncer_max_client_conn", optional_number(z.max_client_conn)}};
  Json findings = Json::array();
  for (const auto& f : d.findings) findings.push_back(flat_finding_json(f));

  const pool::ConnectionStrings strings = pool::connection_strings(d);
  Json config = {
      {"connection_strings",
       {{"rule_id", strings.rule_id}, {"via", strings.via}, {"pooled", strings.pooled}, {"direct", strings.direct}}}};
  if (inputs.app.framework == pool::Framework::django)
    config["django_settings"] = {{"rule_id", "POOL_DJANGO_SETTINGS"},
                                 {"text", pool::django_databases(d, inputs, *ctx.rules)}};
  else
    config["generic_pool"] = {{"rule_id", d.mode_rule_id}, {"text", pool::generic_pool_settings(d, inputs)}};
  if (d.pgbouncer_to_run)
    config["pgbouncer_ini"] = {{"rule_id", "POOL_PGBOUNCER_SIZING"},
                               {"text", pool::pgbouncer_ini(d, {}, inputs.server.pgbouncer_version)}};
  Json memory = Json::array();
  for (const auto& s : d.memory_settings)
    memory.push_back(
        {{"name", s.name}, {"value", s.value}, {"number", s.number}, {"unit", s.unit}, {"arithmetic", s.arithmetic}});

  ToolResult result;
  result.structured = {
      {"platform",
       {{"id", d.platform_id},
        {"name", d.platform_name},
        {"known", d.platform_known},
        {"compute_size", d.compute_size ? Json(d.compute_size->name) : Json(nullptr)},
        {"topology", pool::to_string(d.topology)}}},
      {"mode",
       {{"mode", pool::to_string(d.mode)},
        {"rule_id", d.mode_rule_id},
        {"reason", d.mode_reason},
        {"uses_pooler", d.uses_pooler},
        {"pgbouncer_to_run", d.pgbouncer_to_run}}},
      {"sizing", {{"steps", steps}, {"numbers", numbers}}},
      {"findings", findings},
      {"config", config},
      {"memory_settings", {{"rule_id", "POOL_PGTUNE_MEMORY"}, {"settings", memory}, {"note", d.memory_settings_note}}},
      {"notes", d.notes}};
  if (have_live) result.structured["live"] = live_json(live);
  result.markdown = render_markdown(d, result.structured);
  ctx.progress(4, 4, "done");
  return result;
}

Json output_schema() {
  return Json::parse(R"json({
    "type": "object",
    "properties": {
      "platform": {"type": "object", "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "known": {"type": "boolean"},
        "compute_size": {"type": ["string", "null"]}, "topology": {"type": "string"}},
        "required": ["id", "name", "known", "topology"]},
      "mode": {"type": "object", "properties": {
        "mode": {"type": "string", "enum": ["transaction", "session"]}, "rule_id": {"type": "string"},
        "reason": {"type": "string"}, "uses_pooler": {"type": "boolean"}, "pgbouncer_to_run": {"type": "boolean"}},
        "required": ["mode", "rule_id", "reason", "uses_pooler", "pgbouncer_to_run"]},
      "sizing": {"type": "object", "properties": {
        "steps": {"type": "array", "items": {"type": "object", "properties": {
          "id": {"type": "string"}, "label": {"type": "string"}, "value": {"type": "number"}, "unit": {"type": "string"},
          "arithmetic": {"type": "string"}, "rule_id": {"type": "string"}, "inputs": {"type": "object"}},
          "required": ["id", "label", "value", "arithmetic", "rule_id"]}},
        "numbers": {"type": "object"}},
        "required": ["steps", "numbers"]},
      "findings": {"type": "array", "items": {"type": "object", "properties": {
        "rule_id": {"type": "string"}, "title": {"type": "string"},
        "severity": {"type": "string", "enum": ["info", "low", "medium", "high", "critical"]},
        "evidence": {"type": "string", "enum": ["measured", "estimated", "inferred"]},
        "where": {"type": "string"}, "summary": {"type": "string"}, "fix": {"type": "string"}, "numbers": {"type": "object"}},
        "required": ["rule_id", "title", "severity", "evidence", "summary", "fix"]}},
      "config": {"type": "object", "properties": {
        "connection_strings": {"type": "object", "properties": {
          "rule_id": {"type": "string"}, "via": {"type": "string"}, "pooled": {"type": "string"}, "direct": {"type": "string"}},
          "required": ["rule_id", "via", "pooled", "direct"]},
        "django_settings": {"type": "object", "properties": {"rule_id": {"type": "string"}, "text": {"type": "string"}},
          "required": ["rule_id", "text"]},
        "pgbouncer_ini": {"type": "object", "properties": {"rule_id": {"type": "string"}, "text": {"type": "string"}},
          "required": ["rule_id", "text"]},
        "generic_pool": {"type": "object", "properties": {"rule_id": {"type": "string"}, "text": {"type": "string"}},
          "required": ["rule_id", "text"]}},
        "required": ["connection_strings"]},
      "memory_settings": {"type": "object", "properties": {
        "rule_id": {"type": "string"},
        "settings": {"type": "array", "items": {"type": "object", "properties": {
          "name": {"type": "string"}, "value": {"type": "string"}, "number": {"type": "number"}, "unit": {"type": "string"},
          "arithmetic": {"type": "string"}}, "required": ["name", "value", "arithmetic"]}},
        "note": {"type": "string"}},
        "required": ["rule_id", "settings"]},
      "live": {"type": "object", "properties": {"server": {"type": "object"}, "pgbouncer": {"type": "object"}}},
      "notes": {"type": "array", "items": {"type": "string"}}
    },
    "required": ["platform", "mode", "sizing", "findings", "config", "memory_settings", "notes"]
  })json");
}

}  // namespace

Tool make_tune_pool_tool() {
  Tool tool;
  tool.name = "tune_pool";
  tool.title = "Size connection pools";
  tool.description =
      "Sizes connection pools for an application and its database platform (self_hosted, pgbouncer, supabase, neon, "
      "rds, rds_proxy, aurora, cloud_sql; any other name gets generic advice that says so) with the arithmetic "
      "shown: busy connections by Little's law (request rate x database time, with headroom), the core bound "
      "((cores x 2) + effective spindles), the platform's limits (Supabase and Neon compute sizes, RDS and Cloud "
      "SQL defaults), the server-side pool, the pool per app process, PgBouncer's default_pool_size and "
      "max_client_conn, and a warning when the fleet at autoscaling max exceeds the server's connections. Chooses "
      "session or transaction pooling and names what breaks under it for this app (SET, LISTEN, advisory locks, "
      "WITH HOLD and Django server-side cursors, SQL PREPARE, protocol prepared statements) with the fix. Returns "
      "ready-to-paste Django DATABASES, pgbouncer.ini and connection strings (Supabase 6543 vs 5432, Neon -pooler "
      "host), and pgtune memory settings for the connection count. Works offline from the numbers given; with "
      "`database` (a configured database) it also reads max_connections, pg_stat_activity by state and application, "
      "idle-in-transaction and long transactions, and with `pgbouncer_admin_url` PgBouncer's SHOW POOLS / SHOW "
      "STATS, all read-only. Every recommendation carries a rule id.";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "platform": {"type": "string", "minLength": 1, "description": "self_hosted, pgbouncer (self-hosted PostgreSQL behind PgBouncer), supabase, neon, rds, rds_proxy, aurora, cloud_sql. Another name gets generic advice."},
      "framework": {"type": "string", "enum": ["django", "generic"], "default": "django"},
      "app": {
        "type": "object",
        "properties": {
          "instances": {"type": "integer", "minimum": 1, "description": "App instances running now (containers, dynos, VMs)."},
          "autoscale_max_instances": {"type": "integer", "minimum": 1, "description": "The most instances autoscaling may run (deploys that overlap old and new count too)."},
          "processes_per_instance": {"type": "integer", "minimum": 1, "description": "Worker processes per instance (gunicorn --workers)."},
          "threads_per_process": {"type": "integer", "minimum": 1, "description": "Threads per process (gunicorn --threads), or concurrent tasks per async worker."},
          "async_workers": {"type": "boolean"},
          "request_rate_per_s": {"type": "number", "minimum": 0, "description": "Requests per second at peak, whole fleet."},
          "db_time_per_request_ms": {"type": "number", "minimum": 0, "description": "Mean database time per request (ms)."},
          "p95_db_time_ms": {"type": "number", "minimum": 0, "description": "95th percentile of database time per request (ms)."},
          "background_workers": {"type": "integer", "minimum": 0, "description": "Celery or other worker processes, one connection each."},
          "longest_transaction_s": {"type": "number", "minimum": 0, "description": "The longest transactions the app runs (s): reports, batch jobs, ATOMIC_REQUESTS views."},
          "django_version": {"type": "string", "description": "e.g. \"5.1\": 5.1+ gets the OPTIONS pool for direct connections."},
          "uses_server_side_cursors": {"type": "boolean"},
          "uses_prepared_statements": {"type": "boolean", "description": "Protocol-level (driver) prepared statements: psycopg 3 prepare_threshold, JDBC, asyncpg."},
          "uses_listen_notify": {"type": "boolean"},
          "uses_session_state": {"type": "boolean", "description": "Some session state, unspecified: SET, session advisory locks, temp tables, WITH HOLD cursors."},
          "uses_set": {"type": "boolean", "description": "Session-level SET (search_path, timezone, statement_timeout)."},
          "uses_advisory_locks": {"type": "boolean", "description": "pg_advisory_lock (session-level)."},
          "uses_temp_tables": {"type": "boolean"},
          "uses_with_hold_cursors": {"type": "boolean"},
          "uses_sql_prepare": {"type": "boolean", "description": "SQL-level PREPARE / EXECUTE."}
        },
        "additionalProperties": false
      },
      "server": {
        "type": "object",
        "properties": {
          "cores": {"type": "number", "exclusiveMinimum": 0, "description": "CPU cores (vCPUs) of the database server."},
          "memory_gb": {"type": "number", "exclusiveMinimum": 0},
          "storage": {"type": "string", "enum": ["ssd", "hdd", "san"]},
          "effective_spindles": {"type": "integer", "minimum": 0, "description": "HikariCP's effective spindles: 0 when the data is cached, else about the disks; default 1."},
          "max_connections": {"type": "integer", "minimum": 1},
          "superuser_reserved_connections": {"type": "integer", "minimum": 0},
          "compute_size": {"type": "string", "description": "Platform size name: Supabase 'Small', 'XL'; Neon '2 CU'."},
          "workload": {"type": "string", "enum": ["web", "oltp", "dw", "desktop", "mixed"], "description": "pgtune's workload type; default web."},
          "work_mem_mb": {"type": "number", "exclusiveMinimum": 0, "description": "The current work_mem (MB), checked against memory."},
          "pgbouncer_version": {"type": "string", "description": "e.g. \"1.21\": 1.21+ tracks protocol prepared statements."},
          "autoscaling_min_cu": {"type": "number", "exclusiveMinimum": 0, "description": "Neon: the autoscaling minimum in compute units (e.g. 0.5)."},
          "autoscaling_max_cu": {"type": "number", "exclusiveMinimum": 0, "description": "Neon: the autoscaling maximum in compute units (e.g. 4)."},
          "scale_to_zero": {"type": "boolean", "description": "Neon: whether the compute suspends when idle (Neon's default: on, after 5 minutes)."}
        },
        "additionalProperties": false
      },
      "database": {"type": "string", "description": "Configured database to read the live connection state from (read-only)."},
      "pgbouncer_admin_url": {"type": "string", "minLength": 1, "description": "PgBouncer admin console, postgresql://USER:PASSWORD@HOST:PORT/pgbouncer (USER in admin_users or stats_users), for SHOW POOLS / SHOW STATS."}
    },
    "required": ["platform"],
    "additionalProperties": false
  })json");
  tool.output_schema = output_schema();
  tool.annotations = {.read_only = true, .destructive = false, .idempotent = true, .open_world = false};
  tool.handler = run_tune_pool;
  return tool;
}

}  // namespace dbopt::tools
