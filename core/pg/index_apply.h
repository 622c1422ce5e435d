// apply_index_statement: the one place dbopt builds or drops a real index, for
// suggest_indexes' apply=true.
//
// Runs exactly one CREATE INDEX CONCURRENTLY or DROP INDEX CONCURRENTLY
// statement (checked with libpg_query) on the named database, only when the
// database's config sets allow_apply; CONCURRENTLY cannot run inside a
// transaction, so it runs on its own pooled connection in autocommit.
// Errors (dbopt::Error): permission_denied when the config does not allow it
// or the statement is anything else; not_found / unavailable from the pool;
// invalid_argument when PostgreSQL rejects the statement.
#pragma once

#include <string>
#include <string_view>

#include "core/common/cancellation.h"
#include "core/pg/database_pool.h"

namespace dbopt::pg {

void apply_index_statement(DatabasePool& pool, const std::string& database, std::string_view statement,
                           const CancellationToken* cancel = nullptr);

}  // namespace dbopt::pg
