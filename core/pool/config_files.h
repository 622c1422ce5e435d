// Ready-to-paste configuration for a PoolDesign: Django DATABASES, a
// pgbouncer.ini and the platform's connection strings.
//
// Addresses that dbopt cannot know (hosts, project refs, passwords) are
// placeholders in capitals, or environment variables in the Django block, so
// nothing secret is ever printed. The ConnectionTarget lets a caller (a test,
// a deploy script) fill in real hosts and paths. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>

#include "core/pool/pool_design.h"

namespace dbopt::pool {

struct ConnectionTarget {
  std::string db_host = "DB_HOST";
  int db_port = 5432;
  std::string dbname = "app";
  std::string user = "app";
  // PgBouncer, when dbopt's design runs one.
  std::string pgbouncer_host = "PGBOUNCER_HOST";  // where the app reaches it
  std::string listen_addr = "127.0.0.1";
  int listen_port = 6432;
  std::string auth_file = "/etc/pgbouncer/userlist.txt";
  std::string logfile = "/var/log/postgresql/pgbouncer.log";
  std::string pidfile = "/var/run/postgresql/pgbouncer.pid";
  std::optional<std::string> unix_socket_dir;
  std::string stats_user = "pgbouncer_stats";
};

struct ConnectionStrings {
  std::string via;     // "PgBouncer", "Supabase's pooler (...)"
  std::string pooled;  // the app's address
  std::string direct;  // migrations, LISTEN, pg_dump
  std::string rule_id = "POOL_CONNECTION_STRING";
};

ConnectionStrings connection_strings(const PoolDesign& design, const ConnectionTarget& target = {});

// The pgbouncer.ini of the design; only meaningful when design.pgbouncer_to_run.
// max_prepared_statements is set when pgbouncer_version is 1.21+, else left
// commented with the reason.
std::string pgbouncer_ini(const PoolDesign& design, const ConnectionTarget& target = {},
                          const std::optional<std::string>& pgbouncer_version = std::nullopt);

// Python source: `import os` and a DATABASES dict reading DATABASE_NAME, _USER,
// _PASSWORD, _HOST, _PORT (and DIRECT_DATABASE_HOST, _PORT for the "direct"
// alias) from the environment, with the design's values as defaults.
// Timeouts come from the rule POOL_DJANGO_SETTINGS's thresholds.
std::string django_databases(const PoolDesign& design, const PoolInputs& inputs, const knowledge::RuleBook& rules,
                             const ConnectionTarget& target = {});

// For framework "generic": the app-side pool per process as key = value
// lines (HikariCP / SQLAlchemy / node-postgres take the same four numbers).
std::string generic_pool_settings(const PoolDesign& design, const PoolInputs& inputs);

}  // namespace dbopt::pool
