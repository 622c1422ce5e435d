// EXPLAIN (FORMAT JSON) -> Plan.
//
// A SAX handler fills the Plan while nlohmann's lexer reads, so no JSON DOM is
// built: a large plan costs one pass and no copy of its subtrees. Keys the
// model does not hold (per-worker details, "Inner Unique", ...) are skipped.
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/plan/explain_reader.h"
#include "core/plan/reader_support.h"

namespace dbopt::plan {

namespace {

std::string format_number(double value) {
  if (std::isnan(value)) return "not a number";
  if (std::isinf(value)) return value > 0 ? "infinite" : "minus infinity";
  std::string text = std::to_string(value);
  text.erase(text.find_last_not_of('0') + 1);
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

class PlanBuilder;
struct NodeExtras;
struct Scalar;

// What a plan node's key holds: a scalar that `set` stores, the child plans,
// or an array of strings stored in `strings`. One table entry per key.
struct NodeField {
  enum class Holds { scalar, plans, strings } holds = Holds::scalar;
  void (*set)(const PlanBuilder&, PlanNode&, NodeExtras&, const Scalar&) = nullptr;
  std::vector<std::string> PlanNode::*strings = nullptr;
};
const std::unordered_map<std::string_view, NodeField>& node_fields();

// The BUFFERS keys, shared by plan nodes and the "Planning" object. Returns
// false for any other key.
bool apply_buffers_key(Buffers& b, std::string_view key, double value) {
  const auto blocks = static_cast<std::int64_t>(std::llround(value));
  if (key == "Shared Hit Blocks")
    b.shared_hit = blocks;
  else if (key == "Shared Read Blocks")
    b.shared_read = blocks;
  else if (key == "Shared Dirtied Blocks")
    b.shared_dirtied = blocks;
  else if (key == "Shared Written Blocks")
    b.shared_written = blocks;
  else if (key == "Local Hit Blocks")
    b.local_hit = blocks;
  else if (key == "Local Read Blocks")
    b.local_read = blocks;
  else if (key == "Local Dirtied Blocks")
    b.local_dirtied = blocks;
  else if (key == "Local Written Blocks")
    b.local_written = blocks;
  else if (key == "Temp Read Blocks")
    b.temp_read = blocks;
  else if (key == "Temp Written Blocks")
    b.temp_written = blocks;
  // Up to 16 one pair of keys covers shared and local; 17 splits them.
  else if (key == "I/O Read Time" || key == "Shared I/O Read Time" || key == "Local I/O Read Time")
    b.io_read_time_ms += value;
  else if (key == "I/O Write Time" || key == "Shared I/O Write Time" || key == "Local I/O Write Time")
    b.io_write_time_ms += value;
  else if (key == "Temp I/O Read Time")
    b.temp_io_read_time_ms = value;
  else if (key == "Temp I/O Write Time")
    b.temp_io_write_time_ms = value;
  else
    return false;
  return true;
}

bool is_block_count_key(std::string_view key) { return key.size() > 7 && key.substr(key.size() - 7) == " Blocks"; }

// One JSON scalar, as the handler sees it.
struct Scalar {
  enum class Kind { null, boolean, number, string } kind = Kind::null;
  bool boolean = false;
  double number = 0;
  std::string* text = nullptr;  // owned by the lexer; may be moved from
};

// Hash, HashAgg and Memoize figures share "Peak Memory Usage" and may come in
// any order; they are sorted out when the node's object ends.
struct NodeExtras {
  std::optional<std::int64_t> hash_buckets, original_hash_buckets, hash_batches, original_hash_batches;
  std::optional<std::int64_t> peak_memory, hashagg_batches, disk_usage;
  std::optional<std::int64_t> cache_hits, cache_misses, cache_evictions, cache_overflows;
};

struct Frame {
  enum class Kind {
    document,
    outer_array,
    top_object,
    node,
    plans,
    strings,
    settings,
    planning,
    jit,
    jit_options,
    jit_timing,
    jit_generation,
    triggers,
    trigger,
    skip,
  };
  explicit Frame(Kind k) : kind(k) {}
  Kind kind;
  PlanNode* node = nullptr;
  std::vector<std::string>* strings = nullptr;
  int depth = 0;        // node: nesting depth; skip: open containers
  int node_number = 0;  // node: pre-order position, for messages
  bool seen_element = false;
  NodeExtras extras;
};

class PlanBuilder {
 public:
  explicit PlanBuilder(std::string_view text) : text_(text) { frames_.emplace_back(Frame::Kind::document); }

  Plan take_plan() {
    if (!seen_plan_) {
      detail::throw_parse_error(
          "EXPLAIN (FORMAT JSON): no \"Plan\" object found; expected the output of "
          "EXPLAIN (FORMAT JSON), an array holding an object with a \"Plan\" key.");
    }
    return std::move(plan_);
  }

  // --- nlohmann SAX interface ---
  bool null() { return scalar({}); }
  bool boolean(bool value) {
    Scalar s;
    s.kind = Scalar::Kind::boolean;
    s.boolean = value;
    return scalar(s);
  }
  bool number_integer(std::int64_t value) { return number(static_cast<double>(value)); }
  bool number_unsigned(std::uint64_t value) { return number(static_cast<double>(value)); }
  bool number_float(double value, const std::string&) { return number(value); }
  bool string(std::string& value) {
    Scalar s;
    s.kind = Scalar::Kind::string;
    s.text = &value;
    return scalar(s);
  }
  bool binary(nlohmann::json::binary_t&) { return scalar({}); }

  bool key(std::string& value) {
    if (top().kind != Frame::Kind::skip) key_ = std::move(value);
    return true;
  }

  bool start_object(std::size_t) {
    Frame& frame = top();
    switch (frame.kind) {
      case Frame::Kind::document:
        push(Frame::Kind::top_object);
        return true;
      case Frame::Kind::outer_array:
        push(take_first_element(frame) ? Frame::Kind::top_object : Frame::Kind::skip);
        return true;
      case Frame::Kind::top_object:
        if (key_ == "Plan" && !seen_plan_) {
          seen_plan_ = true;
          push_node(&plan_.root, 1);
        } else if (key_ == "Planning") {
          push(Frame::Kind::planning);
        } else if (key_ == "JIT") {
          plan_.jit.emplace();
          push(Frame::Kind::jit);
        } else if (key_ == "Settings") {
          push(Frame::Kind::settings);
        } else {
          push(Frame::Kind::skip);
        }
        return true;
      case Frame::Kind::plans: {
        const int depth = frame.depth + 1;
        if (depth > kMaxPlanDepth) {
          detail::throw_parse_error("EXPLAIN (FORMAT JSON): the plan is nested deeper than " +
                                    std::to_string(kMaxPlanDepth) + " levels.");
        }
        PlanNode& child = frame.node->children.emplace_back();
        push_node(&child, depth);
        return true;
      }
      case Frame::Kind::jit:
        push(key_ == "Options"  ? Frame::Kind::jit_options
             : key_ == "Timing" ? Frame::Kind::jit_timing
                                : Frame::Kind::skip);
        return true;
      case Frame::Kind::jit_timing:
        push(key_ == "Generation" ? Frame::Kind::jit_generation : Frame::Kind::skip);
        return true;
      case Frame::Kind::triggers:
        plan_.triggers.emplace_back();
        push(Frame::Kind::trigger);
        return true;
      case Frame::Kind::skip:
        ++frame.depth;
        return true;
      default:
        push(Frame::Kind::skip);
        return true;
    }
  }

  bool start_array(std::size_t) {
    Frame& frame = top();
    switch (frame.kind) {
      case Frame::Kind::document:
        push(Frame::Kind::outer_array);
        return true;
      case Frame::Kind::top_object:
        // [{"QUERY PLAN": [...]}] is what some clients make of psql's result.
        push(key_ == "Triggers"     ? Frame::Kind::triggers
             : key_ == "QUERY PLAN" ? Frame::Kind::outer_array
                                    : Frame::Kind::skip);
        return true;
      case Frame::Kind::node: {
        const auto field = node_fields().find(key_);
        if (field == node_fields().end()) {
          push(Frame::Kind::skip);
        } else if (field->second.holds == NodeField::Holds::plans) {
          Frame plans{Frame::Kind::plans};
          plans.node = frame.node;
          plans.depth = frame.depth;
          frames_.push_back(plans);
        } else if (field->second.holds == NodeField::Holds::strings) {
          Frame strings{Frame::Kind::strings};
          strings.strings = &(frame.node->*field->second.strings);
          strings.strings->clear();
          frames_.push_back(strings);
        } else {
          push(Frame::Kind::skip);
        }
        return true;
      }
      case Frame::Kind::outer_array:
        take_first_element(frame);
        push(Frame::Kind::skip);
        return true;
      case Frame::Kind::skip:
        ++frame.depth;
        return true;
      default:
        push(Frame::Kind::skip);
        return true;
    }
  }

  bool end_object() { return end_container(); }
  bool end_array() { return end_container(); }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) {
    const std::size_t end = position < text_.size() ? position : text_.size();
    int line = 1;
    for (std::size_t i = 0; i < end; ++i) line += text_[i] == '\n';
    // nlohmann says "parse error at line L, column C: <what>"; keep <what>.
    std::string what = ex.what();
    const auto column = what.find("column ");
    const auto colon = what.find(": ", column == std::string::npos ? 0 : column);
    if (colon != std::string::npos) what = what.substr(colon + 2);
    std::string message = "EXPLAIN (FORMAT JSON), line " + std::to_string(line) + ": not valid JSON (" + what + ")";
    // The lexer stopped at the end of the text: a paste that lost its tail.
    const bool at_end = text_.find_first_not_of(" \t\r\n", end) == std::string_view::npos;
    if (at_end || what.find("end of input") != std::string::npos) message += "; the plan looks cut short";
    detail::throw_parse_error(message + ".");
  }

 private:
  Frame& top() { return frames_.back(); }

  void push(Frame::Kind kind) {
    Frame frame{kind};
    if (kind == Frame::Kind::skip) frame.depth = 1;
    frames_.push_back(frame);
  }

  void push_node(PlanNode* node, int depth) {
    Frame frame{Frame::Kind::node};
    frame.node = node;
    frame.depth = depth;
    frame.node_number = node_count_++;
    frames_.push_back(frame);
  }

  static bool take_first_element(Frame& frame) {
    const bool first = !frame.seen_element;
    frame.seen_element = true;
    return first;
  }

  bool end_container() {
    Frame& frame = top();
    if (frame.kind == Frame::Kind::skip && --frame.depth > 0) return true;
    if (frame.kind == Frame::Kind::node) finish_node(frame);
    frames_.pop_back();
    return true;
  }

  bool number(double value) {
    // EXPLAIN prints no infinity and no negative figure (but a signed query id):
    // such a plan was edited or corrupted, and its arithmetic would be nonsense.
    if (!std::isfinite(value) || (value < 0 && key_ != "Query Identifier")) {
      detail::throw_parse_error("EXPLAIN (FORMAT JSON): \"" + key_ + "\"" + where() + " is " + format_number(value) +
                                "; EXPLAIN prints costs, rows, times and counts of zero or more.");
    }
    Scalar s;
    s.kind = Scalar::Kind::number;
    s.number = value;
    return scalar(s);
  }

 public:
  // Typed readers of a scalar (used by the node field table); a wrong type is
  // a parse error naming the key and the node.
  [[noreturn]] void wrong_type(const char* expected) const {
    detail::throw_parse_error("EXPLAIN (FORMAT JSON): \"" + key_ + "\"" + where() + " should be " + expected + ".");
  }
  // " of plan node 3" when the key belongs to a node, for messages.
  std::string where() const {
    if (frames_.empty() || frames_.back().kind != Frame::Kind::node) return {};
    return " of plan node " + std::to_string(frames_.back().node_number);
  }

  double as_number(const Scalar& s) const {
    if (s.kind != Scalar::Kind::number) wrong_type("a number");
    return s.number;
  }
  std::int64_t as_integer(const Scalar& s) const { return static_cast<std::int64_t>(std::llround(as_number(s))); }
  std::string as_string(const Scalar& s) const {
    if (s.kind != Scalar::Kind::string) wrong_type("a string");
    return std::move(*s.text);
  }
  bool as_bool(const Scalar& s) const {
    if (s.kind != Scalar::Kind::boolean) wrong_type("true or false");
    return s.boolean;
  }

 private:
  bool scalar(const Scalar& value) {
    Frame& frame = top();
    switch (frame.kind) {
      case Frame::Kind::document:
        detail::throw_parse_error(
            "EXPLAIN (FORMAT JSON), line 1: expected an array or an object, found a single value.");
      case Frame::Kind::outer_array:
        take_first_element(frame);
        return true;
      case Frame::Kind::top_object:
        if (key_ == "Planning Time")
          plan_.planning_time_ms = as_number(value);
        else if (key_ == "Execution Time" || key_ == "Total Runtime")
          plan_.execution_time_ms = as_number(value);
        else if (key_ == "Query Text" && value.kind == Scalar::Kind::string)
          plan_.query_text = as_string(value);
        return true;
      case Frame::Kind::node:
        node_scalar(frame, value);
        return true;
      case Frame::Kind::strings:
        frame.strings->push_back(as_string(value));
        return true;
      case Frame::Kind::settings:
        if (value.kind == Scalar::Kind::string) plan_.settings[key_] = as_string(value);
        return true;
      case Frame::Kind::planning:
        if (value.kind == Scalar::Kind::number && apply_buffers_key(plan_.planning_buffers, key_, value.number) &&
            is_block_count_key(key_)) {
          plan_.has_buffers = true;
        }
        return true;
      case Frame::Kind::jit:
        if (key_ == "Functions") plan_.jit->functions = as_integer(value);
        return true;
      case Frame::Kind::jit_options:
        if (key_ == "Inlining")
          plan_.jit->inlining = as_bool(value);
        else if (key_ == "Optimization")
          plan_.jit->optimization = as_bool(value);
        else if (key_ == "Expressions")
          plan_.jit->expressions = as_bool(value);
        else if (key_ == "Deforming")
          plan_.jit->deforming = as_bool(value);
        return true;
      case Frame::Kind::jit_timing:
        if (key_ == "Generation")
          plan_.jit->generation_ms = as_number(value);
        else if (key_ == "Inlining")
          plan_.jit->inlining_ms = as_number(value);
        else if (key_ == "Optimization")
          plan_.jit->optimization_ms = as_number(value);
        else if (key_ == "Emission")
          plan_.jit->emission_ms = as_number(value);
        else if (key_ == "Total")
          plan_.jit->total_ms = as_number(value);
        return true;
      case Frame::Kind::jit_generation:
        if (key_ == "Deform")
          plan_.jit->deform_ms = as_number(value);
        else if (key_ == "Total")
          plan_.jit->generation_ms = as_number(value);
        return true;
      case Frame::Kind::trigger: {
        TriggerTime& trigger = plan_.triggers.back();
        if (key_ == "Trigger Name")
          trigger.name = as_string(value);
        else if (key_ == "Constraint Name")
          trigger.constraint_name = as_string(value);
        else if (key_ == "Relation")
          trigger.relation = as_string(value);
        else if (key_ == "Time")
          trigger.time_ms = as_number(value);
        else if (key_ == "Calls")
          trigger.calls = as_number(value);
        return true;
      }
      case Frame::Kind::plans:
      case Frame::Kind::triggers:
      case Frame::Kind::skip:
        return true;
    }
    return true;
  }

  void node_scalar(Frame& frame, const Scalar& value) {
    PlanNode& node = *frame.node;
    const auto found = node_fields().find(key_);
    if (found == node_fields().end()) {
      if (value.kind == Scalar::Kind::number && apply_buffers_key(node.buffers, key_, value.number) &&
          is_block_count_key(key_)) {
        plan_.has_buffers = true;
      }
      return;
    }
    if (found->second.holds != NodeField::Holds::scalar) wrong_type("an array");
    found->second.set(*this, node, frame.extras, value);
  }

  void finish_node(Frame& frame) {
    PlanNode& node = *frame.node;
    if (node.node_type.empty()) {
      detail::throw_parse_error("EXPLAIN (FORMAT JSON): plan node " + std::to_string(frame.node_number) +
                                " has no \"Node Type\".");
    }
    // PostgreSQL prints zeros for a node that never ran; the model says so instead.
    if (node.actuals && node.actuals->loops == 0) {
      node.actuals.reset();
      node.never_executed = true;
    }
    const NodeExtras& e = frame.extras;
    const std::int64_t peak = e.peak_memory.value_or(0);
    if (e.hash_buckets || e.hash_batches) {
      const std::int64_t buckets = e.hash_buckets.value_or(0);
      const std::int64_t batches = e.hash_batches.value_or(0);
      node.hash_table = HashTable{buckets, e.original_hash_buckets.value_or(buckets), batches,
                                  e.original_hash_batches.value_or(batches), peak};
    } else if (e.hashagg_batches) {
      node.hash_aggregation = HashAggregation{*e.hashagg_batches, peak, e.disk_usage.value_or(0)};
    } else if (e.cache_hits || e.cache_misses) {
      node.memoize_cache = MemoizeCache{e.cache_hits.value_or(0), e.cache_misses.value_or(0),
                                        e.cache_evictions.value_or(0), e.cache_overflows.value_or(0), peak};
    }
  }

  std::string_view text_;
  std::vector<Frame> frames_;
  std::string key_;
  Plan plan_;
  bool seen_plan_ = false;
  int node_count_ = 0;
};

// Setters for the table: Convert is one of PlanBuilder's as_* readers, which
// name the key and node in their error when the value has the wrong type.
template <auto Member, auto Convert>
void node_value(const PlanBuilder& b, PlanNode& n, NodeExtras&, const Scalar& v) {
  n.*Member = (b.*Convert)(v);
}
template <auto Member, auto Convert>
void estimate(const PlanBuilder& b, PlanNode& n, NodeExtras&, const Scalar& v) {
  if (!n.estimates) n.estimates.emplace();
  (*n.estimates).*Member = (b.*Convert)(v);
}
template <auto Member, auto Convert>
void actual(const PlanBuilder& b, PlanNode& n, NodeExtras&, const Scalar& v) {
  if (!n.actuals) n.actuals.emplace();
  (*n.actuals).*Member = (b.*Convert)(v);
}
template <auto Member>
void extra(const PlanBuilder& b, PlanNode&, NodeExtras& e, const Scalar& v) {
  e.*Member = b.as_integer(v);
}

const std::unordered_map<std::string_view, NodeField>& node_fields() {
  using B = PlanBuilder;
  using N = PlanNode;
  using H = NodeField::Holds;
  static const std::unordered_map<std::string_view, NodeField> fields{
      {"Node Type", {.set = node_value<&N::node_type, &B::as_string>}},
      {"Parent Relationship", {.set = node_value<&N::parent_relationship, &B::as_string>}},
      {"Subplan Name", {.set = node_value<&N::subplan_name, &B::as_string>}},
      {"Parallel Aware", {.set = node_value<&N::parallel_aware, &B::as_bool>}},
      {"Async Capable", {.set = node_value<&N::async_capable, &B::as_bool>}},
      {"Relation Name", {.set = node_value<&N::relation_name, &B::as_string>}},
      {"Schema", {.set = node_value<&N::schema, &B::as_string>}},
      {"Alias", {.set = node_value<&N::alias, &B::as_string>}},
      {"Index Name", {.set = node_value<&N::index_name, &B::as_string>}},
      {"CTE Name", {.set = node_value<&N::cte_name, &B::as_string>}},
      {"Function Name", {.set = node_value<&N::function_name, &B::as_string>}},
      {"Table Function Name", {.set = node_value<&N::function_name, &B::as_string>}},
      {"Join Type", {.set = node_value<&N::join_type, &B::as_string>}},
      {"Strategy", {.set = node_value<&N::strategy, &B::as_string>}},
      {"Partial Mode", {.set = node_value<&N::partial_mode, &B::as_string>}},
      {"Operation", {.set = node_value<&N::operation, &B::as_string>}},
      {"Command", {.set = node_value<&N::set_operation, &B::as_string>}},
      {"Custom Plan Provider", {.set = node_value<&N::custom_plan_provider, &B::as_string>}},
      {"Scan Direction",
       {.set = [](const B& b, N& n, NodeExtras&, const Scalar& v) { n.backward_scan = b.as_string(v) == "Backward"; }}},
      {"Startup Cost", {.set = estimate<&Estimates::startup_cost, &B::as_number>}},
      {"Total Cost", {.set = estimate<&Estimates::total_cost, &B::as_number>}},
      {"Plan Rows", {.set = estimate<&Estimates::rows, &B::as_number>}},
      {"Plan Width", {.set = estimate<&Estimates::width, &B::as_integer>}},
      {"Actual Startup Time", {.set = actual<&Actuals::startup_time_ms, &B::as_number>}},
      {"Actual Total Time", {.set = actual<&Actuals::total_time_ms, &B::as_number>}},
      {"Actual Rows", {.set = actual<&Actuals::rows, &B::as_number>}},
      {"Actual Loops", {.set = actual<&Actuals::loops, &B::as_number>}},
      {"Filter", {.set = node_value<&N::filter, &B::as_string>}},
      {"Index Cond", {.set = node_value<&N::index_cond, &B::as_string>}},
      {"Recheck Cond", {.set = node_value<&N::recheck_cond, &B::as_string>}},
      {"Hash Cond", {.set = node_value<&N::hash_cond, &B::as_string>}},
      {"Merge Cond", {.set = node_value<&N::merge_cond, &B::as_string>}},
      {"Join Filter", {.set = node_value<&N::join_filter, &B::as_string>}},
      {"One-Time Filter", {.set = node_value<&N::one_time_filter, &B::as_string>}},
      {"Rows Removed by Filter", {.set = node_value<&N::rows_removed_by_filter, &B::as_number>}},
      {"Rows Removed by Join Filter", {.set = node_value<&N::rows_removed_by_join_filter, &B::as_number>}},
      {"Rows Removed by Index Recheck", {.set = node_value<&N::rows_removed_by_index_recheck, &B::as_number>}},
      {"Heap Fetches", {.set = node_value<&N::heap_fetches, &B::as_number>}},
      {"Exact Heap Blocks", {.set = node_value<&N::exact_heap_blocks, &B::as_integer>}},
      {"Lossy Heap Blocks", {.set = node_value<&N::lossy_heap_blocks, &B::as_integer>}},
      {"Sort Method", {.set = node_value<&N::sort_method, &B::as_string>}},
      {"Sort Space Used", {.set = node_value<&N::sort_space_used_kb, &B::as_integer>}},
      {"Sort Space Type", {.set = node_value<&N::sort_space_type, &B::as_string>}},
      {"Hash Buckets", {.set = extra<&NodeExtras::hash_buckets>}},
      {"Original Hash Buckets", {.set = extra<&NodeExtras::original_hash_buckets>}},
      {"Hash Batches", {.set = extra<&NodeExtras::hash_batches>}},
      {"Original Hash Batches", {.set = extra<&NodeExtras::original_hash_batches>}},
      {"Peak Memory Usage", {.set = extra<&NodeExtras::peak_memory>}},
      {"HashAgg Batches", {.set = extra<&NodeExtras::hashagg_batches>}},
      {"Disk Usage", {.set = extra<&NodeExtras::disk_usage>}},
      {"Cache Key", {.set = node_value<&N::cache_key, &B::as_string>}},
      {"Cache Mode", {.set = node_value<&N::cache_mode, &B::as_string>}},
      {"Cache Hits", {.set = extra<&NodeExtras::cache_hits>}},
      {"Cache Misses", {.set = extra<&NodeExtras::cache_misses>}},
      {"Cache Evictions", {.set = extra<&NodeExtras::cache_evictions>}},
      {"Cache Overflows", {.set = extra<&NodeExtras::cache_overflows>}},
      {"Workers Planned", {.set = node_value<&N::workers_planned, &B::as_integer>}},
      {"Workers Launched", {.set = node_value<&N::workers_launched, &B::as_integer>}},
      {"WAL Records", {.set = [](const B& b, N& n, NodeExtras&, const Scalar& v) { n.wal.records = b.as_integer(v); }}},
      {"WAL FPI",
       {.set = [](const B& b, N& n, NodeExtras&, const Scalar& v) { n.wal.full_page_images = b.as_integer(v); }}},
      {"WAL Bytes", {.set = [](const B& b, N& n, NodeExtras&, const Scalar& v) { n.wal.bytes = b.as_integer(v); }}},
      {"Plans", {.holds = H::plans}},
      {"Sort Key", {.holds = H::strings, .strings = &N::sort_key}},
      {"Group Key", {.holds = H::strings, .strings = &N::group_key}},
      {"Output", {.holds = H::strings, .strings = &N::output}},
  };
  return fields;
}

Plan parse_json_text(std::string_view json) {
  PlanBuilder builder(json);
  nlohmann::json::sax_parse(json.begin(), json.end(), &builder, nlohmann::json::input_format_t::json,
                            /*strict=*/false);
  Plan plan = builder.take_plan();
  detail::finish_plan(plan);
  return plan;
}

}  // namespace

Plan parse_explain_json(std::string_view json) {
  if (detail::first_plan_character(json) == '\0') {
    detail::throw_parse_error("EXPLAIN (FORMAT JSON): the input is empty; expected a JSON plan.");
  }
  // psql's frame is rare in JSON pastes: look for it before copying anything.
  if (json.find("QUERY PLAN") == std::string_view::npos && json.find("+\n") == std::string_view::npos &&
      json.find("+\r\n") == std::string_view::npos && json.find("\n--") == std::string_view::npos &&
      !json.ends_with("+")) {
    return parse_json_text(json);
  }
  const detail::CleanedInput cleaned = detail::strip_psql_decorations(json);
  if (!cleaned.had_decorations) return parse_json_text(json);
  const std::string joined = detail::join_lines(cleaned.lines);
  return parse_json_text(joined);
}

}  // namespace dbopt::plan
