// The graph rewrite (quantize/matmul_rewriter.h) on a model built by hand that has every case:
// a plain weight, a tied projection through a Transpose of an embedding that a Gather also
// reads, an If whose two branches share one outer weight, a MatMul of two activations, and a
// skipped weight. Then ONNX Runtime runs the result: its MatMulNBits must compute exactly
// X x dequantize(W) with our own dequantization, which proves the packing is the one ONNX
// Runtime's kernel reads (a wrong nibble order, block layout or zero-point default would
// show as errors of the size of the weights, not of float rounding).
#include <gtest/gtest.h>

#include "onnx/checker.h"
#include "opusrt/error.h"
#include "quantize/block_quantizer.h"
#include "quantize/matmul_rewriter.h"
#include "quantize/onnx_model_file.h"
#include "quantize_test_util.h"

namespace opusrt::test {
namespace {

using quantize::BlockQuantization;
using quantize::RewriteSettings;
using quantize::RewriteStats;

constexpr int64_t kBatch = 3, kModel = 48, kVocab = 40, kInner = 24, kSkipped = 16;

struct HandModel {
  onnx::ModelProto model;
  std::vector<float> w1, embedding, w2, w3;
};

// X [batch, 48] ->
//   y_plain  = X x W1 [48, 40]
//   y_tied   = X x Transpose(E) with E [40, 48]; y_gather = Gather(E, ids)
//   y_branch = If(cond) { X x W2 } else { (X x W2) + 1 }   (W2 [48, 24], an outer initializer)
//   y_scores = X x Transpose(X)                             (no constant weight)
//   y_kept   = X x W3 [48, 16]                              (W3 named in skip)
HandModel hand_model() {
  HandModel m;
  m.w1 = random_values(kModel * kVocab, 1, 0.2f);
  m.embedding = random_values(kVocab * kModel, 2, 0.5f);
  m.w2 = random_values(kModel * kInner, 3, 0.3f);
  m.w3 = random_values(kModel * kSkipped, 4, 0.3f);
  onnx::GraphProto g;
  g.set_name("hand");
  *g.add_initializer() = float_tensor("W1", {kModel, kVocab}, m.w1);
  *g.add_initializer() = float_tensor("E", {kVocab, kModel}, m.embedding);
  *g.add_initializer() = float_tensor("W2", {kModel, kInner}, m.w2);
  *g.add_initializer() = float_tensor("W3", {kModel, kSkipped}, m.w3);
  *g.add_initializer() = float_tensor("one", {1}, {1.0f});
  add_value(g.mutable_input(), "X", onnx::TensorProto::FLOAT, {-1, kModel});
  add_value(g.mutable_input(), "ids", onnx::TensorProto::INT64, {-1});
  add_value(g.mutable_input(), "cond", onnx::TensorProto::BOOL, {1});
  add_node(g, "MatMul", {"X", "W1"}, {"y_plain"}, "/plain/MatMul");
  onnx::NodeProto* t = add_node(g, "Transpose", {"E"}, {"E_t"}, "/lm_head/Transpose");
  onnx::AttributeProto* perm = t->add_attribute();
  perm->set_name("perm");
  perm->set_type(onnx::AttributeProto::INTS);
  perm->add_ints(1);
  perm->add_ints(0);
  add_node(g, "MatMul", {"X", "E_t"}, {"y_tied"}, "/lm_head/MatMul");
  add_node(g, "Gather", {"E", "ids"}, {"y_gather"}, "/embed/Gather");
  add_node(g, "Transpose", {"X"}, {"X_t"}, "/scores/Transpose");
  add_node(g, "MatMul", {"X", "X_t"}, {"y_scores"}, "/scores/MatMul");
  add_node(g, "MatMul", {"X", "W3"}, {"y_kept"}, "/kept/MatMul");

  onnx::GraphProto then_branch, else_branch;
  then_branch.set_name("then");
  add_node(then_branch, "MatMul", {"X", "W2"}, {"then_out"}, "/then/MatMul");
  add_value(then_branch.mutable_output(), "then_out", onnx::TensorProto::FLOAT, {-1, kInner});
  else_branch.set_name("else");
  add_node(else_branch, "MatMul", {"X", "W2"}, {"else_mm"}, "/else/MatMul");
  add_node(else_branch, "Add", {"else_mm", "one"}, {"else_out"}, "/else/Add");
  add_value(else_branch.mutable_output(), "else_out", onnx::TensorProto::FLOAT, {-1, kInner});
  onnx::NodeProto* branch = add_node(g, "If", {"cond"}, {"y_branch"}, "/if");
  onnx::AttributeProto* then_attr = branch->add_attribute();
  then_attr->set_name("then_branch");
  then_attr->set_type(onnx::AttributeProto::GRAPH);
  *then_attr->mutable_g() = then_branch;
  onnx::AttributeProto* else_attr = branch->add_attribute();
  else_attr->set_name("else_branch");
  else_attr->set_type(onnx::AttributeProto::GRAPH);
  *else_attr->mutable_g() = else_branch;

  for (const auto& [name, n] : std::vector<std::pair<std::string, int64_t>>{
           {"y_plain", kVocab}, {"y_tied", kVocab}, {"y_branch", kInner}, {"y_scores", -1}, {"y_kept", kSkipped}})
    add_value(g.mutable_output(), name, onnx::TensorProto::FLOAT, {-1, n});
  add_value(g.mutable_output(), "y_gather", onnx::TensorProto::FLOAT, {-1, kModel});
  m.model = model_of(std::move(g));
  onnx::checker::check_model(m.model);
  return m;
}

const std::vector<std::string> kOutputs = {"y_plain", "y_tied", "y_gather", "y_branch", "y_scores", "y_kept"};

std::map<std::string, std::vector<float>> run_hand(const fs::path& file, const std::vector<float>& x, bool cond) {
  return run_model(file, {{"X", {{kBatch, kModel}, x}}}, kOutputs, {{"cond", cond}}, {{"ids", {0, 7, 39}}});
}

TEST(MatMulRewriter, RewritesEveryConstantWeightOnceAndRemovesWhatIsLeftUnread) {
  HandModel m = hand_model();
  RewriteSettings settings;
  settings.quantization = {4, 32, false};
  settings.skip = {"W3"};
  const RewriteStats stats = quantize::rewrite_matmuls(m.model, settings, "hand.onnx");
  EXPECT_EQ(stats.matmuls, 4u);  // plain, tied, both branches
  EXPECT_EQ(stats.weights, 3u);  // W1, E (transposed), W2 once for the two branches
  EXPECT_EQ(stats.skipped, 1u);
  EXPECT_EQ(stats.skip_names_seen, std::set<std::string>{"W3"});
  EXPECT_NO_THROW(onnx::checker::check_model(m.model));

  EXPECT_EQ(count_ops(m.model, "MatMulNBits"), 4u);
  EXPECT_EQ(count_ops(m.model, "MatMul"), 2u);     // scores (two activations) and the skipped one
  EXPECT_EQ(count_ops(m.model, "Transpose"), 1u);  // of X; the embedding's is gone
  const onnx::GraphProto& g = m.model.graph();
  EXPECT_EQ(find_initializer(g, "W1"), nullptr);
  EXPECT_EQ(find_initializer(g, "W2"), nullptr);
  EXPECT_NE(find_initializer(g, "E"), nullptr);   // the Gather still reads it
  EXPECT_NE(find_initializer(g, "W3"), nullptr);  // skipped
  for (const char* name : {"W1_Q4", "W1_scales", "W1_zero_points", "E_T_Q4", "E_T_scales", "W2_Q4", "W2_scales"})
    EXPECT_NE(find_initializer(g, name), nullptr) << name;  // in the top graph, where the branches see them
  const onnx::TensorProto* packed = find_initializer(g, "E_T_Q4");
  ASSERT_NE(packed, nullptr);
  EXPECT_EQ(packed->data_type(), onnx::TensorProto::UINT8);
  EXPECT_EQ(std::vector<int64_t>(packed->dims().begin(), packed->dims().end()), (std::vector<int64_t>{kVocab, 2, 16}));
  EXPECT_EQ(find_initializer(g, "W1_scales")->dims(0), kVocab * 2);
  EXPECT_EQ(find_initializer(g, "W1_zero_points")->dims(0), kVocab * 1);

  bool domain = false;
  for (const onnx::OperatorSetIdProto& opset : m.model.opset_import()) domain |= opset.domain() == "com.microsoft";
  EXPECT_TRUE(domain);
  for (const onnx::NodeProto* node : all_nodes(g)) {
    if (node->op_type() != "MatMulNBits") continue;
    EXPECT_EQ(node->domain(), "com.microsoft");
    EXPECT_EQ(int_attribute(*node, "K"), kModel);
    EXPECT_EQ(int_attribute(*node, "bits"), 4);
    EXPECT_EQ(int_attribute(*node, "block_size"), 32);
    EXPECT_EQ(node->input_size(), 4);  // A, B, scales, zero points
    EXPECT_TRUE(node->name().ends_with("_Q4")) << node->name();
  }
}

TEST(MatMulRewriter, AModelWithoutConstantWeightsIsLeftAsItIs) {
  HandModel m = hand_model();
  RewriteSettings settings;
  settings.skip = {"/plain/MatMul", "E", "W2", "W3"};  // a node name, the embedding, weights
  const std::string before = m.model.SerializeAsString();
  const RewriteStats stats = quantize::rewrite_matmuls(m.model, settings, "hand.onnx");
  EXPECT_EQ(stats.matmuls, 0u);
  EXPECT_EQ(stats.skipped, 5u);
  EXPECT_EQ(stats.skip_names_seen.size(), 4u);
  EXPECT_EQ(m.model.SerializeAsString(), before);  // not even an opset import added
}

class MatMulNBitsInOnnxRuntime : public ::testing::TestWithParam<BlockQuantization> {};

TEST_P(MatMulNBitsInOnnxRuntime, ComputesXTimesTheDequantizedWeight) {
  const BlockQuantization q = GetParam();
  TempDir dir("ort");
  HandModel m = hand_model();
  const fs::path fp32 = dir.path() / "fp32.onnx", quantized = dir.path() / "quantized.onnx";
  quantize::write_onnx_model(m.model, fp32, {});
  RewriteSettings settings;
  settings.quantization = q;
  settings.skip = {"W3"};
  quantize::rewrite_matmuls(m.model, settings, "hand.onnx");
  quantize::write_onnx_model(m.model, quantized, {});

  // What the kernel must compute, from our own dequantization.
  const auto dq = [&](const std::vector<float>& w, int64_t rows, int64_t cols, quantize::WeightLayout layout) {
    return quantize::dequantize(quantize::quantize_blockwise(w, rows, cols, layout, q));
  };
  const std::vector<float> w1 = dq(m.w1, kModel, kVocab, quantize::WeightLayout::kKByN);
  const std::vector<float> tied = dq(m.embedding, kVocab, kModel, quantize::WeightLayout::kNByK);
  const std::vector<float> w2 = dq(m.w2, kModel, kInner, quantize::WeightLayout::kKByN);

  const std::vector<float> x = random_values(kBatch * kModel, 9);
  for (bool cond : {true, false}) {
    SCOPED_TRACE(cond ? "then branch" : "else branch");
    auto got = run_hand(quantized, x, cond);
    auto exact = run_hand(fp32, x, cond);
    std::vector<float> branch = matmul(x, w2, kBatch, kModel, kInner);
    if (!cond) {
      for (float& v : branch) v += 1.0f;
    }
    // Float32 sums of 48 products of magnitude ~1: 1e-4 is rounding; a layout error is ~0.1.
    EXPECT_LE(max_abs_diff(got["y_plain"], matmul(x, w1, kBatch, kModel, kVocab)), 1e-4);
    EXPECT_LE(max_abs_diff(got["y_tied"], matmul(x, tied, kBatch, kModel, kVocab)), 1e-4);
    EXPECT_LE(max_abs_diff(got["y_branch"], branch), 1e-4);
    // Untouched outputs are bit for bit those of the float model.
    EXPECT_EQ(got["y_gather"], exact["y_gather"]);
    EXPECT_EQ(got["y_scores"], exact["y_scores"]);
    EXPECT_EQ(got["y_kept"], exact["y_kept"]);
    // And the quantized outputs are near the float ones: the error relative to the outputs' RMS
    // is the weights' relative rounding error, about step / sqrt(12) / sigma = 5-10 % for 4 bits
    // (blocks of 32 to 128 Gaussian values span 4-5 sigma in 15 steps) and 16x less for 8 bits.
    const double tolerance = q.bits == 8 ? 0.02 : 0.2;
    for (const char* output : {"y_plain", "y_tied", "y_branch"}) {
      const double error = relative_rms_error(got[output], exact[output]);
      EXPECT_LE(error, tolerance) << output;
      EXPECT_GT(error, tolerance / 1000) << output;  // quantized for real
    }
  }
}

std::string name_of(const ::testing::TestParamInfo<BlockQuantization>& info) {
  return std::to_string(info.param.bits) + "bits_block" + std::to_string(info.param.block_size) +
         (info.param.symmetric ? "_symmetric" : "_zero_points");
}

INSTANTIATE_TEST_SUITE_P(Settings, MatMulNBitsInOnnxRuntime,
                         ::testing::Values(BlockQuantization{4, 32, false}, BlockQuantization{4, 32, true},
                                           BlockQuantization{4, 64, false}, BlockQuantization{4, 128, true},
                                           BlockQuantization{8, 32, false}, BlockQuantization{8, 32, true},
                                           BlockQuantization{8, 128, false}),
                         name_of);

TEST(MatMulRewriter, AccuracyLevelIsWrittenOnlyWhenAsked) {
  for (std::optional<int> level : {std::optional<int>(), std::optional<int>(4)}) {
    HandModel m = hand_model();
    RewriteSettings settings;
    settings.accuracy_level = level;
    quantize::rewrite_matmuls(m.model, settings, "hand.onnx");
    for (const onnx::NodeProto* node : all_nodes(m.model.graph())) {
      if (node->op_type() != "MatMulNBits") continue;
      bool has = false;
      for (const onnx::AttributeProto& attribute : node->attribute()) has |= attribute.name() == "accuracy_level";
      EXPECT_EQ(has, level.has_value());
      if (level) {
        EXPECT_EQ(int_attribute(*node, "accuracy_level"), *level);
      }
    }
  }
}

TEST(MatMulRewriter, AWeightThatIsAlsoAGraphInputIsNotAConstant) {
  HandModel m = hand_model();
  add_value(m.model.mutable_graph()->mutable_input(), "W1", onnx::TensorProto::FLOAT, {kModel, kVocab});
  const RewriteStats stats = quantize::rewrite_matmuls(m.model, {}, "hand.onnx");
  EXPECT_EQ(stats.weights, 3u);  // E, W2 and W3; W1 may be fed at run time
  EXPECT_NE(find_initializer(m.model.graph(), "W1"), nullptr);
}

}  // namespace
}  // namespace opusrt::test
