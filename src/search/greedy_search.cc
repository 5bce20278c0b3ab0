#include "search/greedy_search.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "opusrt/error.h"

namespace opusrt {

bool is_eos(const SearchSettings& settings, int64_t id) {
  return std::find(settings.eos_token_ids.begin(), settings.eos_token_ids.end(), id) != settings.eos_token_ids.end();
}

GreedySearch::GreedySearch(SearchSettings settings, std::optional<SamplingSettings> sampling)
    : settings_(std::move(settings)), sampling_(sampling) {
  if (settings_.eos_token_ids.empty()) throw Error("greedy search: no eos token id");
  if (settings_.max_length < 1) throw Error("greedy search: max_length must be at least 1");
}

SearchResult GreedySearch::run(DecoderSession& decoder, int64_t sentences, const LogitsProcessorList& processors,
                               const SearchHooks& hooks) const {
  if (decoder.rows() != sentences) throw Error("greedy search: the decoder holds " + std::to_string(decoder.rows()) +
                                               " rows for " + std::to_string(sentences) + " sentences");
  std::vector<std::vector<int64_t>> sequences(sentences, {settings_.decoder_start_token_id});
  std::vector<double> sum_logprobs(sentences, 0.0);
  std::vector<int64_t> active(sentences);  // row -> sentence
  for (int64_t i = 0; i < sentences; ++i) active[i] = i;
  std::vector<int64_t> last(sentences, settings_.decoder_start_token_id);
  std::vector<float> unwarped;
  std::vector<TokenSampler> samplers;
  if (sampling_) samplers.assign(sentences, TokenSampler(*sampling_));

  SearchResult result;
  for (int64_t length = 1; length < settings_.max_length && !active.empty(); ++length) {
    StepLogits logits = decoder.step(last);
    if (hooks.on_step) hooks.on_step(result.steps, logits, active);
    ++result.steps;
    std::vector<int64_t> keep;  // rows that go on
    for (int64_t row = 0; row < static_cast<int64_t>(active.size()); ++row) {
      const int64_t sentence = active[row];
      std::span<float> scores = logits.row(row);
      processors.apply(sequences[sentence], scores);
      // The chosen token's log-probability (of the processed, unwarped scores), without
      // normalising the whole row.
      const int64_t best = argmax(scores);
      const float max = scores[best];
      const bool all_banned = std::isinf(max) && max < 0;
      const float log_sum = all_banned ? 0.0f : log_sum_exp_around(scores, max);
      int64_t next = best;
      float chosen = max;
      if (sampling_) {
        unwarped.assign(scores.begin(), scores.end());  // the sampler's warpers edit the row
        next = samplers[sentence].sample(scores);
        chosen = unwarped[next];
      }
      sum_logprobs[sentence] += all_banned ? -std::numeric_limits<float>::infinity() : chosen - max - log_sum;
      sequences[sentence].push_back(next);
      if (hooks.on_token) hooks.on_token(sentence, sequences[sentence]);
      if (!is_eos(settings_, next)) keep.push_back(row);
    }
    if (keep.size() != active.size()) {
      std::vector<int64_t> still_active;
      for (int64_t row : keep) still_active.push_back(active[row]);
      active = std::move(still_active);
      if (!active.empty()) decoder.select_rows(keep);
    }
    last.clear();
    for (int64_t sentence : active) last.push_back(sequences[sentence].back());
  }

  result.hypotheses.resize(sentences);
  for (int64_t sentence = 0; sentence < sentences; ++sentence) {
    const double generated = static_cast<double>(sequences[sentence].size() - 1);
    const double score =
        generated > 0 ? sum_logprobs[sentence] / std::pow(generated, settings_.length_penalty) : 0.0;
    result.hypotheses[sentence].push_back({std::move(sequences[sentence]), score});
  }
  return result;
}

}  // namespace opusrt
