// slice_logits_to_last_position() (`opusrt prepare`'s rewrite of the decoders' output projection):
// which graphs it rewrites, that a rewritten graph returns exactly the last position of what the
// source returns, and that it leaves alone what it cannot prove position-wise.
#include <gtest/gtest.h>

#include "quantize/last_position_logits.h"
#include "quantize/onnx_model_file.h"
#include "quantize_test_util.h"
#include "test_env.h"

namespace opusrt::test {
namespace {

using quantize::LastPositionStats;

// Runs a decoder graph of the fixture over `length` target positions (ids 5, 6, ...) with fixed
// encoder states, feeding whatever it declares: the merged graph takes its no-cache branch (the
// pasts are placeholders of length 1), the with-past graph a past of 3 positions.
runtime::Tensor decoder_logits(const fs::path& file, int64_t length) {
  runtime::SessionConfig config;
  config.intra_op_threads = 1;
  config.huge_pages = false;
  config.use_prepared = false;
  const runtime::Session session(file, config);
  const int64_t source_length = 4;
  std::vector<runtime::Tensor> tensors;
  std::vector<std::string> names;
  for (const runtime::IoInfo& input : session.inputs()) {
    names.push_back(input.name);
    if (input.name == "input_ids") {
      std::vector<int64_t> ids;
      for (int64_t i = 0; i < length; ++i) ids.push_back(5 + i);
      const int64_t shape[] = {1, length};
      tensors.push_back(runtime::Tensor::from_int64(shape, ids));
    } else if (input.name == "encoder_attention_mask") {
      const int64_t shape[] = {1, source_length};
      tensors.push_back(runtime::Tensor::from_int64(shape, std::vector<int64_t>(source_length, 1)));
    } else if (input.name == "encoder_hidden_states") {
      const int64_t d_model = input.shape.at(2).size;
      const int64_t shape[] = {1, source_length, d_model};
      if (input.type == runtime::ElementType::kFloat32) {
        tensors.push_back(runtime::Tensor::from_float(shape, random_values(source_length * d_model, 7)));
      } else {
        tensors.push_back(runtime::Tensor::zeros(input.type, shape));
      }
    } else if (input.name == "use_cache_branch") {
      const bool no[] = {false};
      const int64_t shape[] = {1};
      tensors.push_back(runtime::Tensor::from_bool(shape, no));
    } else if (input.name.starts_with("past_key_values.")) {
      const bool encoder = input.name.find(".encoder.") != std::string::npos;
      const bool with_past_graph = file.filename().string().find("with_past") != std::string::npos;
      const int64_t past = with_past_graph ? (encoder ? source_length : 3) : 1;
      const int64_t shape[] = {1, input.shape.at(1).size, past, input.shape.at(3).size};
      tensors.push_back(runtime::Tensor::zeros(input.type, shape));
    } else {
      ADD_FAILURE() << file << ": unexpected input " << input.name;
    }
  }
  std::vector<runtime::NamedTensor> named;
  for (size_t i = 0; i < tensors.size(); ++i) named.push_back({names[i], &tensors[i]});
  const std::string outputs[] = {"logits"};
  return std::move(session.run(named, outputs).front());
}

// The last position of [1, T, V] logits.
std::vector<float> last_position(const runtime::Tensor& logits) {
  const std::vector<int64_t> shape = logits.shape();
  const std::vector<float> all = logits.to_float_vector();
  return std::vector<float>(all.end() - shape.at(2), all.end());
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float diff = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) diff = std::max(diff, std::fabs(a[i] - b[i]));
  return diff;
}

struct GraphCase {
  const char* file;
  size_t sliced;  // graphs whose logits become the last position's (the merged decoder: both branches)
};

TEST(LastPositionLogits, RewrittenDecodersReturnTheLastPositionOfWhatTheSourceReturns) {
  TempDir dir("last-position");
  for (const GraphCase& c : {GraphCase{"decoder_model_merged.onnx", 2}, GraphCase{"decoder_model.onnx", 1},
                             GraphCase{"decoder_with_past_model.onnx", 1}, GraphCase{"decoder_model_merged_fp16.onnx", 2},
                             GraphCase{"decoder_model_merged_q4.onnx", 2}, GraphCase{"decoder_model_q4.onnx", 1}}) {
    SCOPED_TRACE(c.file);
    const fs::path source = tiny_model_dir() / c.file;
    quantize::OnnxModelFile file = quantize::read_onnx_model(source);
    const size_t slices_before = count_ops(file.model, "Slice");
    const LastPositionStats stats = quantize::slice_logits_to_last_position(file.model);
    EXPECT_EQ(stats.graphs_sliced, c.sliced);
    EXPECT_EQ(stats.graphs_left, 0u);
    EXPECT_EQ(count_ops(file.model, "Slice"), slices_before + c.sliced);
    // The declared shape says so too.
    for (const onnx::ValueInfoProto& output : file.model.graph().output()) {
      if (output.name() == "logits") {
        EXPECT_EQ(output.type().tensor_type().shape().dim(1).dim_value(), 1);
      }
    }

    const fs::path rewritten = dir.path() / c.file;
    quantize::write_onnx_model(file.model, rewritten, {.external_data = true});
    const bool fp16 = std::string(c.file).find("fp16") != std::string::npos;
    const bool with_past = std::string(c.file).find("with_past") != std::string::npos;
    for (int64_t length : with_past ? std::vector<int64_t>{1} : std::vector<int64_t>{1, 2, 9}) {
      SCOPED_TRACE("positions " + std::to_string(length));
      const runtime::Tensor full = decoder_logits(source, length);
      const runtime::Tensor last = decoder_logits(rewritten, length);
      ASSERT_EQ(full.shape().at(1), length);
      ASSERT_EQ(last.shape(), (std::vector<int64_t>{1, 1, full.shape().at(2)}));
      // Each row of the projection is computed on its own: the same values (float16 rounds once more).
      EXPECT_LE(max_abs_diff(last_position(last), last_position(full)), fp16 ? 2e-3f : 1e-5f);
    }
  }
}

TEST(LastPositionLogits, LeavesGraphsItCannotProvePositionWiseAsTheyWere) {
  // Dynamic int8: the activation's scale is taken over every position, so the last row alone
  // would be quantized differently.
  quantize::OnnxModelFile quantized = quantize::read_onnx_model(tiny_model_dir() / "decoder_model_merged_quantized.onnx");
  const std::string before = quantized.model.SerializeAsString();
  const LastPositionStats stats = quantize::slice_logits_to_last_position(quantized.model);
  EXPECT_EQ(stats.graphs_sliced, 0u);
  EXPECT_EQ(stats.graphs_left, 2u);
  EXPECT_EQ(quantized.model.SerializeAsString(), before);

  // The encoder has no logits: nothing to do, nothing counted.
  quantize::OnnxModelFile encoder = quantize::read_onnx_model(tiny_model_dir() / "encoder_model.onnx");
  const LastPositionStats none = quantize::slice_logits_to_last_position(encoder.model);
  EXPECT_EQ(none.graphs_sliced + none.graphs_left, 0u);
}

// hidden [batch, T, 4] -> MatMul W [4, 3] -> <op with `constant`> -> logits [batch, T, 3]
onnx::ModelProto projection_model(const std::string& op, const onnx::TensorProto& constant, bool constant_first) {
  onnx::GraphProto graph;
  graph.set_name("projection");
  add_value(graph.mutable_input(), "hidden", onnx::TensorProto::FLOAT, {-1, -1, 4});
  add_value(graph.mutable_output(), "logits", onnx::TensorProto::FLOAT, {-1, -1, 3});
  *graph.add_initializer() = float_tensor("W", {4, 3}, random_values(12, 3));
  *graph.add_initializer() = constant;
  add_node(graph, "MatMul", {"hidden", "W"}, {"projected"}, "project");
  if (op == "Reshape") {
    add_node(graph, "Reshape", {"projected", constant.name()}, {"logits"}, "reshape");
  } else {
    add_node(graph, op, constant_first ? std::vector<std::string>{constant.name(), "projected"}
                                       : std::vector<std::string>{"projected", constant.name()},
             {"logits"}, "combine");
  }
  return model_of(graph);
}

TEST(LastPositionLogits, RecognisesOnlyPositionFreeConstantsAfterTheProjection) {
  TempDir dir("last-position-synthetic");
  const std::vector<float> hidden = random_values(2 * 5 * 4, 11);  // batch 2, 5 positions
  const std::map<std::string, std::pair<std::vector<int64_t>, std::vector<float>>> inputs = {
      {"hidden", {{2, 5, 4}, hidden}}};

  // A bias [3] given first (Add commutes): rewritten, and each row's last position is unchanged.
  onnx::ModelProto model = projection_model("Add", float_tensor("bias", {3}, {0.5f, -1.0f, 2.0f}), true);
  const fs::path source = dir.path() / "source.onnx", sliced = dir.path() / "sliced.onnx";
  quantize::write_onnx_model(model, source, {});
  EXPECT_EQ(quantize::slice_logits_to_last_position(model).graphs_sliced, 1u);
  quantize::write_onnx_model(model, sliced, {});
  const std::vector<float> full = run_model(source, inputs, {"logits"}).at("logits");
  const std::vector<float> last = run_model(sliced, inputs, {"logits"}).at("logits");
  ASSERT_EQ(full.size(), 2u * 5 * 3);
  ASSERT_EQ(last.size(), 2u * 3);
  for (int64_t row = 0; row < 2; ++row)
    for (int64_t v = 0; v < 3; ++v) EXPECT_EQ(last[row * 3 + v], full[(row * 5 + 4) * 3 + v]) << row << " " << v;

  // Opset 9's Slice takes attributes: such a model is left as it was.
  onnx::ModelProto opset9 = projection_model("Add", float_tensor("bias", {3}, {0.5f, -1.0f, 2.0f}), true);
  for (onnx::OperatorSetIdProto& opset : *opset9.mutable_opset_import())
    if (opset.domain().empty()) opset.set_version(9);
  EXPECT_EQ(quantize::slice_logits_to_last_position(opset9).graphs_left, 1u);
  EXPECT_EQ(quantize::slice_logits_to_last_position(opset9).graphs_sliced, 0u);

  // A constant that spans the sequence ([1, 5, 3]) differs per position: left as it was.
  onnx::ModelProto per_position = projection_model("Add", float_tensor("bias", {1, 5, 3}, random_values(15, 4)), false);
  EXPECT_EQ(quantize::slice_logits_to_last_position(per_position).graphs_left, 1u);
  // So is a divisor given first (x / y does not commute), and an op that moves values between positions.
  onnx::ModelProto divided = projection_model("Div", float_tensor("scale", {3}, {1, 2, 4}), true);
  EXPECT_EQ(quantize::slice_logits_to_last_position(divided).graphs_left, 1u);
  onnx::TensorProto shape;
  shape.set_name("shape");
  shape.set_data_type(onnx::TensorProto::INT64);
  shape.add_dims(3);
  for (int64_t d : {0, -1, 3}) shape.add_int64_data(d);
  onnx::ModelProto reshaped = projection_model("Reshape", shape, false);
  EXPECT_EQ(quantize::slice_logits_to_last_position(reshaped).graphs_left, 1u);
}

}  // namespace
}  // namespace opusrt::test
