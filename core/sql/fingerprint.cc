#include "core/sql/fingerprint.h"

#include <pg_query.h>

#include "core/sql/parse_tree.h"

namespace dbopt::sql {
using detail::Owned;

std::string fingerprint(std::string_view sql) {
  detail::check_text(sql);
  const std::string text(sql);  // libpg_query wants a NUL-terminated string
  const Owned<PgQueryFingerprintResult, pg_query_free_fingerprint_result> result(pg_query_fingerprint(text.c_str()));
  if (result->error != nullptr) throw detail::parse_error(sql, *result->error);
  return result->fingerprint_str;
}

std::string normalize(std::string_view sql) {
  detail::check_text(sql);
  const std::string text(sql);
  const Owned<PgQueryNormalizeResult, pg_query_free_normalize_result> result(pg_query_normalize(text.c_str()));
  if (result->error != nullptr) throw detail::parse_error(sql, *result->error);
  return result->normalized_query;
}

}  // namespace dbopt::sql
