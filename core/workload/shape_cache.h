// ShapeCache: statement shapes, parsed once per distinct shape key.
//
// intern() computes the cheap shape key (shape_key.h) of a statement and looks
// it up; only a key seen for the first time costs libpg_query calls (fingerprint,
// normalize, parse_query). Keys whose fingerprints agree share one Shape, so
// an IN list of 3 and one of 30 items are one shape. Statements that do not
// parse (truncated, not SQL) get a Shape with `error` set and no model.
// Memory grows with the number of distinct shapes (at most kMaxShapes), not with the log.
// Not thread-safe: one cache per analysis.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/sql/query_model.h"
#include "core/workload/shape_key.h"

namespace dbopt::workload {

struct Shape {
  std::uint32_t id = 0;
  std::string fingerprint;  // libpg_query's; empty when the text did not parse
  std::string normalized;   // constants as $n
  std::string example;      // the first statement seen with this shape
  std::optional<sql::QueryModel> model;
  std::string error;  // why it did not parse
  std::uint64_t count = 0;
};

struct InternedStatement {
  std::uint32_t shape = 0;
  ShapeScan scan;
};

class ShapeCache {
 public:
  // Distinct shapes kept at most; statements of further shapes share one Shape with `error` set.
  static constexpr std::size_t kMaxShapes = 100000;

  InternedStatement intern(std::string_view sql);
  const Shape& shape(std::uint32_t id) const { return shapes_[id]; }
  std::size_t size() const { return shapes_.size(); }
  std::size_t distinct_keys() const { return by_key_.size(); }
  std::uint64_t parse_calls() const { return parse_calls_; }

 private:
  std::string key_;  // reused buffer
  std::unordered_map<std::string, std::uint32_t> by_key_;
  std::unordered_map<std::string, std::uint32_t> by_fingerprint_;
  std::vector<Shape> shapes_;
  std::uint64_t parse_calls_ = 0;
  std::uint32_t overflow_ = UINT32_MAX;
};

}  // namespace dbopt::workload
