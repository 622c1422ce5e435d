#include "core/common/settings.h"

#include <regex>

namespace dbopt {

const DatabaseSettings* Settings::find_database(const std::string& name) const {
  const std::string& wanted = name.empty() ? default_database : name;
  for (const auto& db : databases)
    if (db.name == wanted) return &db;
  return nullptr;
}

std::string redact_dsn(const std::string& dsn) {
  // URI form: scheme://user:password@host
  static const std::regex uri_password(R"(^([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@]*:)[^@]*@)");
  // key/value form: password=secret or password='se cret'
  static const std::regex kv_password(R"((password\s*=\s*)('([^'\\]|\\.)*'|\S+))", std::regex::icase);
  std::string out = std::regex_replace(dsn, uri_password, "$1***@");
  out = std::regex_replace(out, kv_password, "$1***");
  return out;
}

std::string redact_secret(const std::string& secret) {
  if (secret.empty()) return "";
  return secret.substr(0, std::min<size_t>(4, secret.size() / 4)) + "***";
}

}  // namespace dbopt
