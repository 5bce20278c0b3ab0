#pragma once

// Greedy search with transformers' semantics: every row starts from the decoder start token;
// each step takes the argmax of the processed logits (first index on ties, like torch.argmax),
// or, with sampling settings, draws from the warped distribution (transformers' sample());
// a sentence that produced eos is finished and its row leaves the batch; decoding stops when
// every sentence is finished or the sequences reach max_length tokens (start token included).
#include <optional>

#include "search/sampler.h"
#include "search/search_strategy.h"

namespace opusrt {

class GreedySearch final : public SearchStrategy {
 public:
  explicit GreedySearch(SearchSettings settings, std::optional<SamplingSettings> sampling = std::nullopt);
  SearchResult run(DecoderSession& decoder, int64_t sentences, const LogitsProcessorList& processors,
                   const SearchHooks& hooks = {}) const override;
  int64_t rows_per_sentence() const override { return 1; }

 private:
  SearchSettings settings_;
  std::optional<SamplingSettings> sampling_;
};

}  // namespace opusrt
