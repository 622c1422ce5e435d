// Migration linter: for each statement of a migration, the lock it takes (the
// documented PostgreSQL 15 lock levels), whether it rewrites or scans the
// table, how long that is at the table's size, and the zero-downtime form to
// run instead; every finding from a rule of knowledge/rules/migration.yaml.
//
// lint_migration() works offline on the text (core/sql/schema_change.h). With
// a MigrationContext read from a database (read_migration_context: server
// version, each named table's size, rows and column types, read-only through
// the SafeExecutor) it also knows which tables exist and are large: a change
// to a table the script itself creates, or that does not exist, is not a
// risk; a change that is brief at this table's size is reported as low with
// its estimate; and a type change is judged against the column's real type.
//
// Errors: dbopt::Error(invalid_argument) when the SQL does not parse (naming
// the position); read_migration_context: not_found / unavailable for the
// database. lint_migration is a pure function, thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/cancellation.h"
#include "knowledge/finding.h"
#include "knowledge/rule_book.h"

namespace dbopt::pg {
class DatabasePool;
}

namespace dbopt::migration {

struct TableFacts {
  double total_bytes = 0;                           // pg_total_relation_size
  double rows = 0;                                  // reltuples (or n_live_tup when never analyzed)
  std::map<std::string, std::string> column_types;  // attname -> format_type(), e.g. "character varying(20)"
};

struct MigrationContext {
  bool live = false;                // read from a database
  int server_version_num = 150000;  // offline: PostgreSQL 15
  std::string database_name;
  std::map<std::string, TableFacts> tables;  // by the name as the script writes it; absent = does not exist
  std::vector<std::string> notes;
};

// Reads the facts for `tables` (names as written in the script).
MigrationContext read_migration_context(pg::DatabasePool& databases, const std::string& database,
                                        const std::vector<std::string>& tables,
                                        const CancellationToken* cancel = nullptr);

// The table names a script touches (for read_migration_context).
std::vector<std::string> tables_of(std::string_view sql);

// One statement of the zero-downtime form.
struct SafeStatement {
  std::string sql;                   // without the trailing ';'
  bool new_transaction = false;      // commit what came before first (the lock must not be held into it)
  bool outside_transaction = false;  // CONCURRENTLY: never inside BEGIN/COMMIT
  bool repeat_until_done = false;    // a batch: run again until it changes 0 rows
};

struct StatementLint {
  int line = 1;
  std::string text;
  std::string kind;  // sql::ChangeKind / the ALTER TABLE actions, e.g. "alter_table: add_column, set_not_null"
  std::string table;
  std::string lock;    // strongest lock on `table` ("ACCESS EXCLUSIVE"); empty when none
  std::string blocks;  // what that lock blocks: "reads and writes", "writes", "schema changes and VACUUM", ...
  std::vector<std::string> other_locks;  // "SHARE ROW EXCLUSIVE on public.customers"
  bool rewrites = false, scans = false, builds_index = false;
  bool in_transaction = false;
  bool new_table = false;  // created earlier in this script (or, with a database, not existing yet)
  std::optional<double> table_bytes;
  std::optional<double> estimated_seconds;  // time under the lock, by the stated model
  std::string verdict;                      // "safe", "safe with lock_timeout", "unsafe"
  std::vector<knowledge::Finding> findings;
  std::vector<SafeStatement> safe_form;  // what to run instead; empty: the statement is fine as it is
};

struct MigrationLint {
  std::vector<StatementLint> statements;
  std::vector<knowledge::Finding> findings;  // every statement's, most severe first, plus the script's own
  std::string safe_script;                   // the whole migration in its zero-downtime form
  bool django_atomic_false = false;          // the safe script needs a non-atomic Django migration
  std::vector<std::string> notes;
};

struct LintOptions {
  std::string lock_timeout = "2s";
  std::string statement_timeout = "15min";
  int batch_size = 5000;
  // Django runs every migration in a transaction: treat the script as inside
  // one even without BEGIN (sqlmigrate prints BEGIN/COMMIT itself).
  bool assume_in_transaction = false;
};

MigrationLint lint_migration(std::string_view sql, const knowledge::RuleBook& rules,
                             const MigrationContext& context = {}, const LintOptions& options = {});

}  // namespace dbopt::migration
