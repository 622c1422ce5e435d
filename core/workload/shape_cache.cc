#include "core/workload/shape_cache.h"

#include "core/common/error.h"
#include "core/sql/fingerprint.h"

namespace dbopt::workload {
namespace {

// libpg_query needs tens of bytes of memory per byte it parses; no ORM writes
// a statement this long, so a log's longer ones are counted, not parsed.
constexpr std::size_t kMaxParsedStatementBytes = 1 << 20;

}  // namespace

InternedStatement ShapeCache::intern(std::string_view sql) {
  InternedStatement out;
  out.scan = shape_key(sql, key_);
  if (const auto it = by_key_.find(key_); it != by_key_.end()) {
    out.shape = it->second;
    ++shapes_[out.shape].count;
    return out;
  }
  if (shapes_.size() >= kMaxShapes) {
    // Memory stays bounded even on a log of ever-new texts (garbage, generated SQL): one catch-all shape.
    if (overflow_ == UINT32_MAX) {
      Shape o;
      o.id = overflow_ = static_cast<std::uint32_t>(shapes_.size());
      o.error = "more than " + std::to_string(kMaxShapes) + " distinct statement shapes; later ones are not analysed";
      shapes_.push_back(std::move(o));
    }
    out.shape = overflow_;
    ++shapes_[overflow_].count;
    return out;
  }
  ++parse_calls_;
  Shape s;
  s.example.assign(sql);
  try {
    if (out.scan.truncated) throw Error(ErrorCode::invalid_argument, "the statement was cut (it ends with ...)");
    if (sql.size() > kMaxParsedStatementBytes)
      throw Error(ErrorCode::invalid_argument, "the statement is " + std::to_string(sql.size()) +
                                                   " bytes long, more than dbopt parses from a log (1 MiB)");
    // DB-API text (%s) as PostgreSQL writes placeholders, so that it parses.
    const std::string text = sql.find('%') == std::string_view::npos ? std::string(sql) : dollar_placeholders(sql);
    s.fingerprint = sql::fingerprint(text);
    s.normalized = sql::normalize(text);
    auto statements = sql::parse_script(text);
    if (statements.size() == 1) s.model = std::move(statements.front());
  } catch (const Error& e) {
    s.fingerprint.clear();
    s.error = e.what();
  }
  // libpg_query gives `col = $1` and `col IN ($1, $2)` one fingerprint; a loop of the one and the batch
  // that replaces it must stay apart (the batch is no loop), so the merge key says which it is.
  const std::string merge_key =
      s.fingerprint.empty() ? std::string() : s.fingerprint + (out.scan.max_list_items > 0 ? "/list" : "");
  std::uint32_t id;
  if (const auto f = merge_key.empty() ? by_fingerprint_.end() : by_fingerprint_.find(merge_key);
      f != by_fingerprint_.end()) {
    id = f->second;
  } else {
    id = static_cast<std::uint32_t>(shapes_.size());
    s.id = id;
    if (!merge_key.empty()) by_fingerprint_.emplace(merge_key, id);
    shapes_.push_back(std::move(s));
  }
  by_key_.emplace(key_, id);
  ++shapes_[id].count;
  out.shape = id;
  return out;
}

}  // namespace dbopt::workload
