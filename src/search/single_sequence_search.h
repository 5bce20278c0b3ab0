#pragma once

// Greedy search and sampling with transformers' semantics (greedy_search() and sample()): every
// row starts from its prompt (the decoder start token, then any forced prefix); each step takes
// the argmax of the processed logits (first index on ties, like torch.argmax) or, with sampling
// settings, draws from the warped distribution; a sentence that produced eos is finished and its
// row leaves the batch; decoding stops when every sentence is finished or the sequences reach
// max_length tokens (prompt included).
#include <optional>

#include "search/sampler.h"
#include "search/search_strategy.h"

namespace opusrt {

class SingleSequenceSearch final : public Search {
 public:
  // `prompts`: one per sentence, all of one length (1 + forced prefix).
  SingleSequenceSearch(SearchSettings settings, std::vector<std::vector<int64_t>> prompts,
                       std::optional<SamplingSettings> sampling = std::nullopt);

  void advance(const StepLogits& logits, const LogitsProcessorList& processors, DecoderState& decoder,
               std::vector<TokenEvent>& events) override;
  std::span<const int64_t> next_tokens() const override { return next_; }
  std::span<const int64_t> row_sentences() const override { return active_; }
  bool finished() const override { return active_.empty(); }
  bool finished(int64_t sentence) const override;
  void stop(int64_t sentence, DecoderState& decoder) override;
  std::vector<Hypothesis> hypotheses(int64_t sentence) const override;

 private:
  // Rows `keep` (indices into active_) go on; the decoder follows.
  void keep_rows(const std::vector<int64_t>& keep, DecoderState& decoder);

  SearchSettings settings_;
  std::optional<SamplingSettings> sampling_;
  int64_t prompt_length_ = 0;
  std::vector<std::vector<int64_t>> sequences_;  // per sentence, prompt first
  std::vector<double> sum_logprobs_;             // per sentence, of the generated tokens
  std::vector<int64_t> active_;                  // row -> sentence
  std::vector<int64_t> next_;                    // row -> token to feed
  std::vector<TokenSampler> samplers_;           // per sentence, with sampling
  std::vector<float> unwarped_;
};

}  // namespace opusrt
