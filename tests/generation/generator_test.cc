// The generation layer: a forced prefix goes through the decoder in ONE prefill run whose
// logits (and the K/V it leaves) equal feeding the prefix one step per token, in every decoder
// mode, from the source graphs and from `opusrt prepare`'s copies (whose output projection runs
// on the last position only); outputs with a prefix are identical either way; the caller-driven
// Generator steps, reports tokens and stops rows; generate() groups rows by prefix length.
#include <algorithm>
#include <cmath>

#include <gtest/gtest.h>

#include "cli_runner.h"
#include "engine_harness.h"
#include "generation/generator.h"
#include "opusrt/error.h"
#include "test_env.h"

namespace opusrt::test {
namespace {

constexpr double kLogitTolerance = 1e-4;

double max_abs_diff(const StepLogits& a, const StepLogits& b) {
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.vocab, b.vocab);
  double diff = 0;
  for (int64_t i = 0; i < a.rows * a.vocab; ++i) diff = std::max(diff, std::fabs(double(a.data[i]) - double(b.data[i])));
  return diff;
}

std::vector<float> copy_of(const StepLogits& logits) {
  return std::vector<float>(logits.data, logits.data + logits.rows * logits.vocab);
}

// Ordinary target tokens (no eos, pad or decoder start) to use as a forced prefix.
std::vector<int64_t> prefix_tokens(const Engine& engine, int64_t length, int64_t seed) {
  std::vector<int64_t> ids;
  const int64_t vocab = engine.config.decoder_vocab_size;
  for (int64_t i = 0; static_cast<int64_t>(ids.size()) < length; ++i) {
    const int64_t id = 3 + (seed * 7919 + i * 104729) % (vocab - 3);
    if (id == engine.generation.pad_token_id || id == engine.generation.decoder_start_token_id ||
        std::count(engine.generation.eos_token_ids.begin(), engine.generation.eos_token_ids.end(), id))
      continue;
    ids.push_back(id);
  }
  return ids;
}

// The tiny fixture with `opusrt prepare`'s copies of its fp32 graphs, made once per test process
// in a temporary directory (removed at exit).
const fs::path& prepared_tiny_model() {
  struct PreparedCopy {
    fs::path dir = fs::temp_directory_path() / ("opusrt-prepared-tiny-" + std::to_string(::getpid()));
    PreparedCopy() {
      fs::remove_all(dir);
      fs::create_directories(dir);
      for (const fs::directory_entry& entry : fs::directory_iterator(tiny_model_dir()))
        if (entry.is_regular_file()) fs::copy_file(entry.path(), dir / entry.path().filename());
      const Result prepared = run_cli({"prepare", "--model", dir.string()});
      if (prepared.exit_code != 0) throw Error("opusrt prepare of the tiny fixture failed: " + prepared.err);
    }
    ~PreparedCopy() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  };
  static const PreparedCopy copy;
  return copy.dir;
}

struct PrefillCase {
  DecoderMode mode;
  bool prepared;  // graphs from `opusrt prepare`: logits of the last position only
};

class Prefill : public ::testing::TestWithParam<PrefillCase> {
 protected:
  Engine engine() const { return Engine(GetParam().prepared ? prepared_tiny_model() : tiny_model_dir(), GetParam().mode); }
};

TEST_P(Prefill, LogitsEqualStepByStepAtEveryPrefixLength) {
  const Engine engine = this->engine();
  if (GetParam().prepared) {
    // The copies are what runs, and they return one position of logits however many go in.
    const runtime::Session& no_cache = engine.graphs.no_cache_graph();
    EXPECT_EQ(no_cache.loaded_from().parent_path().filename(), ".opusrt-prepared");
    EXPECT_EQ(no_cache.output("logits").shape.at(1).size, 1) << no_cache.output("logits").shape_string();
  }
  // Step by step on the source graphs: a prepared copy must compute what its source computes.
  const Engine source(tiny_model_dir(), GetParam().mode);
  const std::vector<std::vector<int64_t>> sources = {
      engine.tokenizer.encode("Save changes to the document before closing?"), engine.tokenizer.encode("Hello world.")};
  const int64_t max_positions = engine.config.max_position_embeddings;
  for (int64_t prefix_length : {int64_t{1}, int64_t{2}, int64_t{17}, max_positions - 1}) {
    SCOPED_TRACE("prefix of " + std::to_string(prefix_length) + " tokens, " + to_string(GetParam().mode));
    std::vector<int64_t> ids;  // rows x (1 + prefix_length)
    for (int64_t row = 0; row < 2; ++row) {
      ids.push_back(engine.generation.decoder_start_token_id);
      const std::vector<int64_t> prefix = prefix_tokens(engine, prefix_length, row);
      ids.insert(ids.end(), prefix.begin(), prefix.end());
    }
    const int64_t length = 1 + prefix_length;
    auto encoded = [&] { return engine.encoder.run(TokenBatch::right_padded(sources, engine.generation.pad_token_id)); };

    std::unique_ptr<DecoderState> one_run = start_decoding(engine.graphs, encoded());
    const std::vector<float> prefilled = copy_of(one_run->prefill(ids, length));
    EXPECT_EQ(one_run->past_length(), length);

    std::unique_ptr<DecoderState> stepped =
        start_decoding(source.graphs, source.encoder.run(TokenBatch::right_padded(sources, engine.generation.pad_token_id)));
    StepLogits by_steps;
    for (int64_t position = 0; position < length; ++position) {
      const int64_t column[] = {ids[position], ids[length + position]};
      by_steps = stepped->step(column);
    }
    EXPECT_EQ(stepped->past_length(), length);
    const StepLogits prefilled_view{const_cast<float*>(prefilled.data()), 2, by_steps.vocab};
    EXPECT_LE(max_abs_diff(prefilled_view, by_steps), kLogitTolerance);

    // The cache the prefill left continues exactly like the stepped one.
    if (length < max_positions) {
      const int64_t next[] = {ids[length - 1], ids[2 * length - 1]};
      const std::vector<float> after_prefill = copy_of(one_run->step(next));
      const StepLogits after_steps = stepped->step(next);
      const StepLogits view{const_cast<float*>(after_prefill.data()), 2, after_steps.vocab};
      EXPECT_LE(max_abs_diff(view, after_steps), kLogitTolerance);
      EXPECT_EQ(one_run->past_length(), length + 1);
    }
  }
}

TEST_P(Prefill, OutputsWithAPrefixAreIdenticalToFeedingItTokenByToken) {
  const Engine engine = this->engine();
  const std::vector<std::string> texts = fixture_inputs();
  std::vector<std::vector<int64_t>> sources;
  for (size_t i = 0; i < 6 && i < texts.size(); ++i) sources.push_back(engine.tokenizer.encode(texts[i]));
  for (int beams : {1, 4}) {
    for (int64_t prefix_length : {1, 5}) {
      SCOPED_TRACE(std::to_string(beams) + " beams, prefix of " + std::to_string(prefix_length));
      GenerationRequest request{engine.generation, 20, 0};
      request.config.num_beams = beams;
      request.config.num_return_sequences = 1;
      std::vector<std::vector<int64_t>> prefixes;
      for (size_t i = 0; i < sources.size(); ++i) prefixes.push_back(prefix_tokens(engine, prefix_length, i));
      auto run = [&](bool token_by_token) {
        GenerationRequest r = request;
        r.prefill_token_by_token = token_by_token;
        return generate(engine.graphs, engine.config,
                        engine.encoder.run(TokenBatch::right_padded(sources, engine.generation.pad_token_id)), r,
                        prefixes);
      };
      const SearchResult prefilled = run(false);
      const SearchResult stepped = run(true);
      // One run instead of one per prefix token.
      EXPECT_EQ(stepped.steps - prefilled.steps, prefix_length);
      for (size_t i = 0; i < sources.size(); ++i) {
        const Hypothesis& a = prefilled.hypotheses[i].front();
        const Hypothesis& b = stepped.hypotheses[i].front();
        EXPECT_EQ(a.ids, b.ids) << "sentence " << i;
        EXPECT_NEAR(a.score, b.score, kLogitTolerance) << "sentence " << i;
        ASSERT_GT(a.ids.size(), prefixes[i].size() + 1);
        EXPECT_TRUE(std::equal(prefixes[i].begin(), prefixes[i].end(), a.ids.begin() + 1));
        // max_new_tokens counts after the prefix, as with transformers' decoder_input_ids.
        EXPECT_LE(static_cast<int64_t>(a.ids.size()), 1 + prefix_length + 20);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(DecoderModes, Prefill,
                         ::testing::Values(PrefillCase{DecoderMode::kMerged, false}, PrefillCase{DecoderMode::kSplit, false},
                                           PrefillCase{DecoderMode::kRecompute, false},
                                           PrefillCase{DecoderMode::kMerged, true}, PrefillCase{DecoderMode::kSplit, true},
                                           PrefillCase{DecoderMode::kRecompute, true}),
                         [](const auto& info) {
                           return std::string(to_string(info.param.mode)) + (info.param.prepared ? "_prepared" : "");
                         });

TEST(Generator, CallerDrivenStepsReportTokensAndStopRows) {
  const Engine engine(tiny_model_dir(), DecoderMode::kMerged);
  const std::vector<std::vector<int64_t>> sources = {engine.tokenizer.encode("Open the file."),
                                                     engine.tokenizer.encode("Close the window now.")};
  GenerationRequest request = engine.greedy_request(15);
  request.config.min_new_tokens = 15;  // no early eos
  const std::vector<std::vector<int64_t>> no_prefix(2);
  const SearchResult whole = generate(engine.graphs, engine.config,
                                      engine.encoder.run(TokenBatch::right_padded(sources, engine.generation.pad_token_id)),
                                      request, no_prefix);

  Generator generator(engine.graphs, engine.config,
                      engine.encoder.run(TokenBatch::right_padded(sources, engine.generation.pad_token_id)), request,
                      no_prefix);
  EXPECT_EQ(generator.prompt_length(), 1);
  std::vector<std::vector<int64_t>> seen(2);
  int steps = 0;
  while (!generator.finished()) {
    for (const TokenEvent& event : generator.step()) seen[event.sentence].push_back(event.sequence.back());
    if (++steps == 4) {
      generator.stop(0);  // sentence 0's caller leaves after 4 tokens
      EXPECT_TRUE(generator.finished(0));
    }
    if (!generator.finished()) {
      EXPECT_EQ(generator.decoder().rows(), steps < 4 ? 2 : 1);
    }
  }
  EXPECT_EQ(seen[0].size(), 4u);
  EXPECT_EQ(generator.hypotheses(0).front().ids,
            std::vector<int64_t>(whole.hypotheses[0].front().ids.begin(), whole.hypotheses[0].front().ids.begin() + 5));
  EXPECT_EQ(generator.hypotheses(1).front().ids, whole.hypotheses[1].front().ids);
  EXPECT_EQ(std::vector<int64_t>(whole.hypotheses[1].front().ids.begin() + 1, whole.hypotheses[1].front().ids.end()),
            seen[1]);
  EXPECT_THROW(generator.stop(2), Error);
}

TEST(Generator, RowsWithPrefixesOfDifferentLengthsEqualTheirOwnRuns) {
  const Engine engine(tiny_model_dir(), DecoderMode::kMerged);
  const std::vector<std::string> texts = fixture_inputs();
  std::vector<std::vector<int64_t>> sources, prefixes;
  for (size_t i = 0; i < 5; ++i) {
    sources.push_back(engine.tokenizer.encode(texts[i]));
    prefixes.push_back(prefix_tokens(engine, static_cast<int64_t>(i % 3), i));  // lengths 0, 1, 2, 0, 1
  }
  for (int beams : {1, 4}) {
    GenerationRequest request{engine.generation, 15, 0};
    request.config.num_beams = beams;
    request.config.num_return_sequences = 1;
    const SearchResult together = generate(
        engine.graphs, engine.config, engine.encoder.run(TokenBatch::right_padded(sources, engine.generation.pad_token_id)),
        request, prefixes);
    for (size_t i = 0; i < sources.size(); ++i) {
      const SearchResult alone = generate(engine.graphs, engine.config, engine.encode(sources[i]), request, {prefixes[i]});
      EXPECT_EQ(together.hypotheses[i].front().ids, alone.hypotheses[0].front().ids) << beams << " beams, sentence " << i;
    }
  }
}

TEST(Generator, APrefixThatLeavesNoRoomIsAClearError) {
  const Engine engine(tiny_model_dir(), DecoderMode::kMerged);
  const std::vector<int64_t> source = engine.tokenizer.encode("Hello");
  const std::vector<int64_t> prefix = prefix_tokens(engine, engine.config.max_position_embeddings, 0);
  try {
    Generator generator(engine.graphs, engine.config, engine.encode(source), engine.greedy_request(5), {prefix});
    ADD_FAILURE() << "accepted a prefix as long as the position table";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("target prefix"), std::string::npos) << e.what();
  }
  const std::vector<int64_t> bad = {engine.config.decoder_vocab_size};
  EXPECT_THROW(Generator(engine.graphs, engine.config, engine.encode(source), engine.greedy_request(5), {bad}), Error);
}

}  // namespace
}  // namespace opusrt::test
