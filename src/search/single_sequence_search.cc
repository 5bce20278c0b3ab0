#include "search/single_sequence_search.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "opusrt/error.h"

namespace opusrt {

bool is_eos(const SearchSettings& settings, int64_t id) {
  return std::find(settings.eos_token_ids.begin(), settings.eos_token_ids.end(), id) != settings.eos_token_ids.end();
}

SingleSequenceSearch::SingleSequenceSearch(SearchSettings settings, std::vector<std::vector<int64_t>> prompts,
                                           std::optional<SamplingSettings> sampling)
    : settings_(std::move(settings)), sampling_(sampling), sequences_(std::move(prompts)) {
  if (settings_.eos_token_ids.empty()) throw Error("greedy search: no eos token id");
  if (settings_.max_length < 1) throw Error("greedy search: max_length must be at least 1");
  const int64_t sentences = static_cast<int64_t>(sequences_.size());
  prompt_length_ = sequences_.empty() ? 1 : static_cast<int64_t>(sequences_.front().size());
  for (const auto& prompt : sequences_)
    if (static_cast<int64_t>(prompt.size()) != prompt_length_ || prompt.empty())
      throw Error("greedy search: the prompts of one batch must have one length");
  sum_logprobs_.assign(sentences, 0.0);
  if (sampling_) samplers_.assign(sentences, TokenSampler(*sampling_));
  // A prompt that already fills max_length leaves nothing to generate.
  if (prompt_length_ < settings_.max_length) {
    for (int64_t s = 0; s < sentences; ++s) {
      active_.push_back(s);
      next_.push_back(sequences_[s].back());
    }
  }
}

bool SingleSequenceSearch::finished(int64_t sentence) const {
  return std::find(active_.begin(), active_.end(), sentence) == active_.end();
}

void SingleSequenceSearch::advance(const StepLogits& logits, const LogitsProcessorList& processors,
                                   DecoderState& decoder, std::vector<TokenEvent>& events) {
  if (logits.rows != static_cast<int64_t>(active_.size()))
    throw Error("greedy search: " + std::to_string(logits.rows) + " logits rows for " +
                std::to_string(active_.size()) + " live sentences");
  std::vector<int64_t> keep;  // rows that go on
  for (int64_t row = 0; row < static_cast<int64_t>(active_.size()); ++row) {
    const int64_t sentence = active_[row];
    std::vector<int64_t>& sequence = sequences_[sentence];
    std::span<float> scores = logits.row(row);
    processors.apply(sequence, scores);
    // The chosen token's log-probability (of the processed, unwarped scores), without
    // normalising the whole row.
    const int64_t best = argmax(scores);
    const float max = scores[best];
    const bool all_banned = std::isinf(max) && max < 0;
    const float log_sum = all_banned ? 0.0f : log_sum_exp_around(scores, max);
    int64_t next = best;
    float chosen = max;
    if (sampling_) {
      unwarped_.assign(scores.begin(), scores.end());  // the sampler's warpers edit the row
      next = samplers_[sentence].sample(scores);
      chosen = unwarped_[next];
    }
    sum_logprobs_[sentence] += all_banned ? -std::numeric_limits<float>::infinity() : chosen - max - log_sum;
    sequence.push_back(next);
    events.push_back({sentence, sequence});
    if (!is_eos(settings_, next) && static_cast<int64_t>(sequence.size()) < settings_.max_length) keep.push_back(row);
  }
  keep_rows(keep, decoder);
}

void SingleSequenceSearch::keep_rows(const std::vector<int64_t>& keep, DecoderState& decoder) {
  if (keep.size() != active_.size()) {
    std::vector<int64_t> still_active;
    for (int64_t row : keep) still_active.push_back(active_[row]);
    active_ = std::move(still_active);
    if (!active_.empty()) decoder.select_rows(keep);
  }
  next_.clear();
  for (int64_t sentence : active_) next_.push_back(sequences_[sentence].back());
}

void SingleSequenceSearch::stop(int64_t sentence, DecoderState& decoder) {
  std::vector<int64_t> keep;
  for (int64_t row = 0; row < static_cast<int64_t>(active_.size()); ++row)
    if (active_[row] != sentence) keep.push_back(row);
  keep_rows(keep, decoder);
}

std::vector<Hypothesis> SingleSequenceSearch::hypotheses(int64_t sentence) const {
  const std::vector<int64_t>& sequence = sequences_.at(sentence);
  const double generated = static_cast<double>(static_cast<int64_t>(sequence.size()) - prompt_length_);
  const double score = generated > 0 ? sum_logprobs_[sentence] / std::pow(generated, settings_.length_penalty) : 0.0;
  return {{sequence, score}};
}

}  // namespace opusrt
