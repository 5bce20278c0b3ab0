// Conformance with transformers 4.36 on ../shared/models/marian-tiny (a real Optimum export):
// skipped, saying so, when that folder is absent.
#include <cmath>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine_harness.h"
#include "opusrt/translator.h"
#include "test_env.h"

namespace opusrt::test {
namespace {

constexpr double kTolerance = 1e-4;

class SharedConformance : public ::testing::TestWithParam<DecoderMode> {};

TEST_P(SharedConformance, GreedyOutputIdsAndTextOfAllCases) {
  OPUSRT_REQUIRE_SHARED_MODEL(dir);
  const nlohmann::json reference = read_reference_json(dir);
  TranslatorConfig config;
  config.decoder = GetParam();
  const Translator translator(dir, config);
  TranslateOptions options;
  options.max_new_tokens = 40;
  options.num_beams = 1;
  ASSERT_EQ(reference["cases"].size(), 30u);
  for (const auto& c : reference["cases"]) {
    SCOPED_TRACE("case " + std::to_string(c["index"].get<int>()) + ": " + c["text"].get<std::string>());
    const Translation t = translator.translate(c["text"].get<std::string>(), options);
    EXPECT_EQ(t.source_ids, c["source_ids"].get<std::vector<int64_t>>());
    EXPECT_EQ(t.output_ids, c["greedy"]["output_ids"].get<std::vector<int64_t>>());
    EXPECT_EQ(t.text, c["greedy"]["text"].get<std::string>());
  }
}

// A forced prefix is transformers' generate(decoder_input_ids=[[start] + prefix], num_beams=1):
// greedy search then continues from the prefix, so forcing the first k tokens transformers
// chose must give back transformers' whole output (for outputs that ended with eos before the
// max_new_tokens cut, which counts after the prefix).
TEST_P(SharedConformance, GreedyWithItsOwnFirstTokensForcedGivesTransformersOutput) {
  OPUSRT_REQUIRE_SHARED_MODEL(dir);
  const nlohmann::json reference = read_reference_json(dir);
  TranslatorConfig config;
  config.decoder = GetParam();
  const Translator translator(dir, config);
  size_t checked = 0;
  for (const auto& c : reference["cases"]) {
    const auto expected = c["greedy"]["output_ids"].get<std::vector<int64_t>>();
    if (expected.size() >= 41) continue;  // cut by max_new_tokens, not ended by the model
    for (size_t k : {size_t{1}, expected.size() / 2}) {
      if (k < 1 || k + 1 >= expected.size()) continue;
      SCOPED_TRACE("case " + std::to_string(c["index"].get<int>()) + ", " + std::to_string(k) + " tokens forced");
      TranslateOptions options;
      options.max_new_tokens = 40;
      options.num_beams = 1;
      options.target_prefix_ids.assign(expected.begin() + 1, expected.begin() + 1 + static_cast<std::ptrdiff_t>(k));
      EXPECT_EQ(translator.translate(c["text"].get<std::string>(), options).output_ids, expected);
      ++checked;
    }
  }
  EXPECT_GE(checked, 10u);
}

TEST_P(SharedConformance, BeamOutputIdsScoresAndNBestOfAllCases) {
  OPUSRT_REQUIRE_SHARED_MODEL(dir);
  const nlohmann::json reference = read_reference_json(dir);
  TranslatorConfig config;
  config.decoder = GetParam();
  const Translator translator(dir, config);
  TranslateOptions options;  // num_beams 4, length_penalty 1, early_stopping false: generation_config's
  options.max_new_tokens = 40;
  options.num_return_sequences = 4;
  const int64_t pad = translator.model_info().pad_token_id;
  for (const auto& c : reference["cases"]) {
    SCOPED_TRACE("case " + std::to_string(c["index"].get<int>()) + ": " + c["text"].get<std::string>());
    const Translation t = translator.translate(c["text"].get<std::string>(), options);
    EXPECT_EQ(t.output_ids, c["beam"]["output_ids"].get<std::vector<int64_t>>());
    EXPECT_EQ(t.text, c["beam"]["text"].get<std::string>());
    EXPECT_NEAR(t.score, c["beam"]["sequence_score"].get<double>(), kTolerance);
    const auto& n_best = c["beam"]["n_best"];
    ASSERT_EQ(t.n_best.size(), n_best.size());
    for (size_t i = 0; i < n_best.size(); ++i) {
      // transformers right-pads the shorter rows of the n-best with pad.
      std::vector<int64_t> expected = n_best[i]["output_ids"].get<std::vector<int64_t>>();
      while (expected.size() > t.n_best[i].output_ids.size() && expected.back() == pad) expected.pop_back();
      EXPECT_EQ(t.n_best[i].output_ids, expected) << "n_best " << i;
      EXPECT_NEAR(t.n_best[i].score, n_best[i]["sequence_score"].get<double>(), kTolerance) << "n_best " << i;
      EXPECT_EQ(t.n_best[i].text, n_best[i]["text"].get<std::string>()) << "n_best " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Decoders, SharedConformance,
                         ::testing::Values(DecoderMode::kMerged, DecoderMode::kSplit, DecoderMode::kRecompute),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(SharedConformanceDetail, EncoderChecksums) {
  OPUSRT_REQUIRE_SHARED_MODEL(dir);
  const nlohmann::json reference = read_reference_json(dir);
  const Engine engine(dir, DecoderMode::kMerged);
  ASSERT_FALSE(reference["encoder_checksums"].empty());
  for (const auto& expected : reference["encoder_checksums"]) {
    const auto& c = reference["cases"][expected["case_index"].get<size_t>()];
    const EncoderOutput out = engine.encode(c["source_ids"].get<std::vector<int64_t>>());
    EXPECT_EQ(out.hidden_states.shape(), expected["shape"].get<std::vector<int64_t>>());
    const std::vector<float> values = out.hidden_states.to_float_vector();
    double sum = 0, abs_sum = 0;
    for (float v : values) {
      sum += v;
      abs_sum += std::fabs(v);
    }
    EXPECT_NEAR(sum, expected["sum"].get<double>(), kTolerance * std::max(1.0, std::fabs(expected["sum"].get<double>())));
    EXPECT_NEAR(abs_sum, expected["abs_sum"].get<double>(), kTolerance * expected["abs_sum"].get<double>());
    const auto first8 = expected["first8"].get<std::vector<double>>();
    for (size_t i = 0; i < first8.size(); ++i) EXPECT_NEAR(values[i], first8[i], kTolerance);
    const auto last8 = expected["last_token_first8"].get<std::vector<double>>();
    const size_t width = out.hidden_states.shape()[2];
    for (size_t i = 0; i < last8.size(); ++i) EXPECT_NEAR(values[values.size() - width + i], last8[i], kTolerance);
  }
}

TEST(SharedConformanceDetail, StepLogitsWithAndWithoutCache) {
  OPUSRT_REQUIRE_SHARED_MODEL(dir);
  const nlohmann::json reference = read_reference_json(dir);
  ASSERT_FALSE(reference["step_logits"].empty());
  for (DecoderMode mode : {DecoderMode::kMerged, DecoderMode::kSplit, DecoderMode::kRecompute}) {
    const Engine engine(dir, mode);
    for (const auto& expected : reference["step_logits"]) {
      SCOPED_TRACE(std::string(to_string(mode)) + " case " + std::to_string(expected["case_index"].get<int>()));
      const auto& c = reference["cases"][expected["case_index"].get<size_t>()];
      const GreedyRun run = engine.greedy(c["source_ids"].get<std::vector<int64_t>>(), 40);
      for (const auto& step : expected["steps"]) {
        const size_t index = step["step"].get<size_t>();
        ASSERT_LT(index, run.raw_logits.size());
        const std::vector<float>& raw = run.raw_logits[index];
        const char* key = mode == DecoderMode::kRecompute ? "raw_logits_top5_no_cache_recompute" : "raw_logits_top5";
        const auto ids = step[key]["ids"].get<std::vector<int64_t>>();
        const auto values = step[key]["values"].get<std::vector<double>>();
        for (size_t i = 0; i < ids.size(); ++i) EXPECT_NEAR(raw[ids[i]], values[i], kTolerance);
        EXPECT_NEAR(raw[engine.generation.eos_token_id()], step["raw_logit_eos"].get<double>(), kTolerance);
        // Processed scores: the processors, then log-softmax (renormalize_logits).
        std::vector<float> processed = raw;
        std::vector<int64_t> prefix = step["decoder_input_ids"].get<std::vector<int64_t>>();
        make_processors(engine.generation, 41).apply(prefix, processed);
        log_softmax(processed);
        const auto pids = step["processed_scores_top5"]["ids"].get<std::vector<int64_t>>();
        const auto pvalues = step["processed_scores_top5"]["values"].get<std::vector<double>>();
        for (size_t i = 0; i < pids.size(); ++i) EXPECT_NEAR(processed[pids[i]], pvalues[i], kTolerance);
        EXPECT_EQ(run.output_ids[index + 1], step["chosen_id"].get<int64_t>());
      }
    }
  }
}

TEST(SharedConformanceDetail, BatchedGreedyEqualsReference) {
  OPUSRT_REQUIRE_SHARED_MODEL(dir);
  const nlohmann::json reference = read_reference_json(dir);
  const auto& batch = reference["batched_greedy"];
  const Translator translator(dir);
  TranslateOptions options;
  options.max_new_tokens = 40;
  options.num_beams = 1;
  const auto texts = batch["texts_in"].get<std::vector<std::string>>();
  const std::vector<Translation> out = translator.translate_batch(texts, options);
  const auto expected_ids = batch["output_ids"].get<std::vector<std::vector<int64_t>>>();
  const auto expected_texts = batch["texts"].get<std::vector<std::string>>();
  ASSERT_EQ(out.size(), texts.size());
  for (size_t i = 0; i < out.size(); ++i) {
    // The reference rows are right-padded with pad after </s>; ours stop at </s>.
    std::vector<int64_t> expected = expected_ids[i];
    while (expected.size() > out[i].output_ids.size() && expected.back() == translator.model_info().pad_token_id)
      expected.pop_back();
    EXPECT_EQ(out[i].output_ids, expected) << "row " << i;
    EXPECT_EQ(out[i].text, expected_texts[i]) << "row " << i;
  }
}

}  // namespace
}  // namespace opusrt::test
