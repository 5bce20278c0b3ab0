#pragma once

// Helpers of the quantizer's in-process tests (the opusrt_quantize_tests binary): ONNX models
// built by hand with libonnx's protobuf classes, run with the engine's ONNX Runtime session.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "onnx/onnx_pb.h"
#include "runtime/session.h"

namespace opusrt::test {

namespace fs = std::filesystem;

// A fresh directory removed with everything in it at the end of the test.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("opusrt-quantize-test-" + std::to_string(::getpid()) + "-" + tag + "-" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Every entry under `dir` (relative paths), to show that a failed run left nothing behind.
inline std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) out.push_back(fs::relative(entry.path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::vector<float> random_values(size_t count, uint32_t seed, float spread = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, spread);
  std::vector<float> values(count);
  for (float& v : values) v = normal(rng);
  return values;
}

inline onnx::TensorProto float_tensor(const std::string& name, std::vector<int64_t> dims, const std::vector<float>& values) {
  onnx::TensorProto tensor;
  tensor.set_name(name);
  tensor.set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) tensor.add_dims(d);
  tensor.set_raw_data(values.data(), values.size() * sizeof(float));
  return tensor;
}

inline std::vector<float> float_values(const onnx::TensorProto& tensor) {
  std::vector<float> values(tensor.raw_data().size() / sizeof(float));
  std::memcpy(values.data(), tensor.raw_data().data(), values.size() * sizeof(float));
  return values;
}

inline onnx::NodeProto* add_node(onnx::GraphProto& graph, const std::string& op, std::vector<std::string> inputs,
                                 std::vector<std::string> outputs, const std::string& name) {
  onnx::NodeProto* node = graph.add_node();
  node->set_op_type(op);
  node->set_name(name);
  for (const std::string& in : inputs) node->add_input(in);
  for (const std::string& out : outputs) node->add_output(out);
  return node;
}

// A tensor-typed value; a negative dim is symbolic ("batch").
inline void add_value(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* list, const std::string& name,
                      int32_t type, std::vector<int64_t> dims) {
  onnx::ValueInfoProto* info = list->Add();
  info->set_name(name);
  onnx::TypeProto_Tensor* tensor = info->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(type);
  for (int64_t d : dims) {
    onnx::TensorShapeProto_Dimension* dim = tensor->mutable_shape()->add_dim();
    if (d < 0) {
      dim->set_dim_param("batch");
    } else {
      dim->set_dim_value(d);
    }
  }
}

inline onnx::ModelProto model_of(onnx::GraphProto graph) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("opusrt-quantize-test");
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(14);
  *model.mutable_graph() = std::move(graph);
  return model;
}

// Every node of the model, subgraphs included.
inline std::vector<const onnx::NodeProto*> all_nodes(const onnx::GraphProto& graph) {
  std::vector<const onnx::NodeProto*> nodes;
  for (const onnx::NodeProto& node : graph.node()) {
    nodes.push_back(&node);
    for (const onnx::AttributeProto& attribute : node.attribute()) {
      if (attribute.has_g()) {
        for (const onnx::NodeProto* inner : all_nodes(attribute.g())) nodes.push_back(inner);
      }
    }
  }
  return nodes;
}

inline size_t count_ops(const onnx::ModelProto& model, const std::string& op) {
  size_t n = 0;
  for (const onnx::NodeProto* node : all_nodes(model.graph())) n += node->op_type() == op;
  return n;
}

inline const onnx::TensorProto* find_initializer(const onnx::GraphProto& graph, const std::string& name) {
  for (const onnx::TensorProto& tensor : graph.initializer())
    if (tensor.name() == name) return &tensor;
  return nullptr;
}

inline int64_t int_attribute(const onnx::NodeProto& node, const std::string& name) {
  for (const onnx::AttributeProto& attribute : node.attribute())
    if (attribute.name() == name) return attribute.i();
  ADD_FAILURE() << node.name() << " has no attribute " << name;
  return -1;
}

// Runs a model file with float inputs (plus optional bool ones), returning the outputs asked for.
inline std::map<std::string, std::vector<float>> run_model(
    const fs::path& file, const std::map<std::string, std::pair<std::vector<int64_t>, std::vector<float>>>& inputs,
    const std::vector<std::string>& outputs, const std::map<std::string, bool>& flags = {},
    const std::map<std::string, std::vector<int64_t>>& ids = {}) {
  runtime::SessionConfig config;
  config.intra_op_threads = 1;
  config.huge_pages = false;
  const runtime::Session session(file, config);
  std::vector<runtime::Tensor> tensors;
  std::vector<std::string> names;
  for (const auto& [name, value] : inputs) {
    tensors.push_back(runtime::Tensor::from_float(value.first, value.second));
    names.push_back(name);
  }
  for (const auto& [name, value] : flags) {
    const bool data[] = {value};
    const int64_t shape[] = {1};
    tensors.push_back(runtime::Tensor::from_bool(shape, data));
    names.push_back(name);
  }
  for (const auto& [name, value] : ids) {
    const int64_t shape[] = {static_cast<int64_t>(value.size())};
    tensors.push_back(runtime::Tensor::from_int64(shape, value));
    names.push_back(name);
  }
  std::vector<runtime::NamedTensor> named;
  for (size_t i = 0; i < tensors.size(); ++i) named.push_back({names[i], &tensors[i]});
  std::vector<runtime::Tensor> results = session.run(named, outputs);
  std::map<std::string, std::vector<float>> out;
  for (size_t i = 0; i < outputs.size(); ++i) out[outputs[i]] = results[i].to_float_vector();
  return out;
}

// x [rows, k] times w [k, n], row-major, in double.
inline std::vector<float> matmul(const std::vector<float>& x, const std::vector<float>& w, int64_t rows, int64_t k,
                                 int64_t n) {
  std::vector<float> y(static_cast<size_t>(rows * n));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t i = 0; i < k; ++i) sum += double(x[r * k + i]) * w[i * n + j];
      y[r * n + j] = static_cast<float>(sum);
    }
  }
  return y;
}

inline std::vector<float> transpose(const std::vector<float>& m, int64_t rows, int64_t cols) {
  std::vector<float> t(m.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) t[c * rows + r] = m[r * cols + c];
  return t;
}

inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) worst = std::max(worst, std::fabs(double(a[i]) - b[i]));
  return worst;
}

// RMS of (a - b) over the RMS of b.
inline double relative_rms_error(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double diff = 0, norm = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    diff += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    norm += double(b[i]) * b[i];
  }
  return norm > 0 ? std::sqrt(diff / norm) : 0.0;
}

}  // namespace opusrt::test
