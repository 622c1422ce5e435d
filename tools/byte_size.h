// Sizes for people: "8 kB", "89.7 MB", "1.2 GB" (a small index is never "0.0 MB").
#pragma once

#include <cstdio>
#include <string>

namespace dbopt::tools {

inline std::string byte_size_text(long long bytes) {
  char text[32];
  if (bytes >= 1024LL * 1024 * 1024)
    std::snprintf(text, sizeof text, "%.1f GB", bytes / (1024.0 * 1024 * 1024));
  else if (bytes >= 1024LL * 1024)
    std::snprintf(text, sizeof text, "%.1f MB", bytes / (1024.0 * 1024));
  else
    std::snprintf(text, sizeof text, "%.0f kB", bytes / 1024.0);
  return text;
}

}  // namespace dbopt::tools
