#include "tools/session_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <system_error>

#include "core/common/error.h"

namespace dbopt::tools {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using Clock = std::chrono::system_clock;

constexpr std::size_t kIdHexDigits = 32;

// 128 random bits: ids are capabilities (whoever has one reads the session).
std::string new_id() {
  static thread_local std::random_device device;
  static const char* hex = "0123456789abcdef";
  std::string id = "s_";
  for (int i = 0; i < 4; ++i) {
    std::uint32_t bits = device();
    for (int j = 0; j < 8; ++j, bits >>= 4) id += hex[bits & 0xf];
  }
  return id;
}

long long to_ms(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
Clock::time_point from_ms(long long ms) { return Clock::time_point(std::chrono::milliseconds(ms)); }

Json to_json(const SessionSnapshot& s) {
  Json entries = Json::array();
  for (const auto& e : s.entries)
    entries.push_back({{"tool", e.tool},
                       {"arguments", e.arguments},
                       {"structured", e.structured},
                       {"markdown", e.markdown},
                       {"is_error", e.is_error},
                       {"at_ms", to_ms(e.at)}});
  return {{"id", s.id},
          {"title", s.title},
          {"created_ms", to_ms(s.created)},
          {"dropped_entries", s.dropped_entries},
          {"entries", std::move(entries)}};
}

SessionSnapshot from_json(const Json& j) {
  SessionSnapshot s;
  s.id = j.at("id").get<std::string>();
  s.title = j.value("title", "");
  s.created = from_ms(j.value("created_ms", 0LL));
  s.dropped_entries = j.value("dropped_entries", std::size_t{0});
  for (const auto& e : j.at("entries"))
    s.entries.push_back({.tool = e.at("tool").get<std::string>(),
                         .arguments = e.value("arguments", Json()),
                         .structured = e.value("structured", Json()),
                         .markdown = e.value("markdown", ""),
                         .is_error = e.value("is_error", false),
                         .at = from_ms(e.value("at_ms", 0LL))});
  return s;
}

std::optional<SessionSnapshot> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  try {
    return from_json(Json::parse(text.str()));
  } catch (const std::exception&) {
    return std::nullopt;  // not a session file of ours: treated as absent, never overwritten blindly
  }
}

// An exclusive flock() on the directory's lock file for the lifetime of the
// object: one writer at a time across threads and processes (flock locks
// belong to the open file description, so two opens in one process exclude
// each other too).
class DirectoryLock {
 public:
  explicit DirectoryLock(const fs::path& directory) {
    const fs::path file = directory / ".lock";
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0)
      throw Error(ErrorCode::unavailable, "Cannot lock the session directory " + directory.string() + ".",
                  "Check that the directory is writable by this user, or set sessions.dir in the config.");
  }
  ~DirectoryLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  int fd_ = -1;
};

fs::path private_directory() {
  std::string pattern = (fs::temp_directory_path() / "dbopt-sessions-XXXXXX").string();
  if (!::mkdtemp(pattern.data()))
    throw Error(ErrorCode::unavailable, "Cannot create a temporary session directory.",
                "Set sessions.dir in the config to a writable directory.");
  return pattern;
}

}  // namespace

fs::path default_session_directory() {
  if (const char* state = std::getenv("XDG_STATE_HOME"); state && *state == '/')
    return fs::path(state) / "dbopt" / "sessions";
  if (const char* home = std::getenv("HOME"); home && *home == '/')
    return fs::path(home) / ".local" / "state" / "dbopt" / "sessions";
  return {};
}

SessionStore::SessionStore(SessionStoreOptions options) : options_(std::move(options)) {
  options_.max_sessions = std::max<std::size_t>(1, options_.max_sessions);
  options_.max_entries = std::max<std::size_t>(2, options_.max_entries);
  if (options_.directory.empty()) {
    options_.directory = private_directory();
    owns_directory_ = true;
    return;
  }
  std::error_code ec;
  fs::create_directories(options_.directory, ec);
  if (ec || !fs::is_directory(options_.directory))
    throw Error(ErrorCode::unavailable,
                "Cannot create the session directory " + options_.directory.string() + ": " + ec.message() + ".",
                "Set sessions.dir in the config (or XDG_STATE_HOME) to a directory this user can write.");
  fs::permissions(options_.directory, fs::perms::owner_all, fs::perm_options::replace, ec);  // ids are secrets
}

SessionStore::~SessionStore() {
  std::error_code ec;
  if (owns_directory_) fs::remove_all(options_.directory, ec);
}

bool SessionStore::valid_id(const std::string& id) {
  return id.size() == 2 + kIdHexDigits && id.starts_with("s_") &&
         std::all_of(id.begin() + 2, id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

fs::path SessionStore::path_of(const std::string& id) const { return options_.directory / (id + ".json"); }

void SessionStore::write(const SessionSnapshot& session) const {
  const std::string text = to_json(session).dump();
  if (text.size() > options_.max_bytes)
    throw Error(ErrorCode::invalid_argument,
                "Session '" + session.id + "' is full: with this call it would hold " + std::to_string(text.size()) +
                    " bytes, above the limit of " + std::to_string(options_.max_bytes) +
                    " (sessions.max_bytes_per_session); the call was not recorded.",
                "Write the report now (session_report) and start a new session for the next calls, or raise "
                "sessions.max_bytes_per_session in the config.");
  static std::atomic<unsigned> counter{0};
  const fs::path temporary = options_.directory / ("." + session.id + "." + std::to_string(::getpid()) + "." +
                                                   std::to_string(++counter) + ".tmp");
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      std::error_code ignored;
      fs::remove(temporary, ignored);
      throw Error(ErrorCode::unavailable, "Cannot write the session file " + temporary.string() + ".",
                  "Check the free space and permissions of " + options_.directory.string() + ".");
    }
  }
  std::error_code ec;
  fs::rename(temporary, path_of(session.id), ec);
  if (ec) {
    fs::remove(temporary, ec);
    throw Error(ErrorCode::unavailable, "Cannot save session '" + session.id + "' in " + options_.directory.string(),
                "Check the permissions of the directory.");
  }
  // The modification time orders sessions by use; the kernel stamps files
  // with a coarse clock (milliseconds apart look equal), so stamp it finely.
  fs::last_write_time(path_of(session.id), fs::file_time_type::clock::now(), ec);
}

std::string SessionStore::create(std::string title) {
  SessionSnapshot session;
  session.id = new_id();
  session.title = std::move(title);
  session.created = Clock::now();
  DirectoryLock lock(options_.directory);
  std::vector<std::string> existing = ids();
  while (existing.size() >= options_.max_sessions) {
    std::error_code ec;
    fs::remove(path_of(existing.back()), ec);
    existing.pop_back();
  }
  write(session);
  return session.id;
}

bool SessionStore::exists(const std::string& id) const {
  std::error_code ec;
  return valid_id(id) && fs::is_regular_file(path_of(id), ec);
}

bool SessionStore::record(const std::string& id, SessionEntry entry) {
  if (!valid_id(id)) return false;
  DirectoryLock lock(options_.directory);
  auto session = read_file(path_of(id));
  if (!session) return false;
  if (session->entries.size() >= options_.max_entries) {
    session->entries.erase(session->entries.begin() + 1);  // keep the first call: it usually sets the scene
    ++session->dropped_entries;
  }
  entry.at = Clock::now();
  session->entries.push_back(std::move(entry));
  write(*session);
  return true;
}

std::optional<SessionSnapshot> SessionStore::snapshot(const std::string& id) const {
  if (!valid_id(id)) return std::nullopt;
  return read_file(path_of(id));  // renamed into place whole: no lock needed to read
}

std::vector<std::string> SessionStore::ids() const {
  std::vector<std::pair<fs::file_time_type, std::string>> found;
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(options_.directory, ec)) {
    const fs::path& path = item.path();
    if (path.extension() != ".json" || !valid_id(path.stem().string())) continue;
    std::error_code time_error;
    const auto time = fs::last_write_time(path, time_error);
    if (!time_error) found.emplace_back(time, path.stem().string());
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (auto& [time, id] : found) out.push_back(std::move(id));
  return out;
}

}  // namespace dbopt::tools
