// One libpq session as core/pg uses it (internal: includes pqxx; only core/pg
// .cc files and core/pg tests include this header).
//
// Reactivation is inhibited: libpqxx 6 would otherwise silently reconnect a
// broken connection on the next statement, which would run that statement
// outside the READ ONLY transaction dbopt opened. Notices the server sends are
// collected so a statement's NOTICEs/WARNINGs can be returned with its result.
// Not thread-safe, except cancel_running_query() (see CancelWatcher).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <pqxx/connection>
#include <pqxx/errorhandler>

namespace dbopt::pg::detail {

class Connection {
 public:
  // Throws pqxx::broken_connection (libpq's message) when it cannot connect.
  explicit Connection(const std::string& conninfo);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  pqxx::connection& raw() { return conn_; }
  bool is_open() const { return conn_.is_open(); }
  int backend_pid() const { return conn_.backendpid(); }
  int server_version() const { return conn_.server_version(); }

  // Forget notices so far; take the ones received since.
  void clear_notices();
  std::vector<std::string> take_notices();

 private:
  class NoticeCollector : public pqxx::errorhandler {
   public:
    explicit NoticeCollector(pqxx::connection_base& conn) : pqxx::errorhandler(conn) {}
    bool operator()(const char msg[]) noexcept override;
    std::vector<std::string> notices;
  };

  pqxx::connection conn_;
  // After conn_: an errorhandler must be destroyed before its connection.
  NoticeCollector notices_;
};

}  // namespace dbopt::pg::detail
