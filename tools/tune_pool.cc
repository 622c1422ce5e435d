// tune_pool: connection pool and server sizing with the arithmetic shown.
#include "tools/builtin_tools.h"

namespace dbopt::tools {

Tool make_tune_pool_tool() {
  Tool tool;
  tool.name = "tune_pool";
  tool.title = "Size connection pools";
  tool.description =
      "NOT IMPLEMENTED YET (answers isError until pool sizing lands). "
      "Sizes connection pools for an application and its database platform (self-hosted PostgreSQL, PgBouncer, "
      "Supabase, Neon, RDS/Aurora, Cloud SQL) from Little's law, the core-count bound and the platform's limits, "
      "with the arithmetic shown; chooses session or transaction pooling and names what breaks under it; returns "
      "ready-to-paste Django DATABASES, pgbouncer.ini and connection strings. With `database` it also reads the "
      "live connection state.";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "platform": {"type": "string", "enum": ["self_hosted", "pgbouncer", "supabase", "neon", "rds", "rds_proxy", "aurora", "cloud_sql"]},
      "framework": {"type": "string", "enum": ["django", "generic"], "default": "django"},
      "app": {
        "type": "object",
        "properties": {
          "instances": {"type": "integer", "minimum": 1},
          "autoscale_max_instances": {"type": "integer", "minimum": 1},
          "processes_per_instance": {"type": "integer", "minimum": 1},
          "threads_per_process": {"type": "integer", "minimum": 1},
          "async_workers": {"type": "boolean"},
          "request_rate_per_s": {"type": "number", "minimum": 0},
          "db_time_per_request_ms": {"type": "number", "minimum": 0},
          "p95_db_time_ms": {"type": "number", "minimum": 0},
          "background_workers": {"type": "integer", "minimum": 0, "description": "Celery or other worker processes."},
          "uses_server_side_cursors": {"type": "boolean"},
          "uses_prepared_statements": {"type": "boolean"},
          "uses_listen_notify": {"type": "boolean"},
          "uses_session_state": {"type": "boolean", "description": "SET, session advisory locks, temp tables, WITH HOLD cursors."}
        },
        "additionalProperties": false
      },
      "server": {
        "type": "object",
        "properties": {
          "cores": {"type": "integer", "minimum": 1},
          "memory_gb": {"type": "number", "exclusiveMinimum": 0},
          "storage": {"type": "string", "enum": ["ssd", "hdd", "san"]},
          "max_connections": {"type": "integer", "minimum": 1},
          "compute_size": {"type": "string", "description": "Platform size name: Supabase 'Small', Neon '2 CU', ..."}
        },
        "additionalProperties": false
      },
      "database": {"type": "string", "description": "Configured database to read live connection state from."},
      "pgbouncer_admin_url": {"type": "string", "description": "PgBouncer admin console for SHOW POOLS / SHOW STATS."}
    },
    "required": ["platform"],
    "additionalProperties": false
  })json");
  tool.annotations = {.read_only = true, .destructive = false, .idempotent = true, .open_world = false};
  tool.implemented = false;
  return tool;
}

}  // namespace dbopt::tools
