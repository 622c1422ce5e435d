// The generated configuration works for real: a PgBouncer started from the
// generated pgbouncer.ini serves a pgbench load on a pgbench database of our
// own, with the generated pool sizes; the generated Django DATABASES parse
// (Django configures itself with them) and connect through that PgBouncer.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/pool/config_files.h"
#include "pool_services.h"
#include "pool_test_support.h"

namespace dbopt::pool {
namespace {

using namespace testing;

constexpr const char* kPgbenchDb = "dbopt_pool_pgbench";
constexpr const char* kPython = "/usr/bin/python3";  // Debian's, with python3-django

// A design that runs PgBouncer in transaction mode: 2 x 2 x 2 = 8 app
// connections, core bound 2 x 2 + 1 = 5.
PoolDesign bouncer_design(PoolInputs* inputs_out = nullptr) {
  PoolInputs in;
  in.platform = "pgbouncer";
  in.app.instances = 2;
  in.app.processes_per_instance = 2;
  in.app.threads_per_process = 2;
  in.server.cores = 2;
  in.server.max_connections = 100;
  if (inputs_out) *inputs_out = in;
  return design(in);
}

// Our own database, initialised by pgbench once (idempotent; tests run in
// parallel processes, so a session advisory lock serialises the set-up).
void ensure_pgbench_database(const std::map<std::string, std::string>& pg, const std::string& dir) {
  PgConnection super(env_or_empty("DBOPT_TEST_DATABASE_URL"));
  super.query("SELECT pg_advisory_lock(hashtext('dbopt_pool_pgbench'))");
  if (super.scalar(std::string("SELECT count(*) FROM pg_database WHERE datname = '") + kPgbenchDb + "'") == "0")
    super.query(std::string("CREATE DATABASE ") + kPgbenchDb);
  PgConnection db("host=" + pg.at("host") + " port=" + pg.at("port") + " user=" + pg.at("user") +
                  " password=" + pg.at("password") + " dbname=" + kPgbenchDb);
  if (db.scalar("SELECT to_regclass('pgbench_accounts') IS NOT NULL") == "t") return;
  std::string output;
  const int status = run_and_wait({pg_bindir() + "/pgbench", "-i", "-s", "1", "-q", "-h", pg.at("host"), "-p",
                                   pg.at("port"), "-U", pg.at("user"), kPgbenchDb},
                                  {{"PGPASSWORD", pg.at("password")}}, dir + "/pgbench-init.out", &output);
  ASSERT_EQ(status, 0) << output;
}

// The generated pgbouncer.ini, pointed at the test PostgreSQL and a private directory.
std::string write_generated_ini(const PoolDesign& d, const ServiceDirectory& dir,
                                const std::map<std::string, std::string>& pg, int port) {
  ConnectionTarget target;
  target.db_host = pg.at("host");
  target.db_port = std::stoi(pg.at("port"));
  target.dbname = kPgbenchDb;
  target.user = pg.at("user");
  target.listen_port = port;
  target.auth_file = dir.file("userlist.txt");
  target.logfile = dir.file("pgbouncer.log");
  target.pidfile = dir.file("pgbouncer.pid");
  target.unix_socket_dir = dir.path();
  target.stats_user = pg.at("user");
  const std::string ini = pgbouncer_ini(d, target, "1.18");
  dir.write("pgbouncer.ini", ini);
  dir.write("userlist.txt", "\"" + pg.at("user") + "\" \"" + pg.at("password") + "\"\n");
  return ini;
}

std::string bouncer_url(const std::map<std::string, std::string>& pg, int port, const std::string& dbname) {
  return "postgresql://" + pg.at("user") + ":" + pg.at("password") + "@127.0.0.1:" + std::to_string(port) + "/" +
         dbname;
}

TEST(GeneratedPgBouncerIni, StartsAndServesAPgbenchLoadWithTheGeneratedSizes) {
  DBOPT_REQUIRE_POOL_SERVICES();
  const auto pg = conninfo(env_or_empty("DBOPT_TEST_DATABASE_URL"));
  ServiceDirectory dir;
  ensure_pgbench_database(pg, dir.path());
  const PoolDesign d = bouncer_design();
  ASSERT_TRUE(d.pgbouncer_to_run);
  ASSERT_EQ(*d.sizing.default_pool_size, 5);
  const int port = free_port();
  write_generated_ini(d, dir, pg, port);
  PrivatePgBouncer bouncer(dir, bouncer_url(pg, port, "pgbouncer"));

  // PgBouncer took the generated values.
  PgConnection admin(bouncer_url(pg, port, "pgbouncer"));
  std::map<std::string, std::string> config;
  for (auto& row : admin.query("SHOW CONFIG")) config[row["key"]] = row["value"];
  EXPECT_EQ(config["pool_mode"], "transaction");
  EXPECT_EQ(config["default_pool_size"], std::to_string(*d.sizing.default_pool_size));
  EXPECT_EQ(config["max_client_conn"], std::to_string(*d.sizing.max_client_conn));
  EXPECT_EQ(config["reserve_pool_size"], std::to_string(*d.sizing.reserve_pool_size));

  // A small pgbench load through it: 8 clients (the design's fleet) on 5 server connections.
  std::string output;
  const int status = run_and_wait({pg_bindir() + "/pgbench", "-n", "-S", "-c", "8", "-j", "2", "-t", "50", "-h",
                                   "127.0.0.1", "-p", std::to_string(port), "-U", pg.at("user"), kPgbenchDb},
                                  {{"PGPASSWORD", pg.at("password")}}, dir.file("pgbench.out"), &output);
  ASSERT_EQ(status, 0) << output << bouncer.log();
  EXPECT_NE(output.find("number of transactions actually processed: 400/400"), std::string::npos) << output;

  // The server side never exceeded the generated pool.
  const auto state = read_pgbouncer_state(bouncer_url(pg, port, "pgbouncer"));
  bool seen = false;
  for (const auto& p : state.pools) {
    if (p.database != kPgbenchDb) continue;
    seen = true;
    EXPECT_LE(p.number("sv_active") + p.number("sv_idle") + p.number("sv_used") + p.number("sv_tested") +
                  p.number("sv_login"),
              *d.sizing.max_db_connections);
  }
  EXPECT_TRUE(seen) << "no pool for " << kPgbenchDb << " in SHOW POOLS";
  EXPECT_FALSE(state.stats.empty());
}

// Runs the generated DATABASES through Django: settings.configure + setup,
// then (when connect is set) a query through the connection.
std::string django_check(const ServiceDirectory& dir, const std::string& settings_text,
                         const std::map<std::string, std::string>& env, int* status) {
  dir.write("generated_settings.py", settings_text, 0644);
  dir.write("check.py", R"py(
import importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location("generated_settings", sys.argv[1])
generated = importlib.util.module_from_spec(spec)
spec.loader.exec_module(generated)
import django
from django.conf import settings
settings.configure(DATABASES=generated.DATABASES, INSTALLED_APPS=[], USE_TZ=True)
django.setup()
from django.db import connections
out = {"aliases": sorted(connections.databases.keys())}
d = connections["default"].settings_dict
out["default"] = {k: d.get(k) for k in ("ENGINE", "HOST", "PORT", "NAME", "CONN_MAX_AGE", "ATOMIC_REQUESTS",
                                         "DISABLE_SERVER_SIDE_CURSORS")}
if os.environ.get("CONNECT") == "1":
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pgbench_branches")
        out["branches"] = cursor.fetchone()[0]
print(json.dumps(out))
)py",
            0644);
  std::string output;
  *status = run_and_wait({kPython, dir.file("check.py"), dir.file("generated_settings.py")}, env,
                         dir.file("django.out"), &output);
  return output;
}

bool django_available() {
  std::string output;
  return run_and_wait({kPython, "-c", "import django"}, {}, "/dev/null") == 0;
}

TEST(GeneratedDjangoSettings, ParseForEveryPlatform) {
  if (!django_available()) GTEST_SKIP() << "python3-django is not installed (scripts/setup installs it)";
  ServiceDirectory dir;
  for (const char* platform : {"self_hosted", "pgbouncer", "supabase", "neon", "rds_proxy", "cloud_sql"}) {
    for (const char* version : {"", "5.1"}) {
      SCOPED_TRACE(std::string(platform) + " " + version);
      PoolInputs in;
      in.platform = platform;
      in.app.instances = 4;
      in.app.autoscale_max_instances = 30;
      in.app.processes_per_instance = 4;
      in.app.threads_per_process = 4;
      if (*version) in.app.django_version = version;
      if (std::string(platform) == "supabase") in.server.compute_size = "Medium";
      if (std::string(platform) == "neon") in.server.compute_size = "1 CU";
      in.server.cores = 4;
      in.server.memory_gb = 16;
      const PoolDesign d = design(in);
      int status = 0;
      const std::string output = django_check(dir, django_databases(d, in, shipped_rules()), {}, &status);
      ASSERT_EQ(status, 0) << output;
      const auto json = nlohmann::json::parse(output.substr(output.find('{')));
      EXPECT_EQ(json["default"]["ENGINE"], "django.db.backends.postgresql");
      if (d.mode == PoolMode::transaction) {
        EXPECT_EQ(json["default"]["DISABLE_SERVER_SIDE_CURSORS"], true);
        EXPECT_EQ(json["aliases"], nlohmann::json::array({"default", "direct"}));
      }
      EXPECT_EQ(json["default"]["ATOMIC_REQUESTS"], false);
    }
  }
}

TEST(GeneratedDjangoSettings, ConnectThroughTheGeneratedPgBouncer) {
  DBOPT_REQUIRE_POOL_SERVICES();
  if (!django_available()) GTEST_SKIP() << "python3-django is not installed (scripts/setup installs it)";
  const auto pg = conninfo(env_or_empty("DBOPT_TEST_DATABASE_URL"));
  ServiceDirectory dir;
  ensure_pgbench_database(pg, dir.path());
  PoolInputs in;
  const PoolDesign d = bouncer_design(&in);
  const int port = free_port();
  write_generated_ini(d, dir, pg, port);
  PrivatePgBouncer bouncer(dir, bouncer_url(pg, port, "pgbouncer"));
  int status = 0;
  const std::string output = django_check(dir, django_databases(d, in, shipped_rules()),
                                          {{"CONNECT", "1"},
                                           {"DATABASE_HOST", "127.0.0.1"},
                                           {"DATABASE_PORT", std::to_string(port)},
                                           {"DATABASE_NAME", kPgbenchDb},
                                           {"DATABASE_USER", pg.at("user")},
                                           {"DATABASE_PASSWORD", pg.at("password")}},
                                          &status);
  ASSERT_EQ(status, 0) << output << bouncer.log();
  const auto json = nlohmann::json::parse(output.substr(output.find('{')));
  EXPECT_EQ(json["branches"], 1);  // pgbench -s 1
  EXPECT_EQ(json["default"]["PORT"], std::to_string(port));
}

}  // namespace
}  // namespace dbopt::pool
