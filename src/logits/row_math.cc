#include "logits/row_math.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace opusrt {
namespace {

// GCC/Clang vector extensions: plain C++ arithmetic on 8 lanes, no intrinsics, any target. The
// kernels are cloned for AVX2 and picked by the CPU at load time (ifunc); the baseline clone
// runs the same code on SSE2 halves.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define OPUSRT_ROW_KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define OPUSRT_ROW_KERNEL
#endif

constexpr int kLanes = 8;
using Floats = float __attribute__((vector_size(kLanes * sizeof(float))));
using Ints = int32_t __attribute__((vector_size(kLanes * sizeof(int32_t))));
using Doubles = double __attribute__((vector_size(kLanes * sizeof(double))));

constexpr float kMinusInf = -std::numeric_limits<float>::infinity();

OPUSRT_ROW_KERNEL int64_t argmax_kernel(const float* row, size_t size) {
  // Per lane: the largest value and the first index holding it (strict >, so ties keep the
  // earlier index); then the lowest index among the lanes that hold the overall max.
  Floats best = Floats{} + kMinusInf;
  Ints best_index = Ints{};
  Ints index;
  for (int lane = 0; lane < kLanes; ++lane) index[lane] = lane;
  size_t i = 0;
  for (; i + kLanes <= size; i += kLanes) {
    Floats values;
    std::memcpy(&values, row + i, sizeof values);
    const Ints greater = values > best;
    best = greater ? values : best;
    best_index = greater ? index : best_index;
    index += kLanes;
  }
  float max = kMinusInf;
  int64_t found = size > 0 ? 0 : -1;
  for (int lane = 0; lane < kLanes && i > 0; ++lane) {
    if (best[lane] > max || (best[lane] == max && best_index[lane] < found)) {
      max = best[lane];
      found = best_index[lane];
    }
  }
  for (; i < size; ++i) {
    if (row[i] > max) {
      max = row[i];
      found = static_cast<int64_t>(i);
    }
  }
  return found;
}

OPUSRT_ROW_KERNEL double sum_exp_around(const float* row, size_t size, float max) {
  // exp(v) = 2^k * exp(r) with k = round(v / ln 2) and r = v - k ln 2 in [-ln2/2, ln2/2]; exp(r)
  // by Cephes' expf polynomial. v = row - max <= 0; below -87 the result is tiny and clamped.
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2High = 0.693359375f;
  constexpr float kLn2Low = -2.12194440e-4f;
  constexpr float kRoundToInt = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds
  const Floats lowest = Floats{} + -87.0f;
  Doubles total = Doubles{};
  size_t i = 0;
  for (; i + kLanes <= size; i += kLanes) {
    Floats v;
    std::memcpy(&v, row + i, sizeof v);
    v -= max;
    v = v < lowest ? lowest : v;
    const Floats k = (v * kLog2e + kRoundToInt) - kRoundToInt;
    const Floats r = (v - k * kLn2High) - k * kLn2Low;
    Floats p = Floats{} + 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const Floats exp_r = p * r * r + r + 1.0f;
    const Ints exponent = (__builtin_convertvector(k, Ints) + 127) << 23;
    Floats scale;
    std::memcpy(&scale, &exponent, sizeof scale);
    total += __builtin_convertvector(exp_r * scale, Doubles);
  }
  double sum = 0;
  for (int lane = 0; lane < kLanes; ++lane) sum += total[lane];
  for (; i < size; ++i) sum += std::exp(static_cast<double>(row[i] - max));
  return sum;
}

}  // namespace

int64_t argmax(std::span<const float> row) { return argmax_kernel(row.data(), row.size()); }

float max_value(std::span<const float> row) { return row.empty() ? kMinusInf : row[argmax(row)]; }

float log_sum_exp_around(std::span<const float> row, float max) {
  return static_cast<float>(std::log(sum_exp_around(row.data(), row.size(), max)));
}

void log_softmax(std::span<float> row) {
  if (row.empty()) return;
  const float max = max_value(row);
  if (std::isinf(max) && max < 0) return;  // everything banned: leave -inf
  const float log_sum = log_sum_exp_around(row, max);
  for (float& value : row) value = value - max - log_sum;
}

}  // namespace opusrt
