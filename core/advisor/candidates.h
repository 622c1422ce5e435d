// Index candidates from one query's model and the catalog: which indexes could
// serve it, in the column order that serves it best.
//
// B-tree: equality columns first (most selective first), then one range column
// or the ORDER BY columns of a LIMIT query (with their direction); join columns
// of a joined table alone; a covering variant (INCLUDE) when the query names
// few other columns of the table (not under LIMIT); partial indexes with the
// query's fixed conditions in their WHERE (a constant the column rarely holds
// per pg_stats, IS NULL, a flag); expression keys (lower(email), (attrs->>'sku')).
// GIN for jsonb/array operators (jsonb_path_ops for @>) and full text, trigram
// GIN for LIKE '%x%' (also UPPER(col) LIKE UPPER('%x%')),
// BRIN for range filters on large, append-only, physically ordered tables.
// Thresholds come from the knowledge base (knowledge/rules/index.yaml).
// Pure functions; thread-safe.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "core/advisor/catalog.h"
#include "core/sql/query_model.h"
#include "knowledge/rule_book.h"

namespace dbopt::advisor {

struct Candidate {
  std::string kind;     // btree, covering, partial, expression, order_by, join, gin, trigram, brin, foreign_key
  std::string rule_id;  // the knowledge-base rule that explains it
  std::string schema;
  std::string table;
  std::string method = "btree";
  std::vector<std::string> keys;  // SQL key text: "status", "created_at DESC", "(lower(email))", "body gin_trgm_ops"
  std::vector<std::string> include;
  std::string where;      // partial predicate
  bool costable = true;   // HypoPG can cost it (not GIN)
  std::string reason;     // why this shape, for people
  std::string extension;  // an extension it needs (pg_trgm), when not installed
  std::string widens;     // an existing index this one extends (drop it after building this one)
  std::set<int> queries;  // workload query indexes it was built for

  std::string qualified_table() const { return schema.empty() ? table : schema + "." + table; }
  // CREATE INDEX [CONCURRENTLY] <name> ON ... ; identity() is the DDL without name, the dedup key.
  std::string ddl(bool concurrently = true) const;
  std::string identity() const;
  std::string name() const;
  // Plain columns it indexes (keys, INCLUDE, predicate columns are not included).
  std::vector<std::string> key_columns() const;
};

struct CandidateLimits {
  int max_columns = 3;
  double max_key_share = 0.5;  // an equality condition keeping more rows is no key column (unless the only one)
  double partial_max_value_share = 0.2;
  double partial_max_distinct_values = 100;
  double partial_min_null_frac = 0.5;  // a range on a column this NULL gets an IS NOT NULL partial index
  double covering_max_include = 3;
  double brin_min_rows = 100000;
  double brin_min_abs_correlation = 0.9;
  double brin_max_update_share = 0.05;

  static CandidateLimits from_rules(const knowledge::RuleBook* rules, int max_columns);
};

// Candidates for one query; `table` names the catalog entry of each table the
// query reads (nullptr offline or when unknown). Existing indexes that already
// serve a candidate suppress it; an existing non-unique B-tree that is a
// prefix of a candidate becomes the candidate's `widens`.
std::vector<Candidate> candidates_for(const sql::QueryModel& query, int query_index, const Catalog& catalog,
                                      const CandidateLimits& limits);

// A candidate already served by an existing index (same method, its keys a prefix of the index's keys).
const ExistingIndex* served_by_existing(const Candidate& candidate, const TableInfo& table);

// Adds to `into`, merging candidates with the same identity().
void merge_candidates(std::vector<Candidate>& into, std::vector<Candidate> more);

}  // namespace dbopt::advisor
