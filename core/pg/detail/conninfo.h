// Connection-string helpers for core/pg (internal: only core/pg and its tests
// include this).
//
// Both libpq forms are handled: postgresql:// URIs and key=value strings.
// Pure functions, thread-safe, no libpq calls (libpq is not on our link line).
#pragma once

#include <string>
#include <vector>

namespace dbopt::pg::detail {

// The DSN with connect_timeout and application_name appended. libpq keeps the
// last value of a repeated key, so the config's connect timeout and dbopt's
// name win over anything already in the DSN.
std::string with_client_params(const std::string& dsn, int connect_timeout_s, const std::string& application_name);

// Every spelling of the DSN's password (as written and percent-decoded), for
// scrubbing messages; empty when the DSN carries none.
std::vector<std::string> dsn_passwords(const std::string& dsn);

// The message with every password of the DSN replaced by "***"; for libpq
// messages, which may quote parts of a malformed connection string.
std::string scrub_password(std::string message, const std::string& dsn);

}  // namespace dbopt::pg::detail
