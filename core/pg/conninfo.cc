#include "core/pg/detail/conninfo.h"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace dbopt::pg::detail {
namespace {

bool is_uri(std::string_view dsn) {
  while (!dsn.empty() && std::isspace(static_cast<unsigned char>(dsn.front()))) dsn.remove_prefix(1);
  return dsn.starts_with("postgresql://") || dsn.starts_with("postgres://");
}

std::string percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

void add(std::vector<std::string>& out, std::string value) {
  if (value.empty()) return;
  if (std::find(out.begin(), out.end(), value) == out.end()) out.push_back(std::move(value));
}

// key=value form: values are bare words or single-quoted with backslash escapes.
void kv_passwords(std::string_view dsn, std::vector<std::string>& out) {
  size_t i = 0;
  auto skip_space = [&] {
    while (i < dsn.size() && std::isspace(static_cast<unsigned char>(dsn[i]))) ++i;
  };
  while (i < dsn.size()) {
    skip_space();
    size_t key_start = i;
    while (i < dsn.size() && dsn[i] != '=' && !std::isspace(static_cast<unsigned char>(dsn[i]))) ++i;
    std::string key(dsn.substr(key_start, i - key_start));
    skip_space();
    if (i >= dsn.size() || dsn[i] != '=') continue;  // malformed; libpq reports it
    ++i;
    skip_space();
    std::string value;
    if (i < dsn.size() && dsn[i] == '\'') {
      ++i;
      while (i < dsn.size() && dsn[i] != '\'') {
        if (dsn[i] == '\\' && i + 1 < dsn.size()) ++i;
        value += dsn[i++];
      }
      ++i;
    } else {
      while (i < dsn.size() && !std::isspace(static_cast<unsigned char>(dsn[i]))) {
        if (dsn[i] == '\\' && i + 1 < dsn.size()) ++i;
        value += dsn[i++];
      }
    }
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    if (key == "password") add(out, value);
  }
}

void uri_passwords(std::string_view dsn, std::vector<std::string>& out) {
  size_t scheme_end = dsn.find("://");
  if (scheme_end == std::string_view::npos) return;
  std::string_view rest = dsn.substr(scheme_end + 3);
  size_t authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    size_t colon = userinfo.find(':');
    if (colon != std::string_view::npos) {
      std::string_view raw = userinfo.substr(colon + 1);
      add(out, std::string(raw));
      add(out, percent_decode(raw));
    }
  }
  size_t query = dsn.find('?');
  if (query == std::string_view::npos) return;
  std::string_view params = dsn.substr(query + 1);
  while (!params.empty()) {
    size_t amp = params.find('&');
    std::string_view pair = params.substr(0, amp);
    if (pair.starts_with("password=")) {
      std::string_view raw = pair.substr(9);
      add(out, std::string(raw));
      add(out, percent_decode(raw));
    }
    if (amp == std::string_view::npos) break;
    params.remove_prefix(amp + 1);
  }
}

}  // namespace

std::string with_client_params(const std::string& dsn, int connect_timeout_s, const std::string& application_name) {
  const std::string timeout = std::to_string(std::max(1, connect_timeout_s));
  if (is_uri(dsn)) {
    // application_name comes from dbopt, never from user input, so it needs no URI encoding.
    return dsn + (dsn.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=" + timeout +
           "&application_name=" + application_name;
  }
  std::string out = dsn;
  if (!out.empty()) out += ' ';
  out += "connect_timeout=" + timeout + " application_name='" + application_name + "'";
  return out;
}

std::vector<std::string> dsn_passwords(const std::string& dsn) {
  std::vector<std::string> out;
  if (is_uri(dsn))
    uri_passwords(dsn, out);
  else
    kv_passwords(dsn, out);
  // Longest first, so a password that contains another is masked whole.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return out;
}

std::string scrub_password(std::string message, const std::string& dsn) {
  for (const auto& secret : dsn_passwords(dsn)) {
    for (size_t pos = message.find(secret); pos != std::string::npos; pos = message.find(secret, pos + 3))
      message.replace(pos, secret.size(), "***");
  }
  return message;
}

}  // namespace dbopt::pg::detail
