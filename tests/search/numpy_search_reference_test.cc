// Beam search, greedy with every processor, and the sampling warpers against the NumPy
// reference of transformers 4.36 generate() (scripts/fixtures/marian_search.py), on the tiny
// fixture: search_reference.json holds 20 inputs x num_beams {2,4,5} x length_penalty
// {0.6,1,1.5} x early_stopping {true,false,never}, n-best lists, each processor on its own
// (greedy and beam), a forced target prefix given as generate(decoder_input_ids=[[start] +
// prefix]) (greedy and beam: the prefix is not scored, max/min_new_tokens count after it), and
// warped sampling distributions. The same on tiny-separate (separate source and target
// vocabularies), from its own search_reference.json.
#include <algorithm>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine_harness.h"
#include "opusrt/translator.h"
#include "search/sampler.h"
#include "test_env.h"

namespace opusrt::test {
namespace {

constexpr double kTolerance = 1e-4;

nlohmann::json read_search_reference(const std::filesystem::path& model_dir) {
  std::ifstream in(model_dir / "search_reference.json");
  EXPECT_TRUE(in) << "missing " << (model_dir / "search_reference.json");
  return nlohmann::json::parse(in);
}

// Fixture model directories (under fixtures_dir()) with their own search_reference.json.
const char* const kModels[] = {"tiny", "tiny-separate"};

class NumpySearchReference : public ::testing::TestWithParam<const char*> {
 protected:
  std::filesystem::path model_dir() const { return fixtures_dir() / GetParam(); }
  const nlohmann::json& search_reference() {
    if (reference_.is_null()) reference_ = read_search_reference(model_dir());
    return reference_;
  }

 private:
  nlohmann::json reference_;
};

bool fragile(const nlohmann::json& c) { return c.value("min_margin", 1.0) < kTolerance; }

TranslateOptions options_from(const nlohmann::json& params) {
  TranslateOptions options;
  options.num_beams = params["num_beams"].get<int>();
  options.max_new_tokens = params["max_new_tokens"].get<int64_t>();
  options.length_penalty = params["length_penalty"].get<double>();
  const nlohmann::json& early = params["early_stopping"];
  options.early_stopping = parse_early_stopping(early.is_boolean() ? (early.get<bool>() ? "true" : "false") : early.get<std::string>());
  options.min_new_tokens = params["min_new_tokens"].get<int64_t>();
  options.repetition_penalty = params["repetition_penalty"].get<double>();
  options.no_repeat_ngram_size = params["no_repeat_ngram_size"].get<int64_t>();
  options.bad_words_ids = params["bad_words_ids"].get<std::vector<std::vector<int64_t>>>();
  options.suppress_tokens = params["suppress_tokens"].get<std::vector<int64_t>>();
  if (params.contains("target_prefix_ids"))
    options.target_prefix_ids = params["target_prefix_ids"].get<std::vector<int64_t>>();
  EXPECT_EQ(params["min_length"].get<int64_t>(), 0) << "min_length comes from generation_config only";
  return options;
}

TEST_P(NumpySearchReference, CoversTheGrid) {
  const nlohmann::json& reference = search_reference();
  std::set<std::tuple<int, double, std::string>> grid;
  std::set<std::string> processors;
  for (const auto& c : reference["cases"]) {
    if (c["kind"] == "beam" && c["processor"] == "none") {
      const auto& p = c["params"];
      grid.insert({p["num_beams"].get<int>(), p["length_penalty"].get<double>(), p["early_stopping"].dump()});
    }
    if (c["processor"] != "none") processors.insert(c["processor"].get<std::string>());
  }
  EXPECT_GE(grid.size(), 3u * 3u * 2u);
  EXPECT_GE(processors.size(), 5u);
  EXPECT_TRUE(reference["processors_without_effect"].empty()) << reference["processors_without_effect"].dump();
}

// Every beam and greedy case: output ids, score, and the n-best rows.
TEST_P(NumpySearchReference, BeamAndGreedyCasesMatch) {
  const Translator translator(model_dir());
  const int64_t pad = translator.model_info().pad_token_id;
  size_t checked = 0, processor_cases_that_differ = 0;
  for (const auto& c : search_reference()["cases"]) {
    if (c["kind"] == "sampling_distribution" || fragile(c)) continue;
    SCOPED_TRACE(c["id"].get<std::string>() + ": " + c["text"].get<std::string>());
    TranslateOptions options = options_from(c["params"]);
    const Translation t = translator.translate(c["text"].get<std::string>(), options);
    EXPECT_EQ(t.source_ids, c["source_ids"].get<std::vector<int64_t>>());
    EXPECT_EQ(t.output_ids, c["output_ids"].get<std::vector<int64_t>>());
    EXPECT_EQ(t.text, c["output_text"].get<std::string>());
    if (c["kind"] == "beam") {
      EXPECT_NEAR(t.score, c["sequence_score"].get<double>(), kTolerance);
    }
    if (c.contains("differs_from_baseline") && c["differs_from_baseline"].get<bool>()) ++processor_cases_that_differ;
    if (c.contains("n_best")) {
      options.num_return_sequences = static_cast<int>(c["n_best"].size());
      const Translation n = translator.translate(c["text"].get<std::string>(), options);
      ASSERT_EQ(n.n_best.size(), c["n_best"].size());
      for (size_t i = 0; i < n.n_best.size(); ++i) {
        std::vector<int64_t> expected = c["n_best"][i]["output_ids"].get<std::vector<int64_t>>();
        while (expected.size() > n.n_best[i].output_ids.size() && expected.back() == pad) expected.pop_back();
        EXPECT_EQ(n.n_best[i].output_ids, expected) << "n_best " << i;
        EXPECT_NEAR(n.n_best[i].score, c["n_best"][i]["sequence_score"].get<double>(), kTolerance) << "n_best " << i;
      }
    }
    ++checked;
  }
  EXPECT_GE(checked, 20u * 3u * 3u * 2u);
  size_t prefix_cases = 0;
  for (const auto& c : search_reference()["cases"]) prefix_cases += c["processor"] == "target_prefix" && !fragile(c);
  EXPECT_GE(prefix_cases, 30u);  // every one of them checked above
  EXPECT_GT(processor_cases_that_differ, 10u);  // the processors really changed outputs
}

// The warped distributions a sampler draws from: processors, temperature, top-k, top-p.
TEST_P(NumpySearchReference, SamplingDistributionsMatch) {
  const Engine engine(model_dir(), DecoderMode::kMerged);
  size_t checked = 0;
  for (const auto& c : search_reference()["cases"]) {
    if (c["kind"] != "sampling_distribution") continue;
    SCOPED_TRACE(c["id"].get<std::string>());
    const auto& p = c["params"];
    CachedDecoder decoder(engine.graphs, engine.encode(c["source_ids"].get<std::vector<int64_t>>()));
    const auto prefix = c["decoder_input_ids"].get<std::vector<int64_t>>();
    StepLogits logits;
    for (int64_t token : prefix) {
      const int64_t step[] = {token};
      logits = decoder.step(step);
    }
    GenerationConfig generation = engine.generation;
    generation.repetition_penalty = p["repetition_penalty"].get<double>();
    generation.no_repeat_ngram_size = p["no_repeat_ngram_size"].get<int64_t>();
    generation.min_new_tokens = p["min_new_tokens"].get<int64_t>();
    generation.bad_words_ids = p["bad_words_ids"].get<std::vector<std::vector<int64_t>>>();
    generation.suppress_tokens = p["suppress_tokens"].get<std::vector<int64_t>>();
    std::span<float> scores = logits.row(0);
    make_processors(generation, 1 + p["max_new_tokens"].get<int64_t>()).apply(prefix, scores);
    warp_scores({p["temperature"].get<double>(), p["top_k"].get<int64_t>(), p["top_p"].get<double>(), 0}, scores);
    const std::vector<double> probs = probabilities(scores);
    const auto ids = c["ids"].get<std::vector<int64_t>>();
    const auto expected = c["probs"].get<std::vector<double>>();
    size_t nonzero = 0;
    for (double q : probs) nonzero += q > 0;
    EXPECT_EQ(nonzero, ids.size());
    for (size_t i = 0; i < ids.size(); ++i) EXPECT_NEAR(probs[ids[i]], expected[i], kTolerance) << "id " << ids[i];
    ++checked;
  }
  EXPECT_GE(checked, 15u);
}

INSTANTIATE_TEST_SUITE_P(Models, NumpySearchReference, ::testing::ValuesIn(kModels), [](const auto& info) {
  std::string name = info.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
});

}  // namespace
}  // namespace opusrt::test
