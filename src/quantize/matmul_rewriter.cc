#include "quantize/matmul_rewriter.h"

#include <bit>
#include <cstring>
#include <map>
#include <unordered_set>
#include <vector>

#include "opusrt/error.h"
#include "quantize/graph_scope.h"

namespace opusrt::quantize {
namespace {

static_assert(std::endian::native == std::endian::little, "ONNX raw_data is little-endian; so must the host be");

bool is_float_matrix(const onnx::TensorProto& tensor) {
  return tensor.data_type() == onnx::TensorProto::FLOAT && tensor.dims_size() == 2 && tensor.dims(0) > 0 &&
         tensor.dims(1) > 0 && tensor.data_location() != onnx::TensorProto::EXTERNAL;
}

std::vector<float> float_values(const onnx::TensorProto& tensor, const std::string& what) {
  const size_t count = static_cast<size_t>(tensor.dims(0) * tensor.dims(1));
  std::vector<float> values(count);
  if (tensor.has_raw_data()) {
    if (tensor.raw_data().size() != count * sizeof(float))
      throw Error(what + ": raw data of " + std::to_string(tensor.raw_data().size()) + " bytes for " +
                  std::to_string(count) + " float32 values");
    std::memcpy(values.data(), tensor.raw_data().data(), count * sizeof(float));
  } else {
    if (static_cast<size_t>(tensor.float_data_size()) != count)
      throw Error(what + ": " + std::to_string(tensor.float_data_size()) + " float32 values for a shape of " +
                  std::to_string(count));
    std::copy(tensor.float_data().begin(), tensor.float_data().end(), values.begin());
  }
  return values;
}

// A weight as found: a float32 constant matrix, read as stored or through its transpose.
using WeightSource = ConstantMatrix;

std::optional<WeightSource> constant_weight(const Scope* scope, const std::string& name) {
  std::optional<ConstantMatrix> matrix = constant_matrix(scope, name);
  if (!matrix || !is_float_matrix(*matrix->tensor)) return std::nullopt;
  return matrix;
}

struct QuantizedNames {
  std::string packed, scales, zero_points;
  int64_t k = 0, n = 0;
};

class Rewriter {
 public:
  Rewriter(onnx::ModelProto& model, const RewriteSettings& settings, const std::string& label)
      : model_(model), settings_(settings), label_(label), names_(model) {}

  RewriteStats run() {
    Scope top(nullptr, *model_.mutable_graph());
    visit(top);
    if (stats_.matmuls > 0) {
      remove_dead_sources();
      bool has_domain = false;
      for (const onnx::OperatorSetIdProto& opset : model_.opset_import()) has_domain |= opset.domain() == kMicrosoftDomain;
      if (!has_domain) {
        onnx::OperatorSetIdProto* opset = model_.add_opset_import();
        opset->set_domain(kMicrosoftDomain);
        opset->set_version(1);
      }
    }
    return stats_;
  }

 private:
  bool skipped(const onnx::NodeProto& node, const WeightSource& source) {
    bool hit = false;
    for (const std::string& name : {node.name(), node.input(1), source.tensor->name()}) {
      if (!name.empty() && settings_.skip.count(name) != 0) {
        stats_.skip_names_seen.insert(name);
        hit = true;
      }
    }
    return hit;
  }

  void visit(const Scope& scope) {
    for (onnx::NodeProto& node : *scope.graph->mutable_node()) {
      for (onnx::GraphProto* subgraph : subgraphs(node)) {
        const Scope inner(&scope, *subgraph);
        visit(inner);
      }
      if (node.op_type() != "MatMul" || !is_default_domain(node) || node.input_size() != 2) continue;
      const std::optional<WeightSource> source = constant_weight(&scope, node.input(1));
      if (!source) continue;
      if (skipped(node, *source)) {
        ++stats_.skipped;
        continue;
      }
      const QuantizedNames& q = quantized(*source);
      rewrite(node, q);
      if (source->transpose != nullptr) transposes_.emplace(source->transpose, source->transpose_graph);
      ++stats_.matmuls;
    }
  }

  const QuantizedNames& quantized(const WeightSource& source) {
    const auto key = std::make_pair(static_cast<const void*>(source.tensor), source.transpose != nullptr);
    if (auto it = done_.find(key); it != done_.end()) return it->second;

    const onnx::TensorProto& tensor = *source.tensor;
    const std::string what = label_ + ": weight '" + tensor.name() + "'";
    const std::vector<float> values = float_values(tensor, what);
    const WeightLayout layout = source.transpose != nullptr ? WeightLayout::kNByK : WeightLayout::kKByN;
    const BlockQuantizedWeight weight =
        quantize_blockwise(values, tensor.dims(0), tensor.dims(1), layout, settings_.quantization, what);

    const std::string base = tensor.name() + (source.transpose != nullptr ? "_T" : "");
    const std::string bits = std::to_string(settings_.quantization.bits);
    QuantizedNames names;
    names.k = weight.k;
    names.n = weight.n;
    onnx::GraphProto& owner = *source.owner;
    names.packed = names_.unique(base + "_Q" + bits);
    add_initializer(owner, names.packed, onnx::TensorProto::UINT8, {weight.n, weight.k_blocks, weight.blob_size},
                    weight.packed.data(), weight.packed.size());
    names.scales = names_.unique(base + "_scales");
    add_initializer(owner, names.scales, onnx::TensorProto::FLOAT, {weight.n * weight.k_blocks}, weight.scales.data(),
                    weight.scales.size() * sizeof(float));
    if (!weight.zero_points.empty()) {
      names.zero_points = names_.unique(base + "_zero_points");
      add_initializer(owner, names.zero_points, onnx::TensorProto::UINT8, {weight.n * weight.zero_point_row_bytes},
                      weight.zero_points.data(), weight.zero_points.size());
    }
    sources_.push_back(source);
    ++stats_.weights;
    return done_.emplace(key, std::move(names)).first->second;
  }

  static void add_initializer(onnx::GraphProto& graph, const std::string& name, onnx::TensorProto::DataType type,
                              std::initializer_list<int64_t> dims, const void* data, size_t bytes) {
    onnx::TensorProto* tensor = graph.add_initializer();
    tensor->set_name(name);
    tensor->set_data_type(type);
    for (int64_t dim : dims) tensor->add_dims(dim);
    tensor->set_raw_data(data, bytes);
  }

  void rewrite(onnx::NodeProto& node, const QuantizedNames& q) {
    const std::string activation = node.input(0);
    node.clear_input();
    node.add_input(activation);
    node.add_input(q.packed);
    node.add_input(q.scales);
    if (!q.zero_points.empty()) node.add_input(q.zero_points);
    node.set_op_type("MatMulNBits");
    node.set_domain(kMicrosoftDomain);
    if (!node.name().empty()) node.set_name(names_.unique(node.name() + "_Q" + std::to_string(settings_.quantization.bits)));
    node.clear_attribute();
    auto add_int = [&](const char* name, int64_t value) {
      onnx::AttributeProto* attribute = node.add_attribute();
      attribute->set_name(name);
      attribute->set_type(onnx::AttributeProto::INT);
      attribute->set_i(value);
    };
    add_int("K", q.k);
    add_int("N", q.n);
    add_int("bits", settings_.quantization.bits);
    add_int("block_size", settings_.quantization.block_size);
    if (settings_.accuracy_level) add_int("accuracy_level", *settings_.accuracy_level);
  }

  // Every name a node reads or a graph outputs, in any graph of the model.
  static void collect_uses(const onnx::GraphProto& graph, std::unordered_set<std::string>& uses) {
    for (const onnx::ValueInfoProto& output : graph.output()) uses.insert(output.name());
    for (const onnx::NodeProto& node : graph.node()) {
      for (const std::string& input : node.input()) uses.insert(input);
      for (const onnx::AttributeProto& attribute : node.attribute()) {
        if (attribute.has_g()) collect_uses(attribute.g(), uses);
        for (const onnx::GraphProto& subgraph : attribute.graphs()) collect_uses(subgraph, uses);
      }
    }
  }

  // The Transposes and float weights the rewrite left without readers. Names are compared
  // across all graphs: a name some subgraph still reads keeps its definition.
  void remove_dead_sources() {
    std::unordered_set<std::string> uses;
    collect_uses(model_.graph(), uses);
    std::map<onnx::GraphProto*, std::unordered_set<const onnx::NodeProto*>> dead_nodes;
    for (const auto& [transpose, graph] : transposes_) {
      if (uses.count(transpose->output(0)) == 0) dead_nodes[graph].insert(transpose);
    }
    for (auto& [graph, nodes] : dead_nodes) {
      auto* list = graph->mutable_node();
      for (int i = list->size() - 1; i >= 0; --i) {
        if (nodes.count(&list->Get(i)) != 0) list->DeleteSubrange(i, 1);
      }
    }
    uses.clear();
    collect_uses(model_.graph(), uses);
    std::map<onnx::GraphProto*, std::unordered_set<std::string>> dead_weights;
    for (const WeightSource& source : sources_) {
      if (uses.count(source.tensor->name()) == 0) dead_weights[source.owner].insert(source.tensor->name());
    }
    for (auto& [graph, names] : dead_weights) {
      auto* initializers = graph->mutable_initializer();
      for (int i = initializers->size() - 1; i >= 0; --i) {
        if (names.count(initializers->Get(i).name()) != 0) initializers->DeleteSubrange(i, 1);
      }
      auto* infos = graph->mutable_value_info();
      for (int i = infos->size() - 1; i >= 0; --i) {
        if (names.count(infos->Get(i).name()) != 0) infos->DeleteSubrange(i, 1);
      }
    }
  }

  onnx::ModelProto& model_;
  const RewriteSettings& settings_;
  const std::string& label_;
  ModelNames names_;
  std::map<std::pair<const void*, bool>, QuantizedNames> done_;
  std::vector<WeightSource> sources_;
  std::map<onnx::NodeProto*, onnx::GraphProto*> transposes_;  // those the rewritten MatMuls read through
  RewriteStats stats_;
};

}  // namespace

RewriteStats rewrite_matmuls(onnx::ModelProto& model, const RewriteSettings& settings, const std::string& label) {
  return Rewriter(model, settings, label).run();
}

}  // namespace opusrt::quantize
