// The KV cache is right: cached decoding equals recomputation token for token, the merged
// graph equals the split pair, and the decoder past grows by exactly one position per step.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine_harness.h"
#include "opusrt/translator.h"
#include "test_env.h"

namespace opusrt::test {
namespace {

TEST(KvCache, CachedEqualsRecomputeAndMergedEqualsSplitOnEveryFixtureInput) {
  const std::vector<std::string> texts = fixture_inputs();
  ASSERT_GE(texts.size(), 20u);
  auto translator_for = [](DecoderMode mode) {
    TranslatorConfig config;
    config.decoder = mode;
    return Translator(tiny_model_dir(), config);
  };
  const Translator merged = translator_for(DecoderMode::kMerged);
  const Translator split = translator_for(DecoderMode::kSplit);
  const Translator recompute = translator_for(DecoderMode::kRecompute);
  TranslateOptions options;
  options.max_new_tokens = 60;
  options.num_beams = 1;
  for (const std::string& text : texts) {
    SCOPED_TRACE("input: " + text);
    const Translation oracle = recompute.translate(text, options);
    const Translation m = merged.translate(text, options);
    const Translation s = split.translate(text, options);
    EXPECT_EQ(m.output_ids, oracle.output_ids);
    EXPECT_EQ(s.output_ids, oracle.output_ids);
    EXPECT_EQ(m.text, oracle.text);
    EXPECT_GT(oracle.output_ids.size(), 1u);
  }
}

TEST(KvCache, DecoderPastGrowsByExactlyOnePerStep) {
  for (DecoderMode mode : {DecoderMode::kMerged, DecoderMode::kSplit}) {
    const Engine engine(tiny_model_dir(), mode);
    const std::vector<int64_t> source = engine.tokenizer.encode("The quick brown fox jumps over the lazy dog.");
    const GreedyRun run = engine.greedy(source, 30);
    ASSERT_GE(run.past_lengths.size(), 2u) << to_string(mode);
    for (size_t step = 0; step < run.past_lengths.size(); ++step)
      EXPECT_EQ(run.past_lengths[step], static_cast<int64_t>(step) + 1) << to_string(mode) << " step " << step;
  }
}

TEST(KvCache, EncoderKeysAndValuesAreKeptFromStepZero) {
  const Engine engine(tiny_model_dir(), DecoderMode::kMerged);
  const std::vector<int64_t> source = engine.tokenizer.encode("Save changes to the document before closing?");
  CachedDecoder decoder(engine.graphs, engine.encode(source));
  const int64_t start[] = {engine.generation.decoder_start_token_id};
  decoder.step(start);
  const OrtValue* encoder_key = decoder.cache().encoder_key(0).get();
  EXPECT_EQ(decoder.cache().encoder_key(0).shape()[2], static_cast<int64_t>(source.size()));
  for (int64_t token : {5, 6, 7}) {
    const int64_t next[] = {token};
    decoder.step(next);
    // The very same buffer: never recomputed, never copied, never replaced by the cached
    // branch's empty encoder presents.
    EXPECT_EQ(decoder.cache().encoder_key(0).get(), encoder_key);
    EXPECT_EQ(decoder.cache().encoder_key(0).shape()[2], static_cast<int64_t>(source.size()));
  }
}

TEST(KvCache, RejectsAPastThatDoesNotGrowByOne) {
  const Engine engine(tiny_model_dir(), DecoderMode::kMerged);
  CachedDecoder decoder(engine.graphs, engine.encode(engine.tokenizer.encode("Hello")));
  const int64_t start[] = {engine.generation.decoder_start_token_id};
  decoder.step(start);
  KvCache cache(engine.graphs.layers());
  auto kv = [&](int64_t length) {
    std::vector<runtime::Tensor> tensors;
    const int64_t shape[] = {1, engine.graphs.heads(), length, engine.graphs.head_size()};
    for (int64_t i = 0; i < engine.graphs.layers(); ++i) tensors.push_back(runtime::Tensor::zeros(runtime::ElementType::kFloat32, shape));
    return tensors;
  };
  EXPECT_THROW(cache.advance(kv(2), kv(2)), Error);  // before start
  cache.start(kv(1), kv(1), kv(4), kv(4));
  EXPECT_THROW(cache.advance(kv(3), kv(3)), Error);  // grew by two
  EXPECT_THROW(cache.advance(kv(1), kv(1)), Error);  // did not grow
  cache.advance(kv(2), kv(2));
  EXPECT_EQ(cache.decoder_length(), 2);
}

// Graphs run once per batch sleep after their run; the graph each step runs spins between
// steps (runtime::SessionConfig::allow_spinning: a spinning once-per-batch pool slowed the next
// decoder steps twofold on 2 cores).
TEST(SessionThreads, OnlyTheGraphsRunEveryStepSpin) {
  const Engine merged(tiny_model_dir(), DecoderMode::kMerged);
  EXPECT_FALSE(merged.encoder.session().config().allow_spinning);
  EXPECT_TRUE(merged.graphs.cached_graph().config().allow_spinning);
  const Engine split(tiny_model_dir(), DecoderMode::kSplit);
  EXPECT_FALSE(split.graphs.no_cache_graph().config().allow_spinning);
  EXPECT_TRUE(split.graphs.cached_graph().config().allow_spinning);
  const Engine recompute(tiny_model_dir(), DecoderMode::kRecompute);  // its no-cache graph runs every step
  EXPECT_TRUE(recompute.graphs.no_cache_graph().config().allow_spinning);
}

// The live-speech server derives its turns at the model from the translator's thread count.
TEST(SessionThreads, ModelInfoReportsTheConfiguredIntraOpThreads) {
  TranslatorConfig config;
  EXPECT_EQ(Translator(tiny_model_dir(), config).model_info().intra_op_threads, 0);
  config.intra_op_threads = 1;
  EXPECT_EQ(Translator(tiny_model_dir(), config).model_info().intra_op_threads, 1);
}

TEST(ModelLayouts, XenovaLayoutTranslatesLikeOptimumLayout) {
  const Translator optimum(tiny_model_dir());
  const Translator xenova(tiny_xenova_dir());
  TranslateOptions options;
  options.max_new_tokens = 30;
  options.num_beams = 1;
  for (const char* text : {"Hello world.", "No such file or directory"}) {
    EXPECT_EQ(xenova.translate(text, options).output_ids, optimum.translate(text, options).output_ids);
  }
}

TEST(ModelLayouts, BatchEqualsOneByOne) {
  const Translator translator(tiny_model_dir());
  const std::vector<std::string> texts = {"Hello world.", "a", "The quick brown fox jumps over the lazy dog.", "",
                                          "What time is it?"};
  for (int beams : {1, 4}) {
    TranslateOptions options;
    options.max_new_tokens = 30;
    options.num_beams = beams;
    const std::vector<Translation> batch = translator.translate_batch(texts, options);
    for (size_t i = 0; i < texts.size(); ++i) {
      const Translation alone = translator.translate(texts[i], options);
      EXPECT_EQ(batch[i].output_ids, alone.output_ids) << beams << " beams: " << texts[i];
      EXPECT_NEAR(batch[i].score, alone.score, 1e-4) << beams << " beams: " << texts[i];
    }
  }
}

}  // namespace
}  // namespace opusrt::test
