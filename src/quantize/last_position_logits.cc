#include "quantize/last_position_logits.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "quantize/graph_scope.h"

namespace opusrt::quantize {
namespace {

constexpr const char* kLogits = "logits";

// The dimensions of a value that no run can change: an initializer that is not also a graph
// input, a Constant node's tensor, or an Identity / Cast of one (a float16 graph casts its float32
// `final_logits_bias`). nullopt for anything else.
std::optional<std::vector<int64_t>> constant_dims(const Scope* scope, const std::string& name, int depth = 0) {
  const Definition def = lookup(scope, name);
  const onnx::TensorProto* tensor = nullptr;
  if (def.initializer != nullptr && def.scope->inputs.count(name) == 0) tensor = def.initializer;
  if (def.producer != nullptr && is_default_domain(*def.producer)) {
    const onnx::NodeProto& node = *def.producer;
    if (node.op_type() == "Constant") {
      for (const onnx::AttributeProto& attribute : node.attribute())
        if (attribute.name() == "value" && attribute.has_t()) tensor = &attribute.t();
    } else if ((node.op_type() == "Cast" || node.op_type() == "Identity") && node.input_size() == 1 && depth < 4) {
      return constant_dims(def.scope, node.input(0), depth + 1);
    }
  }
  if (tensor == nullptr) return std::nullopt;
  return std::vector<int64_t>(tensor->dims().begin(), tensor->dims().end());
}

// A constant whose shape cannot carry the sequence axis of the [batch, sequence, vocab] value it
// is combined with: rank <= 2 (broadcast over batch and sequence), or rank 3 with a middle 1.
bool is_position_free_constant(const Scope* scope, const std::string& name) {
  const std::optional<std::vector<int64_t>> dims = constant_dims(scope, name);
  return dims && (dims->size() <= 2 || (dims->size() == 3 && (*dims)[1] == 1));
}

// The output projection and the values between it and `logits`, found by walking back from
// `logits`; nullopt when the chain holds anything else.
struct Projection {
  onnx::NodeProto* node = nullptr;
  std::vector<std::string> values;  // the projection's output ... `logits`
};

std::optional<Projection> output_projection(const Scope& scope) {
  std::string value = kLogits;
  Projection found;
  for (int depth = 0; depth < 16; ++depth) {
    found.values.push_back(value);
    const auto it = scope.producers.find(value);
    if (it == scope.producers.end()) return std::nullopt;
    onnx::NodeProto& node = *it->second;
    const std::string& op = node.op_type();
    found.node = &node;
    if (op == "MatMulNBits" && node.domain() == kMicrosoftDomain && node.input_size() >= 3) return found;
    if (!is_default_domain(node)) return std::nullopt;
    if (op == "MatMul" && node.input_size() == 2) {
      if (!constant_matrix(&scope, node.input(1))) return std::nullopt;
      return found;
    }
    if ((op == "Identity" || op == "Cast") && node.input_size() == 1) {
      value = node.input(0);
    } else if ((op == "Add" || op == "Mul") && node.input_size() == 2) {
      // Commutative: the constant may be either input.
      if (is_position_free_constant(&scope, node.input(1))) {
        value = node.input(0);
      } else if (is_position_free_constant(&scope, node.input(0))) {
        value = node.input(1);
      } else {
        return std::nullopt;
      }
    } else if ((op == "Sub" || op == "Div") && node.input_size() == 2 &&
               is_position_free_constant(&scope, node.input(1))) {
      value = node.input(0);
    } else {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

bool declares_rank_three(const onnx::ValueInfoProto& output) {
  return output.type().has_tensor_type() && output.type().tensor_type().has_shape() &&
         output.type().tensor_type().shape().dim_size() == 3;
}

onnx::ValueInfoProto* logits_output(onnx::GraphProto& graph) {
  for (onnx::ValueInfoProto& output : *graph.mutable_output())
    if (output.name() == kLogits) return &output;
  return nullptr;
}

// The sequence dimension of a `logits` declaration: 1 when every graph that produces it was
// sliced, unknown when only some were (a merged graph with one branch left as it was).
void declare_positions(onnx::ValueInfoProto& output, bool sliced_everywhere) {
  if (!declares_rank_three(output)) return;
  onnx::TensorShapeProto::Dimension* positions = output.mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(1);
  positions->Clear();
  if (sliced_everywhere) positions->set_dim_value(1);
}

onnx::TensorProto int64_vector(int64_t value) {
  onnx::TensorProto tensor;
  tensor.set_data_type(onnx::TensorProto::INT64);
  tensor.add_dims(1);
  tensor.add_int64_data(value);
  return tensor;
}

class Slicer {
 public:
  explicit Slicer(onnx::ModelProto& model) : model_(model), names_(model) {}

  LastPositionStats run() {
    // Slice takes starts / ends / axes as inputs from opset 10; before, as attributes. Marian
    // exports are opset 11 or newer; an older graph is counted as left rather than given a node
    // form of its opset that nothing here tests.
    for (const onnx::OperatorSetIdProto& opset : model_.opset_import())
      if (is_default_domain(opset.domain()) && opset.version() < 10) slicing_ = false;
    const Scope top(nullptr, *model_.mutable_graph());
    visit(top);
    return stats_;
  }

 private:
  // Returns whether the graph's `logits` (its own or, through an If, its branches') now holds the
  // last position only; nullopt when the graph has no `logits` output.
  std::optional<bool> visit(const Scope& scope) {
    bool branches_seen = false, branches_sliced = true, any_branch_sliced = false;
    for (onnx::NodeProto& node : *scope.graph->mutable_node()) {
      for (onnx::GraphProto* subgraph : subgraphs(node)) {
        const Scope inner(&scope, *subgraph);
        if (const std::optional<bool> sliced = visit(inner)) {
          branches_seen = true;
          branches_sliced = branches_sliced && *sliced;
          any_branch_sliced = any_branch_sliced || *sliced;
        }
      }
    }
    onnx::ValueInfoProto* output = logits_output(*scope.graph);
    if (output == nullptr) return std::nullopt;
    const auto producer = scope.producers.find(kLogits);
    // The merged decoder: `logits` comes out of an If whose branches were handled above.
    if (producer != scope.producers.end() && producer->second->op_type() == "If" && branches_seen) {
      if (any_branch_sliced) declare_positions(*output, branches_sliced);
      return branches_sliced;
    }
    const std::optional<Projection> projection = output_projection(scope);
    if (!slicing_ || !declares_rank_three(*output) || !projection) {
      ++stats_.graphs_left;
      return false;
    }
    insert_slice(*scope.graph, *projection);
    declare_positions(*output, true);
    ++stats_.graphs_sliced;
    return true;
  }

  // activation -> Slice(starts [-1], ends [int64 max], axes [1]) -> the projection's input 0. The
  // constants are Constant nodes in the same graph, so a subgraph needs nothing from outside.
  void insert_slice(onnx::GraphProto& graph, const Projection& found) {
    onnx::NodeProto& projection = *found.node;
    const std::string base = "opusrt/last_position/" + (graph.name().empty() ? std::string("graph") : graph.name());
    const std::string activation = projection.input(0);
    const std::string sliced = names_.unique(activation + "/last_position");
    std::vector<onnx::NodeProto> added;
    std::vector<std::string> slice_inputs = {activation};
    for (const auto& [what, value] : {std::pair<const char*, int64_t>{"starts", -1},
                                      {"ends", std::numeric_limits<int64_t>::max()},
                                      {"axes", 1}}) {
      onnx::NodeProto constant;
      constant.set_op_type("Constant");
      constant.set_name(names_.unique(base + "/" + what));
      constant.add_output(names_.unique(base + "/" + what + "_value"));
      onnx::AttributeProto* attribute = constant.add_attribute();
      attribute->set_name("value");
      attribute->set_type(onnx::AttributeProto::TENSOR);
      *attribute->mutable_t() = int64_vector(value);
      slice_inputs.push_back(constant.output(0));
      added.push_back(std::move(constant));
    }
    onnx::NodeProto slice;
    slice.set_op_type("Slice");
    slice.set_name(names_.unique(base + "/Slice"));
    for (const std::string& input : slice_inputs) slice.add_input(input);
    slice.add_output(sliced);
    added.push_back(std::move(slice));
    projection.set_input(0, sliced);

    // Nodes are kept in topological order: the new ones go right before the projection.
    auto* nodes = graph.mutable_node();
    int position = 0;
    while (&nodes->Get(position) != &projection) ++position;
    for (onnx::NodeProto& node : added) {
      *nodes->Add() = std::move(node);
      for (int i = nodes->size() - 1; i > position; --i) nodes->SwapElements(i, i - 1);
      ++position;
    }
    // Shapes recorded for the values between the projection and `logits` no longer hold.
    auto* infos = graph.mutable_value_info();
    for (int i = infos->size() - 1; i >= 0; --i)
      if (std::find(found.values.begin(), found.values.end(), infos->Get(i).name()) != found.values.end())
        infos->DeleteSubrange(i, 1);
  }

  onnx::ModelProto& model_;
  ModelNames names_;
  LastPositionStats stats_;
  bool slicing_ = true;
};

}  // namespace

LastPositionStats slice_logits_to_last_position(onnx::ModelProto& model) { return Slicer(model).run(); }

}  // namespace opusrt::quantize
