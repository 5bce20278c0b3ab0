// Reading and writing ONNX files with external data (quantize/onnx_model_file.h).
#include <fstream>

#include <gtest/gtest.h>

#include "opusrt/error.h"
#include "quantize/onnx_model_file.h"
#include "quantize_test_util.h"

namespace opusrt::test {
namespace {

// y = X x W, W [8, 300] (9600 bytes) plus a small bias b [300] (1200 bytes) and a tiny c [2].
onnx::ModelProto small_model(const std::vector<float>& w, const std::vector<float>& b) {
  onnx::GraphProto g;
  g.set_name("small");
  *g.add_initializer() = float_tensor("W", {8, 300}, w);
  *g.add_initializer() = float_tensor("b", {300}, b);
  *g.add_initializer() = float_tensor("c", {2}, {1.0f, 2.0f});
  add_value(g.mutable_input(), "X", onnx::TensorProto::FLOAT, {-1, 8});
  add_node(g, "MatMul", {"X", "W"}, {"xw"}, "mm");
  add_node(g, "Add", {"xw", "b"}, {"y"}, "add");
  add_value(g.mutable_output(), "y", onnx::TensorProto::FLOAT, {-1, 300});
  return model_of(std::move(g));
}

std::string external_entry(const onnx::TensorProto& tensor, const std::string& key) {
  for (const onnx::StringStringEntryProto& entry : tensor.external_data())
    if (entry.key() == key) return entry.value();
  return "";
}

TEST(OnnxModelFile, ExternalDataRoundTripsAndOnnxRuntimeReadsIt) {
  TempDir dir("external");
  const std::vector<float> w = random_values(8 * 300, 5), b = random_values(300, 6);
  onnx::ModelProto model = small_model(w, b);
  const fs::path file = dir.path() / "graph.onnx";
  const uint64_t written = quantize::write_onnx_model(model, file, quantize::OnnxWriteOptions{true, 1024});
  // W and b went out, each at an offset aligned to 4096; c stayed in the file.
  ASSERT_TRUE(fs::exists(dir.path() / "graph.onnx_data"));
  const onnx::GraphProto& g = model.graph();
  EXPECT_EQ(g.initializer(0).data_location(), onnx::TensorProto::EXTERNAL);
  EXPECT_EQ(external_entry(g.initializer(0), "location"), "graph.onnx_data");
  EXPECT_EQ(external_entry(g.initializer(0), "offset"), "0");
  EXPECT_EQ(external_entry(g.initializer(1), "offset"), "12288");
  EXPECT_EQ(external_entry(g.initializer(1), "length"), "1200");
  EXPECT_EQ(g.initializer(2).data_location(), onnx::TensorProto::DEFAULT);
  EXPECT_EQ(fs::file_size(dir.path() / "graph.onnx_data"), 12288u + 1200u);
  EXPECT_EQ(written, fs::file_size(file) + fs::file_size(dir.path() / "graph.onnx_data"));

  const quantize::OnnxModelFile read = quantize::read_onnx_model(file);
  EXPECT_TRUE(read.had_external_data);
  EXPECT_EQ(read.bytes_on_disk, written);
  EXPECT_EQ(float_values(read.model.graph().initializer(0)), w);
  EXPECT_EQ(float_values(read.model.graph().initializer(1)), b);
  EXPECT_EQ(read.model.graph().initializer(0).data_location(), onnx::TensorProto::DEFAULT);

  // ONNX Runtime follows the same references.
  const std::vector<float> x = random_values(2 * 8, 7);
  std::vector<float> expected = matmul(x, w, 2, 8, 300);
  for (size_t i = 0; i < expected.size(); ++i) expected[i] += b[i % 300];
  const auto out = run_model(file, {{"X", {{2, 8}, x}}}, {"y"});
  EXPECT_LE(max_abs_diff(out.at("y"), expected), 1e-4);
}

TEST(OnnxModelFile, BadExternalDataIsNamed) {
  TempDir dir("bad-external");
  const std::vector<float> w = random_values(8 * 300, 5), b = random_values(300, 6);
  const fs::path file = dir.path() / "graph.onnx";
  auto write = [&](const std::function<void(onnx::ModelProto&)>& edit) {
    onnx::ModelProto model = small_model(w, b);
    quantize::write_onnx_model(model, file, quantize::OnnxWriteOptions{true, 1024});
    edit(model);
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    model.SerializeToOstream(&out);
  };
  auto error_of = [&]() -> std::string {
    try {
      quantize::read_onnx_model(file);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  auto set = [](onnx::TensorProto& tensor, const std::string& key, const std::string& value) {
    for (onnx::StringStringEntryProto& entry : *tensor.mutable_external_data())
      if (entry.key() == key) entry.set_value(value);
  };

  write([](onnx::ModelProto&) {});
  fs::remove(dir.path() / "graph.onnx_data");
  std::string message = error_of();
  EXPECT_NE(message.find("tensor 'W'"), std::string::npos) << message;
  EXPECT_NE(message.find("graph.onnx_data not found"), std::string::npos) << message;

  write([&](onnx::ModelProto& m) { set(*m.mutable_graph()->mutable_initializer(1), "offset", "99999"); });
  message = error_of();
  EXPECT_NE(message.find("tensor 'b'"), std::string::npos) << message;
  EXPECT_NE(message.find("too short"), std::string::npos) << message;

  write([&](onnx::ModelProto& m) { set(*m.mutable_graph()->mutable_initializer(1), "length", "1196"); });
  message = error_of();
  EXPECT_NE(message.find("holds 1196 bytes, the tensor's shape needs 1200"), std::string::npos) << message;

  write([&](onnx::ModelProto& m) { set(*m.mutable_graph()->mutable_initializer(0), "location", "../graph.onnx_data"); });
  message = error_of();
  EXPECT_NE(message.find("leaves the model's directory"), std::string::npos) << message;

  write([&](onnx::ModelProto& m) { set(*m.mutable_graph()->mutable_initializer(0), "location", "/etc/passwd"); });
  message = error_of();
  EXPECT_NE(message.find("must be a path relative"), std::string::npos) << message;

  std::ofstream(file, std::ios::binary | std::ios::trunc) << "not a model at all";
  message = error_of();
  EXPECT_NE(message.find(file.string() + ": not an ONNX model"), std::string::npos) << message;

  fs::remove(file);
  message = error_of();
  EXPECT_NE(message.find(file.string() + ": file not found"), std::string::npos) << message;
}

}  // namespace
}  // namespace opusrt::test
