#include "search/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace opusrt {
namespace {
constexpr float kRemoved = -std::numeric_limits<float>::infinity();
}

void warp_scores(const SamplingSettings& settings, std::span<float> scores) {
  if (scores.empty()) return;
  if (settings.temperature != 1.0) {
    const float temperature = static_cast<float>(settings.temperature);
    for (float& score : scores) score /= temperature;
  }
  if (settings.top_k > 0 && settings.top_k < static_cast<int64_t>(scores.size())) {
    std::vector<float> sorted(scores.begin(), scores.end());
    std::nth_element(sorted.begin(), sorted.begin() + (settings.top_k - 1), sorted.end(), std::greater<float>());
    const float kth = sorted[settings.top_k - 1];
    for (float& score : scores)
      if (score < kth) score = kRemoved;
  }
  if (settings.top_p < 1.0) {
    // Ascending order; drop the low tail whose cumulative probability is <= 1 - top_p.
    std::vector<size_t> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
    const std::vector<double> probs = probabilities(scores);
    double cumulative = 0;
    for (size_t rank = 0; rank + 1 < order.size(); ++rank) {  // the best token always stays
      cumulative += probs[order[rank]];
      if (cumulative > 1.0 - settings.top_p) break;
      scores[order[rank]] = kRemoved;
    }
  }
}

std::vector<double> probabilities(std::span<const float> scores) {
  std::vector<double> probs(scores.size(), 0.0);
  const float max = *std::max_element(scores.begin(), scores.end());
  if (std::isinf(max) && max < 0) return probs;
  double sum = 0;
  for (size_t i = 0; i < scores.size(); ++i) sum += probs[i] = std::exp(static_cast<double>(scores[i] - max));
  for (double& p : probs) p /= sum;
  return probs;
}

int64_t TokenSampler::sample(std::span<float> scores) {
  warp_scores(settings_, scores);
  const std::vector<double> probs = probabilities(scores);
  const double draw = std::uniform_real_distribution<double>(0.0, 1.0)(generator_);
  double cumulative = 0;
  int64_t last_possible = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] <= 0) continue;
    last_possible = static_cast<int64_t>(i);
    cumulative += probs[i];
    if (draw < cumulative) return last_possible;
  }
  return last_possible;  // rounding left the draw past the end
}

}  // namespace opusrt
