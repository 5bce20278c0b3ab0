#pragma once

// Beam search with transformers 4.36 semantics (BeamSearchScorer + BeamHypotheses):
// - each sentence holds num_beams rows; at the start only beam 0 is live (others score -1e9);
// - per step, every beam's logits lose the pad token (Marian's adjust_logits_during_generation),
//   are log-softmaxed, processed (and renormalized when the
//   generation config says so), added to the beam's running score, and the best
//   2 * num_beams (beam, token) candidates of the sentence are taken in order;
// - a candidate ending in eos among the first num_beams ranks becomes a finished hypothesis,
//   scored sum_logprobs / generated_length ^ length_penalty; the others fill the next beams;
// - a sentence is done when it has num_beams hypotheses and (early_stopping) true: at once;
//   false: no live beam can beat the worst one by the current length; "never": by max_length;
// - at max_length the live beams join the hypotheses; the best num_return_sequences come out,
//   with eos appended to those shorter than max_length.
// Rows of a done sentence leave the batch; the decoder K/V follow the chosen beams each step.
#include <string>

#include "search/search_strategy.h"

namespace opusrt {

enum class EarlyStopping { kFalse, kTrue, kNever };
EarlyStopping parse_early_stopping(const std::string& text);  // "true" | "false" | "never"
const char* to_string(EarlyStopping value);

struct BeamSettings {
  int num_beams = 4;
  int num_return_sequences = 1;
  EarlyStopping early_stopping = EarlyStopping::kFalse;
};

class BeamSearch final : public SearchStrategy {
 public:
  BeamSearch(SearchSettings settings, BeamSettings beam);
  SearchResult run(DecoderSession& decoder, int64_t sentences, const LogitsProcessorList& processors,
                   const SearchHooks& hooks = {}) const override;
  int64_t rows_per_sentence() const override { return beam_.num_beams; }

 private:
  SearchSettings settings_;
  BeamSettings beam_;
};

}  // namespace opusrt
