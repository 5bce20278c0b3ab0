#pragma once

// Sampling with transformers' warpers, applied in its order to the processed scores:
// temperature (scores / T), top-k (keep the k best, ties at the k-th kept), top-p (keep the
// smallest set of best tokens whose probability reaches p; at least one token), then softmax
// and one draw. Each sentence draws from its own generator seeded with `seed`, so a sentence
// gives the same output alone or in a batch, and the same seed gives the same output.
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace opusrt {

struct SamplingSettings {
  double temperature = 1.0;
  int64_t top_k = 50;  // 0: off
  double top_p = 1.0;  // 1: off
  uint64_t seed = 0;
};

// Turns scores into the warped distribution, in place: banned entries become -inf. Exposed
// for tests against the NumPy reference.
void warp_scores(const SamplingSettings& settings, std::span<float> scores);
// softmax of warped scores
std::vector<double> probabilities(std::span<const float> warped_scores);

class TokenSampler {
 public:
  explicit TokenSampler(const SamplingSettings& settings) : settings_(settings), generator_(settings.seed) {}
  int64_t sample(std::span<float> scores);

 private:
  SamplingSettings settings_;
  std::mt19937_64 generator_;
};

}  // namespace opusrt
