#pragma once

// Logits processors: the rules that edit a step's logits before a token is chosen, with
// transformers' semantics (the processors generate() builds from a generation_config).
// Each sees one batch row: its tokens so far (decoder start token first) and its logits.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "logits/row_math.h"
#include "model/model_config.h"

namespace opusrt {

class LogitsProcessor {
 public:
  virtual ~LogitsProcessor() = default;
  virtual void apply(std::span<const int64_t> sequence, std::span<float> logits) const = 0;
};

// Never generate these token sequences: a single-token entry bans the token outright; a longer
// one bans its last token when the sequence ends with the rest and is at least as long as the
// whole entry (transformers' NoBadWords).
class BadWordsProcessor final : public LogitsProcessor {
 public:
  explicit BadWordsProcessor(std::vector<std::vector<int64_t>> bad_words);
  void apply(std::span<const int64_t> sequence, std::span<float> logits) const override;

 private:
  std::vector<std::vector<int64_t>> bad_words_;
};

// While the sequence (start token included) is shorter than `min_length`, eos is banned.
class MinLengthProcessor final : public LogitsProcessor {
 public:
  MinLengthProcessor(int64_t min_length, std::vector<int64_t> eos_ids);
  void apply(std::span<const int64_t> sequence, std::span<float> logits) const override;

 private:
  int64_t min_length_;
  std::vector<int64_t> eos_ids_;
};

// When the sequence reaches max_length - 1 tokens, the next token must be `eos`, so a cut
// output still ends with </s> (transformers' ForcedEOSTokenLogitsProcessor).
class ForcedEosProcessor final : public LogitsProcessor {
 public:
  ForcedEosProcessor(int64_t max_length, int64_t eos_id);
  void apply(std::span<const int64_t> sequence, std::span<float> logits) const override;

 private:
  int64_t max_length_;
  int64_t eos_id_;
};

// While fewer than `min_new_tokens` tokens follow the prompt (the decoder start token and any
// forced prefix, `prompt_length` tokens), eos is banned.
class MinNewTokensProcessor final : public LogitsProcessor {
 public:
  MinNewTokensProcessor(int64_t min_new_tokens, std::vector<int64_t> eos_ids, int64_t prompt_length = 1);
  void apply(std::span<const int64_t> sequence, std::span<float> logits) const override;

 private:
  int64_t min_new_tokens_;
  std::vector<int64_t> eos_ids_;
  int64_t prompt_length_;
};

// Every token already in the sequence (start token included) is made less likely: a positive
// score is divided by the penalty, a negative one multiplied (CTRL; transformers' version).
class RepetitionPenaltyProcessor final : public LogitsProcessor {
 public:
  explicit RepetitionPenaltyProcessor(double penalty);
  void apply(std::span<const int64_t> sequence, std::span<float> logits) const override;

 private:
  float penalty_;
};

// No n-gram of size n occurs twice: a token that would complete an n-gram already in the
// sequence (start token included) is banned.
class NoRepeatNGramProcessor final : public LogitsProcessor {
 public:
  explicit NoRepeatNGramProcessor(int64_t n);
  void apply(std::span<const int64_t> sequence, std::span<float> logits) const override;

 private:
  int64_t n_;
};

// These tokens are never generated.
class SuppressTokensProcessor final : public LogitsProcessor {
 public:
  explicit SuppressTokensProcessor(std::vector<int64_t> tokens);
  void apply(std::span<const int64_t> sequence, std::span<float> logits) const override;

 private:
  std::vector<int64_t> tokens_;
};

// Biased search (Arivazhagan et al. 2020, a display stabiliser for re-translation): while the
// sequence still follows `previous` (a previous hypothesis, prompt included), the next token's
// distribution becomes p' = (1 - beta) p + beta [y = previous's next token]. The row becomes
// log p' (a normalised log-distribution), so greedy and beam search both read it.
class HypothesisBiasProcessor final : public LogitsProcessor {
 public:
  HypothesisBiasProcessor(std::vector<int64_t> previous, double beta);
  void apply(std::span<const int64_t> sequence, std::span<float> logits) const override;

 private:
  std::vector<int64_t> previous_;
  double beta_;
};

class LogitsProcessorList {
 public:
  void add(std::unique_ptr<LogitsProcessor> processor) { processors_.push_back(std::move(processor)); }
  void apply(std::span<const int64_t> sequence, std::span<float> logits) const;
  bool empty() const { return processors_.empty(); }

 private:
  std::vector<std::unique_ptr<LogitsProcessor>> processors_;
};

// The processors transformers' generate() builds from a generation config, in its order:
// repetition penalty, no-repeat n-gram, bad words, min length, min new tokens, forced eos,
// suppress tokens. `prompt_length`: the decoder start token and any forced prefix.
LogitsProcessorList make_processors(const GenerationConfig& generation, int64_t max_length, int64_t prompt_length = 1);

}  // namespace opusrt
