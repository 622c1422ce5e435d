// HypotheticalIndexSession: "would this index help?" without building it, via
// the HypoPG extension.
//
// HypoPG keeps hypothetical indexes in the memory of one backend, so a
// session holds one pooled connection, inside one READ ONLY transaction
// (which also keeps it on one server connection behind PgBouncer in
// transaction mode), for its lifetime. It calls hypopg_reset() when it starts
// and when it ends, before the connection goes back to the pool (and drops
// the connection if the reset fails), so no hypothetical index leaks into
// another request. Keep a session to one request: it holds a connection.
//
// This is the safe executor's one audited exception: hypopg_create_index() is
// a function call the statement policy would refuse. The session only ever
// calls hypopg_* functions, and passes them only CREATE INDEX text that
// libpg_query parsed as exactly one CREATE INDEX (sent as a parameter, never
// spliced into SQL). Queries to cost go through the statement policy as
// EXPLAIN (no ANALYZE: HypoPG's indexes exist only for the planner).
//
// Errors (dbopt::Error): unavailable when HypoPG is not installed in the
// database (dbopt never runs CREATE EXTENSION itself) or the database cannot
// be reached; invalid_argument for text that is not one CREATE INDEX or that
// PostgreSQL rejects (unknown table or column); permission_denied for queries
// the policy refuses; cancelled / deadline_exceeded from the token. A failed
// call leaves the session usable. Not thread-safe: one thread per session.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/cancellation.h"
#include "core/pg/database_pool.h"

namespace dbopt::pg {

struct HypotheticalIndex {
  std::uint32_t oid = 0;               // HypoPG's identifier within the session
  std::string name;                    // e.g. "<13543>btree_order_items_product_id"
  std::string table;                   // schema-qualified
  long long estimated_size_bytes = 0;  // hypopg_relation_size()
  std::string definition;              // hypopg_get_indexdef(): CREATE INDEX ... as PostgreSQL reads it
};

class HypotheticalIndexSession {
 public:
  // Takes a connection to the database ("" = default) and checks for HypoPG.
  HypotheticalIndexSession(DatabasePool& pool, const std::string& database, const CancellationToken* cancel = nullptr);
  ~HypotheticalIndexSession();
  HypotheticalIndexSession(const HypotheticalIndexSession&) = delete;
  HypotheticalIndexSession& operator=(const HypotheticalIndexSession&) = delete;

  // From one CREATE INDEX statement ("CREATE INDEX ON orders (status)").
  // UNIQUE, partial and expression indexes work; a name, CONCURRENTLY and IF
  // NOT EXISTS are accepted and ignored (HypoPG names the index). An access
  // method HypoPG lacks (gin, in HypoPG 1.3) is invalid_argument.
  HypotheticalIndex create_index(std::string_view create_index_sql);
  void drop_index(std::uint32_t oid);
  std::vector<HypotheticalIndex> list();
  // Drops every hypothetical index of the session.
  void reset();

  // EXPLAIN (FORMAT JSON) of the query as the planner sees it with the
  // session's hypothetical indexes; generic_plan for $n placeholders, or
  // params with their values (see RunOptions::params).
  std::string explain_json(std::string_view sql, bool generic_plan = false,
                           const std::vector<std::optional<std::string>>& params = {});
  // The plan's estimated "Total Cost".
  double explain_total_cost(std::string_view sql, bool generic_plan = false);

  std::string hypopg_version() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Throws Error(invalid_argument) unless the text parses (libpg_query) as
// exactly one CREATE INDEX statement.
void require_single_create_index(std::string_view sql);

}  // namespace dbopt::pg
