#pragma once

// How tokens are chosen from the processed logits, one decoder run at a time: greedy or
// sampling (SingleSequenceSearch), or beam search (BeamSearch). A Search holds one batch's
// choices in progress; the generation layer (src/generation/) runs the decoder and hands each
// run's logits to advance(). Rows of finished sentences leave the batch.
//
//   std::unique_ptr<Search> search = make_search(settings, config, seed, prompts);
//   StepLogits logits = decoder.prefill(prompt_ids, prompt_length);
//   while (true) {
//     search->advance(logits, processors, decoder, events);
//     if (search->finished()) break;
//     logits = decoder.step(search->next_tokens());
//   }
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "decoder/decoder_state.h"
#include "logits/logits_processor.h"

namespace opusrt {

struct SearchSettings {
  int64_t decoder_start_token_id = 0;
  int64_t pad_token_id = 0;
  std::vector<int64_t> eos_token_ids;
  int64_t max_length = 0;           // tokens per output, prompt (decoder start + forced prefix) included
  bool renormalize_logits = false;  // log-softmax after the processors (transformers' LogitNormalization)
  double length_penalty = 1.0;      // score = sum of log-probs / generated_length ^ length_penalty
};

struct Hypothesis {
  // The prompt (decoder start token, forced prefix) first, eos last unless max_length cut it.
  std::vector<int64_t> ids;
  double score = 0;  // beam: transformers' sequence_score; greedy: the same formula on its one path
};

struct SearchResult {
  std::vector<std::vector<Hypothesis>> hypotheses;  // per sentence, best first
  std::vector<bool> stopped;                        // per sentence: stopped by the caller
  int64_t steps = 0;                                // decoder runs (the prefill counts as one)
};

// A sentence's output gained a token: `sequence` is the output so far (prompt included, the new
// token last). Greedy and sampling report each token as it is chosen; beam search knows its
// output only when the sentence is done and reports it then, token by token. Valid until the
// search's next call.
struct TokenEvent {
  int64_t sentence = 0;
  std::span<const int64_t> sequence;
};

// Sees each decoder run's raw logits (before the processors) and which sentence each row decodes.
using StepObserver = std::function<void(int64_t step, const StepLogits& raw_logits, std::span<const int64_t> row_sentences)>;

class Search {
 public:
  virtual ~Search() = default;

  // Chooses the next token of every live row from `logits` (the decoder's last run: one row per
  // decoder row, edited in place by the processors) and makes the decoder's rows follow: beams
  // reorder, finished sentences leave. Appends what outputs gained to `events`.
  virtual void advance(const StepLogits& logits, const LogitsProcessorList& processors, DecoderState& decoder,
                       std::vector<TokenEvent>& events) = 0;
  // The token each decoder row feeds at the next run.
  virtual std::span<const int64_t> next_tokens() const = 0;
  // Which sentence each decoder row decodes, before the next advance().
  virtual std::span<const int64_t> row_sentences() const = 0;
  virtual bool finished() const = 0;
  virtual bool finished(int64_t sentence) const = 0;
  // Ends a sentence now (a streaming client left): its rows leave the decoder and its result is
  // what it has so far. No-op for a finished sentence.
  virtual void stop(int64_t sentence, DecoderState& decoder) = 0;
  // Best first: final once the sentence is finished; before that, its current best.
  virtual std::vector<Hypothesis> hypotheses(int64_t sentence) const = 0;
};

bool is_eos(const SearchSettings& settings, int64_t id);

}  // namespace opusrt
