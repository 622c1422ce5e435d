// Loading Settings from a config file, the environment and flags.
//
// Precedence, lowest to highest: built-in defaults, the JSON config file
// (--config FILE or DBOPT_CONFIG; config/dbopt.example.json documents every
// key), environment variables, command-line flags. Unknown keys and wrong
// types in the file are errors that name the key, so a typo never silently
// falls back to a default. Throws dbopt::Error(invalid_argument).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/common/settings.h"

namespace dbopt::server {

using Environment = std::map<std::string, std::string>;

Environment process_environment();

// config_path: empty = none (or DBOPT_CONFIG from env).
Settings load_settings(const std::string& config_path, const Environment& env);

// Applies one config file's text (`path` names it in messages) over `settings`.
void apply_config_text(const std::string& text, const std::string& path, Settings& settings);

// Checks cross-field rules (a non-loopback HTTP bind needs a bearer token, ...).
void validate_settings(const Settings& settings);

bool is_loopback_host(const std::string& host);

}  // namespace dbopt::server
