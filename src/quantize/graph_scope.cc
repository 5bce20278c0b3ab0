#include "quantize/graph_scope.h"

namespace opusrt::quantize {

bool is_default_domain(std::string_view domain) { return domain.empty() || domain == "ai.onnx"; }
bool is_default_domain(const onnx::NodeProto& node) { return is_default_domain(node.domain()); }

std::vector<onnx::GraphProto*> subgraphs(onnx::NodeProto& node) {
  std::vector<onnx::GraphProto*> out;
  for (onnx::AttributeProto& attribute : *node.mutable_attribute()) {
    if (attribute.has_g()) out.push_back(attribute.mutable_g());
    for (onnx::GraphProto& graph : *attribute.mutable_graphs()) out.push_back(&graph);
  }
  return out;
}

Scope::Scope(const Scope* parent_scope, onnx::GraphProto& g) : parent(parent_scope), graph(&g) {
  for (onnx::TensorProto& tensor : *g.mutable_initializer()) initializers.emplace(tensor.name(), &tensor);
  for (const onnx::ValueInfoProto& input : g.input()) inputs.insert(input.name());
  for (onnx::NodeProto& node : *g.mutable_node()) {
    for (const std::string& output : node.output()) {
      if (!output.empty()) producers.emplace(output, &node);
    }
  }
}

Definition lookup(const Scope* scope, const std::string& name) {
  for (; scope != nullptr; scope = scope->parent) {
    if (auto it = scope->producers.find(name); it != scope->producers.end()) return {scope, nullptr, it->second};
    if (auto it = scope->initializers.find(name); it != scope->initializers.end()) return {scope, it->second, nullptr};
    if (scope->inputs.count(name) != 0) return {scope, nullptr, nullptr};  // a graph input: not constant
  }
  return {};
}

namespace {

bool is_matrix_transpose(const onnx::NodeProto& node) {
  if (node.op_type() != "Transpose" || !is_default_domain(node) || node.input_size() != 1) return false;
  for (const onnx::AttributeProto& attribute : node.attribute()) {
    if (attribute.name() != "perm") continue;
    return attribute.ints_size() == 2 && attribute.ints(0) == 1 && attribute.ints(1) == 0;
  }
  return true;  // no perm: the axes reversed, which for a matrix is [1, 0]
}

// An initializer that is also a graph input may be overridden at run time: not a constant.
onnx::TensorProto* constant_matrix_initializer(const Definition& def, const std::string& name) {
  if (def.initializer == nullptr || def.scope->inputs.count(name) != 0 || def.initializer->dims_size() != 2)
    return nullptr;
  return def.initializer;
}

}  // namespace

std::optional<ConstantMatrix> constant_matrix(const Scope* scope, const std::string& name) {
  const Definition def = lookup(scope, name);
  if (onnx::TensorProto* tensor = constant_matrix_initializer(def, name))
    return ConstantMatrix{tensor, def.scope->graph, nullptr, nullptr};
  if (def.producer != nullptr && is_matrix_transpose(*def.producer)) {
    const std::string& input = def.producer->input(0);
    const Definition source = lookup(def.scope, input);
    if (onnx::TensorProto* tensor = constant_matrix_initializer(source, input))
      return ConstantMatrix{tensor, source.scope->graph, def.producer, def.scope->graph};
  }
  return std::nullopt;
}

std::string ModelNames::unique(const std::string& base) {
  std::string name = base;
  for (int i = 1; names_.count(name) != 0; ++i) name = base + "_" + std::to_string(i);
  names_.insert(name);
  return name;
}

void ModelNames::collect(const onnx::GraphProto& graph) {
  for (const onnx::TensorProto& tensor : graph.initializer()) names_.insert(tensor.name());
  for (const onnx::ValueInfoProto& info : graph.input()) names_.insert(info.name());
  for (const onnx::ValueInfoProto& info : graph.output()) names_.insert(info.name());
  for (const onnx::ValueInfoProto& info : graph.value_info()) names_.insert(info.name());
  for (const onnx::NodeProto& node : graph.node()) {
    names_.insert(node.name());
    for (const std::string& output : node.output()) names_.insert(output);
    for (const onnx::AttributeProto& attribute : node.attribute()) {
      if (attribute.has_g()) collect(attribute.g());
      for (const onnx::GraphProto& subgraph : attribute.graphs()) collect(subgraph);
    }
  }
}

}  // namespace opusrt::quantize
