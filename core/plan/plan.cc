#include "core/plan/plan.h"

#include "core/plan/reader_support.h"

namespace dbopt::plan {

std::vector<const PlanNode*> preorder(const Plan& plan) {
  std::vector<const PlanNode*> nodes;
  // An explicit stack: plans can be deep, and this runs on any thread.
  std::vector<const PlanNode*> pending{&plan.root};
  while (!pending.empty()) {
    const PlanNode* node = pending.back();
    pending.pop_back();
    nodes.push_back(node);
    for (auto child = node->children.rbegin(); child != node->children.rend(); ++child) {
      pending.push_back(&*child);
    }
  }
  return nodes;
}

namespace {

std::string node_name(const PlanNode& node) {
  const std::string& type = node.node_type;
  if (type == "Aggregate") {
    std::string name = "Aggregate";
    if (node.strategy == "Sorted") name = "GroupAggregate";
    if (node.strategy == "Hashed") name = "HashAggregate";
    if (node.strategy == "Mixed") name = "MixedAggregate";
    if (node.partial_mode && *node.partial_mode != "Simple") name = *node.partial_mode + " " + name;
    return name;
  }
  if (type == "SetOp") {
    std::string name = node.strategy == "Hashed" ? "HashSetOp" : "SetOp";
    if (node.set_operation) name += " " + *node.set_operation;
    return name;
  }
  if (type == "ModifyTable" && node.operation) return *node.operation;
  if (type == "Foreign Scan" && node.operation && *node.operation != "Select") {
    return "Foreign " + *node.operation;
  }
  if (type == "Custom Scan" && node.custom_plan_provider) {
    return "Custom Scan (" + *node.custom_plan_provider + ")";
  }
  if (type == "Nested Loop" || type == "Hash Join" || type == "Merge Join") {
    std::string name = type == "Nested Loop" ? "Nested Loop" : type.substr(0, type.find(' '));
    const std::string join_type = node.join_type.value_or("Inner");
    if (join_type != "Inner") {
      name += " " + join_type + " Join";
    } else if (type != "Nested Loop") {
      name += " Join";
    }
    return name;
  }
  return type;
}

std::string qualified(const std::optional<std::string>& schema, const std::string& name) {
  std::string out;
  if (schema) out = detail::quote_identifier(*schema) + ".";
  return out + detail::quote_identifier(name);
}

}  // namespace

std::string describe(const PlanNode& node) {
  std::string out;
  if (node.parallel_aware) out += "Parallel ";
  if (node.async_capable) out += "Async ";
  out += node_name(node);

  if (node.index_name && (node.node_type == "Index Scan" || node.node_type == "Index Only Scan")) {
    if (node.backward_scan) out += " Backward";
    out += " using " + detail::quote_identifier(*node.index_name);
  }

  // Mirrors PostgreSQL's ExplainTargetRel: the object, then the alias when it
  // differs from the object's name.
  const std::optional<std::string>* object = nullptr;
  switch (detail::target_kind(node.node_type)) {
    case detail::TargetKind::none:
      return out;
    case detail::TargetKind::index:
      if (node.index_name) out += " on " + detail::quote_identifier(*node.index_name);
      return out;
    case detail::TargetKind::relation:
      object = &node.relation_name;
      break;
    case detail::TargetKind::function:
      object = &node.function_name;
      break;
    case detail::TargetKind::cte:
      object = &node.cte_name;
      break;
    case detail::TargetKind::tuplestore:
    case detail::TargetKind::alias_only:
      break;
  }
  const bool has_object = object != nullptr && object->has_value();
  if (!has_object && !node.alias) return out;
  out += " on";
  if (has_object) out += " " + qualified(node.schema, **object);
  if (node.alias && (!has_object || *node.alias != **object)) {
    out += " " + detail::quote_identifier(*node.alias);
  }
  return out;
}

}  // namespace dbopt::plan
