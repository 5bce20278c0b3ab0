#include "logits/logits_processor.h"

#include <algorithm>
#include <cmath>
#include <limits>

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
    if (prefix > sequence.size()) continue;
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

void LogitsProcessorList::apply(std::span<const int64_t> sequence, std::span<float> logits) const {
  for (const auto& processor : processors_) processor->apply(sequence, logits);
}

LogitsProcessorList make_processors(const GenerationConfig& generation, int64_t max_length) {
  LogitsProcessorList list;
  if (generation.min_length > 0)
    list.add(std::make_unique<MinLengthProcessor>(generation.min_length, generation.eos_token_ids));
  if (!generation.bad_words_ids.empty()) list.add(std::make_unique<BadWordsProcessor>(generation.bad_words_ids));
  if (generation.forced_eos_token_id)
    list.add(std::make_unique<ForcedEosProcessor>(max_length, *generation.forced_eos_token_id));
  return list;
}

void log_softmax(std::span<float> logits) {
  if (logits.empty()) return;
  const float max = *std::max_element(logits.begin(), logits.end());
  if (std::isinf(max) && max < 0) return;  // everything banned: leave -inf
  double sum = 0.0;
  for (float value : logits) sum += std::exp(static_cast<double>(value - max));
  const float log_sum = static_cast<float>(std::log(sum));
  for (float& value : logits) value = value - max - log_sum;
}

}  // namespace opusrt
