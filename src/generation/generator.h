#pragma once

// Generation: the one place where decoding is wired. Given a batch's encoder output, the
// resolved generation settings and each sentence's forced target prefix, it picks the search
// (greedy, sampling or beam), builds the logits processors, runs the prompt through the decoder
// in one prefill run and then steps until every sentence is done. Translator, `opusrt bench`
// and the incremental translator all generate through here.
//
// Caller-driven (the onnxruntime-genai Generator shape): an incremental translator, a server or
// an FFI caller can drive, pause and stop decoding.
//
//   Generator generator(graphs, model, encoder.run(batch), request, prefixes);
//   while (!generator.finished()) {
//     for (const TokenEvent& event : generator.step()) show(event.sentence, event.sequence);
//     if (client_left(0)) generator.stop(0);
//   }
//   std::vector<Hypothesis> best = generator.hypotheses(0);
//
// Or all at once: generate(graphs, model, encoded, request, prefixes, on_token).
//
// A forced prefix is given as transformers' `decoder_input_ids` = [decoder_start] + prefix:
// the prefix is not generated, so it is not scored, max_new_tokens and min_new_tokens count the
// tokens after it, and beam hypotheses are length-normalised by the tokens after it — exactly
// `model.generate(input_ids, decoder_input_ids=[[start] + prefix], ...)` (transformers 4.36).
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "decoder/decoder_state.h"
#include "model/model_config.h"
#include "search/search_strategy.h"

namespace opusrt {

struct GenerationRequest {
  GenerationRequest() = default;
  GenerationRequest(GenerationConfig config, std::optional<int64_t> max_new_tokens, uint64_t seed = 0)
      : config(std::move(config)), max_new_tokens(max_new_tokens), seed(seed) {}

  GenerationConfig config;               // generation_config.json with the call's overrides
  std::optional<int64_t> max_new_tokens; // tokens after the prompt; default: config's, else up to max_length
  uint64_t seed = 0;                     // sampling
  // Test oracle: feed the prompt one decoder step per token instead of one prefill run.
  bool prefill_token_by_token = false;
  // Biased search towards a previous hypothesis (prompt included), beta in [0, 1); one
  // sentence per batch (live re-translation). 0: off.
  std::vector<int64_t> bias_towards;
  double bias_beta = 0;
};

// Checks a request against the model: beams, n-best, processors' values, token ids in range.
void check_request(const GenerationRequest& request, const ModelConfig& model);

class Generator {
 public:
  // `prefixes`: one forced target prefix per sentence of `encoded` (empty: none), all of one
  // length (generate() groups sentences whose prefixes differ in length).
  Generator(const DecoderGraphs& graphs, const ModelConfig& model, EncoderOutput encoded,
            const GenerationRequest& request, const std::vector<std::vector<int64_t>>& prefixes);
  ~Generator();
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  bool finished() const;
  bool finished(int64_t sentence) const;
  // One decoder run (the first is the prefill of every prompt) and the tokens it chose. The
  // events stay valid until the next call.
  std::span<const TokenEvent> step();
  // Ends one sentence now; its hypotheses are what it generated so far.
  void stop(int64_t sentence);
  // Best first: final once finished(sentence); before, the current best.
  std::vector<Hypothesis> hypotheses(int64_t sentence) const;

  int64_t sentences() const { return sentences_; }
  int64_t prompt_length() const { return prompt_length_; }
  int64_t max_length() const { return max_length_; }
  int64_t steps() const { return steps_; }                // step() calls that ran the decoder
  int64_t decoder_runs() const { return decoder_runs_; }  // the prefill is one (token by token: one per prompt token)
  const DecoderState& decoder() const { return *decoder_; }
  // Sees every decoder run's raw logits (tests, diagnostics).
  void observe_steps(StepObserver observer) { observer_ = std::move(observer); }

 private:
  StepLogits run_prompts();

  std::unique_ptr<DecoderState> decoder_;
  std::unique_ptr<Search> search_;
  LogitsProcessorList processors_;
  std::vector<int64_t> prompt_ids_;  // sentences x prompt_length
  int64_t sentences_ = 0;
  int64_t prompt_length_ = 1;
  int64_t max_length_ = 0;
  int64_t steps_ = 0;
  int64_t decoder_runs_ = 0;
  bool prefill_token_by_token_ = false;
  std::vector<TokenEvent> events_;
  StepObserver observer_;
};

// Sees each token a sentence's output gains (TokenEvent::sentence indexes the whole call);
// returning false stops that sentence.
using GenerationStream = std::function<bool(const TokenEvent& event)>;

// Runs generation to the end for every sentence of `encoded`, grouping sentences by prefix
// length (the decoder has no self-attention mask, so one batch holds one prompt length; one
// run per group is never slower than one per row). Results per sentence, best first.
SearchResult generate(const DecoderGraphs& graphs, const ModelConfig& model, EncoderOutput encoded,
                      const GenerationRequest& request, const std::vector<std::vector<int64_t>>& prefixes,
                      const GenerationStream& on_token = {}, const StepObserver& observer = {});

}  // namespace opusrt
