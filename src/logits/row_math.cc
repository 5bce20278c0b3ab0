#include "logits/row_math.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace opusrt {
namespace {

constexpr float kMinusInf = -std::numeric_limits<float>::infinity();

// The kernels are written once, over a lane count, in GCC/Clang vector extensions (plain C++
// arithmetic on vectors, no intrinsics), and instantiated per instruction set at the width it
// has: 16 lanes for AVX-512, 8 for AVX2, 4 for the baseline (SSE2, NEON). A wider vector than the
// target has is not split well by the compilers, hence one width per target.
// (Spelled out per width: GCC does not apply vector_size to a template-dependent size.)
template <int Lanes>
struct Lane;
#define OPUSRT_LANE_TYPES(N)                                                \
  template <>                                                               \
  struct Lane<N> {                                                          \
    using Floats = float __attribute__((vector_size(N * sizeof(float))));   \
    using Ints = int32_t __attribute__((vector_size(N * sizeof(int32_t)))); \
  };
OPUSRT_LANE_TYPES(4)
OPUSRT_LANE_TYPES(8)
OPUSRT_LANE_TYPES(16)
#undef OPUSRT_LANE_TYPES

template <int Lanes>
inline __attribute__((always_inline)) int64_t argmax_lanes(const float* row, size_t size) {
  using Floats = typename Lane<Lanes>::Floats;
  using Ints = typename Lane<Lanes>::Ints;
  // Per lane: the largest value and the first index holding it (strict >, so ties keep the
  // earlier index); then the lowest index among the lanes that hold the overall max.
  Floats best = Floats{} + kMinusInf;
  Ints best_index = Ints{};
  Ints index;
  for (int lane = 0; lane < Lanes; ++lane) index[lane] = lane;
  size_t i = 0;
  for (; i + Lanes <= size; i += Lanes) {
    Floats values;
    std::memcpy(&values, row + i, sizeof values);
    const Ints greater = values > best;
    best = greater ? values : best;
    best_index = greater ? index : best_index;
    index += Lanes;
  }
  float max = kMinusInf;
  int64_t found = size > 0 ? 0 : -1;
  for (int lane = 0; lane < Lanes && i > 0; ++lane) {
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

template <int Lanes>
inline __attribute__((always_inline)) double sum_exp_lanes(const float* row, size_t size, float max) {
  using Floats = typename Lane<Lanes>::Floats;
  using Ints = typename Lane<Lanes>::Ints;
  // exp(v) = 2^k * exp(r) with k = round(v / ln 2) and r = v - k ln 2 in [-ln2/2, ln2/2]; exp(r)
  // by Cephes' expf polynomial. v = row - max <= 0; below -87 the result is tiny and clamped.
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2High = 0.693359375f;
  constexpr float kLn2Low = -2.12194440e-4f;
  constexpr float kRoundToInt = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds
  const Floats lowest = Floats{} + -87.0f;
  // Lanes sum in float over blocks of a few hundred terms (each at most 1), blocks in double:
  // float-vector speed, double-sum accuracy.
  constexpr size_t kBlock = 256 * Lanes;
  double sum = 0;
  size_t i = 0;
  while (i + Lanes <= size) {
    const size_t block_end = std::min(size, i + kBlock);
    Floats block = Floats{};
    for (; i + Lanes <= block_end; i += Lanes) {
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
      block += exp_r * scale;
    }
    for (int lane = 0; lane < Lanes; ++lane) sum += block[lane];
  }
  for (; i < size; ++i) sum += std::exp(static_cast<double>(row[i] - max));
  return sum;
}

template <int Lanes>
inline __attribute__((always_inline)) size_t first_reaching_lanes(const float* row, size_t from, size_t size,
                                                                  float offset, float threshold) {
  using Floats = typename Lane<Lanes>::Floats;
  using Ints = typename Lane<Lanes>::Ints;
  // Whole vectors where no lane reaches the threshold are skipped; the first vector where one
  // does is searched lane by lane (the same float sum as the caller's, so the answer is exact).
  size_t i = from;
  for (; i + Lanes <= size; i += Lanes) {
    Floats v;
    std::memcpy(&v, row + i, sizeof v);
    const Ints reaches = (v + offset) >= threshold;
    bool any = false;
    for (int lane = 0; lane < Lanes; ++lane) any |= reaches[lane] != 0;
    if (any) break;
  }
  for (; i < size; ++i)
    if (row[i] + offset >= threshold) return i;
  return size;
}

struct RowKernels {
  int64_t (*argmax)(const float*, size_t);
  double (*sum_exp)(const float*, size_t, float);
  size_t (*first_reaching)(const float*, size_t, size_t, float, float);
};

int64_t argmax_baseline(const float* row, size_t size) { return argmax_lanes<4>(row, size); }
double sum_exp_baseline(const float* row, size_t size, float max) { return sum_exp_lanes<4>(row, size, max); }
size_t first_reaching_baseline(const float* row, size_t from, size_t size, float offset, float threshold) {
  return first_reaching_lanes<4>(row, from, size, offset, threshold);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define OPUSRT_X86_KERNELS 1
__attribute__((target("avx2,fma"))) int64_t argmax_avx2(const float* row, size_t size) {
  return argmax_lanes<8>(row, size);
}
__attribute__((target("avx2,fma"))) double sum_exp_avx2(const float* row, size_t size, float max) {
  return sum_exp_lanes<8>(row, size, max);
}
__attribute__((target("avx512f"))) int64_t argmax_avx512(const float* row, size_t size) {
  return argmax_lanes<16>(row, size);
}
__attribute__((target("avx512f"))) double sum_exp_avx512(const float* row, size_t size, float max) {
  return sum_exp_lanes<16>(row, size, max);
}
__attribute__((target("avx2,fma"))) size_t first_reaching_avx2(const float* row, size_t from, size_t size,
                                                              float offset, float threshold) {
  return first_reaching_lanes<8>(row, from, size, offset, threshold);
}
__attribute__((target("avx512f"))) size_t first_reaching_avx512(const float* row, size_t from, size_t size,
                                                               float offset, float threshold) {
  return first_reaching_lanes<16>(row, from, size, offset, threshold);
}
#endif

RowKernels kernels_for(RowMathLevel level) {
#ifdef OPUSRT_X86_KERNELS
  if (level == RowMathLevel::kAvx512) return {argmax_avx512, sum_exp_avx512, first_reaching_avx512};
  if (level == RowMathLevel::kAvx2) return {argmax_avx2, sum_exp_avx2, first_reaching_avx2};
#endif
  (void)level;
  return {argmax_baseline, sum_exp_baseline, first_reaching_baseline};
}

// Chosen once, for the CPU the process runs on; constant afterwards.
const RowKernels& kernels() {
  static const RowKernels chosen = kernels_for(best_row_math_level());
  return chosen;
}

}  // namespace

RowMathLevel best_row_math_level() {
#ifdef OPUSRT_X86_KERNELS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return RowMathLevel::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return RowMathLevel::kAvx2;
#endif
  return RowMathLevel::kBaseline;
}

const char* to_string(RowMathLevel level) {
  switch (level) {
    case RowMathLevel::kBaseline: return "baseline";
    case RowMathLevel::kAvx2: return "avx2";
    case RowMathLevel::kAvx512: return "avx512";
  }
  return "?";
}

int64_t argmax(std::span<const float> row) { return kernels().argmax(row.data(), row.size()); }

int64_t argmax(std::span<const float> row, RowMathLevel level) {
  return kernels_for(level).argmax(row.data(), row.size());
}

float max_value(std::span<const float> row) { return row.empty() ? kMinusInf : row[argmax(row)]; }

float log_sum_exp_around(std::span<const float> row, float max) {
  return static_cast<float>(std::log(kernels().sum_exp(row.data(), row.size(), max)));
}

float log_sum_exp_around(std::span<const float> row, float max, RowMathLevel level) {
  return static_cast<float>(std::log(kernels_for(level).sum_exp(row.data(), row.size(), max)));
}

size_t first_reaching(std::span<const float> row, size_t from, float offset, float threshold) {
  if (from >= row.size()) return row.size();
  return kernels().first_reaching(row.data(), from, row.size(), offset, threshold);
}

size_t first_reaching(std::span<const float> row, size_t from, float offset, float threshold, RowMathLevel level) {
  if (from >= row.size()) return row.size();
  return kernels_for(level).first_reaching(row.data(), from, row.size(), offset, threshold);
}

void log_softmax(std::span<float> row) {
  if (row.empty()) return;
  const float max = max_value(row);
  if (std::isinf(max) && max < 0) return;  // everything banned: leave -inf
  const float log_sum = log_sum_exp_around(row, max);
  for (float& value : row) value = value - max - log_sum;
}

}  // namespace opusrt
