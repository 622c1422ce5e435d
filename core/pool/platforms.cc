#include "core/pool/platforms.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "core/common/error.h"

namespace dbopt::pool {
namespace {

const std::set<std::string> kPlatformKeys{"name",
                                          "topology",
                                          "superuser_reserved_connections",
                                          "direct_port",
                                          "session_port",
                                          "transaction_port",
                                          "pooler_port",
                                          "pooler_max_clients",
                                          "pooler_pool_share",
                                          "max_connections_fixed",
                                          "max_connections_formula",
                                          "max_connections_percent_default",
                                          "sizes",
                                          "memory_tiers",
                                          "autoscaling",
                                          "source"};
const std::set<std::string> kSizeKeys{"name",      "max_connections", "pooler_max_clients", "vcpus",
                                      "memory_gb", "compute_units",   "and_above"};

class Reader {
 public:
  explicit Reader(std::string_view source) : source_(source) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& where, const std::string& problem) const {
    std::string message = source_;
    if (at.IsDefined() && at.Mark().line >= 0) message += ":" + std::to_string(at.Mark().line + 1);
    throw Error(ErrorCode::invalid_argument, message + ": " + where + ": " + problem,
                "correct the platform table (knowledge/platforms.yaml describes its format at the top)");
  }

  void keys(const YAML::Node& map, const std::set<std::string>& known, const std::string& where) const {
    if (!map.IsMap()) fail(map, where, "expected a mapping");
    for (const auto& entry : map)
      if (!known.contains(entry.first.Scalar())) fail(entry.first, where, "unknown key '" + entry.first.Scalar() + "'");
  }

  double number(const YAML::Node& node, const std::string& where, bool positive = true) const {
    try {
      const double v = node.as<double>();
      if (!std::isfinite(v) || (positive && v <= 0)) fail(node, where, "must be a positive number");
      return v;
    } catch (const YAML::Exception&) {
      fail(node, where, "must be a number");
    }
  }

  int integer(const YAML::Node& node, const std::string& where, bool positive = true) const {
    const double v = number(node, where, positive);
    if (v != std::floor(v)) fail(node, where, "must be a whole number");
    return static_cast<int>(v);
  }

  template <typename T, typename F>
  void optional(const YAML::Node& map, const char* key, std::optional<T>& out, F read) const {
    if (map[key]) out = read(map[key], std::string(key));
  }

 private:
  std::string source_;
};

Topology parse_topology(const Reader& r, const YAML::Node& node, const std::string& where) {
  const std::string t = node.Scalar();
  if (t == "direct") return Topology::direct;
  if (t == "pgbouncer") return Topology::pgbouncer;
  if (t == "supavisor") return Topology::supavisor;
  if (t == "neon_pooler") return Topology::neon_pooler;
  if (t == "rds_proxy") return Topology::rds_proxy;
  r.fail(node, where, "unknown topology '" + t + "'");
}

// "2 CU", "2cu", "2XL" and "2xl" are the same size to a person.
std::string squashed(std::string_view text) {
  std::string out;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string format_number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

}  // namespace

const char* to_string(Topology topology) {
  switch (topology) {
    case Topology::direct:
      return "direct";
    case Topology::pgbouncer:
      return "pgbouncer";
    case Topology::supavisor:
      return "supavisor";
    case Topology::neon_pooler:
      return "neon_pooler";
    case Topology::rds_proxy:
      return "rds_proxy";
  }
  return "direct";
}

ComputeSize Platform::size(std::string_view name) const {
  const std::string wanted = squashed(name);
  for (const auto& s : sizes)
    if (squashed(s.name) == wanted) return s;
  // "12 CU" on Neon: the "9+ CU" row, which covers every larger size.
  if (wanted.size() > 2 && wanted.ends_with("cu")) {
    char* end = nullptr;
    const std::string number = wanted.substr(0, wanted.size() - 2);
    const double units = std::strtod(number.c_str(), &end);
    if (end && *end == '\0') {
      for (const auto& s : sizes)
        if (s.compute_units && *s.compute_units == units) return s;
      for (const auto& s : sizes) {
        if (!s.and_above || !s.compute_units || units < *s.compute_units) continue;
        ComputeSize scaled = s;
        const double factor = units / *s.compute_units;
        scaled.compute_units = units;
        if (s.vcpus) scaled.vcpus = *s.vcpus * factor;
        if (s.memory_gb) scaled.memory_gb = *s.memory_gb * factor;
        return scaled;
      }
    }
  }
  std::string known;
  for (const auto& s : sizes) known += (known.empty() ? "" : ", ") + s.name;
  if (sizes.empty())
    throw Error(ErrorCode::invalid_argument,
                "`server.compute_size`: " + this->name + " has no named compute sizes in dbopt's table.",
                "Drop `server.compute_size` and give `server.max_connections` (and cores / memory_gb) instead.");
  throw Error(ErrorCode::invalid_argument,
              "`server.compute_size`: '" + std::string(name) + "' is not a " + this->name + " compute size.",
              "Use one of: " + known + ".");
}

std::optional<int> Platform::max_connections_for_memory(double memory_gb) const {
  if (memory_bytes_per_connection) {
    const double bytes = memory_gb * 1024 * 1024 * 1024;
    int v = static_cast<int>(std::floor(bytes / *memory_bytes_per_connection));
    if (max_connections_cap) v = std::min(v, *max_connections_cap);
    return v;
  }
  if (!memory_tiers.empty()) {
    std::optional<int> v;
    for (const auto& tier : memory_tiers)
      if (memory_gb >= tier.min_memory_gb) v = tier.max_connections;
    return v;
  }
  return std::nullopt;
}

std::string Platform::max_connections_formula_text(double memory_gb) const {
  const auto v = max_connections_for_memory(memory_gb);
  if (!v) return "";
  if (memory_bytes_per_connection) {
    return "LEAST(" + format_number(memory_gb) + " GB = " + format_number(memory_gb * 1073741824.0) + " B / " +
           format_number(*memory_bytes_per_connection) + ", " + std::to_string(max_connections_cap.value_or(0)) +
           ") = " + std::to_string(*v) + " (an upper estimate: the instance class memory is below its nominal size)";
  }
  return name + " default for " + format_number(memory_gb) + " GB of memory = " + std::to_string(*v);
}

PlatformTable PlatformTable::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw Error(ErrorCode::not_found, "platform table " + file.string() + " does not exist",
                "check knowledge_dir in the config (it must hold platforms.yaml)");
  std::ostringstream text;
  text << in.rdbuf();
  return load_text(text.str(), file.string());
}

PlatformTable PlatformTable::load_text(std::string_view yaml, std::string_view source_name) {
  Reader r(source_name);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    throw Error(ErrorCode::invalid_argument, std::string(source_name) + ": not valid YAML: " + e.what());
  }
  if (!root.IsMap() || !root["platforms"] || !root["platforms"].IsMap())
    r.fail(root, "file", "expected a top-level 'platforms' mapping");
  PlatformTable table;
  for (const auto& entry : root["platforms"]) {
    const YAML::Node node = entry.second;
    Platform p;
    p.id = entry.first.Scalar();
    const std::string where = "platform " + p.id;
    r.keys(node, kPlatformKeys, where);
    if (!node["name"] || node["name"].Scalar().empty()) r.fail(node, where, "missing 'name'");
    if (!node["topology"]) r.fail(node, where, "missing 'topology'");
    if (!node["source"] || node["source"].Scalar().empty()) r.fail(node, where, "missing 'source'");
    p.name = node["name"].Scalar();
    p.topology = parse_topology(r, node["topology"], where);
    p.source = node["source"].Scalar();
    const auto integer = [&](const YAML::Node& n, const std::string& key) { return r.integer(n, where + "." + key); };
    const auto number = [&](const YAML::Node& n, const std::string& key) { return r.number(n, where + "." + key); };
    if (node["superuser_reserved_connections"])
      p.superuser_reserved_connections = r.integer(node["superuser_reserved_connections"], where, false);
    r.optional(node, "direct_port", p.direct_port, integer);
    r.optional(node, "session_port", p.session_port, integer);
    r.optional(node, "transaction_port", p.transaction_port, integer);
    r.optional(node, "pooler_port", p.pooler_port, integer);
    r.optional(node, "pooler_max_clients", p.pooler_max_clients, integer);
    r.optional(node, "pooler_pool_share", p.pooler_pool_share, number);
    r.optional(node, "max_connections_percent_default", p.max_connections_percent_default, integer);
    if (node["max_connections_fixed"]) p.max_connections_fixed = node["max_connections_fixed"].as<bool>();
    if (const auto f = node["max_connections_formula"]) {
      r.keys(f, {"memory_bytes_per_connection", "cap"}, where + ".max_connections_formula");
      p.memory_bytes_per_connection =
          r.number(f["memory_bytes_per_connection"], where + ".memory_bytes_per_connection");
      p.max_connections_cap = r.integer(f["cap"], where + ".cap");
    }
    if (const auto sizes = node["sizes"]) {
      for (const auto& s : sizes) {
        r.keys(s, kSizeKeys, where + ".sizes");
        ComputeSize size;
        if (!s["name"]) r.fail(s, where, "a size has no name");
        size.name = s["name"].Scalar();
        const std::string at = where + " size " + size.name;
        if (!s["max_connections"]) r.fail(s, at, "missing max_connections");
        size.max_connections = r.integer(s["max_connections"], at + ".max_connections");
        if (s["pooler_max_clients"]) size.pooler_max_clients = r.integer(s["pooler_max_clients"], at);
        if (s["vcpus"]) size.vcpus = r.number(s["vcpus"], at + ".vcpus");
        if (s["memory_gb"]) size.memory_gb = r.number(s["memory_gb"], at + ".memory_gb");
        if (s["compute_units"]) size.compute_units = r.number(s["compute_units"], at + ".compute_units");
        if (s["and_above"]) size.and_above = s["and_above"].as<bool>();
        p.sizes.push_back(size);
      }
    }
    if (const auto tiers = node["memory_tiers"]) {
      for (const auto& t : tiers) {
        r.keys(t, {"min_memory_gb", "max_connections"}, where + ".memory_tiers");
        p.memory_tiers.push_back({r.number(t["min_memory_gb"], where + ".min_memory_gb", false),
                                  r.integer(t["max_connections"], where + ".max_connections")});
      }
    }
    if (const auto a = node["autoscaling"]) {
      const std::string at = where + ".autoscaling";
      r.keys(a,
             {"smallest_cu", "largest_cu", "max_connections_from", "scale_to_zero_after_s", "cold_start_ms",
              "hours_per_month"},
             at);
      Autoscaling scaling;
      scaling.smallest_cu = r.number(a["smallest_cu"], at + ".smallest_cu");
      scaling.largest_cu = r.number(a["largest_cu"], at + ".largest_cu");
      if (a["max_connections_from"]) {
        const std::string from = a["max_connections_from"].Scalar();
        if (from != "max" && from != "min") r.fail(a, at, "max_connections_from must be 'min' or 'max'");
        scaling.max_connections_from_max = from == "max";
      }
      scaling.scale_to_zero_after_s = r.integer(a["scale_to_zero_after_s"], at + ".scale_to_zero_after_s", false);
      scaling.cold_start_ms = r.integer(a["cold_start_ms"], at + ".cold_start_ms", false);
      if (a["hours_per_month"]) scaling.hours_per_month = r.number(a["hours_per_month"], at + ".hours_per_month");
      p.autoscaling = scaling;
    }
    table.platforms_.push_back(std::move(p));
  }
  return table;
}

const Platform* PlatformTable::find(std::string_view id) const {
  for (const auto& p : platforms_)
    if (p.id == id) return &p;
  return nullptr;
}

std::vector<std::string> PlatformTable::ids() const {
  std::vector<std::string> out;
  for (const auto& p : platforms_) out.push_back(p.id);
  return out;
}

}  // namespace dbopt::pool
