#pragma once

// Greedy search with transformers' semantics: every row starts from the decoder start token;
// each step takes the argmax of the processed logits (first index on ties, like torch.argmax);
// a row that produced eos is finished and is fed pad from then on; decoding stops when every
// row is finished or the sequences reach max_length tokens (start token included).
#include <cstdint>
#include <functional>
#include <vector>

#include "decoder/decoder_session.h"
#include "logits/logits_processor.h"

namespace opusrt {

struct SearchSettings {
  int64_t decoder_start_token_id = 0;
  int64_t pad_token_id = 0;
  std::vector<int64_t> eos_token_ids;
  int64_t max_length = 0;  // tokens per output, decoder start token included
};

struct SearchResult {
  // One sequence per row: decoder start token first, eos last unless max_length cut it.
  std::vector<std::vector<int64_t>> sequences;
  int64_t steps = 0;
};

// Sees each step's raw logits (before the processors): used by tests and diagnostics.
using StepObserver = std::function<void(int64_t step, const StepLogits& raw_logits)>;

class GreedySearch {
 public:
  explicit GreedySearch(SearchSettings settings);
  SearchResult run(DecoderSession& decoder, int64_t rows, const LogitsProcessorList& processors,
                   const StepObserver& observer = {}) const;

 private:
  SearchSettings settings_;
};

}  // namespace opusrt
