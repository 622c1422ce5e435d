#include "core/advisor/django_index.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <vector>

#include "core/common/python_literal.h"

namespace dbopt::advisor {
namespace {

bool identifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

std::string unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t b = 0;
  while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  return s.substr(b);
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Django checks index names: at most 30 characters, not starting with a digit
// or underscore (models.E033/E034). A longer name keeps its start and a hash.
std::string django_name(const std::string& sql_name) {
  const std::string name = unquote(sql_name);
  if (name.size() <= 30) return name;
  std::uint32_t h = 2166136261u;  // FNV-1a: the same name on every run
  for (unsigned char c : name) h = (h ^ c) * 16777619u;
  char hash[9];
  std::snprintf(hash, sizeof hash, "%08x", h);
  std::string head = name.substr(0, 17);
  while (!head.empty() && head.back() == '_') head.pop_back();
  return head + "_" + std::string(hash, 8) + "_idx";
}

// One key as a Django field or expression: "created_at DESC" -> "-created_at"
// (field) or F("created_at").desc() (expression); "(lower(email))" ->
// Lower("email"); "body gin_trgm_ops" -> field "body" with opclasses=[...].
// Only what Django 3.2 (Debian 12's) already has: no OpClass (4.1).
struct Key {
  std::string field;       // for fields=[...], when a plain column
  std::string expression;  // for the expressions form
  std::string opclass;     // for opclasses=[...] (fields only)
};

std::optional<Key> django_key(const std::string& sql) {
  std::vector<std::string> words;
  std::string word;
  int depth = 0;
  for (char c : sql) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ' ' && depth == 0) {
      if (!word.empty()) words.push_back(word);
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) words.push_back(word);
  if (words.empty()) return std::nullopt;
  bool desc = false;
  std::string opclass;
  for (std::size_t i = 1; i < words.size(); ++i) {
    const std::string w = upper(words[i]);
    if (w == "DESC")
      desc = true;
    else if (w != "ASC" && identifier(words[i]) && opclass.empty())
      opclass = words[i];
    else
      return std::nullopt;  // NULLS FIRST/LAST, COLLATE: not in Django's index API here
  }
  Key k;
  std::string base = words[0];
  const std::string suffix = desc ? ".desc()" : "";
  if (identifier(unquote(base))) {
    const std::string col = unquote(base);
    k.field = (desc ? "-" : "") + col;
    k.opclass = opclass;
    if (opclass.empty()) k.expression = "F(" + python_string(col) + ")" + suffix;
    return k;
  }
  if (!opclass.empty()) return std::nullopt;  // an expression with an operator class: RunSQL says it
  // "(lower(email))" / "(upper(email))"
  if (base.size() > 2 && base.front() == '(' && base.back() == ')') base = base.substr(1, base.size() - 2);
  for (const char* fn : {"lower", "upper"}) {
    const std::string open = std::string(fn) + "(";
    if (base.rfind(open, 0) == 0 && base.back() == ')') {
      const std::string col = unquote(base.substr(open.size(), base.size() - open.size() - 1));
      if (!identifier(col)) return std::nullopt;
      const std::string cls = std::string(fn) == "lower" ? "Lower" : "Upper";
      k.expression = cls + "(" + python_string(col) + ")" + suffix;
      return k;
    }
  }
  return std::nullopt;
}

// "status = 'open' AND deleted_at IS NULL" -> Q(status="open") & Q(deleted_at__isnull=True)
std::optional<std::string> django_condition(const std::string& where) {
  std::vector<std::string> terms;
  std::string term;
  bool quoted = false;
  for (std::size_t i = 0; i < where.size(); ++i) {
    if (where[i] == '\'') quoted = !quoted;
    if (!quoted && upper(where.substr(i, 5)) == " AND ") {
      terms.push_back(trim(term));
      term.clear();
      i += 4;
      continue;
    }
    term += where[i];
  }
  terms.push_back(trim(term));
  std::string args;
  for (std::string t : terms) {
    while (t.size() > 2 && t.front() == '(' && t.back() == ')') t = trim(t.substr(1, t.size() - 2));
    std::string arg;
    if (const auto at = upper(t).find(" IS NOT NULL"); at != std::string::npos && at + 12 == t.size()) {
      const std::string col = unquote(trim(t.substr(0, at)));
      if (!identifier(col)) return std::nullopt;
      arg = col + "__isnull=False";
    } else if (const auto at2 = upper(t).find(" IS NULL"); at2 != std::string::npos && at2 + 8 == t.size()) {
      const std::string col = unquote(trim(t.substr(0, at2)));
      if (!identifier(col)) return std::nullopt;
      arg = col + "__isnull=True";
    } else if (const auto eq = t.find(" = "); eq != std::string::npos) {
      const std::string col = unquote(trim(t.substr(0, eq)));
      std::string value = trim(t.substr(eq + 3));
      if (const auto cast = value.rfind("::"); cast != std::string::npos && value.find('\'', cast) == std::string::npos)
        value = value.substr(0, cast);
      if (!identifier(col)) return std::nullopt;
      if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
        const std::string inner = value.substr(1, value.size() - 2);
        if (inner.find('\'') != std::string::npos) return std::nullopt;  // '' escapes: RunSQL says it exactly
        arg = col + "=" + python_string(inner);
      } else if (upper(value) == "TRUE" || upper(value) == "FALSE") {
        arg = col + "=" + std::string(upper(value) == "TRUE" ? "True" : "False");
      } else if (!value.empty() && value.find_first_not_of("0123456789.-") == std::string::npos) {
        arg = col + "=" + value;
      } else {
        return std::nullopt;
      }
    } else {
      return std::nullopt;
    }
    // Q(a) & Q(b), not Q(a, b): Q sorts its keyword arguments, and the index's
    // predicate should read as the query's.
    args += (args.empty() ? "" : " & ") + ("Q(" + arg + ")");
  }
  return args;
}

}  // namespace

DjangoIndex django_index(const Candidate& c) {
  DjangoIndex out;
  out.name = django_name(c.name());
  std::string cls = "models.Index";
  std::string cls_import;
  if (c.method == "gin") {
    cls = "GinIndex";
    cls_import = "from django.contrib.postgres.indexes import GinIndex";
  } else if (c.method == "brin") {
    cls = "BrinIndex";
    cls_import = "from django.contrib.postgres.indexes import BrinIndex";
  } else if (c.method == "gist") {
    cls = "GistIndex";
    cls_import = "from django.contrib.postgres.indexes import GistIndex";
  } else if (c.method != "btree") {
    cls.clear();
  }
  std::vector<Key> keys;
  bool representable = !cls.empty();
  for (const auto& k : c.keys) {
    const auto key = django_key(k);
    if (!key) representable = false;
    if (key) keys.push_back(*key);
  }
  std::optional<std::string> condition;
  if (!c.where.empty()) {
    condition = django_condition(c.where);
    if (!condition) representable = false;
  }
  for (const auto& col : c.include)
    if (!identifier(unquote(col))) representable = false;

  bool plain = true;  // every key a plain column: fields=[...], else the expressions form
  std::size_t opclasses = 0;
  for (const auto& k : keys) {
    plain = plain && !k.field.empty();
    opclasses += !k.opclass.empty();
  }
  // Django takes operator classes for every field or none; expressions take none.
  if (opclasses > 0 && (!plain || opclasses != keys.size())) representable = false;

  const std::string model = c.table.find('_') != std::string::npos ? c.table.substr(c.table.find('_') + 1) : c.table;
  if (representable) {
    std::string args;
    std::vector<std::string>& imports = out.imports;
    imports = {"from django.db import models"};
    if (!cls_import.empty()) imports.push_back(cls_import);
    if (plain) {
      args = "fields=[";
      for (std::size_t i = 0; i < keys.size(); ++i) args += (i ? ", " : "") + python_string(keys[i].field);
      args += "]";
      if (!keys.empty() && !keys[0].opclass.empty()) {
        args += ", opclasses=[";
        for (std::size_t i = 0; i < keys.size(); ++i) args += (i ? ", " : "") + python_string(keys[i].opclass);
        args += "]";
      }
    } else {
      imports.push_back("from django.db.models import F");
      for (std::size_t i = 0; i < keys.size(); ++i) args += (i ? ", " : "") + keys[i].expression;
      for (const char* fn : {"Lower(", "Upper("})
        for (const auto& k : keys)
          if (k.expression.find(fn) != std::string::npos) {
            imports.push_back(std::string("from django.db.models.functions import ") + std::string(fn).substr(0, 5));
            break;
          }
    }
    if (!c.include.empty()) {
      args += ", include=[";
      for (std::size_t i = 0; i < c.include.size(); ++i) args += (i ? ", " : "") + python_string(unquote(c.include[i]));
      args += "]";
    }
    if (condition) {
      args += ", condition=" + *condition;
      imports.push_back("from django.db.models import Q");
    }
    args += ", name=" + python_string(out.name);
    out.meta_entry = cls + "(" + args + ")";
    imports.push_back("from django.contrib.postgres.operations import AddIndexConcurrently");
    out.operation = "AddIndexConcurrently(" + python_string(model) + ", " + out.meta_entry + "),  # the model on " +
                    c.table + " (name guessed from Django's <app>_<model> tables)";
    return out;
  }
  out.imports = {"from django.db import migrations"};
  out.operation = "migrations.RunSQL(" + python_string(c.ddl()) +
                  ", reverse_sql=" + python_string("DROP INDEX CONCURRENTLY IF EXISTS " + c.name()) +
                  "),  # Django's index API cannot express this index";
  return out;
}

std::string django_code(const std::vector<Candidate>& indexes) {
  if (indexes.empty()) return "";
  std::vector<std::string> tables;
  std::vector<DjangoIndex> forms;
  std::vector<std::string> imports = {"from django.db import migrations"};
  for (const auto& c : indexes) {
    forms.push_back(django_index(c));
    if (std::find(tables.begin(), tables.end(), c.qualified_table()) == tables.end())
      tables.push_back(c.qualified_table());
  }
  std::string models;
  for (const auto& t : tables) {
    std::string entries;
    for (std::size_t i = 0; i < indexes.size(); ++i)
      if (indexes[i].qualified_table() == t && !forms[i].meta_entry.empty())
        entries += "            " + forms[i].meta_entry + ",\n";
    if (!entries.empty())
      models += "# models.py, the model on table " + t + ":\n    class Meta:\n        indexes = [\n" + entries +
                "        ]\n\n";
  }
  std::string operations;
  std::vector<std::string> extensions;
  for (const auto& c : indexes)
    if (!c.extension.empty() && std::find(extensions.begin(), extensions.end(), c.extension) == extensions.end()) {
      extensions.push_back(c.extension);
      operations += "        migrations.RunSQL(" + python_string("CREATE EXTENSION IF NOT EXISTS " + c.extension) +
                    ", reverse_sql=migrations.RunSQL.noop),\n";
    }
  for (const auto& f : forms) {
    for (const auto& line : f.imports)
      if (std::find(imports.begin(), imports.end(), line) == imports.end()) imports.push_back(line);
    operations += "        " + f.operation + "\n";
  }
  std::string import_lines;
  for (const auto& line : imports) import_lines += line + "\n";
  return models + "# migrations/NNNN_indexes.py: builds them without blocking writes\n" + import_lines +
         "\n\nclass Migration(migrations.Migration):\n"
         "    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction\n"
         "    dependencies = [(\"APP_LABEL\", \"PREVIOUS_MIGRATION\")]\n"
         "    operations = [\n" +
         operations + "    ]\n";
}

}  // namespace dbopt::advisor
