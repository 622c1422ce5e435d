#include "core/pool/pgtune.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/common/error.h"

namespace dbopt::pool {
namespace {

constexpr long long kMb = 1024;
constexpr long long kGb = 1024 * 1024;

std::string plain(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

const char* suffix(Workload w) { return to_string(w); }

}  // namespace

const char* to_string(Workload workload) {
  switch (workload) {
    case Workload::web:
      return "web";
    case Workload::oltp:
      return "oltp";
    case Workload::dw:
      return "dw";
    case Workload::desktop:
      return "desktop";
    case Workload::mixed:
      return "mixed";
  }
  return "web";
}

const char* to_string(Storage storage) {
  switch (storage) {
    case Storage::ssd:
      return "ssd";
    case Storage::hdd:
      return "hdd";
    case Storage::san:
      return "san";
  }
  return "ssd";
}

std::optional<Workload> parse_workload(const std::string& text) {
  for (auto w : {Workload::web, Workload::oltp, Workload::dw, Workload::desktop, Workload::mixed})
    if (text == to_string(w)) return w;
  return std::nullopt;
}

std::optional<Storage> parse_storage(const std::string& text) {
  for (auto s : {Storage::ssd, Storage::hdd, Storage::san})
    if (text == to_string(s)) return s;
  return std::nullopt;
}

std::string format_kb(long long kb) {
  if (kb % kGb == 0) return std::to_string(kb / kGb) + "GB";
  if (kb % kMb == 0) return std::to_string(kb / kMb) + "MB";
  return std::to_string(kb) + "kB";
}

std::vector<TunedSetting> pgtune(const PgTuneInput& in, const knowledge::Rule& rule) {
  if (!(in.memory_gb > 0))
    throw Error(ErrorCode::invalid_argument, "`server.memory_gb` must be above 0 for the memory settings.",
                "Give the server's memory in GB, e.g. 16.");
  if (in.max_connections < 1)
    throw Error(ErrorCode::invalid_argument, "`server.max_connections` must be at least 1.",
                "Give the server's max_connections (SHOW max_connections).");
  const auto t = [&](const std::string& name) { return rule.threshold(name); };
  const bool desktop = in.workload == Workload::desktop;
  const bool dw = in.workload == Workload::dw;
  const long long ram_kb = static_cast<long long>(std::llround(in.memory_gb * kGb));
  const std::string ram_text = format_kb(ram_kb) + " = " + std::to_string(ram_kb) + " kB";
  std::vector<TunedSetting> out;
  const auto memory = [&](std::string name, long long kb, std::string arithmetic) {
    out.push_back({std::move(name), format_kb(kb), static_cast<double>(kb), "kB", std::move(arithmetic)});
  };
  const auto value = [&](std::string name, double v, std::string arithmetic) {
    out.push_back({std::move(name), plain(v), v, "", std::move(arithmetic)});
  };

  const double sb_divisor = desktop ? t("shared_buffers_divisor_desktop") : t("shared_buffers_divisor");
  const long long shared_buffers = static_cast<long long>(std::floor(ram_kb / sb_divisor));
  memory("shared_buffers", shared_buffers, "RAM / " + plain(sb_divisor) + " = " + ram_text + " / " + plain(sb_divisor));

  const double ecs_share = desktop ? t("effective_cache_share_desktop") : t("effective_cache_share");
  memory("effective_cache_size", static_cast<long long>(std::floor(ram_kb * ecs_share)),
         "RAM x " + plain(ecs_share) + " = " + std::to_string(ram_kb) + " kB x " + plain(ecs_share));

  const double mwm_divisor = dw ? t("maintenance_divisor_dw") : t("maintenance_divisor");
  const long long mwm_cap = static_cast<long long>(t("maintenance_work_mem_cap_mb")) * kMb;
  const long long mwm_raw = static_cast<long long>(std::floor(ram_kb / mwm_divisor));
  const long long mwm = std::min(mwm_raw, mwm_cap);
  memory("maintenance_work_mem", mwm,
         "min(RAM / " + plain(mwm_divisor) + " = " + format_kb(mwm_raw) + ", cap " + format_kb(mwm_cap) + ")");

  value("checkpoint_completion_target", t("checkpoint_completion_target"), "pgtune's fixed value");

  const long long wal_cap = static_cast<long long>(t("wal_buffers_cap_mb")) * kMb;
  long long wal_buffers = static_cast<long long>(std::floor(shared_buffers * t("wal_buffers_share")));
  std::string wal_text = "min(shared_buffers x " + plain(t("wal_buffers_share")) + " = " + std::to_string(wal_buffers) +
                         " kB, " + format_kb(wal_cap) + ")";
  wal_buffers = std::min(wal_buffers, wal_cap);
  // pgtune rounds up to the cap when close to it, and keeps 32 kB as the floor.
  if (wal_buffers > wal_cap - 2 * kMb && wal_buffers < wal_cap) {
    wal_buffers = wal_cap;
    wal_text += ", rounded up to the cap when within 2 MB of it";
  }
  wal_buffers = std::max<long long>(wal_buffers, 32);
  memory("wal_buffers", wal_buffers, wal_text);

  value("default_statistics_target", dw ? t("statistics_target_dw") : t("statistics_target"),
        dw ? "dw: more detailed statistics" : "PostgreSQL's default");
  const double rpc = in.storage == Storage::hdd ? t("random_page_cost_hdd") : t("random_page_cost_ssd");
  value("random_page_cost", rpc, std::string("storage ") + to_string(in.storage));
  const double eio = in.storage == Storage::hdd   ? t("effective_io_concurrency_hdd")
                     : in.storage == Storage::san ? t("effective_io_concurrency_san")
                                                  : t("effective_io_concurrency_ssd");
  value("effective_io_concurrency", eio, std::string("storage ") + to_string(in.storage));

  // work_mem: what is left after shared_buffers, shared by every connection
  // (and parallel worker) with `operations_per_connection` sorts or hashes each.
  const bool many_cpus = in.cpus && *in.cpus >= t("parallel_min_cpus");
  const double workers = many_cpus ? std::floor(*in.cpus) : t("default_worker_processes");
  const double per_op = t("operations_per_connection");
  const double divisor = desktop                                  ? t("work_mem_divisor_desktop")
                         : (dw || in.workload == Workload::mixed) ? t("work_mem_divisor_dw_mixed")
                                                                  : 1.0;
  const double raw = static_cast<double>(ram_kb - shared_buffers) / ((in.max_connections + workers) * per_op);
  long long work_mem = static_cast<long long>(std::floor(raw / divisor));
  const long long work_mem_min = static_cast<long long>(t("work_mem_min_kb"));
  std::string wm_text = "(RAM - shared_buffers) / ((max_connections + W) x " + plain(per_op) + ")" +
                        (divisor != 1.0 ? " / " + plain(divisor) : "") + " = (" + std::to_string(ram_kb) + " - " +
                        std::to_string(shared_buffers) + ") kB / ((" + std::to_string(in.max_connections) + " + " +
                        plain(workers) + ") x " + plain(per_op) + ")" + (divisor != 1.0 ? " / " + plain(divisor) : "") +
                        " = " + std::to_string(work_mem) +
                        " kB; W = " + (many_cpus ? "CPUs" : "max_worker_processes default " + plain(workers));
  if (work_mem < work_mem_min) {
    work_mem = work_mem_min;
    wm_text += "; raised to the floor " + format_kb(work_mem_min);
  }
  memory("work_mem", work_mem, wm_text);

  const std::string w = suffix(in.workload);
  memory("min_wal_size", static_cast<long long>(t("min_wal_size_mb_" + w)) * kMb, std::string("workload ") + w);
  memory("max_wal_size", static_cast<long long>(t("max_wal_size_mb_" + w)) * kMb, std::string("workload ") + w);

  if (many_cpus) {
    const double cpus = std::floor(*in.cpus);
    const double cap = t("parallel_workers_cap");
    const double per_gather = dw ? std::ceil(cpus / 2) : std::min(std::ceil(cpus / 2), cap);
    value("max_worker_processes", cpus, "CPUs");
    value("max_parallel_workers_per_gather", per_gather,
          "ceil(CPUs / 2)" + std::string(dw ? " (dw: not capped)" : ", capped at " + plain(cap)));
    value("max_parallel_workers", cpus, "CPUs");
    value("max_parallel_maintenance_workers", std::min(std::ceil(cpus / 2), cap),
          "min(ceil(CPUs / 2), " + plain(cap) + ")");
  }
  return out;
}

}  // namespace dbopt::pool
