#include "core/nplusone/models_file.h"

#include <regex>

#include "core/common/error.h"
#include "core/workload/log_reader.h"

namespace dbopt::nplusone {
namespace {

std::string unquote(std::string s) {
  while (!s.empty() && (s.front() == ' ')) s.erase(s.begin());
  while (!s.empty() && (s.back() == ' ')) s.pop_back();
  if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front()) s = s.substr(1, s.size() - 2);
  return s;
}

// The top-level arguments of a call's argument text: positional ones and name=value pairs.
struct Arguments {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> named;
  std::string get(const std::string& name) const {
    for (const auto& [k, v] : named)
      if (k == name) return unquote(v);
    return {};
  }
};

Arguments split_arguments(const std::string& text) {
  static const std::regex kName("^\\s*([A-Za-z_]\\w*)\\s*$");
  Arguments out;
  for (const auto& item : workload::parse_python_args(text)) {
    const auto eq = item.find('=');
    std::smatch m;
    const std::string head = eq == std::string::npos ? std::string() : item.substr(0, eq);
    if (eq != std::string::npos && std::regex_match(head, m, kName))
      out.named.emplace_back(m[1], item.substr(eq + 1));
    else
      out.positional.push_back(unquote(item));
  }
  return out;
}

int paren_balance(const std::string& s) {
  int depth = 0;
  char quote = 0;
  for (const char c : s) {
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '#') {
      break;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    }
  }
  return depth;
}

}  // namespace

std::string lower_ascii(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::vector<Model> parse_models(std::string_view text) {
  static const std::regex kFile(R"(^\s*#.*?(\w+)[/\\]models(\.py)?\b)");
  static const std::regex kClass(R"(^class\s+(\w+)\s*(\((.*)\))?\s*:)");
  static const std::regex kMeta(R"(^\s+class\s+Meta\b)");
  static const std::regex kMetaValue(R"(^\s+(db_table|app_label)\s*=\s*['"]([^'"]+)['"])");
  static const std::regex kField(
      R"(^\s+(\w+)\s*=\s*(?:[\w.]*\.)?(ForeignKey|OneToOneField|ManyToManyField)\s*\((.*)\)\s*(#.*)?$)");
  std::vector<Model> models;
  std::string app;
  bool in_meta = false;
  std::string pending;  // a declaration whose parentheses are still open
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(start, end - start));
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!pending.empty()) {
      pending += " " + line;
      if (paren_balance(pending) > 0) continue;
      line = pending;
      pending.clear();
    } else if (paren_balance(line) > 0 && line.find('(') != std::string::npos) {
      pending = line;
      continue;
    }
    std::smatch m;
    if (std::regex_search(line, m, kFile)) {
      app = m[1];
      continue;
    }
    if (std::regex_search(line, m, kClass)) {
      in_meta = false;
      models.push_back({m[1], app, "", {}});
      continue;
    }
    if (models.empty()) continue;
    Model& model = models.back();
    if (std::regex_search(line, m, kMeta)) {
      in_meta = true;
      continue;
    }
    if (in_meta && std::regex_search(line, m, kMetaValue)) {
      (m[1] == "db_table" ? model.table : model.app_label) = m[2];
      continue;
    }
    if (!std::regex_search(line, m, kField)) continue;
    in_meta = false;
    const Arguments args = split_arguments(m[3]);
    ModelField f;
    f.name = m[1];
    f.kind = m[2] == "ForeignKey"      ? ModelField::Kind::foreign_key
             : m[2] == "OneToOneField" ? ModelField::Kind::one_to_one
                                       : ModelField::Kind::many_to_many;
    f.target = args.get("to");
    if (f.target.empty() && !args.positional.empty()) f.target = args.positional.front();
    f.related_name = args.get("related_name");
    f.related_query_name = args.get("related_query_name");
    if (f.kind != ModelField::Kind::many_to_many) {
      f.column = args.get("db_column");
      if (f.column.empty()) f.column = f.name + "_id";
    } else {
      f.through = args.get("through");  // a class name until resolved below
    }
    model.fields.push_back(std::move(f));
  }
  std::erase_if(models, [](const Model& m) { return m.class_name == "Meta"; });
  if (models.empty())
    throw Error(ErrorCode::invalid_argument, "`models`: no model class found in the text.",
                "Paste the models.py files of the apps the log comes from (class Post(models.Model): ... with its "
                "ForeignKey, OneToOneField and ManyToManyField fields); put a comment such as `# blog/models.py` "
                "before each file so the app label, and with it the table names, are known.");
  for (auto& model : models)
    if (model.table.empty() && !model.app_label.empty())
      model.table = model.app_label + "_" + lower_ascii(model.class_name);
  for (auto& model : models) {
    for (auto& f : model.fields) {
      if (f.kind != ModelField::Kind::many_to_many) continue;
      if (!f.through.empty()) {
        const std::string cls = f.through.substr(f.through.rfind('.') + 1);
        f.through.clear();
        for (const auto& other : models)
          if (other.class_name == cls) f.through = other.table;
      } else if (!model.table.empty()) {
        f.through = model.table + "_" + f.name;
      }
    }
  }
  return models;
}

}  // namespace dbopt::nplusone
