#include "core/pg/detail/connection.h"

#include <utility>

#include <pqxx/internal/ignore-deprecated-pre.hxx>

namespace dbopt::pg::detail {
namespace {
constexpr size_t kMaxNotices = 100;  // a chatty function must not grow memory without bound
}

Connection::Connection(const std::string& conninfo) : conn_(conninfo), notices_(conn_) {
  // Deprecated in libpqxx 6 but the only switch there is; see the header for why it matters.
  conn_.inhibit_reactivation(true);
}

Connection::~Connection() = default;

bool Connection::NoticeCollector::operator()(const char msg[]) noexcept {
  try {
    if (notices.size() >= kMaxNotices) return false;
    std::string text(msg);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    notices.push_back(std::move(text));
  } catch (...) {
  }
  return false;  // handled: no older handler needs it
}

void Connection::clear_notices() { notices_.notices.clear(); }

std::vector<std::string> Connection::take_notices() { return std::exchange(notices_.notices, {}); }

}  // namespace dbopt::pg::detail

#include <pqxx/internal/ignore-deprecated-post.hxx>
