#include "logits/logits_processor.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "opusrt/error.h"

namespace opusrt {
namespace {

constexpr float kBanned = -std::numeric_limits<float>::infinity();

void ban(std::span<float> logits, int64_t id) {
  if (id >= 0 && id < static_cast<int64_t>(logits.size())) logits[id] = kBanned;
}

}  // namespace

BadWordsProcessor::BadWordsProcessor(std::vector<std::vector<int64_t>> bad_words) : bad_words_(std::move(bad_words)) {}

void BadWordsProcessor::apply(std::span<const int64_t> sequence, std::span<float> logits) const {
  for (const std::vector<int64_t>& word : bad_words_) {
    const size_t prefix = word.size() - 1;
    // transformers only looks for a banned sequence once the output is at least as long as it.
    if (word.size() > 1 && word.size() > sequence.size()) continue;
    if (std::equal(word.begin(), word.begin() + prefix, sequence.end() - prefix)) ban(logits, word.back());
  }
}

MinLengthProcessor::MinLengthProcessor(int64_t min_length, std::vector<int64_t> eos_ids)
    : min_length_(min_length), eos_ids_(std::move(eos_ids)) {}

void MinLengthProcessor::apply(std::span<const int64_t> sequence, std::span<float> logits) const {
  if (static_cast<int64_t>(sequence.size()) >= min_length_) return;
  for (int64_t eos : eos_ids_) ban(logits, eos);
}

ForcedEosProcessor::ForcedEosProcessor(int64_t max_length, int64_t eos_id) : max_length_(max_length), eos_id_(eos_id) {}

void ForcedEosProcessor::apply(std::span<const int64_t> sequence, std::span<float> logits) const {
  if (static_cast<int64_t>(sequence.size()) != max_length_ - 1) return;
  std::fill(logits.begin(), logits.end(), kBanned);
  if (eos_id_ >= 0 && eos_id_ < static_cast<int64_t>(logits.size())) logits[eos_id_] = 0.0f;
}

MinNewTokensProcessor::MinNewTokensProcessor(int64_t min_new_tokens, std::vector<int64_t> eos_ids, int64_t prompt_length)
    : min_new_tokens_(min_new_tokens), eos_ids_(std::move(eos_ids)), prompt_length_(prompt_length) {}

void MinNewTokensProcessor::apply(std::span<const int64_t> sequence, std::span<float> logits) const {
  if (static_cast<int64_t>(sequence.size()) - prompt_length_ >= min_new_tokens_) return;
  for (int64_t eos : eos_ids_) ban(logits, eos);
}

RepetitionPenaltyProcessor::RepetitionPenaltyProcessor(double penalty) : penalty_(static_cast<float>(penalty)) {}

void RepetitionPenaltyProcessor::apply(std::span<const int64_t> sequence, std::span<float> logits) const {
  // Each distinct token once, from the scores as they were (a repeated id is penalised once).
  std::vector<int64_t> seen(sequence.begin(), sequence.end());
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  for (int64_t id : seen) {
    if (id < 0 || id >= static_cast<int64_t>(logits.size())) continue;
    float& score = logits[id];
    score = score < 0 ? score * penalty_ : score / penalty_;
  }
}

NoRepeatNGramProcessor::NoRepeatNGramProcessor(int64_t n) : n_(n) {}

void NoRepeatNGramProcessor::apply(std::span<const int64_t> sequence, std::span<float> logits) const {
  const int64_t length = static_cast<int64_t>(sequence.size());
  if (n_ <= 0 || length + 1 < n_) return;
  // The last n-1 tokens, looked for everywhere earlier; whatever followed them is banned.
  const auto tail = sequence.subspan(length - (n_ - 1));
  for (int64_t start = 0; start + n_ <= length; ++start) {
    if (std::equal(tail.begin(), tail.end(), sequence.begin() + start)) ban(logits, sequence[start + n_ - 1]);
  }
}

SuppressTokensProcessor::SuppressTokensProcessor(std::vector<int64_t> tokens) : tokens_(std::move(tokens)) {}

void SuppressTokensProcessor::apply(std::span<const int64_t>, std::span<float> logits) const {
  for (int64_t id : tokens_) ban(logits, id);
}

HypothesisBiasProcessor::HypothesisBiasProcessor(std::vector<int64_t> previous, double beta)
    : previous_(std::move(previous)), beta_(beta) {
  if (!(beta_ >= 0 && beta_ < 1)) throw Error("bias must be in [0, 1), got " + std::to_string(beta_));
}

void HypothesisBiasProcessor::apply(std::span<const int64_t> sequence, std::span<float> logits) const {
  const size_t position = sequence.size();
  if (beta_ == 0 || position >= previous_.size()) return;
  if (!std::equal(sequence.begin(), sequence.end(), previous_.begin())) return;  // it left the previous path
  const int64_t target = previous_[position];
  if (target < 0 || target >= static_cast<int64_t>(logits.size())) return;
  log_softmax(logits);
  const float keep = static_cast<float>(std::log1p(-beta_));
  for (float& value : logits) value += keep;  // log((1 - beta) p)
  const double boosted = (1 - beta_) * std::exp(static_cast<double>(logits[target]) - keep) + beta_;
  logits[target] = static_cast<float>(std::log(boosted));
}

void LogitsProcessorList::apply(std::span<const int64_t> sequence, std::span<float> logits) const {
  for (const auto& processor : processors_) processor->apply(sequence, logits);
}

LogitsProcessorList make_processors(const GenerationConfig& generation, int64_t max_length, int64_t prompt_length) {
  LogitsProcessorList list;
  if (generation.repetition_penalty != 1.0)
    list.add(std::make_unique<RepetitionPenaltyProcessor>(generation.repetition_penalty));
  if (generation.no_repeat_ngram_size > 0)
    list.add(std::make_unique<NoRepeatNGramProcessor>(generation.no_repeat_ngram_size));
  if (!generation.bad_words_ids.empty()) list.add(std::make_unique<BadWordsProcessor>(generation.bad_words_ids));
  if (generation.min_length > 0)
    list.add(std::make_unique<MinLengthProcessor>(generation.min_length, generation.eos_token_ids));
  if (generation.min_new_tokens && *generation.min_new_tokens > 0)
    list.add(std::make_unique<MinNewTokensProcessor>(*generation.min_new_tokens, generation.eos_token_ids, prompt_length));
  if (generation.forced_eos_token_id)
    list.add(std::make_unique<ForcedEosProcessor>(max_length, *generation.forced_eos_token_id));
  if (!generation.suppress_tokens.empty())
    list.add(std::make_unique<SuppressTokensProcessor>(generation.suppress_tokens));
  return list;
}

}  // namespace opusrt
