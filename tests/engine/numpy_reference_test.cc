// The engine against the project's own NumPy reference of the Marian forward pass and greedy
// decoding (scripts/fixtures/marian_numpy.py) on the tiny fixture model: ids exactly, raw
// logits of every step within 1e-4, for every input of scripts/fixtures/test_sentences.txt.
// Also on the same weights as a newer exporter writes them (tiny-opset18: opset 18,
// LayerNormalization nodes, IR version 10, weights in .onnx_data files): same reference.
// And on tiny-separate (separate source and target vocabularies and embeddings, the decoder's
// vocabulary twice the encoder's): its own reference.
#include <algorithm>
#include <cmath>
#include <tuple>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine_harness.h"
#include "opusrt/translator.h"
#include "test_env.h"

namespace opusrt::test {
namespace {

constexpr double kTolerance = 1e-4;

struct Reference {
  nlohmann::json json;
  std::vector<float> logits;
};

Reference load_reference(const std::filesystem::path& dir) {
  Reference reference;
  reference.json = read_reference_json(dir);
  std::ifstream blob(dir / reference.json["logits_file"].get<std::string>(), std::ios::binary | std::ios::ate);
  EXPECT_TRUE(blob) << "missing the reference logits file";
  const std::streamsize bytes = blob.tellg();
  blob.seekg(0);
  reference.logits.resize(bytes / sizeof(float));
  blob.read(reinterpret_cast<char*>(reference.logits.data()), bytes);
  return reference;
}

TEST(NumpyReference, HasAtLeastTwentyCases) {
  const Reference reference = load_reference(tiny_model_dir());
  EXPECT_GE(reference.json["cases"].size(), 20u);
}

// tiny-separate's outputs really use the decoder's own vocabulary: ids beyond the encoder's.
TEST(NumpyReference, SeparateVocabsOutputIdsBeyondTheSourceVocab) {
  const Reference reference = load_reference(fixtures_dir() / "tiny-separate");
  const Translator translator(fixtures_dir() / "tiny-separate");
  const ModelInfo& info = translator.model_info();
  ASSERT_GT(info.decoder_vocab_size, info.vocab_size);
  EXPECT_EQ(reference.json["vocab_size"].get<int64_t>(), info.decoder_vocab_size);
  size_t beyond = 0;
  for (const auto& c : reference.json["cases"])
    for (int64_t id : c["greedy"]["output_ids"].get<std::vector<int64_t>>()) beyond += id >= info.vocab_size;
  EXPECT_GT(beyond, 5u);
}

// An export without past (Optimum's --task text2text-generation: decoder_model.onnx with logits
// only): auto mode runs it by recompute, says so in ModelInfo::warnings, and translates exactly
// like the same weights with a KV cache, greedy and beam; the cached modes are clear errors.
TEST(NumpyReference, ExportWithoutPastTranslatesInRecomputeMode) {
  const std::filesystem::path nopast = fixtures_dir() / "tiny-nopast";
  ASSERT_FALSE(std::filesystem::exists(nopast / "decoder_with_past_model.onnx"));
  const Translator translator(nopast), cached(tiny_model_dir());
  const ModelInfo& info = translator.model_info();
  EXPECT_EQ(info.decoder_mode, DecoderMode::kRecompute);
  ASSERT_EQ(info.warnings.size(), 1u);
  EXPECT_NE(info.warnings[0].find("without past"), std::string::npos) << info.warnings[0];
  EXPECT_TRUE(cached.model_info().warnings.empty());
  const Reference reference = load_reference(tiny_model_dir());
  for (const int beams : {1, 4}) {
    TranslateOptions options;
    options.num_beams = beams;
    options.max_new_tokens = 24;
    size_t checked = 0;
    for (const auto& c : reference.json["cases"]) {
      if (++checked > 8) break;
      const std::string text = c["text"].get<std::string>();
      const Translation got = translator.translate(text, options), expected = cached.translate(text, options);
      EXPECT_EQ(got.output_ids, expected.output_ids) << "beams " << beams << ": " << text;
      EXPECT_NEAR(got.score, expected.score, kTolerance) << text;
    }
  }
  for (const auto& [mode, missing] : {std::pair{DecoderMode::kMerged, "decoder_model_merged.onnx"},
                                      std::pair{DecoderMode::kSplit, "decoder_with_past_model.onnx"}}) {
    TranslatorConfig config;
    config.decoder = mode;
    try {
      Translator refused(nopast, config);
      ADD_FAILURE() << "loaded in mode " << to_string(mode);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    }
  }
}

// A directory with a KV-cache export's decoder_model.onnx (it has present.* outputs) but neither
// the merged nor the with-past graph: auto mode also falls back to recompute, and its warning
// names the files to add instead of calling it an export without past. Asked-for recompute
// does not warn.
TEST(NumpyReference, MissingCachedDecoderGraphsFallBackToRecomputeWithAWarning) {
  const std::filesystem::path dir = std::filesystem::path(testing::TempDir()) / "opusrt-decoder-model-only";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (const auto& entry : std::filesystem::directory_iterator(tiny_model_dir())) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.starts_with("decoder_model_merged") || name.starts_with("decoder_with_past"))
      continue;
    if (name.ends_with(".onnx") && name != "encoder_model.onnx" && name != "decoder_model.onnx") continue;
    std::filesystem::copy_file(entry.path(), dir / name);
  }
  const Translator translator(dir), cached(tiny_model_dir());
  const ModelInfo& info = translator.model_info();
  EXPECT_EQ(info.decoder_mode, DecoderMode::kRecompute);
  ASSERT_EQ(info.warnings.size(), 1u);
  const std::string& warning = info.warnings[0];
  EXPECT_NE(warning.find("no decoder_model_merged.onnx and no decoder_with_past_model.onnx"), std::string::npos)
      << warning;
  EXPECT_EQ(warning.find("without past"), std::string::npos) << warning;
  TranslateOptions options;
  options.max_new_tokens = 16;
  EXPECT_EQ(translator.translate("Open the file.", options).output_ids,
            cached.translate("Open the file.", options).output_ids);
  TranslatorConfig recompute;
  recompute.decoder = DecoderMode::kRecompute;
  EXPECT_TRUE(Translator(dir, recompute).model_info().warnings.empty());
  EXPECT_TRUE(Translator(tiny_model_dir(), recompute).model_info().warnings.empty());
  std::filesystem::remove_all(dir);
}

// Model directories under fixtures_dir(), each with the directory of the reference it holds
// for: tiny-opset18 has tiny's weights.
struct FixtureModel {
  const char* dir;
  const char* reference_dir;
  bool kv_cache = true;  // false: an export without past, recompute mode only
};
const FixtureModel kModels[] = {{"tiny", "tiny"},
                                {"tiny-opset18", "tiny"},
                                {"tiny-separate", "tiny-separate"},
                                {"tiny-nopast", "tiny", false}};
void PrintTo(const FixtureModel& model, std::ostream* os) { *os << model.dir; }

// Every model with every decoder mode its graphs allow.
std::vector<std::tuple<FixtureModel, DecoderMode>> decoder_cases() {
  std::vector<std::tuple<FixtureModel, DecoderMode>> cases;
  for (const FixtureModel& model : kModels) {
    if (model.kv_cache) {
      cases.emplace_back(model, DecoderMode::kMerged);
      cases.emplace_back(model, DecoderMode::kSplit);
    }
    cases.emplace_back(model, DecoderMode::kRecompute);
  }
  return cases;
}

class NumpyReferenceTest : public ::testing::TestWithParam<std::tuple<FixtureModel, DecoderMode>> {};

TEST_P(NumpyReferenceTest, TokenIdsAndEveryStepsLogits) {
  const FixtureModel model = std::get<0>(GetParam());
  const Reference reference = load_reference(fixtures_dir() / model.reference_dir);
  const Engine engine(fixtures_dir() / model.dir, std::get<1>(GetParam()));
  const int64_t max_new_tokens = reference.json["max_new_tokens"].get<int64_t>();
  for (const auto& c : reference.json["cases"]) {
    SCOPED_TRACE("input: " + c["text"].get<std::string>());
    const auto source_ids = c["source_ids"].get<std::vector<int64_t>>();
    EXPECT_EQ(engine.tokenizer.encode(c["text"].get<std::string>()), source_ids);
    const GreedyRun run = engine.greedy(source_ids, max_new_tokens);
    EXPECT_EQ(run.output_ids, c["greedy"]["output_ids"].get<std::vector<int64_t>>());
    EXPECT_EQ(engine.tokenizer.decode(run.output_ids), c["greedy"]["text"].get<std::string>());

    const size_t offset = c["logits"]["offset"].get<size_t>();
    const size_t steps = c["logits"]["steps"].get<size_t>();
    const size_t vocab = c["logits"]["vocab"].get<size_t>();
    ASSERT_EQ(run.raw_logits.size(), steps);
    double worst = 0;
    for (size_t step = 0; step < steps; ++step) {
      ASSERT_EQ(run.raw_logits[step].size(), vocab);
      for (size_t id = 0; id < vocab; ++id)
        worst = std::max(worst, std::fabs(static_cast<double>(run.raw_logits[step][id]) -
                                          reference.logits[offset + step * vocab + id]));
    }
    EXPECT_LE(worst, kTolerance);
  }
}

INSTANTIATE_TEST_SUITE_P(Decoders, NumpyReferenceTest,
                         ::testing::ValuesIn(decoder_cases()),
                         [](const auto& info) {
                           std::string name = std::string(std::get<0>(info.param).dir) + "_" +
                                              std::string(to_string(std::get<1>(info.param)));
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

class NumpyReferenceEncoderTest : public ::testing::TestWithParam<FixtureModel> {};

TEST_P(NumpyReferenceEncoderTest, Checksums) {
  const Reference reference = load_reference(fixtures_dir() / GetParam().reference_dir);
  const Engine engine(fixtures_dir() / GetParam().dir,
                      GetParam().kv_cache ? DecoderMode::kMerged : DecoderMode::kRecompute);
  for (const auto& expected : reference.json["encoder"]) {
    const auto& c = reference.json["cases"][expected["case"].get<size_t>()];
    const EncoderOutput out = engine.encode(c["source_ids"].get<std::vector<int64_t>>());
    EXPECT_EQ(out.hidden_states.shape(), expected["shape"].get<std::vector<int64_t>>());
    const std::vector<float> values = out.hidden_states.to_float_vector();
    double sum = 0, abs_sum = 0;
    for (float v : values) {
      sum += v;
      abs_sum += std::fabs(v);
    }
    EXPECT_NEAR(sum, expected["sum"].get<double>(), kTolerance * std::max(1.0, values.size() / 100.0));
    EXPECT_NEAR(abs_sum, expected["abs_sum"].get<double>(), kTolerance * std::max(1.0, values.size() / 100.0));
    const auto first8 = expected["first8"].get<std::vector<double>>();
    for (size_t i = 0; i < first8.size(); ++i) EXPECT_NEAR(values[i], first8[i], kTolerance);
  }
}

INSTANTIATE_TEST_SUITE_P(Exports, NumpyReferenceEncoderTest, ::testing::ValuesIn(kModels), [](const auto& info) {
  std::string name = info.param.dir;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
});

}  // namespace
}  // namespace opusrt::test
