#pragma once

// Walking an ONNX model's graphs with libonnx: subgraphs (If branches, Loop and Scan bodies),
// name lookup through enclosing graphs (a subgraph reads outer values by name) and fresh names
// that clash with nothing in the model. Shared by the MatMul rewriter (`opusrt quantize`) and
// the last-position logits rewrite (`opusrt prepare`).
//
//   const Scope top(nullptr, *model.mutable_graph());
//   for (onnx::NodeProto& node : *top.graph->mutable_node())
//     for (onnx::GraphProto* branch : subgraphs(node)) { const Scope inner(&top, *branch); ... }
//   const Definition weight = lookup(&inner, node.input(1));  // initializer, producer or input
//   std::optional<ConstantMatrix> w = constant_matrix(&inner, node.input(1));  // a MatMul's weight
//   ModelNames names(model);
//   std::string fresh = names.unique("opusrt/last_position/starts");
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "onnx/onnx_pb.h"

namespace opusrt::quantize {

inline constexpr const char* kMicrosoftDomain = "com.microsoft";

// The ONNX operator set ("" or "ai.onnx"), of a node or of an opset import.
bool is_default_domain(std::string_view domain);
bool is_default_domain(const onnx::NodeProto& node);

// The subgraphs of a node (If's branches, Loop's and Scan's bodies).
std::vector<onnx::GraphProto*> subgraphs(onnx::NodeProto& node);

// One graph's names, with a link to the enclosing graph's.
struct Scope {
  const Scope* parent = nullptr;
  onnx::GraphProto* graph = nullptr;
  std::unordered_map<std::string, onnx::TensorProto*> initializers;
  std::unordered_set<std::string> inputs;
  std::unordered_map<std::string, onnx::NodeProto*> producers;

  Scope(const Scope* parent_scope, onnx::GraphProto& g);
};

// Where a name is defined, searched from the innermost graph out: by a node (`producer`), as an
// initializer, or as a graph input (both null, `scope` set). All null: defined nowhere.
struct Definition {
  const Scope* scope = nullptr;
  onnx::TensorProto* initializer = nullptr;
  onnx::NodeProto* producer = nullptr;
};
Definition lookup(const Scope* scope, const std::string& name);

// A constant matrix as a MatMul reads it: a 2-D initializer that no run can override (not also
// a graph input), directly or through a Transpose (perm [1, 0] or none), which is how a tied
// output projection reads the shared embedding [vocab, d_model].
struct ConstantMatrix {
  onnx::TensorProto* tensor = nullptr;
  onnx::GraphProto* owner = nullptr;            // the graph that holds the tensor
  onnx::NodeProto* transpose = nullptr;         // null: read as stored
  onnx::GraphProto* transpose_graph = nullptr;  // the graph that holds the Transpose
};
std::optional<ConstantMatrix> constant_matrix(const Scope* scope, const std::string& name);

// Every name used anywhere in a model (values, nodes, initializers, in every graph), to make new
// ones that clash with none.
class ModelNames {
 public:
  explicit ModelNames(const onnx::ModelProto& model) { collect(model.graph()); }
  // `base`, or `base_1`, `base_2`, ... whichever is free; then taken.
  std::string unique(const std::string& base);

 private:
  void collect(const onnx::GraphProto& graph);
  std::unordered_set<std::string> names_;
};

}  // namespace opusrt::quantize
