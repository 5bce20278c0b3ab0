// Models written by `opusrt quantize` (MatMulNBits) run in the engine: they load in every
// decoder mode, translate, and their logits stay near fp32's; the hub's variant names resolve.
//
// Accuracy is measured along the fp32 greedy path of every fixture input (so a flipped near-tie
// cannot send the runs apart): each step's logits of the quantized model against fp32's, 698
// steps over the 31 inputs. The tiny fixture's weights are random (Gaussian, no structure a
// trained model would have), the hard case for quantization: nothing in them is redundant,
// and its logits are driven by a LayerNorm gain of -4 (scripts/fixtures/fixture_weights.py), so
// what these numbers say about a trained model is only an upper bound. Asserted, with the value
// measured (seed 7, ONNX Runtime 1.29, x86-64) beside each bound:
//  - relative error: RMS of (quantized - fp32) over the RMS of fp32's logits.
//      8 bits, block 32, zero points:   0.0157  (bound 0.03; max |diff| 1.02 for logits of +-30, bound 3)
//      4 bits, block 32, zero points:   0.260   (bound 0.35)
//      4 bits, block 32, symmetric:     0.284   (bound 0.35)
//      4 bits, block 128, zero points:  0.302   (bound 0.40)
//    Why these sizes: a weight's rounding error is uniform within half a step, RMS step/sqrt(12);
//    a block of 32 Gaussian weights spans about 4.1 sigma in 15 steps (4 bits) or 255 (8 bits):
//    each matrix adds about 7.6 % (4 bits) or 0.45 % (8 bits) of noise to its output, and the
//    output passes 3 encoder and 2 decoder layers, attention softmaxes and the projection. The
//    error scales with the step, as it must: 4 bits / 8 bits measured 16.6, and 255 / 15 = 17
//    (asserted between 10 and 28). A wrong scale, block or nibble order makes the output noise
//    (relative error near 1 or above), far beyond every bound.
//  - argmax agreement: the share of steps whose most likely token is fp32's.
//      8 bits 0.964 (bound 0.9); 4 bits 0.593 / 0.549 symmetric / 0.536 block 128 (bounds 0.45,
//      0.45, 0.42). Random-weight logits have close runners-up, so 4 bits flips many of them; the
//      quality on a trained model is what `opusrt eval` measures (README).
#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include <gtest/gtest.h>

#include "cli_runner.h"
#include "engine_harness.h"
#include "opusrt/translator.h"
#include "test_env.h"

namespace opusrt::test {
namespace {

struct Accuracy {
  double relative_rms = 0;  // over all steps of all inputs
  double max_abs = 0;
  double argmax_agreement = 0;
  size_t steps = 0;
};

Accuracy compare_with_fp32(const Engine& fp32, const Engine& quantized) {
  double diff2 = 0, norm2 = 0;
  size_t agree = 0;
  Accuracy a;
  for (const std::string& text : fixture_inputs()) {
    const std::vector<int64_t> source = fp32.tokenizer.encode(text);
    const GreedyRun reference = fp32.greedy(source, 40);
    std::unique_ptr<DecoderState> decoder = start_decoding(quantized.graphs, quantized.encode(source));
    for (size_t step = 0; step + 1 < reference.output_ids.size(); ++step) {
      const int64_t token[] = {reference.output_ids[step]};
      const auto row = decoder->step(token).row(0);
      const std::vector<float>& expected = reference.raw_logits[step];
      EXPECT_EQ(row.size(), expected.size());
      for (size_t i = 0; i < std::min(row.size(), expected.size()); ++i) {
        const double d = double(row[i]) - expected[i];
        diff2 += d * d;
        norm2 += double(expected[i]) * expected[i];
        a.max_abs = std::max(a.max_abs, std::fabs(d));
      }
      agree += std::max_element(row.begin(), row.end()) - row.begin() ==
               std::max_element(expected.begin(), expected.end()) - expected.begin();
      ++a.steps;
    }
  }
  a.relative_rms = std::sqrt(diff2 / norm2);
  a.argmax_agreement = static_cast<double>(agree) / static_cast<double>(a.steps);
  return a;
}

struct Setting {
  std::string name;
  std::vector<std::string> flags;
  double max_relative_rms;
  double min_argmax_agreement;
};

void PrintTo(const Setting& setting, std::ostream* out) { *out << setting.name; }

class QuantizedByOpusrt : public ::testing::TestWithParam<Setting> {
 protected:
  // Quantizes the tiny fixture into a new directory with the CLI, as a user does.
  fs::path quantize(const std::string& variant) {
    const fs::path out = dir_ / variant;
    std::vector<std::string> args = {"quantize", "--model", tiny_model_dir().string(), "--out", out.string(),
                                     "--variant", variant};
    args.insert(args.end(), GetParam().flags.begin(), GetParam().flags.end());
    const Result r = run_cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("variant " + variant), std::string::npos) << r.out;
    return out;
  }
  void SetUp() override { fs::create_directories(dir_); }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_ = fs::temp_directory_path() / ("opusrt-quantized-" + std::to_string(::getpid()));
};

TEST_P(QuantizedByOpusrt, StaysNearFp32) {
  const Setting& setting = GetParam();
  const fs::path model = quantize(setting.name);
  const Engine fp32(tiny_model_dir(), DecoderMode::kMerged);
  const Engine quantized(model, DecoderMode::kMerged, setting.name);
  const Accuracy a = compare_with_fp32(fp32, quantized);
  std::cout << setting.name << " vs fp32 over " << a.steps << " steps: relative RMS error " << a.relative_rms
            << ", max |logit diff| " << a.max_abs << ", argmax agreement " << a.argmax_agreement << "\n";
  EXPECT_LE(a.relative_rms, setting.max_relative_rms);
  EXPECT_GT(a.relative_rms, 0.0);  // the weights really are quantized
  EXPECT_GE(a.argmax_agreement, setting.min_argmax_agreement);
  if (setting.name == "q8") {
    EXPECT_LE(a.max_abs, 3.0);
  }
}

TEST_P(QuantizedByOpusrt, TranslatesInEveryDecoderMode) {
  const Setting& setting = GetParam();
  const fs::path model = quantize(setting.name);
  TranslatorConfig config;
  config.variant = setting.name;
  TranslateOptions greedy;
  greedy.num_beams = 1;
  greedy.max_new_tokens = 30;
  config.decoder = DecoderMode::kMerged;
  const Translator merged(model, config);
  config.decoder = DecoderMode::kSplit;
  const Translator split(model, config);
  EXPECT_EQ(merged.model_info().decoder_mode, DecoderMode::kMerged);
  EXPECT_EQ(split.model_info().decoder_mode, DecoderMode::kSplit);
  for (const std::string& text : fixture_inputs()) {
    SCOPED_TRACE(text);
    const Translation m = merged.translate(text, greedy);
    EXPECT_GE(m.output_ids.size(), 2u);
    EXPECT_EQ(split.translate(text, greedy).output_ids, m.output_ids);  // same graphs inside
  }
  TranslateOptions beam;
  beam.num_beams = 4;
  beam.max_new_tokens = 20;
  const std::vector<std::string> texts = {"Hello world.", "Open the file.", ""};
  const std::vector<Translation> batch = merged.translate_batch(texts, beam);
  ASSERT_EQ(batch.size(), 3u);
  for (const Translation& t : batch) EXPECT_TRUE(std::isfinite(t.score));

  // And through the CLI, exactly as the library.
  const Result r = run_cli({"translate", "--model", model.string(), "--variant", setting.name, "--beams", "1",
                            "--max-new-tokens", "30", "--output", "jsonl"},
                           "Hello world.\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(nlohmann::json(merged.translate("Hello world.", greedy).output_ids).dump()), std::string::npos)
      << r.out;
}

INSTANTIATE_TEST_SUITE_P(
    TinyFixture, QuantizedByOpusrt,
    ::testing::Values(Setting{"q4", {}, 0.35, 0.45}, Setting{"q4sym", {"--symmetric"}, 0.35, 0.45},
                      Setting{"q4b128", {"--block", "128"}, 0.40, 0.42}, Setting{"q8", {"--bits", "8"}, 0.03, 0.90}),
    [](const auto& info) { return info.param.name; });

TEST(QuantizedByOpusrtScaling, FourBitErrorIsTheStepRatioTimesEightBitError) {
  const fs::path dir = fs::temp_directory_path() / ("opusrt-quantized-ratio-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const Engine fp32(tiny_model_dir(), DecoderMode::kMerged);
  std::map<int, double> error;
  for (int bits : {4, 8}) {
    const fs::path out = dir / ("q" + std::to_string(bits));
    const Result r = run_cli({"quantize", "--model", tiny_model_dir().string(), "--out", out.string(), "--bits",
                              std::to_string(bits)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    error[bits] = compare_with_fp32(fp32, Engine(out, DecoderMode::kMerged, "q" + std::to_string(bits))).relative_rms;
  }
  fs::remove_all(dir);
  const double ratio = error[4] / error[8];
  std::cout << "relative error, 4 bits / 8 bits: " << ratio << " (steps: 255 / 15 = 17)\n";
  EXPECT_GE(ratio, 10.0);
  EXPECT_LE(ratio, 28.0);
}

// ---- the variants users find on the hub, as the fixture generator writes them ----------------

TEST(HubVariantNames, Q8IsTheQuantizedGraphsUnlessADirectoryHasQ8Ones) {
  const ModelFiles q8 = ModelFiles::find(tiny_model_dir(), "q8");  // the fixture has no _q8 files
  EXPECT_EQ(q8.variant, "quantized");
  EXPECT_EQ(q8.encoder, tiny_model_dir() / "encoder_model_quantized.onnx");
  EXPECT_EQ(*q8.decoder_merged, tiny_model_dir() / "decoder_model_merged_quantized.onnx");
  TranslatorConfig config;
  config.variant = "q8";
  TranslateOptions greedy;
  greedy.num_beams = 1;
  greedy.max_new_tokens = 20;
  config.variant = "quantized";
  const Translator quantized(tiny_model_dir(), config);
  config.variant = "q8";
  const Translator q8_translator(tiny_model_dir(), config);
  EXPECT_EQ(q8_translator.translate("Hello world.", greedy).output_ids,
            quantized.translate("Hello world.", greedy).output_ids);
  // A missing variant names every file looked for.
  try {
    ModelFiles::find(tiny_xenova_dir(), "q8");
    ADD_FAILURE() << "tiny-xenova has no quantized graphs";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no encoder_model_q8.onnx nor encoder_model_quantized.onnx"), std::string::npos)
        << e.what();
  }
}

TEST(HubVariantNames, Int8IsTheQuantizedGraphAndUint8AnotherOne) {
  // transformers.js' dtype q8 on a model without Conv is QInt8: the same graphs as int8.
  for (const char* graph : {"encoder_model", "decoder_model_merged", "decoder_model", "decoder_with_past_model"}) {
    EXPECT_EQ(slurp(tiny_model_dir() / (std::string(graph) + "_int8.onnx")),
              slurp(tiny_model_dir() / (std::string(graph) + "_quantized.onnx")))
        << graph;
    EXPECT_NE(slurp(tiny_model_dir() / (std::string(graph) + "_uint8.onnx")),
              slurp(tiny_model_dir() / (std::string(graph) + "_int8.onnx")))
        << graph;
  }
  // q4's weights take about a quarter of fp32's (plus a scale per 32), the embeddings stay float.
  EXPECT_LT(fs::file_size(tiny_model_dir() / "decoder_with_past_model_q4.onnx"),
            fs::file_size(tiny_model_dir() / "decoder_with_past_model.onnx") * 3 / 5);
}

TEST(HubVariantNames, GeneratedVariantsStayNearFp32) {
  // The generator's q4 (symmetric, block 32: the bytes of `opusrt quantize --symmetric`, measured
  // 0.284 and 0.549 as above) and uint8 (measured relative RMS 0.044, argmax agreement 0.905;
  // dynamic activation quantization adds its own noise to the weights') and bnb4 (NF4, blocks of
  // 64 with their absmax: measured 0.293 and 0.579, as q4; with the nibbles of each byte swapped
  // it measured 1.43 and 0.004).
  const Engine fp32(tiny_model_dir(), DecoderMode::kMerged);
  for (const auto& [variant, max_rms, min_agreement] :
       std::vector<std::tuple<std::string, double, double>>{{"q4", 0.35, 0.45}, {"uint8", 0.1, 0.8}, {"bnb4", 0.40, 0.45}}) {
    const Accuracy a = compare_with_fp32(fp32, Engine(tiny_model_dir(), DecoderMode::kMerged, variant));
    std::cout << variant << " (fixture generator) vs fp32: relative RMS error " << a.relative_rms
              << ", argmax agreement " << a.argmax_agreement << "\n";
    EXPECT_LE(a.relative_rms, max_rms) << variant;
    EXPECT_GE(a.argmax_agreement, min_agreement) << variant;
  }
}

}  // namespace
}  // namespace opusrt::test
