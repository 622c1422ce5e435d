// Helpers for the pool tests that need real services: the test PostgreSQL and
// PgBouncer of scripts/test-services (DBOPT_TEST_* variables), child processes
// (pgbench, pgbouncer, python3), a private PgBouncer started from a generated
// pgbouncer.ini (as the postgres user when root, on a free 127.0.0.1 port,
// stopped by its destructor).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace dbopt::pool::testing {

inline std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

inline std::string pg_bindir() {
  const std::string dir = env_or_empty("DBOPT_PG_BINDIR");
  return dir.empty() ? "/usr/lib/postgresql/15/bin" : dir;
}

#define DBOPT_REQUIRE_POOL_SERVICES()                                                                            \
  do {                                                                                                           \
    if (::dbopt::pool::testing::env_or_empty("DBOPT_TEST_DATABASE_URL").empty() ||                               \
        ::dbopt::pool::testing::env_or_empty("DBOPT_TEST_PGBOUNCER_URL").empty() ||                              \
        ::dbopt::pool::testing::env_or_empty("DBOPT_TEST_PGBOUNCER_ADMIN_URL").empty())                          \
      GTEST_SKIP() << "DBOPT_TEST_DATABASE_URL / DBOPT_TEST_PGBOUNCER_URL / DBOPT_TEST_PGBOUNCER_ADMIN_URL are " \
                      "not set: start the test services with scripts/test-services start, then eval "            \
                      "\"$(scripts/test-services env)\" (the project's test command does both).";                \
  } while (0)

// The parts of a libpq connection string.
inline std::map<std::string, std::string> conninfo(const std::string& url) {
  std::map<std::string, std::string> out;
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (!options) {
    std::string message = error ? error : "unparsable";
    PQfreemem(error);
    throw std::runtime_error("bad connection string: " + message);
  }
  for (PQconninfoOption* o = options; o->keyword; ++o)
    if (o->val) out[o->keyword] = o->val;
  PQconninfoFree(options);
  return out;
}

// One libpq connection, for checks independent of the code under test.
class PgConnection {
 public:
  explicit PgConnection(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(conn_));
  }
  ~PgConnection() { PQfinish(conn_); }
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Simple-protocol query; rows of text (works on PgBouncer's admin console too).
  std::vector<std::map<std::string, std::string>> query(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    const auto status = PQresultStatus(r);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      std::string message = PQerrorMessage(conn_);
      PQclear(r);
      throw std::runtime_error(sql + ": " + message);
    }
    std::vector<std::map<std::string, std::string>> rows;
    for (int i = 0; i < PQntuples(r); ++i) {
      std::map<std::string, std::string> row;
      for (int c = 0; c < PQnfields(r); ++c) row[PQfname(r, c)] = PQgetvalue(r, i, c);
      rows.push_back(std::move(row));
    }
    PQclear(r);
    return rows;
  }
  std::string scalar(const std::string& sql) {
    auto rows = query(sql);
    return rows.empty() ? "" : rows[0].begin()->second;
  }

 private:
  PGconn* conn_;
};

// A child process: argv run with extra environment, output to a file.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& extra_env,
               const std::string& output_file) {
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
      std::string entry = *e;
      if (!extra_env.contains(entry.substr(0, entry.find('=')))) env_strings.push_back(entry);
    }
    for (const auto& [k, v] : extra_env) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp, args;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_copy = argv;
    for (auto& s : argv_copy) args.push_back(s.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, output_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int rc = posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
    output_ = output_file;
  }
  ~ChildProcess() {
    if (pid_ > 0 && !waited_) {
      kill(pid_, SIGTERM);
      wait();
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Exit status (-1 when killed by a signal).
  int wait() {
    if (waited_) return status_;
    int status = 0;
    waitpid(pid_, &status, 0);
    waited_ = true;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return status_;
  }
  std::string output() const {
    std::ifstream in(output_);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  pid_t pid_ = -1;
  bool waited_ = false;
  int status_ = 0;
  std::string output_;
};

inline int run_and_wait(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                        const std::string& output_file, std::string* output = nullptr) {
  ChildProcess p(argv, env, output_file);
  const int status = p.wait();
  if (output) *output = p.output();
  return status;
}

inline int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// A private directory the service user (postgres when root) owns.
class ServiceDirectory {
 public:
  ServiceDirectory() {
    char pattern[] = "/tmp/dbopt-pool-test-XXXXXX";
    if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
    chown_to_service_user(path_);
  }
  ~ServiceDirectory() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void write(const std::string& name, const std::string& text, mode_t mode = 0600) const {
    std::ofstream(file(name)) << text;
    chmod(file(name).c_str(), mode);
    chown_to_service_user(file(name));
  }
  static bool as_root() { return geteuid() == 0; }

 private:
  static void chown_to_service_user(const std::string& path) {
    if (!as_root()) return;
    if (const passwd* pw = getpwnam("postgres")) {
      if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown failed: " + path);
    }
  }
  std::string path_;
};

// A PgBouncer run from a given pgbouncer.ini (which must set pidfile to
// dir/pgbouncer.pid and logfile); stopped (SIGTERM to its pid) on destruction.
class PrivatePgBouncer {
 public:
  PrivatePgBouncer(const ServiceDirectory& dir, const std::string& admin_url) : dir_(dir) {
    std::vector<std::string> argv = {"pgbouncer", "-d", dir.file("pgbouncer.ini")};
    if (ServiceDirectory::as_root()) argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
    std::string output;
    const int status = run_and_wait(argv, {}, dir.file("start.out"), &output);
    if (status != 0)
      throw std::runtime_error("pgbouncer did not start (" + std::to_string(status) + "): " + output + log());
    for (int i = 0; i < 80; ++i) {
      PGconn* c = PQconnectdb((admin_url + "?connect_timeout=2").c_str());
      const bool ok = PQstatus(c) == CONNECTION_OK;
      PQfinish(c);
      if (ok) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    stop();
    throw std::runtime_error("pgbouncer does not answer: " + log());
  }
  ~PrivatePgBouncer() { stop(); }
  std::string log() const {
    std::ifstream in(dir_.file("pgbouncer.log"));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  void stop() {
    std::ifstream in(dir_.file("pgbouncer.pid"));
    pid_t pid = 0;
    if (!(in >> pid) || pid <= 0) return;
    // Only our pgbouncer: the pid file is in our private directory.
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    comm >> name;
    if (name != "pgbouncer") return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 50 && kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const ServiceDirectory& dir_;
};

}  // namespace dbopt::pool::testing
