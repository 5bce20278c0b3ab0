#pragma once

// Translation quality: corpus chrF and BLEU exactly as sacreBLEU 2.x computes them, and an
// evaluation run (translate a test set, score it, count tokens per second).
//
//   opusrt::ChrfScorer chrf;                        // chrF2: char n-grams 1..6, beta 2
//   opusrt::BleuScorer bleu;                        // BLEU, sacreBLEU's "zh" tokenizer
//   for (size_t i = 0; i < hypotheses.size(); ++i) {
//     chrf.add(hypotheses[i], references[i]);
//     bleu.add(hypotheses[i], references[i]);
//   }
//   double chrf2 = chrf.score();                    // 0..100
//   opusrt::BleuScore b = bleu.score();             // b.score, b.precisions, b.brevity_penalty
//
//   opusrt::Translator translator("model/");
//   opusrt::Evaluation e = opusrt::evaluate(translator, sources, references, {.target_lang = "cmn_Hans"});
//
// Scores are corpus-level: statistics are summed over all sentence pairs, then combined once
// (sacreBLEU's corpus_score), not averaged per sentence. Text must be valid UTF-8.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "opusrt/translator.h"

namespace opusrt {

// sacreBLEU CHRF() defaults: char_order 6, word_order 0, beta 2, whitespace removed, no eps
// smoothing (precision and recall averaged over the orders both sides have, then F-beta).
class ChrfScorer {
 public:
  static constexpr int kOrder = 6;
  static constexpr double kBeta = 2.0;

  void add(std::string_view hypothesis, std::string_view reference);
  double score() const;  // 0..100; 0 when nothing was added
  double sentence_score(std::string_view hypothesis, std::string_view reference) const;

  // Per order n = 1..6: n-grams in the hypotheses, in the references, and matched (clipped).
  struct Statistics {
    std::array<int64_t, kOrder> hypothesis{}, reference{}, matched{};
  };
  const Statistics& statistics() const { return statistics_; }

 private:
  Statistics statistics_;
};

struct BleuScore {
  double score = 0;                      // 0..100
  std::array<double, 4> precisions{};    // percent, after sacreBLEU's "exp" smoothing
  double brevity_penalty = 0;
  int64_t hypothesis_length = 0, reference_length = 0;  // tokens
};

// sacreBLEU BLEU(tokenize="zh") defaults: 4-grams, "exp" smoothing, case-sensitive.
class BleuScorer {
 public:
  void add(std::string_view hypothesis, std::string_view reference);
  BleuScore score() const;

 private:
  std::array<int64_t, 4> matched_{}, total_{};
  int64_t hypothesis_length_ = 0, reference_length_ = 0;
};

// sacreBLEU's "zh" tokenizer: every CJK character (its range table, quirks included) becomes a
// token of its own, the rest is split as mteval-v13a does; tokens joined by single spaces.
std::string tokenize_zh(std::string_view text);

struct Evaluation {
  std::vector<std::string> hypotheses;  // one per source line
  double chrf = 0;
  BleuScore bleu;
  int64_t output_tokens = 0;  // generated tokens, </s> included, start token not
  double seconds = 0;         // translation wall time
  double tokens_per_second = 0;
};

// Translates `sources` (one unit per line, as `opusrt translate --split none` would) in batches
// of `batch_size` and scores them against `references` (same length, else opusrt::Error).
Evaluation evaluate(const Translator& translator, const std::vector<std::string>& sources,
                    const std::vector<std::string>& references, const TranslateOptions& options = {},
                    size_t batch_size = 16);

}  // namespace opusrt
