// SchemaChange: what each statement of a migration does to the schema, in
// plain value types, for lint_migration (core/migration).
//
// read_schema_changes() parses a whole script with libpg_query (PostgreSQL 15
// grammar) and describes every statement: its kind, the table it touches,
// and for ALTER TABLE each action (add/drop/retype a column, NOT NULL,
// defaults, constraints with NOT VALID / USING INDEX, partitions). Django's
// `sqlmigrate` output (BEGIN; ... COMMIT; with `--` comments) reads as is.
// Each statement carries its text, 1-based line and whether it runs inside an
// explicit transaction block of the script.
//
// Names are as PostgreSQL folds them (unquoted lower-cased); a table is
// "schema.name" when the statement qualifies it, else the bare name.
// Errors: like parse_script (query_model.h): dbopt::Error(invalid_argument)
// naming the position when the script does not parse. Pure, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace dbopt::sql {

enum class ChangeKind {
  create_table,
  create_index,
  drop_index,
  reindex,
  alter_table,
  rename_table,
  rename_column,
  rename_other,  // index, constraint, sequence ...
  drop_table,
  drop_other,  // views, sequences, types ... (not tables or indexes)
  drop_database,
  truncate,
  vacuum,  // full = true for VACUUM FULL
  cluster,
  refresh_materialized_view,
  lock_table,
  update,
  delete_rows,
  insert,
  begin,
  commit,
  rollback,
  set_setting,  // SET / SET LOCAL / RESET
  create_domain,
  alter_domain_add_constraint,
  other,
};
const char* to_string(ChangeKind kind);

enum class ConstraintKind { none, check, foreign_key, primary_key, unique, exclusion, not_null };
const char* to_string(ConstraintKind kind);

// A column as ADD COLUMN or CREATE TABLE defines it.
struct ColumnDefinition {
  std::string name;
  std::string type;  // lower-case, without pg_catalog: "int4", "int8", "varchar", "timestamp", "serial" ...
  std::vector<int> type_modifiers;  // varchar(200) -> {200}
  std::string type_text;            // as SQL: "integer", "varchar(200)", "timestamp with time zone"
  bool has_default = false;
  std::string default_text;                    // as written
  std::vector<std::string> default_functions;  // functions the default calls, lower-case
  bool not_null = false;
  bool primary_key = false, unique = false, check = false;
  std::string references;       // referenced table of an inline REFERENCES
  std::string references_name;  // its CONSTRAINT name, when written
  bool generated_stored = false, identity = false;
};

struct AlterAction {
  enum class Kind {
    add_column,
    drop_column,
    alter_column_type,
    set_not_null,
    drop_not_null,
    set_default,
    drop_default,
    add_constraint,
    validate_constraint,
    drop_constraint,
    attach_partition,
    detach_partition,
    set_logged,
    set_unlogged,
    set_statistics,          // SET STATISTICS / SET (n_distinct ...) on a column
    set_storage_parameters,  // SET (fillfactor = ...) / RESET (...)
    other,
  };
  Kind kind = Kind::other;
  std::string column;           // the column it changes; the constraint name for validate/drop constraint
  ColumnDefinition definition;  // add_column; alter_column_type: the new type (name, modifiers)
  bool has_using = false;       // alter_column_type ... USING
  ConstraintKind constraint = ConstraintKind::none;  // add_constraint
  std::string constraint_name;                       // as written; empty when unnamed
  std::vector<std::string> constraint_columns;       // FK or UNIQUE/PK columns; CHECK: columns it names
  std::string referenced_table;                      // FOREIGN KEY
  std::string check_text;                            // CHECK (...) body as written
  bool not_valid = false;                            // NOT VALID
  bool using_index = false;                          // UNIQUE / PRIMARY KEY USING INDEX
  bool concurrently = false;                         // DETACH PARTITION ... CONCURRENTLY
  std::string partition;                             // attach/detach: the partition
  std::string text;  // this action as written ("ADD COLUMN x int"), when the actions could be told apart
};
const char* to_string(AlterAction::Kind kind);

struct SchemaChange {
  ChangeKind kind = ChangeKind::other;
  std::string text;                        // the statement as written, without the trailing ';'
  std::size_t offset = 0;                  // byte offset in the script
  int line = 1;                            // 1-based line of its first character
  bool in_transaction = false;             // inside BEGIN ... COMMIT of this script
  std::string table;                       // the table it touches (index: its table; rename: the old name)
  std::string index_name;                  // create/drop/reindex index
  std::vector<std::string> index_columns;  // create_index: its key columns or expressions
  bool concurrently = false, unique = false, if_exists = false, if_not_exists = false;
  bool full = false;                           // VACUUM FULL
  bool has_where = false;                      // UPDATE / DELETE with a WHERE clause
  bool cascade = false;                        // TRUNCATE / DROP ... CASCADE
  bool local = false;                          // SET LOCAL
  std::string new_name;                        // rename
  std::string old_column;                      // rename_column
  std::string setting, value;                  // set_setting (lower-case name; value as written, unquoted)
  std::string lock_mode;                       // lock_table: as written, upper-case ("ACCESS EXCLUSIVE" by default)
  std::vector<AlterAction> actions;            // alter_table
  std::vector<ColumnDefinition> columns;       // create_table
  std::vector<std::string> referenced_tables;  // create_table / add column: tables of its REFERENCES
};

std::vector<SchemaChange> read_schema_changes(std::string_view sql);

}  // namespace dbopt::sql
