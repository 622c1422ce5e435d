// Shape keys: a cheap, parser-free stand-in for a query fingerprint.
//
// libpg_query parses some 75k statements a second, far too slow to run on
// every line of a large log. shape_key() is one byte scan: numbers, quoted
// strings, $n / %s / ? placeholders become `?`, IN (...) lists of such items
// collapse to `IN (?)`, multi-row VALUES lists collapse to one row, comments
// (sqlcommenter's trace ids) go, and runs of white space become one space.
// Two statements that differ only in their constants get the same key, so a
// log analyzer calls libpg_query once per distinct key (ShapeCache).
// The scan also hashes the constants it removed, so callers can tell "the
// same query with other values" (a loop over rows) from "the very same query
// again", and counts the items of the longest IN / VALUES list (a batch).
//
// Never throws; any bytes are accepted (garbage gives a garbage key).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dbopt::workload {

struct ShapeScan {
  std::uint64_t values_hash = 0;  // of the constants removed, in order
  int max_list_items = 0;         // items of the longest IN (...) or rows of VALUES; 0 when none
  bool truncated = false;         // ends with "..." (log tools cut long statements)
};

// Writes the key of `sql` into `key` (cleared first) and returns what the scan saw.
ShapeScan shape_key(std::string_view sql, std::string& key);

// The statement with DB-API placeholders (%s, %(name)s) numbered as $1, $2 ...
// so that PostgreSQL's parser reads it; quoted text and comments are left alone.
std::string dollar_placeholders(std::string_view sql);

// FNV-1a, for combining parameter values into values_hash.
std::uint64_t hash_bytes(std::string_view bytes, std::uint64_t seed = 1469598103934665603ULL);

}  // namespace dbopt::workload
