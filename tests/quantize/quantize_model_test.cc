// quantize_model() on whole model directories (the tiny fixture, both layouts): what it writes,
// that the Python fixture generator's q4 and this quantizer agree byte for byte, external data
// in and out, and that every bad input is one clear error that leaves the directory as it was.
#include <fstream>
#include <functional>
#include <set>

#include <gtest/gtest.h>

#include "model/model_files.h"
#include "opusrt/error.h"
#include "quantize/onnx_model_file.h"
#include "quantize/quantize.h"
#include "quantize_test_util.h"
#include "test_env.h"

namespace opusrt::test {
namespace {

const std::vector<std::string> kGraphs = {"encoder_model", "decoder_model_merged", "decoder_model",
                                          "decoder_with_past_model"};

// The fp32 graphs and the support files of the tiny fixture (no variants) in a new directory.
fs::path copy_fp32_model(const fs::path& from, const fs::path& to, const std::string& graph_suffix = "") {
  fs::create_directories(to);
  for (const std::string& graph : kGraphs) fs::copy_file(from / (graph + graph_suffix + ".onnx"), to / (graph + ".onnx"));
  for (const auto* names : {&ModelFiles::required_support_files(), &ModelFiles::optional_support_files()}) {
    for (const std::string& name : *names) {
      if (fs::exists(from / name)) fs::copy_file(from / name, to / name);
    }
  }
  return to;
}

QuantizeOptions options(const std::function<void(QuantizeOptions&)>& edit) {
  QuantizeOptions o;
  edit(o);
  return o;
}

std::string error_of(const fs::path& dir, const QuantizeOptions& options) {
  try {
    quantize_model(dir, options);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// MatMul nodes whose B is an initializer (none may be left after quantization).
size_t matmuls_with_constant_weight(const onnx::ModelProto& model) {
  std::set<std::string> initializers;
  for (const onnx::TensorProto& t : model.graph().initializer()) initializers.insert(t.name());
  size_t n = 0;
  for (const onnx::NodeProto* node : all_nodes(model.graph()))
    n += node->op_type() == "MatMul" && initializers.count(node->input(1)) != 0;
  return n;
}

std::vector<std::string> io_names(const google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& list) {
  std::vector<std::string> names;
  for (const onnx::ValueInfoProto& info : list) names.push_back(info.name());
  return names;
}

TEST(QuantizeModel, WritesTheVariantNextToTheFp32GraphsAndNothingElse) {
  TempDir dir("next-to");
  const fs::path model = copy_fp32_model(tiny_model_dir(), dir.path() / "tiny");
  const std::vector<std::string> before = listing(model);
  const QuantizeResult result = quantize_model(model, {});
  EXPECT_EQ(result.variant, "q4");
  EXPECT_EQ(result.model_dir, model);
  ASSERT_EQ(result.graphs.size(), 4u);

  std::vector<std::string> expected = before;
  for (const std::string& graph : kGraphs) expected.push_back(graph + "_q4.onnx");
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(listing(model), expected);  // no temporary directory or data file left

  for (const QuantizedGraph& graph : result.graphs) {
    SCOPED_TRACE(graph.source.string());
    EXPECT_EQ(graph.output.parent_path(), model);
    EXPECT_GT(graph.matmuls, 0u);
    EXPECT_FALSE(graph.external_data);
    EXPECT_LT(graph.output_bytes, graph.source_bytes);
    EXPECT_EQ(graph.output_bytes, fs::file_size(graph.output));
    const quantize::OnnxModelFile fp32 = quantize::read_onnx_model(graph.source);
    const quantize::OnnxModelFile q4 = quantize::read_onnx_model(graph.output);
    EXPECT_GT(matmuls_with_constant_weight(fp32.model), 0u);
    EXPECT_EQ(matmuls_with_constant_weight(q4.model), 0u);
    EXPECT_EQ(count_ops(q4.model, "MatMulNBits"), graph.matmuls);
    EXPECT_EQ(count_ops(fp32.model, "MatMul"), count_ops(q4.model, "MatMul") + graph.matmuls);
    // The interface is the fp32 graph's.
    EXPECT_EQ(io_names(q4.model.graph().input()), io_names(fp32.model.graph().input()));
    EXPECT_EQ(io_names(q4.model.graph().output()), io_names(fp32.model.graph().output()));
  }
  // The merged decoder: both branches rewritten, each weight once (the no-cache branch uses all).
  const QuantizedGraph& merged = result.graphs[1];
  const QuantizedGraph& no_cache = result.graphs[2];
  const QuantizedGraph& with_past = result.graphs[3];
  EXPECT_EQ(merged.matmuls, no_cache.matmuls + with_past.matmuls);
  EXPECT_EQ(merged.weights, no_cache.weights);

  // The variant loads the way users pick it.
  const ModelFiles files = ModelFiles::find(model, "q4");
  EXPECT_EQ(files.encoder, model / "encoder_model_q4.onnx");
  EXPECT_EQ(*files.decoder_merged, model / "decoder_model_merged_q4.onnx");
}

TEST(QuantizeModel, PythonQ4FixtureAndThisQuantizerWriteTheSameBytes) {
  // Two implementations of ONNX Runtime's MLAS block quantization (the fixture generator in
  // numpy, this one in C++) must agree exactly on symmetric 4-bit, block 32 weights.
  TempDir dir("python-q4");
  const fs::path model = copy_fp32_model(tiny_model_dir(), dir.path() / "tiny");
  QuantizeOptions options;
  options.symmetric = true;
  quantize_model(model, options);
  for (const std::string& graph : kGraphs) {
    SCOPED_TRACE(graph);
    const quantize::OnnxModelFile cpp = quantize::read_onnx_model(model / (graph + "_q4.onnx"));
    const quantize::OnnxModelFile python = quantize::read_onnx_model(tiny_model_dir() / (graph + "_q4.onnx"));
    EXPECT_EQ(count_ops(cpp.model, "MatMulNBits"), count_ops(python.model, "MatMulNBits"));
    size_t compared = 0;
    for (const onnx::TensorProto& tensor : python.model.graph().initializer()) {
      const std::string& name = tensor.name();
      if (!name.ends_with("_Q4") && !name.ends_with("_scales")) continue;
      const onnx::TensorProto* mine = find_initializer(cpp.model.graph(), name);
      if (mine == nullptr) {
        ADD_FAILURE() << name << " is not in the C++ output";
        continue;
      }
      EXPECT_EQ(std::vector<int64_t>(mine->dims().begin(), mine->dims().end()),
                std::vector<int64_t>(tensor.dims().begin(), tensor.dims().end()))
          << name;
      EXPECT_TRUE(mine->raw_data() == tensor.raw_data()) << name << " differs";
      ++compared;
    }
    EXPECT_GT(compared, 0u);
  }
}

TEST(QuantizeModel, OutIsANewModelDirectoryInTheSourceLayout) {
  TempDir dir("out");
  QuantizeOptions options;
  options.bits = 8;
  options.block_size = 64;
  options.out = dir.path() / "tiny-q8";
  const QuantizeResult result = quantize_model(tiny_xenova_dir(), options);
  EXPECT_EQ(result.variant, "q8");
  EXPECT_EQ(result.model_dir, options.out);
  std::vector<std::string> expected = {"onnx"};
  for (const std::string& graph : kGraphs) expected.push_back("onnx/" + graph + "_q8.onnx");
  for (const fs::path& copied : result.copied) expected.push_back(copied.filename().string());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(listing(options.out), expected);
  for (const std::string& name : ModelFiles::required_support_files()) EXPECT_TRUE(fs::exists(options.out / name)) << name;
  EXPECT_TRUE(fs::exists(options.out / "generation_config.json"));
  // Nothing else appeared next to it (the temporary directory is gone).
  EXPECT_EQ(listing(dir.path()).front(), "tiny-q8");
  for (const std::string& entry : listing(dir.path())) EXPECT_TRUE(entry.starts_with("tiny-q8")) << entry;
  const quantize::OnnxModelFile encoder = quantize::read_onnx_model(options.out / "onnx" / "encoder_model_q8.onnx");
  for (const onnx::NodeProto* node : all_nodes(encoder.model.graph())) {
    if (node->op_type() == "MatMulNBits") {
      EXPECT_EQ(int_attribute(*node, "bits"), 8);
      EXPECT_EQ(int_attribute(*node, "block_size"), 64);
      // The default: int8 activations (QuantizeOptions::accuracy_level says why).
      EXPECT_EQ(int_attribute(*node, "accuracy_level"), 4);
    }
  }
  // ModelFiles finds them, and q8 (the alias of transformers.js's _quantized) prefers _q8.
  EXPECT_EQ(ModelFiles::find(options.out, "q8").variant, "q8");
  EXPECT_EQ(ModelFiles::find(options.out, "q8").encoder, options.out / "onnx" / "encoder_model_q8.onnx");
}

TEST(QuantizeModel, ExternalDataInExternalDataOut) {
  TempDir dir("external");
  const fs::path inline_model = copy_fp32_model(tiny_model_dir(), dir.path() / "inline");
  const fs::path external_model = copy_fp32_model(tiny_model_dir(), dir.path() / "external");
  for (const std::string& graph : kGraphs) {
    quantize::OnnxModelFile file = quantize::read_onnx_model(external_model / (graph + ".onnx"));
    quantize::write_onnx_model(file.model, external_model / (graph + ".onnx"), quantize::OnnxWriteOptions{true, 1024});
    ASSERT_TRUE(fs::exists(external_model / (graph + ".onnx_data")));
  }
  const QuantizeResult from_inline = quantize_model(inline_model, {});
  const QuantizeResult from_external = quantize_model(external_model, {});  // loads them in ONNX Runtime too
  for (size_t i = 0; i < kGraphs.size(); ++i) {
    SCOPED_TRACE(kGraphs[i]);
    const QuantizedGraph& graph = from_external.graphs[i];
    EXPECT_TRUE(graph.external_data);
    EXPECT_FALSE(from_inline.graphs[i].external_data);
    EXPECT_TRUE(fs::exists(external_model / (kGraphs[i] + "_q4.onnx_data")));
    EXPECT_EQ(graph.output_bytes, fs::file_size(graph.output) + fs::file_size(external_model / (kGraphs[i] + "_q4.onnx_data")));
    EXPECT_EQ(graph.source_bytes, fs::file_size(graph.source) + fs::file_size(external_model / (kGraphs[i] + ".onnx_data")));
    // The same tensors either way.
    const quantize::OnnxModelFile a = quantize::read_onnx_model(from_inline.graphs[i].output);
    const quantize::OnnxModelFile b = quantize::read_onnx_model(graph.output);
    EXPECT_TRUE(b.had_external_data);
    ASSERT_EQ(a.model.graph().initializer_size(), b.model.graph().initializer_size());
    for (const onnx::TensorProto& tensor : a.model.graph().initializer()) {
      const onnx::TensorProto* other = find_initializer(b.model.graph(), tensor.name());
      ASSERT_NE(other, nullptr) << tensor.name();
      EXPECT_TRUE(other->raw_data() == tensor.raw_data()) << tensor.name();
    }
  }
}

TEST(QuantizeModel, SkipKeepsTheNamedWeightsInFloat) {
  TempDir dir("skip");
  const fs::path model = copy_fp32_model(tiny_model_dir(), dir.path() / "tiny");
  const QuantizeResult all = quantize_model(model, options([](QuantizeOptions& o) { o.variant = "all"; }));
  QuantizeOptions options;
  options.variant = "no_lm_head";
  options.skip = {"model.shared.weight.T"};  // the fixture's output projection
  const QuantizeResult skipped = quantize_model(model, options);
  EXPECT_EQ(skipped.graphs[0].matmuls, all.graphs[0].matmuls);  // the encoder has no output projection
  EXPECT_EQ(skipped.graphs[0].skipped, 0u);
  for (size_t i = 1; i < kGraphs.size(); ++i) {
    SCOPED_TRACE(kGraphs[i]);
    const size_t uses = i == 1 ? 2 : 1;  // the merged decoder: once per branch
    EXPECT_EQ(skipped.graphs[i].skipped, uses);
    EXPECT_EQ(skipped.graphs[i].matmuls + uses, all.graphs[i].matmuls);
    const quantize::OnnxModelFile file = quantize::read_onnx_model(skipped.graphs[i].output);
    EXPECT_NE(find_initializer(file.model.graph(), "model.shared.weight.T"), nullptr);
    EXPECT_EQ(matmuls_with_constant_weight(file.model), uses);
  }
}

// ---- bad input: one clear error, and the model directory exactly as it was -------------------

class QuantizeModelErrors : public ::testing::Test {
 protected:
  void SetUp() override { model_ = copy_fp32_model(tiny_model_dir(), dir_.path() / "tiny"); }

  // The error message; checks that the parent directory (model and all) did not change.
  std::string fails(const QuantizeOptions& options, const fs::path& model = {}) {
    const std::vector<std::string> before = listing(dir_.path());
    const std::string message = error_of(model.empty() ? model_ : model, options);
    EXPECT_FALSE(message.empty()) << "no error";
    EXPECT_EQ(listing(dir_.path()), before) << "a failed run left files behind: " << message;
    return message;
  }

  TempDir dir_{"errors"};
  fs::path model_;
};

TEST_F(QuantizeModelErrors, BitsAndBlockSizesOutOfRange) {
  EXPECT_NE(fails(options([](QuantizeOptions& o) { o.bits = 3; })).find("bits 3: must be 4 or 8"), std::string::npos);
  EXPECT_NE(fails(options([](QuantizeOptions& o) { o.bits = 2; })).find("bits 2: must be 4 or 8"), std::string::npos);
  EXPECT_NE(fails(options([](QuantizeOptions& o) { o.block_size = 48; })).find("block size 48: must be 32, 64 or 128"), std::string::npos);
  EXPECT_NE(fails(options([](QuantizeOptions& o) { o.block_size = 16; })).find("block size 16"), std::string::npos);
  EXPECT_NE(fails(options([](QuantizeOptions& o) { o.accuracy_level = 7; })).find("accuracy level 7"), std::string::npos);
  EXPECT_NE(fails(options([](QuantizeOptions& o) { o.variant = "../x"; })).find("variant '../x'"), std::string::npos);
  EXPECT_NE(fails(options([](QuantizeOptions& o) { o.variant = "fp32"; })).find("variant 'fp32'"), std::string::npos);
}

TEST_F(QuantizeModelErrors, AnOutputThatExistsIsNeverReplaced) {
  std::ofstream(model_ / "decoder_model_q4.onnx") << "mine";  // only one of the four
  std::string message = fails({});
  EXPECT_NE(message.find((model_ / "decoder_model_q4.onnx").string() + ": already exists"), std::string::npos) << message;
  EXPECT_EQ(slurp(model_ / "decoder_model_q4.onnx"), "mine");
  fs::remove(model_ / "decoder_model_q4.onnx");
  std::ofstream(model_ / "encoder_model_q4.onnx_data") << "mine";  // a data file is an output too
  message = fails({});
  EXPECT_NE(message.find("encoder_model_q4.onnx_data: already exists"), std::string::npos) << message;
  fs::remove(model_ / "encoder_model_q4.onnx_data");

  fs::create_directories(dir_.path() / "taken");
  message = fails(options([this](QuantizeOptions& o) { o.out = dir_.path() / "taken"; }));
  EXPECT_NE(message.find((dir_.path() / "taken").string() + ": already exists"), std::string::npos) << message;
  message = fails(options([this](QuantizeOptions& o) { o.out = dir_.path() / "no" / "such" / "parent"; }));
  EXPECT_NE(message.find((dir_.path() / "no" / "such").string() + ": directory not found"), std::string::npos) << message;
}

TEST_F(QuantizeModelErrors, MissingFilesAreNamed) {
  std::string message = fails({}, dir_.path() / "nowhere");
  EXPECT_NE(message.find((dir_.path() / "nowhere").string() + ": model directory not found"), std::string::npos) << message;
  fs::rename(model_ / "config.json", dir_.path() / "config.json.away");
  message = fails({});
  EXPECT_NE(message.find((model_ / "config.json").string() + ": file not found"), std::string::npos) << message;
  fs::rename(dir_.path() / "config.json.away", model_ / "config.json");
  fs::rename(model_ / "encoder_model.onnx", dir_.path() / "encoder.away");
  message = fails({});
  EXPECT_NE(message.find("no encoder_model.onnx"), std::string::npos) << message;
}

TEST_F(QuantizeModelErrors, AModelWithoutMatMulWeightsHasNothingToQuantize) {
  // Graphs already quantized (the fixture generator's q4, renamed as if they were fp32).
  const fs::path model = copy_fp32_model(tiny_model_dir(), dir_.path() / "q4-as-fp32", "_q4");
  const std::string message = fails({}, model);
  EXPECT_NE(message.find("no MatMul with a constant 2-D float32 weight in encoder_model.onnx, "
                         "decoder_model_merged.onnx, decoder_model.onnx, decoder_with_past_model.onnx"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("nothing to quantize"), std::string::npos) << message;
}

TEST_F(QuantizeModelErrors, ASkipNameThatNamesNothing) {
  const std::string message = fails(options([](QuantizeOptions& o) { o.skip = {"model.shared.weight.T", "lm_haed"}; }));
  EXPECT_NE(message.find("skip 'lm_haed': no MatMul node, MatMul input or weight of that name"), std::string::npos)
      << message;
}

TEST_F(QuantizeModelErrors, ABrokenGraphAfterAGoodOneLeavesNoHalfVariant) {
  // The encoder quantizes fine; the split decoder does not parse.
  std::string bytes = slurp(model_ / "decoder_model.onnx");
  std::ofstream(model_ / "decoder_model.onnx", std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 3);
  std::string message = fails({});
  EXPECT_NE(message.find((model_ / "decoder_model.onnx").string()), std::string::npos) << message;
  fails(options([this](QuantizeOptions& o) { o.out = dir_.path() / "new"; }));

  // External data that is missing: named with its tensor.
  std::ofstream(model_ / "decoder_model.onnx", std::ios::binary | std::ios::trunc) << bytes;
  quantize::OnnxModelFile file = quantize::read_onnx_model(model_ / "decoder_with_past_model.onnx");
  quantize::write_onnx_model(file.model, model_ / "decoder_with_past_model.onnx", quantize::OnnxWriteOptions{true, 1024});
  fs::remove(model_ / "decoder_with_past_model.onnx_data");
  message = fails({});
  EXPECT_NE(message.find("decoder_with_past_model.onnx: tensor '"), std::string::npos) << message;
  EXPECT_NE(message.find("decoder_with_past_model.onnx_data not found"), std::string::npos) << message;
}

}  // namespace
}  // namespace opusrt::test
