#include "core/pool/config_files.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/common/python_literal.h"

namespace dbopt::pool {
namespace {

bool version_at_least(const std::string& version, int major, int minor) {
  int ma = 0, mi = 0;
  if (std::sscanf(version.c_str(), "%d.%d", &ma, &mi) < 1) return false;
  return ma > major || (ma == major && mi >= minor);
}

std::string env(const std::string& name, const std::string& fallback) {
  return "os.environ.get(" + python_string(name) + ", " + python_string(fallback) + ")";
}

struct Address {
  std::string host;
  int port = 5432;
  std::string user;
  std::string dbname;
};

// Where the app connects (pooled) and where sessions go (direct).
std::pair<Address, Address> addresses(const PoolDesign& d, const ConnectionTarget& t) {
  if (d.platform_known && d.platform_id == "supabase") {
    Address pooled{"aws-0-REGION.pooler.supabase.com", d.mode == PoolMode::transaction ? 6543 : 5432,
                   "postgres.PROJECT_REF", "postgres"};
    Address direct{"db.PROJECT_REF.supabase.co", 5432, "postgres", "postgres"};
    return {pooled, direct};
  }
  if (d.platform_known && d.platform_id == "neon") {
    Address direct{"ep-ENDPOINT-ID.REGION.aws.neon.tech", 5432, "USER", "DBNAME"};
    Address pooled = direct;
    if (d.mode == PoolMode::transaction) pooled.host = "ep-ENDPOINT-ID-pooler.REGION.aws.neon.tech";
    return {pooled, direct};
  }
  if (d.platform_known && d.platform_id == "rds_proxy" && d.mode == PoolMode::transaction) {
    Address direct{"INSTANCE.ID.REGION.rds.amazonaws.com", 5432, t.user, t.dbname};
    Address pooled{"PROXY.proxy-ID.REGION.rds.amazonaws.com", 5432, t.user, t.dbname};
    return {pooled, direct};
  }
  Address direct{t.db_host, t.db_port, t.user, t.dbname};
  if (d.pgbouncer_to_run) return {Address{t.pgbouncer_host, t.listen_port, t.user, t.dbname}, direct};
  return {direct, direct};
}

std::string uri(const Address& a, bool ssl) {
  return "postgresql://" + a.user + ":PASSWORD@" + a.host + ":" + std::to_string(a.port) + "/" + a.dbname +
         (ssl ? "?sslmode=require" : "");
}

}  // namespace

ConnectionStrings connection_strings(const PoolDesign& d, const ConnectionTarget& t) {
  const auto [pooled, direct] = addresses(d, t);
  const bool ssl = d.platform_known && d.platform_id != "self_hosted" && d.platform_id != "pgbouncer";
  ConnectionStrings out;
  out.pooled = uri(pooled, ssl);
  out.direct = uri(direct, ssl);
  if (d.platform_known && d.platform_id == "supabase")
    out.via = d.mode == PoolMode::transaction ? "Supabase's pooler in transaction mode (port 6543)"
                                              : "Supabase's pooler in session mode (port 5432)";
  else if (d.platform_known && d.platform_id == "neon")
    out.via = d.mode == PoolMode::transaction ? "Neon's pooled host (-pooler)" : "Neon's direct host";
  else if (d.pgbouncer_to_run)
    out.via = "PgBouncer (" + std::string(to_string(d.mode)) + " mode)";
  else if (d.topology == Topology::rds_proxy)
    out.via = "RDS Proxy";
  else
    out.via = "a direct connection";
  return out;
}

std::string pgbouncer_ini(const PoolDesign& d, const ConnectionTarget& t, const std::optional<std::string>& version) {
  const Sizing& z = d.sizing;
  std::ostringstream o;
  o << ";; pgbouncer.ini by dbopt tune_pool: " << d.platform_name << ", " << to_string(d.mode) << " pooling.\n"
    << ";; Rules: POOL_PGBOUNCER_SIZING, " << d.mode_rule_id << ".\n";
  for (const auto& step : z.steps)
    if (step.id == "server_pool" || step.id == "pgbouncer") o << ";; " << step.label << ": " << step.arithmetic << "\n";
  o << "\n[databases]\n"
    << t.dbname << " = host=" << t.db_host << " port=" << t.db_port << " dbname=" << t.dbname << "\n\n"
    << "[pgbouncer]\n"
    << "listen_addr = " << t.listen_addr << "\n"
    << "listen_port = " << t.listen_port << "\n";
  if (t.unix_socket_dir) o << "unix_socket_dir = " << *t.unix_socket_dir << "\n";
  o << "auth_type = scram-sha-256\n"
    << "auth_file = " << t.auth_file << "\n"
    << "pool_mode = " << to_string(d.mode) << "\n"
    << "; server connections per user/database pair: the server-side pool\n"
    << "default_pool_size = " << z.default_pool_size.value_or(20) << "\n"
    << "min_pool_size = 0\n"
    << "reserve_pool_size = " << z.reserve_pool_size.value_or(0) << "\n"
    << "reserve_pool_timeout = 3\n"
    << "; never more server connections than planned, whatever the pairs\n"
    << "max_db_connections = " << z.max_db_connections.value_or(z.default_pool_size.value_or(20)) << "\n"
    << "; every app connection at autoscaling max, with headroom\n"
    << "max_client_conn = " << z.max_client_conn.value_or(100) << "\n"
    << "server_idle_timeout = 600\n"
    << "server_lifetime = 3600\n"
    << "query_wait_timeout = 120\n";
  if (version && version_at_least(*version, 1, 21)) {
    o << "; protocol-level prepared statements tracked across transactions (1.21+)\n"
      << "max_prepared_statements = 200\n";
  } else {
    o << "; PgBouncer 1.21+: track protocol-level prepared statements (uncomment after upgrading)\n"
      << ";max_prepared_statements = 200\n";
  }
  o << "; drivers send it at startup; PgBouncer would refuse the connection otherwise\n"
    << "ignore_startup_parameters = extra_float_digits\n"
    << "stats_users = " << t.stats_user << "\n"
    << "logfile = " << t.logfile << "\n"
    << "pidfile = " << t.pidfile << "\n";
  return o.str();
}

std::string django_databases(const PoolDesign& d, const PoolInputs& in, const knowledge::RuleBook& rules,
                             const ConnectionTarget& t) {
  const knowledge::Rule& rule = rules.rule("POOL_DJANGO_SETTINGS");
  // A compute that scales to zero makes the first connection wait for it to resume.
  const int connect_timeout =
      static_cast<int>(rule.threshold(d.cold_start_ms > 0 ? "cold_start_connect_timeout_s" : "connect_timeout_s"));
  const int statement_timeout = static_cast<int>(rule.threshold("statement_timeout_ms"));
  // Django's docs: under ASGI persistent connections are not reused safely; pool instead.
  const int conn_max_age = in.app.async_workers ? 0 : static_cast<int>(rule.threshold("conn_max_age_s"));
  const auto [pooled, direct] = addresses(d, t);
  const bool pooled_txn = d.mode == PoolMode::transaction;
  const bool django_51 = in.app.django_version && version_at_least(*in.app.django_version, 5, 1);
  const int pool_max = d.sizing.pool_per_process.value_or(in.app.threads_per_process.value_or(1));

  std::ostringstream o;
  o << "import os\n\n"
    << "# DATABASES by dbopt tune_pool: " << d.platform_name << ", " << to_string(d.mode) << " pooling.\n"
    << "# Rules: POOL_DJANGO_SETTINGS, " << d.mode_rule_id
    << (pooled_txn ? ", POOL_TXN_SERVER_SIDE_CURSORS, POOL_TXN_STARTUP_OPTIONS" : "") << ".\n"
    << "DATABASES = {\n"
    << "    \"default\": {\n"
    << "        \"ENGINE\": \"django.db.backends.postgresql\",\n"
    << "        \"NAME\": " << env("DATABASE_NAME", pooled.dbname) << ",\n"
    << "        \"USER\": " << env("DATABASE_USER", pooled.user) << ",\n"
    << "        \"PASSWORD\": " << env("DATABASE_PASSWORD", "") << ",\n"
    << "        \"HOST\": " << env("DATABASE_HOST", pooled.host) << ",\n"
    << "        \"PORT\": " << env("DATABASE_PORT", std::to_string(pooled.port)) << ",\n";
  if (pooled_txn) {
    o << "        # Client connections to the pooler are cheap: keep them between requests.\n"
      << "        \"CONN_MAX_AGE\": " << conn_max_age << ",\n"
      << "        \"CONN_HEALTH_CHECKS\": True,  # Django 4.1+\n"
      << "        # QuerySet.iterator() cursors cannot span transactions through a transaction pooler.\n"
      << "        \"DISABLE_SERVER_SIDE_CURSORS\": True,\n"
      << "        # One transaction per view holds a server connection for the whole view.\n"
      << "        \"ATOMIC_REQUESTS\": False,\n"
      << "        \"OPTIONS\": {\n"
      << "            \"connect_timeout\": " << connect_timeout << ",\n"
      << "            # statement_timeout goes on the role, not here: the pooler refuses or ignores\n"
      << "            # startup options. ALTER ROLE app SET statement_timeout = '" << statement_timeout / 1000
      << "s';\n"
      << "        },\n";
  } else if (django_51) {
    o << "        # Django 5.1+ with psycopg 3: a pool per process; CONN_MAX_AGE must be 0 with it.\n"
      << "        \"CONN_MAX_AGE\": 0,\n"
      << "        \"CONN_HEALTH_CHECKS\": True,\n"
      << "        # One transaction per view: consistent, but holds the connection for the whole view.\n"
      << "        \"ATOMIC_REQUESTS\": False,\n"
      << "        \"OPTIONS\": {\n"
      << "            \"connect_timeout\": " << connect_timeout << ",\n"
      << "            \"options\": \"-c statement_timeout=" << statement_timeout << "\",\n"
      << "            \"pool\": {\"min_size\": 1, \"max_size\": " << pool_max << ", \"timeout\": 10},\n"
      << "        },\n";
  } else {
    o << "        # Persistent connections, one per thread, checked before reuse.\n"
      << "        \"CONN_MAX_AGE\": " << conn_max_age << ",\n"
      << "        \"CONN_HEALTH_CHECKS\": True,  # Django 4.1+\n"
      << "        # One transaction per view: consistent, but holds the connection for the whole view.\n"
      << "        \"ATOMIC_REQUESTS\": False,\n"
      << "        \"OPTIONS\": {\n"
      << "            \"connect_timeout\": " << connect_timeout << ",\n"
      << "            \"options\": \"-c statement_timeout=" << statement_timeout << "\",\n"
      << "            # Django 5.1+ with psycopg 3 instead: \"pool\": {\"min_size\": 1, \"max_size\": " << pool_max
      << "}, with CONN_MAX_AGE 0.\n"
      << "        },\n";
  }
  o << "    },\n";
  if (pooled_txn) {
    o << "    # A session for migrations, LISTEN and session features: manage.py migrate --database direct\n"
      << "    \"direct\": {\n"
      << "        \"ENGINE\": \"django.db.backends.postgresql\",\n"
      << "        \"NAME\": " << env("DATABASE_NAME", direct.dbname) << ",\n"
      << "        \"USER\": " << env("DIRECT_DATABASE_USER", direct.user) << ",\n"
      << "        \"PASSWORD\": " << env("DATABASE_PASSWORD", "") << ",\n"
      << "        \"HOST\": " << env("DIRECT_DATABASE_HOST", direct.host) << ",\n"
      << "        \"PORT\": " << env("DIRECT_DATABASE_PORT", std::to_string(direct.port)) << ",\n"
      << "        \"CONN_MAX_AGE\": 0,\n"
      << "        \"OPTIONS\": {\"connect_timeout\": " << connect_timeout << "},\n"
      << "        \"TEST\": {\"MIRROR\": \"default\"},\n"
      << "    },\n";
  }
  o << "}\n";
  return o.str();
}

std::string generic_pool_settings(const PoolDesign& d, const PoolInputs& in) {
  const auto [pooled, direct] = addresses(d, ConnectionTarget{});
  const int per_process = d.sizing.pool_per_process.value_or(in.app.threads_per_process.value_or(1));
  std::ostringstream o;
  o << "# App-side pool per process, by dbopt tune_pool: " << d.platform_name << ", " << to_string(d.mode)
    << " pooling.\n"
    << "# Rules: " << d.mode_rule_id << ", POOL_CORE_BOUND.\n"
    << "url = " << uri(pooled, false) << "\n"
    << "# A fixed-size pool (min = max) avoids connection storms at peaks (HikariCP's advice).\n"
    << "max_pool_size = " << per_process << "\n"
    << "min_idle = " << per_process << "\n"
    << "# Fail fast when the pool is exhausted instead of queueing forever.\n"
    << "connection_timeout_ms = 5000\n"
    << "# Recycle connections before the pooler or server drops idle ones (PgBouncer server_idle_timeout 600 s).\n"
    << "max_lifetime_ms = 540000\n";
  if (d.mode == PoolMode::transaction)
    o << "# Transaction pooling: no session state (SET, LISTEN, advisory locks) outside a transaction;\n"
      << "# protocol prepared statements only where the pooler tracks them.\n";
  return o.str();
}

}  // namespace dbopt::pool
