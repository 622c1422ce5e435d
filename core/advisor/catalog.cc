#include "core/advisor/catalog.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/pg/safe_executor.h"
#include "core/sql/query_model.h"

namespace dbopt::advisor {

std::string quote_literal(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string quote_ident(const std::string& name) {
  const bool plain =
      !name.empty() && (std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_') &&
      std::all_of(name.begin(), name.end(), [](char c) {
        return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
      });
  if (plain) return name;
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

double ColumnStats::distinct_count(double rows) const {
  if (n_distinct > 0) return n_distinct;
  if (n_distinct < 0) return -n_distinct * std::max(rows, 1.0);
  return std::max(rows, 1.0);  // unknown: assume unique
}

double ColumnStats::value_share(const std::string& value, double rows) const {
  double listed = 0;
  for (std::size_t i = 0; i < common_values.size() && i < common_freqs.size(); ++i) {
    if (common_values[i] == value) return common_freqs[i];
    listed += common_freqs[i];
  }
  const double others = distinct_count(rows) - static_cast<double>(common_values.size());
  const double rest = std::max(0.0, 1.0 - listed - null_frac);
  return others >= 1 ? rest / others : rest;
}

const ColumnStats* TableInfo::column(const std::string& column_name) const {
  const auto it = columns.find(column_name);
  return it == columns.end() ? nullptr : &it->second;
}

const TableInfo* Catalog::find(const std::string& schema, const std::string& name) const {
  const TableInfo* only = nullptr;
  int count = 0;
  for (const auto& t : tables) {
    if (t.name != name) continue;
    if (!schema.empty()) {
      if (t.schema == schema) return &t;
      continue;
    }
    if (t.visible) return &t;
    only = &t;
    ++count;
  }
  return count == 1 ? only : nullptr;
}

bool Catalog::has_extension(const std::string& name) const {
  return std::find(extensions.begin(), extensions.end(), name) != extensions.end();
}

namespace {

// A PostgreSQL array literal ({a,"b c",NULL}) as its element texts.
std::vector<std::string> parse_array_literal(const std::string& text) {
  std::vector<std::string> out;
  if (text.size() < 2 || text.front() != '{') return out;
  std::string current;
  bool quoted = false, in_quotes = false;
  for (std::size_t i = 1; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '\\' && i + 1 < text.size()) {
        current += text[++i];
      } else if (c == '"') {
        in_quotes = false;
      } else {
        current += c;
      }
    } else if (c == '"') {
      in_quotes = quoted = true;
    } else if (c == ',' || c == '}') {
      if (!current.empty() || quoted) out.push_back(current);
      current.clear();
      quoted = false;
    } else {
      current += c;
    }
  }
  return out;
}

std::string in_list(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + quote_literal(n);
  return out.empty() ? "NULL" : out;
}

std::string value(const std::optional<std::string>& v) { return v.value_or(""); }
double number(const std::optional<std::string>& v) {
  if (!v || v->empty()) return 0;
  try {
    return std::stod(*v);
  } catch (...) {
    return 0;
  }
}
bool truth(const std::optional<std::string>& v) { return v && (*v == "t" || *v == "true"); }

TableInfo* find_mutable(Catalog& c, const std::string& schema, const std::string& name) {
  for (auto& t : c.tables)
    if (t.schema == schema && t.name == name) return &t;
  return nullptr;
}

}  // namespace

Catalog read_catalog(pg::DatabasePool& pool, const std::string& database, const std::vector<std::string>& table_names,
                     const CancellationToken* cancel) {
  pg::SafeExecutor executor(pool);
  const pg::RunOptions run{.cancel = cancel, .max_rows = 200000};
  Catalog catalog;
  catalog.live = true;
  std::set<std::string> names;
  for (const auto& t : table_names) names.insert(t.substr(t.find('.') == std::string::npos ? 0 : t.find('.') + 1));

  // How long the usage counters (idx_scan) have been counting: since the last reset, or at
  // least since the server started (PostgreSQL 15 keeps them over a clean restart, not a crash).
  const auto since =
      executor.run(database,
                   "SELECT extract(epoch FROM now() - coalesce(d.stats_reset, pg_postmaster_start_time())), "
                   "d.stats_reset::text, pg_postmaster_start_time()::text FROM pg_stat_database d "
                   "WHERE d.datname = current_database()",
                   run);
  if (!since.rows.empty()) {
    catalog.stats_age_seconds = number(since.rows[0][0]);
    catalog.stats_reset = value(since.rows[0][1]);
    catalog.server_started = value(since.rows[0][2]);
  }
  const auto ext = executor.run(database, "SELECT extname, current_database() FROM pg_extension", run);
  for (const auto& row : ext.rows) {
    catalog.extensions.push_back(value(row[0]));
    catalog.current_database = value(row[1]);
  }

  const std::string user_tables =
      "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND "
      "n.nspname NOT LIKE 'pg_temp%'";
  const auto tables = executor.run(
      database,
      "SELECT n.nspname, c.relname, c.reltuples::float8, pg_table_is_visible(c.oid), coalesce(s.n_tup_ins, 0), "
      "coalesce(s.n_tup_upd, 0), coalesce(s.n_tup_del, 0), coalesce(s.n_tup_hot_upd, 0), "
      "(s.last_analyze IS NOT NULL OR s.last_autoanalyze IS NOT NULL), s.relid IS NOT NULL, c.relpages "
      "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.relkind IN ('r', 'p', 'm') AND " +
          user_tables + " ORDER BY 1, 2",
      run);
  for (const auto& row : tables.rows) {
    TableInfo t;
    t.schema = value(row[0]);
    t.name = value(row[1]);
    t.rows = std::max(0.0, number(row[2]));
    t.visible = truth(row[3]);
    t.inserts = static_cast<long long>(number(row[4]));
    t.updates = static_cast<long long>(number(row[5]));
    t.deletes = static_cast<long long>(number(row[6]));
    t.hot_updates = static_cast<long long>(number(row[7]));
    t.analyzed = truth(row[8]);
    t.has_stats = truth(row[9]);
    t.pages = std::max(0.0, number(row[10]));
    catalog.tables.push_back(std::move(t));
  }

  if (!names.empty()) {
    const auto columns = executor.run(
        database,
        "SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), s.null_frac, s.n_distinct, "
        "s.most_common_vals::text, s.most_common_freqs::text, s.correlation, s.avg_width "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname "
        "AND NOT s.inherited WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'm') AND "
        "c.relname IN (" +
            in_list(names) + ") AND " + user_tables,
        run);
    for (const auto& row : columns.rows) {
      TableInfo* t = find_mutable(catalog, value(row[0]), value(row[1]));
      if (!t) continue;
      ColumnStats s;
      s.type = value(row[3]);
      s.null_frac = number(row[4]);
      s.n_distinct = number(row[5]);
      s.common_values = parse_array_literal(value(row[6]));
      for (const auto& f : parse_array_literal(value(row[7]))) s.common_freqs.push_back(number(f));
      if (row[8]) s.correlation = number(row[8]);
      if (row[9]) s.avg_width = static_cast<int>(number(row[9]));
      t->row_width += s.avg_width;
      t->columns[value(row[2])] = std::move(s);
    }
  }

  const auto indexes = executor.run(
      database,
      "SELECT n.nspname, c.relname, quote_ident(ni.nspname) || '.' || quote_ident(i.relname), "
      "pg_get_indexdef(x.indexrelid), am.amname, x.indnkeyatts, "
      "(SELECT json_agg(pg_get_indexdef(x.indexrelid, k, true) ORDER BY k) FROM generate_series(1, x.indnatts) "
      "k)::text, "
      "pg_get_expr(x.indpred, x.indrelid, true), x.indisunique, x.indisprimary, "
      "EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid), x.indisvalid, s.idx_scan, "
      "pg_relation_size(x.indexrelid), x.indoption::text "
      "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace ni ON ni.oid = i.relnamespace "
      "JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
      "JOIN pg_am am ON am.oid = i.relam LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = x.indexrelid WHERE " +
          user_tables + " ORDER BY 1, 2, 3",
      run);
  for (const auto& row : indexes.rows) {
    TableInfo* t = find_mutable(catalog, value(row[0]), value(row[1]));
    if (!t) continue;
    ExistingIndex index;
    index.name = value(row[2]);
    index.definition = value(row[3]);
    index.method = value(row[4]);
    const auto key_count = static_cast<std::size_t>(number(row[5]));
    const auto columns = nlohmann::json::parse(value(row[6]), nullptr, false);
    std::vector<std::string> options;
    {
      std::string opt = value(row[14]), cur;
      for (char c : opt + " ") {
        if (c == ' ') {
          if (!cur.empty()) options.push_back(cur);
          cur.clear();
        } else {
          cur += c;
        }
      }
    }
    if (columns.is_array()) {
      for (std::size_t k = 0; k < columns.size(); ++k) {
        std::string text = columns[k].is_string() ? columns[k].get<std::string>() : "";
        if (k < key_count) {
          if (k < options.size() && (std::stoi(options[k]) & 1)) text += " DESC";
          index.keys.push_back(text);
        } else {
          index.include.push_back(text);
        }
      }
    }
    index.predicate = value(row[7]);
    index.unique = truth(row[8]);
    index.primary = truth(row[9]);
    index.constraint = truth(row[10]);
    index.valid = truth(row[11]);
    if (row[12]) index.scans = static_cast<long long>(number(row[12]));
    index.size_bytes = static_cast<long long>(number(row[13]));
    t->indexes.push_back(std::move(index));
  }

  const auto fks = executor.run(
      database,
      "SELECT n.nspname, c.relname, k.conname, (SELECT json_agg(a.attname ORDER BY u.ord) FROM "
      "unnest(k.conkey) WITH ORDINALITY u(attnum, ord) JOIN pg_attribute a ON a.attrelid = k.conrelid AND "
      "a.attnum = u.attnum)::text, k.confrelid::regclass::text FROM pg_constraint k JOIN pg_class c ON c.oid = "
      "k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE k.contype = 'f' AND " +
          user_tables,
      run);
  for (const auto& row : fks.rows) {
    TableInfo* t = find_mutable(catalog, value(row[0]), value(row[1]));
    if (!t) continue;
    ForeignKey fk;
    fk.name = value(row[2]);
    const auto cols = nlohmann::json::parse(value(row[3]), nullptr, false);
    if (cols.is_array())
      for (const auto& c : cols) fk.columns.push_back(c.get<std::string>());
    fk.referenced_table = value(row[4]);
    t->foreign_keys.push_back(std::move(fk));
  }
  return catalog;
}

Catalog catalog_from_ddl(const std::string& ddl) {
  Catalog catalog;
  for (const auto& s : sql::parse_script(ddl)) {
    if (s.kind == sql::StatementKind::create_table) {
      for (const auto& t : s.tables) {
        if (t.role != sql::TableRole::defined) continue;
        TableInfo info;
        info.schema = t.schema;
        info.name = t.name;
        catalog.tables.push_back(std::move(info));
      }
    } else if (s.kind == sql::StatementKind::create_index && s.index) {
      const auto& def = *s.index;
      TableInfo* table = nullptr;
      for (auto& t : catalog.tables)
        if (t.name == def.table && (def.schema.empty() || t.schema.empty() || t.schema == def.schema)) table = &t;
      if (!table) continue;
      ExistingIndex index;
      index.name = def.name.empty() ? "(unnamed index on " + def.table + ")" : def.name;
      index.definition = s.text;
      index.method = def.method.empty() ? "btree" : def.method;
      for (const auto& k : def.keys) {
        std::string text = k.column.empty() ? k.expression : k.column;
        if (k.direction == sql::SortDirection::desc) text += " DESC";
        index.keys.push_back(text);
      }
      index.include = def.include;
      index.predicate = def.where;
      index.unique = def.unique;
      table->indexes.push_back(std::move(index));
    }
  }
  return catalog;
}

}  // namespace dbopt::advisor
