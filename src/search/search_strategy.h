#pragma once

// How tokens are chosen from the processed logits: greedy, beam search (and, later, sampling).
// Each strategy drives a DecoderSession for a batch of sentences and returns, per sentence,
// its hypotheses best first; rows of finished sentences leave the batch.
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
  int64_t max_length = 0;       // tokens per output, decoder start token included
  bool renormalize_logits = false;  // log-softmax after the processors (transformers' LogitNormalization)
  double length_penalty = 1.0;  // score = sum of log-probs / generated_length ^ length_penalty
};

struct Hypothesis {
  // Decoder start token first, eos last unless max_length cut it.
  std::vector<int64_t> ids;
  double score = 0;  // beam: transformers' sequence_score; greedy: the same formula on its one path
};

struct SearchResult {
  std::vector<std::vector<Hypothesis>> hypotheses;  // per sentence, best first
  int64_t steps = 0;
};

// Sees each step's raw logits (before the processors) and which sentence each row decodes.
using StepObserver = std::function<void(int64_t step, const StepLogits& raw_logits, std::span<const int64_t> row_sentences)>;
// Sees each token a sentence's output gains, with the output so far (greedy and sampling; beam
// search knows its output only at the end and reports it then, token by token).
using TokenCallback = std::function<void(int64_t sentence, std::span<const int64_t> sequence)>;

struct SearchHooks {
  StepObserver on_step;
  TokenCallback on_token;
};

class SearchStrategy {
 public:
  virtual ~SearchStrategy() = default;
  // `decoder` holds rows_per_sentence() rows per sentence, sentence-major.
  virtual SearchResult run(DecoderSession& decoder, int64_t sentences, const LogitsProcessorList& processors,
                           const SearchHooks& hooks = {}) const = 0;
  virtual int64_t rows_per_sentence() const = 0;
};

bool is_eos(const SearchSettings& settings, int64_t id);

}  // namespace opusrt
