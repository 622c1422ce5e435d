#include "tools/json_schema.h"

#include <cmath>

#include <regex>
#include <set>
#include <stdexcept>

namespace dbopt::tools {
namespace {

using Json = nlohmann::json;

std::string type_of(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "integer";
    case Json::value_t::number_float:
      return "number";
    case Json::value_t::string:
      return "string";
    case Json::value_t::array:
      return "array";
    case Json::value_t::object:
      return "object";
    default:
      return "unknown";
  }
}

bool has_type(const Json& v, const std::string& type) {
  if (type == "number") return v.is_number();
  if (type == "integer") {
    if (v.is_number_integer()) return true;
    // 3.0 is an integer in JSON Schema.
    // std::trunc, not a cast to an integer type: a cast of 1e140 is undefined behaviour.
    return v.is_number_float() && std::isfinite(v.get<double>()) && v.get<double>() == std::trunc(v.get<double>());
  }
  return type_of(v) == type;
}

std::string short_text(const Json& v) {
  std::string s = v.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

class Validator {
 public:
  Validator(size_t limit) : limit_(limit) {}
  std::vector<SchemaViolation> violations;

  void validate(const Json& v, const Json& schema, const std::string& path) {
    if (full() || !schema.is_object()) return;
    if (auto it = schema.find("type"); it != schema.end()) {
      bool ok = false;
      std::string expected;
      if (it->is_string()) {
        ok = has_type(v, *it);
        expected = *it;
      } else {
        for (const auto& t : *it) {
          ok = ok || has_type(v, t);
          expected += (expected.empty() ? "" : " or ") + t.get<std::string>();
        }
      }
      if (!ok) return add(path, "expected " + expected + ", got " + type_of(v));
    }
    if (auto it = schema.find("enum"); it != schema.end()) {
      bool found = false;
      for (const auto& e : *it) found = found || e == v;
      if (!found) return add(path, "must be one of " + it->dump() + ", got " + short_text(v));
    }
    if (auto it = schema.find("const"); it != schema.end() && *it != v)
      return add(path, "must be " + it->dump() + ", got " + short_text(v));
    if (v.is_number()) check_number(v.get<double>(), schema, path);
    if (v.is_string()) check_string(v.get_ref<const std::string&>(), schema, path);
    if (v.is_array()) check_array(v, schema, path);
    if (v.is_object()) check_object(v, schema, path);
    if (auto it = schema.find("anyOf"); it != schema.end()) check_alternatives(v, *it, path, false);
    if (auto it = schema.find("oneOf"); it != schema.end()) check_alternatives(v, *it, path, true);
  }

 private:
  size_t limit_;
  bool full() const { return violations.size() >= limit_; }
  void add(const std::string& path, std::string message) {
    if (!full()) violations.push_back({path, std::move(message)});
  }

  void check_number(double x, const Json& s, const std::string& path) {
    auto num = [](const Json& j) { return j.get<double>(); };
    if (s.contains("minimum") && x < num(s["minimum"])) add(path, "must be >= " + s["minimum"].dump());
    if (s.contains("maximum") && x > num(s["maximum"])) add(path, "must be <= " + s["maximum"].dump());
    if (s.contains("exclusiveMinimum") && x <= num(s["exclusiveMinimum"]))
      add(path, "must be > " + s["exclusiveMinimum"].dump());
    if (s.contains("exclusiveMaximum") && x >= num(s["exclusiveMaximum"]))
      add(path, "must be < " + s["exclusiveMaximum"].dump());
  }

  void check_string(const std::string& x, const Json& s, const std::string& path) {
    if (s.contains("minLength") && x.size() < s["minLength"].get<size_t>())
      add(path,
          s["minLength"] == 1 ? "must not be empty" : "must be at least " + s["minLength"].dump() + " characters");
    if (s.contains("maxLength") && x.size() > s["maxLength"].get<size_t>())
      add(path, "must be at most " + s["maxLength"].dump() + " characters, got " + std::to_string(x.size()));
    if (s.contains("pattern")) {
      const std::regex re(s["pattern"].get<std::string>(), std::regex::ECMAScript);
      if (!std::regex_search(x, re)) add(path, "must match the pattern " + s["pattern"].dump());
    }
  }

  void check_array(const Json& v, const Json& s, const std::string& path) {
    if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>())
      add(path, "must have at least " + s["minItems"].dump() + " items");
    if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>())
      add(path, "must have at most " + s["maxItems"].dump() + " items, got " + std::to_string(v.size()));
    if (auto it = s.find("items"); it != s.end())
      for (size_t i = 0; i < v.size() && !full(); ++i) validate(v[i], *it, path + "[" + std::to_string(i) + "]");
  }

  void check_object(const Json& v, const Json& s, const std::string& path) {
    if (auto req = s.find("required"); req != s.end())
      for (const auto& name : *req)
        if (!v.contains(name.get<std::string>())) add(path + "." + name.get<std::string>(), "is required");
    const Json* props = s.contains("properties") ? &s["properties"] : nullptr;
    const Json* extra = s.contains("additionalProperties") ? &s["additionalProperties"] : nullptr;
    for (auto it = v.begin(); it != v.end() && !full(); ++it) {
      const std::string child = path + "." + it.key();
      if (props && props->contains(it.key())) {
        validate(it.value(), (*props)[it.key()], child);
      } else if (extra && extra->is_boolean() && !extra->get<bool>()) {
        std::string known;
        if (props)
          for (auto p = props->begin(); p != props->end(); ++p) known += (known.empty() ? "" : ", ") + p.key();
        add(child, "is not a known field" + (known.empty() ? std::string() : " (known: " + known + ")"));
      } else if (extra && extra->is_object()) {
        validate(it.value(), *extra, child);
      }
    }
  }

  void check_alternatives(const Json& v, const Json& alternatives, const std::string& path, bool exactly_one) {
    size_t matches = 0;
    for (const auto& alt : alternatives) {
      Validator probe(1);
      probe.validate(v, alt, path);
      if (probe.violations.empty()) ++matches;
    }
    if (matches == 0)
      add(path, "does not match any of the allowed forms");
    else if (exactly_one && matches > 1)
      add(path, "matches more than one of the allowed forms");
  }
};

const std::set<std::string>& supported_keywords() {
  static const std::set<std::string> keywords = {
      "type", "properties", "required", "additionalProperties", "items", "enum", "const", "minimum", "maximum",
      "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "minItems", "maxItems", "anyOf",
      "oneOf",
      // annotations, not validated
      "title", "description", "default", "format", "examples", "$schema", "deprecated", "readOnly"};
  return keywords;
}

}  // namespace

std::vector<SchemaViolation> validate_against_schema(const Json& value, const Json& schema,
                                                     const std::string& root_name, size_t limit) {
  Validator validator(limit);
  validator.validate(value, schema, root_name);
  return std::move(validator.violations);
}

void check_schema_supported(const Json& schema, const std::string& where) {
  if (!schema.is_object()) throw std::logic_error(where + " is not an object");
  for (auto it = schema.begin(); it != schema.end(); ++it) {
    if (!supported_keywords().count(it.key()))
      throw std::logic_error(where + " uses the unsupported keyword '" + it.key() + "'");
    if (it.key() == "properties")
      for (auto p = it->begin(); p != it->end(); ++p) check_schema_supported(*p, where + ".properties." + p.key());
    if (it.key() == "items" || (it.key() == "additionalProperties" && it->is_object()))
      check_schema_supported(*it, where + "." + it.key());
    if (it.key() == "anyOf" || it.key() == "oneOf")
      for (size_t i = 0; i < it->size(); ++i)
        check_schema_supported((*it)[i], where + "." + it.key() + "[" + std::to_string(i) + "]");
    if (it.key() == "pattern") (void)std::regex(it->get<std::string>());  // throws on a bad pattern
  }
}

}  // namespace dbopt::tools
