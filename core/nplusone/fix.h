// The fix for one N+1 loop: how the repeated query relates to the rows of the
// source query, and the ORM call that loads them all at once.
//
// A relation is found through foreign keys: from the live catalog when the
// caller gives them, otherwise from Django's naming conventions (tables
// <app>_<model>, foreign key columns <field>_id referencing <app>_<field>.id,
// many-to-many through tables <app>_<model>_<field>). Names come from a
// pasted models.py when given (class names, related_name,
// related_query_name), else Django's defaults (the model part of the table
// name capitalised, <model>_set); the fix says which. A fix is built from
// parts (select_related paths, prefetches, annotations) so that the
// statements of one loop body combine into one call.
// Pure functions of their inputs; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/nplusone/models_file.h"
#include "core/workload/shape_cache.h"

namespace dbopt::nplusone {

enum class Kind {
  forward_fk,          // book.author per book        -> select_related('author')
  nested_fk,           // book.author.profile         -> select_related('author__profile')
  reverse_one_to_one,  // user.profile per user       -> select_related('profile')
  reverse_fk,          // post.comment_set.all()      -> prefetch_related('comment_set')
  m2m,                 // book.tags.all()             -> prefetch_related('tags')
  filtered_prefetch,   // a filtered or joined reverse FK -> Prefetch(..., queryset=...)
  count_per_row,       // post.comment_set.count()    -> annotate(Count('comment'))
  exists_per_row,      // post.comment_set.exists()   -> annotate(Exists(...))
  get_in_loop,         // Model.objects.get(id=i) per id -> in_bulk(ids)
  repeated_select,     // the same SELECT per row, relation unknown -> filter(col__in=...)
  insert_in_loop,      // save() of new rows          -> bulk_create
  update_in_loop,      // save() of changed rows      -> bulk_update
  delete_in_loop,      // delete() per row            -> filter(id__in=...).delete()
};
const char* to_string(Kind kind);

enum class Framework { auto_detect, django, sqlalchemy, rails, graphql, generic };
const char* to_string(Framework framework);
Framework parse_framework(const std::string& name);

struct ForeignKey {
  std::string table;   // referencing table
  std::string column;  // referencing column
  std::string ref_table;
  std::string ref_column;
};

// What the fix needs to know of a statement, read from its QueryModel.
struct ShapeFacts {
  sql::StatementKind kind = sql::StatementKind::other;
  std::string table;  // the main table: first FROM item, or the written table
  struct Col {
    std::string table, name;
  };
  std::vector<Col> selected;  // select-list columns of the statement level
  struct Filter {
    std::string table, column, op;
    sql::Operand::Kind value_kind = sql::Operand::Kind::none;
    std::string value;  // constants: the literal value
  };
  std::vector<Filter> filters;  // WHERE conditions every row must meet, statement level
  std::vector<sql::JoinCondition> joins;
  bool count_only = false;   // SELECT COUNT(*) ...
  bool exists_only = false;  // SELECT 1 ... LIMIT 1
  std::optional<std::int64_t> limit;
  std::vector<std::string> set_columns;  // UPDATE SET
  std::string normalized;
  bool is_read() const { return kind == sql::StatementKind::select; }
  bool is_write() const {
    return kind == sql::StatementKind::insert || kind == sql::StatementKind::update ||
           kind == sql::StatementKind::delete_;
  }
};
ShapeFacts facts_of(const workload::Shape& shape);

// What relates tables and names their relations.
struct Schema {
  std::vector<ForeignKey> foreign_keys;  // from the live catalog
  std::vector<Model> models;             // from a pasted models.py
};

struct FixText {
  std::string django;                      // the ORM call
  std::string sql;                         // one IN query or a JOIN
  std::string sqlalchemy, rails, graphql;  // when the framework is known
  std::string relation;                    // "author", "author__profile", "comment_set", "tags"
  std::string names_from;                  // "models.py", "the catalog's foreign keys", "Django's defaults"
};

// One prefetch: 'tags', or Prefetch('comments', queryset=Comment.objects.select_related('author')).
struct PrefetchItem {
  std::string relation;
  std::string model;    // the related rows' class, for a queryset
  std::string filters;  // "approved=True"
  std::vector<std::string> select_related;
};

// A queryset fix as parts, so that the statements of one loop combine.
struct FixParts {
  std::string owner;  // the class of the source rows; empty: not a queryset option (writes, in_bulk)
  std::vector<std::string> select_related;
  std::vector<PrefetchItem> prefetch;
  std::vector<std::string> annotate;
};
// Adds `more` to `into` (same owner): longer select_related paths replace their prefixes,
// prefetches of one relation merge.
void merge(FixParts& into, const FixParts& more);
// Book.objects.select_related('author').prefetch_related('tags').annotate(Count('review'))
std::string render(const FixParts& parts);

struct FixPlan {
  Kind kind = Kind::repeated_select;
  FixText text;
  FixParts parts;
  bool related = false;  // tied to the source (or the loop body) through a foreign key
  int via = -1;          // index into `before` of the query it hangs off (nested), -1: the source
};

// `repeated` runs once per row; `source` returned the rows (may be null);
// `before` are the loop body's earlier statements in the same iteration, with
// their own plans (nested relations build on them). `same_set` is, for an
// UPDATE that sets the very same values in every iteration, those values as
// Django keyword arguments ("published=True"); empty otherwise.
FixPlan plan_fix(const ShapeFacts& repeated, const ShapeFacts* source, const std::vector<const ShapeFacts*>& before,
                 const std::vector<const FixPlan*>& before_plans, const Schema& schema, Framework framework,
                 const std::string& same_set = {});

// The GraphQL DataLoader to paste for a loop (JavaScript, or Python for graphene/strawberry).
std::string dataloader(const FixPlan& plan, const ShapeFacts& repeated, const ShapeFacts* source, bool python);

// shop_author -> Author; auth_user -> User; plain names as they are, capitalised.
std::string model_class(const std::string& table);
// shop_author -> author
std::string model_name(const std::string& table);

}  // namespace dbopt::nplusone
