// pgtune: PostgreSQL memory and WAL settings for a machine shape, with the
// connection count in the work_mem formula, so that work_mem x connections
// cannot exhaust memory.
//
// The formulas are pgtune's classic ones (le0pard/pgtune; ../shared/REFERENCE.md):
// shared_buffers RAM/4 (desktop RAM/16), effective_cache_size 3/4 RAM
// (desktop 1/4), maintenance_work_mem RAM/16 (dw RAM/8) capped,
// work_mem = (RAM - shared_buffers) / ((max_connections + W) x 3) / {1, 2, 6},
// wal_buffers 3 % of shared_buffers capped at 16 MB, WAL sizes by workload.
// The constants come from the rule POOL_PGTUNE_MEMORY (knowledge/rules/pool.yaml).
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "knowledge/rule.h"

namespace dbopt::pool {

enum class Workload { web, oltp, dw, desktop, mixed };
enum class Storage { ssd, hdd, san };
const char* to_string(Workload workload);
const char* to_string(Storage storage);
std::optional<Workload> parse_workload(const std::string& text);
std::optional<Storage> parse_storage(const std::string& text);

struct PgTuneInput {
  double memory_gb = 0;
  std::optional<double> cpus;  // fractional vCPUs allowed (Neon 0.25 CU)
  int max_connections = 100;
  Workload workload = Workload::web;
  Storage storage = Storage::ssd;
};

struct TunedSetting {
  std::string name;        // postgresql.conf name
  std::string value;       // as postgresql.conf takes it: "4GB", "20560kB", "1.1"
  double number = 0;       // kB for memory settings, else the plain value
  std::string unit;        // "kB" or ""
  std::string arithmetic;  // how it was computed, for people
};

// Throws dbopt::Error(invalid_argument) for memory_gb <= 0 or max_connections < 1.
std::vector<TunedSetting> pgtune(const PgTuneInput& input, const knowledge::Rule& rule);

// pgtune's display form: whole GB or MB when exact, else kB.
std::string format_kb(long long kb);

}  // namespace dbopt::pool
