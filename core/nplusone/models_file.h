// Django model declarations read from a pasted models.py, for the names an
// N+1 fix must use: class names, tables, forward relation fields and the
// related_name / related_query_name of their reverse side.
//
// parse_models() reads `class X(models.Model):` blocks (any base class) and
// their ForeignKey / OneToOneField / ManyToManyField declarations, Meta's
// db_table and app_label; a comment naming a file ("# blog/models.py") sets
// the app label of the classes after it, so several files can be pasted one
// after another. It is a line reader, not a Python parser: declarations that
// span lines are joined until their parentheses close. Tables follow Django's
// rule (<app_label>_<lower-case class name>) unless db_table says otherwise;
// with no app label known, `table` stays empty and callers match classes by
// the model part of a table name. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dbopt::nplusone {

struct ModelField {
  enum class Kind { foreign_key, one_to_one, many_to_many };
  Kind kind = Kind::foreign_key;
  std::string name;                // author
  std::string column;              // author_id (db_column when given); empty for many_to_many
  std::string target;              // the related class as written: Author, 'blog.Author', "self"
  std::string related_name;        // as given; empty: Django's default
  std::string related_query_name;  // as given; empty: related_name, else the lower-case class name
  std::string through;             // many_to_many: the through table (db_table of `through=` or the default)
};

struct Model {
  std::string class_name;
  std::string app_label;  // empty when unknown
  std::string table;      // empty when the app label is unknown and no db_table is given
  std::vector<ModelField> fields;
};

// ASCII lower case, as Django lower-cases class names for tables and related query names.
std::string lower_ascii(std::string s);

// Throws dbopt::Error(invalid_argument) when the text declares no model class.
std::vector<Model> parse_models(std::string_view text);

}  // namespace dbopt::nplusone
