#include "logits/row_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace opusrt {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

int64_t reference_argmax(const std::vector<float>& row) {
  if (row.empty()) return -1;
  int64_t best = 0;
  for (size_t i = 1; i < row.size(); ++i)
    if (row[i] > row[best]) best = static_cast<int64_t>(i);
  return best;
}

std::vector<double> reference_log_softmax(const std::vector<float>& row) {
  double max = -kInf;
  for (float v : row) max = std::max(max, static_cast<double>(v));
  double sum = 0;
  for (float v : row) sum += std::exp(static_cast<double>(v) - max);
  std::vector<double> out;
  for (float v : row) out.push_back(static_cast<double>(v) - max - std::log(sum));
  return out;
}

std::vector<float> random_row(std::mt19937& rng, size_t size, float spread) {
  std::normal_distribution<float> normal(0.0f, spread);
  std::vector<float> row(size);
  for (float& v : row) v = normal(rng);
  return row;
}

TEST(RowMath, ArgmaxIsTheFirstLargestAtEverySizeAndPosition) {
  // Sizes around the vector width exercise the lanes and the scalar tail.
  for (size_t size = 1; size <= 40; ++size) {
    for (size_t at = 0; at < size; ++at) {
      std::vector<float> row(size, -1.0f);
      row[at] = 2.0f;
      EXPECT_EQ(argmax(row), static_cast<int64_t>(at)) << "size " << size;
      // A tie later in the row (in another lane or the tail) never wins.
      for (size_t later = at + 1; later < size; ++later) {
        std::vector<float> tie = row;
        tie[later] = 2.0f;
        ASSERT_EQ(argmax(tie), static_cast<int64_t>(at)) << "size " << size << " tie at " << later;
      }
    }
  }
}

TEST(RowMath, ArgmaxMatchesAScanOnRandomRows) {
  std::mt19937 rng(7);
  for (size_t size : {1u, 7u, 8u, 9u, 100u, 65001u}) {
    for (int repeat = 0; repeat < 20; ++repeat) {
      std::vector<float> row = random_row(rng, size, 3.0f);
      // Few distinct values: many ties.
      for (float& v : row) v = std::round(v);
      EXPECT_EQ(argmax(row), reference_argmax(row)) << "size " << size;
      EXPECT_EQ(max_value(row), row[reference_argmax(row)]);
    }
  }
}

TEST(RowMath, EmptyAndBannedRows) {
  EXPECT_EQ(argmax({}), -1);
  EXPECT_EQ(max_value({}), -kInf);
  for (size_t size : {1u, 5u, 8u, 17u}) {
    std::vector<float> banned(size, -kInf);
    EXPECT_EQ(argmax(banned), 0) << "torch.argmax of an all -inf row is 0";
    log_softmax(banned);
    for (float v : banned) EXPECT_EQ(v, -kInf);
    banned[size - 1] = 0.0f;  // one allowed token: probability 1
    EXPECT_EQ(argmax(banned), static_cast<int64_t>(size - 1));
    log_softmax(banned);
    EXPECT_EQ(banned[size - 1], 0.0f);
    for (size_t i = 0; i + 1 < size; ++i) EXPECT_EQ(banned[i], -kInf);
  }
}

TEST(RowMath, ArgmaxIgnoresNaN) {
  std::vector<float> row(20, 0.0f);
  row[3] = std::numeric_limits<float>::quiet_NaN();
  row[11] = 1.0f;
  EXPECT_EQ(argmax(row), 11);
}

std::vector<RowMathLevel> levels_this_cpu_runs() {
  std::vector<RowMathLevel> levels = {RowMathLevel::kBaseline};
  if (best_row_math_level() == RowMathLevel::kAvx2) levels.push_back(RowMathLevel::kAvx2);
  if (best_row_math_level() == RowMathLevel::kAvx512) levels.insert(levels.end(), {RowMathLevel::kAvx2, RowMathLevel::kAvx512});
  return levels;
}

// Every instruction-set build of the kernels gives the same argmax and (within float rounding)
// the same log-sum-exp as a double-precision scan, at sizes around every vector width.
TEST(RowMath, EveryKernelBuildAgreesWithAScan) {
  std::mt19937 rng(5);
  for (RowMathLevel level : levels_this_cpu_runs()) {
    for (size_t size = 1; size <= 70; ++size) {
      for (float spread : {0.5f, 20.0f}) {
        std::vector<float> row = random_row(rng, size, spread);
        for (float& v : row) v = std::round(v * 4) / 4;  // ties
        if (size > 3) row[size / 3] = -kInf;
        const int64_t best = reference_argmax(row);
        ASSERT_EQ(argmax(row, level), best) << to_string(level) << " size " << size;
        double sum = 0;
        for (float v : row) sum += std::exp(static_cast<double>(v) - row[best]);
        ASSERT_NEAR(log_sum_exp_around(row, row[best], level), std::log(sum), 1e-6)
            << to_string(level) << " size " << size;
      }
    }
    std::vector<float> wide = random_row(rng, 65001, 4.0f);
    const int64_t best = reference_argmax(wide);
    double sum = 0;
    for (float v : wide) sum += std::exp(static_cast<double>(v) - wide[best]);
    EXPECT_EQ(argmax(wide, level), best) << to_string(level);
    EXPECT_NEAR(log_sum_exp_around(wide, wide[best], level), std::log(sum), 2e-6) << to_string(level);
  }
}

TEST(RowMath, FirstReachingFindsTheFirstTokenAtOrAboveTheThreshold) {
  std::mt19937 rng(3);
  for (RowMathLevel level : levels_this_cpu_runs()) {
    for (size_t size : {0u, 1u, 5u, 16u, 17u, 40u, 1000u}) {
      for (int repeat = 0; repeat < 30; ++repeat) {
        std::vector<float> row = random_row(rng, size, 2.0f);
        if (size > 2) row[size / 2] = -kInf;
        const float offset = std::uniform_real_distribution<float>(-5.0f, 0.0f)(rng);
        const float threshold = std::uniform_real_distribution<float>(-6.0f, 4.0f)(rng);
        const size_t from = size ? std::uniform_int_distribution<size_t>(0, size)(rng) : 0;
        size_t expected = size;
        for (size_t i = from; i < size; ++i)
          if (row[i] + offset >= threshold) {
            expected = i;
            break;
          }
        ASSERT_EQ(first_reaching(row, from, offset, threshold, level), expected)
            << to_string(level) << " size " << size << " from " << from;
      }
    }
    // Equality counts (a tie may still win on its index), and the sum is the caller's float sum.
    std::vector<float> row(37, 0.0f);
    row[29] = 0.5f;
    EXPECT_EQ(first_reaching(row, 0, 0.25f, 0.75f, level), 29u) << to_string(level);
    EXPECT_EQ(first_reaching(row, 30, 0.25f, 0.75f, level), 37u) << to_string(level);
    EXPECT_EQ(first_reaching(row, 99, 0.0f, -1.0f, level), 37u) << to_string(level);
  }
}

TEST(RowMath, LogSoftmaxMatchesDoublePrecision) {
  std::mt19937 rng(11);
  for (size_t size : {1u, 3u, 8u, 15u, 16u, 33u, 1000u, 65001u}) {
    for (float spread : {0.01f, 1.0f, 10.0f, 60.0f}) {
      std::vector<float> row = random_row(rng, size, spread);
      if (size > 4) row[size / 2] = -kInf;  // a banned token
      const std::vector<double> expected = reference_log_softmax(row);
      log_softmax(row);
      for (size_t i = 0; i < size; ++i) {
        if (std::isinf(expected[i])) {
          EXPECT_EQ(row[i], -kInf);
          continue;
        }
        // float rounding of the result itself plus a few ulps of exp.
        ASSERT_NEAR(row[i], expected[i], 2e-6 * std::max(1.0, std::abs(expected[i])))
            << "size " << size << " spread " << spread << " index " << i;
      }
    }
  }
}

TEST(RowMath, LogSumExpAcrossTheWholeExponentRange) {
  // Values from 0 down to far below exp's underflow: the terms that matter are exact, the
  // underflowing ones add nothing.
  std::vector<float> row;
  for (float v = 0.0f; v > -200.0f; v -= 0.37f) row.push_back(v);
  double sum = 0;
  for (float v : row) sum += std::exp(static_cast<double>(v));
  EXPECT_NEAR(log_sum_exp_around(row, 0.0f), std::log(sum), 1e-6);
  // Around a large max (the float values themselves round; the reference sees the same ones).
  for (float& v : row) v += 1000.0f;
  double shifted = 0;
  for (float v : row) shifted += std::exp(static_cast<double>(v) - 1000.0);
  EXPECT_NEAR(log_sum_exp_around(row, 1000.0f), std::log(shifted), 1e-6);
}

}  // namespace
}  // namespace opusrt
