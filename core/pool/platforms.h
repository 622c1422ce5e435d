// PlatformTable: connection limits of PostgreSQL platforms (Supabase, Neon,
// RDS, Aurora, Cloud SQL, self-hosted, PgBouncer), read from
// knowledge/platforms.yaml so the vendors' tables stay data.
//
// load() validates strictly (unknown keys, missing numbers and non-positive
// limits throw dbopt::Error(invalid_argument) naming file and platform).
// Lookups never guess: an unknown platform id returns nullptr and an unknown
// compute size throws Error(invalid_argument) listing the known sizes.
// Immutable after loading; safe to share between threads.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dbopt::pool {

// How the application reaches the server on this platform.
enum class Topology { direct, pgbouncer, supavisor, neon_pooler, rds_proxy };
const char* to_string(Topology topology);

struct ComputeSize {
  std::string name;
  int max_connections = 0;
  std::optional<int> pooler_max_clients;
  std::optional<double> vcpus;
  std::optional<double> memory_gb;
  std::optional<double> compute_units;  // Neon
  bool and_above = false;               // "9+ CU": this row covers every larger size
};

// A serverless platform's compute that resizes itself (Neon): the range it
// may take, and when it suspends.
struct Autoscaling {
  double smallest_cu = 0;  // the smallest minimum a range may have
  double largest_cu = 0;   // the largest maximum a range may have
  // max_connections is set when the compute starts (changing it needs a
  // restart), from the range's maximum.
  bool max_connections_from_max = true;
  int scale_to_zero_after_s = 0;  // idle time before the compute suspends (0: never)
  int cold_start_ms = 0;          // the first connection's wait while it resumes
  double hours_per_month = 730;   // for CU-hours per month
};

struct MemoryTier {
  double min_memory_gb = 0;
  int max_connections = 0;
};

struct Platform {
  std::string id;  // "supabase"
  std::string name;
  Topology topology = Topology::direct;
  int superuser_reserved_connections = 3;
  std::optional<int> direct_port, session_port, transaction_port, pooler_port;
  std::optional<int> pooler_max_clients;              // platform-wide (Neon)
  std::optional<double> pooler_pool_share;            // Neon: 0.9
  bool max_connections_fixed = false;                 // Neon: set by the compute size
  std::optional<double> memory_bytes_per_connection;  // RDS formula
  std::optional<int> max_connections_cap;
  std::optional<int> max_connections_percent_default;  // RDS Proxy
  std::vector<ComputeSize> sizes;
  std::vector<MemoryTier> memory_tiers;
  std::optional<Autoscaling> autoscaling;
  std::string source;  // where the numbers come from

  // The size named `name` (case and spaces ignored: "small", "2 cu", "2CU",
  // "12 CU" matches "9+ CU", with vcpus and memory scaled to 12 CU). Throws Error(invalid_argument) naming
  // `server.compute_size` and the known sizes.
  ComputeSize size(std::string_view name) const;
  // Default max_connections for this much memory, when the platform derives it.
  std::optional<int> max_connections_for_memory(double memory_gb) const;
  // The arithmetic behind max_connections_for_memory, for people.
  std::string max_connections_formula_text(double memory_gb) const;
};

class PlatformTable {
 public:
  // Throws Error(not_found) when the file is missing, Error(invalid_argument)
  // when it is malformed.
  static PlatformTable load(const std::filesystem::path& file);
  static PlatformTable load_text(std::string_view yaml, std::string_view source_name);

  const Platform* find(std::string_view id) const;
  std::vector<std::string> ids() const;
  const std::vector<Platform>& platforms() const { return platforms_; }

 private:
  std::vector<Platform> platforms_;
};

}  // namespace dbopt::pool
