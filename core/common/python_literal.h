// A Python string literal for generated code (Django settings, models, migrations).
#pragma once

#include <string>

namespace dbopt {

inline std::string python_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace dbopt
