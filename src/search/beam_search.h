#pragma once

// Beam search with transformers 4.36 semantics (BeamSearchScorer + BeamHypotheses):
// - each sentence holds num_beams rows: the decoder starts with one row per sentence (the
//   prefill of its prompt runs once), which the search replicates num_beams times before its
//   first choice; at the start only beam 0 is live (others score -1e9);
// - per step, every beam's logits lose the pad token (Marian's adjust_logits_during_generation),
//   are log-softmaxed, processed (and renormalized when the
//   generation config says so), added to the beam's running score, and the best
//   2 * num_beams (beam, token) candidates of the sentence are taken in order;
// - a candidate ending in eos among the first num_beams ranks becomes a finished hypothesis,
//   scored sum_logprobs / generated_length ^ length_penalty (generated: after the prompt, as
//   transformers counts when the prompt is given as decoder_input_ids); the others fill the
//   next beams;
// - a sentence is done when it has num_beams hypotheses and (early_stopping) true: at once;
//   false: no live beam can beat the worst one by the current length; "never": by max_length;
// - at max_length the live beams join the hypotheses; the best num_return_sequences come out,
//   with eos appended to those shorter than max_length.
// Rows of a done sentence leave the batch; the decoder K/V follow the chosen beams each step.
#include <string>

#include "opusrt/types.h"
#include "search/search_strategy.h"

namespace opusrt {

struct BeamSettings {
  int num_beams = 4;
  int num_return_sequences = 1;
  EarlyStopping early_stopping = EarlyStopping::kFalse;
};

// A (beam, token) continuation and its running score.
struct BeamCandidate {
  float score;
  int64_t beam;
  int64_t token;
};

class BeamSearch final : public Search {
 public:
  // `prompts`: one per sentence, all of one length (1 + forced prefix).
  BeamSearch(SearchSettings settings, BeamSettings beam, std::vector<std::vector<int64_t>> prompts);
  ~BeamSearch() override;

  void advance(const StepLogits& logits, const LogitsProcessorList& processors, DecoderState& decoder,
               std::vector<TokenEvent>& events) override;
  std::span<const int64_t> next_tokens() const override { return next_; }
  std::span<const int64_t> row_sentences() const override { return row_sentences_; }
  bool finished() const override { return active_.empty(); }
  bool finished(int64_t sentence) const override;
  void stop(int64_t sentence, DecoderState& decoder) override;
  std::vector<Hypothesis> hypotheses(int64_t sentence) const override;

 private:
  struct SentenceState;
  // The sentence is done: its best hypotheses become its result (eos appended where cut short).
  void finish(int64_t sentence, std::vector<TokenEvent>* events);
  void update_rows();

  SearchSettings settings_;
  BeamSettings beam_;
  int64_t prompt_length_ = 0;
  int64_t generated_ = 0;     // tokens generated per live beam so far
  bool replicated_ = false;   // the decoder holds num_beams rows per live sentence
  std::vector<SentenceState> states_;
  std::vector<int64_t> active_;          // block of num_beams rows -> sentence
  std::vector<int64_t> next_;            // row -> token to feed
  std::vector<int64_t> row_sentences_;   // row -> sentence
  std::vector<float> replicated_logits_;
  std::vector<BeamCandidate> candidates_, row_best_;
};

}  // namespace opusrt
