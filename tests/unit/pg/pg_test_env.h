// Shared helpers for the core/pg tests: they run against the real PostgreSQL
// and PgBouncer that scripts/test-services starts, found through the
// DBOPT_TEST_* variables it prints. Checks on the database's state use libpqxx
// directly as the superuser, independent of the code under test.
#pragma once

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "core/common/settings.h"

namespace dbopt::pg::testing {

inline std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

inline std::string database_url() { return env_or_empty("DBOPT_TEST_DATABASE_URL"); }
inline std::string scratch_url() { return env_or_empty("DBOPT_TEST_SCRATCH_URL"); }
inline std::string reader_url() { return env_or_empty("DBOPT_TEST_READER_URL"); }
inline std::string pgbouncer_url() { return env_or_empty("DBOPT_TEST_PGBOUNCER_URL"); }
inline std::string pgbouncer_admin_url() { return env_or_empty("DBOPT_TEST_PGBOUNCER_ADMIN_URL"); }

#define DBOPT_REQUIRE_TEST_DATABASE()                                                                   \
  do {                                                                                                  \
    if (::dbopt::pg::testing::database_url().empty() || ::dbopt::pg::testing::scratch_url().empty())    \
      GTEST_SKIP() << "DBOPT_TEST_DATABASE_URL / DBOPT_TEST_SCRATCH_URL are not set: start the test "   \
                      "services with scripts/test-services start, then eval \"$(scripts/test-services " \
                      "env)\" (the project's test command does both).";                                 \
  } while (0)

// "default" = dbopt_test (superuser, analyzed writes NOT allowed), "scratch" =
// dbopt_scratch (analyzed writes allowed), "reader" = dbopt_test as the
// SELECT-only role, "bouncer" = dbopt_test through PgBouncer (transaction mode).
inline Settings test_settings() {
  Settings settings;
  DatabaseSettings db;
  db.name = "default";
  db.url = database_url();
  db.connect_timeout_s = 5;
  settings.databases.push_back(db);

  DatabaseSettings scratch = db;
  scratch.name = "scratch";
  scratch.url = scratch_url();
  scratch.allow_analyze_writes = true;
  scratch.scratch = true;
  settings.databases.push_back(scratch);

  if (!reader_url().empty()) {
    DatabaseSettings reader = db;
    reader.name = "reader";
    reader.url = reader_url();
    settings.databases.push_back(reader);
  }
  if (!pgbouncer_url().empty()) {
    DatabaseSettings bouncer = db;
    bouncer.name = "bouncer";
    bouncer.url = pgbouncer_url();
    settings.databases.push_back(bouncer);
  }
  return settings;
}

inline DatabaseSettings& database_named(Settings& settings, const std::string& name) {
  for (auto& db : settings.databases)
    if (db.name == name) return db;
  throw std::runtime_error("no test database " + name);
}

// Changes if any row of the table (with an id column) is added, removed or
// rewritten: an INSERT or UPDATE leaves row versions with a newer xmin, a
// DELETE changes the count and the sum of ids. Cheaper than hashing each row.
inline std::string table_fingerprint(const std::string& url, const std::string& table) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  auto r = tx.exec(
      "SELECT count(*) || ':' || coalesce(sum(id), 0) || ':' || coalesce(max(xmin::text::bigint), 0) FROM " + table);
  return r[0][0].c_str();
}

inline bool relation_exists(const std::string& url, const std::string& name) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  return !tx.exec("SELECT to_regclass(" + tx.quote(name) + ")")[0][0].is_null();
}

inline std::string superuser_scalar(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  auto r = tx.exec(sql);
  return r.empty() || r[0][0].is_null() ? "" : r[0][0].c_str();
}

}  // namespace dbopt::pg::testing
